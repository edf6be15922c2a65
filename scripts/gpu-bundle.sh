#!/usr/bin/env bash
# Builds what a GPU machine runs and copies it into one folder (default
# build/gpu-bundle, or $1): the GPU test program and the GPU benchmark, each
# with its kernel libraries (PTX for sm_80 and sm_90 embedded), the runtime
# libssm_runtime, scripts/gpu-check.sh and bench/torch_reference.py. Nothing
# in it needs LLVM, MLIR or the CUDA toolkit at run time, only the NVIDIA
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
echo "GPU bundle: $bundle ($(du -sh "$bundle" | cut -f1)); on the GPU machine run: $bundle/gpu-check.sh"
