#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then runs every
# test through ctest (the lit suite and the GoogleTest unit tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
