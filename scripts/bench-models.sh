#!/usr/bin/env bash
# Whole-model throughput: writes random-weight Mamba and Mamba-2 folders of
# the 130M shapes (about 1 GB in $SSM_BUILD_DIR/bench-models), compiles them
# with ssmc and prints compile time, prefill and decode tokens/s on 1 and 2
# threads, and decode's weight-stream bandwidth (docs/models.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" ssm-model-bench ssmc ssm_runtime >/dev/null
"$build/bench/ssm-model-bench" "$build/bin/ssmc" "$build/bench-models"
