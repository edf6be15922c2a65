//===- buffer.c - Aligned host buffers -------------------------------------===//
//
// Part of ssmc. A thin, checked wrapper over posix_memalign, so that the
// alignment rules and failure reporting are the runtime's own and do not
// depend on the C library's leniency.
//
//===----------------------------------------------------------------------===//

#define _POSIX_C_SOURCE 200809L

#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

ssm_status_t ssm_buffer_alloc(size_t bytes, size_t alignment, void **out) {
  static const char kFn[] = "ssm_buffer_alloc";
  if (!out)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: out is null", kFn);
  *out = NULL;
  if (alignment == 0)
    alignment = SSM_DEFAULT_ALIGNMENT;
  if ((alignment & (alignment - 1)) != 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: alignment %zu is not a power of two", kFn,
                         alignment);
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  if (alignment > (size_t)PTRDIFF_MAX || bytes > (size_t)PTRDIFF_MAX - alignment)
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: %zu bytes aligned to %zu exceed the largest "
                         "object size",
                         kFn, bytes, alignment);
  void *memory = NULL;
  // A zero-byte request still gets a distinct pointer.
  int error = posix_memalign(&memory, alignment, bytes ? bytes : 1);
  if (error != 0 || !memory) {
    if (error == EINVAL)
      return ssm_set_error(SSM_ERROR_INTERNAL,
                           "%s: posix_memalign rejected alignment %zu", kFn,
                           alignment);
    return ssm_set_error(SSM_ERROR_OUT_OF_MEMORY,
                         "%s: cannot allocate %zu bytes aligned to %zu", kFn,
                         bytes, alignment);
  }
  *out = memory;
  return SSM_OK;
}

void ssm_buffer_free(void *buffer) { free(buffer); }
