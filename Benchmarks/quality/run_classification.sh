#!/usr/bin/env bash
# Classification quality of `seqtool train` on the development data in ../shared/data (not unit tests).
#   FSDD (4 speakers): the usual split (file index 0–4 test, 5–9 validation, 10–49 train) and leave one speaker
#   out (train on three speakers, test on the fourth; mean over the four).
#   UEA: JapaneseVowels, BasicMotions, UWaveGestureLibrary, RacketSports on their published TRAIN/TEST files.
# Every number comes from the config beside it in configs/ (seeded; no test file is used for training or tuning
# decisions inside a run). Usage: bash Benchmarks/quality/run_classification.sh [fsdd|uea|all]  (default all)
set -euo pipefail
cd "$(dirname "$0")/../.."
which="${1:-all}"
[ -d ../shared/data ] || { echo "needs ../shared/data beside the checkout"; exit 1; }
swift build -c release --product seqtool 2>&1 | tail -1
seqtool="$(swift build -c release --show-bin-path)/seqtool"
out=out/quality
mkdir -p "$out"

run() {  # name config → prints "name accuracy seconds"
    local name=$1 config=$2 start end line
    rm -rf "${out:?}/$name"
    start=$(date +%s.%N)
    line=$("$seqtool" train --config "$config" --out "$out/$name" --quiet)
    end=$(date +%s.%N)
    printf '%-28s %s  (%.0f s)\n' "$name" "$(echo "$line" | awk '{print $3}')" "$(awk "BEGIN {print $end - $start}")"
}

if [ "$which" = all ] || [ "$which" = fsdd ]; then
    echo "== FSDD (target: usual split ≥ 0.98, leave-one-speaker-out mean ≥ 0.80)"
    run fsdd-usual Benchmarks/quality/configs/fsdd-usual.json
    total=0
    for s in jackson nicolas theo yweweler; do
        line=$(run "fsdd-loso-$s" "Benchmarks/quality/configs/fsdd-loso-$s.json")
        echo "$line"
        total=$(awk "BEGIN {print $total + $(echo "$line" | awk '{print $2}')}")
    done
    printf 'fsdd leave-one-speaker-out mean %.4f\n' "$(awk "BEGIN {print $total / 4}")"
fi
if [ "$which" = all ] || [ "$which" = uea ]; then
    echo "== UEA (targets: JapaneseVowels ≥ 0.98, BasicMotions ≥ 0.95, UWaveGestureLibrary ≥ 0.90, RacketSports ≥ 0.85)"
    for d in JapaneseVowels BasicMotions UWaveGestureLibrary RacketSports; do
        run "uea-$d" "Benchmarks/quality/configs/uea-$d.json"
    done
fi
