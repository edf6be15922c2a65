/* Calls @conv and @ssd of caller-outputs.mlir (its header is force-included)
 * with output buffers it owns: conv's against a plain C loop, ssd's for
 * every element written; with an argument, conv with an output one step
 * too short, which must stop the call before it writes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { B = 2, C = 4, L = 9, W = 3 };

static float x[B * C * L], w[C * W], y[B * C * L];

static double silu(double v) { return v / (1.0 + exp(-v)); }

static int conv(int wrongSize) {
  for (int i = 0; i < B * C * L; ++i)
    x[i] = (float)sin(0.7 * i);
  for (int i = 0; i < C * W; ++i)
    w[i] = (float)cos(0.3 * i);
  ssmc_memref_3d_f32 xd = {x, x, 0, {B, C, L}, {C * L, L, 1}};
  ssmc_memref_2d_f32 wd = {w, w, 0, {C, W}, {W, 1}};
  ssmc_memref_3d_f32 yd = {y, y, 0, {B, C, wrongSize ? L - 1 : L}, {C * L, L, 1}};
  _mlir_ciface_conv(&xd, &wd, &yd);
  double worst = 0.0;
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      for (int t = 0; t < L; ++t) {
        double acc = 0.0;
        for (int k = 0; k < W; ++k) {
          int s = t - (W - 1) + k;
          if (s >= 0)
            acc += (double)w[c * W + k] * x[(b * C + c) * L + s];
        }
        double err = fabs(silu(acc) - y[(b * C + c) * L + t]);
        worst = err > worst ? err : worst;
      }
  /* f32 products and sums against doubles: a few units in the last place. */
  printf("conv: max error %s\n", worst < 1e-5 ? "0" : "too large");
  return 0;
}

static float sx[8 * 4 * 8], sdt[8 * 4], sa[4], sb[8 * 16], sy[8 * 4 * 8], sh[4 * 8 * 16];

static void ssd(void) {
  enum { T = 8 };
  for (int i = 0; i < T * 4 * 8; ++i)
    sx[i] = (float)sin(0.1 * i);
  for (int i = 0; i < T * 4; ++i)
    sdt[i] = 0.1f;
  for (int i = 0; i < 4; ++i)
    sa[i] = -1.0f;
  for (int i = 0; i < T * 16; ++i)
    sb[i] = (float)cos(0.2 * i);
  for (int i = 0; i < T * 4 * 8; ++i)
    sy[i] = NAN;
  for (int i = 0; i < 4 * 8 * 16; ++i)
    sh[i] = NAN;
  ssmc_memref_4d_f32 xd = {sx, sx, 0, {1, T, 4, 8}, {T * 32, 32, 8, 1}};
  ssmc_memref_3d_f32 dtd = {sdt, sdt, 0, {1, T, 4}, {T * 4, 4, 1}};
  ssmc_memref_1d_f32 ad = {sa, sa, 0, {4}, {1}};
  ssmc_memref_4d_f32 bd = {sb, sb, 0, {1, T, 1, 16}, {T * 16, 16, 16, 1}};
  ssmc_memref_4d_f32 yd = {sy, sy, 0, {1, T, 4, 8}, {T * 32, 32, 8, 1}};
  ssmc_memref_4d_f32 hd = {sh, sh, 0, {1, 4, 8, 16}, {512, 128, 16, 1}};
  _mlir_ciface_ssd(&xd, &dtd, &ad, &bd, &yd, &hd);
  int unwritten = 0;
  for (int i = 0; i < T * 4 * 8; ++i)
    unwritten += isnan(sy[i]);
  for (int i = 0; i < 4 * 8 * 16; ++i)
    unwritten += isnan(sh[i]);
  printf(unwritten ? "ssd: %d elements not written\n" : "ssd: every element written\n",
         unwritten);
}

int main(int argc, char **argv) {
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "wrong-size") == 0)
    return conv(1);
  conv(0);
  ssd();
  return 0;
}
