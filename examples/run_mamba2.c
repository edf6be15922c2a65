/* Calls the Mamba-2 block of examples/mamba2_block.mlir, compiled by ssmc
 * into libmamba2_block.so and mamba2_block.h (scripts/example.sh does both):
 *
 *   1. prefill: the convolution and the SSD over a whole prompt, returning
 *      the outputs and both caches;
 *   2. decode: the same prompt again, one token at a time, updating an SSM
 *      state buffer in place.
 *
 * The two paths compute the same recurrence, so the token-by-token outputs
 * and the final state must match the prefill's; the program prints the
 * largest differences and fails if they exceed 1e-4 (both paths evaluate the
 * same f32 recurrence; they differ at most by rounding, and today's loop
 * lowerings even agree bit for bit). Inputs are pseudo-random, generated
 * here. */

#include "mamba2_block.h"
#include "example_util.h"
#include "ssm/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 1, LEN = 16, HEADS = 24, HEAD_DIM = 64, STATE = 128,
       CONV_CH = 1792, WIDTH = 4 };

DEFINE_VIEW(1)
DEFINE_VIEW(2)
DEFINE_VIEW(3)
DEFINE_VIEW(4)

int main(void) {
  const size_t tok = (size_t)HEADS * HEAD_DIM, group = STATE;
  /* Model parameters. */
  float *conv_w = filled((size_t)CONV_CH * WIDTH, -0.5f, 0.5f);
  float *conv_b = filled(CONV_CH, -0.1f, 0.1f);
  float *A = filled(HEADS, -1.5f, -0.1f);
  float *D = filled(HEADS, -1.0f, 1.0f);
  float *dt_bias = filled(HEADS, -0.5f, 0.5f);
  /* One prompt of LEN tokens. */
  float *xBC = filled((size_t)CONV_CH * LEN, -1.0f, 1.0f);
  float *x = filled(LEN * tok, -1.0f, 1.0f);
  float *dt = filled((size_t)LEN * HEADS, -2.0f, 0.5f);
  float *B = filled(LEN * group, -1.0f, 1.0f);
  float *C = filled(LEN * group, -1.0f, 1.0f);
  float *z = filled(LEN * tok, -1.0f, 1.0f);

  int64_t s_xbc[] = {BATCH, CONV_CH, LEN}, s_w[] = {CONV_CH, WIDTH},
          s_cb[] = {CONV_CH}, s_x[] = {BATCH, LEN, HEADS, HEAD_DIM},
          s_dt[] = {BATCH, LEN, HEADS}, s_h[] = {HEADS},
          s_bc[] = {BATCH, LEN, 1, STATE};
  ssmc_memref_3d_f32 a0 = view3(xBC, s_xbc);
  ssmc_memref_2d_f32 a1 = view2(conv_w, s_w);
  ssmc_memref_1d_f32 a2 = view1(conv_b, s_cb);
  ssmc_memref_4d_f32 a3 = view4(x, s_x);
  ssmc_memref_3d_f32 a4 = view3(dt, s_dt);
  ssmc_memref_1d_f32 a5 = view1(A, s_h);
  ssmc_memref_4d_f32 a6 = view4(B, s_bc), a7 = view4(C, s_bc);
  ssmc_memref_1d_f32 a8 = view1(D, s_h), a9 = view1(dt_bias, s_h);
  ssmc_memref_4d_f32 a10 = view4(z, s_x);
  prefill_results prefill;
  _mlir_ciface_prefill(&prefill, &a0, &a1, &a2, &a3, &a4, &a5, &a6, &a7, &a8,
                       &a9, &a10);
  const float *y_prefill = prefill.y.aligned + prefill.y.offset;
  const float *h_prefill = prefill.ssm_state.aligned + prefill.ssm_state.offset;

  /* Decode the same tokens one at a time from a zero state, in place. */
  float *state = calloc(tok * STATE, sizeof(float));
  float *y_step = malloc(tok * sizeof(float));
  int64_t s_xt[] = {BATCH, HEADS, HEAD_DIM}, s_dtt[] = {BATCH, HEADS},
          s_bct[] = {BATCH, 1, STATE}, s_st[] = {BATCH, HEADS, HEAD_DIM, STATE};
  ssmc_memref_4d_f32 d_state = view4(state, s_st);
  ssmc_memref_3d_f32 d_y = view3(y_step, s_xt);
  double max_dy = 0.0, max_y = 0.0;
  for (int t = 0; t < LEN; ++t) {
    ssmc_memref_3d_f32 xt = view3(x + t * tok, s_xt), zt = view3(z + t * tok, s_xt);
    ssmc_memref_2d_f32 dtt = view2(dt + t * HEADS, s_dtt);
    ssmc_memref_3d_f32 bt = view3(B + t * group, s_bct), ct = view3(C + t * group, s_bct);
    _mlir_ciface_decode(&xt, &dtt, &a5, &bt, &ct, &a8, &a9, &zt, &d_state, &d_y);
    for (size_t i = 0; i < tok; ++i) {
      double diff = fabs(y_step[i] - y_prefill[t * tok + i]);
      if (diff > max_dy) max_dy = diff;
      if (fabs(y_prefill[t * tok + i]) > max_y) max_y = fabs(y_prefill[t * tok + i]);
    }
  }
  double max_dh = 0.0;
  for (size_t i = 0; i < tok * STATE; ++i) {
    double diff = fabs(state[i] - h_prefill[i]);
    if (diff > max_dh) max_dh = diff;
  }

  /* The kernels spread their work over libssm_runtime's thread pool. */
  printf("threads: %d (set with SSM_NUM_THREADS or ssm_set_num_threads)\n",
         (int)ssm_get_num_threads());
  printf("prefill: %d tokens, %d heads x %d channels, d_state %d\n", LEN, HEADS,
         HEAD_DIM, STATE);
  printf("  y[0, 0, 0, 0:4] = %.6f %.6f %.6f %.6f   (max |y| %.3f)\n",
         y_prefill[0], y_prefill[1], y_prefill[2], y_prefill[3], max_y);
  printf("  conv state[0, 0, :] = %.6f %.6f %.6f\n",
         prefill.conv_state.aligned[prefill.conv_state.offset + 0],
         prefill.conv_state.aligned[prefill.conv_state.offset + 1],
         prefill.conv_state.aligned[prefill.conv_state.offset + 2]);
  printf("decode, token by token from a zero state (in place):\n");
  printf("  max |y_decode - y_prefill|         = %.3g\n", max_dy);
  printf("  max |state_decode - state_prefill| = %.3g\n", max_dh);

  free(prefill.conv.allocated);
  free(prefill.conv_state.allocated);
  free(prefill.y.allocated);
  free(prefill.ssm_state.allocated);
  free(state); free(y_step); free(conv_w); free(conv_b); free(A); free(D);
  free(dt_bias); free(xBC); free(x); free(dt); free(B); free(C); free(z);
  if (max_dy > 1e-4 || max_dh > 1e-4) {
    printf("MISMATCH\n");
    return 1;
  }
  printf("prefill and decode agree\n");
  return 0;
}
