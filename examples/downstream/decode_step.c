/* One Mamba-1 decoding step through a library that ssmc compiled at build
 * time (examples/downstream/CMakeLists.txt: find_package(ssmc) and
 * ssmc_add_library on examples/mamba1_scan.mlir). The step updates a batch
 * of states in place and returns the layer's outputs; this program computes
 * the same step in double precision straight from its definition
 * (docs/semantics.md, ssm.state_update and ssm.selective_scan):
 *
 *   delta = softplus(dt + dt_bias[d])
 *   h[d,n] = exp(delta * A[d,n]) * h[d,n] + delta * B[n] * x[d]
 *   y[d]   = (sum_n C[n] * h[d,n] + D[d] * x[d]) * silu(z[d])
 *
 * and fails unless every state and output agrees within
 * 1e-4 * (1 + |reference|). The kernel works in f32 (unit roundoff 6e-8),
 * sums 16 products per output and takes exp through glibc's vector math
 * (a few ulp), so honest errors stay near 1e-6; a wrong term is off by
 * O(1). */

#include "mamba1_scan.h"
#include "example_util.h"
#include "ssm/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 2, CHANNELS = 1536, STATE = 16 };

DEFINE_VIEW(1)
DEFINE_VIEW(2)
DEFINE_VIEW(3)

static double softplus(double v) { return log1p(exp(v)); }
static double silu(double v) { return v / (1.0 + exp(-v)); }

int main(void) {
  const size_t Bn = BATCH, D = CHANNELS, N = STATE;
  if (ssm_set_num_threads(2) != SSM_OK) {
    fprintf(stderr, "ssm_set_num_threads: %s\n", ssm_last_error());
    return 1;
  }
  float *x = filled(Bn * D, -1.0f, 1.0f), *dt = filled(Bn * D, -2.0f, 0.5f);
  float *z = filled(Bn * D, -1.0f, 1.0f);
  float *A = filled(D * N, -1.5f, -0.1f), *Dk = filled(D, -1.0f, 1.0f);
  float *dt_bias = filled(D, -0.5f, 0.5f);
  float *B = filled(Bn * N, -1.0f, 1.0f), *C = filled(Bn * N, -1.0f, 1.0f);
  float *state = filled(Bn * D * N, -1.0f, 1.0f);
  float *y = calloc(Bn * D, sizeof(float));
  double *ref_state = malloc(Bn * D * N * sizeof(double));
  double *ref_y = malloc(Bn * D * sizeof(double));
  if (!y || !ref_state || !ref_y) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }

  /* The reference, from the state before the kernel overwrites it. */
  for (size_t b = 0; b < Bn; ++b)
    for (size_t d = 0; d < D; ++d) {
      size_t bd = b * D + d;
      double delta = softplus((double)dt[bd] + dt_bias[d]);
      double out = (double)Dk[d] * x[bd];
      for (size_t n = 0; n < N; ++n) {
        size_t i = bd * N + n;
        ref_state[i] = exp(delta * A[d * N + n]) * state[i] +
                       delta * B[b * N + n] * x[bd];
        out += (double)C[b * N + n] * ref_state[i];
      }
      ref_y[bd] = out * silu(z[bd]);
    }

  int64_t s_bd[] = {BATCH, CHANNELS}, s_dn[] = {CHANNELS, STATE},
          s_bgn[] = {BATCH, 1, STATE}, s_d[] = {CHANNELS},
          s_bdn[] = {BATCH, CHANNELS, STATE};
  ssmc_memref_2d_f32 a_x = view2(x, s_bd), a_dt = view2(dt, s_bd),
                     a_z = view2(z, s_bd), a_A = view2(A, s_dn),
                     a_y = view2(y, s_bd);
  ssmc_memref_3d_f32 a_B = view3(B, s_bgn), a_C = view3(C, s_bgn),
                     a_state = view3(state, s_bdn);
  ssmc_memref_1d_f32 a_D = view1(Dk, s_d), a_bias = view1(dt_bias, s_d);
  _mlir_ciface_step(&a_x, &a_dt, &a_A, &a_B, &a_C, &a_D, &a_z, &a_bias,
                    &a_state, &a_y);

  double worst_state = 0, worst_y = 0;
  for (size_t i = 0; i < Bn * D * N; ++i) {
    double err = fabs(state[i] - ref_state[i]) / (1.0 + fabs(ref_state[i]));
    worst_state = err > worst_state ? err : worst_state;
  }
  for (size_t i = 0; i < Bn * D; ++i) {
    double err = fabs(y[i] - ref_y[i]) / (1.0 + fabs(ref_y[i]));
    worst_y = err > worst_y ? err : worst_y;
  }
  printf("ssmc runtime %s, %d threads; one decode step, batch %d x %d "
         "channels x %d states\n",
         ssm_runtime_version(), (int)ssm_get_num_threads(), BATCH, CHANNELS,
         STATE);
  printf("  max |state - reference| / (1 + |reference|) = %.2e\n", worst_state);
  printf("  max |y - reference| / (1 + |reference|)     = %.2e\n", worst_y);
  const double tolerance = 1e-4;
  if (!(worst_state <= tolerance && worst_y <= tolerance)) {
    printf("MISMATCH: above the tolerance %.0e\n", tolerance);
    return 1;
  }
  printf("the library agrees with the reference (tolerance %.0e)\n", tolerance);
  free(x); free(dt); free(z); free(A); free(Dk); free(dt_bias); free(B);
  free(C); free(state); free(y); free(ref_state); free(ref_y);
  return 0;
}
