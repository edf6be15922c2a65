//===- LoopLoweringTest.cpp - Execute the loop lowering against the reference //
//
// Part of ssmc. Compiles each ssm op through ssm-decompose and
// convert-ssm-to-scf, then upstream bufferization and the LLVM lowering,
// runs it with MLIR's JIT and compares every output with the reference
// evaluator. This is the numeric check of the semantic definition in IR.
//
// Tolerance: kernels compute in f32, the reference in f64. Inputs are O(1)
// and the recurrences contract (|Abar| < 1), so each output carries the f32
// rounding of O(L·N) accumulated terms and of libm's f32 exp/expm1/log1p
// (~1 ulp each): observed errors are ~1e-6 relative. The bound 2e-5 of the
// largest magnitude leaves margin while any semantic slip (a wrong group,
// a missing bias, an off-by-one in time) is O(1e-1) and fails.
//
//===----------------------------------------------------------------------===//

#include "JitHarness.h"
#include "../../Support/RandomTensor.h"

#include <gtest/gtest.h>

#include <random>

namespace ref = ::ssm::ref;
using namespace ::ssm::test;

namespace {

constexpr double kTolerance = 2e-5;

} // namespace

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

struct SelectiveCase {
  const char *method;
  ref::Discretization rule;
  int64_t B, D, L, N, G;
  bool fixedBC;
};

void PrintTo(const SelectiveCase &c, std::ostream *os) { *os << c.method; }

class SelectiveScanTest : public ::testing::TestWithParam<SelectiveCase> {};

TEST_P(SelectiveScanTest, MatchesReference) {
  const SelectiveCase &c = GetParam();
  std::mt19937_64 rng(c.B * 131 + c.L);
  ref::SelectiveScanArgs a;
  a.u = randomTensor({c.B, c.D, c.L}, rng);
  a.delta = randomTensor({c.B, c.D, c.L}, rng, -2.0, 0.5);
  a.A = randomTensor({c.D, c.N}, rng, -1.5, -0.1);
  a.B = c.fixedBC ? randomTensor({c.D, c.N}, rng) : randomTensor({c.B, c.G, c.N, c.L}, rng);
  a.C = c.fixedBC ? randomTensor({c.D, c.N}, rng) : randomTensor({c.B, c.G, c.N, c.L}, rng);
  a.D = randomTensor({c.D}, rng);
  a.z = randomTensor({c.B, c.D, c.L}, rng);
  a.deltaBias = randomTensor({c.D}, rng, -0.5, 0.5);
  a.init = randomTensor({c.B, c.D, c.N}, rng);
  a.deltaSoftplus = true;
  a.method = c.rule;
  ref::SelectiveScanResult expected = ref::selectiveScan(a);

  KernelCall k;
  std::string u = k.input(a.u), delta = k.input(a.delta), A = k.input(a.A),
              B = k.input(a.B), C = k.input(a.C), D = k.input(*a.D),
              z = k.input(*a.z), bias = k.input(*a.deltaBias), init = k.input(*a.init);
  k.output(expected.y.shape);
  k.output(expected.finalState.shape);
  std::string op = k.results() + "ssm.selective_scan " + u + ", " + delta + ", " +
                   A + ", " + B + ", " + C + " skip(" + D + ") gate(" + z +
                   ") delta_bias(" + bias + ") init(" + init +
                   ") delta_softplus method " + c.method + " : " + k.signature();
  // The fused lowering, then the decomposition: both must match.
  for (bool decompose : {false, true}) {
    ASSERT_EQ(k.run(op, decompose), "");
    EXPECT_LT(relativeError(k.result(0), expected.y), kTolerance) << decompose;
    EXPECT_LT(relativeError(k.result(1), expected.finalState), kTolerance)
        << decompose;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SelectiveScanTest,
    ::testing::Values(
        SelectiveCase{"mamba", ref::Discretization::Mamba, 2, 6, 37, 3, 2, false},
        SelectiveCase{"zoh", ref::Discretization::ZOH, 1, 4, 19, 5, 1, false},
        SelectiveCase{"bilinear", ref::Discretization::Bilinear, 2, 4, 9, 2, 4, false},
        SelectiveCase{"euler", ref::Discretization::Euler, 1, 3, 1, 4, 1, true}),
    [](const auto &info) {
      return std::string(info.param.method) + "_L" + std::to_string(info.param.L) +
             (info.param.fixedBC ? "_fixedBC" : "");
    });

//===----------------------------------------------------------------------===//
// ssd
//===----------------------------------------------------------------------===//

enum class Packing { None, SeqIdx, CuSeqlens, CuSeqlensStates };

struct SSDCase {
  const char *name;
  int64_t B, L, H, P, G, N;
  bool perChannelD;
  Packing packing;
};

void PrintTo(const SSDCase &c, std::ostream *os) { *os << c.name; }

class SSDTest : public ::testing::TestWithParam<SSDCase> {};

TEST_P(SSDTest, MatchesReference) {
  const SSDCase &c = GetParam();
  std::mt19937_64 rng(c.L * 7 + c.H);
  ref::SSDArgs a =
      randomSSDOperands(c.B, c.L, c.H, c.P, c.G, c.N, c.perChannelD, rng);
  a.z = randomTensor({c.B, c.L, c.H, c.P}, rng);
  a.dtBias = randomTensor({c.H}, rng, -0.5, 0.5);
  a.dtSoftplus = true;
  a.dtLimit = std::make_pair(0.05, 0.6);
  bool cu = c.packing == Packing::CuSeqlens || c.packing == Packing::CuSeqlensStates;
  bool states = c.packing != Packing::CuSeqlens;
  std::vector<int64_t> cuSeqlens{0, c.L / 4, c.L / 4, c.L - 2, c.L};
  int64_t stateRows = cu ? static_cast<int64_t>(cuSeqlens.size()) - 1 : c.B;
  if (states)
    a.init = randomTensor({stateRows, c.H, c.P, c.N}, rng);
  std::vector<int64_t> packing;
  if (c.packing == Packing::SeqIdx) {
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = 0; t < c.L; ++t)
        packing.push_back(t < c.L / 3 ? 0 : t < c.L / 2 ? 4 : 9);
    a.seqIdx = packing;
  } else if (cu) {
    packing = cuSeqlens;
    a.cuSeqlens = packing;
  }
  ref::SSDResult expected = ref::ssd(a);

  // Inputs are added one statement at a time: their order is the operand order.
  KernelCall k;
  std::string x = k.input(a.x), dt = k.input(a.dt), A = k.input(a.A),
              B = k.input(a.B), C = k.input(a.C), D = k.input(*a.D),
              z = k.input(*a.z), bias = k.input(*a.dtBias);
  std::string op = "ssm.ssd " + x + ", " + dt + ", " + A + ", " + B + ", " + C +
                   " skip(" + D + ") gate(" + z + ") dt_bias(" + bias + ")";
  if (states) {
    std::string init = k.input(*a.init);
    op += " init(" + init + ")";
  }
  if (c.packing == Packing::SeqIdx) {
    std::string seq = k.intInput<int32_t>({c.B, c.L}, packing, "i32");
    op += " seq_idx(" + seq + ")";
  } else if (cu) {
    std::string cuName = k.intInput<int64_t>(
        {static_cast<int64_t>(packing.size())}, packing, "i64");
    op += " cu_seqlens(" + cuName + ")";
  }
  k.output(expected.y.shape);
  if (states)
    k.output(expected.finalState.shape);
  op = k.results() + op + " dt_softplus dt_limit [0.05, 0.6] : " + k.signature();
  // The direct lowering, then the decomposition (which leaves cu_seqlens
  // with states to the direct lowering): both must match.
  for (bool decompose : {false, true}) {
    ASSERT_EQ(k.run(op, decompose), "");
    EXPECT_LT(relativeError(k.result(0), expected.y), kTolerance) << decompose;
    if (states) {
      EXPECT_LT(relativeError(k.result(1), expected.finalState), kTolerance)
          << decompose;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SSDTest,
    ::testing::Values(SSDCase{"groups", 2, 21, 4, 3, 2, 5, false, Packing::None},
                      SSDCase{"perChannelD", 1, 16, 2, 4, 1, 8, true, Packing::None},
                      SSDCase{"seqIdx", 2, 18, 2, 2, 1, 3, false, Packing::SeqIdx},
                      SSDCase{"cuSeqlens", 1, 20, 4, 2, 2, 3, true, Packing::CuSeqlens},
                      SSDCase{"cuSeqlensStates", 1, 21, 4, 2, 2, 3, false,
                              Packing::CuSeqlensStates}),
    [](const auto &info) { return std::string(info.param.name); });

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

struct ConvCase {
  int64_t B, C, L, W;
  bool state, silu, dynamic;
};

void PrintTo(const ConvCase &c, std::ostream *os) {
  *os << "L=" << c.L << " W=" << c.W;
}

class CausalConv1dTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(CausalConv1dTest, MatchesReference) {
  const ConvCase &c = GetParam();
  std::mt19937_64 rng(c.L * 3 + c.W);
  ref::CausalConv1dArgs a;
  a.x = randomTensor({c.B, c.C, c.L}, rng);
  a.weight = randomTensor({c.C, c.W}, rng);
  a.bias = randomTensor({c.C}, rng);
  if (c.state)
    a.initState = randomTensor({c.B, c.C, c.W - 1}, rng);
  a.silu = c.silu;
  ref::CausalConv1dResult expected = ref::causalConv1d(a);

  KernelCall k;
  std::string x = k.input(a.x, c.dynamic), w = k.input(a.weight),
              bias = k.input(*a.bias);
  std::string op = "ssm.causal_conv1d " + x + ", " + w + " bias(" + bias + ")";
  if (c.state) {
    std::string init = k.input(*a.initState, c.dynamic);
    op += " init_state(" + init + ")";
  }
  if (c.silu)
    op += " silu";
  k.output(expected.out.shape, c.dynamic);
  k.output(expected.finalState.shape, c.dynamic);
  ASSERT_EQ(k.run(k.results() + op + " : " + k.signature()), "");
  EXPECT_LT(relativeError(k.result(0), expected.out), kTolerance);
  EXPECT_LT(relativeError(k.result(1), expected.finalState), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CausalConv1dTest,
    ::testing::Values(ConvCase{2, 3, 17, 4, true, true, false},
                      ConvCase{1, 5, 9, 4, false, false, false},
                      ConvCase{2, 2, 2, 4, true, false, false}, // L < W - 1
                      ConvCase{1, 3, 6, 1, false, true, false}, // width 1
                      ConvCase{2, 4, 11, 7, true, true, true}), // dynamic shapes
    [](const auto &info) {
      const ConvCase &c = info.param;
      return "L" + std::to_string(c.L) + "_W" + std::to_string(c.W) +
             (c.state ? "_state" : "") + (c.silu ? "_silu" : "") +
             (c.dynamic ? "_dynamic" : "");
    });

//===----------------------------------------------------------------------===//
// state_update
//===----------------------------------------------------------------------===//

struct UpdateCase {
  const char *name;
  bool mamba2, perChannelD;
  int64_t B, H, P, N, G;
};

void PrintTo(const UpdateCase &c, std::ostream *os) { *os << c.name; }

class StateUpdateTest : public ::testing::TestWithParam<UpdateCase> {};

TEST_P(StateUpdateTest, MatchesReference) {
  const UpdateCase &c = GetParam();
  std::mt19937_64 rng(c.H * 5 + c.N);
  ref::StateUpdateArgs a;
  std::vector<int64_t> xShape = c.mamba2 ? std::vector<int64_t>{c.B, c.H, c.P}
                                         : std::vector<int64_t>{c.B, c.H};
  std::vector<int64_t> stateShape = xShape;
  stateShape.push_back(c.N);
  a.state = randomTensor(stateShape, rng);
  a.x = randomTensor(xShape, rng);
  a.dt = randomTensor({c.B, c.H}, rng, -2.0, 0.5);
  a.A = c.mamba2 ? randomTensor({c.H}, rng, -1.5, -0.1)
                 : randomTensor({c.H, c.N}, rng, -1.5, -0.1);
  a.B = randomTensor({c.B, c.G, c.N}, rng);
  a.C = randomTensor({c.B, c.G, c.N}, rng);
  a.D = c.perChannelD ? randomTensor({c.H, c.P}, rng) : randomTensor({c.H}, rng);
  a.z = randomTensor(xShape, rng);
  a.dtBias = randomTensor({c.H}, rng, -0.5, 0.5);
  a.dtSoftplus = true;
  a.dtLimit = std::make_pair(0.01, 0.5);
  ref::StateUpdateResult expected = ref::stateUpdate(a);

  KernelCall k;
  ASSERT_EQ(k.run(stateUpdateOp(k, a)), "");
  EXPECT_LT(relativeError(k.result(0), expected.newState), kTolerance);
  EXPECT_LT(relativeError(k.result(1), expected.y), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, StateUpdateTest,
    ::testing::Values(UpdateCase{"mamba1", false, false, 3, 6, 1, 16, 2},
                      UpdateCase{"mamba2", true, false, 2, 4, 8, 16, 2},
                      UpdateCase{"mamba2_perChannelD", true, true, 1, 3, 5, 7, 1}),
    [](const auto &info) { return std::string(info.param.name); });
