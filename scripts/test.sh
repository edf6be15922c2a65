#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then
#  1. every test through ctest (the lit suite and the GoogleTest unit tests),
#     then the installed SDK used by a separate CMake project
#     (scripts/test-install.sh) and the Python package installed with pip
#     and tested with pytest (scripts/test-python.sh);
#  2. the same suite on a build with AddressSanitizer and
#     UndefinedBehaviorSanitizer (scripts/test-sanitize.sh);
#  3. each fuzzer for a short, fixed number of executions on its seed
#     corpus (scripts/fuzz.sh; docs/security.md has the long runs).
# SSM_TEST_QUICK=1 stops after the first stage.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
"$root/scripts/test-install.sh"
"$root/scripts/test-python.sh"
[ -n "${SSM_TEST_QUICK:-}" ] && exit 0

echo "test.sh: the suite again under AddressSanitizer and UndefinedBehaviorSanitizer"
"$root/scripts/test-sanitize.sh"

echo "test.sh: each fuzzer briefly (scripts/fuzz.sh)"
"$root/scripts/fuzz.sh" config safetensors weights ir -- -runs=200000
"$root/scripts/fuzz.sh" compile -- -runs=300
