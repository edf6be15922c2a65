#!/usr/bin/env bash
# Builds and runs the CPU benchmarks: one table of median time, rate and
# fraction of this machine's own measured ceilings. Argument: runs per case.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" ssm-bench >/dev/null
"$build/bench/ssm-bench" "$@"
