/* Calls the GPU decode step of examples/mamba2_block.mlir, compiled by
 * `ssmc --target=cuda --emit=shared`, through its header, with the runtime's
 * fake CUDA driver (runtime/tests/fake_cuda.c) standing in for libcuda: the
 * host code loads the embedded PTX, looks the kernel up and launches it on
 * the caller's device buffers. The fake runs no PTX; it reports the launch
 * to a hook, which prints the kernel, its grid and block, and whether the
 * state buffer reached it. Without a driver, the call must stop with a
 * message. */
#include "block.h"
#include "fake-driver.h"

#include <string.h>

enum { B = 2, H = 24, P = 64, N = 128 };

static void *g_state;
static int g_launches;

static void record(const char *name, const unsigned grid[3],
                   const unsigned block[3], void **args) {
  /* The kernel takes the state first: its descriptor's allocated and
   * aligned pointers are the first two parameters. */
  int state = *(void **)args[1] == g_state;
  printf("launch %d: kernel %s grid %u %u %u block %u %u %u state %s\n",
         ++g_launches, name, grid[0], grid[1], grid[2], block[0], block[1],
         block[2], state ? "passed" : "missing");
}

#define VIEW(rank, name, data, ...)                                            \
  ssmc_memref_##rank##d_f32 name = {data, data, 0, {__VA_ARGS__}, {0}};        \
  do {                                                                         \
    int64_t stride = 1;                                                        \
    for (int i = rank - 1; i >= 0; --i) {                                      \
      name.strides[i] = stride;                                                \
      stride *= name.sizes[i];                                                 \
    }                                                                          \
  } while (0)

int main(void) {
  if (ssm_cuda_status() != SSM_OK) {
    /* No driver: the library still loaded; its call reports why it cannot
     * run (and aborts). */
    printf("no driver: %s\n", ssm_last_error());
    fflush(stdout);
    float dummy[1];
    VIEW(3, x, dummy, B, H, P);
    VIEW(2, dt, dummy, B, H);
    VIEW(1, a, dummy, H);
    VIEW(3, bc, dummy, B, 1, N);
    VIEW(4, h, dummy, B, H, P, N);
    _mlir_ciface_decode(&x, &dt, &a, &bc, &bc, &a, &a, &x, &h, &x);
    printf("not stopped\n");
    return 0;
  }
  fake_set_kernel_hook(record);
  g_state = device((size_t)B * H * P * N);
  VIEW(3, x, device(B * H * P), B, H, P);
  VIEW(2, dt, device(B * H), B, H);
  VIEW(1, a, device(H), H);
  VIEW(3, bm, device(B * N), B, 1, N);
  VIEW(3, cm, device(B * N), B, 1, N);
  VIEW(1, d, device(H), H);
  VIEW(1, bias, device(H), H);
  VIEW(3, z, device(B * H * P), B, H, P);
  VIEW(4, h, g_state, B, H, P, N);
  VIEW(3, y, device(B * H * P), B, H, P);
  _mlir_ciface_decode(&x, &dt, &a, &bm, &cm, &d, &bias, &z, &h, &y);
  _mlir_ciface_decode(&x, &dt, &a, &bm, &cm, &d, &bias, &z, &h, &y);
  float *buffers[] = {x.allocated, dt.allocated, a.allocated,  bm.allocated,
                      cm.allocated, d.allocated, bias.allocated, z.allocated,
                      h.allocated, y.allocated};
  for (size_t i = 0; i < sizeof buffers / sizeof *buffers; ++i)
    if (ssm_cuda_free(0, (ssm_cuda_ptr_t)(uintptr_t)buffers[i]) != SSM_OK) {
      fprintf(stderr, "free: %s\n", ssm_last_error());
      return 1;
    }
  printf("done after %d launches\n", g_launches);
  return ssm_cuda_shutdown() == SSM_OK ? 0 : 1;
}
