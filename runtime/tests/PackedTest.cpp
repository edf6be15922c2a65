//===- PackedTest.cpp - Weight matrices packed in 16, 8 or 4 bits ---------===//
//
// Part of ssmc. The packed bytes are decoded here a second time, straight
// from the layout that ssm/model_abi.h describes (binary16 and bfloat16
// bit by bit, in double precision), and packing is checked against known
// bytes, GGUF's error bounds and an exhaustive round trip of every 16-bit
// pattern. Products are compared with a double-precision product of A and
// the weights as this file decodes them, so that they test the arithmetic
// apart from the quantization.
//
// Tolerance of a product, relative to sum |a_p w_p| + |beta c|: the
// register kernels add each product into one of 16 lanes (k / 16 terms at
// most), then add the lanes, the portable code's chunks of 256 elements and
// beta * c: fewer than k / 16 + 32 roundings of 2^-24 each, 5e-6 for
// k = 800; we allow 1e-5. The panel path leaves the order to the BLAS,
// which may add the k terms in sequence: there we allow 4 * k * 2^-24, as
// BlasTest.cpp does. Both catch a wrong index, scale or nibble by orders of
// magnitude.
//
// Every product runs in the AVX-512 code (skipped where the CPU lacks it)
// and in the portable code, through both paths (weights decoded in
// registers, and panels for the BLAS, forced through internal hooks), on
// one and two threads. ctest also runs PackedWithoutBlas.* with SSM_BLAS
// naming a missing library.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "ssm/model_abi.h"
#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int32_t kFormats[] = {SSM_WEIGHT_BF16, SSM_WEIGHT_F16,
                                SSM_WEIGHT_Q8_0, SSM_WEIGHT_Q4_0};
constexpr double kEps = 1.0 / (1 << 24);
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

std::string formatName(int32_t format) {
  switch (format) {
  case SSM_WEIGHT_BF16:
    return "bf16";
  case SSM_WEIGHT_F16:
    return "f16";
  case SSM_WEIGHT_Q8_0:
    return "q8_0";
  case SSM_WEIGHT_Q4_0:
    return "q4_0";
  }
  return "?";
}

bool isBlockFormat(int32_t format) {
  return format == SSM_WEIGHT_Q8_0 || format == SSM_WEIGHT_Q4_0;
}

//===----------------------------------------------------------------------===//
// The layout of model_abi.h, decoded independently
//===----------------------------------------------------------------------===//

double halfToDouble(uint16_t h) {
  int sign = h >> 15, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  double magnitude;
  if (exponent == 0x1F)
    magnitude = mantissa ? std::nan("") : HUGE_VAL;
  else if (exponent == 0)
    magnitude = std::ldexp(mantissa, -24);
  else
    magnitude = std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -magnitude : magnitude;
}

// bfloat16 is the upper half of a binary32.
double bf16ToDouble(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t readU16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

int64_t scaleRegionBytes(int64_t n, int64_t k) {
  return (n * (k / SSM_WEIGHT_BLOCK) * 2 + 63) / 64 * 64;
}

int64_t expectedBytes(int32_t format, int64_t n, int64_t k) {
  switch (format) {
  case SSM_WEIGHT_Q8_0:
    return scaleRegionBytes(n, k) + n * k;
  case SSM_WEIGHT_Q4_0:
    return scaleRegionBytes(n, k) + n * k / 2;
  default:
    return n * k * 2;
  }
}

// The scale d of block b of row i (block formats).
double blockScale(const uint8_t *packed, int64_t k, int64_t i, int64_t b) {
  return halfToDouble(readU16(packed + (i * (k / SSM_WEIGHT_BLOCK) + b) * 2));
}

// W[i, j] as the layout defines it.
double decodeElement(int32_t format, int64_t n, int64_t k,
                     const uint8_t *packed, int64_t i, int64_t j) {
  switch (format) {
  case SSM_WEIGHT_BF16:
    return bf16ToDouble(readU16(packed + (i * k + j) * 2));
  case SSM_WEIGHT_F16:
    return halfToDouble(readU16(packed + (i * k + j) * 2));
  case SSM_WEIGHT_Q8_0: {
    int8_t q;
    std::memcpy(&q, packed + scaleRegionBytes(n, k) + i * k + j, 1);
    return q * blockScale(packed, k, i, j / SSM_WEIGHT_BLOCK);
  }
  default: {
    int64_t b = j / SSM_WEIGHT_BLOCK, t = j % SSM_WEIGHT_BLOCK;
    uint8_t byte = packed[scaleRegionBytes(n, k) +
                          (i * (k / SSM_WEIGHT_BLOCK) + b) * 16 + t % 16];
    int q = t < 16 ? byte & 0x0F : byte >> 4;
    return (q - 8) * blockScale(packed, k, i, b);
  }
  }
}

std::vector<double> decodeAll(int32_t format, int64_t n, int64_t k,
                              const uint8_t *packed) {
  std::vector<double> w(static_cast<size_t>(n * k));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      w[i * k + j] = decodeElement(format, n, k, packed, i, j);
  return w;
}

// A buffer from ssm_buffer_alloc (64-byte aligned), `offset` bytes in, so
// that tests can also place the weights at an odd address.
class Buffer {
public:
  explicit Buffer(int64_t bytes, size_t offset = 0) : offset_(offset) {
    EXPECT_EQ(ssm_buffer_alloc(static_cast<size_t>(bytes) + offset, 0, &base_),
              SSM_OK);
  }
  ~Buffer() { ssm_buffer_free(base_); }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  uint8_t *data() const { return static_cast<uint8_t *>(base_) + offset_; }

private:
  void *base_ = nullptr;
  size_t offset_;
};

// Packs w[n, k] (row stride ldw) and returns the bytes in a fresh buffer.
std::unique_ptr<Buffer> pack(int32_t format, int64_t n, int64_t k,
                             const float *w, int64_t ldw, size_t offset = 0) {
  int64_t bytes = ssm_packed_bytes(format, n, k);
  EXPECT_EQ(bytes, expectedBytes(format, n, k)) << ssm_last_error();
  auto buffer = std::make_unique<Buffer>(std::max<int64_t>(bytes, 1), offset);
  EXPECT_EQ(ssm_pack_weights(format, n, k, w, ldw, buffer->data()), SSM_OK)
      << ssm_last_error();
  return buffer;
}

// Selects the code and path for one scope, and restores the defaults.
struct Mode {
  bool portable;
  int64_t registerRows; // -1: the runtime's choice.
  Mode(bool portableCode, int64_t rows)
      : portable(portableCode), registerRows(rows) {
    ssm_internal_packed_force_portable(portable);
    ssm_internal_packed_set_register_rows(registerRows);
  }
  ~Mode() {
    ssm_internal_packed_force_portable(false);
    ssm_internal_packed_set_register_rows(-1);
  }
};

// The codes to test: portable everywhere, AVX-512 where the CPU has it.
std::vector<bool> portableChoices() {
  if (ssm_internal_packed_has_avx512())
    return {true, false};
  return {true};
}

// rows x cols random values with row stride ld; the padding holds NaN, which
// would show in any result that read it.
std::vector<float> randomMatrix(int64_t rows, int64_t cols, int64_t ld,
                                unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> m(static_cast<size_t>(std::max<int64_t>(rows * ld, 1)),
                       kNaN);
  for (int64_t i = 0; i < rows; ++i) {
    // Rows of different magnitudes, so that scales differ.
    float scale = std::ldexp(1.0f, static_cast<int>(i % 7) - 3);
    for (int64_t j = 0; j < cols; ++j)
      m[i * ld + j] = dist(rng) * scale;
  }
  return m;
}

//===----------------------------------------------------------------------===//
// ssm_packed_bytes
//===----------------------------------------------------------------------===//

TEST(PackedBytes, FollowTheLayout) {
  for (int32_t format : kFormats)
    for (int64_t n : {0, 1, 3, 50280})
      for (int64_t k : {0, 32, 64, 768}) {
        SCOPED_TRACE(formatName(format) + " n=" + std::to_string(n) +
                     " k=" + std::to_string(k));
        EXPECT_EQ(ssm_packed_bytes(format, n, k), expectedBytes(format, n, k));
      }
  // Scales are padded to 64 bytes: 3 rows of one block take 6 bytes of
  // scales, then the quants start at 64.
  EXPECT_EQ(ssm_packed_bytes(SSM_WEIGHT_Q8_0, 3, 32), 64 + 96);
  EXPECT_EQ(ssm_packed_bytes(SSM_WEIGHT_Q4_0, 3, 32), 64 + 48);
  // 16-bit formats take any k.
  EXPECT_EQ(ssm_packed_bytes(SSM_WEIGHT_BF16, 3, 5), 30);
  EXPECT_EQ(ssm_packed_bytes(SSM_WEIGHT_F16, 2, 100), 400);
}

TEST(PackedBytes, RejectsBadArguments) {
  struct Case {
    int32_t format;
    int64_t n, k;
    ssm_status_t status;
    const char *message;
  } cases[] = {
      {0, 1, 32, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_packed_bytes: format 0 (SSM_WEIGHT_F32) is not a packed format"},
      {5, 1, 32, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_packed_bytes: unknown weight format 5"},
      {-1, 1, 32, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_packed_bytes: unknown weight format -1"},
      {SSM_WEIGHT_BF16, -2, 32, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_packed_bytes: negative n (-2)"},
      {SSM_WEIGHT_Q4_0, 2, -32, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_packed_bytes: negative k (-32)"},
      {SSM_WEIGHT_Q8_0, 2, 100, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_packed_bytes: k 100 is not a multiple of SSM_WEIGHT_BLOCK (32), "
       "which q8_0 needs"},
      {SSM_WEIGHT_Q4_0, 2, 16, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_packed_bytes: k 16 is not a multiple of SSM_WEIGHT_BLOCK (32), "
       "which q4_0 needs"},
      {SSM_WEIGHT_F16, int64_t{1} << 62, 2, SSM_ERROR_OUT_OF_RANGE,
       "ssm_packed_bytes: a 4611686018427387904 x 2 matrix in f16 takes more "
       "than INT64_MAX bytes"},
      {SSM_WEIGHT_Q8_0, int64_t{1} << 58, 32, SSM_ERROR_OUT_OF_RANGE,
       "ssm_packed_bytes: a 288230376151711744 x 32 matrix in q8_0 takes "
       "more than INT64_MAX bytes"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.message);
    ssm_clear_error();
    EXPECT_EQ(ssm_packed_bytes(c.format, c.n, c.k), -1);
    EXPECT_STREQ(ssm_last_error(), c.message);
  }
  // The largest Q4_0 matrix that fits: quants and scales just below 2^63.
  EXPECT_GT(ssm_packed_bytes(SSM_WEIGHT_Q4_0, int64_t{1} << 57, 32), 0);
}

//===----------------------------------------------------------------------===//
// Conversions to and from 16 bits
//===----------------------------------------------------------------------===//

// The 16-bit patterns ssm_pack_weights makes of `values` in `format`.
std::vector<uint16_t> packBits(int32_t format,
                               const std::vector<float> &values) {
  auto packed = pack(format, 1, static_cast<int64_t>(values.size()),
                     values.data(), static_cast<int64_t>(values.size()));
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    bits[i] = readU16(packed->data() + 2 * i);
  return bits;
}

TEST(PackedConversions, F16KnownValues) {
  struct Case {
    float value;
    uint16_t bits;
  } cases[] = {
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f, 0x3C00},
      {-2.0f, 0xC000},
      {65504.0f, 0x7BFF},  // The largest finite value.
      {65519.99f, 0x7BFF}, // Below the midpoint to 65536.
      {65520.0f, 0x7C00},  // The midpoint: ties to even, infinity.
      {1e6f, 0x7C00},      // Overflow.
      {-kInf, 0xFC00},
      {kInf, 0x7C00},
      {std::ldexp(1.0f, -14), 0x0400},    // The smallest normal.
      {std::ldexp(1023.0f, -24), 0x03FF}, // The largest subnormal.
      {std::ldexp(1.0f, -24), 0x0001},    // The smallest subnormal.
      {std::ldexp(1.0f, -25), 0x0000},    // Half of it: ties to even, 0.
      {std::ldexp(1.0f, -25) * 1.0000001f, 0x0001}, // Just above half.
      {std::ldexp(3.0f, -25), 0x0002},        // 1.5 units: ties to even, 2.
      {std::ldexp(5.0f, -25), 0x0002},        // 2.5 units: ties to even, 2.
      {-std::ldexp(1.0f, -30), 0x8000},       // Underflow keeps the sign.
      {1.0f + std::ldexp(1.0f, -11), 0x3C00}, // Tie between 1 and 1 + 2^-10.
      {1.0f + std::ldexp(3.0f, -11), 0x3C02}, // Tie: to the even mantissa.
      {1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20), 0x3C01},
      // Rounding up carries into the exponent.
      {2.0f - std::ldexp(1.0f, -12), 0x4000},
      // Rounding a subnormal up to the smallest normal.
      {std::ldexp(1023.5f, -24), 0x0400},
  };
  std::vector<float> values;
  for (const Case &c : cases)
    values.push_back(c.value);
  std::vector<uint16_t> bits = packBits(SSM_WEIGHT_F16, values);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(bits[i], cases[i].bits)
        << "value " << values[i] << " (case " << i << ")";
  // NaN stays NaN, of either sign.
  bits = packBits(SSM_WEIGHT_F16, {kNaN, -kNaN});
  for (uint16_t b : bits) {
    EXPECT_EQ(b & 0x7C00, 0x7C00);
    EXPECT_NE(b & 0x03FF, 0);
  }
  EXPECT_EQ(bits[1] & 0x8000, 0x8000);
}

TEST(PackedConversions, Bf16KnownValues) {
  auto f = [](uint32_t bits) {
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  };
  struct Case {
    float value;
    uint16_t bits;
  } cases[] = {
      {1.0f, 0x3F80},
      {-0.0f, 0x8000},
      {f(0x3F808000), 0x3F80}, // Tie: to the even 0x3F80.
      {f(0x3F818000), 0x3F82}, // Tie: to the even 0x3F82.
      {f(0x3F808001), 0x3F81}, // Above the tie.
      {f(0x7F7FFFFF), 0x7F80}, // FLT_MAX rounds to infinity.
      {f(0x7F7F7FFF), 0x7F7F},
      {kInf, 0x7F80},
      {-kInf, 0xFF80},
      {f(0x00000001), 0x0000}, // Subnormals round like any value.
      {f(0x00008000), 0x0000}, // Tie: to the even 0.
      {f(0x00018000), 0x0002},
  };
  std::vector<float> values;
  for (const Case &c : cases)
    values.push_back(c.value);
  std::vector<uint16_t> bits = packBits(SSM_WEIGHT_BF16, values);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(bits[i], cases[i].bits) << "case " << i;
  // A NaN whose payload lies in the dropped half stays a NaN.
  bits = packBits(SSM_WEIGHT_BF16, {f(0x7F800001), f(0xFFC00000)});
  EXPECT_EQ(bits[0] & 0x7F80, 0x7F80);
  EXPECT_NE(bits[0] & 0x007F, 0);
  EXPECT_EQ(bits[1], 0xFFC0);
}

// Every 16-bit pattern decodes (gather, both codes) to the value the format
// defines, and packs back to itself; NaNs stay NaNs.
TEST(PackedConversions, EveryPatternRoundTrips) {
  constexpr int64_t kRows = 256, kCols = 256;
  for (int32_t format : {SSM_WEIGHT_BF16, SSM_WEIGHT_F16}) {
    Buffer packed(kRows * kCols * 2);
    for (int64_t p = 0; p < 65536; ++p) {
      packed.data()[2 * p] = static_cast<uint8_t>(p);
      packed.data()[2 * p + 1] = static_cast<uint8_t>(p >> 8);
    }
    std::vector<int64_t> ids(kRows);
    for (int64_t i = 0; i < kRows; ++i)
      ids[i] = i;
    for (bool portable : portableChoices()) {
      SCOPED_TRACE(formatName(format) + (portable ? " portable" : " avx512"));
      Mode mode(portable, -1);
      std::vector<float> values(kRows * kCols);
      ASSERT_EQ(ssm_packed_gather(format, kRows, kCols, packed.data(),
                                  ids.data(), kRows, values.data(), kCols),
                SSM_OK)
          << ssm_last_error();
      for (int64_t p = 0; p < 65536; ++p) {
        uint16_t bits = static_cast<uint16_t>(p);
        double want =
            format == SSM_WEIGHT_F16 ? halfToDouble(bits) : bf16ToDouble(bits);
        if (std::isnan(want))
          ASSERT_TRUE(std::isnan(values[p])) << std::hex << p;
        else
          ASSERT_EQ(values[p], want) << std::hex << p;
        ASSERT_EQ(std::signbit(values[p]), (bits & 0x8000) != 0)
            << std::hex << p;
      }
      std::vector<uint16_t> back = packBits(format, values);
      for (int64_t p = 0; p < 65536; ++p) {
        bool nan = format == SSM_WEIGHT_F16
                       ? (p & 0x7C00) == 0x7C00 && (p & 0x03FF) != 0
                       : (p & 0x7F80) == 0x7F80 && (p & 0x007F) != 0;
        if (nan)
          ASSERT_TRUE((back[p] & 0x7FFF) >
                      (format == SSM_WEIGHT_F16 ? 0x7C00 : 0x7F80))
              << std::hex << p << " -> " << back[p];
        else
          ASSERT_EQ(back[p], p) << std::hex << p;
      }
    }
  }
}

// The f16 and bf16 value nearest to x, ties to the even pattern, found by
// search among all finite patterns (f16 beyond 65520 is infinity; for bf16
// infinity stands after the largest finite value at 2^128).
uint16_t nearestPattern(int32_t format, float x) {
  uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  double magnitude = std::fabs(static_cast<double>(x));
  uint16_t infinity = format == SSM_WEIGHT_F16 ? 0x7C00 : 0x7F80;
  auto value = [&](uint16_t p) {
    if (p == infinity)
      return format == SSM_WEIGHT_F16 ? 65536.0 : std::ldexp(1.0, 128);
    return format == SSM_WEIGHT_F16 ? halfToDouble(p) : bf16ToDouble(p);
  };
  // Positive patterns are ordered like their values: binary search.
  uint16_t lo = 0, hi = infinity;
  if (magnitude >= value(hi))
    return sign | infinity;
  while (hi - lo > 1) {
    uint16_t mid = static_cast<uint16_t>((lo + hi) / 2);
    (value(mid) <= magnitude ? lo : hi) = mid;
  }
  double below = magnitude - value(lo), above = value(hi) - magnitude;
  uint16_t best = below < above ? lo : above < below ? hi : (lo % 2 ? hi : lo);
  return sign | best;
}

TEST(PackedConversions, RoundToNearestEven) {
  std::mt19937 rng(7);
  std::vector<float> values;
  // Random bit patterns over the whole float range, and floats near the f16
  // range's ends, where the rounding has its special cases.
  std::uniform_int_distribution<uint32_t> bits(0, 0xFFFFFFFF);
  for (int i = 0; i < 20000; ++i) {
    uint32_t b = bits(rng);
    float f;
    std::memcpy(&f, &b, sizeof f);
    if (!std::isnan(f))
      values.push_back(f);
  }
  std::uniform_real_distribution<float> near(-30.0f, 17.0f);
  for (int i = 0; i < 20000; ++i) {
    float v = std::exp2(near(rng)) * (i % 2 ? 1.0f : -1.0f);
    values.push_back(v);
    // Exact midpoints of f16 and bf16 neighbors.
    uint16_t h = nearestPattern(SSM_WEIGHT_F16, v);
    if ((h & 0x7FFF) < 0x7BFF)
      values.push_back(static_cast<float>(
          (halfToDouble(h) + halfToDouble(static_cast<uint16_t>(h + 1))) / 2));
  }
  for (int32_t format : {SSM_WEIGHT_F16, SSM_WEIGHT_BF16}) {
    std::vector<uint16_t> got = packBits(format, values);
    for (size_t i = 0; i < values.size(); ++i)
      ASSERT_EQ(got[i], nearestPattern(format, values[i]))
          << formatName(format) << " of " << values[i];
  }
}

//===----------------------------------------------------------------------===//
// Block quantization
//===----------------------------------------------------------------------===//

TEST(PackedQuantization, Q8KnownBlocks) {
  // Row 0: max |x| = 127, so d = 1 and q = roundf(x), halves away from 0.
  // Row 1: max |x| = 63.5, d = 0.5. Row 2: zeros, d = 0.
  float w[3][32] = {};
  const float row0[] = {-127.0f, 2.5f, -2.5f, 0.49f, 126.6f, 1.5f, -1.5f, 0.5f};
  std::copy(std::begin(row0), std::end(row0), w[0]);
  for (int j = 8; j < 32; ++j)
    w[0][j] = static_cast<float>(j) - 20.25f;
  w[1][0] = 0.25f;
  w[1][1] = -0.25f;
  w[1][7] = 63.5f;
  w[1][8] = -10.0f;
  auto packed = pack(SSM_WEIGHT_Q8_0, 3, 32, &w[0][0], 32);
  const uint8_t *p = packed->data();
  EXPECT_EQ(readU16(p + 0), 0x3C00); // 1.0
  EXPECT_EQ(readU16(p + 2), 0x3800); // 0.5
  EXPECT_EQ(readU16(p + 4), 0x0000);
  for (int i = 6; i < 64; ++i)
    EXPECT_EQ(p[i], 0) << "scale padding at " << i;
  const int8_t *q = reinterpret_cast<const int8_t *>(p + 64);
  const int want0[] = {-127, 3, -3, 0, 127, 2, -2, 1};
  for (int j = 0; j < 8; ++j)
    EXPECT_EQ(q[j], want0[j]) << j;
  for (int j = 8; j < 32; ++j)
    EXPECT_EQ(q[j], static_cast<int>(std::lround(j - 20.25))) << j;
  EXPECT_EQ(q[32 + 0], 1); // 0.25 / 0.5: a half, away from zero.
  EXPECT_EQ(q[32 + 1], -1);
  EXPECT_EQ(q[32 + 7], 127);
  EXPECT_EQ(q[32 + 8], -20);
  EXPECT_EQ(q[32 + 2], 0);
  for (int j = 0; j < 32; ++j)
    EXPECT_EQ(q[64 + j], 0);
}

TEST(PackedQuantization, Q4KnownBlocks) {
  // Row 0: the largest magnitude is -8, so d = -8 / -8 = 1 and
  // q = min(15, trunc(x + 8.5)). Row 1: it is +8, so d = -1. Row 2: two
  // elements of magnitude 4, the first (+4) decides: d = -0.5.
  float w[3][32] = {};
  const float row0[] = {-8.0f, 7.6f, 0.5f, -0.5f, 3.49f, 7.4f, -7.5f, 6.5f};
  std::copy(std::begin(row0), std::end(row0), w[0]);
  w[0][16] = 1.0f;  // Element 16: the high nibble of byte 0.
  w[0][31] = -3.0f; // Element 31: the high nibble of byte 15.
  w[1][0] = 8.0f;
  w[1][1] = -8.0f;
  w[1][2] = 2.0f;
  w[2][3] = 4.0f;
  w[2][5] = -4.0f;
  auto packed = pack(SSM_WEIGHT_Q4_0, 3, 32, &w[0][0], 32);
  const uint8_t *p = packed->data();
  EXPECT_EQ(readU16(p + 0), 0x3C00); // 1
  EXPECT_EQ(readU16(p + 2), 0xBC00); // -1
  EXPECT_EQ(readU16(p + 4), 0xB800); // -0.5
  const uint8_t *q = p + 64;
  auto nibble = [&](int row, int j) {
    uint8_t byte = q[row * 16 + j % 16];
    return j < 16 ? byte & 0x0F : byte >> 4;
  };
  // -8 -> 0; 7.6 -> 16, clamped to 15 (decodes to 7); 0.5 -> 9; -0.5 -> 8;
  // 3.49 -> 11; 7.4 -> 15; -7.5 -> 1; 6.5 -> 15; zeros -> 8.
  const int want0[] = {0, 15, 9, 8, 11, 15, 1, 15};
  for (int j = 0; j < 8; ++j)
    EXPECT_EQ(nibble(0, j), want0[j]) << j;
  EXPECT_EQ(nibble(0, 16), 9);
  EXPECT_EQ(nibble(0, 31), 5);
  EXPECT_EQ(nibble(0, 10), 8);
  EXPECT_EQ(q[0], 0x90); // Elements 0 (low) and 16 (high).
  // d = -1: x = 8 -> x / d = -8 -> 0; -8 -> 16 -> 15; 2 -> -2 + 8.5 -> 6.
  EXPECT_EQ(nibble(1, 0), 0);
  EXPECT_EQ(nibble(1, 1), 15);
  EXPECT_EQ(nibble(1, 2), 6);
  EXPECT_EQ(nibble(2, 3), 0);  // 4 / -0.5 = -8.
  EXPECT_EQ(nibble(2, 5), 15); // -4 / -0.5 = 8: clamped.
  // A zero block: d = 0 / -8, which is -0, and every nibble 8.
  float zeros[32] = {};
  auto zero = pack(SSM_WEIGHT_Q4_0, 1, 32, zeros, 32);
  EXPECT_EQ(readU16(zero->data()), 0x8000);
  for (int j = 0; j < 16; ++j)
    EXPECT_EQ(zero->data()[64 + j], 0x88);
}

// GGUF's rules bound the error of every element: Q8_0 rounds x / d to the
// nearest integer (|x / d| <= 127, so never clamped); Q4_0 rounds x / d
// (within [-8, 8]) half up and clamps 8 to 7, so the error is at most |d|
// / 2, or at most |d| where x / d >= 7.5. Decoding uses d rounded to f16,
// which adds |q| |d - d16|; float rounding of x / d adds a hair.
TEST(PackedQuantization, ErrorIsBounded) {
  constexpr int64_t kRows = 64, kCols = 256;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> w(kRows * kCols);
  for (int64_t i = 0; i < kRows; ++i) {
    // Magnitudes from 2^-30 (d subnormal in f16) to 2^12.
    float scale = std::ldexp(1.0f, static_cast<int>(i % 43) - 30);
    for (int64_t j = 0; j < kCols; ++j)
      w[i * kCols + j] = dist(rng) * scale;
  }
  for (int32_t format : {SSM_WEIGHT_Q8_0, SSM_WEIGHT_Q4_0}) {
    SCOPED_TRACE(formatName(format));
    auto packed = pack(format, kRows, kCols, w.data(), kCols);
    std::vector<double> decoded =
        decodeAll(format, kRows, kCols, packed->data());
    for (int64_t i = 0; i < kRows; ++i)
      for (int64_t b = 0; b < kCols / 32; ++b) {
        const float *x = &w[i * kCols + b * 32];
        double d16 = blockScale(packed->data(), kCols, i, b);
        double d = 0, amax = 0;
        for (int j = 0; j < 32; ++j)
          if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            d = format == SSM_WEIGHT_Q8_0 ? amax / 127 : x[j] / -8.0;
          }
        if (format == SSM_WEIGHT_Q8_0)
          d = std::fabs(d);
        for (int j = 0; j < 32; ++j) {
          double got = decoded[i * kCols + b * 32 + j];
          double ratio = d != 0 ? x[j] / d : 0;
          double q = format == SSM_WEIGHT_Q8_0 ? 127 : 8;
          double bound = (format == SSM_WEIGHT_Q4_0 && ratio >= 7.5 - 1e-5
                              ? std::fabs(d)
                              : std::fabs(d) / 2) +
                         q * std::fabs(d - d16) + 1e-4 * std::fabs(d);
          ASSERT_LE(std::fabs(x[j] - got), bound)
              << "row " << i << " block " << b << " element " << j << ": "
              << x[j] << " decoded as " << got << " (d " << d << ", f16 " << d16
              << ")";
        }
      }
  }
}

// A block holding a NaN or an infinity gets d = NaN, so that all its
// elements decode to NaN; the other blocks are unaffected. The 16-bit
// formats keep each non-finite value.
TEST(PackedQuantization, NonFiniteValues) {
  constexpr int64_t kN = 2, kK = 64;
  std::vector<float> w(kN * kK, 0.5f);
  w[0 * kK + 40] = kNaN; // Row 0, block 1.
  w[1 * kK + 3] = -kInf; // Row 1, block 0.
  w[1 * kK + 5] = 1e30f; // Finite, but beyond f16.
  std::vector<int64_t> ids = {0, 1};
  for (int32_t format : kFormats)
    for (bool portable : portableChoices()) {
      SCOPED_TRACE(formatName(format) + (portable ? " portable" : " avx512"));
      Mode mode(portable, -1);
      auto packed = pack(format, kN, kK, w.data(), kK);
      std::vector<float> out(kN * kK);
      ASSERT_EQ(ssm_packed_gather(format, kN, kK, packed->data(), ids.data(), 2,
                                  out.data(), kK),
                SSM_OK);
      for (int64_t i = 0; i < kN; ++i)
        for (int64_t j = 0; j < kK; ++j) {
          float x = w[i * kK + j], got = out[i * kK + j];
          if (isBlockFormat(format)) {
            bool poisoned = (i == 0 && j >= 32) || (i == 1 && j < 32);
            if (poisoned) {
              EXPECT_TRUE(std::isnan(got)) << i << "," << j;
            } else {
              EXPECT_NEAR(got, 0.5, 1e-3) << i << "," << j;
            }
          } else if (std::isnan(x)) {
            EXPECT_TRUE(std::isnan(got));
          } else if (std::isinf(x) || (format == SSM_WEIGHT_F16 && x > 65520)) {
            EXPECT_EQ(got, std::copysign(kInf, x)) << i << "," << j;
          } else if (format == SSM_WEIGHT_BF16 && x == 1e30f) {
            EXPECT_NEAR(got, 1e30, 1e28);
          } else {
            EXPECT_EQ(got, x);
          }
        }
      // A product over a poisoned block is NaN in that column only.
      std::vector<float> a(kK, 1.0f), c(kN, 0.0f);
      ASSERT_EQ(ssm_packed_matmul(format, 1, kN, kK, a.data(), kK,
                                  packed->data(), 0.0f, c.data(), kN),
                SSM_OK);
      EXPECT_TRUE(std::isnan(c[0]));
      EXPECT_FALSE(std::isfinite(c[1]));
    }
}

// Blocks so small that 1 / d overflows float (GGUF converts the resulting
// infinities and NaNs to integers, which is undefined): d rounds to 0 in
// f16, and every element decodes to 0.
TEST(PackedQuantization, TinyBlocksDecodeToZero) {
  std::vector<float> w(64, 0.0f);
  w[1] = 1e-38f;
  w[2] = -3e-38f;
  w[33] = std::numeric_limits<float>::denorm_min();
  for (int32_t format : {SSM_WEIGHT_Q8_0, SSM_WEIGHT_Q4_0}) {
    SCOPED_TRACE(formatName(format));
    auto packed = pack(format, 1, 64, w.data(), 64);
    for (double x : decodeAll(format, 1, 64, packed->data()))
      EXPECT_EQ(x, 0.0);
  }
}

//===----------------------------------------------------------------------===//
// ssm_pack_weights
//===----------------------------------------------------------------------===//

TEST(PackWeights, StridedSourceAndAnyAlignment) {
  constexpr int64_t kN = 5, kK = 64, kLd = 70;
  std::vector<float> strided = randomMatrix(kN, kK, kLd, 11);
  std::vector<float> dense(kN * kK);
  for (int64_t i = 0; i < kN; ++i)
    std::copy_n(&strided[i * kLd], kK, &dense[i * kK]);
  for (int32_t format : kFormats) {
    SCOPED_TRACE(formatName(format));
    int64_t bytes = ssm_packed_bytes(format, kN, kK);
    auto a = pack(format, kN, kK, strided.data(), kLd);
    auto b = pack(format, kN, kK, dense.data(), kK, /*offset=*/3);
    EXPECT_EQ(std::memcmp(a->data(), b->data(), static_cast<size_t>(bytes)), 0);
  }
}

TEST(PackWeights, RejectsBadArguments) {
  float w[64] = {};
  uint8_t dst[512];
  struct Case {
    int32_t format;
    int64_t n, k;
    const float *w;
    int64_t ldw;
    void *dst;
    ssm_status_t status;
    const char *message;
  } cases[] = {
      {SSM_WEIGHT_F32, 1, 32, w, 32, dst, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: format 0 (SSM_WEIGHT_F32) is not a packed format"},
      {7, 1, 32, w, 32, dst, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: unknown weight format 7"},
      {SSM_WEIGHT_BF16, -1, 32, w, 32, dst, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: negative n (-1)"},
      {SSM_WEIGHT_Q8_0, 1, 48, w, 48, dst, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: k 48 is not a multiple of SSM_WEIGHT_BLOCK (32), "
       "which q8_0 needs"},
      {SSM_WEIGHT_F16, 2, 32, w, 31, dst, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: ldw 31 is less than max(1, 32), the length of a "
       "row"},
      {SSM_WEIGHT_F16, 2, 0, w, 0, dst, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: ldw 0 is less than max(1, 0), the length of a row"},
      {SSM_WEIGHT_Q4_0, 2, 32, nullptr, 32, dst, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: w is null but has 2 x 32 elements"},
      {SSM_WEIGHT_Q4_0, 2, 32, w, 32, nullptr, SSM_ERROR_INVALID_ARGUMENT,
       "ssm_pack_weights: dst is null but the matrix takes 96 bytes"},
      {SSM_WEIGHT_BF16, int64_t{1} << 40, 1, w, int64_t{1} << 30, dst,
       SSM_ERROR_OUT_OF_RANGE,
       "ssm_pack_weights: w spans more than the address space (1099511627776 "
       "rows with stride 1073741824)"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.message);
    std::memset(dst, 0xAB, sizeof dst);
    EXPECT_EQ(ssm_pack_weights(c.format, c.n, c.k, c.w, c.ldw, c.dst),
              c.status);
    EXPECT_STREQ(ssm_last_error(), c.message);
    for (uint8_t byte : dst)
      ASSERT_EQ(byte, 0xAB) << "dst written by a failing call";
  }
  // Nothing to pack: null pointers are fine.
  EXPECT_EQ(ssm_pack_weights(SSM_WEIGHT_Q8_0, 0, 64, nullptr, 64, nullptr),
            SSM_OK);
  EXPECT_EQ(ssm_pack_weights(SSM_WEIGHT_BF16, 3, 0, nullptr, 1, nullptr),
            SSM_OK);
}

//===----------------------------------------------------------------------===//
// ssm_packed_matmul
//===----------------------------------------------------------------------===//

struct Problem {
  int32_t format;
  int64_t n, k, lda, ldc;
  std::unique_ptr<Buffer> packed;
  std::vector<double> w; // Decoded here.
};

Problem makeProblem(int32_t format, int64_t n, int64_t k, int64_t ldaPad,
                    int64_t ldcPad) {
  Problem p{format, n, k, k + ldaPad, n + ldcPad, nullptr, {}};
  std::vector<float> source =
      randomMatrix(n, k, k, static_cast<unsigned>(n * 31 + k));
  p.packed = pack(format, n, k, source.data(), k);
  p.w = decodeAll(format, n, k, p.packed->data());
  return p;
}

// C's reference: for each element, sum a w, sum |a w| (before beta).
struct Reference {
  std::vector<double> sum, magnitude;
};

template <typename T>
Reference reference(const Problem &p, int64_t m, const std::vector<T> &a) {
  Reference r{std::vector<double>(m * p.n), std::vector<double>(m * p.n)};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int64_t q = 0; q < p.k; ++q) {
        double term = a[i * p.lda + q] * p.w[j * p.k + q];
        sum += term;
        magnitude += std::fabs(term);
      }
      r.sum[i * p.n + j] = sum;
      r.magnitude[i * p.n + j] = magnitude;
    }
  return r;
}

// A as Q8_0 and Q4_0 products with AVX-512 VNNI multiply it (runtime.h):
// each block of 32 elements of a row in 8 bits, d = max |a| / 127 in f32,
// q = a / d (f32) rounded to nearest even; NaN for a block holding a NaN
// or an infinity. The padding past k stays NaN.
std::vector<double> quantizeRows(int64_t m, int64_t k, int64_t lda,
                                 const std::vector<float> &a) {
  std::vector<double> q(a.begin(), a.end());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t b = 0; b < k / SSM_WEIGHT_BLOCK; ++b) {
      const float *x = &a[i * lda + b * SSM_WEIGHT_BLOCK];
      float amax = 0.0f;
      bool finite = true;
      for (int t = 0; t < SSM_WEIGHT_BLOCK; ++t) {
        finite = finite && std::isfinite(x[t]);
        amax = std::max(amax, std::fabs(x[t]));
      }
      float d = amax / 127.0f;
      for (int t = 0; t < SSM_WEIGHT_BLOCK; ++t) {
        double &out = q[i * lda + b * SSM_WEIGHT_BLOCK + t];
        if (!finite)
          out = kNaN;
        else if (d == 0.0f)
          out = 0.0;
        else
          out = std::clamp(std::nearbyint(x[t] / d), -127.0f, 127.0f) *
                static_cast<double>(d);
      }
    }
  return q;
}

// A as bf16 products on CPUs with AMX-BF16 multiply it (runtime.h): each
// element rounded to bf16, to nearest even, a subnormal to zero. The
// padding past k stays NaN.
std::vector<double> roundRowsBf16(int64_t m, int64_t k, int64_t lda,
                                  const std::vector<float> &a) {
  std::vector<double> r(a.begin(), a.end());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t q = 0; q < k; ++q) {
      float x = a[i * lda + q];
      double &out = r[i * lda + q];
      if (std::isnan(x)) {
        out = kNaN;
      } else if (std::fabs(x) < std::numeric_limits<float>::min()) {
        out = std::copysign(0.0, x);
      } else {
        uint32_t u;
        std::memcpy(&u, &x, sizeof u);
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000u;
        std::memcpy(&x, &u, sizeof u);
        out = x;
      }
    }
  return r;
}

// Whether ssm_packed_matmul multiplies A in lower precision, in the
// AVX-512 code (in registers and in panels alike): Q8_0 and Q4_0 in 8 bits
// on a CPU with VNNI, bf16 in bf16 on a CPU with AMX-BF16.
bool reducedA(int32_t format, bool portable) {
  if (portable)
    return false;
  if (format == SSM_WEIGHT_BF16)
    return ssm_internal_packed_has_amx_bf16();
  return isBlockFormat(format) && ssm_internal_packed_has_vnni();
}

// A as reducedA's products see it.
std::vector<double> reduceRows(int32_t format, int64_t m, int64_t k,
                               int64_t lda, const std::vector<float> &a) {
  return format == SSM_WEIGHT_BF16 ? roundRowsBf16(m, k, lda, a)
                                   : quantizeRows(m, k, lda, a);
}

// Runs C = A W^T + beta C and checks every element of C, padding included.
void checkProduct(const Problem &p, int64_t m, const std::vector<float> &a,
                  const Reference &r, float beta, bool panels,
                  bool kernel = false) {
  std::mt19937 rng(static_cast<unsigned>(m + p.n));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> c(static_cast<size_t>(m * p.ldc));
  for (float &x : c)
    x = dist(rng);
  std::vector<float> before = c;
  // With beta == 0, C's old values (here NaN) must not leak in.
  if (beta == 0.0f)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < p.n; ++j)
        c[i * p.ldc + j] = kNaN;
  if (kernel) {
    ssm_kernel_packed_matmul(p.format, m, p.n, p.k, a.data(), p.lda,
                             p.packed->data(), beta, c.data(), p.ldc);
  } else {
    ASSERT_EQ(ssm_packed_matmul(p.format, m, p.n, p.k, a.data(), p.lda,
                                p.packed->data(), beta, c.data(), p.ldc),
              SSM_OK)
        << ssm_last_error();
  }
  double relative = panels ? 4.0 * static_cast<double>(p.k) * kEps : 1e-5;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < p.ldc; ++j) {
      float got = c[i * p.ldc + j];
      if (j >= p.n) {
        ASSERT_EQ(got, before[i * p.ldc + j]) << "padding at " << i << "," << j;
        continue;
      }
      double old = beta == 0.0f ? 0.0 : before[i * p.ldc + j];
      double want = r.sum[i * p.n + j] + beta * old;
      double tolerance =
          relative * (r.magnitude[i * p.n + j] + std::fabs(beta * old));
      ASSERT_NEAR(got, want, tolerance) << "at " << i << "," << j;
    }
}

class PackedMatmul : public ::testing::TestWithParam<int32_t> {
protected:
  void TearDown() override { ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK); }
};

// Every m, k (16-bit formats also k not a multiple of 32), beta 0 and 1,
// both paths, both codes, one and two threads. n = 203 is a multiple of
// neither the register tiles (4 or 2 columns), the work items (64) nor the
// panels (128), and splits over two threads on both paths.
TEST_P(PackedMatmul, MatchesDoublePrecisionReference) {
  ASSERT_EQ(ssm_blas_status(), SSM_OK) << ssm_last_error();
  int32_t format = GetParam();
  std::vector<int64_t> ks = {32, 64, 768, 800};
  if (!isBlockFormat(format))
    ks.insert(ks.end(), {5, 100});
  for (int64_t k : ks) {
    Problem p = makeProblem(format, 203, k, k % 3, 5);
    for (int64_t m : {1, 2, 7, 8, 9, 33, 130}) {
      std::vector<float> a =
          randomMatrix(m, k, p.lda, static_cast<unsigned>(m));
      Reference r = reference(p, m, a);
      Reference rq = reference(p, m, reduceRows(format, m, k, p.lda, a));
      for (bool portable : portableChoices())
        for (bool panels : {false, true})
          for (int threads : {1, 2})
            for (float beta : {0.0f, 1.0f}) {
              SCOPED_TRACE(formatName(format) + " k=" + std::to_string(k) +
                           " m=" + std::to_string(m) +
                           (portable ? " portable" : " avx512") +
                           (panels ? " panels" : " registers") +
                           " threads=" + std::to_string(threads) +
                           " beta=" + std::to_string(beta));
              ASSERT_EQ(ssm_set_num_threads(threads), SSM_OK);
              Mode mode(portable, panels ? 0 : INT64_MAX);
              checkProduct(p, m, a,
                           reducedA(format, portable) ? rq : r, beta,
                           panels);
              if (HasFatalFailure())
                return;
            }
    }
  }
}

// The runtime's own choice of path, the kernel entry point, a beta other
// than 0 and 1, weights at an odd address, and one column.
TEST_P(PackedMatmul, DefaultPathsKernelAndOddShapes) {
  int32_t format = GetParam();
  for (bool portable : portableChoices())
    for (int64_t m : {1, 2, 4, 5, 31, 32, 33}) {
      SCOPED_TRACE(std::to_string(m) + (portable ? " portable" : " avx512"));
      Mode mode(portable, -1);
      Problem p = makeProblem(format, 70, 96, 1, 2);
      std::vector<float> a = randomMatrix(m, p.k, p.lda, 5);
      bool reduced = reducedA(format, portable);
      Reference r = reduced ? reference(p, m, reduceRows(format, m, p.k, p.lda, a))
                             : reference(p, m, a);
      // Which path ran is not visible: allow the panels' tolerance.
      checkProduct(p, m, a, r, 0.5f, /*panels=*/true);
      checkProduct(p, m, a, r, 0.0f, /*panels=*/true, /*kernel=*/true);
      // The same bytes one byte off alignment.
      int64_t bytes = ssm_packed_bytes(format, p.n, p.k);
      auto odd = std::make_unique<Buffer>(bytes, 1);
      std::memcpy(odd->data(), p.packed->data(), static_cast<size_t>(bytes));
      p.packed = std::move(odd);
      checkProduct(p, m, a, r, 1.0f, /*panels=*/true);
      Problem column = makeProblem(format, 1, 64, 0, 0);
      std::vector<float> b = randomMatrix(m, 64, 64, 9);
      checkProduct(column, m, b,
                   reduced ? reference(column, m, reduceRows(format, m, 64, 64, b))
                            : reference(column, m, b),
                   0.0f, true);
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, PackedMatmul, ::testing::ValuesIn(kFormats),
                         [](const ::testing::TestParamInfo<int32_t> &info) {
                           return formatName(info.param);
                         });

// Q8_0 and Q4_0 with A in 8 bits: within the bound the quantization
// promises of the exact product, sum over blocks of d / 2 * sum |w| (plus
// rounding), and non-finite or tiny blocks of A handled as runtime.h says,
// in registers and in the prompt panels (n = 59: a full panel of 32
// columns and one of 27, which ends inside its second vector). A block of
// Q8_0 quants -128, which ssm_pack_weights does not make but a weights file
// may hold, checks that the offset of 128 is exact.
TEST(PackedMatmulEightBitA, BoundAndSpecialBlocks) {
  if (!ssm_internal_packed_has_vnni())
    GTEST_SKIP() << "the CPU has no AVX-512 VNNI: A stays in f32";
  for (int32_t format : {SSM_WEIGHT_Q8_0, SSM_WEIGHT_Q4_0})
    for (int64_t registerRows : {INT64_MAX, int64_t{0}}) {
      SCOPED_TRACE(formatName(format) +
                   (registerRows ? " registers" : " panels"));
      Mode mode(false, registerRows);
      constexpr int64_t kN = 59, kK = 160, kBlocks = kK / SSM_WEIGHT_BLOCK;
      Problem p = makeProblem(format, kN, kK, 0, 0);
      if (format == SSM_WEIGHT_Q8_0) {
        uint8_t *quants = p.packed->data() + scaleRegionBytes(kN, kK);
        std::memset(quants + 3 * kK + SSM_WEIGHT_BLOCK, 0x80,
                    SSM_WEIGHT_BLOCK);
        p.w = decodeAll(format, kN, kK, p.packed->data());
      }
      std::vector<float> a = randomMatrix(4, kK, kK, 11);
      // Row 1: a huge block and a tiny (subnormal) block; row 2: a NaN in
      // block 3; row 3: an infinity in block 0.
      for (int t = 0; t < SSM_WEIGHT_BLOCK; ++t) {
        a[kK + t] *= 1e30f;
        a[kK + 2 * SSM_WEIGHT_BLOCK + t] = 1e-40f * static_cast<float>(t - 16);
      }
      a[2 * kK + 3 * SSM_WEIGHT_BLOCK + 5] = kNaN;
      a[3 * kK + 7] = -kInf;
      std::vector<float> c(4 * kN);
      ASSERT_EQ(ssm_packed_matmul(format, 4, kN, kK, a.data(), kK,
                                  p.packed->data(), 0.0f, c.data(), kN),
                SSM_OK)
          << ssm_last_error();
      Reference exact = reference(p, 2, a);
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < kN; ++j) {
          double bound = 1e-5 * exact.magnitude[i * kN + j];
          for (int64_t b = 0; b < kBlocks; ++b) {
            double amax = 0, wsum = 0;
            for (int t = 0; t < SSM_WEIGHT_BLOCK; ++t) {
              int64_t q = b * SSM_WEIGHT_BLOCK + t;
              amax = std::max(amax, std::fabs(double(a[i * kK + q])));
              wsum += std::fabs(p.w[j * kK + q]);
            }
            bound += amax / 127 / 2 * wsum * (1 + 1e-6);
          }
          EXPECT_NEAR(c[i * kN + j], exact.sum[i * kN + j], bound)
              << "at " << i << "," << j;
        }
      for (int64_t i = 2; i < 4; ++i)
        for (int64_t j = 0; j < kN; ++j)
          EXPECT_TRUE(std::isnan(c[i * kN + j])) << "at " << i << "," << j;
    }
}

// SSM_Q8_0_A=f32, SSM_Q4_0_A=f32 and SSM_BF16_A=f32 keep A in f32 for
// their format (the exact reference's tolerance holds); any value but the
// reduced one and f32 fails the call, and C is not written, and
// ssm_packed_check_environment names it. Each format reads its own
// variable only; f16 reads none.
TEST(PackedMatmulEightBitA, EnvironmentChoosesA) {
  struct Case {
    int32_t format, others[2];
    const char *variable, *reduced;
  } cases[] = {
      {SSM_WEIGHT_Q8_0, {SSM_WEIGHT_Q4_0, SSM_WEIGHT_BF16}, "SSM_Q8_0_A",
       "int8"},
      {SSM_WEIGHT_Q4_0, {SSM_WEIGHT_Q8_0, SSM_WEIGHT_F16}, "SSM_Q4_0_A",
       "int8"},
      {SSM_WEIGHT_BF16, {SSM_WEIGHT_Q8_0, SSM_WEIGHT_F16}, "SSM_BF16_A",
       "bf16"}};
  for (const Case &t : cases) {
    SCOPED_TRACE(t.variable);
    Problem p = makeProblem(t.format, 20, 64, 0, 0);
    std::vector<float> a = randomMatrix(3, 64, 64, 4);
    Reference r = reference(p, 3, a);
    ASSERT_EQ(setenv(t.variable, "f32", 1), 0);
    checkProduct(p, 3, a, r, 0.0f, /*panels=*/false);
    EXPECT_EQ(ssm_packed_check_environment(), SSM_OK) << ssm_last_error();
    ASSERT_EQ(setenv(t.variable, "int4", 1), 0);
    std::vector<float> c(3 * 20, 7.0f);
    EXPECT_EQ(ssm_packed_matmul(t.format, 3, 20, 64, a.data(), 64,
                                p.packed->data(), 0.0f, c.data(), 20),
              SSM_ERROR_INVALID_ARGUMENT);
    std::string message = std::string(t.variable) + " is \"int4\"; set it to " +
                          t.reduced + " (the default) or f32";
    EXPECT_EQ(std::string(ssm_last_error()), "ssm_packed_matmul: " + message);
    for (float x : c)
      ASSERT_EQ(x, 7.0f);
    EXPECT_EQ(ssm_packed_check_environment(), SSM_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(std::string(ssm_last_error()),
              "ssm_packed_check_environment: " + message);
    for (int32_t other : t.others) {
      Problem q = makeProblem(other, 20, 64, 0, 0);
      EXPECT_EQ(ssm_packed_matmul(other, 3, 20, 64, a.data(), 64,
                                  q.packed->data(), 0.0f, c.data(), 20),
                SSM_OK)
          << ssm_last_error();
    }
    ASSERT_EQ(unsetenv(t.variable), 0);
    EXPECT_EQ(ssm_packed_check_environment(), SSM_OK) << ssm_last_error();
  }
}

TEST(PackedMatmulEdges, EmptyProductsAndKZero) {
  float c[6] = {1, 2, 3, 4, 5, 6};
  // m == 0 or n == 0: nothing to do, null matrices without elements.
  EXPECT_EQ(ssm_packed_matmul(SSM_WEIGHT_Q8_0, 0, 3, 32, nullptr, 32, c, 0.0f,
                              nullptr, 3),
            SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(
      ssm_packed_matmul(SSM_WEIGHT_BF16, 2, 0, 5, c, 5, nullptr, 0.0f, c, 1),
      SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(c[0], 1.0f);
  // k == 0: C = beta * C; beta == 0 writes zeros over NaN.
  EXPECT_EQ(ssm_packed_matmul(SSM_WEIGHT_Q4_0, 2, 3, 0, nullptr, 1, nullptr,
                              2.0f, c, 3),
            SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(c[0], 2.0f);
  EXPECT_EQ(c[5], 12.0f);
  std::fill(std::begin(c), std::end(c), kNaN);
  EXPECT_EQ(ssm_packed_matmul(SSM_WEIGHT_F16, 2, 3, 0, nullptr, 1, nullptr,
                              0.0f, c, 3),
            SSM_OK);
  for (float x : c)
    EXPECT_EQ(x, 0.0f);
}

TEST(PackedMatmulEdges, RejectsBadArguments) {
  std::vector<float> a(256, 1.0f), c(256, 7.0f);
  std::vector<uint8_t> w(4096, 0);
  const float *A = a.data();
  const void *W = w.data();
  float *C = c.data();
  struct Case {
    const char *what;
    ssm_status_t status;
    int32_t format;
    int64_t m, n, k, lda, ldc;
    const float *a;
    const void *w;
    float *c;
  } cases[] = {
      {"format 0 (SSM_WEIGHT_F32) is not a packed format",
       SSM_ERROR_INVALID_ARGUMENT, 0, 2, 2, 32, 32, 2, A, W, C},
      {"unknown weight format 9", SSM_ERROR_INVALID_ARGUMENT, 9, 2, 2, 32, 32,
       2, A, W, C},
      {"negative m (-1)", SSM_ERROR_INVALID_ARGUMENT, 1, -1, 2, 32, 32, 2, A, W,
       C},
      {"negative n (-2)", SSM_ERROR_INVALID_ARGUMENT, 1, 2, -2, 32, 32, 2, A, W,
       C},
      {"negative k (-3)", SSM_ERROR_INVALID_ARGUMENT, 1, 2, 2, -3, 32, 2, A, W,
       C},
      {"k 40 is not a multiple of SSM_WEIGHT_BLOCK (32), which q4_0 needs",
       SSM_ERROR_INVALID_ARGUMENT, SSM_WEIGHT_Q4_0, 2, 2, 40, 40, 2, A, W, C},
      {"lda 31 is less than max(1, 32), the length of a row",
       SSM_ERROR_INVALID_ARGUMENT, SSM_WEIGHT_Q8_0, 2, 2, 32, 31, 2, A, W, C},
      {"lda 0 is less than max(1, 0)", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_BF16, 2, 2, 0, 0, 2, A, W, C},
      {"ldc 1 is less than max(1, 2)", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_F16, 2, 2, 32, 32, 1, A, W, C},
      {"lda 2147483648 exceeds the BLAS's int (2147483647)",
       SSM_ERROR_OUT_OF_RANGE, SSM_WEIGHT_F16, 1, 2, 32, int64_t{INT_MAX} + 1,
       2, A, W, C},
      {"ldc 4294967296 exceeds", SSM_ERROR_OUT_OF_RANGE, SSM_WEIGHT_F16, 1, 2,
       32, 32, int64_t{1} << 32, A, W, C},
      {"a is null but has 2 x 32 elements", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_Q8_0, 2, 2, 32, 32, 2, nullptr, W, C},
      {"w is null but has 2 x 32 elements", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_Q8_0, 2, 2, 32, 32, 2, A, nullptr, C},
      {"c is null but has 2 x 2 elements", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_Q8_0, 2, 2, 32, 32, 2, A, W, nullptr},
      // C has elements even when k == 0.
      {"c is null but has 2 x 2 elements", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_Q8_0, 2, 2, 0, 1, 2, nullptr, nullptr, nullptr},
      {"a spans more than the address space (1099511627776 rows with stride "
       "1073741824)",
       SSM_ERROR_OUT_OF_RANGE, SSM_WEIGHT_Q4_0, int64_t{1} << 40, 1, 32,
       int64_t{1} << 30, 1, A, W, C},
      {"c spans more than the address space", SSM_ERROR_OUT_OF_RANGE,
       SSM_WEIGHT_Q4_0, int64_t{1} << 40, 1, 32, 32, int64_t{1} << 30, A, W, C},
  };
  for (const Case &t : cases) {
    SCOPED_TRACE(t.what);
    ssm_clear_error();
    EXPECT_EQ(ssm_packed_matmul(t.format, t.m, t.n, t.k, t.a, t.lda, t.w, 0.0f,
                                t.c, t.ldc),
              t.status);
    std::string message = ssm_last_error();
    EXPECT_EQ(message.rfind("ssm_packed_matmul: ", 0), 0u) << message;
    EXPECT_NE(message.find(t.what), std::string::npos) << message;
    for (float x : c)
      ASSERT_EQ(x, 7.0f) << "C written by a failing call";
  }
}

// Application threads may run products at once; each thread's panel buffer
// is its own (and freed when the thread exits).
TEST(PackedMatmulEdges, ConcurrentCallers) {
  constexpr int kThreads = 4;
  constexpr int64_t kM = 40, kN = 150, kK = 64;
  Problem p = makeProblem(SSM_WEIGHT_Q8_0, kN, kK, 0, 0);
  std::vector<std::vector<float>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> a(kM * kK, static_cast<float>(t + 1));
      std::vector<float> &c = results[t];
      c.assign(kM * kN, 0.0f);
      for (int repeat = 0; repeat < 20; ++repeat)
        if (ssm_packed_matmul(p.format, kM, kN, kK, a.data(), kK,
                              p.packed->data(), 0.0f, c.data(), kN) != SSM_OK)
          c.assign(kM * kN, kNaN);
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    for (int64_t j = 0; j < kN; ++j) {
      double want = 0;
      for (int64_t q = 0; q < kK; ++q)
        want += (t + 1) * p.w[j * kK + q];
      for (int64_t i = 0; i < kM; ++i)
        ASSERT_NEAR(results[t][i * kN + j], want, 1e-4 * std::fabs(want) + 1e-6)
            << t << " " << i << " " << j;
    }
}

TEST(PackedMatmulDeathTest, KernelAbortsWithTheMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  float x[64] = {};
  EXPECT_DEATH(ssm_kernel_packed_matmul(SSM_WEIGHT_Q8_0, 2, 2, 32, nullptr, 32,
                                        x, 0.0f, x, 2),
               "^ssm runtime: ssm_kernel_packed_matmul: a is null but has 2 x "
               "32 elements\n");
  EXPECT_DEATH(ssm_kernel_packed_gather(SSM_WEIGHT_F16, 4, 8, x,
                                        std::vector<int64_t>{1, 4}.data(), 2, x,
                                        8),
               "^ssm runtime: ssm_kernel_packed_gather: ids\\[1\\] = 4 is "
               "outside \\[0, 4\\)\n");
}

//===----------------------------------------------------------------------===//
// ssm_packed_gather
//===----------------------------------------------------------------------===//

TEST(PackedGather, RowsDecodeExactly) {
  for (int32_t format : kFormats)
    for (int64_t k : {32, 96, 800}) {
      Problem p = makeProblem(format, 37, k, 0, 0);
      std::vector<int64_t> ids = {0, 36, 5, 5, 17, 0, 1};
      int64_t ldo = k + 3, count = static_cast<int64_t>(ids.size());
      for (bool portable : portableChoices()) {
        SCOPED_TRACE(formatName(format) + " k=" + std::to_string(k) +
                     (portable ? " portable" : " avx512"));
        Mode mode(portable, -1);
        std::vector<float> out(count * ldo, -7.0f);
        ASSERT_EQ(ssm_packed_gather(format, p.n, k, p.packed->data(),
                                    ids.data(), count, out.data(), ldo),
                  SSM_OK)
            << ssm_last_error();
        for (int64_t i = 0; i < count; ++i)
          for (int64_t j = 0; j < ldo; ++j) {
            // The decoded values are exact in f32 in every format.
            double want = j < k ? p.w[ids[i] * k + j] : -7.0;
            ASSERT_EQ(out[i * ldo + j], want) << i << "," << j;
          }
      }
    }
  // 16-bit rows of any length.
  Problem p = makeProblem(SSM_WEIGHT_F16, 3, 5, 0, 0);
  int64_t id = 2;
  float out[5];
  ASSERT_EQ(
      ssm_packed_gather(SSM_WEIGHT_F16, 3, 5, p.packed->data(), &id, 1, out, 5),
      SSM_OK);
  for (int j = 0; j < 5; ++j)
    EXPECT_EQ(out[j], p.w[2 * 5 + j]);
}

TEST(PackedGather, RejectsBadArguments) {
  // The vocabulary of a Mamba model, one block per row.
  constexpr int64_t kVocab = 50280, kK = 32;
  int64_t bytes = ssm_packed_bytes(SSM_WEIGHT_Q4_0, kVocab, kK);
  std::vector<uint8_t> table(static_cast<size_t>(bytes), 0);
  std::vector<float> out(4 * kK, 7.0f);
  const int64_t far[] = {1, 2, 3, 70000};
  const int64_t negative[] = {-1, 0};
  const int64_t good[] = {0, 1};
  const void *W = table.data();
  float *O = out.data();
  struct Case {
    const char *message;
    ssm_status_t status;
    int32_t format;
    int64_t n, k;
    const void *w;
    const int64_t *ids;
    int64_t count;
    float *out;
    int64_t ldo;
  } cases[] = {
      {"ssm_packed_gather: ids[3] = 70000 is outside [0, 50280)",
       SSM_ERROR_OUT_OF_RANGE, SSM_WEIGHT_Q4_0, kVocab, kK, W, far, 4, O, kK},
      {"ssm_packed_gather: ids[0] = -1 is outside [0, 50280)",
       SSM_ERROR_OUT_OF_RANGE, SSM_WEIGHT_Q4_0, kVocab, kK, W, negative, 2, O,
       kK},
      {"ssm_packed_gather: ids[1] = 1 is outside [0, 1)",
       SSM_ERROR_OUT_OF_RANGE, SSM_WEIGHT_Q4_0, 1, kK, W, good, 2, O, kK},
      {"ssm_packed_gather: format 0 (SSM_WEIGHT_F32) is not a packed format",
       SSM_ERROR_INVALID_ARGUMENT, 0, kVocab, kK, W, good, 2, O, kK},
      {"ssm_packed_gather: unknown weight format 6", SSM_ERROR_INVALID_ARGUMENT,
       6, kVocab, kK, W, good, 2, O, kK},
      {"ssm_packed_gather: negative count (-1)", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_Q4_0, kVocab, kK, W, good, -1, O, kK},
      {"ssm_packed_gather: negative n (-5)", SSM_ERROR_INVALID_ARGUMENT,
       SSM_WEIGHT_Q4_0, -5, kK, W, good, 2, O, kK},
      {"ssm_packed_gather: k 20 is not a multiple of SSM_WEIGHT_BLOCK (32), "
       "which q4_0 needs",
       SSM_ERROR_INVALID_ARGUMENT, SSM_WEIGHT_Q4_0, kVocab, 20, W, good, 2, O,
       kK},
      {"ssm_packed_gather: ldo 31 is less than max(1, 32), the length of a "
       "row",
       SSM_ERROR_INVALID_ARGUMENT, SSM_WEIGHT_Q4_0, kVocab, kK, W, good, 2, O,
       31},
      {"ssm_packed_gather: w is null but has 50280 x 32 elements",
       SSM_ERROR_INVALID_ARGUMENT, SSM_WEIGHT_Q4_0, kVocab, kK, nullptr, good,
       2, O, kK},
      {"ssm_packed_gather: ids is null but count is 2",
       SSM_ERROR_INVALID_ARGUMENT, SSM_WEIGHT_Q4_0, kVocab, kK, W, nullptr, 2,
       O, kK},
      {"ssm_packed_gather: out is null but has 2 x 32 elements",
       SSM_ERROR_INVALID_ARGUMENT, SSM_WEIGHT_Q4_0, kVocab, kK, W, good, 2,
       nullptr, kK},
      {"ssm_packed_gather: out spans more than the address space "
       "(1099511627776 rows with stride 1073741824)",
       SSM_ERROR_OUT_OF_RANGE, SSM_WEIGHT_Q4_0, kVocab, kK, W, good,
       int64_t{1} << 40, O, int64_t{1} << 30},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.message);
    ssm_clear_error();
    EXPECT_EQ(ssm_packed_gather(c.format, c.n, c.k, c.w, c.ids, c.count, c.out,
                                c.ldo),
              c.status);
    EXPECT_STREQ(ssm_last_error(), c.message);
    for (float x : out)
      ASSERT_EQ(x, 7.0f) << "out written by a failing call";
  }
  // Nothing to gather: null pointers are fine.
  EXPECT_EQ(ssm_packed_gather(SSM_WEIGHT_Q8_0, kVocab, kK, W, nullptr, 0,
                              nullptr, kK),
            SSM_OK);
  EXPECT_EQ(
      ssm_packed_gather(SSM_WEIGHT_BF16, 0, 0, nullptr, nullptr, 0, nullptr, 1),
      SSM_OK);
}

//===----------------------------------------------------------------------===//
// Without a BLAS (ctest: ssm-runtime-packed-without-blas)
//===----------------------------------------------------------------------===//

// Decoding in registers needs no BLAS, nor do the AVX-512 code's prompt
// tiles (f32, and 8 bits for Q4_0 with VNNI); the portable code's panels do,
// and their products fail like ssm_sgemm's, before anything is written.
TEST(PackedWithoutBlas, RegistersWorkPanelsFailCleanly) {
  if (!std::getenv("SSM_TEST_PACKED_WITHOUT_BLAS"))
    GTEST_SKIP() << "run by ctest with SSM_BLAS naming a missing library";
  ASSERT_EQ(ssm_blas_status(), SSM_ERROR_UNAVAILABLE);
  std::vector<float> a = randomMatrix(40, 64, 64, 2);
  for (int32_t format : kFormats) {
    Problem p = makeProblem(format, 10, 64, 0, 0);
    Reference r = reducedA(format, false)
                      ? reference(p, 40, reduceRows(format, 40, 64, 64, a))
                      : reference(p, 40, a);
    for (bool portable : portableChoices()) {
      SCOPED_TRACE(formatName(format) + (portable ? " portable" : " avx512"));
      Mode registers(portable, INT64_MAX);
      checkProduct(p, 40, a,
                   reducedA(format, portable) ? r : reference(p, 40, a),
                   1.0f, false);
    }
    if (ssm_internal_packed_has_avx512()) {
      Mode tiles(false, 0);
      checkProduct(p, 40, a, r, 1.0f, /*panels=*/true);
    }
  }
  Problem q8 = makeProblem(SSM_WEIGHT_Q8_0, 10, 64, 0, 0);
  Mode panels(true, 0);
  std::vector<float> c(10, 7.0f);
  EXPECT_EQ(ssm_packed_matmul(SSM_WEIGHT_Q8_0, 1, 10, 64, a.data(), 64,
                              q8.packed->data(), 0.0f, c.data(), 10),
            SSM_ERROR_UNAVAILABLE);
  std::string message = ssm_last_error();
  EXPECT_EQ(message.rfind("ssm_packed_matmul: no CBLAS library: tried ", 0), 0u)
      << message;
  for (float x : c)
    EXPECT_EQ(x, 7.0f) << "C written by a failing call";
}

} // namespace
