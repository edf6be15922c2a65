/* What the programs that call generated GPU libraries under the runtime's
 * fake CUDA driver (runtime/tests/fake_cuda.c) share: device buffers, and
 * the fake's test hooks (its counters and its launch hook), found in the
 * driver the runtime loaded (SSM_CUDA_DRIVER). Each program exits with 1
 * when it cannot have them. */
#ifndef SSM_TEST_TARGET_GPU_FAKE_DRIVER_H
#define SSM_TEST_TARGET_GPU_FAKE_DRIVER_H

#include "ssm/runtime_cuda.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*fake_kernel_hook)(const char *name, const unsigned grid[3],
                                 const unsigned block[3], void **args);

/* A device buffer of `floats` floats. */
static void *device(size_t floats) {
  ssm_cuda_ptr_t p = 0;
  if (ssm_cuda_alloc(0, floats * sizeof(float), &p) != SSM_OK) {
    fprintf(stderr, "alloc: %s\n", ssm_last_error());
    exit(1);
  }
  return (void *)(uintptr_t)p;
}

/* The fake driver's symbol `name`. */
static void *fake_symbol(const char *name) {
  void *fake = dlopen(getenv("SSM_CUDA_DRIVER"), RTLD_NOW | RTLD_NOLOAD);
  void *symbol = fake ? dlsym(fake, name) : NULL;
  if (!symbol) {
    fprintf(stderr, "not the fake driver (no %s)\n", name);
    exit(1);
  }
  return symbol;
}

/* The fake's counter `name` ("launches", "live_allocations", ...). */
static int fake_counter(const char *name) {
  return ((int (*)(const char *))fake_symbol("fake_cuda_counter"))(name);
}

/* Calls `hook` at each launch. */
static void fake_set_kernel_hook(fake_kernel_hook hook) {
  ((void (*)(fake_kernel_hook))fake_symbol("fake_cuda_set_kernel"))(hook);
}

#endif
