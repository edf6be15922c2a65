/* Calls @scan of dynamic-scan.mlir (its header is force-included) with
 * consistent sizes, then with `delta` one step shorter than `u`. */
#include <stdio.h>
#include <stdlib.h>

static float data[4096];

static void view(ssmc_memref_3d_f32 *d, int64_t a, int64_t b, int64_t c) {
  d->allocated = d->aligned = data;
  d->offset = 0;
  d->sizes[0] = a; d->sizes[1] = b; d->sizes[2] = c;
  d->strides[0] = b * c; d->strides[1] = c; d->strides[2] = 1;
}

int main(void) {
  ssmc_memref_3d_f32 u, delta, y;
  ssmc_memref_2d_f32 A = {data, data, 0, {4, 2}, {2, 1}};
  ssmc_memref_4d_f32 B = {data, data, 0, {1, 1, 2, 8}, {16, 16, 8, 1}};
  view(&u, 1, 4, 8);
  view(&delta, 1, 4, 8);
  _mlir_ciface_scan(&y, &u, &delta, &A, &B, &B);
  free(y.allocated);
  printf("consistent sizes: ok\n");
  fflush(stdout);
  view(&delta, 1, 4, 7);
  _mlir_ciface_scan(&y, &u, &delta, &A, &B, &B);
  printf("inconsistent sizes: not caught\n");
  return 0;
}
