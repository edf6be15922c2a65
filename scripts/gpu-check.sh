#!/usr/bin/env bash
# The one command for a GPU machine. Runs, each under a time limit, within
# a total budget of $SSM_GPU_CHECK_BUDGET seconds (default 540, for a
# ten-minute session):
#   device     nvidia-smi, if present
#   tests      the GPU tests (the ctest label `gpu`: ssm-gpu-device-tests),
#              every kernel against the reference evaluator
#   tests90a   the GPU tests on the sm_90a kernels (wgmma), on Hopper
#   bench      the GPU benchmarks (ssm-gpu-bench)
#   bench90a   the benchmarks on the sm_90a kernels, on Hopper
#   torch      the PyTorch reference of the same cases (torch_reference.py)
#   torchops   ssmc.torch's ops on CUDA tensors against the CPU's results
#              (torch_cuda_cases.py, with the kernels the bundle carries)
#   memcheck   the GPU tests under compute-sanitizer --tool memcheck
#   racecheck  the GPU tests under compute-sanitizer --tool racecheck
# and writes each one's log, the tests' XML report and summary.txt into
# $OUT (default ./gpu-check-out). Exit status 0 when every step passed or
# was skipped for want of a tool, else 1.
#
# The programs come from a bundle built on a machine with LLVM
# (scripts/gpu-bundle.sh): this script's own folder when it runs from the
# bundle, else build/gpu-bundle of this checkout. The GPU machine needs only
# the NVIDIA driver, python3 (and PyTorch for the torch step) and, for the
# sanitizer steps, compute-sanitizer.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -x "$here/ssm-gpu-device-tests" ]; then
  bundle=$here
else
  bundle=$(cd "$here/.." && pwd)/build/gpu-bundle
fi
if [ ! -x "$bundle/ssm-gpu-device-tests" ]; then
  echo "no GPU bundle at $bundle: run scripts/gpu-bundle.sh where the project builds, then copy the bundle here" >&2
  exit 2
fi
out=${OUT:-$PWD/gpu-check-out}
budget=${SSM_GPU_CHECK_BUDGET:-540}
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
export LD_LIBRARY_PATH="$bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
failed=0

note() { echo "$*" | tee -a "$summary"; }

# step NAME LIMIT COMMAND...: runs COMMAND for at most LIMIT seconds (less
# if the budget is nearly spent), its output in $out/NAME.log.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - SECONDS))
  if [ "$left" -lt 15 ]; then
    note "$(printf '%-10s %-24s' "$name" 'NOT RUN: budget spent')"
    failed=1
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local start=$SECONDS rc verdict
  timeout -k 5 "$limit" "$@" > "$out/$name.log" 2>&1
  rc=$?
  case $rc in
    0) verdict=ok ;;
    77) verdict='SKIPPED: no usable GPU' ;;
    124 | 137) verdict="TIMED OUT after ${limit}s"; failed=1 ;;
    *) verdict="FAILED (exit $rc)"; failed=1 ;;
  esac
  note "$(printf '%-10s %-24s %4ds  %s' "$name" "$verdict" $((SECONDS - start)) "$out/$name.log")"
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    tail -n 15 "$out/$name.log" | sed 's/^/    /'
  fi
}

note "ssmc GPU check: bundle $bundle, output $out, budget ${budget}s"
if command -v nvidia-smi > /dev/null; then
  step device 20 nvidia-smi
else
  note "device     nvidia-smi not found"
fi
tests=("$bundle/ssm-gpu-device-tests" --gtest_color=no)
step tests 90 "${tests[@]}" --gtest_output="xml:$out/tests.xml"
grep -E '^(device 0|SKIPPED|\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ tests)' "$out/tests.log" | sed 's/^/    /'
# Hopper: the sm_90a libraries (the chunked SSD on wgmma) too; elsewhere
# both programs report a skip.
step tests90a 90 env SSM_GPU_ARCH=sm_90a "${tests[@]}" --gtest_output="xml:$out/tests90a.xml"
grep -E '^(device 0|SKIPPED|\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ tests)' "$out/tests90a.log" | sed 's/^/    /'
step bench 120 "$bundle/ssm-gpu-bench" 10
sed 's/^/    /' "$out/bench.log"
step bench90a 60 env SSM_GPU_ARCH=sm_90a "$bundle/ssm-gpu-bench" 10
sed 's/^/    /' "$out/bench90a.log"
step torch 120 python3 "$bundle/torch_reference.py" 10
sed 's/^/    /' "$out/torch.log"
step torchops 90 env PYTHONPATH="$bundle/python" SSMC_LIBRARY_DIR="$bundle" \
  python3 "$bundle/python/torch_cuda_cases.py" check "$bundle/torch-ops"
sed 's/^/    /' "$out/torchops.log"

sanitizer=$(command -v compute-sanitizer || true)
for candidate in /usr/local/cuda/bin/compute-sanitizer \
                 /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
  [ -z "$sanitizer" ] && [ -x "$candidate" ] && sanitizer=$candidate
done
if [ -n "$sanitizer" ]; then
  # --error-exitcode: a reported error fails the step even if the tests pass.
  step memcheck 150 "$sanitizer" --tool memcheck --leak-check full \
    --error-exitcode 1 "${tests[@]}"
  grep -E 'ERROR SUMMARY|LEAK SUMMARY' "$out/memcheck.log" | sed 's/^/    /'
  step racecheck 100 "$sanitizer" --tool racecheck --error-exitcode 1 \
    "${tests[@]}"
  grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$out/racecheck.log" | sed 's/^/    /'
else
  note "memcheck   NOT RUN: compute-sanitizer not found (PATH, /usr/local/cuda)"
  note "racecheck  NOT RUN: compute-sanitizer not found"
fi
note "total ${SECONDS}s; $( [ $failed = 0 ] && echo 'all steps passed or skipped' || echo 'SOME STEPS FAILED')"
exit $failed
