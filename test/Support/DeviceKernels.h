//===- DeviceKernels.h - Call GPU kernel libraries of ssmc ------*- C++ -*-===//
//
// Part of ssmc. What the GPU tests and benchmarks share to call the entry
// points of libraries that `ssmc --target=cuda --emit=shared` built: which
// architecture's library to load, loading it from the program's folder,
// memref descriptors of device buffers, and a call through the C interface
// without a per-library header. No LLVM, MLIR or CUDA toolkit: these
// programs run on GPU machines that have only a driver.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_SUPPORT_DEVICEKERNELS_H
#define SSM_TEST_SUPPORT_DEVICEKERNELS_H

#include "ssm/runtime_cuda.h"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace ssm::test {

/// The library variant for a device of compute capability `major`: sm_90
/// PTX needs a 9.x device; others from 8.0 on run the sm_80 PTX, which the
/// driver JIT-compiles for newer GPUs too. $SSM_GPU_ARCH chooses another
/// variant: sm_90a (Hopper's wgmma kernels, 9.x only), sm_90 or sm_80.
/// Returns "" and sets `error` when that variant cannot run on the device.
inline std::string kernelArch(int32_t major, std::string &error) {
  std::string chosen = major == 9 ? "sm_90" : "sm_80";
  if (const char *env = std::getenv("SSM_GPU_ARCH"); env && *env)
    chosen = env;
  if (chosen != "sm_80" && chosen != "sm_90" && chosen != "sm_90a") {
    error = "SSM_GPU_ARCH=" + chosen +
            " is not a variant (sm_80, sm_90, "
            "sm_90a)";
    return "";
  }
  if (chosen != "sm_80" && major != 9) {
    error = chosen +
            " kernels need a device of compute capability 9.x, "
            "this one is " +
            std::to_string(major) + ".x";
    return "";
  }
  return chosen;
}

/// The folder of the running program, where the build puts its kernel
/// libraries (and scripts/gpu-bundle.sh keeps them).
inline std::string programDir() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0)
    return ".";
  std::string s(path, static_cast<size_t>(n));
  return s.substr(0, s.rfind('/'));
}

/// Opens lib<name>.<arch>.so from the program's folder; on failure returns
/// null and stores dlerror's message in `error`.
inline void *openKernelLibrary(const std::string &name, const std::string &arch,
                               std::string &error) {
  std::string path = programDir() + "/lib" + name + "." + arch + ".so";
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    error = "cannot load " + path + ": " + dlerror();
  return handle;
}

/// {allocated, aligned, offset, sizes, strides} of a dense row-major buffer.
inline std::vector<int64_t> descriptor(ssm_cuda_ptr_t ptr,
                                       const std::vector<int64_t> &shape) {
  std::vector<int64_t> d = {static_cast<int64_t>(ptr),
                            static_cast<int64_t>(ptr), 0};
  d.insert(d.end(), shape.begin(), shape.end());
  std::vector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  d.insert(d.end(), strides.begin(), strides.end());
  return d;
}

namespace detail {
template <size_t... I>
void callWith(void *function, void *const *args, std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, static_cast<void *>(nullptr))...);
  reinterpret_cast<Fn>(function)(args[I]...);
}

template <size_t... N> constexpr auto makeCallers(std::index_sequence<N...>) {
  return std::array<void (*)(void *, void *const *), sizeof...(N)>{
      [](void *f, void *const *a) {
        detail::callWith(f, a, std::make_index_sequence<N>());
      }...};
}
} // namespace detail

/// The most parameters callEntryPoint passes.
constexpr size_t kMaxEntryPointArgs = 16;

/// Calls a C-interface entry point (`_mlir_ciface_<name>`) with `args`.
/// Every parameter of such a function is a pointer (to a memref
/// descriptor, or first to the struct of result descriptors), so a function
/// type of that many `void *` parameters has its exact calling convention.
/// Returns false, calling nothing, beyond kMaxEntryPointArgs.
inline bool callEntryPoint(void *function, const std::vector<void *> &args) {
  static constexpr auto callers =
      detail::makeCallers(std::make_index_sequence<kMaxEntryPointArgs + 1>());
  if (args.size() > kMaxEntryPointArgs)
    return false;
  callers[args.size()](function, args.data());
  return true;
}

} // namespace ssm::test

#endif // SSM_TEST_SUPPORT_DEVICEKERNELS_H
