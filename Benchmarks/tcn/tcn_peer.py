#!/usr/bin/env python3
"""PyTorch peer of TCNBench: the same TCN, the same sizes, 2 threads, best of N runs.

Usage: tcn_peer.py BATCH CHANNELS_IN WIDTH BLOCKS KERNEL TIME CLASSES RUNS RECEPTIVE_FIELD STREAM_STEPS
Prints one JSON object: {"version", "threads", "inference", "trainStep", "streamStep"} (seconds, best of RUNS;
streamStep per step: one stream, the model re-run under no_grad on the last RECEPTIVE_FIELD steps).

Model: locuslab/TCN TemporalConvNet (weight_norm convs, pad + Chomp1d, ReLU, dropout 0, 1×1 downsample) +
nn.Linear on the last step; training step = forward + cross-entropy + backward + Adam(lr=1e-3).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
batch, cin, width, blocks, kernel, steps, classes, runs, field, stream_steps = map(int, sys.argv[1:11])


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
        self.linear = nn.Linear(width, classes)

    def forward(self, x):
        return self.linear(self.network(x)[:, :, -1])


torch.manual_seed(0)
model = Net()
x = torch.randn(batch, cin, steps)
y = torch.randint(0, classes, (batch,))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


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
    F.cross_entropy(model(x), y).backward()
    opt.step()


window = torch.randn(1, cin, field)


def stream():
    model.eval()
    with torch.no_grad():
        for _ in range(stream_steps):
            model(window)


print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "inference": best(infer),
                  "trainStep": best(train_step), "streamStep": best(stream) / stream_steps}))
