//===- RandomTensor.h - Seeded random reference tensors ---------*- C++ -*-===//
//
// Part of ssmc. Test inputs: reproducible (fixed-seed) uniform tensors for the
// unit and integration tests that compare against the reference evaluator.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_SUPPORT_RANDOMTENSOR_H
#define SSM_TEST_SUPPORT_RANDOMTENSOR_H

#include "Storage.h"
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

/// A random tensor already rounded to the storage type `s`, so the
/// reference sees exactly what the kernel reads.
inline ref::Tensor stored(std::vector<int64_t> shape, std::mt19937_64 &rng,
                          Storage s, double lo = -1.0, double hi = 1.0) {
  return roundTo(randomTensor(std::move(shape), rng, lo, hi), s);
}

/// The operands of a state_update as the kernel tests draw them, with every
/// option: Mamba-2 (`P` > 0 used as the head channels) or Mamba-1 (`H`
/// channels) states, dt in [-2, 0.5), A decaying, D per head or per
/// channel, z, dt bias, softplus and dt_limit [0.01, 0.5]. Callers drop
/// what a case leaves out.
inline ref::StateUpdateArgs
randomStateUpdateOperands(bool mamba2, bool perChannelD, int64_t B, int64_t H,
                          int64_t P, int64_t N, int64_t G, std::mt19937_64 &rng,
                          Storage s) {
  ref::StateUpdateArgs a;
  std::vector<int64_t> xShape =
      mamba2 ? std::vector<int64_t>{B, H, P} : std::vector<int64_t>{B, H};
  std::vector<int64_t> stateShape = xShape;
  stateShape.push_back(N);
  a.state = stored(stateShape, rng, s);
  a.x = stored(xShape, rng, s);
  a.dt = stored({B, H}, rng, s, -2.0, 0.5);
  a.A = mamba2 ? stored({H}, rng, s, -1.5, -0.1) : stored({H, N}, rng, s, -1.5, -0.1);
  a.B = stored({B, G, N}, rng, s);
  a.C = stored({B, G, N}, rng, s);
  a.D = perChannelD ? stored({H, P}, rng, s) : stored({H}, rng, s);
  a.z = stored(xShape, rng, s);
  a.dtBias = stored({H}, rng, s, -0.5, 0.5);
  a.dtSoftplus = true;
  a.dtLimit = std::make_pair(0.01, 0.5);
  return a;
}

/// The operands of a causal_conv1d of shape (B, C, L) and width W as the
/// kernel tests draw them; `bias` and `state` add those operands.
inline ref::CausalConv1dArgs randomConvOperands(int64_t B, int64_t C, int64_t L,
                                                int64_t W, bool bias, bool state,
                                                bool silu, std::mt19937_64 &rng,
                                                Storage s) {
  ref::CausalConv1dArgs a;
  a.x = stored({B, C, L}, rng, s);
  a.weight = stored({C, W}, rng, s);
  if (bias)
    a.bias = stored({C}, rng, s);
  if (state)
    a.initState = stored({B, C, W - 1}, rng, s);
  a.silu = silu;
  return a;
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
