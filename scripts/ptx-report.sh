#!/usr/bin/env bash
# Prints registers, stack and spills per kernel per architecture, as ptxas
# reports them for the PTX that ssmc emits (no GPU needed): the kernels the
# default configuration chooses, then the chunked SSD's one-kernel walks
# (--gpu-ssd-chunks=sequential) where the default runs the spans in
# parallel.
#   scripts/ptx-report.sh [model.mlir ...]   (default: the GPU test kernels)
# Uses $SSM_BUILD_DIR/bin/ssmc (default build/) and ptxas from $PTXAS, PATH
# or /usr/local/cuda/bin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ssmc=${SSM_BUILD_DIR:-$root/build}/bin/ssmc
ptxas=${PTXAS:-$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)}
[ -x "$ssmc" ] || { echo "no ssmc at $ssmc: build first (scripts/build.sh)" >&2; exit 1; }
[ -x "$ptxas" ] || { echo "no ptxas at $ptxas: set PTXAS" >&2; exit 1; }
[ $# -gt 0 ] || set -- "$root/test/Target/GPU/Inputs/kernels.mlir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-40s %-6s %5s %6s %7s %7s\n' kernel arch regs stack spill-st spill-ld
for input in "$@"; do
  for arch in sm_80 sm_90 sm_90a; do
    for chunks in auto sequential; do
      "$ssmc" --target=cuda --cuda-arch=$arch --gpu-ssd-chunks=$chunks --emit=ptx \
        "$input" -o "$work/k.ptx"
      "$ptxas" -arch=$arch -v "$work/k.ptx" -o "$work/k.cubin" 2>&1 | awk -v arch=$arch '
        /Function properties for/ { kernel = $NF }
        /bytes stack frame/ { stack = $1; st = $5; ld = $9 }
        /Used [0-9]+ registers/ {
          for (i = 1; i <= NF; ++i) if ($i == "Used") regs = $(i + 1)
          printf "%-40s %-6s %5s %6s %7s %7s\n", kernel, arch, regs, stack, st, ld
        }'
    done | awk '!seen[$1 " " $2]++'
  done
done
