#!/usr/bin/env bash
# The README's main command: builds seqtool and runs it on the bundled Samples/, printing a summary.
# Installs the Debian packages it needs when they are missing. Outputs go to out/demo (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product seqtool 2>&1 | tail -1
seqtool="$(swift build -c release --show-bin-path)/seqtool"
out=out/demo
rm -rf "$out"

echo "== seqtool info: what is in the samples"
"$seqtool" info Samples/meeting.flac Samples/sensor/pump.csv Samples/digits/seven/ava_0.wav

echo
echo "== seqtool crop: 180 spoken-digit clips → 0.5 s windows, 50 % overlap, labels from folder names"
"$seqtool" crop Samples/digits --window 0.5s --overlap 50% --boundary pad-end --label-from folder \
    --out "$out/digits"

echo
echo "== seqtool crop: the 2-channel recording → 3 s windows, 20 % overlap"
"$seqtool" crop Samples/meeting.flac --window 3s --overlap 20% --out "$out/meeting"

echo
echo "== seqtool crop: the pump sensor log → 10 min windows, 50 % overlap, split at the logging gap"
"$seqtool" crop Samples/sensor/pump.csv --window 10min --overlap 50% --gaps split --out "$out/pump"

echo
echo "== seqtool train: spoken digits → Kaldi fbank → TCN; test speaker 'fay' is never heard in training"
"$seqtool" train --config Samples/configs/speech-digits.json --out "$out/digits-model"

echo
echo "== seqtool evaluate: the config's held-out speaker"
"$seqtool" evaluate "$out/digits-model" Samples/configs/speech-digits.json --report "$out/digits-eval"

echo
echo "== seqtool predict: one clip, class and probabilities"
"$seqtool" predict "$out/digits-model" Samples/digits/seven/fay_1.wav

echo
echo "Outputs in $out: arrays/*.npy [windows, channels, samples] (numpy.load) and manifest.csv per crop job;"
echo "digits-model/: the trained model, metrics.jsonl, report.md and SVG pictures (loss, accuracy, confusion)."
