/* Calls @conv of status.mlir, compiled by `ssmc --target=cuda
 * --checks=status`, under the runtime's fake CUDA driver: a good call
 * launches its kernel and leaves ssm_last_error() empty; a call whose
 * weights have 3 taps instead of the signature's 4 launches nothing,
 * returns an empty result (freed with ssm_cuda_free like any result) and
 * leaves the check's message. No device allocation is left at the end. */
#include "status.h"
#include "fake-driver.h"

#include <string.h>

static void call(const char *what, int64_t taps, float *x, float *w) {
  ssmc_memref_3d_f32 xs = {x, x, 0, {2, 64, 8}, {512, 8, 1}};
  ssmc_memref_2d_f32 ws = {w, w, 0, {64, taps}, {taps, 1}};
  ssmc_memref_3d_f32 out;
  _mlir_ciface_conv(&out, &xs, &ws);
  printf("%s: launches %d, error '%s', result %lld x %lld x %lld\n", what,
         fake_counter("launches"), ssm_last_error(), (long long)out.sizes[0],
         (long long)out.sizes[1], (long long)out.sizes[2]);
  if (ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)out.allocated) != SSM_OK) {
    fprintf(stderr, "free: %s\n", ssm_last_error());
    exit(1);
  }
}

int main(void) {
  if (ssm_cuda_status() != SSM_OK) {
    fprintf(stderr, "%s\n", ssm_last_error());
    return 1;
  }
  float *x = device(2 * 64 * 8), *w = device(64 * 4);
  call("good", 4, x, w);
  call("bad", 3, x, w);
  call("good again", 4, x, w);
  ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)x);
  ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)w);
  printf("live allocations at the end %d\n", fake_counter("live_allocations"));
  return ssm_cuda_shutdown() == SSM_OK ? 0 : 1;
}
