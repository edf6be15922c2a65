//===- ReferenceTest.cpp - Tests of the reference evaluator ---------------===//
//
// Part of ssmc. The reference evaluator is the ground truth of every numeric
// test, so it is itself checked three ways: against numbers worked out by
// hand, against the first-order agreement of the discretization rules, and
// against itself through independent formulations (the recurrent and the
// chunked SSD; each model op against the core scan; one long call against
// several short ones carrying state).
//
// Tolerances: hand-computed cases carry 15-16 significant digits, checked to
// 1e-12 (a few double roundings). Equivalences between formulations of the
// same map on O(1) data differ only by reassociation of a few hundred double
// operations and are checked to 1e-11 relative to the largest magnitude.
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/Reference.h"
#include "../Support/Compare.h"
#include "../Support/RandomTensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

using namespace ssm::ref;
using ::testing::HasSubstr;
using ssm::test::gap;
using ssm::test::randomSSDOperands;
using ssm::test::randomTensor;

namespace {

constexpr double kExact = 1e-12;
constexpr double kEquivalent = 1e-11;

/// max |a - b| / max(1, max |a|): the relative disagreement of two results.
double relativeError(const Tensor &a, const Tensor &b) {
  EXPECT_EQ(a.shape, b.shape);
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < a.data.size() && i < b.data.size(); ++i) {
    diff = gap(diff, b.data[i], a.data[i]);
    scale = std::max(scale, std::abs(a.data[i]));
  }
  return diff / scale;
}

/// The message of the std::invalid_argument that `f` throws ("" if none).
template <typename F> std::string errorOf(F f) {
  try {
    f();
  } catch (const std::invalid_argument &e) {
    return e.what();
  }
  return "";
}

} // namespace

//===----------------------------------------------------------------------===//
// Hand-computed cases
//===----------------------------------------------------------------------===//

TEST(Discretize, HandComputed) {
  // a = -1, b = 2, delta = 0.5, so delta * a = -0.5.
  Discrete zoh = discretize(Discretization::ZOH, -1.0, 2.0, 0.5);
  EXPECT_NEAR(zoh.abar, 0.6065306597126334, kExact);
  EXPECT_NEAR(zoh.bbar, 0.7869386805747332, kExact); // (1 - e^-0.5) / 0.5
  Discrete bil = discretize(Discretization::Bilinear, -1.0, 2.0, 0.5);
  EXPECT_NEAR(bil.abar, 0.6, kExact); // 0.75 / 1.25
  EXPECT_NEAR(bil.bbar, 0.8, kExact); // 1 / 1.25
  Discrete eul = discretize(Discretization::Euler, -1.0, 2.0, 0.5);
  EXPECT_NEAR(eul.abar, 0.5, kExact);
  EXPECT_NEAR(eul.bbar, 1.0, kExact);
  Discrete mam = discretize(Discretization::Mamba, -1.0, 2.0, 0.5);
  EXPECT_NEAR(mam.abar, 0.6065306597126334, kExact);
  EXPECT_NEAR(mam.bbar, 1.0, kExact);
  // ZOH at A = 0 takes the limit: Bbar = delta * b.
  Discrete flat = discretize(Discretization::ZOH, 0.0, 2.0, 0.5);
  EXPECT_EQ(flat.abar, 1.0);
  EXPECT_EQ(flat.bbar, 1.0);
}

TEST(Discretize, AgreeToFirstOrder) {
  // All four rules are 1 + ΔA + O(Δ²) and ΔB + O(Δ²): pairwise differences
  // are bounded by C·Δ² (here C = 1 > a²/2 = 0.845 and |a·b|/2 = 0.455).
  const double a = -1.3, b = 0.7;
  const Discretization all[] = {Discretization::ZOH, Discretization::Bilinear,
                                Discretization::Euler, Discretization::Mamba};
  double previous = 0.0;
  for (double delta : {1e-2, 1e-3, 1e-4}) {
    for (Discretization m1 : all)
      for (Discretization m2 : all) {
        Discrete d1 = discretize(m1, a, b, delta), d2 = discretize(m2, a, b, delta);
        EXPECT_LE(std::abs(d1.abar - d2.abar), delta * delta);
        EXPECT_LE(std::abs(d1.bbar - d2.bbar), delta * delta);
      }
    // And the difference really is second order: it shrinks ~100x per decade.
    double diff = std::abs(discretize(Discretization::ZOH, a, b, delta).abar -
                           discretize(Discretization::Euler, a, b, delta).abar);
    if (previous != 0.0) {
      EXPECT_GT(diff / previous, 0.005);
      EXPECT_LT(diff / previous, 0.02);
    }
    previous = diff;
  }
}

TEST(Scalars, SoftplusAndSilu) {
  EXPECT_NEAR(softplus(0.0), std::log(2.0), kExact);
  EXPECT_NEAR(softplus(1000.0), 1000.0, kExact); // no overflow
  EXPECT_NEAR(softplus(-50.0), std::exp(-50.0), 1e-30);
  EXPECT_NEAR(silu(2.0), 2.0 / (1.0 + std::exp(-2.0)), kExact);
  EXPECT_EQ(silu(0.0), 0.0);
}

namespace {
/// x = [1, 2, 3]; Abar = 0.5, Bbar = 2, C = 3, D = 1, all time-invariant.
ScanArgs tinyScan() {
  ScanArgs a;
  a.x = Tensor({1, 3, 1});
  a.x.data = {1, 2, 3};
  a.abar = Tensor({1, 1}, 0.5);
  a.bbar = Tensor({1, 1}, 2.0);
  a.c = Tensor({1, 1}, 3.0);
  a.d = Tensor({1}, 1.0);
  return a;
}
} // namespace

TEST(Scan, HandComputedForward) {
  // h = 2, 5, 8.5; y = 3h + x = 7, 17, 28.5.
  ScanResult r = scan(tinyScan());
  EXPECT_EQ(r.y.data, (std::vector<double>{7, 17, 28.5}));
  EXPECT_EQ(r.finalState.data, (std::vector<double>{8.5}));
}

TEST(Scan, HandComputedReverse) {
  // t = 2, 1, 0: h = 6, 7, 5.5; y = 21, 23, 17.5.
  ScanArgs a = tinyScan();
  a.reverse = true;
  ScanResult r = scan(a);
  EXPECT_EQ(r.y.data, (std::vector<double>{17.5, 23, 21}));
  EXPECT_EQ(r.finalState.data, (std::vector<double>{5.5}));
}

TEST(Scan, HandComputedReset) {
  ScanArgs a = tinyScan();
  a.reset = Tensor({1, 3});
  a.reset->data = {1, 0, 1}; // a reset at t = 0 is a no-op
  // Forward: h = 2, 5, then from zero: 6; y = 7, 17, 21.
  ScanResult r = scan(a);
  EXPECT_EQ(r.y.data, (std::vector<double>{7, 17, 21}));
  EXPECT_EQ(r.finalState.data, (std::vector<double>{6}));
  // Reverse: t = 2: h = 6; the cut before t = 2 clears it; t = 1: h = 4;
  // t = 0: h = 4. y = 21, 14, 13.
  a.reverse = true;
  r = scan(a);
  EXPECT_EQ(r.y.data, (std::vector<double>{13, 14, 21}));
  EXPECT_EQ(r.finalState.data, (std::vector<double>{4}));
}

TEST(Scan, InitialState) {
  ScanArgs a = tinyScan();
  a.init = Tensor({1, 1, 1}, 4.0);
  // h = 0.5 * 4 + 2 = 4, y = 13; then 6, 19; then 9, 30.
  ScanResult r = scan(a);
  EXPECT_EQ(r.y.data, (std::vector<double>{13, 20, 30}));
  EXPECT_EQ(r.finalState.data, (std::vector<double>{9}));
}

TEST(CausalConv1d, HandComputed) {
  CausalConv1dArgs a;
  a.x = Tensor({1, 1, 4});
  a.x.data = {1, 2, 3, 4};
  a.weight = Tensor({1, 3});
  a.weight.data = {1, 10, 100};
  a.bias = Tensor({1}, 0.5);
  CausalConv1dResult r = causalConv1d(a);
  EXPECT_EQ(r.out.data, (std::vector<double>{100.5, 210.5, 321.5, 432.5}));
  EXPECT_EQ(r.finalState.data, (std::vector<double>{3, 4}));

  a.initState = Tensor({1, 1, 2});
  a.initState->data = {7, 8};
  r = causalConv1d(a);
  EXPECT_EQ(r.out.data[0], 7 + 80 + 100 + 0.5);
  EXPECT_EQ(r.out.data[1], 8 + 10 + 200 + 0.5);

  // Shorter than the window: the state shifts by L.
  a.x = Tensor({1, 1, 1}, 1.0);
  r = causalConv1d(a);
  EXPECT_EQ(r.finalState.data, (std::vector<double>{8, 1}));

  a.silu = true;
  a.initState.reset();
  r = causalConv1d(a);
  EXPECT_NEAR(r.out.data[0], silu(100.5), kExact);
}

TEST(CausalConv1d, WidthOne) {
  CausalConv1dArgs a;
  a.x = Tensor({1, 2, 3});
  a.x.data = {1, 2, 3, 4, 5, 6};
  a.weight = Tensor({2, 1});
  a.weight.data = {2, -1};
  CausalConv1dResult r = causalConv1d(a);
  EXPECT_EQ(r.out.data, (std::vector<double>{2, 4, 6, -4, -5, -6}));
  EXPECT_EQ(r.finalState.shape, (std::vector<int64_t>{1, 2, 0}));
}

TEST(StateUpdate, HandComputedMamba2) {
  StateUpdateArgs a;
  a.state = Tensor({1, 1, 1, 1}, 2.0);
  a.x = Tensor({1, 1, 1}, 3.0);
  a.dt = Tensor({1, 1}, 0.5);
  a.A = Tensor({1}, -2.0);
  a.B = Tensor({1, 1, 1}, 4.0);
  a.C = Tensor({1, 1, 1}, 5.0);
  a.D = Tensor({1}, 1.0);
  // new = e^-1 * 2 + 0.5 * 4 * 3; y = 5 * new + 3.
  StateUpdateResult r = stateUpdate(a);
  EXPECT_NEAR(r.newState.data[0], 6.735758882342885, kExact);
  EXPECT_NEAR(r.y.data[0], 36.678794411714424, kExact);
}

//===----------------------------------------------------------------------===//
// Equivalent formulations
//===----------------------------------------------------------------------===//

namespace {

struct SSDConfig {
  int64_t B, L, H, P, G, N, chunk;
  bool perChannelD, gate, init, softplus, limit;
};

void PrintTo(const SSDConfig &c, std::ostream *os) {
  *os << "B=" << c.B << " L=" << c.L << " H=" << c.H << " P=" << c.P
      << " G=" << c.G << " N=" << c.N << " chunk=" << c.chunk;
}

SSDArgs randomSSD(const SSDConfig &c, std::mt19937_64 &rng) {
  SSDArgs a =
      randomSSDOperands(c.B, c.L, c.H, c.P, c.G, c.N, c.perChannelD, rng);
  a.dtBias = randomTensor({c.H}, rng, -0.5, 0.5);
  if (c.gate)
    a.z = randomTensor({c.B, c.L, c.H, c.P}, rng);
  if (c.init)
    a.init = randomTensor({c.B, c.H, c.P, c.N}, rng);
  a.dtSoftplus = c.softplus;
  if (!c.softplus)
    a.dt = randomTensor({c.B, c.L, c.H}, rng, 0.01, 0.3);
  if (c.limit)
    a.dtLimit = std::make_pair(0.05, 0.4);
  return a;
}

} // namespace

class SSDChunkedTest : public ::testing::TestWithParam<SSDConfig> {};

TEST_P(SSDChunkedTest, MatchesRecurrence) {
  std::mt19937_64 rng(42);
  SSDArgs a = randomSSD(GetParam(), rng);
  SSDResult rec = ssd(a), chk = ssdChunked(a, GetParam().chunk);
  EXPECT_LT(relativeError(rec.y, chk.y), kEquivalent);
  EXPECT_LT(relativeError(rec.finalState, chk.finalState), kEquivalent);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SSDChunkedTest,
    ::testing::Values(
        //        B  L  H  P  G  N chunk perD  gate  init  sp    limit
        SSDConfig{1, 16, 2, 3, 1, 4, 4, false, false, false, true, false},
        SSDConfig{2, 19, 4, 2, 2, 5, 8, true, true, true, true, true}, // L % chunk != 0
        SSDConfig{1, 7, 2, 2, 1, 3, 1, false, true, true, false, false}, // chunk 1
        SSDConfig{2, 9, 6, 2, 3, 2, 64, true, false, true, true, false}, // chunk >= L
        SSDConfig{1, 33, 4, 4, 4, 8, 16, false, true, false, true, true}));

TEST(SSD, VarlenCuSeqlensMatchesSeparateRuns) {
  std::mt19937_64 rng(7);
  SSDConfig c{1, 12, 4, 2, 2, 3, 4, true, true, false, true, true};
  SSDArgs packed = randomSSD(c, rng);
  packed.cuSeqlens = std::vector<int64_t>{0, 5, 5, 12}; // one empty sequence
  packed.init = randomTensor({3, 4, 2, 3}, rng);
  SSDResult whole = ssd(packed), chunked = ssdChunked(packed, 3);
  EXPECT_LT(relativeError(whole.y, chunked.y), kEquivalent);
  EXPECT_LT(relativeError(whole.finalState, chunked.finalState), kEquivalent);

  const std::vector<int64_t> &cu = *packed.cuSeqlens;
  for (int64_t s = 0; s < 3; ++s) {
    int64_t begin = cu[s], L = cu[s + 1] - begin;
    SSDArgs one = packed;
    one.cuSeqlens.reset();
    auto slice = [&](const Tensor &t, int64_t inner) {
      Tensor r;
      r.shape = t.shape;
      r.shape[1] = L;
      r.data.assign(t.data.begin() + begin * inner,
                    t.data.begin() + (begin + L) * inner);
      return r;
    };
    one.x = slice(packed.x, 4 * 2);
    one.dt = slice(packed.dt, 4);
    one.B = slice(packed.B, 2 * 3);
    one.C = slice(packed.C, 2 * 3);
    one.z = slice(*packed.z, 4 * 2);
    one.init = Tensor({1, 4, 2, 3});
    std::copy_n(packed.init->data.begin() + s * 24, 24, one.init->data.begin());
    SSDResult r = ssd(one);
    for (int64_t i = 0; i < L * 8; ++i)
      EXPECT_NEAR(r.y.data[i], whole.y.data[begin * 8 + i], kExact);
    for (int64_t i = 0; i < 24; ++i)
      EXPECT_NEAR(r.finalState.data[i], whole.finalState.data[s * 24 + i], kExact);
  }
  // The empty sequence hands its initial state straight through.
  for (int64_t i = 0; i < 24; ++i)
    EXPECT_EQ(whole.finalState.data[24 + i], packed.init->data[24 + i]);
}

TEST(SSD, SeqIdxMatchesCuSeqlens) {
  // Without states, seq_idx and cu_seqlens describe the same packing.
  std::mt19937_64 rng(11);
  SSDConfig c{1, 10, 2, 2, 1, 3, 4, false, false, false, true, false};
  SSDArgs a = randomSSD(c, rng);
  SSDArgs bySeq = a, byCu = a;
  bySeq.seqIdx = std::vector<int64_t>{0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
  byCu.cuSeqlens = std::vector<int64_t>{0, 3, 7, 10};
  SSDResult s = ssd(bySeq), u = ssd(byCu);
  EXPECT_LT(relativeError(s.y, u.y), kExact);
  EXPECT_LT(relativeError(s.y, ssdChunked(bySeq, 2).y), kEquivalent);
  // The row's final state is the last sequence's.
  for (int64_t i = 0; i < 12; ++i)
    EXPECT_NEAR(s.finalState.data[i], u.finalState.data[2 * 12 + i], kExact);
  // And packing changes the answer (the reset is real).
  EXPECT_GT(relativeError(s.y, ssd(a).y), 1e-6);
}

TEST(SSD, MatchesScanOnFlattenedChannels) {
  std::mt19937_64 rng(3);
  SSDConfig c{2, 6, 4, 3, 2, 5, 4, true, false, true, true, true};
  SSDArgs a = randomSSD(c, rng);
  a.seqIdx = std::vector<int64_t>{0, 0, 1, 1, 1, 1, 5, 5, 5, 6, 6, 6};
  int64_t B = 2, L = 6, H = 4, P = 3, N = 5, D = H * P;
  ScanArgs s;
  s.x = a.x; // [B, L, H, P] is [B, L, D] row-major
  s.x.shape = {B, L, D};
  s.abar = Tensor({B, L, D, N});
  s.bbar = Tensor({B, L, D, N});
  s.c = Tensor({B, L, D, N});
  s.d = a.D; // [H, P] is [D]
  s.d->shape = {D};
  s.init = a.init;
  s.init->shape = {B, D, N};
  s.reset = Tensor({B, L});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      s.reset->at({b, t}) =
          t > 0 && (*a.seqIdx)[b * L + t] != (*a.seqIdx)[b * L + t - 1];
      for (int64_t h = 0; h < H; ++h) {
        int64_t g = h / (H / 2);
        double delta = softplus(a.dt.at({b, t, h}) + a.dtBias->at({h}));
        delta = std::min(std::max(delta, 0.05), 0.4);
        for (int64_t p = 0; p < P; ++p)
          for (int64_t n = 0; n < N; ++n) {
            Discrete e = discretize(Discretization::Mamba, a.A.at({h}),
                                    a.B.at({b, t, g, n}), delta);
            s.abar.at({b, t, h * P + p, n}) = e.abar;
            s.bbar.at({b, t, h * P + p, n}) = e.bbar;
            s.c.at({b, t, h * P + p, n}) = a.C.at({b, t, g, n});
          }
      }
    }
  ScanResult r = scan(s);
  SSDResult ref = ssd(a);
  EXPECT_EQ(ref.y.data.size(), r.y.data.size());
  for (size_t i = 0; i < r.y.data.size(); ++i)
    EXPECT_NEAR(ref.y.data[i], r.y.data[i], kExact);
  for (size_t i = 0; i < r.finalState.data.size(); ++i)
    EXPECT_NEAR(ref.finalState.data[i], r.finalState.data[i], kExact);
}

TEST(SelectiveScan, MatchesScanOfDiscretizedInputs) {
  std::mt19937_64 rng(5);
  int64_t B = 2, D = 6, L = 7, N = 3, G = 3;
  for (Discretization method : {Discretization::Mamba, Discretization::ZOH,
                                Discretization::Bilinear, Discretization::Euler}) {
    SelectiveScanArgs a;
    a.u = randomTensor({B, D, L}, rng);
    a.delta = randomTensor({B, D, L}, rng, -2.0, 0.5);
    a.A = randomTensor({D, N}, rng, -1.5, -0.1);
    a.B = randomTensor({B, G, N, L}, rng);
    a.C = randomTensor({D, N}, rng); // fixed C
    a.D = randomTensor({D}, rng);
    a.z = randomTensor({B, D, L}, rng);
    a.deltaBias = randomTensor({D}, rng);
    a.init = randomTensor({B, D, N}, rng);
    a.deltaSoftplus = true;
    a.method = method;

    ScanArgs s;
    s.x = Tensor({B, L, D});
    s.abar = Tensor({B, L, D, N});
    s.bbar = Tensor({B, L, D, N});
    s.c = a.C;
    s.d = a.D;
    s.init = a.init;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d)
        for (int64_t t = 0; t < L; ++t) {
          s.x.at({b, t, d}) = a.u.at({b, d, t});
          double delta = softplus(a.delta.at({b, d, t}) + a.deltaBias->at({d}));
          for (int64_t n = 0; n < N; ++n) {
            Discrete e = discretize(method, a.A.at({d, n}),
                                    a.B.at({b, d / (D / G), n, t}), delta);
            s.abar.at({b, t, d, n}) = e.abar;
            s.bbar.at({b, t, d, n}) = e.bbar;
          }
        }
    ScanResult r = scan(s);
    SelectiveScanResult ref = selectiveScan(a);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d)
        for (int64_t t = 0; t < L; ++t)
          EXPECT_NEAR(ref.y.at({b, d, t}),
                      r.y.at({b, t, d}) * silu(a.z->at({b, d, t})), kExact);
    EXPECT_LT(relativeError(ref.finalState, r.finalState), kExact);
  }
}

TEST(StateUpdate, IsOneStepOfSelectiveScan) {
  std::mt19937_64 rng(9);
  int64_t B = 2, D = 4, N = 3, G = 2;
  StateUpdateArgs a;
  a.state = randomTensor({B, D, N}, rng);
  a.x = randomTensor({B, D}, rng);
  a.dt = randomTensor({B, D}, rng);
  a.A = randomTensor({D, N}, rng, -1.0, -0.1);
  a.B = randomTensor({B, G, N}, rng);
  a.C = randomTensor({B, G, N}, rng);
  a.D = randomTensor({D}, rng);
  a.z = randomTensor({B, D}, rng);
  a.dtBias = randomTensor({D}, rng);
  a.dtSoftplus = true;

  SelectiveScanArgs s;
  s.u = a.x;
  s.u.shape = {B, D, 1};
  s.delta = a.dt;
  s.delta.shape = {B, D, 1};
  s.A = a.A;
  s.B = a.B;
  s.B.shape = {B, G, N, 1};
  s.C = a.C;
  s.C.shape = {B, G, N, 1};
  s.D = a.D;
  s.z = a.z;
  s.z->shape = {B, D, 1};
  s.deltaBias = a.dtBias;
  s.init = a.state;
  s.deltaSoftplus = true;

  StateUpdateResult r = stateUpdate(a);
  SelectiveScanResult ref = selectiveScan(s);
  EXPECT_LT(relativeError(ref.finalState, r.newState), kExact);
  for (size_t i = 0; i < r.y.data.size(); ++i)
    EXPECT_NEAR(ref.y.data[i], r.y.data[i], kExact);
}

TEST(StateUpdate, IsOneStepOfSSD) {
  std::mt19937_64 rng(13);
  SSDConfig c{2, 1, 4, 3, 2, 5, 1, true, true, true, true, true};
  SSDArgs s = randomSSD(c, rng);
  StateUpdateArgs a;
  a.state = *s.init;
  a.x = s.x;
  a.x.shape = {2, 4, 3};
  a.dt = s.dt;
  a.dt.shape = {2, 4};
  a.A = s.A;
  a.B = s.B;
  a.B.shape = {2, 2, 5};
  a.C = s.C;
  a.C.shape = {2, 2, 5};
  a.D = s.D;
  a.z = s.z;
  a.z->shape = {2, 4, 3};
  a.dtBias = s.dtBias;
  a.dtSoftplus = true;
  a.dtLimit = s.dtLimit;
  StateUpdateResult r = stateUpdate(a);
  SSDResult ref = ssd(s);
  EXPECT_LT(relativeError(ref.finalState, r.newState), kExact);
  for (size_t i = 0; i < r.y.data.size(); ++i)
    EXPECT_NEAR(ref.y.data[i], r.y.data[i], kExact);
}

TEST(CausalConv1d, SplitCallsCarryState) {
  std::mt19937_64 rng(17);
  int64_t B = 2, C = 3, W = 4, L1 = 5, L2 = 2; // L2 < W - 1
  CausalConv1dArgs whole;
  whole.x = randomTensor({B, C, L1 + L2}, rng);
  whole.weight = randomTensor({C, W}, rng);
  whole.bias = randomTensor({C}, rng);
  whole.silu = true;
  CausalConv1dArgs first = whole, second = whole;
  first.x = Tensor({B, C, L1});
  second.x = Tensor({B, C, L2});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < L1 + L2; ++t)
        (t < L1 ? first.x.at({b, c, t}) : second.x.at({b, c, t - L1})) =
            whole.x.at({b, c, t});
  CausalConv1dResult all = causalConv1d(whole), r1 = causalConv1d(first);
  second.initState = r1.finalState;
  CausalConv1dResult r2 = causalConv1d(second);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < L1 + L2; ++t)
        EXPECT_NEAR(all.out.at({b, c, t}),
                    t < L1 ? r1.out.at({b, c, t}) : r2.out.at({b, c, t - L1}),
                    kExact);
  EXPECT_EQ(all.finalState.data, r2.finalState.data);
}

TEST(Scan, ReverseIsForwardOfFlippedInputs) {
  std::mt19937_64 rng(19);
  int64_t B = 2, L = 9, D = 3, N = 4;
  ScanArgs a;
  a.x = randomTensor({B, L, D}, rng);
  a.abar = randomTensor({B, L, D, N}, rng, 0.2, 0.99);
  a.bbar = randomTensor({B, L, D, N}, rng);
  a.c = randomTensor({D, N}, rng);
  a.d = randomTensor({D}, rng);
  a.init = randomTensor({B, D, N}, rng);
  a.reset = Tensor({B, L});
  a.reset->at({0, 4}) = 1; // a cut between t = 3 and t = 4
  a.reset->at({1, 7}) = 1;
  a.reverse = true;

  // Flip time; the cut between t - 1 and t becomes one between L - t - 1 and
  // L - t, i.e. a forward reset at L - t.
  ScanArgs f = a;
  f.reverse = false;
  f.reset = Tensor({B, L});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t) {
      if (t > 0 && a.reset->at({b, t}) != 0)
        f.reset->at({b, L - t}) = 1;
      for (int64_t d = 0; d < D; ++d) {
        f.x.at({b, L - 1 - t, d}) = a.x.at({b, t, d});
        for (int64_t n = 0; n < N; ++n) {
          f.abar.at({b, L - 1 - t, d, n}) = a.abar.at({b, t, d, n});
          f.bbar.at({b, L - 1 - t, d, n}) = a.bbar.at({b, t, d, n});
        }
      }
    }
  ScanResult rev = scan(a), fwd = scan(f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t d = 0; d < D; ++d)
        EXPECT_NEAR(rev.y.at({b, t, d}), fwd.y.at({b, L - 1 - t, d}), kExact);
  EXPECT_LT(relativeError(rev.finalState, fwd.finalState), kExact);
}

TEST(Scan, EmptySequenceReturnsInitialState) {
  ScanArgs a = tinyScan();
  a.x = Tensor({1, 0, 1});
  a.init = Tensor({1, 1, 1}, 4.0);
  ScanResult r = scan(a);
  EXPECT_EQ(r.y.numel(), 0);
  EXPECT_EQ(r.finalState.data, (std::vector<double>{4}));
}

//===----------------------------------------------------------------------===//
// Argument errors
//===----------------------------------------------------------------------===//

TEST(Errors, NameOperandAndDimension) {
  SelectiveScanArgs s;
  s.u = Tensor({1, 4, 8});
  s.delta = Tensor({1, 4, 7});
  s.A = Tensor({4, 2});
  s.B = Tensor({4, 2});
  s.C = Tensor({4, 2});
  EXPECT_THAT(errorOf([&] { selectiveScan(s); }),
              HasSubstr("selective_scan: operand 'delta' dim 2 (L) is 7, expected 8"));

  s.delta = Tensor({1, 4, 8});
  s.B = Tensor({1, 3, 2, 8});
  EXPECT_THAT(errorOf([&] { selectiveScan(s); }),
              HasSubstr("D = 4 must be a positive multiple of G = 3"));

  ScanArgs a = tinyScan();
  a.abar = Tensor({1, 1, 1});
  EXPECT_THAT(errorOf([&] { scan(a); }),
              HasSubstr("operand 'abar' must have rank 4 or 2, got 3"));

  std::mt19937_64 rng(1);
  SSDArgs d = randomSSD({2, 4, 2, 2, 1, 2, 2, false, false, false, true, false}, rng);
  d.cuSeqlens = std::vector<int64_t>{0, 8};
  EXPECT_THAT(errorOf([&] { ssd(d); }), HasSubstr("batch size B must be 1, got 2"));
  d.seqIdx = std::vector<int64_t>(8, 0);
  EXPECT_THAT(errorOf([&] { ssd(d); }), HasSubstr("at most one of"));
  d.cuSeqlens.reset();
  d.seqIdx = std::vector<int64_t>(3, 0);
  EXPECT_THAT(errorOf([&] { ssd(d); }), HasSubstr("'seq_idx' must have B * L = 8"));

  d = randomSSD({1, 4, 2, 2, 1, 2, 2, false, false, false, true, false}, rng);
  d.cuSeqlens = std::vector<int64_t>{0, 3, 2, 4};
  EXPECT_THAT(errorOf([&] { ssd(d); }), HasSubstr("must be non-decreasing"));
  d.cuSeqlens = std::vector<int64_t>{0, 3};
  EXPECT_THAT(errorOf([&] { ssd(d); }), HasSubstr("must start at 0 and end at L = 4"));
  d.cuSeqlens = std::vector<int64_t>{0, 4};
  d.init = Tensor({2, 2, 2, 2});
  EXPECT_THAT(errorOf([&] { ssd(d); }), HasSubstr("operand 'init' dim 0 (S) is 2, expected 1"));
  EXPECT_THAT(errorOf([&] { ssdChunked(d, 0); }), HasSubstr("chunk size must be positive"));

  CausalConv1dArgs c;
  c.x = Tensor({1, 2, 3});
  c.weight = Tensor({2, 3});
  c.initState = Tensor({1, 2, 3});
  EXPECT_THAT(errorOf([&] { causalConv1d(c); }),
              HasSubstr("operand 'init_state' dim 2 (W-1) is 3, expected 2"));
  c.weight = Tensor({2, 0});
  EXPECT_THAT(errorOf([&] { causalConv1d(c); }), HasSubstr("W) must be at least 1"));

  StateUpdateArgs u;
  u.state = Tensor({1, 2});
  EXPECT_THAT(errorOf([&] { stateUpdate(u); }),
              HasSubstr("operand 'state' must have rank 3 or 4, got 2"));
}
