//===- runtime_cuda.h - The ssmc runtime's CUDA driver API --------*- C -*-===//
//
// Part of ssmc. What GPU code compiled by ssmc (PTX kernels plus a host
// side that launches them) calls at run time: device queries, device
// buffers, streams, modules loaded from PTX or cubin images, and launches.
//
// A separate header from runtime.h because CPU-only code never needs it; the
// functions live in the same libssm_runtime library. Include it after, or
// instead of, runtime.h (it includes runtime.h itself).
//
// How the driver is reached: libssm_runtime does not link against CUDA. On
// first use it opens the CUDA driver library with dlopen, once per process:
// the file named by the environment variable SSM_CUDA_DRIVER if it is set
// and not empty (a path or a soname; tests point it at a fake driver), else
// "libcuda.so.1", which the NVIDIA driver installs. It resolves the driver
// API entry points by name, in the versions that cuda.h maps the plain names
// to (cuMemAlloc_v2, cuMemcpyHtoD_v2, cuMemcpyDtoH_v2, cuMemFree_v2,
// cuStreamDestroy_v2, cuDevicePrimaryCtxRelease_v2; the rest under their
// plain names), then calls cuInit(0) and cuDeviceGetCount. The outcome of
// this one attempt is final for the process. The runtime therefore builds
// without the CUDA toolkit, and a program using it runs, with the CPU
// functions working, on a machine with no driver or no GPU: there every
// function below returns SSM_ERROR_UNAVAILABLE with a message naming the
// reason, e.g. "ssm_cuda_alloc: CUDA unavailable: cannot load libcuda.so.1
// (libcuda.so.1: cannot open shared object file: No such file or
// directory)", "...: libcuda.so.1 has no cuMemAlloc_v2 (driver older than
// the runtime needs)" or "...: cuInit failed: no CUDA-capable device is
// detected (CUDA_ERROR_NO_DEVICE)". The exceptions, which succeed anyway,
// are freeing nothing (ssm_cuda_free of 0, ssm_cuda_stream_destroy of null),
// ssm_cuda_set_call_stream of null, ssm_cuda_call_stream and
// ssm_cuda_shutdown.
//
// Contexts: each device is used through its primary context (the one the
// CUDA runtime API and PyTorch use too), retained on the device's first use
// and made current on the calling thread by every function that needs it,
// so callers never manage contexts. ssm_cuda_shutdown releases them.
//
// Errors from the driver map to runtime statuses: CUDA_ERROR_OUT_OF_MEMORY
// to SSM_ERROR_OUT_OF_MEMORY; invalid values, handles, images, PTX and
// names not found to SSM_ERROR_INVALID_ARGUMENT; no device, no or stub
// driver, a driver too old, no binary or PTX version for the GPU, and
// unsupported operations to SSM_ERROR_UNAVAILABLE; too many resources for a
// launch to SSM_ERROR_OUT_OF_RANGE; everything else (illegal address, launch
// failure...) to SSM_ERROR_INTERNAL. The message names the runtime function,
// the driver entry point, cuGetErrorString's text and the error's name, e.g.
// "ssm_cuda_alloc: cuMemAlloc_v2 failed: out of memory
// (CUDA_ERROR_OUT_OF_MEMORY)". Errors of earlier asynchronous work (a
// faulting kernel) surface in whichever later call the driver reports them.
//
// Ownership: device buffers belong to the caller (ssm_cuda_free); streams
// belong to the caller (ssm_cuda_stream_destroy), and a wrapped CUstream
// (ssm_cuda_stream_wrap) stays its creator's; modules and functions
// belong to the runtime, are shared by everyone who loads the same image on
// the same device, and stay valid until ssm_cuda_shutdown.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_CUDA_H
#define SSM_RUNTIME_CUDA_H

#include "ssm/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A device address (the driver's CUdeviceptr). 0 is never a valid buffer.
typedef uint64_t ssm_cuda_ptr_t;

/// A stream of one device, created by ssm_cuda_stream_create or wrapped by
/// ssm_cuda_stream_wrap. Null means the device's default (legacy) stream
/// wherever a stream is accepted.
typedef struct ssm_cuda_stream *ssm_cuda_stream_t;

/// A module loaded on one device; owned by the runtime.
typedef struct ssm_cuda_module *ssm_cuda_module_t;

/// A kernel of a module; owned by the runtime.
typedef struct ssm_cuda_function *ssm_cuda_function_t;

/// Loads and initializes the driver if that has not been tried yet, and
/// returns SSM_OK if it works and has at least one device, else
/// SSM_ERROR_UNAVAILABLE with the reason.
SSM_RUNTIME_API ssm_status_t ssm_cuda_status(void);

/// Stores the number of CUDA devices in `*out_count` (0 on failure). Fails
/// with SSM_ERROR_INVALID_ARGUMENT for a null `out_count` and
/// SSM_ERROR_UNAVAILABLE as ssm_cuda_status.
SSM_RUNTIME_API ssm_status_t ssm_cuda_device_count(int32_t *out_count);

/// Stores the compute capability of `device` (0-based ordinal), e.g. 9 and 0
/// for an H100, in `*out_major` and `*out_minor` (both 0 on failure). A
/// device outside 0..count-1 or a null pointer is
/// SSM_ERROR_INVALID_ARGUMENT.
SSM_RUNTIME_API ssm_status_t ssm_cuda_compute_capability(int32_t device,
                                                         int32_t *out_major,
                                                         int32_t *out_minor);

/// Allocates `bytes` of memory on `device` and stores its address in
/// `*out_ptr` (0 on failure). 0 bytes yields address 0 without allocating.
/// The caller frees it with ssm_cuda_free.
SSM_RUNTIME_API ssm_status_t ssm_cuda_alloc(int32_t device, size_t bytes,
                                            ssm_cuda_ptr_t *out_ptr);

/// Frees a buffer of ssm_cuda_alloc on `device`. 0 is ignored (SSM_OK, even
/// without a driver).
SSM_RUNTIME_API ssm_status_t ssm_cuda_free(int32_t device, ssm_cuda_ptr_t ptr);

/// Copies `bytes` from host memory `src` to device memory `dst` on `device`,
/// and returns when the copy is done (it waits for earlier work on the
/// default stream). 0 bytes does nothing; otherwise null `src` or 0 `dst` is
/// SSM_ERROR_INVALID_ARGUMENT.
SSM_RUNTIME_API ssm_status_t ssm_cuda_copy_to_device(int32_t device,
                                                     ssm_cuda_ptr_t dst,
                                                     const void *src,
                                                     size_t bytes);

/// Copies `bytes` from device memory `src` on `device` to host memory `dst`;
/// synchronous like ssm_cuda_copy_to_device, with the same checks.
SSM_RUNTIME_API ssm_status_t ssm_cuda_copy_to_host(int32_t device, void *dst,
                                                   ssm_cuda_ptr_t src,
                                                   size_t bytes);

/// Waits until all work submitted to `device` has finished.
SSM_RUNTIME_API ssm_status_t ssm_cuda_synchronize(int32_t device);

/// Creates a stream on `device` and stores it in `*out_stream` (null on
/// failure). The caller destroys it with ssm_cuda_stream_destroy.
SSM_RUNTIME_API ssm_status_t
ssm_cuda_stream_create(int32_t device, ssm_cuda_stream_t *out_stream);

/// Waits until all work submitted to `stream` has finished. A null stream is
/// SSM_ERROR_INVALID_ARGUMENT (use ssm_cuda_synchronize).
SSM_RUNTIME_API ssm_status_t
ssm_cuda_stream_synchronize(ssm_cuda_stream_t stream);

/// Destroys a stream of ssm_cuda_stream_create (work already submitted still
/// completes) and frees its handle, even if the driver reports an error. For
/// a stream of ssm_cuda_stream_wrap it frees only the handle: the CUstream
/// is left to its owner. Null is ignored (SSM_OK, even without a driver).
/// The stream must not be any thread's call stream any more.
SSM_RUNTIME_API ssm_status_t ssm_cuda_stream_destroy(ssm_cuda_stream_t stream);

/// Wraps `cu_stream`, a CUstream of `device`'s primary context that the
/// caller created and keeps owning (e.g. PyTorch's
/// torch.cuda.current_stream().cuda_stream), in a handle stored in
/// `*out_stream` (null on failure), so that the runtime and generated code
/// can run work on it. Null `cu_stream` is the device's default (legacy)
/// stream, what PyTorch's default stream reports as 0. Nothing is checked
/// about the CUstream itself (the driver API cannot tell a CUstream's
/// device cheaply): one of another context makes later launches fail with
/// the driver's error. The CUstream must outlive the handle;
/// ssm_cuda_stream_destroy frees the handle without destroying it. A device
/// outside 0..count-1 or a null `out_stream` is SSM_ERROR_INVALID_ARGUMENT.
SSM_RUNTIME_API ssm_status_t ssm_cuda_stream_wrap(
    int32_t device, void *cu_stream, ssm_cuda_stream_t *out_stream);

/// Sets the calling thread's call stream, the stream the code that
/// `ssmc --target=cuda` generates (the mgpu* launch ABI) runs on when called
/// from this thread; null unsets it. The setting is per thread: other
/// threads keep theirs (none, initially). While one is set, every call of a
/// generated function on this thread:
///  - enqueues its kernels on that stream, after the work already there,
///    instead of on a stream of its own;
///  - returns without waiting for them and leaves the stream alive: the
///    caller orders later work after the call by queueing it on the same
///    stream, and must synchronize the stream (or something after it) before
///    reading results on the host. Kernel errors surface in a later call;
///  - still makes the host wait for the stream (its earlier work included)
///    where it frees a device temporary, which keeps the free after the
///    kernels that read it; functions without temporaries never wait.
/// Unset, each call creates, synchronizes and destroys a stream of its own,
/// as before. The stream must belong to device 0, where generated code runs,
/// else SSM_ERROR_INVALID_ARGUMENT ("the stream is on device 1, but
/// generated code runs on device 0") leaves the setting unchanged. The
/// runtime does not own the stream: unset it (on every thread that set it)
/// before destroying it. A stream may be the call stream of several threads
/// at once; their calls then interleave on it in whatever order they come.
/// Calls no driver function.
SSM_RUNTIME_API ssm_status_t ssm_cuda_set_call_stream(ssm_cuda_stream_t stream);

/// The calling thread's call stream (see ssm_cuda_set_call_stream), or null
/// if none is set.
SSM_RUNTIME_API ssm_cuda_stream_t ssm_cuda_call_stream(void);

/// Loads a module image on `device` and stores it in `*out_module` (null on
/// failure): `image` points at `size` bytes of PTX text (a terminating NUL
/// is optional; the runtime adds one) or of a cubin or fatbin. Modules are
/// cached per device (its primary context) by content: loading the same
/// bytes again, from any pointer, returns the same module without calling
/// the driver, so generated code may call this before every launch. When
/// the driver rejects PTX, the message includes its JIT error log.
/// Null `image` or `out_module`, or `size` 0, is SSM_ERROR_INVALID_ARGUMENT.
SSM_RUNTIME_API ssm_status_t
ssm_cuda_module_load(int32_t device, const char *image, size_t size,
                     ssm_cuda_module_t *out_module);

/// Finds the kernel `name` (its PTX .entry name) in `module` and stores it
/// in `*out_function` (null on failure); repeated calls return the same
/// handle. A name the module lacks is SSM_ERROR_INVALID_ARGUMENT.
SSM_RUNTIME_API ssm_status_t
ssm_cuda_module_get_function(ssm_cuda_module_t module, const char *name,
                             ssm_cuda_function_t *out_function);

/// Launches `function` on a grid of grid_x * grid_y * grid_z blocks of
/// block_x * block_y * block_z threads with `shared_bytes` of dynamic shared
/// memory, on `stream` (null: the default stream of the function's device),
/// and returns without waiting. `args` holds one pointer per kernel
/// parameter, pointing at the parameter's value (cuLaunchKernel's
/// kernelParams); it may be null for a kernel without parameters. Every
/// dimension must be at least 1, and the stream must belong to the
/// function's device (both SSM_ERROR_INVALID_ARGUMENT). Above 48 KiB of
/// shared memory, the function's limit is first raised to `shared_bytes`
/// (once per function and larger size); a driver without cuFuncSetAttribute
/// makes such launches SSM_ERROR_UNIMPLEMENTED.
SSM_RUNTIME_API ssm_status_t ssm_cuda_launch(
    ssm_cuda_function_t function, uint32_t grid_x, uint32_t grid_y,
    uint32_t grid_z, uint32_t block_x, uint32_t block_y, uint32_t block_z,
    uint32_t shared_bytes, ssm_cuda_stream_t stream, void **args);

/// Unloads every cached module, frees every module and function handle and
/// releases the primary contexts the runtime retained, which frees the
/// device memory of contexts nobody else holds: destroy your streams and
/// free your buffers first. The driver library stays loaded, and later calls
/// retain the contexts again. Returns the first driver error met, after
/// releasing everything it could; SSM_OK when CUDA is unavailable. Must not
/// run while another thread uses these functions.
SSM_RUNTIME_API ssm_status_t ssm_cuda_shutdown(void);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // SSM_RUNTIME_CUDA_H
