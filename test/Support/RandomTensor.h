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

} // namespace ssm::test

#endif // SSM_TEST_SUPPORT_RANDOMTENSOR_H
