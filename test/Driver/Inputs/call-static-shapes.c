/* Calls @squares of static-shape-checks.mlir (its header is force-included,
 * and with -DSTATUS declares ssm_last_error)
 * with 4 x 8 buffers, or with an argument, with an input one row short or
 * an output one column too wide, which the entry point must refuse before
 * it touches them. Built with -DSTATUS (code compiled with --checks=status)
 * it makes good and bad calls in turn and prints ssm_last_error() after
 * each, with whether the bad calls left their outputs alone. With
 * -DRESULTS too (code compiled without --caller-outputs) the calls return
 * their results, and a bad call's come back empty. */
#include <stdio.h>
#include <string.h>

static float x[5 * 9], y[5 * 9];

#ifdef RESULTS
#include <stdlib.h>
static ssmc_memref_2d_f32 result;
static void squares(int64_t rows, int64_t cols) {
  (void)cols;
  ssmc_memref_2d_f32 xd = {x, x, 0, {rows, 8}, {8, 1}};
  _mlir_ciface_squares(&result, &xd);
  memcpy(y, result.aligned + result.offset,
         sizeof(float) * (size_t)(result.sizes[0] * result.sizes[1]));
  free(result.allocated);
}
#else
static void squares(int64_t rows, int64_t cols) {
  ssmc_memref_2d_f32 xd = {x, x, 0, {rows, 8}, {8, 1}};
  ssmc_memref_2d_f32 yd = {y, y, 0, {4, cols}, {cols, 1}};
  _mlir_ciface_squares(&xd, &yd);
}
#endif

static int checkSquares(void) {
  for (int i = 0; i < 4 * 8; ++i)
    if (y[i] != x[i] * x[i]) {
      printf("squares: element %d is %g\n", i, y[i]);
      return 1;
    }
  return 0;
}

#ifdef STATUS
static float cx[4 * 6], cw[4 * 3], cy[4 * 6];

static int untouched(const float *buffer, int count) {
  for (int i = 0; i < count; ++i)
    if (buffer[i] != -1.0f)
      return 0;
  return 1;
}

static void report(const char *call, const float *out, int count) {
  const char *error = ssm_last_error();
  if (!*error)
    printf("%s: no error\n", call);
  else
    printf("%s: %s; output %s\n", call, error,
           untouched(out, count) ? "untouched" : "written");
}
#endif

int main(int argc, char **argv) {
  for (int i = 0; i < 4 * 8; ++i)
    x[i] = (float)i;
#if defined(STATUS) && defined(RESULTS)
  (void)argc;
  (void)argv;
  squares(4, 8);
  if (checkSquares())
    return 1;
  printf("ok call: %s\n", *ssm_last_error() ? ssm_last_error() : "no error");
  ssmc_memref_2d_f32 xd = {x, x, 0, {3, 8}, {8, 1}};
  _mlir_ciface_squares(&result, &xd);
  printf("short input: %s; result %lld x %lld\n", ssm_last_error(),
         (long long)result.sizes[0], (long long)result.sizes[1]);
  free(result.allocated);
  squares(4, 8);
  printf("after an ok call: %s\n",
         *ssm_last_error() ? ssm_last_error() : "no error");
  ssmc_memref_3d_f32 cxd = {cx, cx, 0, {1, 4, 6}, {24, 6, 1}};
  ssmc_memref_2d_f32 wd = {cw, cw, 0, {4, 2}, {2, 1}};
  ssmc_memref_3d_f32 cyd;
  _mlir_ciface_conv(&cyd, &cxd, &wd);
  printf("short conv weights: %s; result %lld x %lld x %lld\n", ssm_last_error(),
         (long long)cyd.sizes[0], (long long)cyd.sizes[1],
         (long long)cyd.sizes[2]);
  free(cyd.allocated);
  return 0;
#elif defined(STATUS)
  (void)argc;
  (void)argv;
  squares(4, 8);
  if (checkSquares())
    return 1;
  report("ok call", y, 0);
  for (int i = 0; i < 5 * 9; ++i)
    y[i] = -1.0f;
  squares(3, 8);
  report("short input", y, 5 * 9);
  squares(4, 8);
  report("after an ok call", y, 0);
  /* Input [1, 4, 6], output [1, 4, 5]. */
  for (int i = 0; i < 4 * 6; ++i)
    cy[i] = -1.0f;
  ssmc_memref_3d_f32 xd = {cx, cx, 0, {1, 4, 6}, {24, 6, 1}};
  ssmc_memref_2d_f32 wd = {cw, cw, 0, {4, 3}, {3, 1}};
  ssmc_memref_3d_f32 yd = {cy, cy, 0, {1, 4, 5}, {20, 5, 1}};
  _mlir_ciface_conv(&xd, &wd, &yd);
  report("short conv output", cy, 4 * 6);
  return 0;
#else
  const char *mode = argc > 1 ? argv[1] : "";
  squares(strcmp(mode, "short-input") == 0 ? 3 : 4,
          strcmp(mode, "long-output") == 0 ? 9 : 8);
  if (checkSquares())
    return 1;
  printf("squares: ok\n");
  return 0;
#endif
}
