/* Helpers shared by the example programs: pseudo-random inputs and buffer
 * descriptors. Include after the ssmc-generated header, whose descriptor
 * types DEFINE_VIEW(rank) names. */

#ifndef SSMC_EXAMPLE_UTIL_H
#define SSMC_EXAMPLE_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long long seed = 42;
/* Uniform in [lo, hi): a small LCG keeps the example dependency-free. */
static float uniform(float lo, float hi) {
  seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * (float)((seed >> 40) / 16777216.0);
}

static float *filled(size_t n, float lo, float hi) {
  float *p = malloc(n * sizeof(float));
  if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
  for (size_t i = 0; i < n; ++i) p[i] = uniform(lo, hi);
  return p;
}

/* Descriptors of dense row-major buffers, as the header asks. */
#define DEFINE_VIEW(RANK)                                                     \
  static ssmc_memref_##RANK##d_f32 view##RANK(float *data, const int64_t *shape) { \
    ssmc_memref_##RANK##d_f32 d;                                              \
    d.allocated = d.aligned = data;                                           \
    d.offset = 0;                                                             \
    int64_t stride = 1;                                                       \
    for (int i = RANK - 1; i >= 0; --i) {                                     \
      d.sizes[i] = shape[i];                                                  \
      d.strides[i] = stride;                                                  \
      stride *= shape[i];                                                     \
    }                                                                         \
    return d;                                                                 \
  }

#endif /* SSMC_EXAMPLE_UTIL_H */
