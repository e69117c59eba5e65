#!/usr/bin/env python3
"""Python peers of SpectralBench: the same log-mel features on the same input, one core, best of N runs, thread CPU time
(time.thread_time; the benchmark machine is shared, so wall time would count other jobs).

Usage: spectral_peer.py INPUT.f32 RUNS   (INPUT: raw little-endian float32, 16 kHz mono, written by SpectralBench)
Prints one JSON object per available library: {"name", "version", "seconds", "frames", "bands"}.
Libraries that are not installed in this interpreter are skipped (run it from several venvs if needed).

The task, for every peer: 16 kHz, win_length 400, hop 160, n_fft 512, Hann, 80 mels, natural log.
- librosa.feature.melspectrogram(center=True, pad_mode="constant", Slaney mels) + np.log(max(x, 1e-10))
- torchaudio.transforms.MelSpectrogram(same sizes, norm/mel_scale "slaney", pad_mode "constant") + log(clamp)
- kaldi_native_fbank.OnlineFbank(80 bins, dither 0; Kaldi framing 400/160 padded to 512, Povey window, log)
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from array import array  # noqa: E402

path, runs = sys.argv[1], int(sys.argv[2])


def best(fn):
    times = []
    result = None
    for _ in range(runs):
        start = time.thread_time()
        result = fn()
        times.append(time.thread_time() - start)
    return min(times), result


def report(name, version, seconds, shape):
    print(json.dumps({"name": name, "version": version, "seconds": seconds, "frames": shape[0], "bands": shape[1]}),
          flush=True)


try:
    import numpy as np
    import librosa

    y = np.fromfile(path, dtype="<f4")

    def run_librosa():
        S = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=160, win_length=400, n_mels=80)
        return np.log(np.maximum(S, 1e-10)).T

    seconds, out = best(run_librosa)
    report("librosa", librosa.__version__, seconds, out.shape)
except ImportError:
    pass

try:
    import kaldi_native_fbank as knf

    samples = array("f")
    with open(path, "rb") as f:
        samples.frombytes(f.read())
    samples = samples.tolist()

    def run_knf():
        opts = knf.FbankOptions()
        opts.frame_opts.dither = 0
        opts.mel_opts.num_bins = 80
        fbank = knf.OnlineFbank(opts)
        fbank.accept_waveform(16000, samples)
        fbank.input_finished()
        n = fbank.num_frames_ready
        return [fbank.get_frame(i) for i in range(n)]

    seconds, out = best(run_knf)
    report("kaldi-native-fbank", "1.22.4", seconds, (len(out), len(out[0]) if out else 80))
except ImportError:
    pass

try:
    import torch
    import torchaudio

    torch.set_num_threads(1)
    with open(path, "rb") as f:
        y = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    transform = torchaudio.transforms.MelSpectrogram(
        sample_rate=16000, n_fft=512, win_length=400, hop_length=160, n_mels=80, norm="slaney",
        mel_scale="slaney", pad_mode="constant")

    def run_torch():
        with torch.inference_mode():
            return torch.log(torch.clamp(transform(y), min=1e-10)).T

    seconds, out = best(run_torch)
    report("torchaudio", torchaudio.__version__, seconds, tuple(out.shape))
except ImportError:
    pass
