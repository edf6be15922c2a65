//===- mgpu.c - The launch ABI of MLIR's GPU-to-LLVM lowering --------------===//
//
// Part of ssmc. Host code produced by MLIR's `gpu-to-llvm` (what
// `ssmc --target=cuda` emits) calls a fixed set of `mgpu*` functions: load
// the embedded PTX, look kernels up, create streams, allocate, launch.
// Upstream implements them in libmlir_cuda_runtime, which links libcuda at
// build time. Here they sit on the runtime's own CUDA layer (cuda.c), which
// opens the driver at run time, caches modules per context and names every
// failure, so generated code links against libssm_runtime alone and loads
// on machines without a GPU.
//
// Generated code has no error channel: a failure prints
// "ssm runtime: <message>" on stderr and aborts, as ssm_kernel_sgemm does.
// The one exception is loading modules, which the generated code does from
// a global constructor when the library is loaded: a machine without a
// driver must still load the library (its CPU functions work), so the
// failure is kept and reported by the first kernel lookup instead.
// Everything runs on device 0 (SSM_MGPU_DEVICE).
//
// Streams: generated code creates a stream per call, launches on it,
// synchronizes and destroys it before returning. When the calling thread
// has set a call stream (ssm_cuda_set_call_stream), the call runs on that
// stream instead and leaves it to the caller: neither destroyed nor waited
// for, so the caller's later work on it is ordered after the call's kernels
// without blocking the host. Only freeing a device temporary still waits
// (mgpuMemFree): the driver entry points the runtime uses have no
// stream-ordered free.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "ssm/runtime_cuda.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MGPU_API SSM_RUNTIME_API

// The first failure to load a module, for the lookups that follow.
static char g_load_error[512];

static void die(void) {
  fprintf(stderr, "ssm runtime: %s\n", ssm_last_error());
  fflush(stderr);
  abort();
}

static void *load(const char *image, size_t size) {
  ssm_cuda_module_t module = NULL;
  if (ssm_cuda_module_load(SSM_MGPU_DEVICE, image, size, &module) != SSM_OK) {
    if (!g_load_error[0])
      snprintf(g_load_error, sizeof g_load_error, "%s", ssm_last_error());
    return NULL;
  }
  return module;
}

/// A cubin (or fatbin) of `size` bytes.
MGPU_API void *mgpuModuleLoad(void *data, size_t size) {
  return load((const char *)data, size);
}

/// NUL-terminated PTX, compiled by the driver (its optimization level is
/// the driver's default, its highest).
MGPU_API void *mgpuModuleLoadJIT(void *data, int opt_level) {
  (void)opt_level;
  if (!data)
    return NULL;
  return load((const char *)data, strlen((const char *)data) + 1);
}

/// Modules are cached per context by cuda.c and freed by
/// ssm_cuda_shutdown; the global destructors that call this at exit may run
/// after that, so it does nothing.
MGPU_API void mgpuModuleUnload(void *module) { (void)module; }

MGPU_API void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!module) {
    ssm_set_error(SSM_ERROR_UNAVAILABLE,
                  "mgpuModuleGetFunction: kernel '%s': its module was not "
                  "loaded: %s",
                  name ? name : "(null)",
                  g_load_error[0] ? g_load_error : "no module");
    die();
  }
  ssm_cuda_function_t function = NULL;
  if (ssm_cuda_module_get_function((ssm_cuda_module_t)module, name,
                                   &function) != SSM_OK)
    die();
  return function;
}

/// The grid and block sizes come as MLIR index values (int64); CUDA takes
/// 32-bit ones.
MGPU_API void mgpuLaunchKernel(void *function, intptr_t grid_x, intptr_t grid_y,
                               intptr_t grid_z, intptr_t block_x,
                               intptr_t block_y, intptr_t block_z,
                               int32_t shared_bytes, void *stream,
                               void **params, void **extra,
                               size_t param_count) {
  (void)param_count;
  // A grid of no blocks has no work: an empty batch or sequence (CUDA
  // would refuse the launch). Its block size is still checked.
  bool empty = grid_x == 0 || grid_y == 0 || grid_z == 0;
  const intptr_t sizes[6] = {grid_x, grid_y, grid_z, block_x, block_y, block_z};
  for (int i = 0; i < 6; ++i)
    if ((i < 3 && empty ? sizes[i] < 0 : sizes[i] < 1) ||
        sizes[i] > 0x7fffffff) {
      ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                    "mgpuLaunchKernel: launch size %lld (%s %c) is outside "
                    "[1, 2^31)",
                    (long long)sizes[i], i < 3 ? "grid" : "block", "xyz"[i % 3]);
      die();
    }
  if (extra) {
    ssm_set_error(SSM_ERROR_UNIMPLEMENTED,
                  "mgpuLaunchKernel: 'extra' launch parameters are not supported");
    die();
  }
  if (shared_bytes < 0) {
    ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                  "mgpuLaunchKernel: negative shared memory size %d", shared_bytes);
    die();
  }
  if (empty)
    return;
  if (ssm_cuda_launch((ssm_cuda_function_t)function, (uint32_t)grid_x,
                      (uint32_t)grid_y, (uint32_t)grid_z, (uint32_t)block_x,
                      (uint32_t)block_y, (uint32_t)block_z,
                      (uint32_t)shared_bytes, (ssm_cuda_stream_t)stream,
                      params) != SSM_OK)
    die();
}

/// The calling thread's call stream if set, else a new stream.
MGPU_API void *mgpuStreamCreate(void) {
  ssm_cuda_stream_t stream = ssm_cuda_call_stream();
  if (!stream && ssm_cuda_stream_create(SSM_MGPU_DEVICE, &stream) != SSM_OK)
    die();
  return stream;
}

/// Generated code calls this only before returning; on the call stream the
/// caller orders (or waits for) what follows, so it returns at once.
MGPU_API void mgpuStreamSynchronize(void *stream) {
  if (stream && stream == ssm_cuda_call_stream())
    return;
  if (ssm_cuda_stream_synchronize((ssm_cuda_stream_t)stream) != SSM_OK)
    die();
}

/// The call stream belongs to the caller and is left alone.
MGPU_API void mgpuStreamDestroy(void *stream) {
  if (stream && stream == ssm_cuda_call_stream())
    return;
  if (ssm_cuda_stream_destroy((ssm_cuda_stream_t)stream) != SSM_OK)
    die();
}

/// Device memory (cuMemAlloc is synchronous: the stream is not needed).
/// Host-shared (managed) memory is not supported.
MGPU_API void *mgpuMemAlloc(uint64_t bytes, void *stream, bool host_shared) {
  (void)stream;
  if (host_shared) {
    ssm_set_error(SSM_ERROR_UNIMPLEMENTED,
                  "mgpuMemAlloc: host-shared (managed) memory is not supported");
    die();
  }
  ssm_cuda_ptr_t address = 0;
  if (ssm_cuda_alloc(SSM_MGPU_DEVICE, (size_t)bytes, &address) != SSM_OK)
    die();
  return (void *)(uintptr_t)address;
}

/// Frees after the work queued on `stream` is done: generated code frees a
/// temporary right after launching its last reader on that stream. On a
/// call stream too, which makes the host wait for the caller's earlier work
/// there as well.
MGPU_API void mgpuMemFree(void *ptr, void *stream) {
  if (stream && ssm_cuda_stream_synchronize((ssm_cuda_stream_t)stream) != SSM_OK)
    die();
  if (ssm_cuda_free(SSM_MGPU_DEVICE, (ssm_cuda_ptr_t)(uintptr_t)ptr) != SSM_OK)
    die();
}
