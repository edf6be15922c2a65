#!/usr/bin/env bash
# The main job on the shipped examples: installs what is missing, builds, then
# runs them. The build compiles examples/mamba1_scan.mlir (a Mamba-1 selective
# scan and its decode step) and examples/mamba2_block.mlir (a Mamba-2 block:
# convolution, SSD, decode step) with ssmc into shared libraries and C headers
# (build/examples/), and links two C programs against them and the runtime.
# Each runs prefill over a prompt, then decodes the same prompt token by token
# with the state updated in place, and checks that both agree. Last, it
# compiles a whole tiny Mamba-2 language model (a Hugging Face folder shipped
# in test/Models/Inputs/mamba2-n64, random weights, whose logits the tests
# compare with transformers') and generates 16 tokens with ssm-run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}

"$root/scripts/build.sh" run_mamba1 run_mamba2 ssmc ssm-run ssm_runtime >/dev/null
for pair in "run_mamba1 mamba1_scan" "run_mamba2 mamba2_block"; do
  set -- $pair
  echo "== ssmc wrote $build/examples/$2/lib$2.so and $build/examples/$2/$2.h; running $1"
  "$build/examples/$1"
  echo
done

model=$root/test/Models/Inputs/mamba2-n64
echo "== ssmc $model -> $build/examples/libtiny_mamba2.so (+ .weights, header)"
"$build/bin/ssmc" "$model" --emit=shared -o "$build/examples/libtiny_mamba2.so" \
  --header "$build/examples/tiny_mamba2.h"
echo "== ssm-run: greedy generation after the prompt 5,393,390,111,309"
"$build/bin/ssm-run" "$build/examples/libtiny_mamba2.so" \
  --prompt-ids 5,393,390,111,309 --max-new-tokens 16
