/* Calls @ssd (Inputs/ssd.mlir) compiled by `ssmc --target=cuda
 * --emit=shared` with the runtime's fake CUDA driver, which checks dynamic
 * shared memory as an H100 does (48 KiB unless cuFuncSetAttribute raised
 * the kernel's limit): prints each launch and how often the limit was
 * raised; then calls it on a stream of the caller's (ssm_cuda_set_call_stream)
 * and prints how many streams it created and how often it waited. The fake
 * runs no PTX. */
#include "fake-driver.h"
#include "ssd.h"

/* Set for the last call: where the launch hook stores the live streams. */
static int *streams_seen, streams_in_launch;

static void record(const char *name, const unsigned grid[3],
                   const unsigned block[3], void **args) {
  (void)args;
  if (streams_seen)
    *streams_seen = fake_counter("live_streams");
  printf("launch: kernel %s grid %u %u %u block %u %u %u\n", name, grid[0],
         grid[1], grid[2], block[0], block[1], block[2]);
}

int main(void) {
  if (ssm_cuda_status() != SSM_OK) {
    fprintf(stderr, "%s\n", ssm_last_error());
    return 1;
  }
  fake_set_kernel_hook(record);
  float *x = device(128 * 2 * 64), *dt = device(128 * 2), *a = device(2),
        *b = device(128 * 128), *c = device(128 * 128);
  ssmc_memref_4d_f32 xs = {x, x, 0, {1, 128, 2, 64}, {16384, 128, 64, 1}};
  ssmc_memref_3d_f32 dts = {dt, dt, 0, {1, 128, 2}, {256, 2, 1}};
  ssmc_memref_1d_f32 as = {a, a, 0, {2}, {1}};
  ssmc_memref_4d_f32 bs = {b, b, 0, {1, 128, 1, 128}, {16384, 128, 128, 1}};
  ssmc_memref_4d_f32 cs = {c, c, 0, {1, 128, 1, 128}, {16384, 128, 128, 1}};
  for (int call = 0; call < 2; ++call) {
    ssmc_memref_4d_f32 y;
    _mlir_ciface_ssd(&y, &xs, &dts, &as, &bs, &cs);
    if (ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)y.allocated) != SSM_OK) {
      fprintf(stderr, "free: %s\n", ssm_last_error());
      return 1;
    }
  }
  printf("launches %d, shared memory limit raised %d, stream waits %d\n",
         fake_counter("launches"), fake_counter("attribute_sets"),
         fake_counter("stream_synchronizations"));

  ssm_cuda_stream_t mine = NULL;
  if (ssm_cuda_stream_create(0, &mine) != SSM_OK ||
      ssm_cuda_set_call_stream(mine) != SSM_OK) {
    fprintf(stderr, "call stream: %s\n", ssm_last_error());
    return 1;
  }
  int streams = fake_counter("live_streams"),
      syncs = fake_counter("stream_synchronizations");
  /* A stream the call created would be destroyed by its end: count the
     live streams inside the launch hook instead. */
  streams_seen = &streams_in_launch;
  ssmc_memref_4d_f32 y;
  _mlir_ciface_ssd(&y, &xs, &dts, &as, &bs, &cs);
  printf("on the caller's stream: %d more live streams during the launch, "
         "stream waits %d\n",
         streams_in_launch - streams,
         fake_counter("stream_synchronizations") - syncs);
  if (ssm_cuda_stream_synchronize(mine) != SSM_OK ||
      ssm_cuda_set_call_stream(NULL) != SSM_OK ||
      ssm_cuda_stream_destroy(mine) != SSM_OK ||
      ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)y.allocated) != SSM_OK) {
    fprintf(stderr, "call stream: %s\n", ssm_last_error());
    return 1;
  }
  void *buffers[] = {x, dt, a, b, c};
  for (int i = 0; i < 5; ++i)
    if (ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)buffers[i]) != SSM_OK) {
      fprintf(stderr, "free: %s\n", ssm_last_error());
      return 1;
    }
  return ssm_cuda_shutdown() == SSM_OK ? 0 : 1;
}
