#!/usr/bin/env bash
# ssmc against llama.cpp on the same random-weight models (issue: whole
# models vs llama.cpp): scripts/bench-models.sh writes the Mamba and Mamba-2
# 130M-shape folders and prints ssmc's table; then bench/llama_cpp_compare.py
# runs llama.cpp and ssmc on them in turn at F32, BF16, Q8_0 and Q4_0 (best
# of --rounds, default 2, each) in a private virtual environment
# ($SSM_BUILD_DIR/venv-llama) with llama-cpp-python (which compiles
# llama.cpp for this machine on first install: minutes) and gguf from PyPI,
# prints both with their ratios, and checks the logits against ssmc's F32.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}
venv=$build/venv-llama

echo "== ssmc (scripts/bench-models.sh)"
"$root/scripts/bench-models.sh"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# llama.cpp for this CPU; on CPUs with AMX without its AMX kernels, which
# die of SIGILL (tilezero in ggml_backend_amx_mul_mat, llama-cpp-python
# 0.3.36 on Emerald Rapids) at the first Q8_0 product.
native=-DGGML_NATIVE=ON
if grep -q '\bamx_int8\b' /proc/cpuinfo 2>/dev/null; then
  native="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON"
  native+=" -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON"
  native+=" -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
fi
echo "== llama.cpp: pip install llama-cpp-python gguf into $venv"
CMAKE_ARGS=${CMAKE_ARGS:-$native} "$venv/bin/python" -m pip install \
  --quiet --disable-pip-version-check llama-cpp-python gguf "$root"
"$venv/bin/python" "$root/bench/llama_cpp_compare.py" "$build/bench-models" "$@"
