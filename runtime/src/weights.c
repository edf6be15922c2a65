//===- weights.c - Weights files written by ssmc ----------------------------===//
//
// Part of ssmc. A compiled model reads its parameters from one flat f32
// buffer; ssmc writes that buffer to a file (a one-page header, then the
// floats: ssm/model_abi.h) so that loading is one read-only mmap: no
// parsing, no copy, pages shared between processes running the same model.
//
//===----------------------------------------------------------------------===//

#define _POSIX_C_SOURCE 200809L

#include "internal.h"
#include "ssm/model_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct ssm_weights {
  void *mapping;
  size_t size;
  /// The next open handle: the list lets ssm_weights_close tell an open
  /// handle from one closed already, instead of freeing it twice.
  struct ssm_weights *next;
};

static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;
static ssm_weights_t *g_open;

/// Removes `weights` from the open handles; false if it is not one of them.
static int unlink_open(ssm_weights_t *weights) {
  int found = 0;
  pthread_mutex_lock(&g_open_lock);
  for (ssm_weights_t **link = &g_open; *link; link = &(*link)->next)
    if (*link == weights) {
      *link = weights->next;
      found = 1;
      break;
    }
  pthread_mutex_unlock(&g_open_lock);
  return found;
}

ssm_status_t ssm_weights_open(const char *path, int64_t expected_floats,
                              int64_t expected_hash, ssm_weights_t **out) {
  static const char kFn[] = "ssm_weights_open";
  if (!out)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: out is null", kFn);
  *out = NULL;
  if (!path)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: path is null", kFn);
  if (expected_floats < 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: expected_floats %lld is negative", kFn,
                         (long long)expected_floats);
  // O_NONBLOCK: a FIFO would otherwise block the open until a writer
  // comes; it is refused below like any file that is not regular.
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: cannot open '%s': %s",
                         kFn, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: '%s' is not a regular file", kFn, path);
  }
  uint64_t size = (uint64_t)st.st_size;
  if (size < SSM_WEIGHTS_HEADER_BYTES) {
    close(fd);
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: '%s' holds %llu bytes, less than the %d-byte "
                         "header of a weights file",
                         kFn, path, (unsigned long long)size,
                         SSM_WEIGHTS_HEADER_BYTES);
  }
  void *mapping = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (mapping == MAP_FAILED)
    return ssm_set_error(SSM_ERROR_OUT_OF_MEMORY, "%s: cannot map '%s': %s",
                         kFn, path, strerror(errno));
  const unsigned char *bytes = mapping;
  uint64_t floats, hash;
  memcpy(&floats, bytes + SSM_WEIGHTS_FLOAT_COUNT_OFFSET, sizeof(floats));
  memcpy(&hash, bytes + SSM_WEIGHTS_LAYOUT_HASH_OFFSET, sizeof(hash));
  ssm_status_t status = SSM_OK;
  if (memcmp(bytes, SSM_WEIGHTS_MAGIC, SSM_WEIGHTS_MAGIC_BYTES) != 0)
    status = ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: '%s' is not a weights file written by ssmc "
                           "(no " SSM_WEIGHTS_MAGIC " magic)",
                           kFn, path);
  else if (floats != (uint64_t)expected_floats)
    status = ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: '%s' holds %llu floats, the model expects %lld "
                           "(a weights file of another model?)",
                           kFn, path, (unsigned long long)floats,
                           (long long)expected_floats);
  else if (hash != (uint64_t)expected_hash)
    status = ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: '%s' has layout hash %llu, the model expects "
                           "%lld: it was written for another model or ssmc",
                           kFn, path, (unsigned long long)hash,
                           (long long)expected_hash);
  else if ((size - SSM_WEIGHTS_HEADER_BYTES) / sizeof(float) < floats ||
           size - SSM_WEIGHTS_HEADER_BYTES != floats * sizeof(float))
    status = ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                           "%s: '%s' is %llu bytes, expected %llu (truncated "
                           "or padded)",
                           kFn, path, (unsigned long long)size,
                           (unsigned long long)(SSM_WEIGHTS_HEADER_BYTES +
                                                floats * sizeof(float)));
  ssm_weights_t *weights = NULL;
  if (status == SSM_OK && !(weights = malloc(sizeof(*weights))))
    status = ssm_set_error(SSM_ERROR_OUT_OF_MEMORY, "%s: out of memory", kFn);
  if (status != SSM_OK) {
    munmap(mapping, (size_t)size);
    return status;
  }
  weights->mapping = mapping;
  weights->size = (size_t)size;
  pthread_mutex_lock(&g_open_lock);
  weights->next = g_open;
  g_open = weights;
  pthread_mutex_unlock(&g_open_lock);
  *out = weights;
  return SSM_OK;
}

const float *ssm_weights_data(const ssm_weights_t *weights) {
  if (!weights)
    return NULL;
  return (const float *)((const unsigned char *)weights->mapping +
                         SSM_WEIGHTS_HEADER_BYTES);
}

ssm_status_t ssm_weights_close(ssm_weights_t *weights) {
  if (!weights)
    return SSM_OK;
  if (!unlink_open(weights))
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "ssm_weights_close: %p is not an open weights handle "
                         "(closed already?)",
                         (void *)weights);
  munmap(weights->mapping, weights->size);
  free(weights);
  return SSM_OK;
}
