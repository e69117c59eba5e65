#!/usr/bin/env bash
# Builds and runs probe.c: oneDNN's speed on TCNBench C's convolutions (2 threads, as TCNBench). Installs Debian's
# libdnnl-dev when missing. Not part of seqtool's build or tests.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f /usr/include/dnnl.h ]; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y libdnnl-dev >/dev/null; else sudo apt-get install -y libdnnl-dev >/dev/null; fi
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
gcc -O2 -o "$out/probe" probe.c -ldnnl
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$out/probe"
