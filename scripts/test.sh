#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
# In CI a crashing test must fail at once: Swift's interactive backtracer was seen to hang on a crash here.
if [ "${CI:-}" = "true" ]; then export SWIFT_BACKTRACE=enable=no; fi
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build --parallel
