//===- AOTTest.cpp - ssmc-compiled kernels called through the C header ----===//
//
// Part of ssmc. aot_kernels.mlir is compiled by ssmc at build time into an
// object and a C header; this test includes the header, links the object
// (nothing of LLVM or MLIR), calls the entry points the way an application
// does, and compares with the reference evaluator. Tolerance as in
// LoopLoweringTest.cpp (f32 kernels against the f64 reference: 2e-5 of the
// largest magnitude).
//
//===----------------------------------------------------------------------===//

#include "aot_kernels.h"

#include "ssm/Reference/Reference.h"
#include "../../Support/Compare.h"
#include "../../Support/RandomTensor.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

namespace ref = ::ssm::ref;
using ::ssm::test::gap;
using ::ssm::test::randomTensor;

namespace {

constexpr double kTolerance = 2e-5;

/// f32 storage for a reference tensor, kept alive with its descriptor.
struct Storage {
  std::vector<float> data;
  std::vector<int64_t> shape;
  explicit Storage(const ref::Tensor &t)
      : data(t.data.begin(), t.data.end()), shape(t.shape) {}
  explicit Storage(std::vector<int64_t> s) : shape(std::move(s)) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    data.assign(n, 0.0f);
  }
  /// A row-major descriptor over `data` (Desc is any ssmc_memref_<k>d_f32).
  template <typename Desc> Desc view() {
    Desc d;
    d.allocated = d.aligned = data.data();
    d.offset = 0;
    constexpr size_t rank = sizeof(d.sizes) / sizeof(d.sizes[0]);
    EXPECT_EQ(rank, shape.size());
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      d.sizes[i] = shape[i];
      d.strides[i] = stride;
      stride *= shape[i];
    }
    return d;
  }
};

/// max |kernel - reference| / max(1, max |reference|) over a descriptor the
/// kernel returned (contiguous, as the kernels allocate them).
template <typename Desc>
double relativeError(const Desc &kernel, const ref::Tensor &expected) {
  constexpr size_t rank = sizeof(kernel.sizes) / sizeof(kernel.sizes[0]);
  for (size_t i = 0; i < rank; ++i)
    EXPECT_EQ(kernel.sizes[i], expected.shape[i]);
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    diff = gap(diff, kernel.aligned[kernel.offset + i], expected.data[i]);
    scale = std::max(scale, std::abs(expected.data[i]));
  }
  return diff / scale;
}

double relativeError(const Storage &kernel, const ref::Tensor &expected) {
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    diff = gap(diff, kernel.data[i], expected.data[i]);
    scale = std::max(scale, std::abs(expected.data[i]));
  }
  return diff / scale;
}

} // namespace

TEST(AOT, SelectiveScan) {
  std::mt19937_64 rng(1);
  ref::SelectiveScanArgs a;
  a.u = randomTensor({2, 6, 33}, rng);
  a.delta = randomTensor({2, 6, 33}, rng, -2.0, 0.5);
  a.A = randomTensor({6, 4}, rng, -1.5, -0.1);
  a.B = randomTensor({2, 2, 4, 33}, rng);
  a.C = randomTensor({2, 2, 4, 33}, rng);
  a.D = randomTensor({6}, rng);
  a.z = randomTensor({2, 6, 33}, rng);
  a.deltaBias = randomTensor({6}, rng);
  a.init = randomTensor({2, 6, 4}, rng);
  a.deltaSoftplus = true;
  ref::SelectiveScanResult expected = ref::selectiveScan(a);

  Storage u(a.u), delta(a.delta), A(a.A), B(a.B), C(a.C), D(*a.D), z(*a.z),
      db(*a.deltaBias), h0(*a.init);
  auto du = u.view<ssmc_memref_3d_f32>(), ddelta = delta.view<ssmc_memref_3d_f32>();
  auto dA = A.view<ssmc_memref_2d_f32>();
  auto dB = B.view<ssmc_memref_4d_f32>(), dC = C.view<ssmc_memref_4d_f32>();
  auto dD = D.view<ssmc_memref_1d_f32>(), ddb = db.view<ssmc_memref_1d_f32>();
  auto dz = z.view<ssmc_memref_3d_f32>(), dh0 = h0.view<ssmc_memref_3d_f32>();
  selective_results r;
  _mlir_ciface_selective(&r, &du, &ddelta, &dA, &dB, &dC, &dD, &dz, &ddb, &dh0);
  EXPECT_LT(relativeError(r.y, expected.y), kTolerance);
  EXPECT_LT(relativeError(r.h, expected.finalState), kTolerance);
  // Inputs are read only: the initial state is untouched.
  EXPECT_LT(relativeError(h0, *a.init), 1e-7);
  std::free(r.y.allocated);
  std::free(r.h.allocated);
}

TEST(AOT, SSDDynamicShapes) {
  for (int64_t L : {1, 17}) {
    std::mt19937_64 rng(L);
    ref::SSDArgs a;
    a.x = randomTensor({3, L, 4, 3}, rng);
    a.dt = randomTensor({3, L, 4}, rng, -2.0, 0.5);
    a.A = randomTensor({4}, rng, -1.5, -0.1);
    a.B = randomTensor({3, L, 2, 5}, rng);
    a.C = randomTensor({3, L, 2, 5}, rng);
    a.D = randomTensor({4}, rng);
    a.dtBias = randomTensor({4}, rng);
    a.init = randomTensor({3, 4, 3, 5}, rng);
    a.dtSoftplus = true;
    ref::SSDResult expected = ref::ssd(a);

    Storage x(a.x), dt(a.dt), A(a.A), B(a.B), C(a.C), D(*a.D), db(*a.dtBias),
        h0(*a.init);
    auto dx = x.view<ssmc_memref_4d_f32>();
    auto ddt = dt.view<ssmc_memref_3d_f32>();
    auto dA = A.view<ssmc_memref_1d_f32>(), dD = D.view<ssmc_memref_1d_f32>(),
         ddb = db.view<ssmc_memref_1d_f32>();
    auto dB = B.view<ssmc_memref_4d_f32>(), dC = C.view<ssmc_memref_4d_f32>(),
         dh0 = h0.view<ssmc_memref_4d_f32>();
    ssd_results r;
    _mlir_ciface_ssd(&r, &dx, &ddt, &dA, &dB, &dC, &dD, &ddb, &dh0);
    EXPECT_LT(relativeError(r.y, expected.y), kTolerance) << "L = " << L;
    EXPECT_LT(relativeError(r.h, expected.finalState), kTolerance) << "L = " << L;
    std::free(r.y.allocated);
    std::free(r.h.allocated);
  }
}

TEST(AOT, DecodeUpdatesStateInPlace) {
  std::mt19937_64 rng(3);
  ref::StateUpdateArgs a;
  a.state = randomTensor({2, 4, 3, 5}, rng);
  a.x = randomTensor({2, 4, 3}, rng);
  a.dt = randomTensor({2, 4}, rng, -2.0, 0.5);
  a.A = randomTensor({4}, rng, -1.5, -0.1);
  a.B = randomTensor({2, 2, 5}, rng);
  a.C = randomTensor({2, 2, 5}, rng);
  a.D = randomTensor({4}, rng);
  a.dtBias = randomTensor({4}, rng);
  a.dtSoftplus = true;

  Storage x(a.x), dt(a.dt), A(a.A), B(a.B), C(a.C), D(*a.D), db(*a.dtBias),
      state(a.state), y(std::vector<int64_t>{2, 4, 3});
  auto dx = x.view<ssmc_memref_3d_f32>(), dB = B.view<ssmc_memref_3d_f32>(),
       dC = C.view<ssmc_memref_3d_f32>(), dy = y.view<ssmc_memref_3d_f32>();
  auto ddt = dt.view<ssmc_memref_2d_f32>();
  auto dA = A.view<ssmc_memref_1d_f32>(), dD = D.view<ssmc_memref_1d_f32>(),
       ddb = db.view<ssmc_memref_1d_f32>();
  auto dstate = state.view<ssmc_memref_4d_f32>();
  // Three steps, each advancing the caller's state buffer.
  for (int step = 0; step < 3; ++step) {
    ref::StateUpdateResult expected = ref::stateUpdate(a);
    _mlir_ciface_decode(&dx, &ddt, &dA, &dB, &dC, &dD, &ddb, &dstate, &dy);
    EXPECT_LT(relativeError(state, expected.newState), kTolerance) << step;
    EXPECT_LT(relativeError(y, expected.y), kTolerance) << step;
    a.state = expected.newState;
  }
}
