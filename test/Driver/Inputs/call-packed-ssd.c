/* Calls @recurrent or @chunked of packed-ssd.mlir (its header is
 * force-included) with valid cu_seqlens, then with the offsets given on the
 * command line: argv[1] is the function, argv[2..4] the three offsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float data[256];

int main(int argc, char **argv) {
  if (argc != 5)
    return 2;
  ssmc_memref_4d_f32 x = {data, data, 0, {1, 8, 2, 4}, {64, 8, 4, 1}};
  ssmc_memref_3d_f32 dt = {data, data, 0, {1, 8, 2}, {16, 2, 1}};
  ssmc_memref_1d_f32 A = {data, data, 0, {2}, {1}};
  ssmc_memref_4d_f32 B = {data, data, 0, {1, 8, 1, 4}, {32, 4, 4, 1}};
  int64_t offsets[3] = {0, 3, 8};
  ssmc_memref_1d_i64 cu = {offsets, offsets, 0, {3}, {1}};
  ssmc_memref_4d_f32 y;
  int chunked = strcmp(argv[1], "chunked") == 0;
  (chunked ? _mlir_ciface_chunked : _mlir_ciface_recurrent)(&y, &x, &dt, &A, &B, &cu);
  free(y.allocated);
  printf("valid offsets: ok\n");
  fflush(stdout);
  for (int i = 0; i < 3; ++i)
    offsets[i] = atoll(argv[i + 2]);
  (chunked ? _mlir_ciface_chunked : _mlir_ciface_recurrent)(&y, &x, &dt, &A, &B, &cu);
  free(y.allocated);
  printf("given offsets: returned\n");
  return 0;
}
