//===- SSDChunkedTest.cpp - Execute the chunked ssd lowering --------------===//
//
// Part of ssmc. Compiles `ssm.ssd ... algorithm chunked` through the CPU
// pipelines, runs it with the JIT and compares it with the reference
// evaluator (the recurrence in f64) over shapes that cut time into chunks in
// every way (L a multiple of chunk_size, not one, shorter than one chunk,
// L = 1) and over the op's features; then runs the same op with `algorithm
// recurrent` and compares the two lowerings with each other.
//
// Tolerance (relative to the largest magnitude), f32 storage: both
// lowerings compute in f32 against an f64 reference. The chunked form
// differs from the recurrence in how it rounds: each weight exp(s_i − s_j)
// comes from a cumulative sum s of up to chunk_size log-decays δ·A, so its
// exponent carries an absolute error of about |s_i|·2^-24 ≤
// Q·max(δ)·max|A|·6e-8 (Q = 32, δ ≤ 0.6, |A| ≤ 1.5: ~2e-6), and each output
// sums O(Q·(N + P)) products. Observed errors are below 3e-6; 2e-5 keeps
// margin while any slip (a term of the wrong chunk, a missing decay, a
// wrong group) is O(1e-1).
// f16 / bf16 storage of x, z, B, C and y (states and parameters f32, as
// Mamba keeps them): the reference gets the same rounded inputs, so what
// remains is the rounding of y itself, half an ulp: 2^-11 ≈ 4.9e-4 (f16),
// 2^-8 ≈ 3.9e-3 (bf16), plus the f32 error above: bounds 1e-3 and 8e-3.
// f64 everywhere: arithmetic in f64, errors ~1e-15; bound 1e-11.
//
//===----------------------------------------------------------------------===//

#include "JitHarness.h"
#include "../../Support/RandomTensor.h"

#include <gtest/gtest.h>

#include <random>

using namespace ::ssm::test;
namespace ref = ::ssm::ref;

namespace {

constexpr double kTolerance = 2e-5;

/// The bound above for outputs stored as `storage`.
double toleranceFor(Storage storage) {
  switch (storage) {
  case Storage::F16:
    return 1e-3;
  case Storage::BF16:
    return 8e-3;
  case Storage::F64:
    return 1e-11;
  case Storage::F32:
    break;
  }
  return kTolerance;
}

enum class Packing { None, SeqIdx, CuSeqlens };

struct ChunkedCase {
  const char *name;
  int64_t B, L, H, P, G, N, chunk;
  bool perChannelD = false, gate = true, bias = true, softplus = true,
       limit = true, init = true, finalState = true, dynamic = false;
  Packing packing = Packing::None;
  /// Storage of x, z, B, C and y; states and parameters are f32, or f64
  /// with f64 storage.
  Storage storage = Storage::F32;
};

void PrintTo(const ChunkedCase &c, std::ostream *os) { *os << c.name; }

/// The kernel's output as a reference tensor of `shape`.
ref::Tensor toTensor(Buffer &b, const std::vector<int64_t> &shape) {
  ref::Tensor t;
  t.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  for (int64_t i = 0; i < n; ++i)
    t.data.push_back(b.value(i));
  return t;
}

class ChunkedLoweringTest : public ::testing::TestWithParam<ChunkedCase> {};

TEST_P(ChunkedLoweringTest, MatchesReferenceAndRecurrentLowering) {
  const ChunkedCase &c = GetParam();
  std::mt19937_64 rng(c.L * 11 + c.H * 3 + c.chunk);
  ref::SSDArgs a =
      randomSSDOperands(c.B, c.L, c.H, c.P, c.G, c.N, c.perChannelD, rng);
  if (c.gate)
    a.z = randomTensor({c.B, c.L, c.H, c.P}, rng);
  if (c.bias)
    a.dtBias = randomTensor({c.H}, rng, -0.5, 0.5);
  a.dtSoftplus = c.softplus;
  if (c.limit)
    a.dtLimit = std::make_pair(0.05, 0.6);
  std::vector<int64_t> packing;
  if (c.packing == Packing::SeqIdx) {
    // Changes inside chunks, at a chunk boundary (t = chunk) and back to an
    // earlier index, which is still a new sequence.
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = 0; t < c.L; ++t)
        packing.push_back(t < 3 ? 0 : t < c.chunk ? 1 : t < c.L - 2 ? 2 : 1);
    a.seqIdx = packing;
  } else if (c.packing == Packing::CuSeqlens) {
    // Sequences that start mid-chunk, an empty one, and one of length 1.
    packing = {0, c.L / 3, c.L / 3, c.L - 1, c.L};
    a.cuSeqlens = packing;
  }
  int64_t stateRows = c.packing == Packing::CuSeqlens
                          ? static_cast<int64_t>(packing.size()) - 1
                          : c.B;
  if (c.init)
    a.init = randomTensor({stateRows, c.H, c.P, c.N}, rng);
  Storage io = c.storage;
  Storage wide = io == Storage::F64 ? Storage::F64 : Storage::F32;
  a.x = roundTo(a.x, io);
  a.B = roundTo(a.B, io);
  a.C = roundTo(a.C, io);
  if (a.z)
    a.z = roundTo(*a.z, io);
  ref::SSDResult expected = ref::ssd(a);
  double tolerance = toleranceFor(io);

  KernelCall k;
  std::string x = k.input(a.x, c.dynamic, io),
              dt = k.input(a.dt, c.dynamic, wide),
              A = k.input(a.A, c.dynamic, wide), B = k.input(a.B, c.dynamic, io),
              C = k.input(a.C, c.dynamic, io), D = k.input(*a.D, c.dynamic, wide);
  std::string op = "ssm.ssd " + x + ", " + dt + ", " + A + ", " + B + ", " + C +
                   " skip(" + D + ")";
  if (c.gate) {
    std::string z = k.input(*a.z, c.dynamic, io);
    op += " gate(" + z + ")";
  }
  if (c.bias) {
    std::string bias = k.input(*a.dtBias, c.dynamic, wide);
    op += " dt_bias(" + bias + ")";
  }
  if (c.init) {
    std::string init = k.input(*a.init, c.dynamic, wide);
    op += " init(" + init + ")";
  }
  if (c.packing == Packing::SeqIdx) {
    std::string seq = k.intInput<int64_t>({c.B, c.L}, packing, "i64");
    op += " seq_idx(" + seq + ")";
  } else if (c.packing == Packing::CuSeqlens) {
    std::string cu = k.intInput<int32_t>(
        {static_cast<int64_t>(packing.size())}, packing, "i32");
    op += " cu_seqlens(" + cu + ")";
  }
  k.output(expected.y.shape, c.dynamic, io);
  if (c.finalState)
    k.output(expected.finalState.shape, c.dynamic, wide);
  if (c.softplus)
    op += " dt_softplus";
  if (c.limit)
    op += " dt_limit [0.05, 0.6]";
  auto withAlgorithm = [&](const char *algorithm) {
    return k.results() + op + " algorithm " + algorithm +
           " {chunk_size = " + std::to_string(c.chunk) + " : i64} : " +
           k.signature();
  };

  ASSERT_EQ(k.run(withAlgorithm("chunked")), "");
  EXPECT_LT(relativeError(k.result(0), expected.y), tolerance);
  if (c.finalState) {
    EXPECT_LT(relativeError(k.result(1), expected.finalState),
              toleranceFor(wide));
  }
  ref::Tensor chunkedY = toTensor(k.result(0), expected.y.shape);
  ref::Tensor chunkedState;
  if (c.finalState)
    chunkedState = toTensor(k.result(1), expected.finalState.shape);

  // The two lowerings against each other: the bound is the sum of their
  // distances to the reference.
  ASSERT_EQ(k.run(withAlgorithm("recurrent")), "");
  EXPECT_LT(relativeError(k.result(0), chunkedY), 2 * tolerance);
  if (c.finalState) {
    EXPECT_LT(relativeError(k.result(1), chunkedState), 2 * toleranceFor(wide));
  }
}

ChunkedCase with(ChunkedCase c, void (*edit)(ChunkedCase &)) {
  edit(c);
  return c;
}

// name, B, L, H, P, G, N, chunk
const ChunkedCase kBase{"base", 2, 40, 4, 3, 2, 5, 16};

INSTANTIATE_TEST_SUITE_P(
    Shapes, ChunkedLoweringTest,
    ::testing::Values(
        kBase,
        ChunkedCase{"multipleOfChunk", 1, 64, 2, 4, 1, 8, 16},
        ChunkedCase{"shorterThanChunk", 2, 7, 3, 2, 1, 4, 32},
        ChunkedCase{"lengthOne", 2, 1, 2, 3, 2, 6, 8},
        ChunkedCase{"chunkOne", 1, 9, 2, 2, 1, 3, 1},
        ChunkedCase{"headsPerGroup", 1, 33, 6, 4, 3, 7, 8},
        ChunkedCase{"wide", 1, 70, 2, 16, 1, 32, 32},
        // The register tiles: P = 64 in whole vectors (unmasked panels);
        // P = 80 and chunks of 96 steps in two panels each, the second
        // ragged, and N = 42 rows in blocks of 4 and a remainder.
        ChunkedCase{"wholeVectors", 1, 70, 2, 64, 1, 64, 32},
        ChunkedCase{"twoPanels", 2, 150, 2, 80, 1, 42, 96},
        // Keys moved to [N, Q] in 16 x 16 blocks in registers (N and the
        // chunk multiples of 16; "wide" and "wholeVectors" too): a sequence
        // shorter than the chunk, groups with seq_idx, packed bf16 rows.
        ChunkedCase{"blockedShorterThanChunk", 2, 7, 2, 16, 1, 16, 16},
        // A work item is a block of at most 4 heads of a group, which share
        // the chunk's unmasked scores (ssm-tile-recurrences): 30 heads in 7
        // blocks of 4 and one of 2, with seq_idx; all of it dynamic (blocks
        // of 4 at run time: 4 and 1 here).
        with(ChunkedCase{"headBlocksSeqIdx", 1, 45, 30, 16, 1, 16, 16},
             [](ChunkedCase &c) { c.packing = Packing::SeqIdx; }),
        with(ChunkedCase{"headBlocksDynamic", 2, 30, 10, 8, 2, 12, 8},
             [](ChunkedCase &c) { c.dynamic = true; }),
        with(ChunkedCase{"headBlocksF64CuSeqlens", 1, 40, 24, 5, 2, 7, 8},
             [](ChunkedCase &c) {
               c.storage = Storage::F64;
               c.packing = Packing::CuSeqlens;
             }),
        with(ChunkedCase{"blockedGroupsSeqIdx", 1, 50, 4, 8, 2, 32, 16},
             [](ChunkedCase &c) { c.packing = Packing::SeqIdx; }),
        with(ChunkedCase{"blockedCuSeqlensBf16", 1, 45, 2, 16, 1, 16, 32},
             [](ChunkedCase &c) {
               c.packing = Packing::CuSeqlens;
               c.storage = Storage::BF16;
             }),
        with(kBase, [](ChunkedCase &c) { c.name = "perChannelD"; c.perChannelD = true; }),
        with(kBase, [](ChunkedCase &c) {
          c.name = "plain";
          c.gate = c.bias = c.softplus = c.limit = c.init = false;
        }),
        with(kBase, [](ChunkedCase &c) { c.name = "noFinalState"; c.finalState = false; }),
        with(kBase, [](ChunkedCase &c) {
          c.name = "zeroInitFinalState";
          c.init = false;
        }),
        with(kBase, [](ChunkedCase &c) { c.name = "dynamic"; c.dynamic = true; }),
        with(kBase, [](ChunkedCase &c) {
          c.name = "seqIdx";
          c.packing = Packing::SeqIdx;
        }),
        with(kBase, [](ChunkedCase &c) {
          c.name = "seqIdxDynamic";
          c.packing = Packing::SeqIdx;
          c.dynamic = true;
        }),
        with(kBase, [](ChunkedCase &c) {
          c.name = "cuSeqlens";
          c.B = 1;
          c.packing = Packing::CuSeqlens;
        }),
        with(kBase, [](ChunkedCase &c) { c.name = "f16"; c.storage = Storage::F16; }),
        with(kBase, [](ChunkedCase &c) { c.name = "bf16"; c.storage = Storage::BF16; }),
        with(kBase, [](ChunkedCase &c) { c.name = "f64"; c.storage = Storage::F64; }),
        with(kBase, [](ChunkedCase &c) {
          c.name = "f16SeqIdxDynamic";
          c.storage = Storage::F16;
          c.packing = Packing::SeqIdx;
          c.dynamic = true;
        }),
        with(kBase, [](ChunkedCase &c) {
          c.name = "cuSeqlensNoStates";
          c.B = 1;
          c.init = c.finalState = false;
          c.packing = Packing::CuSeqlens;
        })),
    [](const auto &info) { return std::string(info.param.name); });

//===----------------------------------------------------------------------===//
// Keys that depend on the head: the core op written directly, with B
// scaled by a per-head factor s, so that the heads of a work item do not
// share their unmasked scores and the chunked form computes them per head.
// The reference is the SSD with one group per head and B_h = s_h·B_g(h),
// C_h = C_g(h) (δ = dt, no skip: the region's decay is dt·A, its value
// dt·x). Tolerance as above (f32).
//===----------------------------------------------------------------------===//

struct PerHeadCase {
  const char *name;
  int64_t B, L, H, P, G, N, chunk;
};

void PrintTo(const PerHeadCase &c, std::ostream *os) { *os << c.name; }

class PerHeadKeysTest : public ::testing::TestWithParam<PerHeadCase> {};

TEST_P(PerHeadKeysTest, MatchesReference) {
  const PerHeadCase &c = GetParam();
  std::mt19937_64 rng(c.L * 7 + c.H);
  ref::SSDArgs a = randomSSDOperands(c.B, c.L, c.H, c.P, c.G, c.N, false, rng);
  a.dt = randomTensor({c.B, c.L, c.H}, rng, 0.05, 0.6);
  a.D.reset();
  a.init = randomTensor({c.B, c.H, c.P, c.N}, rng);
  ref::Tensor scale = randomTensor({c.H}, rng, 0.5, 1.5);

  ref::SSDArgs perHead = a;
  perHead.B = ref::Tensor({c.B, c.L, c.H, c.N});
  perHead.C = ref::Tensor({c.B, c.L, c.H, c.N});
  int64_t R = c.H / c.G;
  for (int64_t i = 0; i < c.B * c.L; ++i)
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t n = 0; n < c.N; ++n) {
        int64_t from = (i * c.G + h / R) * c.N + n, to = (i * c.H + h) * c.N + n;
        perHead.B.data[to] = scale.data[h] * a.B.data[from];
        perHead.C.data[to] = a.C.data[from];
      }
  ref::SSDResult expected = ref::ssd(perHead);

  KernelCall k;
  std::vector<std::string> names, types;
  for (const ref::Tensor *t : {&a.x, &a.dt, &a.A, &a.B, &scale, &a.C, &*a.init}) {
    names.push_back(k.input(*t));
    types.push_back(type(t->shape, "f32"));
  }
  ref::Tensor y0(expected.y.shape);
  names.push_back(k.input(y0));
  types.push_back(type(y0.shape, "f32"));
  k.output(expected.y.shape);
  k.output(expected.finalState.shape);
  std::string op =
      "%r:2 = ssm.recurrence scalar forward log_decay form chunked chunk_size " +
      std::to_string(c.chunk) + "\n    ins(" + names[0] + " [b, t, (g, r), p], " +
      names[1] + " [b, t, (g, r)], " + names[2] + " [(g, r)], " + names[3] +
      " [b, t, g, n], " + names[4] + " [(g, r)], " + names[5] + " [b, t, g, n] : " +
      types[0] + ", " + types[1] + ", " + types[2] + ", " + types[3] + ", " + types[4] +
      ", " + types[5] + ")\n    outs(" + names[7] + " [b, t, (g, r), p], " + names[6] +
      " [b, (g, r), p, n] : " + types[7] + ", " + types[6] + ") {\n"
      "  ^bb0(%x: f32, %dt: f32, %a: f32, %b: f32, %s: f32, %c: f32):\n"
      "    %decay = arith.mulf %dt, %a : f32\n"
      "    %value = arith.mulf %dt, %x : f32\n"
      "    %key = arith.mulf %b, %s : f32\n"
      "    %zero = arith.constant 0.0 : f32\n"
      "    ssm.yield %decay, %value, %key, %c, %zero : f32, f32, f32, f32, f32\n"
      "  }";
  ASSERT_EQ(k.run(op), "");
  EXPECT_LT(relativeError(k.result(0), expected.y), kTolerance);
  EXPECT_LT(relativeError(k.result(1), expected.finalState), kTolerance);
}

// name, B, L, H, P, G, N, chunk: 12 heads in each of 2 groups in work items
// of 3, keys moved in 16 x 16 blocks; 30 heads in blocks of 4 and one of 2,
// keys copied.
INSTANTIATE_TEST_SUITE_P(
    Shapes, PerHeadKeysTest,
    ::testing::Values(PerHeadCase{"blocksOfThree", 2, 37, 24, 16, 2, 16, 16},
                      PerHeadCase{"blocksOfFourAndTwo", 1, 40, 30, 8, 1, 12, 8}),
    [](const auto &info) { return std::string(info.param.name); });

} // namespace
