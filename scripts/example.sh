#!/usr/bin/env bash
# The main job on the shipped example: installs what is missing, builds, then
# verifies a Mamba-2 block written in the ssm dialect and prints it after
# ssm-decompose (its semantic definition in core ops) and canonicalization.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}

"$root/scripts/build.sh" ssm-opt >/dev/null
"$build/bin/ssm-opt" "$root/examples/mamba2_block.mlir" \
  --ssm-decompose --canonicalize --cse
