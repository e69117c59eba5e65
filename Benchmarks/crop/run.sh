#!/usr/bin/env bash
# Times `seqtool crop` against the Python peer (numpy + soundfile, crop_peer.py) on the FSDD development set:
# 2,000 WAVs, 1 s windows, 50 % overlap, zero-padded tail, one .npy per file plus a manifest. Release build;
# both are run REPEAT times in this same run with the same number of processes/threads, the best time of each
# is reported with the ratio. Also checks that both produced the same windows.
#   bash Benchmarks/crop/run.sh [JOBS] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data/fsdd-dev/recordings
if [ ! -d "$data" ]; then
    echo "skipped: $data is absent (the benchmark needs the shared FSDD development set)"
    exit 0
fi
jobs=${1:-$(nproc)}
repeat=${2:-3}
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/install-deps.sh
swift build -c release --product seqtool 2>&1 | tail -1
seqtool="$(swift build -c release --show-bin-path)/seqtool"
venv=Benchmarks/.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r Benchmarks/requirements.txt
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

best() { sort -g | head -1; }
time_it() {  # prints seconds of wall time for the command
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
ours=(); peer=()
for i in $(seq "$repeat"); do
    rm -rf "$work/ours" "$work/peer"
    ours+=("$(time_it "$seqtool" crop "$data" --window 1s --overlap 50% --boundary pad-end --jobs "$jobs" --quiet \
        --out "$work/ours")")
    peer+=("$(time_it "$venv/bin/python" Benchmarks/crop/crop_peer.py "$data" "$work/peer" --window 1 --overlap 0.5 \
        --jobs "$jobs")")
done
t_ours=$(printf '%s\n' "${ours[@]}" | best)
t_peer=$(printf '%s\n' "${peer[@]}" | best)
"$venv/bin/python" - "$work" <<'PY'
import glob, os, sys
import numpy as np
work = sys.argv[1]
ours = sorted(glob.glob(os.path.join(work, "ours/arrays/*.npy")))
assert len(ours) == 2000, len(ours)
windows = 0
for path in ours:
    a = np.load(path)
    b = np.load(os.path.join(work, "peer", os.path.basename(path)))
    assert a.shape == b.shape and np.array_equal(a, b), path
    windows += a.shape[0]
print(f"outputs identical: 2000 arrays, {windows} windows")
PY
printf 'crop FSDD (2000 WAV, 1 s, 50 %%, .npy), %s jobs, best of %s:\n' "$jobs" "$repeat"
printf '  seqtool      %.3f s\n  python peer  %.3f s\n  ratio        %.1fx faster\n' "$t_ours" "$t_peer" \
    "$(echo "$t_peer / $t_ours" | bc -l)"
