/* Calls @chain (two causal convolutions, the first one's output an
 * intermediate device buffer) compiled by `ssmc --target=cuda --emit=shared`,
 * with the runtime's fake CUDA driver: the call must launch both kernels and
 * free the intermediate buffer, so that after the caller frees the result
 * and its inputs no device allocation is left. The fake runs no PTX. */
#include "chain.h"
#include "fake-driver.h"

int main(void) {
  if (ssm_cuda_status() != SSM_OK) {
    fprintf(stderr, "%s\n", ssm_last_error());
    return 1;
  }
  float *x = device(2 * 64 * 8), *w = device(64 * 4);
  ssmc_memref_3d_f32 xs = {x, x, 0, {2, 64, 8}, {512, 8, 1}};
  ssmc_memref_2d_f32 ws = {w, w, 0, {64, 4}, {4, 1}};
  ssmc_memref_3d_f32 out;
  _mlir_ciface_chain(&out, &xs, &ws);
  printf("launches %d, live allocations after the call %d\n",
         fake_counter("launches"), fake_counter("live_allocations"));
  void *buffers[] = {out.allocated, x, w};
  for (int i = 0; i < 3; ++i)
    if (ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)buffers[i]) != SSM_OK) {
      fprintf(stderr, "free: %s\n", ssm_last_error());
      return 1;
    }
  printf("live allocations at the end %d\n", fake_counter("live_allocations"));
  return ssm_cuda_shutdown() == SSM_OK ? 0 : 1;
}
