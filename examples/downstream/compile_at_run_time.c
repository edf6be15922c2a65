/* The compiler as a library (ssm-c/Compiler.h, CMake target ssmc::compiler):
 * this program compiles an ssm kernel from text while it runs, loads the
 * shared library it made and calls it, for a program that builds its
 * kernels for the shapes or the machine it meets (docs/sdk.md). The kernel
 * is one causal convolution with SiLU; the check is a double-precision
 * reference. Exits non-zero on any failure. */
#include "ssm-c/Compiler.h"

#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const kernel =
    "func.func @conv(%x: tensor<?x8x?xf32>, %w: tensor<8x4xf32>)\n"
    "    -> tensor<?x8x?xf32> {\n"
    "  %y = ssm.causal_conv1d %x, %w silu\n"
    "      : (tensor<?x8x?xf32>, tensor<8x4xf32>) -> tensor<?x8x?xf32>\n"
    "  return %y : tensor<?x8x?xf32>\n"
    "}\n";

typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
} memref3_t;
typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} memref2_t;

static void report(ssmc_severity_t severity, const char *message, void *user) {
  (void)severity;
  (void)user;
  fprintf(stderr, "%s\n", message);
}

int main(void) {
  ssmc_session_t *session;
  ssmc_artifacts_t *artifacts;
  const char *flags[] = {"--emit=shared"};
  char path[] = "/tmp/ssmc-downstream-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || ssmc_session_create(&session) != SSMC_OK)
    return 1;
  close(fd);
  ssmc_session_set_diagnostic_callback(session, report, NULL);
  if (ssmc_session_set_flags(session, 1, flags) != SSMC_OK ||
      ssmc_compile_source(session, "conv.mlir", kernel, strlen(kernel),
                          &artifacts) != SSMC_OK ||
      ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_OUTPUT, path) != SSMC_OK)
    return 1;
  ssmc_artifacts_destroy(artifacts);
  ssmc_session_destroy(session);

  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  unlink(path);
  if (!library) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  void (*conv)(memref3_t *, memref3_t *, memref2_t *);
  *(void **)&conv = dlsym(library, "_mlir_ciface_conv");
  if (!conv)
    return 1;
  enum { B = 2, C = 8, L = 13, W = 4 };
  static float x[B * C * L], w[C * W];
  for (int i = 0; i < B * C * L; ++i)
    x[i] = sinf(0.3f * (float)i);
  for (int i = 0; i < C * W; ++i)
    w[i] = cosf(0.7f * (float)i);
  memref3_t xs = {x, x, 0, {B, C, L}, {C * L, L, 1}}, y;
  memref2_t ws = {w, w, 0, {C, W}, {W, 1}};
  conv(&y, &xs, &ws);
  double worst = 0;
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      for (int t = 0; t < L; ++t) {
        double a = 0;
        for (int k = 0; k < W; ++k) {
          int s = t - (W - 1) + k;
          if (s >= 0)
            a += (double)w[c * W + k] * x[(b * C + c) * L + s];
        }
        double want = a / (1 + exp(-a));
        double got = y.aligned[y.offset + (b * C + c) * L + t];
        worst = fmax(worst, fabs(got - want) / (1 + fabs(want)));
      }
  free(y.allocated);
  printf("compiled at run time with ssmc %s; max error %.2e\n", ssmc_version(),
         worst);
  return worst < 1e-5 ? 0 : 1;
}
