//===- cuda.c - The CUDA driver API, opened at run time -------------------===//
//
// Part of ssmc. The runtime reaches the GPU through the CUDA driver API
// without linking against it or including cuda.h: the few types and entry
// points it needs are declared below, with the ABI cuda.h gives them, and
// resolved with dlsym from libcuda.so.1 (or $SSM_CUDA_DRIVER) once per
// process. So the runtime builds without the CUDA toolkit and runs, CPU
// functions included, where there is no driver.
//
// Where cuda.h #defines a plain name to a versioned one (cuMemAlloc to
// cuMemAlloc_v2...), the versioned symbol is resolved: the plain symbols are
// the old ABI kept for binaries built before the change (32-bit sizes for
// the memory functions) and must not be called with today's arguments.
//
// State: the driver's entry points and device count (written once, under
// pthread_once), one primary context per device (retained on first use), and
// the module cache, a list of modules keyed by (device, context, image
// contents), each with the list of the functions looked up in it and the
// dynamic shared memory granted to each. The lists, contexts and grants are
// guarded by one mutex. The call stream of ssm_cuda_set_call_stream is
// per thread and needs no lock.
//
//===----------------------------------------------------------------------===//

#define _GNU_SOURCE

#include "internal.h"
#include "ssm/runtime_cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//===----------------------------------------------------------------------===//
// The driver API subset, declared as cuda.h declares it
//===----------------------------------------------------------------------===//

typedef int CUresult; // An enum in cuda.h: passed and returned as int.
typedef int CUdevice; // An ordinal-like int handle.
typedef unsigned long long CUdeviceptr; // 64 bits on every 64-bit target.
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;

#include "cuda_driver.h"

#define SSM_CUDA_CONSTANT(name, cuda_name, value) name = value,
enum { SSM_CUDA_CONSTANTS(SSM_CUDA_CONSTANT) };
#undef SSM_CUDA_CONSTANT

// Optional entry points are null where the driver lacks them.
#define SSM_CUDA_MEMBER(member, symbol, params) CUresult(*member) params;
typedef struct {
  SSM_CUDA_DRIVER_FUNCTIONS(SSM_CUDA_MEMBER)
  SSM_CUDA_OPTIONAL_DRIVER_FUNCTIONS(SSM_CUDA_MEMBER)
} driver_api_t;
#undef SSM_CUDA_MEMBER

// Not every name is used in a message (cuGetErrorString's never is).
#define SSM_CUDA_SYMBOL(member, symbol, params)                                \
  __attribute__((unused)) static const char kSymbol_##member[] = symbol;
SSM_CUDA_DRIVER_FUNCTIONS(SSM_CUDA_SYMBOL)
SSM_CUDA_OPTIONAL_DRIVER_FUNCTIONS(SSM_CUDA_SYMBOL)
#undef SSM_CUDA_SYMBOL

// The dynamic shared memory a launch gets without raising the function's
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES (48 KiB on every GPU).
enum { kDefaultDynamicSharedBytes = 48 * 1024 };

//===----------------------------------------------------------------------===//
// State
//===----------------------------------------------------------------------===//

struct ssm_cuda_stream {
  CUstream stream; // Null: the device's default (legacy) stream.
  int32_t device;
  bool owned; // Created here (destroyed with the handle), not wrapped.
};

struct ssm_cuda_function {
  CUfunction function;
  int32_t device;
  char *name;
  uint32_t shared_granted; // The attribute's value set by us, or 0.
  struct ssm_cuda_function *next;
};

struct ssm_cuda_module {
  CUmodule module;
  int32_t device;
  CUcontext context;
  uint64_t hash;
  size_t size;
  char *image; // A copy, NUL-terminated, compared on cache hits.
  struct ssm_cuda_function *functions;
  struct ssm_cuda_module *next;
};

typedef struct {
  CUdevice device;
  CUcontext context; // Retained primary context, or null.
} device_t;

enum { kLoadMessageCapacity = 1024 };

static struct {
  pthread_once_t once;
  ssm_status_t status;
  char message[kLoadMessageCapacity];
  void *library;
  driver_api_t api;
  int32_t device_count;
  pthread_mutex_t mu; // Guards devices[].context and the module list.
  device_t *devices;
  struct ssm_cuda_module *modules;
} g_cuda = {
    .once = PTHREAD_ONCE_INIT,
    .mu = PTHREAD_MUTEX_INITIALIZER,
};

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

// The runtime status for a driver error code (see runtime_cuda.h).
static ssm_status_t map_result(CUresult result) {
  switch (result) {
#define SSM_CUDA_ERROR_CASE(cuda_name, value, status)                          \
  case value:                                                                  \
    return status;
    SSM_CUDA_ERROR_STATUSES(SSM_CUDA_ERROR_CASE)
#undef SSM_CUDA_ERROR_CASE
  default:
    return SSM_ERROR_INTERNAL;
  }
}

// Writes "<description> (<NAME>)" for `result` into `out`.
static void describe_result(CUresult result, char *out, size_t capacity) {
  const char *text = NULL, *name = NULL;
  if (g_cuda.api.cuGetErrorString(result, &text) != kCudaSuccess || !text)
    text = "unknown error";
  if (g_cuda.api.cuGetErrorName(result, &name) != kCudaSuccess || !name)
    name = NULL;
  if (name)
    snprintf(out, capacity, "%s (%s)", text, name);
  else
    snprintf(out, capacity, "%s (CUDA error %d)", text, (int)result);
}

// Records "<fn>: <symbol> failed: <description>[: <detail>]" and returns the
// mapped status, or SSM_OK for success.
static ssm_status_t driver_error(const char *fn, const char *symbol,
                                 CUresult result, const char *detail) {
  if (result == kCudaSuccess)
    return SSM_OK;
  char description[256];
  describe_result(result, description, sizeof description);
  return ssm_set_error(map_result(result), "%s: %s failed: %s%s%s", fn, symbol,
                       description, detail ? ": " : "", detail ? detail : "");
}

// Calls a driver entry point and reports a failure on behalf of `fn`.
#define CU(fn, member, ...)                                                    \
  driver_error(fn, kSymbol_##member, g_cuda.api.member(__VA_ARGS__), NULL)

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

static void fail_load(const char *fmt, ...) SSM_RUNTIME_PRINTF(1, 2);
static void fail_load(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(g_cuda.message, sizeof g_cuda.message, fmt, args);
  va_end(args);
  g_cuda.status = SSM_ERROR_UNAVAILABLE;
}

static void load_driver(void) {
  const char *chosen = getenv("SSM_CUDA_DRIVER");
  bool from_env = chosen && chosen[0] != '\0';
  const char *name = from_env ? chosen : "libcuda.so.1";
  void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *why = dlerror();
    fail_load("cannot load %s%s (%s)", from_env ? "SSM_CUDA_DRIVER=" : "", name,
              why ? why : "dlopen failed");
    return;
  }
  // POSIX lets a dlsym result convert to a function pointer; C only through
  // memcpy.
#define SSM_CUDA_RESOLVE(member, symbol, params)                               \
  {                                                                            \
    void *address = dlsym(library, symbol);                                    \
    if (!address) {                                                            \
      fail_load("%s has no %s (driver older than the runtime needs)", name,    \
                symbol);                                                       \
      memset(&g_cuda.api, 0, sizeof g_cuda.api);                               \
      dlclose(library);                                                        \
      return;                                                                  \
    }                                                                          \
    memcpy(&g_cuda.api.member, &address, sizeof address);                      \
  }
  SSM_CUDA_DRIVER_FUNCTIONS(SSM_CUDA_RESOLVE)
#undef SSM_CUDA_RESOLVE
#define SSM_CUDA_RESOLVE_OPTIONAL(member, symbol, params)                      \
  {                                                                            \
    void *address = dlsym(library, symbol);                                    \
    memcpy(&g_cuda.api.member, &address, sizeof address);                      \
  }
  SSM_CUDA_OPTIONAL_DRIVER_FUNCTIONS(SSM_CUDA_RESOLVE_OPTIONAL)
#undef SSM_CUDA_RESOLVE_OPTIONAL
  // The library stays loaded from here on, even if initialization fails:
  // the driver may have started threads.
  g_cuda.library = library;

  char description[256];
  CUresult result = g_cuda.api.cuInit(0);
  if (result != kCudaSuccess) {
    describe_result(result, description, sizeof description);
    fail_load("cuInit failed: %s", description);
    return;
  }
  int count = 0;
  result = g_cuda.api.cuDeviceGetCount(&count);
  if (result != kCudaSuccess) {
    describe_result(result, description, sizeof description);
    fail_load("cuDeviceGetCount failed: %s", description);
    return;
  }
  if (count <= 0) {
    fail_load("%s reports no CUDA device", name);
    return;
  }
  g_cuda.devices = calloc((size_t)count, sizeof *g_cuda.devices);
  if (!g_cuda.devices) {
    fail_load("cannot allocate the state of %d devices", count);
    return;
  }
  for (int i = 0; i < count; ++i) {
    result = g_cuda.api.cuDeviceGet(&g_cuda.devices[i].device, i);
    if (result != kCudaSuccess) {
      describe_result(result, description, sizeof description);
      fail_load("cuDeviceGet(%d) failed: %s", i, description);
      free(g_cuda.devices);
      g_cuda.devices = NULL;
      return;
    }
  }
  g_cuda.device_count = count;
  g_cuda.status = SSM_OK;
}

// Loads the driver if needed; on failure records "<fn>: CUDA unavailable:
// <why>".
static ssm_status_t ensure_driver(const char *fn) {
  pthread_once(&g_cuda.once, load_driver);
  if (g_cuda.status != SSM_OK)
    return ssm_set_error(g_cuda.status, "%s: CUDA unavailable: %s", fn,
                         g_cuda.message);
  return SSM_OK;
}

// Checks `device`, retains its primary context if needed and makes it
// current on the calling thread. Requires a loaded driver.
static ssm_status_t enter_device(const char *fn, int32_t device) {
  if (device < 0 || device >= g_cuda.device_count)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: device %d is not in 0..%d", fn, (int)device,
                         (int)g_cuda.device_count - 1);
  pthread_mutex_lock(&g_cuda.mu);
  device_t *d = &g_cuda.devices[device];
  ssm_status_t status = SSM_OK;
  if (!d->context) {
    CUcontext retained = NULL;
    status = CU(fn, cuDevicePrimaryCtxRetain, &retained, d->device);
    if (status == SSM_OK)
      d->context = retained;
  }
  CUcontext context = d->context;
  pthread_mutex_unlock(&g_cuda.mu);
  if (status != SSM_OK)
    return status;
  return CU(fn, cuCtxSetCurrent, context);
}

//===----------------------------------------------------------------------===//
// Devices, memory, streams
//===----------------------------------------------------------------------===//

ssm_status_t ssm_cuda_status(void) { return ensure_driver("ssm_cuda_status"); }

ssm_status_t ssm_cuda_device_count(int32_t *out_count) {
  static const char kFn[] = "ssm_cuda_device_count";
  if (out_count)
    *out_count = 0;
  ssm_status_t status = ensure_driver(kFn);
  if (status != SSM_OK)
    return status;
  if (!out_count)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: out_count is null",
                         kFn);
  *out_count = g_cuda.device_count;
  return SSM_OK;
}

ssm_status_t ssm_cuda_compute_capability(int32_t device, int32_t *out_major,
                                         int32_t *out_minor) {
  static const char kFn[] = "ssm_cuda_compute_capability";
  if (out_major)
    *out_major = 0;
  if (out_minor)
    *out_minor = 0;
  ssm_status_t status = ensure_driver(kFn);
  if (status != SSM_OK)
    return status;
  if (!out_major || !out_minor)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: %s is null", kFn,
                         out_major ? "out_minor" : "out_major");
  if (device < 0 || device >= g_cuda.device_count)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: device %d is not in 0..%d", kFn, (int)device,
                         (int)g_cuda.device_count - 1);
  int major = 0, minor = 0;
  CUdevice d = g_cuda.devices[device].device;
  status = CU(kFn, cuDeviceGetAttribute, &major,
              kAttributeComputeCapabilityMajor, d);
  if (status == SSM_OK)
    status = CU(kFn, cuDeviceGetAttribute, &minor,
                kAttributeComputeCapabilityMinor, d);
  if (status != SSM_OK)
    return status;
  *out_major = major;
  *out_minor = minor;
  return SSM_OK;
}

ssm_status_t ssm_cuda_alloc(int32_t device, size_t bytes,
                            ssm_cuda_ptr_t *out_ptr) {
  static const char kFn[] = "ssm_cuda_alloc";
  if (out_ptr)
    *out_ptr = 0;
  ssm_status_t status = ensure_driver(kFn);
  if (status != SSM_OK)
    return status;
  if (!out_ptr)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: out_ptr is null",
                         kFn);
  if ((status = enter_device(kFn, device)) != SSM_OK || bytes == 0)
    return status;
  CUdeviceptr address = 0;
  if ((status = CU(kFn, cuMemAlloc, &address, bytes)) != SSM_OK)
    return status;
  *out_ptr = address;
  return SSM_OK;
}

ssm_status_t ssm_cuda_free(int32_t device, ssm_cuda_ptr_t ptr) {
  static const char kFn[] = "ssm_cuda_free";
  if (ptr == 0)
    return SSM_OK;
  ssm_status_t status = ensure_driver(kFn);
  if (status == SSM_OK)
    status = enter_device(kFn, device);
  if (status == SSM_OK)
    status = CU(kFn, cuMemFree, ptr);
  return status;
}

// The checks shared by both copy directions.
static ssm_status_t check_copy(const char *fn, int32_t device, const void *host,
                               ssm_cuda_ptr_t dev, size_t bytes,
                               const char *host_name, const char *dev_name) {
  ssm_status_t status = ensure_driver(fn);
  if (status != SSM_OK)
    return status;
  if (bytes != 0 && !host)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: %s is null with %zu bytes to copy", fn, host_name,
                         bytes);
  if (bytes != 0 && dev == 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: %s is 0 with %zu bytes to copy", fn, dev_name,
                         bytes);
  return enter_device(fn, device);
}

ssm_status_t ssm_cuda_copy_to_device(int32_t device, ssm_cuda_ptr_t dst,
                                     const void *src, size_t bytes) {
  static const char kFn[] = "ssm_cuda_copy_to_device";
  ssm_status_t status = check_copy(kFn, device, src, dst, bytes, "src", "dst");
  if (status != SSM_OK || bytes == 0)
    return status;
  return CU(kFn, cuMemcpyHtoD, dst, src, bytes);
}

ssm_status_t ssm_cuda_copy_to_host(int32_t device, void *dst,
                                   ssm_cuda_ptr_t src, size_t bytes) {
  static const char kFn[] = "ssm_cuda_copy_to_host";
  ssm_status_t status = check_copy(kFn, device, dst, src, bytes, "dst", "src");
  if (status != SSM_OK || bytes == 0)
    return status;
  return CU(kFn, cuMemcpyDtoH, dst, src, bytes);
}

ssm_status_t ssm_cuda_synchronize(int32_t device) {
  static const char kFn[] = "ssm_cuda_synchronize";
  ssm_status_t status = ensure_driver(kFn);
  if (status == SSM_OK)
    status = enter_device(kFn, device);
  if (status == SSM_OK)
    status = CU(kFn, cuCtxSynchronize);
  return status;
}

// A stream handle on `device` for `*out_stream`: the checks that creating
// and wrapping share (driver, out pointer, device, whose primary context is
// retained for as long as the handle may be used).
static ssm_status_t new_stream(const char *fn, int32_t device,
                               ssm_cuda_stream_t *out_stream,
                               struct ssm_cuda_stream **stream) {
  if (out_stream)
    *out_stream = NULL;
  ssm_status_t status = ensure_driver(fn);
  if (status != SSM_OK)
    return status;
  if (!out_stream)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: out_stream is null",
                         fn);
  if ((status = enter_device(fn, device)) != SSM_OK)
    return status;
  *stream = malloc(sizeof **stream);
  if (!*stream)
    return ssm_set_error(SSM_ERROR_OUT_OF_MEMORY,
                         "%s: cannot allocate a stream handle", fn);
  (*stream)->device = device;
  return SSM_OK;
}

ssm_status_t ssm_cuda_stream_create(int32_t device,
                                    ssm_cuda_stream_t *out_stream) {
  static const char kFn[] = "ssm_cuda_stream_create";
  struct ssm_cuda_stream *stream = NULL;
  ssm_status_t status = new_stream(kFn, device, out_stream, &stream);
  if (status != SSM_OK)
    return status;
  stream->owned = true;
  // Flags 0: the stream synchronizes with the legacy default stream, so
  // the synchronous copies order with its work.
  if ((status = CU(kFn, cuStreamCreate, &stream->stream, 0)) != SSM_OK) {
    free(stream);
    return status;
  }
  *out_stream = stream;
  return SSM_OK;
}

ssm_status_t ssm_cuda_stream_synchronize(ssm_cuda_stream_t stream) {
  static const char kFn[] = "ssm_cuda_stream_synchronize";
  ssm_status_t status = ensure_driver(kFn);
  if (status != SSM_OK)
    return status;
  if (!stream)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: stream is null (use ssm_cuda_synchronize for "
                         "the default stream)",
                         kFn);
  if ((status = enter_device(kFn, stream->device)) != SSM_OK)
    return status;
  return CU(kFn, cuStreamSynchronize, stream->stream);
}

ssm_status_t ssm_cuda_stream_wrap(int32_t device, void *cu_stream,
                                  ssm_cuda_stream_t *out_stream) {
  static const char kFn[] = "ssm_cuda_stream_wrap";
  struct ssm_cuda_stream *stream = NULL;
  ssm_status_t status = new_stream(kFn, device, out_stream, &stream);
  if (status != SSM_OK)
    return status;
  stream->stream = (CUstream)cu_stream;
  stream->owned = false;
  *out_stream = stream;
  return SSM_OK;
}

ssm_status_t ssm_cuda_stream_destroy(ssm_cuda_stream_t stream) {
  static const char kFn[] = "ssm_cuda_stream_destroy";
  if (!stream)
    return SSM_OK;
  ssm_status_t status = SSM_OK;
  if (stream->owned) {
    status = ensure_driver(kFn);
    if (status == SSM_OK)
      status = enter_device(kFn, stream->device);
    if (status == SSM_OK)
      status = CU(kFn, cuStreamDestroy, stream->stream);
  }
  free(stream);
  return status;
}

// Read by mgpu.c through ssm_cuda_call_stream on every generated call.
static _Thread_local ssm_cuda_stream_t tls_call_stream;

ssm_status_t ssm_cuda_set_call_stream(ssm_cuda_stream_t stream) {
  if (stream && stream->device != SSM_MGPU_DEVICE)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "ssm_cuda_set_call_stream: the stream is on device "
                         "%d, but generated code runs on device %d",
                         (int)stream->device, SSM_MGPU_DEVICE);
  tls_call_stream = stream;
  return SSM_OK;
}

ssm_cuda_stream_t ssm_cuda_call_stream(void) { return tls_call_stream; }

//===----------------------------------------------------------------------===//
// Modules, functions, launches
//===----------------------------------------------------------------------===//

// A 64-bit hash of the image, eight bytes at a time; it only narrows the
// search, the bytes themselves are compared.
static uint64_t hash_image(const char *image, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ull ^ size;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    memcpy(&word, image + i, 8);
    hash = (hash ^ word) * 0x100000001b3ull;
    hash ^= hash >> 32;
  }
  for (; i < size; ++i)
    hash = (hash ^ (unsigned char)image[i]) * 0x100000001b3ull;
  return hash;
}

ssm_status_t ssm_cuda_module_load(int32_t device, const char *image,
                                  size_t size, ssm_cuda_module_t *out_module) {
  static const char kFn[] = "ssm_cuda_module_load";
  if (out_module)
    *out_module = NULL;
  ssm_status_t status = ensure_driver(kFn);
  if (status != SSM_OK)
    return status;
  if (!out_module || !image || size == 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: %s", kFn,
                         !out_module ? "out_module is null"
                         : !image    ? "image is null"
                                     : "size is 0");
  if (size == SIZE_MAX)
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE, "%s: size %zu is too large",
                         kFn, size);
  if ((status = enter_device(kFn, device)) != SSM_OK)
    return status;
  uint64_t hash = hash_image(image, size);

  pthread_mutex_lock(&g_cuda.mu);
  CUcontext context = g_cuda.devices[device].context;
  for (struct ssm_cuda_module *m = g_cuda.modules; m; m = m->next) {
    if (m->device == device && m->context == context && m->hash == hash &&
        m->size == size && memcmp(m->image, image, size) == 0) {
      pthread_mutex_unlock(&g_cuda.mu);
      *out_module = m;
      return SSM_OK;
    }
  }
  // Loading under the lock keeps two threads from compiling the same PTX.
  struct ssm_cuda_module *m = calloc(1, sizeof *m);
  char *copy = malloc(size + 1);
  if (!m || !copy) {
    pthread_mutex_unlock(&g_cuda.mu);
    free(m);
    free(copy);
    return ssm_set_error(SSM_ERROR_OUT_OF_MEMORY,
                         "%s: cannot copy an image of %zu bytes", kFn, size);
  }
  memcpy(copy, image, size);
  copy[size] = '\0'; // PTX must be NUL-terminated; cubins ignore it.
  char log[1024] = "";
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes};
  void *values[] = {log, (void *)(uintptr_t)sizeof log};
  CUresult result =
      g_cuda.api.cuModuleLoadDataEx(&m->module, copy, 2, options, values);
  if (result != kCudaSuccess) {
    pthread_mutex_unlock(&g_cuda.mu);
    free(m);
    free(copy);
    log[sizeof log - 1] = '\0';
    return driver_error(kFn, kSymbol_cuModuleLoadDataEx, result,
                        log[0] ? log : NULL);
  }
  m->device = device;
  m->context = context;
  m->hash = hash;
  m->size = size;
  m->image = copy;
  m->next = g_cuda.modules;
  g_cuda.modules = m;
  pthread_mutex_unlock(&g_cuda.mu);
  *out_module = m;
  return SSM_OK;
}

ssm_status_t ssm_cuda_module_get_function(ssm_cuda_module_t module,
                                          const char *name,
                                          ssm_cuda_function_t *out_function) {
  static const char kFn[] = "ssm_cuda_module_get_function";
  if (out_function)
    *out_function = NULL;
  ssm_status_t status = ensure_driver(kFn);
  if (status != SSM_OK)
    return status;
  if (!module || !name || !out_function)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: %s is null", kFn,
                         !module ? "module"
                         : !name ? "name"
                                 : "out_function");
  if ((status = enter_device(kFn, module->device)) != SSM_OK)
    return status;
  pthread_mutex_lock(&g_cuda.mu);
  for (struct ssm_cuda_function *f = module->functions; f; f = f->next) {
    if (strcmp(f->name, name) == 0) {
      pthread_mutex_unlock(&g_cuda.mu);
      *out_function = f;
      return SSM_OK;
    }
  }
  CUfunction function = NULL;
  CUresult result =
      g_cuda.api.cuModuleGetFunction(&function, module->module, name);
  if (result != kCudaSuccess) {
    pthread_mutex_unlock(&g_cuda.mu);
    // Name the kernel: the driver's "named symbol not found" does not.
    char detail[160];
    snprintf(detail, sizeof detail, "no kernel '%s' in the module", name);
    return driver_error(kFn, kSymbol_cuModuleGetFunction, result, detail);
  }
  struct ssm_cuda_function *f = calloc(1, sizeof *f);
  char *copy = strdup(name);
  if (!f || !copy) {
    pthread_mutex_unlock(&g_cuda.mu);
    free(f);
    free(copy);
    return ssm_set_error(SSM_ERROR_OUT_OF_MEMORY,
                         "%s: cannot allocate a function handle", kFn);
  }
  f->function = function;
  f->device = module->device;
  f->name = copy;
  f->next = module->functions;
  module->functions = f;
  pthread_mutex_unlock(&g_cuda.mu);
  *out_function = f;
  return SSM_OK;
}

// Raises the function's dynamic shared memory limit to `bytes` unless an
// earlier launch did (the driver refuses launches above 48 KiB otherwise).
// The check and the raise are one step under the mutex, so that threads
// launching the same function never lower each other's grant.
static ssm_status_t grant_dynamic_shared(const char *fn,
                                         struct ssm_cuda_function *function,
                                         uint32_t bytes) {
  if (!g_cuda.api.cuFuncSetAttribute)
    return ssm_set_error(SSM_ERROR_UNIMPLEMENTED,
                         "%s: kernel '%s': %u bytes of dynamic shared memory "
                         "(over %d) need %s, which the driver lacks",
                         fn, function->name, bytes, kDefaultDynamicSharedBytes,
                         kSymbol_cuFuncSetAttribute);
  ssm_status_t status = SSM_OK;
  pthread_mutex_lock(&g_cuda.mu);
  if (function->shared_granted < bytes) {
    // A size beyond INT_MAX turns negative, which the driver refuses as it
    // would refuse the size itself.
    CUresult result = g_cuda.api.cuFuncSetAttribute(
        function->function, kFuncAttributeMaxDynamicSharedSizeBytes,
        (int)bytes);
    if (result == kCudaSuccess) {
      function->shared_granted = bytes;
    } else {
      char detail[192];
      snprintf(detail, sizeof detail,
               "kernel '%s': %u bytes of dynamic shared memory", function->name,
               bytes);
      status = driver_error(fn, kSymbol_cuFuncSetAttribute, result, detail);
    }
  }
  pthread_mutex_unlock(&g_cuda.mu);
  return status;
}

ssm_status_t ssm_cuda_launch(ssm_cuda_function_t function, uint32_t grid_x,
                             uint32_t grid_y, uint32_t grid_z, uint32_t block_x,
                             uint32_t block_y, uint32_t block_z,
                             uint32_t shared_bytes, ssm_cuda_stream_t stream,
                             void **args) {
  static const char kFn[] = "ssm_cuda_launch";
  ssm_status_t status = ensure_driver(kFn);
  if (status != SSM_OK)
    return status;
  if (!function)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: function is null",
                         kFn);
  if (grid_x == 0 || grid_y == 0 || grid_z == 0 || block_x == 0 ||
      block_y == 0 || block_z == 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: kernel '%s': empty launch, grid %ux%ux%u, block "
                         "%ux%ux%u",
                         kFn, function->name, grid_x, grid_y, grid_z, block_x,
                         block_y, block_z);
  if (stream && stream->device != function->device)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: kernel '%s' is on device %d but the stream is on "
                         "device %d",
                         kFn, function->name, (int)function->device,
                         (int)stream->device);
  if ((status = enter_device(kFn, function->device)) != SSM_OK)
    return status;
  if (shared_bytes > kDefaultDynamicSharedBytes &&
      (status = grant_dynamic_shared(kFn, function, shared_bytes)) != SSM_OK)
    return status;
  CUresult result = g_cuda.api.cuLaunchKernel(
      function->function, grid_x, grid_y, grid_z, block_x, block_y, block_z,
      shared_bytes, stream ? stream->stream : NULL, args, NULL);
  if (result == kCudaSuccess)
    return SSM_OK;
  char detail[160];
  snprintf(detail, sizeof detail, "kernel '%s'", function->name);
  return driver_error(kFn, kSymbol_cuLaunchKernel, result, detail);
}

// Keeps the first failure of a sequence of cleanup steps, message included,
// while the later steps still run (and may record messages of their own).
typedef struct {
  ssm_status_t status;
  char message[512];
} first_error_t;

static void keep_first(first_error_t *first, ssm_status_t status) {
  if (status == SSM_OK || first->status != SSM_OK)
    return;
  first->status = status;
  snprintf(first->message, sizeof first->message, "%s", ssm_last_error());
}

ssm_status_t ssm_cuda_shutdown(void) {
  static const char kFn[] = "ssm_cuda_shutdown";
  pthread_once(&g_cuda.once, load_driver);
  if (g_cuda.status != SSM_OK)
    return SSM_OK;
  first_error_t first = {SSM_OK, ""};
  pthread_mutex_lock(&g_cuda.mu);
  struct ssm_cuda_module *m = g_cuda.modules;
  g_cuda.modules = NULL;
  while (m) {
    struct ssm_cuda_module *next = m->next;
    ssm_status_t status = CU(kFn, cuCtxSetCurrent, m->context);
    if (status == SSM_OK)
      status = CU(kFn, cuModuleUnload, m->module);
    keep_first(&first, status);
    for (struct ssm_cuda_function *f = m->functions; f;) {
      struct ssm_cuda_function *next_function = f->next;
      free(f->name);
      free(f);
      f = next_function;
    }
    free(m->image);
    free(m);
    m = next;
  }
  // Nothing may stay current on this thread once the contexts may be gone.
  keep_first(&first, CU(kFn, cuCtxSetCurrent, NULL));
  for (int32_t i = 0; i < g_cuda.device_count; ++i) {
    device_t *d = &g_cuda.devices[i];
    if (!d->context)
      continue;
    keep_first(&first, CU(kFn, cuDevicePrimaryCtxRelease, d->device));
    d->context = NULL;
  }
  pthread_mutex_unlock(&g_cuda.mu);
  if (first.status != SSM_OK)
    return ssm_set_error(first.status, "%s", first.message);
  return SSM_OK;
}
