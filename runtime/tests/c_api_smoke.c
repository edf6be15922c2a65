//===- c_api_smoke.c - The runtime's header used from C -------------------===//
//
// Part of ssmc. Compiled as strict C99 and linked against the shared
// library: the public headers must be valid C, every entry point must be
// exported, and internal helpers must not be. Exits non-zero on failure.
//
//===----------------------------------------------------------------------===//

#define _GNU_SOURCE // RTLD_DEFAULT

#include "ssm/model_abi.h"
#include "ssm/runtime.h"
#include "ssm/runtime_cuda.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static void fill(void *ctx, int64_t lo, int64_t hi) {
  float *out = (float *)ctx;
  int64_t i;
  for (i = lo; i < hi; ++i)
    out[i] = (float)i * 0.5f;
}

int main(void) {
  int64_t shape[3] = {2, 3, 4};
  ssm_tensor_t t;
  int64_t numel = -1;
  bool contiguous = false;
  void *buffer = NULL;
  float *values;
  int64_t i;
  const char *const exported[] = {
      "ssm_runtime_version",      "ssm_runtime_abi_version",
      "ssm_status_string",        "ssm_last_error",
      "ssm_clear_error",          "ssm_set_error",
      "ssm_dtype_size",           "ssm_dtype_name",
      "ssm_tensor_init_contiguous", "ssm_tensor_numel",
      "ssm_tensor_nbytes",        "ssm_tensor_is_contiguous",
      "ssm_tensor_check",         "ssm_tensor_check_shape",
      "ssm_tensor_check_contiguous", "ssm_buffer_alloc",
      "ssm_buffer_free",          "ssm_set_num_threads",
      "ssm_get_num_threads",      "ssm_parallel_for",
      "ssm_runtime_shutdown",     "ssm_blas_status",
      "ssm_blas_library",         "ssm_sgemm",
      "ssm_kernel_sgemm",         "ssm_packed_bytes",
      "ssm_pack_weights",         "ssm_packed_matmul",
      "ssm_packed_gather",        "ssm_kernel_packed_matmul",
      "ssm_packed_check_environment",
      "ssm_kernel_packed_gather", "ssm_cuda_status",
      "ssm_cuda_device_count",    "ssm_cuda_compute_capability",
      "ssm_cuda_alloc",           "ssm_cuda_free",
      "ssm_cuda_copy_to_device",  "ssm_cuda_copy_to_host",
      "ssm_cuda_synchronize",     "ssm_cuda_stream_create",
      "ssm_cuda_stream_synchronize", "ssm_cuda_stream_destroy",
      "ssm_cuda_module_load",     "ssm_cuda_module_get_function",
      "ssm_cuda_launch",          "ssm_cuda_shutdown",
      "ssm_cuda_stream_wrap",     "ssm_cuda_set_call_stream",
      "ssm_cuda_call_stream"};
  size_t k;

  CHECK(strcmp(ssm_runtime_version(), "0.1.0") == 0);
  CHECK(ssm_runtime_abi_version() == SSM_RUNTIME_ABI_VERSION);
  CHECK(strcmp(ssm_status_string(SSM_ERROR_OUT_OF_MEMORY), "out of memory") ==
        0);

  CHECK(ssm_buffer_alloc(24 * sizeof(float), 0, &buffer) == SSM_OK);
  CHECK(buffer != NULL && (uintptr_t)buffer % SSM_DEFAULT_ALIGNMENT == 0);
  CHECK(ssm_tensor_init_contiguous(&t, buffer, SSM_DTYPE_F32, 3, shape) ==
        SSM_OK);
  CHECK(t.strides[0] == 12 && t.strides[1] == 4 && t.strides[2] == 1);
  CHECK(ssm_tensor_numel(&t, &numel) == SSM_OK && numel == 24);
  CHECK(ssm_tensor_is_contiguous(&t, &contiguous) == SSM_OK && contiguous);
  CHECK(ssm_tensor_check(&t, "x", SSM_DTYPE_F32, 3) == SSM_OK);
  CHECK(ssm_tensor_check(&t, "x", SSM_DTYPE_F32, 2) ==
        SSM_ERROR_INVALID_ARGUMENT);
  CHECK(strcmp(ssm_last_error(), "argument 'x': expected rank 2, got 3") == 0);

  CHECK(ssm_set_num_threads(3) == SSM_OK);
  CHECK(ssm_get_num_threads() == 3);
  CHECK(ssm_parallel_for(0, numel, 1, fill, buffer) == SSM_OK);
  values = (float *)buffer;
  for (i = 0; i < numel; ++i)
    CHECK(values[i] == (float)i * 0.5f);
  CHECK(ssm_parallel_for(0, 10, 1, NULL, NULL) == SSM_ERROR_INVALID_ARGUMENT);
  // [1 2; 3 4] * [1 2; 3 4]^T; no BLAS is a clean status, not a crash.
  {
    const float a[4] = {1, 2, 3, 4};
    float c[4] = {0, 0, 0, 0};
    ssm_status_t blas = ssm_blas_status();
    CHECK(blas == SSM_OK || blas == SSM_ERROR_UNAVAILABLE);
    CHECK(ssm_sgemm(1, 2, 2, 2, a, 2, a, 2, 0.0f, c, 2) == blas);
    if (blas == SSM_OK)
      CHECK(c[0] == 5 && c[1] == 11 && c[2] == 11 && c[3] == 25);
    CHECK(ssm_sgemm(1, 2, 2, 1, a, 1, a, 1, 0.0f, c, 1) ==
          SSM_ERROR_INVALID_ARGUMENT);
  }
  ssm_buffer_free(buffer);

  // A row of 32 weights packed in Q8_0 (one scale, padded to 64 bytes, then
  // 32 quants) and read back; one row of A needs no BLAS.
  {
    float w[32], back[32], c = 0;
    unsigned char packed[96];
    int64_t id = 0;
    for (i = 0; i < 32; ++i)
      w[i] = (float)(i - 16);
    w[0] = -127.0f; // d = 127 / 127 = 1: every weight is exact.
    CHECK(ssm_packed_bytes(SSM_WEIGHT_Q8_0, 1, 32) == 96);
    CHECK(ssm_pack_weights(SSM_WEIGHT_Q8_0, 1, 32, w, 32, packed) == SSM_OK);
    CHECK(ssm_packed_gather(SSM_WEIGHT_Q8_0, 1, 32, packed, &id, 1, back,
                            32) == SSM_OK);
    CHECK(back[0] == -127.0f && back[1] == -15.0f && back[31] == 15.0f);
    CHECK(ssm_packed_matmul(SSM_WEIGHT_Q8_0, 1, 1, 32, w, 32, packed, 0.0f, &c,
                            1) == SSM_OK);
    CHECK(c > 0.0f);
    CHECK(ssm_packed_bytes(SSM_WEIGHT_F32, 1, 32) == -1);
  }

  // The weights header keeps the floats after it 64-byte aligned.
  CHECK(sizeof SSM_WEIGHTS_MAGIC - 1 == SSM_WEIGHTS_MAGIC_BYTES);
  CHECK(SSM_WEIGHTS_HEADER_BYTES % 64 == 0);

  // CUDA: works, or fails cleanly with a reason (this machine: no driver).
  {
    int32_t devices = -1;
    ssm_status_t cuda = ssm_cuda_status();
    CHECK(cuda == SSM_OK || cuda == SSM_ERROR_UNAVAILABLE);
    CHECK(ssm_cuda_device_count(&devices) == cuda);
    CHECK(cuda == SSM_OK ? devices > 0 : devices == 0);
    if (cuda != SSM_OK)
      CHECK(strstr(ssm_last_error(), "CUDA unavailable: ") != NULL);
    CHECK(ssm_cuda_shutdown() == SSM_OK);
  }

  for (k = 0; k < sizeof exported / sizeof exported[0]; ++k) {
    if (!dlsym(RTLD_DEFAULT, exported[k])) {
      fprintf(stderr, "not exported: %s\n", exported[k]);
      ++failures;
    }
  }
  CHECK(dlsym(RTLD_DEFAULT, "ssm_internal_parse_num_threads") == NULL);
  CHECK(dlsym(RTLD_DEFAULT, "ssm_internal_chunk") == NULL);
  CHECK(dlsym(RTLD_DEFAULT, "ssm_internal_packed_force_portable") == NULL);
  CHECK(dlsym(RTLD_DEFAULT, "ssm_internal_blas_product") == NULL);

  // Returning from main with a running pool: the library's destructor
  // joins the workers; a hang here fails the test by timeout.
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
