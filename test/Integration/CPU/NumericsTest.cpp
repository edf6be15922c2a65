//===- NumericsTest.cpp - The numeric test matrix of the CPU kernels ------===//
//
// Part of ssmc. Each op is compiled through the driver's CPU pipeline (the
// direct lowerings, as ssmc compiles it), run with MLIR's JIT and compared
// with the double-precision reference evaluator, across the cases where
// lowerings tend to slip: L = 1, sizes that are not multiples of the vector
// width (17, 5, 3), batch > 1, groups > 1, L >= 8192, reverse scans and
// resets, initial and final states, packed variable-length batches, every
// discretization, and f16 / bf16 storage with f32 arithmetic.
//
// Tolerances (errors are max |kernel - reference| / max(1, max |reference|)):
//
// - f32 storage: kTolerance = 2e-5, the bound of LoopLoweringTest.cpp. The
//   kernels compute in f32, the reference in f64 on the same inputs; with
//   O(1) inputs and contracting recurrences each output carries the
//   roundings of O(N) terms and of libm's f32 exp/expm1/log1p (~1 ulp each),
//   observed ~1e-6. A semantic slip (wrong group, missing bias, off-by-one in
//   time or in a packed sequence) is O(1e-1).
//
// - f16 / bf16 storage: the inputs are rounded to the storage type before
//   the reference sees them, so both compute on the same values and only the
//   kernel's own arithmetic differs: f32 everywhere (docs/semantics.md), then
//   one rounding of each result to the storage type. That rounding moves an
//   element by at most u·|y| <= u·max|y| (u = 2^-8 for bf16, 2^-11 for f16,
//   the unit roundoff of 8 and 11 significant bits), to which the f32 error
//   above adds: kernelTolerance = u·(1 + kTolerance) + kTolerance (test/Support/Storage.h). A
//   kernel that rounds the running state to the storage type at every step
//   accumulates many such roundings and fails this bound.
//
// - Long sequences (L >= 8192, decays in [0.995, 0.999], i.e. a memory of
//   200-1000 steps): an f32 rounding (~3 per step, each <= u32·|h|, u32 =
//   2^-24) is damped by the decay, so the error of the state stays below the
//   worst case 3·u32·max|h| / (1 - max decay) = 1.8e-4·max|h| and, as the
//   roundings have random signs, near 3·u32·max|h| / sqrt(1 - max decay^2)
//   ~ 4e-6·max|h|. kLongTolerance = 1e-4 sits between the two: it holds for
//   a stable f32 recurrence of any length, while an error that grows with L
//   (a state rounded to fewer bits, a decay that drifts) exceeds it by
//   orders of magnitude.
//
// The chunked SSD algorithm has its own tests; these run the recurrent one.
//
//===----------------------------------------------------------------------===//

#include "JitHarness.h"
#include "../../Support/RandomTensor.h"
#include "../../Support/Trapezoid.h"

#include <gtest/gtest.h>

#include <random>

namespace ref = ::ssm::ref;
using namespace ::ssm::test;

namespace {

constexpr double kTolerance = 2e-5;
constexpr double kLongTolerance = 1e-4;

/// See the file comment: one rounding to `s` on top of the f32 error.

/// The tolerance of a case of length `L` stored as `s`.
double toleranceFor(Storage s, int64_t L) {
  return L >= 8192 ? std::max(kLongTolerance, kernelTolerance(s))
                   : kernelTolerance(s);
}

const char *suffix(Storage s) {
  return s == Storage::F32 ? "" : s == Storage::F16 ? "_f16" : "_bf16";
}

/// Resets (or packed-sequence starts) at random steps, about one in `every`.
std::vector<int64_t> randomFlags(int64_t count, std::mt19937_64 &rng, int every) {
  std::vector<int64_t> flags(static_cast<size_t>(count));
  std::uniform_int_distribution<int> dist(0, every - 1);
  for (int64_t &f : flags)
    f = dist(rng) == 0;
  return flags;
}

/// Test names: the case's name and its storage type unless f32.
struct CaseName {
  template <typename Info> std::string operator()(const Info &info) const {
    return std::string(info.param.name) + suffix(info.param.storage);
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// discretize: every method, odd sizes, the ZOH limit at Δ·A = 0
//===----------------------------------------------------------------------===//

struct DiscretizeCase {
  const char *name;
  ref::Discretization rule;
  Storage storage;
};

void PrintTo(const DiscretizeCase &c, std::ostream *os) { *os << c.name; }

class NumericsDiscretize : public ::testing::TestWithParam<DiscretizeCase> {};

TEST_P(NumericsDiscretize, MatchesReference) {
  const DiscretizeCase &c = GetParam();
  std::mt19937_64 rng(17);
  std::vector<int64_t> shape{3, 17, 5};
  ref::Tensor A = stored(shape, rng, c.storage, -1.5, -0.1);
  ref::Tensor B = stored(shape, rng, c.storage);
  ref::Tensor dt = stored(shape, rng, c.storage, 0.0, 0.5);
  // Exact zeros of Δ·A: ZOH must take its limit B̄ = Δ·B there, not 0/0.
  A.data[0] = 0.0;
  dt.data[1] = 0.0;
  ref::Tensor abar(shape), bbar(shape);
  for (size_t i = 0; i < A.data.size(); ++i) {
    ref::Discrete d = ref::discretize(c.rule, A.data[i], B.data[i], dt.data[i]);
    abar.data[i] = d.abar;
    bbar.data[i] = d.bbar;
  }
  KernelCall k(c.storage);
  std::string a = k.input(A), b = k.input(B), d = k.input(dt);
  k.output(shape);
  k.output(shape);
  ASSERT_EQ(k.run(k.results() + "ssm.discretize " + c.name + " " + a + ", " + b +
                  ", " + d + " : " + k.floatType(shape)),
            "");
  double tol = kernelTolerance(c.storage);
  EXPECT_LT(relativeError(k.result(0), abar), tol);
  EXPECT_LT(relativeError(k.result(1), bbar), tol);
}

INSTANTIATE_TEST_SUITE_P(
    Methods, NumericsDiscretize,
    ::testing::Values(
        DiscretizeCase{"zoh", ref::Discretization::ZOH, Storage::F32},
        DiscretizeCase{"bilinear", ref::Discretization::Bilinear, Storage::F32},
        DiscretizeCase{"euler", ref::Discretization::Euler, Storage::F32},
        DiscretizeCase{"mamba", ref::Discretization::Mamba, Storage::F32},
        DiscretizeCase{"zoh", ref::Discretization::ZOH, Storage::BF16},
        DiscretizeCase{"bilinear", ref::Discretization::Bilinear, Storage::F16}),
    CaseName());

//===----------------------------------------------------------------------===//
// scan: both directions, resets, time-invariant operands, states
//===----------------------------------------------------------------------===//

struct ScanCase {
  const char *name;
  int64_t B, L, D, N;
  bool reverse, reset, init, timeVarying;
  Storage storage;
  double decayLo = 0.3, decayHi = 0.95;
};

void PrintTo(const ScanCase &c, std::ostream *os) { *os << c.name; }

class NumericsScan : public ::testing::TestWithParam<ScanCase> {};

TEST_P(NumericsScan, MatchesReference) {
  const ScanCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.L * 31 + c.D);
  std::vector<int64_t> opShape = c.timeVarying
                                     ? std::vector<int64_t>{c.B, c.L, c.D, c.N}
                                     : std::vector<int64_t>{c.D, c.N};
  ref::ScanArgs a;
  a.x = stored({c.B, c.L, c.D}, rng, s);
  a.abar = stored(opShape, rng, s, c.decayLo, c.decayHi);
  a.bbar = stored(opShape, rng, s);
  a.c = stored(opShape, rng, s);
  a.d = stored({c.D}, rng, s);
  if (c.init)
    a.init = stored({c.B, c.D, c.N}, rng, s);
  std::vector<int64_t> flags;
  if (c.reset) {
    flags = randomFlags(c.B * c.L, rng, 5);
    // Both ends, where the direction decides whether a flag cuts anything.
    flags.front() = flags.back() = 1;
    a.reset = ref::Tensor({c.B, c.L});
    for (size_t i = 0; i < flags.size(); ++i)
      a.reset->data[i] = static_cast<double>(flags[i]);
  }
  a.reverse = c.reverse;
  ref::ScanResult expected = ref::scan(a);

  KernelCall k(s);
  std::string x = k.input(a.x), abar = k.input(a.abar), bbar = k.input(a.bbar),
              cc = k.input(a.c), d = k.input(*a.d);
  std::string op = std::string("ssm.scan ") + (c.reverse ? "reverse " : "forward ") +
                   x + ", " + abar + ", " + bbar + ", " + cc + " skip(" + d + ")";
  if (c.init)
    op += " init(" + k.input(*a.init) + ")";
  if (c.reset)
    op += " reset(" + k.intInput<uint8_t>({c.B, c.L}, flags, "i1") + ")";
  k.output(expected.y.shape);
  if (c.init)
    k.output(expected.finalState.shape);
  ASSERT_EQ(k.run(k.results() + op + " : " + k.signature()), "");
  double tol = toleranceFor(s, c.L);
  EXPECT_LT(relativeError(k.result(0), expected.y), tol);
  if (c.init) {
    EXPECT_LT(relativeError(k.result(1), expected.finalState), tol);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsScan,
    ::testing::Values(
        ScanCase{"L1", 1, 1, 3, 2, false, false, true, true, Storage::F32},
        ScanCase{"L1_reverse_reset", 2, 1, 3, 2, true, true, true, true, Storage::F32},
        ScanCase{"odd_batched", 2, 37, 17, 5, false, false, true, true, Storage::F32},
        ScanCase{"reset", 3, 29, 3, 4, false, true, true, true, Storage::F32},
        ScanCase{"reverse", 2, 23, 5, 3, true, false, true, true, Storage::F32},
        ScanCase{"reverse_reset", 2, 23, 5, 3, true, true, true, true, Storage::F32},
        ScanCase{"invariant_reverse", 2, 19, 9, 3, true, true, false, false,
                 Storage::F32},
        ScanCase{"long", 1, 8192, 2, 3, false, false, true, true, Storage::F32,
                 0.995, 0.999},
        ScanCase{"long_reverse", 1, 8192, 2, 3, true, false, true, true,
                 Storage::F32, 0.995, 0.999},
        ScanCase{"odd_reset", 2, 37, 17, 5, false, true, true, true, Storage::F16},
        ScanCase{"odd_reverse", 2, 37, 17, 5, true, false, true, true,
                 Storage::BF16},
        ScanCase{"long", 1, 8192, 2, 3, false, false, true, true, Storage::BF16,
                 0.995, 0.999}),
    CaseName());

//===----------------------------------------------------------------------===//
// selective_scan: every discretization, groups, fixed B/C, states
//===----------------------------------------------------------------------===//

struct SelectiveCase {
  const char *name;
  const char *method;
  ref::Discretization rule;
  int64_t B, D, L, N, G;
  bool fixedBC, init;
  Storage storage;
  /// Long cases feed small steps without softplus: decays exp(Δ·A) near 1.
  bool smallSteps = false;
};

void PrintTo(const SelectiveCase &c, std::ostream *os) { *os << c.name; }

class NumericsSelectiveScan : public ::testing::TestWithParam<SelectiveCase> {};

TEST_P(NumericsSelectiveScan, MatchesReference) {
  const SelectiveCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.D * 131 + c.L);
  ref::SelectiveScanArgs a;
  a.u = stored({c.B, c.D, c.L}, rng, s);
  a.delta = c.smallSteps ? stored({c.B, c.D, c.L}, rng, s, 0.005, 0.01)
                         : stored({c.B, c.D, c.L}, rng, s, -2.0, 0.5);
  a.A = c.smallSteps ? stored({c.D, c.N}, rng, s, -0.5, -0.1)
                     : stored({c.D, c.N}, rng, s, -1.5, -0.1);
  a.B = c.fixedBC ? stored({c.D, c.N}, rng, s) : stored({c.B, c.G, c.N, c.L}, rng, s);
  a.C = c.fixedBC ? stored({c.D, c.N}, rng, s) : stored({c.B, c.G, c.N, c.L}, rng, s);
  a.D = stored({c.D}, rng, s);
  a.z = stored({c.B, c.D, c.L}, rng, s);
  if (!c.smallSteps)
    a.deltaBias = stored({c.D}, rng, s, -0.5, 0.5);
  if (c.init)
    a.init = stored({c.B, c.D, c.N}, rng, s);
  a.deltaSoftplus = !c.smallSteps;
  a.method = c.rule;
  ref::SelectiveScanResult expected = ref::selectiveScan(a);

  KernelCall k(s);
  std::string u = k.input(a.u), delta = k.input(a.delta), A = k.input(a.A),
              B = k.input(a.B), C = k.input(a.C), D = k.input(*a.D),
              z = k.input(*a.z);
  std::string op = "ssm.selective_scan " + u + ", " + delta + ", " + A + ", " + B +
                   ", " + C + " skip(" + D + ") gate(" + z + ")";
  if (a.deltaBias)
    op += " delta_bias(" + k.input(*a.deltaBias) + ")";
  if (c.init)
    op += " init(" + k.input(*a.init) + ")";
  if (a.deltaSoftplus)
    op += " delta_softplus";
  op += std::string(" method ") + c.method;
  k.output(expected.y.shape);
  k.output(expected.finalState.shape);
  ASSERT_EQ(k.run(k.results() + op + " : " + k.signature()), "");
  double tol = toleranceFor(s, c.L);
  EXPECT_LT(relativeError(k.result(0), expected.y), tol);
  EXPECT_LT(relativeError(k.result(1), expected.finalState), tol);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsSelectiveScan,
    ::testing::Values(
        SelectiveCase{"L1", "zoh", ref::Discretization::ZOH, 1, 17, 1, 5, 1, false,
                      true, Storage::F32},
        SelectiveCase{"zoh_odd", "zoh", ref::Discretization::ZOH, 2, 17, 33, 5, 1,
                      false, true, Storage::F32},
        SelectiveCase{"bilinear_groups", "bilinear", ref::Discretization::Bilinear,
                      2, 6, 13, 3, 3, false, true, Storage::F32},
        SelectiveCase{"euler_zero_init", "euler", ref::Discretization::Euler, 3, 5,
                      11, 3, 5, false, false, Storage::F32},
        SelectiveCase{"mamba_fixedBC", "mamba", ref::Discretization::Mamba, 2, 9,
                      21, 5, 1, true, true, Storage::F32},
        SelectiveCase{"mamba_long", "mamba", ref::Discretization::Mamba, 1, 2, 8192,
                      3, 1, false, true, Storage::F32, true},
        SelectiveCase{"zoh_long", "zoh", ref::Discretization::ZOH, 1, 2, 8192, 3, 2,
                      false, true, Storage::F32, true},
        // Channel tiles of 16: full tiles only (constant-width loops), and
        // groups of 20 = one full and one partial tile each.
        SelectiveCase{"full_tiles", "mamba", ref::Discretization::Mamba, 2, 64, 19,
                      16, 1, false, true, Storage::F32},
        SelectiveCase{"full_tiles_groups", "zoh", ref::Discretization::ZOH, 1, 48, 7,
                      4, 3, false, true, Storage::F32},
        SelectiveCase{"partial_tiles_groups", "mamba", ref::Discretization::Mamba, 2,
                      40, 9, 5, 2, false, true, Storage::F32},
        SelectiveCase{"mamba_groups", "mamba", ref::Discretization::Mamba, 2, 6, 40,
                      5, 2, false, true, Storage::F16},
        SelectiveCase{"mamba_groups", "mamba", ref::Discretization::Mamba, 2, 6, 40,
                      5, 2, false, true, Storage::BF16},
        SelectiveCase{"zoh_L1", "zoh", ref::Discretization::ZOH, 1, 17, 1, 5, 1,
                      false, true, Storage::BF16},
        SelectiveCase{"mamba_long", "mamba", ref::Discretization::Mamba, 1, 2, 8192,
                      3, 1, false, true, Storage::BF16, true}),
    CaseName());

//===----------------------------------------------------------------------===//
// ssd (recurrent): groups, per-channel D, packed sequences with states
//===----------------------------------------------------------------------===//

enum class Packing { None, SeqIdx, CuSeqlens };

struct SSDCase {
  const char *name;
  int64_t B, L, H, P, G, N;
  bool perChannelD, init;
  Packing packing;
  Storage storage;
  /// For cu_seqlens: the packed boundaries (first 0, last L).
  std::vector<int64_t> cu = {};
  bool smallSteps = false;
  /// The range of A (with steps in [0.05, 0.6]).
  double aLo = -1.5, aHi = -0.1;
};

void PrintTo(const SSDCase &c, std::ostream *os) { *os << c.name; }

class NumericsSSD : public ::testing::TestWithParam<SSDCase> {};

TEST_P(NumericsSSD, MatchesReference) {
  const SSDCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.L * 7 + c.H * 3 + c.P);
  ref::SSDArgs a;
  a.x = stored({c.B, c.L, c.H, c.P}, rng, s);
  a.dt = c.smallSteps ? stored({c.B, c.L, c.H}, rng, s, 0.005, 0.01)
                      : stored({c.B, c.L, c.H}, rng, s, -2.0, 0.5);
  a.A = c.smallSteps ? stored({c.H}, rng, s, -0.5, -0.1)
                     : stored({c.H}, rng, s, c.aLo, c.aHi);
  a.B = stored({c.B, c.L, c.G, c.N}, rng, s);
  a.C = stored({c.B, c.L, c.G, c.N}, rng, s);
  a.D = c.perChannelD ? stored({c.H, c.P}, rng, s) : stored({c.H}, rng, s);
  a.z = stored({c.B, c.L, c.H, c.P}, rng, s);
  if (!c.smallSteps) {
    a.dtBias = stored({c.H}, rng, s, -0.5, 0.5);
    a.dtSoftplus = true;
    a.dtLimit = std::make_pair(0.05, 0.6);
  }
  bool cu = c.packing == Packing::CuSeqlens;
  int64_t stateRows = cu ? static_cast<int64_t>(c.cu.size()) - 1 : c.B;
  if (c.init)
    a.init = stored({stateRows, c.H, c.P, c.N}, rng, s);
  std::vector<int64_t> seq;
  if (c.packing == Packing::SeqIdx) {
    // Sequence ids change at random steps (including at t = 1 and at
    // t = L - 1, i.e. sequences of length 1) and may repeat a value
    // after a different one: only a change starts a sequence.
    std::vector<int64_t> starts = randomFlags(c.B * c.L, rng, 6);
    int64_t id = 0;
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = 0; t < c.L; ++t) {
        bool start = t > 0 && (starts[b * c.L + t] || t == 1 || t == c.L - 1);
        if (start)
          id = id == 3 ? 1 : id + 1;
        seq.push_back(id);
      }
    a.seqIdx = seq;
  } else if (cu) {
    a.cuSeqlens = c.cu;
  }
  ref::SSDResult expected = ref::ssd(a);

  KernelCall k(s);
  std::string x = k.input(a.x), dt = k.input(a.dt), A = k.input(a.A),
              B = k.input(a.B), C = k.input(a.C), D = k.input(*a.D),
              z = k.input(*a.z);
  std::string op = "ssm.ssd " + x + ", " + dt + ", " + A + ", " + B + ", " + C +
                   " skip(" + D + ") gate(" + z + ")";
  if (a.dtBias)
    op += " dt_bias(" + k.input(*a.dtBias) + ")";
  if (c.init)
    op += " init(" + k.input(*a.init) + ")";
  if (c.packing == Packing::SeqIdx)
    op += " seq_idx(" + k.intInput<int32_t>({c.B, c.L}, seq, "i32") + ")";
  else if (cu)
    op += " cu_seqlens(" +
          k.intInput<int32_t>({static_cast<int64_t>(c.cu.size())}, c.cu, "i32") +
          ")";
  k.output(expected.y.shape);
  if (c.init)
    k.output(expected.finalState.shape);
  if (a.dtSoftplus)
    op += " dt_softplus dt_limit [0.05, 0.6]";
  ASSERT_EQ(k.run(k.results() + op + " : " + k.signature()), "");
  double tol = toleranceFor(s, c.L);
  EXPECT_LT(relativeError(k.result(0), expected.y), tol);
  if (c.init) {
    EXPECT_LT(relativeError(k.result(1), expected.finalState), tol);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsSSD,
    ::testing::Values(
        SSDCase{"L1", 1, 1, 3, 3, 1, 5, false, true, Packing::None, Storage::F32},
        // Heads of 8 and 64 channels: the recurrence's vector form.
        SSDCase{"vector_heads", 2, 19, 4, 8, 2, 5, true, true, Packing::None,
                Storage::F32},
        SSDCase{"wide_heads", 1, 13, 2, 64, 1, 16, false, true, Packing::SeqIdx,
                Storage::F32},
        // Vector heads over several blocks of 16 steps, each on the state
        // divided by the block's running product of decays; with strong
        // decays (A down to -8: up to e^-77 over a block) some blocks leave
        // e^±44 and take the plain update.
        SSDCase{"vector_heads_blocks", 2, 75, 4, 16, 2, 8, false, true, Packing::None,
                Storage::F32},
        SSDCase{"vector_heads_strong_decays", 2, 75, 4, 16, 2, 8, true, true,
                Packing::None, Storage::F32, {}, false, -8.0, -3.0},
        SSDCase{"vector_heads_strong_decays_cu", 1, 75, 4, 16, 1, 8, false, true,
                Packing::CuSeqlens, Storage::BF16, {0, 20, 20, 75}, false, -8.0, -3.0},
        SSDCase{"odd_groups", 2, 33, 6, 3, 3, 5, true, true, Packing::None,
                Storage::F32},
        SSDCase{"zero_init", 3, 9, 2, 17, 1, 3, false, false, Packing::None,
                Storage::F32},
        SSDCase{"seqIdx_init", 2, 40, 4, 3, 2, 5, false, true, Packing::SeqIdx,
                Storage::F32},
        // Empty sequences (first, middle, last) and one of length 1.
        SSDCase{"cuSeqlens_states", 1, 31, 4, 3, 2, 5, true, true,
                Packing::CuSeqlens, Storage::F32, {0, 0, 1, 14, 14, 31, 31}},
        SSDCase{"cuSeqlens_one_sequence", 1, 17, 2, 3, 1, 5, false, true,
                Packing::CuSeqlens, Storage::F32, {0, 17}},
        SSDCase{"long", 1, 8192, 2, 1, 1, 3, false, true, Packing::None,
                Storage::F32, {}, true},
        SSDCase{"odd_groups", 2, 33, 6, 3, 3, 5, true, true, Packing::None,
                Storage::F16},
        SSDCase{"cuSeqlens_states", 1, 31, 4, 3, 2, 5, false, true,
                Packing::CuSeqlens, Storage::BF16, {0, 5, 5, 31}},
        SSDCase{"long", 1, 8192, 2, 1, 1, 3, false, true, Packing::None,
                Storage::BF16, {}, true}),
    CaseName());

//===----------------------------------------------------------------------===//
// causal_conv1d: widths, short and long sequences, states, storage
//===----------------------------------------------------------------------===//

struct ConvCase {
  const char *name;
  int64_t B, C, L, W;
  bool bias, state, silu, dynamic;
  Storage storage;
  /// A weight of type tensor<?x?x..>: the width is known only at run time.
  bool dynamicWidth = false;
};

void PrintTo(const ConvCase &c, std::ostream *os) { *os << c.name; }

class NumericsCausalConv1d : public ::testing::TestWithParam<ConvCase> {};

TEST_P(NumericsCausalConv1d, MatchesReference) {
  const ConvCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.L * 3 + c.W + c.C);
  ref::CausalConv1dArgs a = randomConvOperands(c.B, c.C, c.L, c.W, c.bias, c.state,
                                                 c.silu, rng, s);
  ref::CausalConv1dResult expected = ref::causalConv1d(a);

  KernelCall k(s);
  std::string x = k.input(a.x, c.dynamic), w = k.input(a.weight, c.dynamicWidth);
  std::string op = "ssm.causal_conv1d " + x + ", " + w;
  if (c.bias)
    op += " bias(" + k.input(*a.bias) + ")";
  if (c.state)
    op += " init_state(" + k.input(*a.initState, c.dynamic) + ")";
  if (c.silu)
    op += " silu";
  k.output(expected.out.shape, c.dynamic);
  k.output(expected.finalState.shape, c.dynamic);
  ASSERT_EQ(k.run(k.results() + op + " : " + k.signature()), "");
  double tol = kernelTolerance(s);
  EXPECT_LT(relativeError(k.result(0), expected.out), tol);
  // The final state is a copy of inputs: exact in any storage.
  EXPECT_EQ(relativeError(k.result(1), expected.finalState), 0.0);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsCausalConv1d,
    ::testing::Values(
        ConvCase{"L1_state", 2, 17, 1, 4, true, true, true, false, Storage::F32},
        ConvCase{"L1_nostate", 1, 3, 1, 4, true, false, false, false, Storage::F32},
        ConvCase{"L_eq_W_minus_1", 2, 5, 3, 4, false, true, false, false,
                 Storage::F32},
        ConvCase{"odd_W3", 2, 17, 37, 3, true, true, true, false, Storage::F32},
        ConvCase{"W2_nobias", 3, 5, 19, 2, false, true, false, false, Storage::F32},
        ConvCase{"W5_dynamic", 2, 17, 23, 5, true, true, true, true, Storage::F32},
        ConvCase{"W1_dynamic", 2, 3, 7, 1, true, false, true, true, Storage::F32},
        ConvCase{"long", 1, 3, 8193, 4, true, true, true, false, Storage::F32},
        ConvCase{"odd_W4", 2, 17, 37, 4, true, true, true, false, Storage::F16},
        ConvCase{"odd_W4", 2, 17, 37, 4, true, true, true, false, Storage::BF16},
        ConvCase{"short_dynamic", 2, 5, 2, 4, true, true, false, true,
                 Storage::BF16},
        ConvCase{"W4_dynamic_width", 2, 5, 19, 4, true, true, true, true,
                 Storage::F32, true},
        ConvCase{"W1_dynamic_width", 1, 3, 5, 1, false, true, false, true,
                 Storage::F32, true},
        ConvCase{"short_dynamic_width", 2, 3, 2, 5, true, true, true, true,
                 Storage::F16, true}),
    CaseName());

/// A [B, C, L] tensor as [B, L, C] (or back: the last two dimensions
/// swapped).
ref::Tensor swapLastTwo(const ref::Tensor &t) {
  int64_t B = t.dim(0), M = t.dim(1), N = t.dim(2);
  ref::Tensor r({B, N, M});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        r.data[(b * N + j) * M + i] = t.data[(b * M + i) * N + j];
  return r;
}

class NumericsTokensMajorConv1d : public ::testing::TestWithParam<ConvCase> {};

// The convolution between transposes from and to tokens-major [B, L, C]
// tensors, as a model has it: the CPU lowering reads and writes those
// tensors directly, in blocks of 64 channels (a remainder block when C is
// not a multiple), the steps outside the channels.
TEST_P(NumericsTokensMajorConv1d, MatchesReference) {
  const ConvCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.L * 5 + c.W + c.C);
  ref::CausalConv1dArgs a = randomConvOperands(c.B, c.C, c.L, c.W, c.bias, c.state,
                                                 c.silu, rng, s);
  ref::CausalConv1dResult expected = ref::causalConv1d(a);

  KernelCall k(s);
  ref::Tensor tokens = swapLastTwo(a.x);
  std::string x = k.input(tokens, c.dynamic), w = k.input(a.weight, c.dynamicWidth);
  // The types of x, channels-major and tokens-major, and of the final
  // state: all dimensions dynamic (x's read at run time) or static.
  std::string element = elementName(s), dyn = "tensor<?x?x?x" + element + ">";
  std::vector<int64_t> tokensMajor{c.B, c.L, c.C};
  std::string xc = c.dynamic ? dyn : k.floatType({c.B, c.C, c.L});
  std::string xt = c.dynamic ? dyn : k.floatType(tokensMajor);
  std::string fs = c.dynamic ? dyn : k.floatType(expected.finalState.shape);
  std::string body, sizes = "()", swapped = "()";
  if (c.dynamic) {
    for (int d = 0; d < 3; ++d)
      body += "%i" + std::to_string(d) + " = arith.constant " + std::to_string(d) +
              " : index\n  %d" + std::to_string(d) + " = tensor.dim " + x + ", %i" +
              std::to_string(d) + " : " + xt + "\n  ";
    sizes = "(%d0, %d2, %d1)";
    swapped = "(%d0, %d1, %d2)";
  }
  body += "%e = tensor.empty" + sizes + " : " + xc + "\n  %xc = linalg.transpose ins(" +
          x + " : " + xt + ") outs(%e : " + xc + ") permutation = [0, 2, 1]\n  ";
  std::string op = "%c:2 = ssm.causal_conv1d %xc, " + w;
  std::string types = xc + ", " +
                      (c.dynamicWidth ? "tensor<?x?x" + element + ">"
                                      : k.floatType(a.weight.shape));
  if (c.bias) {
    op += " bias(" + k.input(*a.bias) + ")";
    types += ", " + k.floatType(a.bias->shape);
  }
  if (c.state) {
    op += " init_state(" + k.input(*a.initState) + ")";
    types += ", " + k.floatType(a.initState->shape);
  }
  if (c.silu)
    op += " silu";
  body += op + " : (" + types + ") -> (" + xc + ", " + fs + ")\n  ";
  body += "%e2 = tensor.empty" + swapped + " : " + xt +
          "\n  %y = linalg.transpose ins(%c#0 : " + xc + ") outs(%e2 : " + xt +
          ") permutation = [0, 2, 1]\n  ";
  k.output(tokensMajor);
  k.output(expected.finalState.shape);
  std::string yOut = k.floatType(tokensMajor), fsOut = k.floatType(expected.finalState.shape);
  body += k.results() + "scf.execute_region -> (" + yOut + ", " + fsOut +
          ") {\n    %ys = tensor.cast %y : " + xt + " to " + yOut +
          "\n    %fs = tensor.cast %c#1 : " + fs + " to " + fsOut + "\n    scf.yield %ys, %fs : " +
          yOut + ", " + fsOut + "\n  }";
  ASSERT_EQ(k.run(body), "");
  EXPECT_LT(relativeError(k.result(0), swapLastTwo(expected.out)), kernelTolerance(s));
  EXPECT_EQ(relativeError(k.result(1), expected.finalState), 0.0);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsTokensMajorConv1d,
    ::testing::Values(
        ConvCase{"one_block", 2, 64, 37, 4, true, true, true, false, Storage::F32},
        ConvCase{"remainder_block", 2, 70, 37, 4, true, true, true, false, Storage::F32},
        ConvCase{"three_blocks_nobias", 1, 130, 19, 4, false, false, true, false,
                 Storage::F32},
        ConvCase{"decode_step", 3, 90, 1, 4, true, true, true, false, Storage::F32},
        ConvCase{"shorter_than_width", 2, 70, 2, 4, true, true, false, false, Storage::F32},
        ConvCase{"dynamic_length", 2, 70, 23, 4, true, true, true, true, Storage::F32},
        ConvCase{"W1", 1, 66, 9, 1, true, false, true, false, Storage::F32},
        ConvCase{"dynamic_width", 2, 70, 19, 3, true, true, true, false, Storage::F32,
                 true},
        ConvCase{"bf16", 2, 70, 37, 4, true, true, true, false, Storage::BF16}),
    CaseName());

//===----------------------------------------------------------------------===//
// state_update: both forms, groups, odd sizes, storage
//===----------------------------------------------------------------------===//

struct UpdateCase {
  const char *name;
  bool mamba2, perChannelD;
  int64_t B, H, P, N, G;
  Storage storage;
};

void PrintTo(const UpdateCase &c, std::ostream *os) { *os << c.name; }

class NumericsStateUpdate : public ::testing::TestWithParam<UpdateCase> {};

TEST_P(NumericsStateUpdate, MatchesReference) {
  const UpdateCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.H * 5 + c.N + c.B);
  ref::StateUpdateArgs a = randomStateUpdateOperands(
      c.mamba2, c.perChannelD, c.B, c.H, c.P, c.N, c.G, rng, s);
  ref::StateUpdateResult expected = ref::stateUpdate(a);

  KernelCall k(s);
  ASSERT_EQ(k.run(stateUpdateOp(k, a)), "");
  double tol = kernelTolerance(s);
  EXPECT_LT(relativeError(k.result(0), expected.newState), tol);
  EXPECT_LT(relativeError(k.result(1), expected.y), tol);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsStateUpdate,
    ::testing::Values(
        UpdateCase{"mamba1_odd", false, false, 2, 17, 1, 5, 1, Storage::F32},
        UpdateCase{"mamba1_groups", false, false, 3, 6, 1, 3, 3, Storage::F32},
        UpdateCase{"mamba2_odd_groups", true, true, 3, 6, 3, 5, 3, Storage::F32},
        UpdateCase{"mamba2_batch1", true, false, 1, 2, 17, 3, 1, Storage::F32},
        UpdateCase{"mamba1_odd", false, false, 2, 17, 1, 5, 1, Storage::BF16},
        UpdateCase{"mamba2_odd_groups", true, true, 3, 6, 3, 5, 3, Storage::F16},
        UpdateCase{"mamba2_odd_groups", true, true, 3, 6, 3, 5, 3, Storage::BF16}),
    CaseName());

//===----------------------------------------------------------------------===//
// ssm.recurrence with two input terms, one read at the previous step: the
// trapezoidal rule (test/Support/Trapezoid.h), through the explicit-vector
// heads (P = 16, scalar transition) and the scalar loops (diagonal
// transition, P = 5), both directions and every kind of segment.
//===----------------------------------------------------------------------===//

class NumericsTrapezoid : public ::testing::TestWithParam<TrapezoidCase> {};

TEST_P(NumericsTrapezoid, MatchesFormula) {
  const TrapezoidCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.L * 13 + c.P * 7 + static_cast<int>(c.segments));
  TrapezoidArgs a = randomTrapezoid(c, rng, s);
  TrapezoidResult expected = trapezoidReference(c, a);

  // Time-major cases pass x and take y as [rows, H, P, L].
  auto layout = [&](const ref::Tensor &t) {
    if (!c.timeMajor)
      return t;
    int64_t rows = t.shape[0], L = t.shape[1], H = t.shape[2], P = t.shape[3];
    ref::Tensor moved({rows, H, P, L});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < L * H * P; ++i)
        moved.data[((r * H + i / P % H) * P + i % P) * L + i / (H * P)] =
            t.data[r * L * H * P + i];
    return moved;
  };
  ref::Tensor x = layout(a.x);
  KernelCall k(s);
  std::vector<std::string> names, types;
  for (const ref::Tensor *t : {&x, &a.Bm, &a.C, &a.dt, &a.A, &a.lam, &a.D}) {
    names.push_back(k.input(*t));
    types.push_back(k.floatType(t->shape));
  }
  ref::Tensor y0(x.shape);
  names.push_back(k.input(y0));
  types.push_back(k.floatType(y0.shape));
  names.push_back(k.input(a.h0));
  types.push_back(k.floatType(a.h0.shape));
  std::vector<int64_t> segmentShape =
      c.segments == Segments::CuSeqlens ? std::vector<int64_t>{c.B + 1}
                                        : std::vector<int64_t>{c.B, c.L};
  if (c.segments == Segments::Reset) {
    names.push_back(k.intInput<uint8_t>(segmentShape, a.segments, "i1"));
    types.push_back(type(segmentShape, "i1"));
  } else if (c.segments != Segments::None) {
    names.push_back(k.intInput<int64_t>(segmentShape, a.segments, "i64"));
    types.push_back(type(segmentShape, "i64"));
  }
  ref::Tensor y = layout(expected.y);
  k.output(y.shape);
  k.output(expected.h.shape);
  ASSERT_EQ(k.run(trapezoidOp(c, names, types)), "");
  double tol = toleranceFor(s, c.L);
  EXPECT_LT(relativeError(k.result(0), y), tol);
  EXPECT_LT(relativeError(k.result(1), expected.h), tol);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsTrapezoid,
    ::testing::Values(
        TrapezoidCase{"vector_head", 2, 37, 4, 2, 16, 8, false, false, Segments::None, true},
        TrapezoidCase{"vector_head_reverse", 2, 23, 4, 2, 16, 8, false, true,
                      Segments::None, true},
        TrapezoidCase{"vector_head_seq_idx", 2, 41, 4, 1, 16, 8, false, false,
                      Segments::SeqIdx, true},
        TrapezoidCase{"diagonal_reverse_reset", 2, 29, 3, 3, 5, 4, true, true,
                      Segments::Reset, true},
        TrapezoidCase{"diagonal_seq_idx", 2, 29, 2, 1, 5, 4, true, false,
                      Segments::SeqIdx, false},
        TrapezoidCase{"packed", 3, 41, 4, 2, 16, 8, false, false, Segments::CuSeqlens,
                      true},
        TrapezoidCase{"packed_reverse_diagonal", 3, 41, 2, 1, 5, 4, true, true,
                      Segments::CuSeqlens, true},
        TrapezoidCase{"vector_head", 2, 37, 4, 2, 16, 8, false, false, Segments::None,
                      true, Storage::BF16},
        // Time innermost: per-step values along time, transposed in blocks
        // of 16 steps by 16 rows; a block cut short at the end.
        TrapezoidCase{"time_major", 2, 37, 2, 1, 16, 8, false, false, Segments::None,
                      true, Storage::F32, true},
        TrapezoidCase{"time_major_diagonal_reverse_reset", 2, 29, 2, 1, 32, 4, true,
                      true, Segments::Reset, true, Storage::F32, true},
        TrapezoidCase{"time_major_seq_idx", 2, 41, 2, 2, 16, 8, false, false,
                      Segments::SeqIdx, false, Storage::F32, true},
        TrapezoidCase{"time_major_packed_reverse", 3, 41, 2, 1, 16, 4, false, true,
                      Segments::CuSeqlens, true, Storage::BF16, true}),
    CaseName());

// The decode form: the same rule's step, previous inputs as tensors of
// their own, the state updated in place.
class NumericsTrapezoidStep : public ::testing::TestWithParam<TrapezoidCase> {};

TEST_P(NumericsTrapezoidStep, MatchesFormula) {
  const TrapezoidCase &c = GetParam();
  std::mt19937_64 rng(c.P * 7 + c.N);
  TrapezoidStep a = randomTrapezoidStep(c, rng, c.storage);
  TrapezoidResult expected = trapezoidStepReference(c, a);
  KernelCall k(c.storage);
  std::vector<std::string> names, types;
  ref::Tensor y0(a.x.shape);
  for (const ref::Tensor *t :
       {&a.x, &a.xp, &a.Bm, &a.Bp, &a.C, &a.dt, &a.A, &a.lam, &a.D, &y0, &a.h}) {
    names.push_back(k.input(*t));
    types.push_back(k.floatType(t->shape));
  }
  k.output(expected.y.shape);
  k.output(expected.h.shape);
  ASSERT_EQ(k.run(trapezoidStepOp(c, names, types)), "");
  EXPECT_LT(relativeError(k.result(0), expected.y), kernelTolerance(c.storage));
  EXPECT_LT(relativeError(k.result(1), expected.h), kernelTolerance(c.storage));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NumericsTrapezoidStep,
    ::testing::Values(
        TrapezoidCase{"scalar", 3, 1, 4, 2, 16, 8, false, false, Segments::None, true},
        TrapezoidCase{"diagonal", 2, 1, 3, 1, 5, 4, true, false, Segments::None, true},
        TrapezoidCase{"scalar", 3, 1, 4, 2, 16, 8, false, false, Segments::None, true,
                      Storage::BF16}),
    CaseName());
