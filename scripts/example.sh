#!/usr/bin/env bash
# The main job on the shipped example: installs what is missing, builds, then
# runs examples/run_mamba2.c. The build compiles examples/mamba2_block.mlir
# (a Mamba-2 block in the ssm dialect) with ssmc into a shared library and a
# C header (build/examples/), and links the C program against them. The
# program runs prefill over a prompt, then decodes the same prompt token by
# token with the state updated in place, and checks that both agree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}

"$root/scripts/build.sh" run_mamba2 >/dev/null
echo "ssmc wrote $build/examples/libmamba2_block.so and $build/examples/mamba2_block.h"
"$build/examples/run_mamba2"
