/* Calls @squares of static-shape-checks.mlir (its header is force-included)
 * with 4 x 8 buffers, or with an argument, with an input one row short or
 * an output one column too wide, which the entry point must refuse before
 * it touches them. */
#include <stdio.h>
#include <string.h>

static float x[5 * 9], y[5 * 9];

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int64_t rows = strcmp(mode, "short-input") == 0 ? 3 : 4;
  int64_t cols = strcmp(mode, "long-output") == 0 ? 9 : 8;
  for (int i = 0; i < 4 * 8; ++i)
    x[i] = (float)i;
  ssmc_memref_2d_f32 xd = {x, x, 0, {rows, 8}, {8, 1}};
  ssmc_memref_2d_f32 yd = {y, y, 0, {4, cols}, {cols, 1}};
  _mlir_ciface_squares(&xd, &yd);
  for (int i = 0; i < 4 * 8; ++i)
    if (y[i] != x[i] * x[i]) {
      printf("squares: element %d is %g\n", i, y[i]);
      return 1;
    }
  printf("squares: ok\n");
  return 0;
}
