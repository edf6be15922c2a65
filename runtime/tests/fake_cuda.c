//===- fake_cuda.c - A CUDA driver stand-in for the loader's tests --------===//
//
// Part of ssmc. A shared library exporting the subset of the CUDA driver API
// that runtime/src/cuda.c resolves, implemented in host memory, so that the
// loader's logic can be tested without a GPU: tests point SSM_CUDA_DRIVER at
// it. It behaves like the driver where the loader depends on it:
//  - symbols: the versioned entry points (cuMemAlloc_v2...) work; the plain
//    old-ABI ones are exported too but only count their calls and fail, so a
//    loader resolving the wrong name is caught. Built with
//    -DFAKE_CUDA_WITHOUT_MEM_ALLOC_V2 it lacks cuMemAlloc_v2 altogether, and
//    with -DFAKE_CUDA_WITHOUT_FUNC_SET_ATTRIBUTE cuFuncSetAttribute.
//  - cuInit reports FAKE_CUDA_DEVICES devices (default 2; 0 gives
//    CUDA_ERROR_NO_DEVICE); device i has compute capability 9.i.
//  - contexts: primary contexts are reference counted; memory, copies,
//    streams, module loads and launches need the right context current on
//    the calling thread (else CUDA_ERROR_INVALID_CONTEXT), and device
//    addresses must lie in a live allocation of that context.
//  - device memory is malloc'd host memory; copies are memcpy.
//  - modules keep a copy of their (NUL-terminated) image; an image starting
//    with "BAD" fails with CUDA_ERROR_INVALID_PTX and writes a JIT error log;
//    cuModuleGetFunction finds ".entry <name>" in the text or fails with
//    CUDA_ERROR_NOT_FOUND.
//  - streams are kept in a list while alive: synchronizing, destroying or
//    launching on one not in it is CUDA_ERROR_INVALID_HANDLE (as a use
//    after destruction would be in the driver, where it is undefined).
//  - launches are counted and call the host function registered with
//    fake_cuda_set_kernel, if any, with the kernel's name and arguments;
//    fake_cuda_last_launch_stream tells which stream the last one used.
//  - dynamic shared memory, as on an H100: a launch may use 48 KiB, or up
//    to the limit cuFuncSetAttribute granted the function (at most 227 KiB)
//    (else CUDA_ERROR_INVALID_VALUE); more than 227 KiB, or more than 1024
//    threads a block, is CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES.
//  - FAKE_CUDA_FAIL="symbol=code[,symbol=code...]" makes those entry points
//    return that error code (read at every call).
// fake_cuda_counter exposes what happened, for the tests' checks.
//
//===----------------------------------------------------------------------===//

#define _GNU_SOURCE

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

enum {
  kSuccess = 0,
  kInvalidValue = 1,
  kOutOfMemory = 2,
  kNotInitialized = 3,
  kNoDevice = 100,
  kInvalidDevice = 101,
  kInvalidContext = 201,
  kInvalidPtx = 218,
  kInvalidHandle = 400,
  kNotFound = 500,
  kLaunchOutOfResources = 701,
  kIllegalAddress = 700,
  kNotSupported = 801,
};

enum {
  kMaxDevices = 8,
  kDefaultDynamicShared = 48 * 1024,
  kMaxDynamicShared = 227 * 1024, // An H100's per-block opt-in maximum.
  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
  kAttributeMaxDynamicShared = 8,
};

typedef struct CUctx_st {
  int device;
  int refcount;
} fake_context_t;

typedef struct CUfunc_st {
  struct CUmod_st *module;
  char *name;
  int max_dynamic_shared; // Set by cuFuncSetAttribute; guarded by g_mu.
  struct CUfunc_st *next;
} fake_function_t;

typedef struct CUmod_st {
  fake_context_t *context;
  char *image;
  fake_function_t *functions;
  struct CUmod_st *next;
} fake_module_t;

typedef struct CUstream_st {
  fake_context_t *context;
  struct CUstream_st *next;
} fake_stream_t;

typedef struct allocation {
  char *memory;
  size_t size;
  fake_context_t *context;
  struct allocation *next;
} allocation_t;

typedef void (*fake_cuda_kernel_fn)(const char *name, const unsigned grid[3],
                                    const unsigned block[3], void **args);

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_initialized;
static int g_device_count;
static fake_context_t g_contexts[kMaxDevices];
static _Thread_local fake_context_t *tls_current;
static allocation_t *g_allocations;
static fake_module_t *g_modules;
static fake_stream_t *g_streams;
static fake_stream_t *g_last_launch_stream;
static fake_cuda_kernel_fn g_kernel;
static struct {
  int loads, unloads, launches, old_abi_calls, streams, lookups, attribute_sets,
      stream_synchronizations;
} g_counts;

// The error code FAKE_CUDA_FAIL assigns to `symbol`, or 0.
static CUresult injected(const char *symbol) {
  const char *spec = getenv("FAKE_CUDA_FAIL");
  size_t length = strlen(symbol);
  while (spec && *spec) {
    if (strncmp(spec, symbol, length) == 0 && spec[length] == '=')
      return (CUresult)strtol(spec + length + 1, NULL, 10);
    spec = strchr(spec, ',');
    if (spec)
      ++spec;
  }
  return kSuccess;
}

#define FAIL_IF_INJECTED(symbol)                                               \
  do {                                                                         \
    CUresult forced = injected(symbol);                                        \
    if (forced != kSuccess)                                                    \
      return forced;                                                           \
  } while (0)

// The allocation of the current context holding [address, address + bytes).
static allocation_t *find_allocation(CUdeviceptr address, size_t bytes) {
  for (allocation_t *a = g_allocations; a; a = a->next) {
    uintptr_t begin = (uintptr_t)a->memory;
    if (a->context == tls_current && address >= begin &&
        address - begin <= a->size && bytes <= a->size - (address - begin))
      return a;
  }
  return NULL;
}

//===----------------------------------------------------------------------===//
// Errors, initialization, devices, contexts
//===----------------------------------------------------------------------===//

static const struct {
  CUresult code;
  const char *name, *text;
} kErrors[] = {
    {kSuccess, "CUDA_SUCCESS", "no error"},
    {kInvalidValue, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {kOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {kNotInitialized, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {kNoDevice, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {kInvalidDevice, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {kInvalidContext, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {kInvalidPtx, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {kInvalidHandle, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {kNotFound, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {kIllegalAddress, "CUDA_ERROR_ILLEGAL_ADDRESS",
     "an illegal memory access was encountered"},
    {kLaunchOutOfResources, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
     "too many resources requested for launch"},
    {kNotSupported, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
};

EXPORT CUresult cuGetErrorString(CUresult error, const char **text) {
  for (size_t i = 0; i < sizeof kErrors / sizeof kErrors[0]; ++i)
    if (kErrors[i].code == error) {
      *text = kErrors[i].text;
      return kSuccess;
    }
  *text = NULL;
  return kInvalidValue;
}

EXPORT CUresult cuGetErrorName(CUresult error, const char **name) {
  for (size_t i = 0; i < sizeof kErrors / sizeof kErrors[0]; ++i)
    if (kErrors[i].code == error) {
      *name = kErrors[i].name;
      return kSuccess;
    }
  *name = NULL;
  return kInvalidValue;
}

EXPORT CUresult cuInit(unsigned flags) {
  FAIL_IF_INJECTED("cuInit");
  if (flags != 0)
    return kInvalidValue;
  const char *devices = getenv("FAKE_CUDA_DEVICES");
  int count = devices ? atoi(devices) : 2;
  if (count <= 0)
    return kNoDevice;
  pthread_mutex_lock(&g_mu);
  g_device_count = count < kMaxDevices ? count : kMaxDevices;
  for (int i = 0; i < g_device_count; ++i)
    g_contexts[i].device = i;
  g_initialized = 1;
  pthread_mutex_unlock(&g_mu);
  return kSuccess;
}

EXPORT CUresult cuDeviceGetCount(int *count) {
  FAIL_IF_INJECTED("cuDeviceGetCount");
  if (!g_initialized)
    return kNotInitialized;
  *count = g_device_count;
  return kSuccess;
}

EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  FAIL_IF_INJECTED("cuDeviceGet");
  if (ordinal < 0 || ordinal >= g_device_count)
    return kInvalidDevice;
  *device = 100 + ordinal; // Handles differ from ordinals, as they may.
  return kSuccess;
}

static int device_index(CUdevice device) {
  int index = device - 100;
  return index >= 0 && index < g_device_count ? index : -1;
}

EXPORT CUresult cuDeviceGetAttribute(int *value, int attribute,
                                     CUdevice device) {
  FAIL_IF_INJECTED("cuDeviceGetAttribute");
  int index = device_index(device);
  if (index < 0)
    return kInvalidDevice;
  if (attribute == 75) // Compute capability major.
    *value = 9;
  else if (attribute == 76) // Minor.
    *value = index;
  else
    return kInvalidValue;
  return kSuccess;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(fake_context_t **context,
                                         CUdevice device) {
  FAIL_IF_INJECTED("cuDevicePrimaryCtxRetain");
  int index = device_index(device);
  if (index < 0)
    return kInvalidDevice;
  pthread_mutex_lock(&g_mu);
  ++g_contexts[index].refcount;
  pthread_mutex_unlock(&g_mu);
  *context = &g_contexts[index];
  return kSuccess;
}

static void free_module(fake_module_t *module) {
  for (fake_function_t *f = module->functions; f;) {
    fake_function_t *next = f->next;
    free(f->name);
    free(f);
    f = next;
  }
  free(module->image);
  free(module);
}

// What the driver does when a primary context's last reference goes: its
// memory and modules go with it. Requires g_mu.
static void destroy_context(fake_context_t *context) {
  for (allocation_t **link = &g_allocations; *link;) {
    allocation_t *a = *link;
    if (a->context != context) {
      link = &a->next;
      continue;
    }
    *link = a->next;
    free(a->memory);
    free(a);
  }
  for (fake_module_t **link = &g_modules; *link;) {
    fake_module_t *m = *link;
    if (m->context != context) {
      link = &m->next;
      continue;
    }
    *link = m->next;
    free_module(m);
  }
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) {
  FAIL_IF_INJECTED("cuDevicePrimaryCtxRelease_v2");
  int index = device_index(device);
  if (index < 0)
    return kInvalidDevice;
  pthread_mutex_lock(&g_mu);
  CUresult result = kSuccess;
  if (g_contexts[index].refcount == 0)
    result = kInvalidContext;
  else if (--g_contexts[index].refcount == 0)
    destroy_context(&g_contexts[index]);
  pthread_mutex_unlock(&g_mu);
  return result;
}

EXPORT CUresult cuCtxSetCurrent(fake_context_t *context) {
  FAIL_IF_INJECTED("cuCtxSetCurrent");
  if (context && context->refcount == 0)
    return kInvalidContext; // Released: the handle is dead.
  tls_current = context;
  return kSuccess;
}

// Whether a context is current and alive.
static int current_ok(void) { return tls_current && tls_current->refcount > 0; }

EXPORT CUresult cuCtxSynchronize(void) {
  FAIL_IF_INJECTED("cuCtxSynchronize");
  return current_ok() ? kSuccess : kInvalidContext;
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

#ifndef FAKE_CUDA_WITHOUT_MEM_ALLOC_V2
EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *address, size_t bytes) {
  FAIL_IF_INJECTED("cuMemAlloc_v2");
  if (!current_ok())
    return kInvalidContext;
  if (bytes == 0)
    return kInvalidValue;
  allocation_t *a = malloc(sizeof *a);
  char *memory = malloc(bytes);
  if (!a || !memory) {
    free(a);
    free(memory);
    return kOutOfMemory;
  }
  a->memory = memory;
  a->size = bytes;
  a->context = tls_current;
  pthread_mutex_lock(&g_mu);
  a->next = g_allocations;
  g_allocations = a;
  pthread_mutex_unlock(&g_mu);
  *address = (CUdeviceptr)(uintptr_t)memory;
  return kSuccess;
}
#endif

EXPORT CUresult cuMemFree_v2(CUdeviceptr address) {
  FAIL_IF_INJECTED("cuMemFree_v2");
  if (!current_ok())
    return kInvalidContext;
  pthread_mutex_lock(&g_mu);
  for (allocation_t **link = &g_allocations; *link; link = &(*link)->next) {
    allocation_t *a = *link;
    if ((uintptr_t)a->memory == address && a->context == tls_current) {
      *link = a->next;
      pthread_mutex_unlock(&g_mu);
      free(a->memory);
      free(a);
      return kSuccess;
    }
  }
  pthread_mutex_unlock(&g_mu);
  return kInvalidValue;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src,
                                size_t bytes) {
  FAIL_IF_INJECTED("cuMemcpyHtoD_v2");
  if (!current_ok())
    return kInvalidContext;
  pthread_mutex_lock(&g_mu);
  allocation_t *a = find_allocation(dst, bytes);
  pthread_mutex_unlock(&g_mu);
  if (!a || !src)
    return kInvalidValue;
  memcpy((void *)(uintptr_t)dst, src, bytes);
  return kSuccess;
}

EXPORT CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes) {
  FAIL_IF_INJECTED("cuMemcpyDtoH_v2");
  if (!current_ok())
    return kInvalidContext;
  pthread_mutex_lock(&g_mu);
  allocation_t *a = find_allocation(src, bytes);
  pthread_mutex_unlock(&g_mu);
  if (!a || !dst)
    return kInvalidValue;
  memcpy(dst, (const void *)(uintptr_t)src, bytes);
  return kSuccess;
}

//===----------------------------------------------------------------------===//
// Streams
//===----------------------------------------------------------------------===//

EXPORT CUresult cuStreamCreate(fake_stream_t **stream, unsigned flags) {
  FAIL_IF_INJECTED("cuStreamCreate");
  if (!current_ok())
    return kInvalidContext;
  if (flags > 1)
    return kInvalidValue;
  fake_stream_t *s = malloc(sizeof *s);
  if (!s)
    return kOutOfMemory;
  s->context = tls_current;
  pthread_mutex_lock(&g_mu);
  s->next = g_streams;
  g_streams = s;
  ++g_counts.streams;
  pthread_mutex_unlock(&g_mu);
  *stream = s;
  return kSuccess;
}

// Whether `stream` was created and not destroyed yet. Requires g_mu.
static int stream_alive(const fake_stream_t *stream) {
  for (fake_stream_t *s = g_streams; s; s = s->next)
    if (s == stream)
      return 1;
  return 0;
}

EXPORT CUresult cuStreamSynchronize(fake_stream_t *stream) {
  FAIL_IF_INJECTED("cuStreamSynchronize");
  pthread_mutex_lock(&g_mu);
  int alive = !stream || stream_alive(stream);
  if (alive)
    ++g_counts.stream_synchronizations;
  pthread_mutex_unlock(&g_mu);
  if (!stream)
    return current_ok() ? kSuccess : kInvalidContext;
  if (!alive)
    return kInvalidHandle;
  return stream->context->refcount > 0 ? kSuccess : kInvalidHandle;
}

// An injected error is returned after the stream is destroyed: the driver
// reports errors of earlier work here, and the handle is gone either way.
EXPORT CUresult cuStreamDestroy_v2(fake_stream_t *stream) {
  pthread_mutex_lock(&g_mu);
  fake_stream_t **link = &g_streams;
  while (*link && *link != stream)
    link = &(*link)->next;
  if (!stream || !*link) {
    pthread_mutex_unlock(&g_mu);
    return kInvalidHandle;
  }
  *link = stream->next;
  --g_counts.streams;
  pthread_mutex_unlock(&g_mu);
  free(stream);
  return injected("cuStreamDestroy_v2");
}

//===----------------------------------------------------------------------===//
// Modules and launches
//===----------------------------------------------------------------------===//

EXPORT CUresult cuModuleLoadDataEx(fake_module_t **module, const void *image,
                                   unsigned num_options, int *options,
                                   void **values) {
  FAIL_IF_INJECTED("cuModuleLoadDataEx");
  if (!current_ok())
    return kInvalidContext;
  if (!module || !image)
    return kInvalidValue;
  const char *text = image;
  if (strncmp(text, "BAD", 3) == 0) {
    char *log = NULL;
    size_t capacity = 0;
    for (unsigned i = 0; i < num_options; ++i) {
      if (options[i] == 5)
        log = values[i];
      else if (options[i] == 6)
        capacity = (size_t)(uintptr_t)values[i];
    }
    if (log && capacity)
      snprintf(log, capacity, "ptxas fatal   : Unexpected token 'BAD'");
    return kInvalidPtx;
  }
  fake_module_t *m = calloc(1, sizeof *m);
  char *copy = strdup(text); // The image must be NUL-terminated PTX here.
  if (!m || !copy) {
    free(m);
    free(copy);
    return kOutOfMemory;
  }
  m->context = tls_current;
  m->image = copy;
  pthread_mutex_lock(&g_mu);
  m->next = g_modules;
  g_modules = m;
  ++g_counts.loads;
  pthread_mutex_unlock(&g_mu);
  *module = m;
  return kSuccess;
}

static int module_alive(const fake_module_t *module) {
  for (fake_module_t *m = g_modules; m; m = m->next)
    if (m == module)
      return 1;
  return 0;
}

EXPORT CUresult cuModuleUnload(fake_module_t *module) {
  FAIL_IF_INJECTED("cuModuleUnload");
  pthread_mutex_lock(&g_mu);
  for (fake_module_t **link = &g_modules; *link; link = &(*link)->next) {
    if (*link != module)
      continue;
    *link = module->next;
    ++g_counts.unloads;
    pthread_mutex_unlock(&g_mu);
    free_module(module);
    return kSuccess;
  }
  pthread_mutex_unlock(&g_mu);
  return kInvalidHandle;
}

// Whether `text` declares ".entry <name>" followed by a non-identifier.
static int declares_entry(const char *text, const char *name) {
  size_t length = strlen(name);
  for (const char *p = strstr(text, ".entry"); p; p = strstr(p + 1, ".entry")) {
    const char *q = p + 6;
    while (*q == ' ' || *q == '\t')
      ++q;
    if (strncmp(q, name, length) == 0 &&
        !(isalnum((unsigned char)q[length]) || q[length] == '_' ||
          q[length] == '$'))
      return 1;
  }
  return 0;
}

EXPORT CUresult cuModuleGetFunction(fake_function_t **function,
                                    fake_module_t *module, const char *name) {
  FAIL_IF_INJECTED("cuModuleGetFunction");
  pthread_mutex_lock(&g_mu);
  int alive = module_alive(module);
  pthread_mutex_unlock(&g_mu);
  if (!alive)
    return kInvalidHandle;
  if (!declares_entry(module->image, name))
    return kNotFound;
  fake_function_t *f = calloc(1, sizeof *f);
  char *copy = strdup(name);
  if (!f || !copy) {
    free(f);
    free(copy);
    return kOutOfMemory;
  }
  f->module = module;
  f->name = copy;
  f->max_dynamic_shared = kDefaultDynamicShared;
  pthread_mutex_lock(&g_mu);
  f->next = module->functions;
  module->functions = f;
  ++g_counts.lookups;
  pthread_mutex_unlock(&g_mu);
  *function = f;
  return kSuccess;
}

#ifndef FAKE_CUDA_WITHOUT_FUNC_SET_ATTRIBUTE
EXPORT CUresult cuFuncSetAttribute(fake_function_t *function, int attribute,
                                   int value) {
  FAIL_IF_INJECTED("cuFuncSetAttribute");
  if (!function)
    return kInvalidHandle;
  pthread_mutex_lock(&g_mu);
  CUresult result = kSuccess;
  if (!module_alive(function->module))
    result = kInvalidHandle;
  else if (attribute != kAttributeMaxDynamicShared || value < 0 ||
           value > kMaxDynamicShared)
    result = kInvalidValue;
  else {
    function->max_dynamic_shared = value;
    ++g_counts.attribute_sets;
  }
  pthread_mutex_unlock(&g_mu);
  return result;
}
#endif

EXPORT CUresult cuLaunchKernel(fake_function_t *function, unsigned grid_x,
                               unsigned grid_y, unsigned grid_z,
                               unsigned block_x, unsigned block_y,
                               unsigned block_z, unsigned shared_bytes,
                               fake_stream_t *stream, void **params,
                               void **extra) {
  FAIL_IF_INJECTED("cuLaunchKernel");
  if (!function || extra)
    return kInvalidValue;
  pthread_mutex_lock(&g_mu);
  int alive =
      module_alive(function->module) && (!stream || stream_alive(stream));
  int shared_limit = alive ? function->max_dynamic_shared : 0;
  pthread_mutex_unlock(&g_mu);
  if (!alive)
    return kInvalidHandle;
  // The kernel runs in its module's context: that one must be current for
  // the default stream, and a stream must belong to it.
  fake_context_t *context = function->module->context;
  if (stream ? stream->context != context : tls_current != context)
    return kInvalidContext;
  if (block_x * block_y * block_z > 1024 || shared_bytes > kMaxDynamicShared)
    return kLaunchOutOfResources;
  if (shared_bytes > (unsigned)shared_limit)
    return kInvalidValue;
  pthread_mutex_lock(&g_mu);
  ++g_counts.launches;
  g_last_launch_stream = stream;
  fake_cuda_kernel_fn kernel = g_kernel;
  pthread_mutex_unlock(&g_mu);
  if (kernel) {
    const unsigned grid[3] = {grid_x, grid_y, grid_z};
    const unsigned block[3] = {block_x, block_y, block_z};
    kernel(function->name, grid, block, params);
  }
  return kSuccess;
}

//===----------------------------------------------------------------------===//
// The old-ABI names: present in a real driver, wrong for the loader to use
//===----------------------------------------------------------------------===//

static CUresult old_abi_called(void) {
  pthread_mutex_lock(&g_mu);
  ++g_counts.old_abi_calls;
  pthread_mutex_unlock(&g_mu);
  return kNotSupported;
}

EXPORT CUresult cuMemAlloc(unsigned *address, unsigned bytes) {
  (void)address, (void)bytes;
  return old_abi_called();
}
EXPORT CUresult cuMemFree(unsigned address) {
  (void)address;
  return old_abi_called();
}
EXPORT CUresult cuMemcpyHtoD(unsigned dst, const void *src, unsigned bytes) {
  (void)dst, (void)src, (void)bytes;
  return old_abi_called();
}
EXPORT CUresult cuMemcpyDtoH(void *dst, unsigned src, unsigned bytes) {
  (void)dst, (void)src, (void)bytes;
  return old_abi_called();
}
EXPORT CUresult cuStreamDestroy(fake_stream_t *stream) {
  (void)stream;
  return old_abi_called();
}
EXPORT CUresult cuDevicePrimaryCtxRelease(CUdevice device) {
  (void)device;
  return old_abi_called();
}

//===----------------------------------------------------------------------===//
// Test hooks
//===----------------------------------------------------------------------===//

/// Registers the host function that launches run (null: none).
EXPORT void fake_cuda_set_kernel(fake_cuda_kernel_fn kernel) {
  pthread_mutex_lock(&g_mu);
  g_kernel = kernel;
  pthread_mutex_unlock(&g_mu);
}

/// The stream of the last successful launch (null: the default stream).
EXPORT void *fake_cuda_last_launch_stream(void) {
  pthread_mutex_lock(&g_mu);
  void *stream = g_last_launch_stream;
  pthread_mutex_unlock(&g_mu);
  return stream;
}

/// Whether `stream` is a stream created and not yet destroyed.
EXPORT int fake_cuda_stream_alive(void *stream) {
  pthread_mutex_lock(&g_mu);
  int alive = stream_alive(stream);
  pthread_mutex_unlock(&g_mu);
  return alive;
}

/// Returns a counter by name: "loads", "unloads", "live_modules",
/// "launches", "old_abi_calls", "live_streams", "lookups",
/// "live_allocations", "retained" (primary-context references held),
/// "attribute_sets" (successful cuFuncSetAttribute calls),
/// "stream_synchronizations" (cuStreamSynchronize calls on a live or the
/// default stream), or -1.
EXPORT int fake_cuda_counter(const char *name) {
  pthread_mutex_lock(&g_mu);
  int value = -1;
  if (strcmp(name, "loads") == 0)
    value = g_counts.loads;
  else if (strcmp(name, "unloads") == 0)
    value = g_counts.unloads;
  else if (strcmp(name, "launches") == 0)
    value = g_counts.launches;
  else if (strcmp(name, "old_abi_calls") == 0)
    value = g_counts.old_abi_calls;
  else if (strcmp(name, "live_streams") == 0)
    value = g_counts.streams;
  else if (strcmp(name, "lookups") == 0)
    value = g_counts.lookups;
  else if (strcmp(name, "attribute_sets") == 0)
    value = g_counts.attribute_sets;
  else if (strcmp(name, "stream_synchronizations") == 0)
    value = g_counts.stream_synchronizations;
  else if (strcmp(name, "live_modules") == 0) {
    value = 0;
    for (fake_module_t *m = g_modules; m; m = m->next)
      ++value;
  } else if (strcmp(name, "live_allocations") == 0) {
    value = 0;
    for (allocation_t *a = g_allocations; a; a = a->next)
      ++value;
  } else if (strcmp(name, "retained") == 0) {
    value = 0;
    for (int i = 0; i < g_device_count; ++i)
      value += g_contexts[i].refcount;
  }
  pthread_mutex_unlock(&g_mu);
  return value;
}
