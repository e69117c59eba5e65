#!/usr/bin/env python3
"""PyTorch peer of TCNBench: the same TCN, the same sizes, 2 threads, best of N runs.

Usage: tcn_peer.py BATCH CHANNELS_IN WIDTH BLOCKS KERNEL TIME OUTPUTS HEAD RUNS RECEPTIVE_FIELD STREAM_STEPS STREAMS
HEAD is `last` (linear on the last step, cross-entropy over OUTPUTS classes) or `step` (1x1 linear at every step,
MSE against [BATCH, OUTPUTS, TIME] targets). With STREAM_STEPS > 0 the peer also times streaming: one step per
call for 1 and for STREAMS streams, the model re-run under no_grad on the last RECEPTIVE_FIELD steps (a plain
PyTorch TCN keeps no stream state).
Prints one JSON object: {"version", "threads", "inference", "trainStep", "streamStep", "streamStepMany"} (seconds,
best of RUNS; stream times per step, best of 3, 0 when not timed).

Model: locuslab/TCN TemporalConvNet (weight_norm convs, pad + Chomp1d, ReLU, dropout 0, 1x1 downsample) + head;
training step = forward + loss + backward + Adam(lr=1e-3).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
args = sys.argv[1:]
batch, cin, width, blocks, kernel, steps, outputs = map(int, args[0:7])
head = args[7]
runs, field, stream_steps, streams = map(int, args[8:12])


class Block(nn.Module):
    def __init__(self, n_in, n_out, k, d):
        super().__init__()
        pad = (k - 1) * d
        wn = torch.nn.utils.weight_norm
        self.pad = pad
        self.conv1 = wn(nn.Conv1d(n_in, n_out, k, padding=pad, dilation=d))
        self.conv2 = wn(nn.Conv1d(n_out, n_out, k, padding=pad, dilation=d))
        self.downsample = nn.Conv1d(n_in, n_out, 1) if n_in != n_out else None

    def forward(self, x):
        h = F.relu(self.conv1(x)[:, :, : -self.pad])
        h = F.relu(self.conv2(h)[:, :, : -self.pad])
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.network = nn.Sequential(*[Block(cin if i == 0 else width, width, kernel, 2 ** i) for i in range(blocks)])
        self.linear = nn.Linear(width, outputs)

    def forward(self, x):
        h = self.network(x)
        if head == "last":
            return self.linear(h[:, :, -1])
        return self.linear(h.transpose(1, 2)).transpose(1, 2)


torch.manual_seed(0)
model = Net()
x = torch.randn(batch, cin, steps)
if head == "last":
    y = torch.randint(0, outputs, (batch,))
    loss_fn = F.cross_entropy
else:
    y = torch.randn(batch, outputs, steps)
    loss_fn = F.mse_loss
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best(fn):
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def infer():
    with torch.no_grad():
        model.eval()
        model(x)


def train_step():
    model.train()
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()


def stream_time(n):
    window = torch.randn(n, cin, field)

    def stream():
        model.eval()
        with torch.no_grad():
            for _ in range(stream_steps):
                model(window)

    stream()
    return min(timed(stream) for _ in range(min(runs, 3))) / stream_steps


result = {"version": torch.__version__, "threads": torch.get_num_threads(), "inference": best(infer),
          "trainStep": best(train_step), "streamStep": 0.0, "streamStepMany": 0.0}
if stream_steps > 0:
    result["streamStep"] = stream_time(1)
    result["streamStepMany"] = stream_time(streams)
print(json.dumps(result))
