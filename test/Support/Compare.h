//===- Compare.h - Distances between results that see NaNs ------*- C++ -*-===//
//
// Part of ssmc. The tests' comparisons of a result with its reference keep
// the largest |got − want|; std::max and fmax skip a NaN operand, so a
// kernel that wrote NaN (an unwritten scratch buffer, a 0/0) would compare
// as exact. Every such loop goes through gap().
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_SUPPORT_COMPARE_H
#define SSM_TEST_SUPPORT_COMPARE_H

#include <algorithm>
#include <cmath>
#include <limits>

namespace ssm::test {

/// The larger of `worst` and |got − want|: infinite when exactly one of the
/// two is NaN or they are different infinities; equal NaNs or infinities
/// add nothing.
inline double gap(double worst, double got, double want) {
  if (std::isnan(got) || std::isnan(want))
    return std::isnan(got) && std::isnan(want)
               ? worst
               : std::numeric_limits<double>::infinity();
  if (got == want)
    return worst;
  return std::max(worst, std::fabs(got - want));
}

} // namespace ssm::test

#endif // SSM_TEST_SUPPORT_COMPARE_H
