#!/usr/bin/env bash
# Times `seqtool crop` against the Python peer (numpy + soundfile, crop_peer.py) on the FSDD development set:
# 2,000 WAVs, 1 s windows, 50 % overlap, zero-padded tail, .npy arrays plus a manifest. Release build; both are
# run REPEAT times in this same run, with JOBS workers each (seqtool threads, the peer a multiprocessing Pool) and
# with one each; the best time of each is reported with the ratios. Also checks that both produced the same
# windows.
#   bash Benchmarks/crop/run.sh [JOBS] [REPEAT] [FILES_PER_SHARD]
# seqtool writes shards of FILES_PER_SHARD files (default 256, its default); the peer one array per file as a
# numpy script typically does. With FILES_PER_SHARD=1 both write one array per file.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=../shared/data/fsdd-dev/recordings
if [ ! -d "$data" ]; then
    echo "skipped: $data is absent (the benchmark needs the shared FSDD development set)"
    exit 0
fi
jobs=${1:-$(nproc)}
repeat=${2:-3}
shard=${3:-256}
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
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
ours=(); peer=(); ours1=(); peer1=()
for i in $(seq "$repeat"); do
    rm -rf "$work/ours" "$work/peer"
    ours+=("$(time_it "$seqtool" crop "$data" --window 1s --overlap 50% --boundary pad-end --jobs "$jobs" --quiet \
        --files-per-shard "$shard" --out "$work/ours")")
    peer+=("$(time_it "$venv/bin/python" Benchmarks/crop/crop_peer.py "$data" "$work/peer" --window 1 --overlap 0.5 \
        --jobs "$jobs")")
    rm -rf "$work/ours1" "$work/peer1"
    ours1+=("$(time_it "$seqtool" crop "$data" --window 1s --overlap 50% --boundary pad-end --jobs 1 --quiet \
        --files-per-shard "$shard" --out "$work/ours1")")
    peer1+=("$(time_it "$venv/bin/python" Benchmarks/crop/crop_peer.py "$data" "$work/peer1" --window 1 \
        --overlap 0.5 --jobs 1)")
done
t_ours=$(printf '%s\n' "${ours[@]}" | best)
t_peer=$(printf '%s\n' "${peer[@]}" | best)
t_ours1=$(printf '%s\n' "${ours1[@]}" | best)
t_peer1=$(printf '%s\n' "${peer1[@]}" | best)
"$venv/bin/python" - "$work" <<'PY'
import csv, os, sys
import numpy as np
work = sys.argv[1]
arrays, windows = {}, 0
with open(os.path.join(work, "ours/manifest.csv")) as f:
    rows = list(csv.DictReader(f))
by_source = {}
for r in rows:
    by_source.setdefault(os.path.basename(r["source"]), []).append(r)
assert len(by_source) == 2000, len(by_source)
for name, rs in by_source.items():
    peer = np.load(os.path.join(work, "peer", name[:-4] + ".npy"))
    assert peer.shape[0] == len(rs), name
    for i, r in enumerate(rs):
        a = arrays.setdefault(r["array"], np.load(os.path.join(work, "ours", r["array"]), mmap_mode="r"))
        assert np.array_equal(a[int(r["row"])], peer[i]), (name, i)
        windows += 1
print(f"outputs identical: 2000 files, {windows} windows in {len(arrays)} seqtool arrays")
PY
printf 'crop FSDD (2000 WAV, 1 s, 50 %%, .npy), %s files per shard, best of %s:\n' "$shard" "$repeat"
printf '  %s jobs: seqtool %.3f s, python peer (Pool(%s)) %.3f s: %.1fx\n' "$jobs" "$t_ours" "$jobs" "$t_peer" \
    "$(awk -v a="$t_peer" -v b="$t_ours" 'BEGIN { print a / b }')"
printf '  1 job:  seqtool %.3f s, python peer (one process) %.3f s: %.1fx\n' "$t_ours1" "$t_peer1" \
    "$(awk -v a="$t_peer1" -v b="$t_ours1" 'BEGIN { print a / b }')"
