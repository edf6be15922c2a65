//===- RandomTensor.h - Seeded random reference tensors ---------*- C++ -*-===//
//
// Part of ssmc. Test inputs: reproducible (fixed-seed) uniform tensors for the
// unit and integration tests that compare against the reference evaluator.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_SUPPORT_RANDOMTENSOR_H
#define SSM_TEST_SUPPORT_RANDOMTENSOR_H

#include "ssm/Reference/Reference.h"

#include <random>

namespace ssm::test {

/// A tensor of `shape` with elements uniform in [lo, hi).
inline ref::Tensor randomTensor(std::vector<int64_t> shape, std::mt19937_64 &rng,
                                double lo = -1.0, double hi = 1.0) {
  ref::Tensor t(std::move(shape));
  std::uniform_real_distribution<double> dist(lo, hi);
  for (double &v : t.data)
    v = dist(rng);
  return t;
}

/// The core operands of an ssd of shape (B, L, H, P, G, N), as every test
/// draws them: x, B, C in [-1, 1), dt in [-2, 0.5) (a softplus range from
/// small to ~1), A in [-1.5, -0.1) (decaying), D per head or per channel.
/// Optional operands are left for the caller.
inline ref::SSDArgs randomSSDOperands(int64_t B, int64_t L, int64_t H, int64_t P,
                                      int64_t G, int64_t N, bool perChannelD,
                                      std::mt19937_64 &rng) {
  ref::SSDArgs a;
  a.x = randomTensor({B, L, H, P}, rng);
  a.dt = randomTensor({B, L, H}, rng, -2.0, 0.5);
  a.A = randomTensor({H}, rng, -1.5, -0.1);
  a.B = randomTensor({B, L, G, N}, rng);
  a.C = randomTensor({B, L, G, N}, rng);
  a.D = perChannelD ? randomTensor({H, P}, rng) : randomTensor({H}, rng);
  return a;
}

} // namespace ssm::test

#endif // SSM_TEST_SUPPORT_RANDOMTENSOR_H
