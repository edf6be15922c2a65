#!/usr/bin/env bash
# Builds and runs the GPU benchmarks (bench/gpu_bench.cpp): one table of
# median time, bandwidth, FLOP rate and fraction of the H100 ceilings of
# shared/PERFORMANCE.md, then the same rows for PyTorch
# (bench/torch_reference.py). Each says it skipped on a machine without a
# GPU. Argument: runs per case. On a GPU machine without LLVM, use the
# bundle instead (scripts/gpu-bundle.sh, scripts/gpu-check.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" ssm-gpu-bench >/dev/null
"$build/bench/ssm-gpu-bench" "$@"
python3 "$root/bench/torch_reference.py" "$@"
