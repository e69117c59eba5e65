#!/usr/bin/env bash
# Times `seqtool crop` against the Python peer (numpy + soundfile, crop_peer.py) on the FSDD development set:
# 2,000 WAVs, 1 s windows, 50 % overlap, zero-padded tail, .npy arrays plus a manifest. Release build; both are
# run REPEAT times in this same run, with JOBS workers each (seqtool threads, the peer a multiprocessing Pool) and
# with one each; the best time of each is reported with the ratios. Also checks that both produced the same
# windows. seqtool runs twice: as it is by default, flushing its outputs to disk before the manifest (durable
# against a power failure), and with --no-sync, which flushes nothing, like the peer (numpy.save): that pair compares
# like with like.
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
crop() {  # JOBS OUT [extra seqtool options]
    local j=$1 out=$2
    shift 2
    time_it "$seqtool" crop "$data" --window 1s --overlap 50% --boundary pad-end --jobs "$j" --quiet \
        --files-per-shard "$shard" --out "$out" "$@"
}
ours=(); fast=(); peer=(); ours1=(); fast1=(); peer1=()
for i in $(seq "$repeat"); do
    rm -rf "$work"/*
    ours+=("$(crop "$jobs" "$work/ours")")
    fast+=("$(crop "$jobs" "$work/fast" --no-sync)")
    peer+=("$(time_it "$venv/bin/python" Benchmarks/crop/crop_peer.py "$data" "$work/peer" --window 1 --overlap 0.5 \
        --jobs "$jobs")")
    ours1+=("$(crop 1 "$work/ours1")")
    fast1+=("$(crop 1 "$work/fast1" --no-sync)")
    peer1+=("$(time_it "$venv/bin/python" Benchmarks/crop/crop_peer.py "$data" "$work/peer1" --window 1 \
        --overlap 0.5 --jobs 1)")
done
t_ours=$(printf '%s\n' "${ours[@]}" | best)
t_fast=$(printf '%s\n' "${fast[@]}" | best)
t_peer=$(printf '%s\n' "${peer[@]}" | best)
t_ours1=$(printf '%s\n' "${ours1[@]}" | best)
t_fast1=$(printf '%s\n' "${fast1[@]}" | best)
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
diff -r "$work/ours" "$work/fast" >/dev/null || { echo "seqtool --no-sync wrote other outputs than seqtool"; exit 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
printf 'crop FSDD (2000 WAV, 1 s, 50 %%, .npy), %s files per shard, best of %s (load: %s):\n' "$shard" "$repeat" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %s jobs: python peer (Pool(%s)) %.3f s; seqtool --no-sync %.3f s: %sx; seqtool (synced) %.3f s: %sx\n' \
    "$jobs" "$jobs" "$t_peer" "$t_fast" "$(ratio "$t_peer" "$t_fast")" "$t_ours" "$(ratio "$t_peer" "$t_ours")"
printf '  1 job:  python peer (one process) %.3f s; seqtool --no-sync %.3f s: %sx; seqtool (synced) %.3f s: %sx\n' \
    "$t_peer1" "$t_fast1" "$(ratio "$t_peer1" "$t_fast1")" "$t_ours1" "$(ratio "$t_peer1" "$t_ours1")"
