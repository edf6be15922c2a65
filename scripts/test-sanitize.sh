#!/usr/bin/env bash
# The whole test suite on a build with AddressSanitizer and
# UndefinedBehaviorSanitizer (every project target, the runtime included),
# compiled by clang with libFuzzer's coverage so that the fuzz targets of
# fuzz/ build alongside (scripts/fuzz.sh runs them). The build lands in
# build-sanitize/ (override with SSM_SANITIZE_BUILD_DIR). Installs what is
# missing first, like scripts/test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ccache keys on paths relative to the checkout, so that a fresh clone (CI)
# reuses what an earlier build of the same sources compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
build=${SSM_SANITIZE_BUILD_DIR:-$root/build-sanitize}

SSM_SETUP_SANITIZE=1 "$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DSSM_FUZZ=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
echo "test-sanitize: building into $build"
ninja -C "$build"
# Any report stops the test that made it; leaks inside Debian's (not
# instrumented) LLVM and MLIR libraries are theirs, see the suppressions.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
