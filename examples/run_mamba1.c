/* Calls the Mamba-1 selective scan of examples/mamba1_scan.mlir, compiled by
 * ssmc into libmamba1_scan.so and mamba1_scan.h (scripts/example.sh does
 * both):
 *
 *   1. prefill: the selective scan over a whole prompt, returning the
 *      outputs and the final state;
 *   2. decode: the same prompt again, one token at a time, updating a state
 *      buffer in place.
 *
 * Both compute the same recurrence in f32, so the token-by-token outputs and
 * the final state must match the prefill's up to rounding (the two kernels
 * order their sums differently); the program prints the largest differences
 * and fails above 1e-4. Inputs are pseudo-random, generated here. */

#include "mamba1_scan.h"
#include "example_util.h"
#include "ssm/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { BATCH = 1, LEN = 32, CHANNELS = 1536, STATE = 16 };

DEFINE_VIEW(1)
DEFINE_VIEW(2)
DEFINE_VIEW(3)
DEFINE_VIEW(4)

int main(void) {
  const size_t D = CHANNELS, N = STATE, L = LEN;
  /* Layer parameters: A < 0 (decaying state), skip D, the dt bias. */
  float *A = filled(D * N, -1.5f, -0.1f);
  float *Dk = filled(D, -1.0f, 1.0f);
  float *dt_bias = filled(D, -0.5f, 0.5f);
  /* One prompt of L tokens, channel-major [1, D, L] and [1, 1, N, L]. */
  float *u = filled(D * L, -1.0f, 1.0f);
  float *delta = filled(D * L, -2.0f, 0.5f);
  float *z = filled(D * L, -1.0f, 1.0f);
  float *B = filled(N * L, -1.0f, 1.0f);
  float *C = filled(N * L, -1.0f, 1.0f);

  int64_t s_u[] = {BATCH, CHANNELS, LEN}, s_a[] = {CHANNELS, STATE},
          s_bc[] = {BATCH, 1, STATE, LEN}, s_d[] = {CHANNELS};
  ssmc_memref_3d_f32 a_u = view3(u, s_u), a_delta = view3(delta, s_u),
                     a_z = view3(z, s_u);
  ssmc_memref_2d_f32 a_A = view2(A, s_a);
  ssmc_memref_4d_f32 a_B = view4(B, s_bc), a_C = view4(C, s_bc);
  ssmc_memref_1d_f32 a_D = view1(Dk, s_d), a_bias = view1(dt_bias, s_d);
  scan_results prefill;
  _mlir_ciface_scan(&prefill, &a_u, &a_delta, &a_A, &a_B, &a_C, &a_D, &a_z,
                    &a_bias);
  const float *y_prefill = prefill.y.aligned + prefill.y.offset; /* [1, D, L] */
  const float *h_prefill = prefill.state.aligned + prefill.state.offset; /* [1, D, N] */

  /* Decode the same tokens one at a time from a zero state, in place. The
   * step takes token-major vectors: gather token t's column of each input. */
  float *state = calloc(D * N, sizeof(float));
  float *x_t = malloc(D * sizeof(float)), *dt_t = malloc(D * sizeof(float)),
        *z_t = malloc(D * sizeof(float)), *y_t = malloc(D * sizeof(float));
  float *b_t = malloc(N * sizeof(float)), *c_t = malloc(N * sizeof(float));
  if (!state || !x_t || !dt_t || !z_t || !y_t || !b_t || !c_t) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  int64_t s_tok[] = {BATCH, CHANNELS}, s_bct[] = {BATCH, 1, STATE},
          s_state[] = {BATCH, CHANNELS, STATE};
  ssmc_memref_2d_f32 d_x = view2(x_t, s_tok), d_dt = view2(dt_t, s_tok),
                     d_z = view2(z_t, s_tok), d_y = view2(y_t, s_tok);
  ssmc_memref_3d_f32 d_b = view3(b_t, s_bct), d_c = view3(c_t, s_bct),
                     d_state = view3(state, s_state);
  double max_dy = 0.0, max_y = 0.0, max_dh = 0.0;
  for (size_t t = 0; t < L; ++t) {
    for (size_t d = 0; d < D; ++d) {
      x_t[d] = u[d * L + t];
      dt_t[d] = delta[d * L + t];
      z_t[d] = z[d * L + t];
    }
    for (size_t n = 0; n < N; ++n) {
      b_t[n] = B[n * L + t];
      c_t[n] = C[n * L + t];
    }
    _mlir_ciface_step(&d_x, &d_dt, &a_A, &d_b, &d_c, &a_D, &d_z, &a_bias,
                      &d_state, &d_y);
    for (size_t d = 0; d < D; ++d) {
      double expected = y_prefill[d * L + t];
      if (fabs(y_t[d] - expected) > max_dy) max_dy = fabs(y_t[d] - expected);
      if (fabs(expected) > max_y) max_y = fabs(expected);
    }
  }
  for (size_t i = 0; i < D * N; ++i)
    if (fabs(state[i] - h_prefill[i]) > max_dh) max_dh = fabs(state[i] - h_prefill[i]);

  printf("threads: %d (set with SSM_NUM_THREADS or ssm_set_num_threads)\n",
         (int)ssm_get_num_threads());
  printf("mamba-1 selective scan: %d tokens, %d channels, d_state %d\n", LEN,
         CHANNELS, STATE);
  printf("  y[0, 0:4, 0] = %.6f %.6f %.6f %.6f   (max |y| %.3f)\n", y_prefill[0],
         y_prefill[L], y_prefill[2 * L], y_prefill[3 * L], max_y);
  printf("decode, token by token from a zero state (in place):\n");
  printf("  max |y_decode - y_prefill|         = %.3g\n", max_dy);
  printf("  max |state_decode - state_prefill| = %.3g\n", max_dh);

  free(prefill.y.allocated);
  free(prefill.state.allocated);
  free(state); free(x_t); free(dt_t); free(z_t); free(y_t); free(b_t); free(c_t);
  free(A); free(Dk); free(dt_bias); free(u); free(delta); free(z); free(B); free(C);
  if (max_dy > 1e-4 || max_dh > 1e-4) {
    printf("MISMATCH\n");
    return 1;
  }
  printf("prefill and decode agree\n");
  return 0;
}
