#!/usr/bin/env bash
# Installs the Debian packages seqtool builds against, only when one is missing.
# Used by scripts/test.sh and scripts/demo.sh (the README's two commands) and so by .ci/run.
set -euo pipefail
packages=(libsndfile1-dev libfftw3-dev libopenblas-dev libdnnl-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
