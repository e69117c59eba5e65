#!/usr/bin/env python3
"""The Python peer of `seqtool crop`: what a user writes today with numpy + soundfile.

Reads every audio file under INPUT, cuts it into windows of WINDOW seconds with OVERLAP, padding the end with
zeros to cover the last samples (tf.signal.frame(pad_end=True): ceil(n / hop) windows), and writes one float32
`.npy` of shape [windows, channels, samples] per file plus a manifest CSV — the same output as
`seqtool crop --window 1s --overlap 50% --boundary pad-end --format npy`.

    crop_peer.py INPUT_DIR OUT_DIR [--window 1.0] [--overlap 0.5] [--jobs N]
"""
import argparse
import csv
import os
import sys
from multiprocessing import Pool

import numpy as np
import soundfile as sf


def crop_file(task):
    path, rel, out_dir, window_s, overlap = task
    data, rate = sf.read(path, dtype="float32", always_2d=True)  # [frames, channels]
    x = np.ascontiguousarray(data.T)  # [channels, frames]
    length = int(round(window_s * rate))
    hop = max(1, int(round(length * (1 - overlap))))
    n = x.shape[1]
    count = -(-n // hop) if n > 0 else 0
    padded_len = (count - 1) * hop + length if count > 0 else 0
    padded = np.zeros((x.shape[0], max(padded_len, n)), dtype=np.float32)
    padded[:, :n] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, length, axis=1)[:, ::hop][:, :count]
    windows = np.ascontiguousarray(windows.transpose(1, 0, 2))  # [windows, channels, samples]
    name = rel.replace(os.sep, "__").rsplit(".", 1)[0] + ".npy"
    tmp = os.path.join(out_dir, "." + name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, windows)
    os.replace(tmp, os.path.join(out_dir, name))
    rows = [(rel, name, i, i * hop, (i * hop + length / 2) / rate, max(0, i * hop + length - n)) for i in range(count)]
    return rows, n / rate


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("out")
    p.add_argument("--window", type=float, default=1.0)
    p.add_argument("--overlap", type=float, default=0.5)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tasks = []
    for root, _, files in os.walk(a.input):
        for f in sorted(files):
            if f.lower().endswith((".wav", ".flac", ".ogg")):
                full = os.path.join(root, f)
                tasks.append((full, os.path.relpath(full, a.input), a.out, a.window, a.overlap))
    tasks.sort()
    with Pool(a.jobs) as pool:
        results = pool.map(crop_file, tasks, chunksize=16)
    windows = sum(len(r) for r, _ in results)
    seconds = sum(s for _, s in results)
    with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "array", "row", "first_sample", "center_seconds", "pad_right"])
        for rows, _ in results:
            w.writerows(rows)
    print(f"{len(tasks)} files, {windows} windows, {seconds:.1f} s of signal", file=sys.stderr)


if __name__ == "__main__":
    main()
