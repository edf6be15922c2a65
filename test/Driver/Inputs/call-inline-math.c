/* Calls @transcendentals of inline-math.mlir (its header is force-included)
 * on a sweep of f32 inputs and compares exp, expm1 and log1p with
 * double-precision libm, in units of the last place of the f32 result. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { SWEEP = 1 << 20, SPECIAL = 8 };

static float x[SWEEP + SPECIAL], e[SWEEP + SPECIAL], m[SWEEP + SPECIAL],
    l[SWEEP + SPECIAL];

/* |got - want| in units of the f32 spacing at want (subnormal spacing
 * below the normal range). */
static double ulps(float got, double want) {
  double spacing = ldexp(1.0, ilogb(fmax(fabs(want), FLT_MIN)) - 23);
  return fabs((double)got - want) / spacing;
}

static void report(const char *name, const float *got, double (*want)(double),
                   double lo, double hi) {
  double worst = 0.0, at = 0.0;
  for (int i = 0; i < SWEEP; ++i) {
    if (x[i] < lo || x[i] > hi)
      continue;
    double u = ulps(got[i], want(x[i]));
    if (u > worst) {
      worst = u;
      at = x[i];
    }
  }
  if (worst <= 4.0)
    printf("%s: within 4 ulp\n", name);
  else
    printf("%s: %.1f ulp at %.9g\n", name, worst, at);
}

int main(void) {
  /* exp's inputs from underflow to overflow, log1p's from just above -1,
   * dense near zero where expm1 and log1p must not cancel. */
  for (int i = 0; i < SWEEP; ++i) {
    double u = (i + 0.5) / SWEEP;
    x[i] = i % 2 ? (float)(-87.0 + 175.0 * u)
                 : (float)copysign(pow(10.0, -8.0 + 10.0 * u), i % 4 ? 1.0 : -0.999);
  }
  const float special[SPECIAL] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN,
                                  -1.0f, 100.0f, -100.0f};
  for (int i = 0; i < SPECIAL; ++i)
    x[SWEEP + i] = special[i];
  ssmc_memref_1d_f32 xd = {x, x, 0, {SWEEP + SPECIAL}, {1}};
  ssmc_memref_1d_f32 ed = {e, e, 0, {SWEEP + SPECIAL}, {1}};
  ssmc_memref_1d_f32 md = {m, m, 0, {SWEEP + SPECIAL}, {1}};
  ssmc_memref_1d_f32 ld = {l, l, 0, {SWEEP + SPECIAL}, {1}};
  _mlir_ciface_transcendentals(&xd, &ed, &md, &ld);

  /* Normal results only: below FLT_MIN exp's result is subnormal. */
  report("exp", e, exp, -87.0, 88.0);
  report("expm1", m, expm1, -87.0, 88.0);
  report("log1p", l, log1p, -0.999, 1e30);

  int bad = 0;
  for (int i = 0; i < SPECIAL; ++i) {
    float v = x[SWEEP + i];
    float want[3] = {expf(v), expm1f(v), log1pf(v)};
    float got[3] = {e[SWEEP + i], m[SWEEP + i], l[SWEEP + i]};
    for (int k = 0; k < 3; ++k) {
      /* A subnormal result (exp(-100)) may be flushed to zero. */
      int same = (isnan(want[k]) && isnan(got[k])) || want[k] == got[k] ||
                 (isfinite(want[k]) && ulps(got[k], want[k]) <= 4.0) ||
                 (fabsf(want[k]) < FLT_MIN && got[k] == 0.0f);
      if (!same) {
        printf("special value %g, function %d: %g, libm %g\n", v, k, got[k], want[k]);
        bad = 1;
      }
    }
  }
  if (!bad)
    printf("special values: as libm\n");
  return 0;
}
