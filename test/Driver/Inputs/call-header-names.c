/* Calls @conv and @mixed of header-names.mlir (its header is force-included)
 * and reads their results through the fields the header names after the
 * source. */
#include <stdio.h>
#include <stdlib.h>

static void print(const ssmc_memref_3d_f32 *d, int64_t channel) {
  for (int64_t t = 0; t < d->sizes[2]; ++t)
    printf(" %g", d->aligned[d->offset + channel * d->strides[1] + t]);
}

int main(void) {
  float x[12], w[8], b[2] = {0.5f, -1.0f};
  for (int i = 0; i < 12; ++i)
    x[i] = 1.0f;
  for (int i = 0; i < 8; ++i)
    w[i] = 1.0f;
  ssmc_memref_3d_f32 dx = {x, x, 0, {1, 2, 6}, {12, 6, 1}};
  ssmc_memref_2d_f32 dw = {w, w, 0, {2, 4}, {4, 1}};
  ssmc_memref_1d_f32 db = {b, b, 0, {2}, {1}};

  conv_results conv;
  _mlir_ciface_conv(&conv, &dx, &dw, &db);
  printf("conv: y =");
  print(&conv.y, 0);
  printf(" |");
  print(&conv.y, 1);
  printf("; state %lld x %lld x %lld\n", (long long)conv.state.sizes[0],
         (long long)conv.state.sizes[1], (long long)conv.state.sizes[2]);
  free(conv.y.allocated);
  free(conv.state.allocated);

  mixed_results mixed;
  _mlir_ciface_mixed(&mixed, &dx, &dw, &dx);
  printf("mixed: y =");
  print(&mixed.y, 0);
  printf("; r1 =");
  print(&mixed.r1, 0);
  printf("\n");
  free(mixed.y.allocated);
  free(mixed.r1.allocated);
  return 0;
}
