#!/usr/bin/env python3
"""Python peers of SpectralBench: the same log-mel and MFCC features on the same input, best of N runs. One core: thread
CPU time (time.thread_time; the benchmark machine is shared, so wall time would count other jobs). Two threads
(torch.set_num_threads(2) on the signal as a [2, 300 s] batch): wall time (time.perf_counter).

Usage: spectral_peer.py INPUT.f32 RUNS [PARALLEL_RUNS]   (INPUT: raw little-endian float32, 16 kHz mono, written by SpectralBench)
Prints one JSON object per available library: {"name", "version", "seconds", "frames", "bands"}.
Libraries that are not installed in this interpreter are skipped (run it from several venvs if needed).

The task, for every peer: 16 kHz, win_length 400, hop 160, n_fft 512, Hann, 80 mels, natural log.
- librosa.feature.melspectrogram(center=True, pad_mode="constant", Slaney mels) + np.log(max(x, 1e-10))
- torchaudio.transforms.MelSpectrogram(same sizes, norm/mel_scale "slaney", pad_mode "constant") + log(clamp)
- kaldi_native_fbank.OnlineFbank(80 bins, dither 0; Kaldi framing 400/160 padded to 512, Povey window, log)
MFCC, 13 coefficients of the same 80 mels in dB (power_to_db ref 1, amin 1e-10, top_db 80), DCT-II ortho, no lifter:
- librosa.feature.mfcc(same sizes)          (name "librosa-mfcc")
- torchaudio.transforms.MFCC(same melkwargs) (name "torchaudio-mfcc")
Two threads, torchaudio only: "torchaudio-2threads" (log-mel) and "torchaudio-mfcc-2threads".
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from array import array  # noqa: E402

path, runs = sys.argv[1], int(sys.argv[2])
parallel_runs = int(sys.argv[3]) if len(sys.argv) > 3 else runs


def best(fn):
    times = []
    result = None
    for _ in range(runs):
        start = time.thread_time()
        result = fn()
        times.append(time.thread_time() - start)
    return min(times), result


def best_wall(fn):
    times = []
    result = None
    for _ in range(parallel_runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
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

    def run_librosa_mfcc():
        return librosa.feature.mfcc(
            y=y, sr=16000, n_mfcc=13, n_fft=512, hop_length=160, win_length=400, n_mels=80).T

    seconds, out = best(run_librosa_mfcc)
    report("librosa-mfcc", librosa.__version__, seconds, out.shape)
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

    mfcc = torchaudio.transforms.MFCC(
        sample_rate=16000, n_mfcc=13, dct_type=2, norm="ortho", log_mels=False,
        melkwargs=dict(n_fft=512, win_length=400, hop_length=160, n_mels=80, norm="slaney", mel_scale="slaney",
                       pad_mode="constant"))

    def run_torch_mfcc(signal=y):
        with torch.inference_mode():
            return mfcc(signal).transpose(-1, -2)

    seconds, out = best(run_torch_mfcc)
    report("torchaudio-mfcc", torchaudio.__version__, seconds, tuple(out.shape))

    # Two threads on the same work as SpectralBench's: the signal as two halves, here one [2, 300 s] batch.
    torch.set_num_threads(2)
    halves = y[: (len(y) // 2) * 2].reshape(2, -1).contiguous()

    def run_torch_halves():
        with torch.inference_mode():
            return torch.log(torch.clamp(transform(halves), min=1e-10)).transpose(-1, -2)

    seconds, out = best_wall(run_torch_halves)
    report("torchaudio-2threads", torchaudio.__version__, seconds, tuple(out.shape[-2:]))
    seconds, out = best_wall(lambda: run_torch_mfcc(halves))
    report("torchaudio-mfcc-2threads", torchaudio.__version__, seconds, tuple(out.shape[-2:]))
except ImportError:
    pass
