#!/usr/bin/env bash
# Installs what is missing, configures (once) and builds ssmc into build/
# (or $SSM_BUILD_DIR). Extra arguments go to ninja (targets, -j N).
# Progress (every tenth of the steps, as a first build takes minutes on two
# cores) and whatever the compilers say go to stderr, so that callers that
# silence stdout still show both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ccache keys on paths relative to the checkout, so that a fresh clone (CI)
# reuses what an earlier build of the same sources compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
build=${SSM_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
echo "build: $build${*:+ ($*)}" >&2
ninja -C "$build" "$@" | awk '
  /^\[[0-9]+\/[0-9]+\] / {
    split(substr($1, 2), n, "/")
    tenth = int(10 * n[1] / n[2])
    if (tenth > shown) { printf "build: %d%% (%d/%d steps)\n", 10 * tenth, n[1], n[2] > "/dev/stderr"; shown = tenth }
    next
  }
  /^ninja: (Entering directory|no work to do)/ { next }
  { print > "/dev/stderr" }'

