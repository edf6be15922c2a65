/* Calls @retention and @retention_chunked of retention.mlir (its header is
 * force-included) on pseudo-random inputs and compares both with a
 * double-precision loop written from the formula:
 *   h_t[p, n] = gamma_h * h_{t-1}[p, n] + v_t[h, p] * k_t[g(h), n]
 *   y_t[h, p] = sum_n q_t[g(h), n] * h_t[p, n],  g(h) = h / 2.
 * Tolerance: 1e-5 of the largest |y| (f32 against f64 over 37 steps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { B = 2, L = 37, H = 4, G = 2, P = 8, N = 16 };

static float v[B][L][H][P], k[B][L][G][N], q[B][L][G][N], gamma_[H], loggamma[H];
static double ref[B][L][H][P];

static float next_uniform(unsigned *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((*state >> 8) & 0xffff) / 65536.0f * 2.0f - 1.0f;
}

static void view4(ssmc_memref_4d_f32 *d, void *data, int64_t a, int64_t b, int64_t c,
                  int64_t e) {
  d->allocated = d->aligned = data;
  d->offset = 0;
  d->sizes[0] = a; d->sizes[1] = b; d->sizes[2] = c; d->sizes[3] = e;
  d->strides[0] = b * c * e; d->strides[1] = c * e; d->strides[2] = e; d->strides[3] = 1;
}

static int compare(const char *name, const ssmc_memref_4d_f32 *y) {
  double worst = 0, largest = 0;
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < L; ++t)
      for (int h = 0; h < H; ++h)
        for (int p = 0; p < P; ++p) {
          double got = y->aligned[((b * L + t) * H + h) * P + p];
          /* fmax skips a NaN: a NaN output must not compare as exact. */
          worst = isnan(got) ? INFINITY : fmax(worst, fabs(got - ref[b][t][h][p]));
          largest = fmax(largest, fabs(ref[b][t][h][p]));
        }
  int ok = worst <= 1e-5 * largest && largest > 0.1;
  printf("%s: max error %.2e of max |y| %.2e: %s\n", name, worst, largest,
         ok ? "ok" : "MISMATCH");
  return ok;
}

int main(void) {
  unsigned state = 12345;
  for (int i = 0; i < B * L * H * P; ++i) (&v[0][0][0][0])[i] = next_uniform(&state);
  for (int i = 0; i < B * L * G * N; ++i) (&k[0][0][0][0])[i] = next_uniform(&state);
  for (int i = 0; i < B * L * G * N; ++i) (&q[0][0][0][0])[i] = next_uniform(&state);
  for (int h = 0; h < H; ++h) {
    gamma_[h] = 0.6f + 0.1f * h;
    loggamma[h] = logf(gamma_[h]);
  }
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int p = 0; p < P; ++p) {
        double s[N] = {0};
        for (int t = 0; t < L; ++t) {
          double y = 0;
          for (int n = 0; n < N; ++n) {
            s[n] = (double)gamma_[h] * s[n] + (double)v[b][t][h][p] * k[b][t][h / 2][n];
            y += (double)q[b][t][h / 2][n] * s[n];
          }
          ref[b][t][h][p] = y;
        }
      }

  ssmc_memref_4d_f32 vd, kd, qd, y;
  ssmc_memref_1d_f32 gd = {gamma_, gamma_, 0, {H}, {1}};
  ssmc_memref_1d_f32 lgd = {loggamma, loggamma, 0, {H}, {1}};
  view4(&vd, v, B, L, H, P);
  view4(&kd, k, B, L, G, N);
  view4(&qd, q, B, L, G, N);
  int ok = 1;
  _mlir_ciface_retention(&y, &vd, &kd, &qd, &gd);
  ok &= compare("recurrent", &y);
  free(y.allocated);
  _mlir_ciface_retention_chunked(&y, &vd, &kd, &qd, &lgd);
  ok &= compare("chunked", &y);
  free(y.allocated);
  return ok ? 0 : 1;
}
