#!/usr/bin/env bash
# Builds what a GPU machine runs and copies it into one folder (default
# build/gpu-bundle, or $1): the GPU test program and the GPU benchmark, each
# with its kernel libraries (PTX for sm_80 and sm_90 embedded), the runtime
# libssm_runtime, scripts/gpu-check.sh and bench/torch_reference.py; and
# the Python package with ssmc.torch's kernels compiled for the GPU and the
# CPU's results to compare with (python/tests_torch/torch_cuda_cases.py,
# made in build/venv-torch as scripts/test-torch.sh makes it). Nothing in
# it needs LLVM, MLIR or the CUDA toolkit at run time, only the NVIDIA
# driver (libcuda.so.1): copy the folder to the GPU machine and run its
# gpu-check.sh there (docs/gpu.md, "Running on a GPU").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}
bundle=${1:-$build/gpu-bundle}

"$root/scripts/build.sh" ssm-gpu-device-tests ssm-gpu-device-kernels ssm-gpu-bench
rm -rf "$bundle"
mkdir -p "$bundle"
# The programs find their kernel libraries in their own folder, and the
# runtime through LD_LIBRARY_PATH, which gpu-check.sh sets.
cp "$build/test/Integration/GPU/ssm-gpu-device-tests" \
   "$build"/test/Integration/GPU/lib*.sm_[0-9]*.so \
   "$build/bench/ssm-gpu-bench" \
   "$build"/bench/libssm_gpu_bench_kernels.sm_[0-9]*.so \
   "$root/scripts/gpu-check.sh" "$root/bench/torch_reference.py" "$bundle/"
# The runtime under the soname that the programs and libraries name
# (libssm_runtime.so.N, a link in build/lib), as a plain file.
for lib in "$build"/lib/libssm_runtime.so.*; do
  [[ $lib =~ \.so\.[0-9]+$ ]] && cp -L "$lib" "$bundle/"
done
# ssmc.torch on CUDA tensors: the package (runtime-only there) and a
# cache of kernels, which ssmc.compile(cache=True) loads without a compiler.
venv=$build/venv-torch
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check torch "$root"
mkdir -p "$bundle/python"
cp -r "$root/python/ssmc" "$root/python/tests_torch/torch_cuda_cases.py" "$bundle/python/"
rm -rf "$bundle/python/ssmc/_lib" "$bundle/python/ssmc/__pycache__"
"$venv/bin/python" "$root/python/tests_torch/torch_cuda_cases.py" prepare "$bundle/torch-ops"
echo "GPU bundle: $bundle ($(du -sh "$bundle" | cut -f1)); on the GPU machine run: $bundle/gpu-check.sh"
