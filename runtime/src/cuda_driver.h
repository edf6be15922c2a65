//===- cuda_driver.h - The driver API subset the runtime uses -----*- C -*-===//
//
// Part of ssmc. The entry points, constants and error codes of the CUDA
// driver API that cuda.c uses, as X-macros, written down here instead of
// taken from cuda.h so that the runtime builds without the CUDA toolkit.
// The includer declares CUresult, CUdevice, CUdeviceptr, CUcontext,
// CUmodule, CUfunction and CUstream first: cuda.c with its own minimal
// typedefs, and tests/cuda_abi_check.cpp with cuda.h itself, to check every
// line below against the real header where the toolkit is installed.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_SRC_CUDA_DRIVER_H
#define SSM_RUNTIME_SRC_CUDA_DRIVER_H

/// X(member, symbol, parameter list): the driver functions, each required
/// (a driver without one is unusable). `member` is cuda.h's plain name,
/// `symbol` the one resolved with dlsym: the versioned name where cuda.h
/// #defines the plain one to it (without per-thread default streams).
/// Parameters are written with cuda.h's types, except that its enums
/// (CUdevice_attribute, CUfunction_attribute, CUjit_option) are int.
#define SSM_CUDA_DRIVER_FUNCTIONS(X)                                           \
  X(cuGetErrorString, "cuGetErrorString", (CUresult, const char **))           \
  X(cuGetErrorName, "cuGetErrorName", (CUresult, const char **))               \
  X(cuInit, "cuInit", (unsigned))                                              \
  X(cuDeviceGetCount, "cuDeviceGetCount", (int *))                             \
  X(cuDeviceGet, "cuDeviceGet", (CUdevice *, int))                             \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", (int *, int, CUdevice))      \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain",                      \
    (CUcontext *, CUdevice))                                                   \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", (CUdevice))     \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", (CUcontext))                           \
  X(cuCtxSynchronize, "cuCtxSynchronize", (void))                              \
  X(cuMemAlloc, "cuMemAlloc_v2", (CUdeviceptr *, size_t))                      \
  X(cuMemFree, "cuMemFree_v2", (CUdeviceptr))                                  \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", (CUdeviceptr, const void *, size_t))      \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", (void *, CUdeviceptr, size_t))            \
  X(cuStreamCreate, "cuStreamCreate", (CUstream *, unsigned))                  \
  X(cuStreamSynchronize, "cuStreamSynchronize", (CUstream))                    \
  X(cuStreamDestroy, "cuStreamDestroy_v2", (CUstream))                         \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx",                                  \
    (CUmodule *, const void *, unsigned, int *, void **))                      \
  X(cuModuleUnload, "cuModuleUnload", (CUmodule))                              \
  X(cuModuleGetFunction, "cuModuleGetFunction",                                \
    (CUfunction *, CUmodule, const char *))                                    \
  X(cuLaunchKernel, "cuLaunchKernel",                                          \
    (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,   \
     unsigned, CUstream, void **, void **))

/// The same for functions the runtime works without, needed only by some
/// calls: a driver lacking one stays usable, and those calls say so.
/// cuFuncSetAttribute (CUDA 9) raises a kernel's dynamic shared memory
/// limit above the default 48 KiB.
#define SSM_CUDA_OPTIONAL_DRIVER_FUNCTIONS(X)                                  \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", (CUfunction, int, int))

/// X(our name, cuda.h's name, value): the enumerators cuda.c passes or
/// compares with.
#define SSM_CUDA_CONSTANTS(X)                                                  \
  X(kCudaSuccess, CUDA_SUCCESS, 0)                                             \
  X(kAttributeComputeCapabilityMajor,                                          \
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 75)                          \
  X(kAttributeComputeCapabilityMinor,                                          \
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 76)                          \
  X(kJitErrorLogBuffer, CU_JIT_ERROR_LOG_BUFFER, 5)                            \
  X(kJitErrorLogBufferSizeBytes, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, 6)        \
  X(kFuncAttributeMaxDynamicSharedSizeBytes,                                   \
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 8)

/// X(cuda.h's name, value, runtime status): how driver errors map to runtime
/// statuses; codes not listed are SSM_ERROR_INTERNAL (see runtime_cuda.h).
#define SSM_CUDA_ERROR_STATUSES(X)                                             \
  X(CUDA_ERROR_OUT_OF_MEMORY, 2, SSM_ERROR_OUT_OF_MEMORY)                      \
  X(CUDA_ERROR_INVALID_VALUE, 1, SSM_ERROR_INVALID_ARGUMENT)                   \
  X(CUDA_ERROR_INVALID_DEVICE, 101, SSM_ERROR_INVALID_ARGUMENT)                \
  X(CUDA_ERROR_INVALID_IMAGE, 200, SSM_ERROR_INVALID_ARGUMENT)                 \
  X(CUDA_ERROR_INVALID_CONTEXT, 201, SSM_ERROR_INVALID_ARGUMENT)               \
  X(CUDA_ERROR_INVALID_PTX, 218, SSM_ERROR_INVALID_ARGUMENT)                   \
  X(CUDA_ERROR_INVALID_SOURCE, 300, SSM_ERROR_INVALID_ARGUMENT)                \
  X(CUDA_ERROR_INVALID_HANDLE, 400, SSM_ERROR_INVALID_ARGUMENT)                \
  X(CUDA_ERROR_NOT_FOUND, 500, SSM_ERROR_INVALID_ARGUMENT)                     \
  X(CUDA_ERROR_NOT_INITIALIZED, 3, SSM_ERROR_UNAVAILABLE)                      \
  X(CUDA_ERROR_DEINITIALIZED, 4, SSM_ERROR_UNAVAILABLE)                        \
  X(CUDA_ERROR_STUB_LIBRARY, 34, SSM_ERROR_UNAVAILABLE)                        \
  X(CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER, 36, SSM_ERROR_UNAVAILABLE)          \
  X(CUDA_ERROR_DEVICE_UNAVAILABLE, 46, SSM_ERROR_UNAVAILABLE)                  \
  X(CUDA_ERROR_NO_DEVICE, 100, SSM_ERROR_UNAVAILABLE)                          \
  X(CUDA_ERROR_DEVICE_NOT_LICENSED, 102, SSM_ERROR_UNAVAILABLE)                \
  X(CUDA_ERROR_NO_BINARY_FOR_GPU, 209, SSM_ERROR_UNAVAILABLE)                  \
  X(CUDA_ERROR_JIT_COMPILER_NOT_FOUND, 221, SSM_ERROR_UNAVAILABLE)             \
  X(CUDA_ERROR_UNSUPPORTED_PTX_VERSION, 222, SSM_ERROR_UNAVAILABLE)            \
  X(CUDA_ERROR_JIT_COMPILATION_DISABLED, 223, SSM_ERROR_UNAVAILABLE)           \
  X(CUDA_ERROR_NOT_SUPPORTED, 801, SSM_ERROR_UNAVAILABLE)                      \
  X(CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, 803, SSM_ERROR_UNAVAILABLE)             \
  X(CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE, 804, SSM_ERROR_UNAVAILABLE)     \
  X(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, 701, SSM_ERROR_OUT_OF_RANGE)

#endif // SSM_RUNTIME_SRC_CUDA_DRIVER_H
