//===- packed.c - Products with weights stored in 16, 8 or 4 bits ---------===//
//
// Part of ssmc. Decoding one token of a Mamba model reads every weight once
// per token and does two flops with it, so its speed is the speed at which
// the weights stream from memory; storing them in 16, 8 or 4 bits instead of
// 32 is what makes decoding faster, provided the product reads the packed
// bytes directly. So there are two ways to multiply:
//  - a few rows of A (decoding; how few: kRegisterRowsAvx512, ...Portable):
//    each block of 32 weights is decoded in registers and used at once for
//    every row of A;
//  - more rows (a prompt): the flops dominate. Panels of W's rows are
//    decoded into a per-thread buffer small enough to stay in cache, in the
//    layout of an sgemm kernel's register tiles, which the AVX-512 code
//    then runs itself; the portable code multiplies f32 panels with the
//    BLAS;
//  - Q8_0 and Q4_0 on CPUs with AVX-512 VNNI multiply A rounded to 8 bits
//    by the weights' quants in integers (as llama.cpp does), in registers
//    for a few rows and from panels of unpacked quants for more, several
//    times faster than f32 arithmetic can be.
// All split the columns of C over the runtime's pool, like ssm_sgemm.
//
// The decoding of a block of weights is written once in portable C
// (decode_block: the gather, the panels and the portable product use it)
// and once with AVX-512 intrinsics, chosen at run time, because the
// portable code is several times slower than the memory it reads.
//
// Packed bytes are read with unaligned loads (memcpy, loadu), so any
// alignment of the weights works; 64 bytes, what ssm_buffer_alloc and
// the weights file give, keeps blocks from straddling cache lines. 16-bit
// values are in the machine's byte order (little-endian on every target the
// compiler emits code for).
//
//===----------------------------------------------------------------------===//

#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE // syscall

#include "internal.h"
#include "ssm/model_abi.h"

#include <float.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SSM_PACKED_AVX512 1
#include <immintrin.h>
#else
#define SSM_PACKED_AVX512 0
#endif

enum {
  kBlock = SSM_WEIGHT_BLOCK,
  // Rows of A per register tile: their sums for two to four columns of C
  // fill the 32 vector registers. More rows are done in groups of these.
  kTileRows = 8,
  // Up to how many rows of A the product decodes in registers rather than
  // into panels (docs/runtime.md has the measurements). With AVX-512, the
  // register tiles beat the f32 panel tiles up to 24-32 rows (bf16, 3072 x
  // 768), as they beat decoding panels for OpenBLAS's sgemm up to about 40
  // rows. The portable code (compiled for the baseline
  // instruction set) is within 5 % of a decoded panel and the BLAS's
  // AVX-512 sgemv at one row for 16-bit formats, 10-35 % slower for the
  // block formats, and needs neither buffer nor BLAS; from two rows on it
  // falls behind by 2-4x.
  kRegisterRowsAvx512 = 32,
  kRegisterRowsPortable = 1,
  // A in 8 bits: Q4_0's 8-bit panels cost about one and a half one-row
  // products to unpack and are faster from 4-6 rows on (in cache from 3);
  // Q8_0's take twice the gathers and are faster from 8-12 rows on
  // (docs/runtime.md).
  kRegisterRowsEightBitQ4 = 4,
  kRegisterRowsEightBitQ8 = 8,
  // bf16 with AMX: the tile unit's panels are faster from 8-12 rows on
  // (docs/runtime.md).
  kRegisterRowsAmx = 8,
  // Columns of C per work item of the register path: few enough to balance
  // a 768-column projection over the threads; the rows of W they cover stay
  // in L2 when m > kTileRows reads them again.
  kRegisterColumns = 64,
  // Bytes of one decoded panel: the BLAS reads it while it is still in L2
  // (2 MiB per core on the Xeon measured). Panels of 128 rows were 5-20 %
  // faster than 64 (m = 130, 512); more gained little and balances worse.
  kPanelBytes = 1024 * 1024,
  kPanelMinRows = 16,
  kPanelMaxRows = 128,
};

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//
//
// In integer arithmetic, so that the rounding does not depend on the
// floating-point environment (rounding mode, flush-to-zero).

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

// Rounds the integer `value`, shifted right by `shift` (1..31), to nearest
// even.
static uint32_t shift_round_even(uint32_t value, uint32_t shift) {
  uint32_t kept = value >> shift;
  uint32_t rest = value & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  return kept + (rest > half || (rest == half && (kept & 1)));
}

static uint16_t f32_to_f16(float f) {
  uint32_t x = float_bits(f);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t magnitude = x & 0x7FFFFFFF;
  if (magnitude > 0x7F800000) // NaN: stays quiet NaN, keeps its top payload.
    return sign | 0x7E00 | (uint16_t)((magnitude >> 13) & 0x3FF);
  if (magnitude >= 0x477FF000) // 65520 and up round past 65504: infinity.
    return sign | 0x7C00;
  if (magnitude >= 0x38800000) // Normal in f16: rebias the exponent by 112.
    return sign | (uint16_t)shift_round_even(magnitude - (112u << 23), 13);
  if (magnitude <= 0x33000000) // Up to 2^-25, half the least subnormal: 0.
    return sign;
  // A subnormal f16 counts units of 2^-24; the float is mantissa *
  // 2^(exponent - 150) with exponent in 102..112, so shift by 126 - exponent.
  uint32_t exponent = magnitude >> 23;
  uint32_t mantissa = (magnitude & 0x7FFFFF) | 0x800000;
  return sign | (uint16_t)shift_round_even(mantissa, 126 - exponent);
}

// Masks instead of branches, so that loops over it vectorize.
static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t magnitude = h & 0x7FFF;
  // Normal: the exponent rebiased by 112; infinity and NaN (payload kept):
  // by 224, to the all-ones exponent.
  uint32_t special = -(uint32_t)(magnitude >= 0x7C00);
  uint32_t normal = (magnitude << 13) + (112u << 23) + (special & 112u << 23);
  // Zero and subnormals, m * 2^-24: the float 0.5 + m * 2^-24 minus 0.5,
  // exact, and normal in f32 (so flush-to-zero modes cannot touch it).
  uint32_t small = float_bits(bits_float(0x3F000000 | magnitude) - 0.5f);
  uint32_t is_normal = -(uint32_t)(magnitude >= 0x0400);
  return bits_float(sign | (normal & is_normal) | (small & ~is_normal));
}

static uint16_t f32_to_bf16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000) // NaN: rounding could make it infinity.
    return (uint16_t)((x >> 16) | 0x0040);
  return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

static float bf16_to_f32(uint16_t h) { return bits_float((uint32_t)h << 16); }

static uint16_t load_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void store_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof v); }

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

// A packed matrix, with the offsets of model_abi.h resolved.
struct packed {
  int32_t format;
  int64_t n, k;
  int64_t blocks;        // Scales per row (block formats).
  const uint8_t *scales; // Block formats: n * blocks f16.
  const uint8_t *values; // 16-bit elements or quants, row-major.
};

static bool is_block_format(int32_t format) {
  return format == SSM_WEIGHT_Q8_0 || format == SSM_WEIGHT_Q4_0;
}

static const char *format_name(int32_t format) {
  switch (format) {
  case SSM_WEIGHT_BF16:
    return "bf16";
  case SSM_WEIGHT_F16:
    return "f16";
  case SSM_WEIGHT_Q8_0:
    return "q8_0";
  case SSM_WEIGHT_Q4_0:
    return "q4_0";
  default:
    return "?";
  }
}

// The bytes of the scales, padded so that the quants start 64-byte aligned.
static int64_t scale_bytes(int64_t n, int64_t k) {
  return (n * (k / kBlock) * 2 + 63) / 64 * 64;
}

static ssm_status_t check_format(const char *fn, int32_t format) {
  if (format == SSM_WEIGHT_F32)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: format 0 (SSM_WEIGHT_F32) is not a packed format",
                         fn);
  if (format < SSM_WEIGHT_BF16 || format > SSM_WEIGHT_Q4_0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: unknown weight format %d", fn, (int)format);
  return SSM_OK;
}

static ssm_status_t check_block_multiple(const char *fn, int32_t format,
                                         int64_t k) {
  if (is_block_format(format) && k % kBlock != 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: k %lld is not a multiple of SSM_WEIGHT_BLOCK "
                         "(%d), which %s needs",
                         fn, (long long)k, kBlock, format_name(format));
  return SSM_OK;
}

// The bytes of W; more than INT64_MAX is an error. Requires a valid format
// and n, k >= 0, k a multiple of 32 for a block format.
static ssm_status_t packed_size(const char *fn, int32_t format, int64_t n,
                                int64_t k, int64_t *out_bytes) {
  int64_t elements, bytes = 0;
  bool overflow = __builtin_mul_overflow(n, k, &elements);
  if (!overflow && !is_block_format(format))
    overflow = __builtin_mul_overflow(elements, 2, &bytes);
  else if (!overflow) // The scales (at most elements / 16 bytes) cannot.
    overflow = __builtin_add_overflow(format == SSM_WEIGHT_Q8_0 ? elements
                                                                : elements / 2,
                                      scale_bytes(n, k), &bytes);
  if (overflow)
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: a %lld x %lld matrix in %s takes more than "
                         "INT64_MAX bytes",
                         fn, (long long)n, (long long)k, format_name(format));
  *out_bytes = bytes;
  return SSM_OK;
}

static struct packed describe(int32_t format, int64_t n, int64_t k,
                              const void *w) {
  struct packed p = {format, n, k, k / kBlock, w, w};
  if (is_block_format(format))
    p.values = (const uint8_t *)w + scale_bytes(n, k);
  return p;
}

static float block_scale(const struct packed *w, int64_t row, int64_t block) {
  return f16_to_f32(load_u16(w->scales + (row * w->blocks + block) * 2));
}

int64_t ssm_packed_bytes(int32_t format, int64_t n, int64_t k) {
  static const char fn[] = "ssm_packed_bytes";
  if (check_format(fn, format) != SSM_OK)
    return -1;
  if (n < 0 || k < 0) {
    ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: negative %s (%lld)", fn,
                  n < 0 ? "n" : "k", (long long)(n < 0 ? n : k));
    return -1;
  }
  int64_t bytes = 0;
  if (check_block_multiple(fn, format, k) != SSM_OK ||
      packed_size(fn, format, n, k, &bytes) != SSM_OK)
    return -1;
  return bytes;
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//
//
// GGUF's reference quantizers (ggml's quantize_row_q8_0_ref and
// quantize_row_q4_0_ref), so that packed models match llama.cpp's numbers,
// with two differences where GGUF has undefined behavior: a block holding a
// NaN or an infinity gets d = NaN and quants standing for 0, so that all its
// elements decode to NaN and poison the product visibly; and every float is
// clamped before it is converted to an integer (a tiny block's 1/d can
// overflow to infinity).

// The f16 NaN of a non-finite block's scale.
enum { kF16NaN = 0x7E00 };

static bool block_is_finite(const float *x) {
  bool finite = true;
  for (int j = 0; j < kBlock; ++j)
    finite &= x[j] - x[j] == 0.0f; // False for NaN and infinities.
  return finite;
}

// roundf (halves away from zero) for |v| <= 128, without libm.
static float round_half_away(float v) {
  float whole = (float)(int)v;
  float fraction = v - whole; // Exact: |v| < 2^23.
  if (fraction >= 0.5f)
    return whole + 1.0f;
  if (fraction <= -0.5f)
    return whole - 1.0f;
  return whole;
}

static uint16_t pack_q8_0_block(const float *x, int8_t *q) {
  if (!block_is_finite(x)) {
    memset(q, 0, kBlock);
    return kF16NaN;
  }
  float amax = 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    float v = x[j] < 0 ? -x[j] : x[j];
    amax = v > amax ? v : amax;
  }
  float d = amax / 127.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    // When d is so small that 1 / d overflows, x * id is infinite, or NaN
    // for x = 0 (d then rounds to 0 in f16 anyway).
    float v = x[j] * id;
    v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v == v ? v : 0.0f;
    q[j] = (int8_t)round_half_away(v);
  }
  return f32_to_f16(d);
}

// GGUF's (int8_t) cast truncates toward zero; the value is >= 0 but where
// 1 / d overflows (see pack_q8_0_block), and clamping it to [0, 15] first
// keeps the conversion defined.
static uint8_t q4_code(float v) {
  if (!(v >= 0.0f))
    return 0;
  return v >= 15.0f ? 15 : (uint8_t)v;
}

static uint16_t pack_q4_0_block(const float *x, uint8_t *q) {
  if (!block_is_finite(x)) {
    memset(q, 0x88, kBlock / 2);
    return kF16NaN;
  }
  // The element of largest magnitude, the first on ties, with its sign.
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    float v = x[j] < 0 ? -x[j] : x[j];
    if (amax < v) {
      amax = v;
      max = x[j];
    }
  }
  float d = max / -8.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kBlock / 2; ++j) {
    uint8_t low = q4_code(x[j] * id + 8.5f);
    uint8_t high = q4_code(x[j + kBlock / 2] * id + 8.5f);
    q[j] = (uint8_t)(low | high << 4);
  }
  return f32_to_f16(d);
}

ssm_status_t ssm_pack_weights(int32_t format, int64_t n, int64_t k,
                              const float *w, int64_t ldw, void *dst) {
  static const char fn[] = "ssm_pack_weights";
  ssm_status_t status = check_format(fn, format);
  if (status != SSM_OK)
    return status;
  if (n < 0 || k < 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: negative %s (%lld)",
                         fn, n < 0 ? "n" : "k", (long long)(n < 0 ? n : k));
  if ((status = check_block_multiple(fn, format, k)) != SSM_OK)
    return status;
  int64_t least = k > 1 ? k : 1;
  if (ldw < least)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: ldw %lld is less than max(1, %lld), the length "
                         "of a row",
                         fn, (long long)ldw, (long long)k);
  int64_t bytes = 0;
  if ((status = packed_size(fn, format, n, k, &bytes)) != SSM_OK)
    return status;
  if ((status = ssm_internal_check_pointer(fn, "w", w, n, k)) != SSM_OK)
    return status;
  if (bytes > 0 && !dst)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: dst is null but the matrix takes %lld bytes", fn,
                         (long long)bytes);
  if ((status = ssm_internal_check_extent(fn, "w", n, k, ldw)) != SSM_OK)
    return status;
  if (bytes == 0)
    return SSM_OK;

  uint8_t *out = dst;
  if (!is_block_format(format)) {
    uint16_t (*convert)(float) =
        format == SSM_WEIGHT_BF16 ? f32_to_bf16 : f32_to_f16;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        store_u16(out + (i * k + j) * 2, convert(w[i * ldw + j]));
    return SSM_OK;
  }
  int64_t blocks = k / kBlock, scales = scale_bytes(n, k);
  memset(out + n * blocks * 2, 0, (size_t)(scales - n * blocks * 2));
  uint8_t *quants = out + scales;
  int64_t block_bytes = format == SSM_WEIGHT_Q8_0 ? kBlock : kBlock / 2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < blocks; ++b) {
      const float *x = w + i * ldw + b * kBlock;
      uint8_t *q = quants + (i * blocks + b) * block_bytes;
      uint16_t d = format == SSM_WEIGHT_Q8_0 ? pack_q8_0_block(x, (int8_t *)q)
                                             : pack_q4_0_block(x, q);
      store_u16(out + (i * blocks + b) * 2, d);
    }
  return SSM_OK;
}

//===----------------------------------------------------------------------===//
// Decoding, portable
//===----------------------------------------------------------------------===//

// Elements [block * 32, block * 32 + count) of row `row` into out[0, count).
// count is 32 except in the last block of a 16-bit row whose k is not a
// multiple of 32. The quants times the f16 scale are exact in f32 (at most
// 8 + 11 significant bits), so decoding does not round.
static void decode_block(const struct packed *w, int64_t row, int64_t block,
                         int count, float *out) {
  int64_t first = row * w->k + block * kBlock;
  switch (w->format) {
  case SSM_WEIGHT_BF16:
    for (int t = 0; t < count; ++t)
      out[t] = bf16_to_f32(load_u16(w->values + (first + t) * 2));
    break;
  case SSM_WEIGHT_F16:
    for (int t = 0; t < count; ++t)
      out[t] = f16_to_f32(load_u16(w->values + (first + t) * 2));
    break;
  case SSM_WEIGHT_Q8_0: {
    float d = block_scale(w, row, block);
    const int8_t *q = (const int8_t *)(w->values + first);
    for (int t = 0; t < kBlock; ++t)
      out[t] = (float)q[t] * d;
    break;
  }
  default: { // Q4_0
    float d = block_scale(w, row, block);
    const uint8_t *q = w->values + (row * w->blocks + block) * (kBlock / 2);
    for (int t = 0; t < kBlock / 2; ++t) {
      out[t] = (float)((q[t] & 0x0F) - 8) * d;
      out[t + kBlock / 2] = (float)((q[t] >> 4) - 8) * d;
    }
    break;
  }
  }
}

// The elements of block `block` of a row of k: 32 but in the last block of
// a 16-bit row whose k is not a multiple of 32.
static inline int block_count(int64_t k, int64_t block) {
  int64_t left = k - block * kBlock;
  return left < kBlock ? (int)left : kBlock;
}

static void portable_decode_row(const struct packed *w, int64_t row,
                                float *out) {
  for (int64_t b = 0; b * kBlock < w->k; ++b)
    decode_block(w, row, b, block_count(w->k, b), out + b * kBlock);
}

//===----------------------------------------------------------------------===//
// Products, portable
//===----------------------------------------------------------------------===//

// One product, as the work items see it.
struct product {
  struct packed w;
  int64_t m, n, k;
  const float *a;
  int64_t lda;
  float beta;
  float *c;
  int64_t ldc;
  bool avx512;        // Chosen once per call: every item computes alike.
  int64_t panel_rows; // Columns of C per work item with the BLAS.
  // Q8_0 and Q4_0 with AVX-512 VNNI: A in 8 bits (vnni_quantize_rows),
  // each row qa_stride bytes; null otherwise.
  uint8_t *qa;
  int64_t qa_stride;
  // bf16 with AMX, prompts: A in bf16 (amx_round_rows); null otherwise.
  uint16_t *ab;
  // bf16 with AMX, register tiles: A's rows in bf16, each ar_stride
  // elements (k up to a multiple of 32, zeros after; bf16_rows); null
  // otherwise.
  uint16_t *ar;
  int64_t ar_stride;
};

static void store_c(float *c, float sum, float beta) {
  *c = beta == 0.0f ? sum : sum + beta * *c;
}

// Partial sums per dot product, in a local array that the compiler keeps in
// vector registers.
enum { kLanes = 16 };

// Blocks decoded at a time by the portable product: once for all rows of A.
enum { kChunkBlocks = 8 };

static float dot(const float *a, const float *w, int count) {
  float lanes[kLanes] = {0};
  int t = 0;
  for (; t + kLanes <= count; t += kLanes)
    for (int l = 0; l < kLanes; ++l)
      lanes[l] += a[t + l] * w[t + l];
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l)
    sum += lanes[l];
  for (; t < count; ++t)
    sum += a[t] * w[t];
  return sum;
}

// Rows i0 .. i0 + rows - 1 (rows <= kTileRows) of C, columns [j0, j1).
static void portable_product(const struct product *p, int64_t i0, int rows,
                             int64_t j0, int64_t j1) {
  float w[kChunkBlocks * kBlock];
  for (int64_t j = j0; j < j1; ++j) {
    float sums[kTileRows] = {0};
    for (int64_t b0 = 0; b0 * kBlock < p->k; b0 += kChunkBlocks) {
      int count = 0;
      for (int64_t b = b0; b < b0 + kChunkBlocks && b * kBlock < p->k; ++b) {
        int block = block_count(p->k, b);
        decode_block(&p->w, j, b, block, w + count);
        count += block;
      }
      for (int i = 0; i < rows; ++i)
        sums[i] += dot(p->a + (i0 + i) * p->lda + b0 * kBlock, w, count);
    }
    for (int i = 0; i < rows; ++i)
      store_c(p->c + (i0 + i) * p->ldc + j, sums[i], p->beta);
  }
}

//===----------------------------------------------------------------------===//
// Decoding and products, AVX-512
//===----------------------------------------------------------------------===//
//
// Functions taking the format and the tile sizes as arguments are inlined
// with constants into one function per (format, rows of A), so that each
// inner loop is straight-line code with its accumulators in registers.
//
// The 512-bit units (two per core) are the limit once the weights are in
// cache, so decoding spends as few vector instructions as it can: the
// scales of 16 blocks are converted with one instruction into a buffer on
// the stack, from which each block's scale is broadcast by a load, instead
// of being inserted, converted and broadcast one at a time.

#if SSM_PACKED_AVX512

#define SSM_AVX512_TARGET target("avx512f,avx512bw,avx512vl")
#define SSM_AVX512 __attribute__((SSM_AVX512_TARGET))
#define SSM_AVX512_INLINE                                                      \
  static inline __attribute__((always_inline, SSM_AVX512_TARGET))

// Blocks whose scales are converted at a time: one vector of f16.
enum { kScaleChunk = 16 };

// Bytes of one block of 32 elements in `format`, scales apart.
static inline int block_bytes(int32_t format) {
  return format == SSM_WEIGHT_Q8_0   ? kBlock
         : format == SSM_WEIGHT_Q4_0 ? kBlock / 2
                                     : kBlock * 2;
}

// Bytes of the values of one row of k elements, scales apart.
static inline int64_t row_bytes(int32_t format, int64_t k) {
  return format == SSM_WEIGHT_Q8_0   ? k
         : format == SSM_WEIGHT_Q4_0 ? k / 2
                                     : k * 2;
}

// The lane masks of the first `count` (0..32) of 32 elements.
SSM_AVX512_INLINE void avx512_masks(int count, __mmask16 *lo, __mmask16 *hi) {
  int low = count < 16 ? count : 16;
  *lo = (__mmask16)((1u << low) - 1);
  *hi = (__mmask16)((1u << (count - low)) - 1);
}

// The scales of `count` (1..16) blocks from their f16 at `scales`.
SSM_AVX512_INLINE void avx512_scales(const uint8_t *scales, int count,
                                     float *d) {
  _mm512_storeu_ps(d, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(
                          (__mmask16)((1u << count) - 1), scales)));
}

// The 32 elements of the block at `p` as two vectors of 16; d is its scale
// (block formats). With count < 32 (the last block of a 16-bit row only)
// the lanes past count are 0 and nothing past them is read.
SSM_AVX512_INLINE void avx512_block(int32_t format, const uint8_t *p, int count,
                                    float d, __m512 *lo, __m512 *hi) {
  switch (format) {
  case SSM_WEIGHT_BF16:
  case SSM_WEIGHT_F16: {
    __m256i l, h;
    if (count == kBlock) {
      l = _mm256_loadu_si256((const void *)p);
      h = _mm256_loadu_si256((const void *)(p + 32));
    } else {
      __mmask16 ml, mh;
      avx512_masks(count, &ml, &mh);
      l = _mm256_maskz_loadu_epi16(ml, p);
      h = _mm256_maskz_loadu_epi16(mh, p + 32);
    }
    if (format == SSM_WEIGHT_F16) {
      *lo = _mm512_cvtph_ps(l);
      *hi = _mm512_cvtph_ps(h);
    } else { // bf16 is the top half of an f32.
      *lo =
          _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(l), 16));
      *hi =
          _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    break;
  }
  case SSM_WEIGHT_Q8_0: {
    __m512 scale = _mm512_set1_ps(d);
    __m512i l = _mm512_cvtepi8_epi32(_mm_loadu_si128((const void *)p));
    __m512i h = _mm512_cvtepi8_epi32(_mm_loadu_si128((const void *)(p + 16)));
    *lo = _mm512_mul_ps(_mm512_cvtepi32_ps(l), scale);
    *hi = _mm512_mul_ps(_mm512_cvtepi32_ps(h), scale);
    break;
  }
  default: { // Q4_0
    // The 16 values (q - 8) * d of the block, looked up by each nibble: a
    // permutation reads only the low 4 bits of its indices, which saves
    // masking them and converting them to floats.
    __m512 levels =
        _mm512_set_ps(7, 6, 5, 4, 3, 2, 1, 0, -1, -2, -3, -4, -5, -6, -7, -8);
    __m512 table = _mm512_mul_ps(levels, _mm512_set1_ps(d));
    __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)p));
    *lo = _mm512_permutexvar_ps(bytes, table);
    *hi = _mm512_permutexvar_ps(_mm512_srli_epi32(bytes, 4), table);
    break;
  }
  }
}

// Rows of A, and the columns of C (rows of W) that share each load of A:
// rows * columns accumulators and the decoded weights fit the 32 vector
// registers, and with one row, four independent sums hide the FMAs'
// latency.
static inline int avx512_columns_for(int rows) { return rows <= 2 ? 4 : 2; }

// How far ahead of the block being read each row of W is prefetched. A tile
// reads four short rows at once, which the hardware prefetchers follow
// poorly: without this, one core read bf16 weights from memory at 9 GB/s,
// with it at 12.7 (it streams one array at 14.7; 4-16 KiB ahead were best).
enum { kPrefetchBytes = 8192 };

// The values and scales of rows j .. j + columns of W.
SSM_AVX512_INLINE void avx512_w_rows(const struct packed *w, int32_t format,
                                     int columns, int64_t j,
                                     const uint8_t *values[4],
                                     const uint8_t *scales[4]) {
#pragma GCC unroll 4
  for (int r = 0; r < columns; ++r) {
    values[r] = w->values + (j + r) * row_bytes(format, w->k);
    scales[r] = w->scales + (j + r) * w->blocks * 2;
  }
}

SSM_AVX512_INLINE void avx512_zero_tile(__m512 acc[kTileRows][4], int rows,
                                        int columns) {
#pragma GCC unroll 8
  for (int i = 0; i < rows; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < columns; ++r)
      acc[i][r] = _mm512_setzero_ps();
}

// C[i0 + i, j + r] from the lanes of acc[i][r].
SSM_AVX512_INLINE void avx512_store_tile(const struct product *p,
                                         __m512 acc[kTileRows][4], int rows,
                                         int columns, int64_t i0, int64_t j) {
#pragma GCC unroll 8
  for (int i = 0; i < rows; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < columns; ++r)
      store_c(p->c + (i0 + i) * p->ldc + j + r, _mm512_reduce_add_ps(acc[i][r]),
              p->beta);
}

// C[i0 .. i0 + rows, j .. j + columns], with every sum in registers.
SSM_AVX512_INLINE void avx512_tile(const struct product *p, int32_t format,
                                   int rows, int columns, int64_t i0,
                                   int64_t j) {
  const struct packed *w = &p->w;
  int bytes = block_bytes(format);
  int64_t blocks = (w->k + kBlock - 1) / kBlock;
  const uint8_t *values[4], *scales[4];
  avx512_w_rows(w, format, columns, j, values, scales);
  __m512 acc[kTileRows][4];
  avx512_zero_tile(acc, rows, columns);
  const float *a = p->a + i0 * p->lda;
  for (int64_t b0 = 0; b0 < blocks; b0 += kScaleChunk) {
    int chunk = blocks - b0 < kScaleChunk ? (int)(blocks - b0) : kScaleChunk;
    float d[4][kScaleChunk];
    if (is_block_format(format))
#pragma GCC unroll 4
      for (int r = 0; r < columns; ++r)
        avx512_scales(scales[r] + b0 * 2, chunk, d[r]);
    for (int c = 0; c < chunk; ++c) {
      int64_t b = b0 + c;
      int count = block_count(w->k, b);
      __m512 lo[4], hi[4];
#pragma GCC unroll 4
      for (int r = 0; r < columns; ++r) {
        _mm_prefetch((const char *)values[r] + b * bytes + kPrefetchBytes,
                     _MM_HINT_T0);
        avx512_block(format, values[r] + b * bytes, count, d[r][c], &lo[r],
                     &hi[r]);
      }
      __mmask16 ml = 0xFFFF, mh = 0xFFFF;
      if (count < kBlock)
        avx512_masks(count, &ml, &mh);
#pragma GCC unroll 8
      for (int i = 0; i < rows; ++i) {
        const float *ai = a + i * p->lda + b * kBlock;
        __m512 al = _mm512_maskz_loadu_ps(ml, ai);
        __m512 ah = _mm512_maskz_loadu_ps(mh, ai + 16);
#pragma GCC unroll 4
        for (int r = 0; r < columns; ++r)
          acc[i][r] =
              _mm512_fmadd_ps(ah, hi[r], _mm512_fmadd_ps(al, lo[r], acc[i][r]));
      }
    }
  }
  avx512_store_tile(p, acc, rows, columns, i0, j);
}

SSM_AVX512_INLINE void avx512_span(const struct product *p, int32_t format,
                                   int rows, int64_t i0, int64_t j0,
                                   int64_t j1) {
  int columns = avx512_columns_for(rows);
  int64_t j = j0;
  for (; j + columns <= j1; j += columns)
    avx512_tile(p, format, rows, columns, i0, j);
  for (; j < j1; ++j)
    avx512_tile(p, format, rows, 1, i0, j);
}

typedef void (*avx512_span_fn)(const struct product *p, int64_t i0, int64_t j0,
                               int64_t j1);

// A span function per format and number of rows of A (1 .. kTileRows),
// indexed by rows.
#define SSM_SPAN(attributes, span, format, rows)                               \
  attributes static void span##_##format##_##rows(                             \
      const struct product *p, int64_t i0, int64_t j0, int64_t j1) {           \
    span(p, SSM_WEIGHT_##format, rows, i0, j0, j1);                            \
  }
#define SSM_SPANS(attributes, span, format)                                    \
  SSM_SPAN(attributes, span, format, 1)                                        \
  SSM_SPAN(attributes, span, format, 2)                                        \
  SSM_SPAN(attributes, span, format, 3)                                        \
  SSM_SPAN(attributes, span, format, 4)                                        \
  SSM_SPAN(attributes, span, format, 5)                                        \
  SSM_SPAN(attributes, span, format, 6)                                        \
  SSM_SPAN(attributes, span, format, 7)                                        \
  SSM_SPAN(attributes, span, format, 8)
#define SSM_SPAN_ROW(span, format)                                             \
  {                                                                            \
    NULL, span##_##format##_1, span##_##format##_2, span##_##format##_3,       \
        span##_##format##_4, span##_##format##_5, span##_##format##_6,         \
        span##_##format##_7, span##_##format##_8                               \
  }
SSM_SPANS(SSM_AVX512, avx512_span, BF16)
SSM_SPANS(SSM_AVX512, avx512_span, F16)
SSM_SPANS(SSM_AVX512, avx512_span, Q8_0)
SSM_SPANS(SSM_AVX512, avx512_span, Q4_0)

// Indexed by format and rows of A.
static const avx512_span_fn kAvx512Spans[SSM_WEIGHT_Q4_0 + 1][kTileRows + 1] = {
    {NULL},
    SSM_SPAN_ROW(avx512_span, BF16),
    SSM_SPAN_ROW(avx512_span, F16),
    SSM_SPAN_ROW(avx512_span, Q8_0),
    SSM_SPAN_ROW(avx512_span, Q4_0),
};

SSM_AVX512_INLINE void avx512_row(const struct packed *w, int32_t format,
                                  int64_t row, float *out) {
  int bytes = block_bytes(format);
  int64_t blocks = (w->k + kBlock - 1) / kBlock;
  const uint8_t *values = w->values + row * row_bytes(format, w->k);
  const uint8_t *scales = w->scales + row * w->blocks * 2;
  for (int64_t b0 = 0; b0 < blocks; b0 += kScaleChunk) {
    int chunk = blocks - b0 < kScaleChunk ? (int)(blocks - b0) : kScaleChunk;
    float d[kScaleChunk];
    if (is_block_format(format))
      avx512_scales(scales + b0 * 2, chunk, d);
    for (int c = 0; c < chunk; ++c) {
      int64_t b = b0 + c;
      int count = block_count(w->k, b);
      __m512 lo, hi;
      __mmask16 ml = 0xFFFF, mh = 0xFFFF;
      avx512_block(format, values + b * bytes, count, d[c], &lo, &hi);
      if (count < kBlock)
        avx512_masks(count, &ml, &mh);
      _mm512_mask_storeu_ps(out + b * kBlock, ml, lo);
      _mm512_mask_storeu_ps(out + b * kBlock + 16, mh, hi);
    }
  }
}

SSM_AVX512 static void avx512_decode_row(const struct packed *w, int64_t row,
                                         float *out) {
  switch (w->format) {
  case SSM_WEIGHT_BF16:
    avx512_row(w, SSM_WEIGHT_BF16, row, out);
    break;
  case SSM_WEIGHT_F16:
    avx512_row(w, SSM_WEIGHT_F16, row, out);
    break;
  case SSM_WEIGHT_Q8_0:
    avx512_row(w, SSM_WEIGHT_Q8_0, row, out);
    break;
  default:
    avx512_row(w, SSM_WEIGHT_Q4_0, row, out);
    break;
  }
}

// Prompts in f32: a work item decodes 32 rows of W and transposes them into
// a panel [k][32], which a tile of 6 rows of A by 32 columns of C multiplies
// with 12 FMAs per element of A's rows (each broadcast against 16 columns),
// as a BLAS's sgemm kernel does; but the panel is decoded straight into the
// layout the tile reads, where the BLAS would copy a decoded panel and A
// into its own layouts again (13 % of a bf16 prefill in OpenBLAS's copy
// routines). On one thread the tiles are 14-35 % faster than decoded
// panels for OpenBLAS from 33 to 512 rows (bf16), and they need no BLAS.
enum {
  kPanelColumns = 32, // Two vectors of C; also the columns per work item.
  kPanelTileRows = 6, // 12 accumulators (and, in 8 bits, 12 int32 sums).
};

// The rows as decoded, then the panel.
static int64_t f32_panel_floats(int64_t k) {
  return 2 * kPanelColumns * k;
}

// r[i][j] becomes r[j][i]: pairs, then quads of lanes interleaved, then
// 128-bit lanes exchanged twice.
SSM_AVX512_INLINE void avx512_transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    r[4 * q] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
    r[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0xEE);
    r[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
    r[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      t[8 * h + j] = _mm512_shuffle_f32x4(r[8 * h + j], r[8 * h + 4 + j], 0x88);
      t[8 * h + 4 + j] =
          _mm512_shuffle_f32x4(r[8 * h + j], r[8 * h + 4 + j], 0xDD);
    }
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
  }
}

SSM_AVX512 static const void *avx512_f32_panel(const struct packed *w,
                                               int64_t j, int columns,
                                               float *buffer) {
  int64_t k = w->k;
  float *rows = buffer, *panel = buffer + kPanelColumns * k;
  for (int c = 0; c < columns; ++c)
    avx512_decode_row(w, j + c, rows + c * k);
  if (columns < kPanelColumns)
    memset(rows + columns * k, 0,
           (size_t)((kPanelColumns - columns) * k) * sizeof(float));
  // 16 x 16 blocks, each transposed in registers.
  for (int g = 0; g < kPanelColumns / 16; ++g)
    for (int64_t t0 = 0; t0 < k; t0 += 16) {
      int count = k - t0 < 16 ? (int)(k - t0) : 16;
      __mmask16 mask = (__mmask16)((1u << count) - 1);
      __m512 r[16];
#pragma GCC unroll 16
      for (int c = 0; c < 16; ++c)
        r[c] = _mm512_maskz_loadu_ps(mask, rows + (16 * g + c) * k + t0);
      avx512_transpose16(r);
      for (int t = 0; t < count; ++t)
        _mm512_storeu_ps(panel + (t0 + t) * kPanelColumns + 16 * g, r[t]);
    }
  return panel;
}

// The lanes of `mask` of C's 16 columns at `c`: the sums `v` plus beta
// times C.
SSM_AVX512_INLINE void avx512_store_c(const struct product *p, float *c,
                                      __m512 v, __mmask16 mask) {
  if (p->beta != 0.0f)
    v = _mm512_fmadd_ps(_mm512_set1_ps(p->beta), _mm512_maskz_loadu_ps(mask, c),
                        v);
  _mm512_mask_storeu_ps(c, mask, v);
}

// C[i0 .. i0 + rows, j .. j + columns] (columns <= kPanelColumns) from a
// panel tile's sums, one vector per 16 columns.
SSM_AVX512_INLINE void avx512_store_panel_tile(const struct product *p,
                                               __m512 acc[kPanelTileRows][2],
                                               int rows, int64_t i0, int64_t j,
                                               int columns) {
  __mmask16 masks[2];
  avx512_masks(columns, &masks[0], &masks[1]);
#pragma GCC unroll 6
  for (int i = 0; i < rows; ++i)
#pragma GCC unroll 2
    for (int g = 0; g < 2; ++g)
      avx512_store_c(p, p->c + (i0 + i) * p->ldc + j + 16 * g, acc[i][g],
                     masks[g]);
}

// A panel tile: rows of A from i0, columns of C from j, from a panel. One
// function per number of rows (1 .. kPanelTileRows) of each kind of tile,
// indexed by rows.
typedef void (*panel_tile_fn)(const struct product *p, const void *panel,
                              int64_t i0, int64_t j, int columns);
#define SSM_PANEL_TILE(attributes, tile, rows)                                 \
  attributes static void tile##_##rows(const struct product *p,                \
                                       const void *panel, int64_t i0,          \
                                       int64_t j, int columns) {               \
    tile(p, panel, rows, i0, j, columns);                                      \
  }
#define SSM_PANEL_TILES(attributes, tile)                                      \
  SSM_PANEL_TILE(attributes, tile, 1)                                          \
  SSM_PANEL_TILE(attributes, tile, 2)                                          \
  SSM_PANEL_TILE(attributes, tile, 3)                                          \
  SSM_PANEL_TILE(attributes, tile, 4)                                          \
  SSM_PANEL_TILE(attributes, tile, 5)                                          \
  SSM_PANEL_TILE(attributes, tile, 6)
#define SSM_PANEL_TILE_TABLE(tile)                                             \
  {NULL, tile##_1, tile##_2, tile##_3, tile##_4, tile##_5, tile##_6}

SSM_AVX512_INLINE void avx512_f32_tile(const struct product *p,
                                       const float *panel, int rows,
                                       int64_t i0, int64_t j, int columns) {
  __m512 acc[kPanelTileRows][2];
#pragma GCC unroll 6
  for (int i = 0; i < rows; ++i)
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  const float *a = p->a + i0 * p->lda;
  for (int64_t t = 0; t < p->k; ++t) {
    __m512 w0 = _mm512_loadu_ps(panel + t * kPanelColumns);
    __m512 w1 = _mm512_loadu_ps(panel + t * kPanelColumns + 16);
#pragma GCC unroll 6
    for (int i = 0; i < rows; ++i) {
      __m512 x = _mm512_set1_ps(a[i * p->lda + t]);
      acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);
    }
  }
  avx512_store_panel_tile(p, acc, rows, i0, j, columns);
}

SSM_PANEL_TILES(SSM_AVX512, avx512_f32_tile)
static const panel_tile_fn kF32Tiles[kPanelTileRows + 1] =
    SSM_PANEL_TILE_TABLE(avx512_f32_tile);

//===----------------------------------------------------------------------===//
// A in 8 bits, for Q8_0 and Q4_0
//===----------------------------------------------------------------------===//
//
// With AVX-512 VNNI, Q8_0 and Q4_0 products multiply the weights' quants by
// A's rows quantized to 8 bits per block of 32, as llama.cpp does: one
// vpdpbusd multiplies and adds 64 pairs of bytes, where the f32 code spent
// a conversion or a permutation and an FMA per 16 weights. Each block of a
// row of A gets the scale d = max |a| / 127 (f32) and the quants
// round(a / d) (nearest even); a block holding a NaN or an infinity gets
// d = NaN, so that its products are NaN.
//
// vpdpbusd multiplies unsigned bytes by signed ones, so the weights'
// quants q enter unsigned, as q + 8 (Q4_0: the stored nibble) or q + 128
// (Q8_0: the stored byte with its top bit flipped), and A's quants signed;
// the sums start from -8 or -128 times the sum of A's quants they multiply,
// which removes the offset exactly. A is therefore quantized for one weight
// format, whose offset its sums carry.
//
// A row of A, laid out for the kernel in `pairs` groups of two blocks b0
// and b1, each group 64 bytes: b0's elements 0-15, b1's 0-15, b0's 16-31,
// b1's 16-31, the order in which the kernel unpacks two blocks of Q4_0
// weights (low nibbles, then high nibbles). Then per group 16 int32: minus
// the offset times the sum of the four quants that each 32-bit lane of the
// group multiplies. Then the blocks' scales, padded to a multiple of 16
// with zeros, and as many int32: minus the offset times the sum of each
// block's quants (what the prompt kernel starts a block's sums at). A
// missing b1 is zeros.
enum { kPairBytes = 64 };

// Scales (or block sums) of a row of A, padded to a multiple of 16.
static int64_t padded_blocks(int64_t k) {
  return (k / kBlock + kScaleChunk - 1) / kScaleChunk * kScaleChunk;
}

static int64_t quantized_row_bytes(int64_t k) {
  int64_t blocks = k / kBlock, pairs = (blocks + 1) / 2;
  return 2 * pairs * kPairBytes + 2 * padded_blocks(k) * (int64_t)sizeof(float);
}

static const float *quantized_scales(const uint8_t *row, int64_t k) {
  int64_t pairs = (k / kBlock + 1) / 2;
  return (const float *)(row + 2 * pairs * kPairBytes);
}

static const int32_t *quantized_block_offsets(const uint8_t *row, int64_t k) {
  return (const int32_t *)(quantized_scales(row, k) + padded_blocks(k));
}

// What the weights' quants are stored plus, as vpdpbusd reads them.
static int32_t weight_offset(int32_t format) {
  return format == SSM_WEIGHT_Q8_0 ? 128 : 8;
}

#define SSM_VNNI_TARGET target("avx512f,avx512bw,avx512vl,avx512vnni")
#define SSM_VNNI __attribute__((SSM_VNNI_TARGET))
#define SSM_VNNI_INLINE                                                        \
  static inline __attribute__((always_inline, SSM_VNNI_TARGET))

// Rows [0, m) of A into `out` (rows of `stride` bytes, 64-byte aligned),
// for weights stored plus `offset`.
SSM_VNNI static void vnni_quantize_rows(const float *a, int64_t lda, int64_t m,
                                        int64_t k, int32_t offset, uint8_t *out,
                                        int64_t stride) {
  int64_t blocks = k / kBlock, pairs = (blocks + 1) / 2;
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i minus_offset = _mm512_set1_epi32(-offset);
  for (int64_t i = 0; i < m; ++i) {
    uint8_t *row = out + i * stride;
    memset(row, 0, (size_t)stride);
    float *scales = (float *)quantized_scales(row, k);
    int32_t *offsets = (int32_t *)quantized_block_offsets(row, k);
    for (int64_t b = 0; b < blocks; ++b) {
      const float *x = a + i * lda + b * kBlock;
      __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
      float amax = _mm512_reduce_max_ps(
          _mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
      // vmaxps passes over a NaN in its first operand: look for NaNs apart
      // (an unordered compare of lo with hi finds one in either).
      bool finite =
          amax <= FLT_MAX && _mm512_cmp_ps_mask(lo, hi, _CMP_UNORD_Q) == 0;
      float d = finite ? amax / 127.0f : __builtin_nanf("");
      scales[b] = d;
      if (!finite || d == 0.0f)
        continue;
      // Nearest even in the default rounding mode; where d underflows the
      // quotients can exceed 127 and are clamped.
      __m512 limit = _mm512_set1_ps(127.0f), dv = _mm512_set1_ps(d);
      __m512i ql = _mm512_cvtps_epi32(
          _mm512_max_ps(_mm512_min_ps(_mm512_div_ps(lo, dv), limit), -limit));
      __m512i qh = _mm512_cvtps_epi32(
          _mm512_max_ps(_mm512_min_ps(_mm512_div_ps(hi, dv), limit), -limit));
      uint8_t *q = row + b / 2 * kPairBytes + b % 2 * (kBlock / 2);
      _mm_storeu_si128((void *)q, _mm512_cvtsepi32_epi8(ql));
      _mm_storeu_si128((void *)(q + kBlock), _mm512_cvtsepi32_epi8(qh));
      offsets[b] = -offset * _mm512_reduce_add_epi32(_mm512_add_epi32(ql, qh));
    }
    for (int64_t g = 0; g < pairs; ++g) {
      __m512i lanes =
          _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones,
                              _mm512_load_si512(row + g * kPairBytes));
      _mm512_store_si512(row + (pairs + g) * kPairBytes,
                         _mm512_mullo_epi32(lanes, minus_offset));
    }
  }
}

// Blocks b and b + 1 of a row of Q8_0 or Q4_0 weights at `q` (b's first
// byte) as 64 unsigned bytes in A's pair order; with `single`, block b
// only (b + 1 would be past the row; its bytes are then multiplied by
// zeros of A).
SSM_VNNI_INLINE __m512i vnni_weight_pair(int32_t format, const uint8_t *q,
                                         bool single) {
  if (format == SSM_WEIGHT_Q8_0) {
    __m512i x = single ? _mm512_zextsi256_si512(
                             _mm256_loadu_si256((const void *)q))
                       : _mm512_loadu_si512(q);
    // 16-byte lanes b0 0-15, b0 16-31, b1 0-15, b1 16-31 to lanes 0, 2, 1,
    // 3; the flipped top bit adds 128.
    return _mm512_xor_si512(_mm512_shuffle_i64x2(x, x, 0xD8),
                            _mm512_set1_epi8((char)0x80));
  }
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  __m256i x = single
                  ? _mm256_zextsi128_si256(_mm_loadu_si128((const void *)q))
                  : _mm256_loadu_si256((const void *)q);
  __m256i lo = _mm256_and_si256(x, nibble);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble);
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// C[i0 .. i0 + rows, j .. j + columns] with Q8_0 or Q4_0 weights and
// p->qa: two blocks at a time, as 64 unsigned bytes multiplied with one
// vpdpbusd per row of A into 16 int32 sums, the offsets in its initial
// value; each lane's sum is converted and scaled by the product of its
// block's two scales.
SSM_VNNI_INLINE void vnni_tile(const struct product *p, int32_t format,
                               int rows, int columns, int64_t i0, int64_t j) {
  const struct packed *w = &p->w;
  int64_t blocks = w->blocks, pairs = (blocks + 1) / 2;
  int bytes = block_bytes(format);
  const uint8_t *values[4], *scales[4];
  avx512_w_rows(w, format, columns, j, values, scales);
  const uint8_t *qa[kTileRows];
#pragma GCC unroll 8
  for (int i = 0; i < rows; ++i)
    qa[i] = p->qa + (i0 + i) * p->qa_stride;
  __m512 acc[kTileRows][4];
  avx512_zero_tile(acc, rows, columns);
  // The lanes of b0 (0-3, 8-11) and of b1 (4-7, 12-15).
  const __m512i pattern =
      _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0);
  for (int64_t b0 = 0; b0 < blocks; b0 += kScaleChunk) {
    int chunk = blocks - b0 < kScaleChunk ? (int)(blocks - b0) : kScaleChunk;
    float s[kTileRows][4][kScaleChunk];
#pragma GCC unroll 4
    for (int r = 0; r < columns; ++r) {
      float d[kScaleChunk];
      avx512_scales(scales[r] + b0 * 2, chunk, d);
      __m512 dw = _mm512_loadu_ps(d);
#pragma GCC unroll 8
      for (int i = 0; i < rows; ++i)
        _mm512_storeu_ps(
            s[i][r],
            _mm512_mul_ps(dw, _mm512_load_ps(quantized_scales(qa[i], w->k) +
                                             b0)));
    }
    for (int c = 0; c < chunk; c += 2) {
      int64_t g = (b0 + c) / 2;
      __m512i index = _mm512_add_epi32(pattern, _mm512_set1_epi32(c));
      __m512i wq[4];
#pragma GCC unroll 4
      for (int r = 0; r < columns; ++r) {
        const uint8_t *q = values[r] + (b0 + c) * bytes;
        _mm_prefetch((const char *)q + kPrefetchBytes, _MM_HINT_T0);
        wq[r] = vnni_weight_pair(format, q, c + 1 == chunk);
      }
#pragma GCC unroll 8
      for (int i = 0; i < rows; ++i) {
        __m512i a = _mm512_load_si512(qa[i] + g * kPairBytes);
        __m512i offsets = _mm512_load_si512(qa[i] + (pairs + g) * kPairBytes);
#pragma GCC unroll 4
        for (int r = 0; r < columns; ++r)
          acc[i][r] = _mm512_fmadd_ps(
              _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(offsets, wq[r], a)),
              _mm512_permutexvar_ps(index, _mm512_loadu_ps(s[i][r])),
              acc[i][r]);
      }
    }
  }
  avx512_store_tile(p, acc, rows, columns, i0, j);
}

SSM_VNNI_INLINE void vnni_span(const struct product *p, int32_t format,
                               int rows, int64_t i0, int64_t j0, int64_t j1) {
  int columns = avx512_columns_for(rows);
  int64_t j = j0;
  for (; j + columns <= j1; j += columns)
    vnni_tile(p, format, rows, columns, i0, j);
  for (; j < j1; ++j)
    vnni_tile(p, format, rows, 1, i0, j);
}

SSM_SPANS(SSM_VNNI, vnni_span, Q8_0)
SSM_SPANS(SSM_VNNI, vnni_span, Q4_0)

// Indexed by format and rows of A.
static const avx512_span_fn kVnniSpans[SSM_WEIGHT_Q4_0 + 1][kTileRows + 1] = {
    [SSM_WEIGHT_Q8_0] = SSM_SPAN_ROW(vnni_span, Q8_0),
    [SSM_WEIGHT_Q4_0] = SSM_SPAN_ROW(vnni_span, Q4_0),
};

// Prompts (more rows than the register path takes) multiply the same 8-bit
// A the other way round: a vector holds 16 columns of C, and each vpdpbusd
// multiplies 4 elements of a row of A, broadcast, with those 4 elements of
// 16 rows of W. The rows of W a work item covers are first unpacked into a
// panel in that order (per block, per 4 elements, per column: 4 bytes), so
// that a tile of kPanelTileRows rows of A and kPanelColumns columns sums a
// block in int32 with 8 vpdpbusd per accumulator and then scales it once by
// the outer product of A's and W's block scales. That is 2.7 times the
// multiplications per vector instruction of an f32 FMA, where the register
// path's per-pair scaling left it no better than the BLAS's sgemm.
enum {
  kPanelBlockBytes = kBlock * kPanelColumns,
  // The panel's gathers index 32-bit words of 16 rows of W in int32: at
  // most 15 rows of 8 words per block (Q8_0's; Q4_0 has 4) past the first.
  kPromptMaxBlocks = INT32_MAX / (16 * kBlock / 4),
  kReduceRows = 16, // Rows of A per work item of its quantization (or,
                    // for AMX, rounding to bf16).
};

// Bytes of a prompt panel for k: the quants, then per block the 32 columns'
// f32 scales.
static int64_t prompt_panel_bytes(int64_t k) {
  return k / kBlock *
         (kPanelBlockBytes + kPanelColumns * (int64_t)sizeof(float));
}

// Rows [j, j + columns) of Q8_0 or Q4_0 W (columns <= kPanelColumns) into
// `panel`; the columns past them are scaled by zero (their sums are not
// stored). A gather of 32-bit word t of a block from 16 rows makes a
// vector of the panel: Q8_0's word t holds elements 4t .. 4t + 3 (its top
// bits flipped, they add 128); Q4_0's byte t holds element t (low nibble)
// and t + 16 (high nibble), so its word t, masked, is elements 4t .. 4t + 3
// and, shifted, 16 + 4t .. 16 + 4t + 3: two vectors. (Gathers index in
// int32: kPromptMaxBlocks.)
SSM_VNNI_INLINE void vnni_prompt_panel(const struct packed *w, int32_t format,
                                       int64_t j, int columns, uint8_t *panel) {
  int64_t blocks = w->blocks;
  int64_t stride = row_bytes(format, w->k);
  float *dw = (float *)(panel + blocks * kPanelBlockBytes);
  if (columns < kPanelColumns) // Columns past W's rows scale by 0.
    memset(dw, 0, (size_t)(blocks * kPanelColumns) * sizeof(float));
  for (int64_t b0 = 0; b0 < blocks; b0 += kScaleChunk) {
    int chunk = blocks - b0 < kScaleChunk ? (int)(blocks - b0) : kScaleChunk;
    for (int c = 0; c < columns; ++c) {
      float d[kScaleChunk];
      avx512_scales(w->scales + (j + c) * blocks * 2 + b0 * 2, chunk, d);
      for (int i = 0; i < chunk; ++i)
        dw[(b0 + i) * kPanelColumns + c] = d[i];
    }
  }
  // The rows are contiguous; the gathers below stride across them, which
  // the hardware prefetchers do not follow.
  const uint8_t *values = w->values + j * stride;
  for (int64_t at = 0; at < columns * stride; at += 64)
    _mm_prefetch((const char *)values + at, _MM_HINT_T0);
  const __m512i nibbles = _mm512_set1_epi8(0x0F);
  const __m512i top_bits = _mm512_set1_epi8((char)0x80);
  // Word t of row c is c * stride / 4 + t words past word 0 of row 0.
  const __m512i row_words = _mm512_mullo_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
      _mm512_set1_epi32((int32_t)(stride / 4)));
  int words = block_bytes(format) / 4;
  for (int g = 0; g < kPanelColumns / 16; ++g) {
    int valid = columns - 16 * g;
    __mmask16 mask = valid >= 16 ? 0xFFFF
                     : valid <= 0 ? 0
                                  : (__mmask16)((1u << valid) - 1);
    const uint8_t *first = w->values + (j + 16 * g) * stride;
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t *out = panel + b * kPanelBlockBytes + g * 64;
#pragma GCC unroll 8
      for (int t = 0; t < words; ++t) {
        __m512i word = _mm512_mask_i32gather_epi32(
            _mm512_setzero_si512(), mask,
            _mm512_add_epi32(row_words, _mm512_set1_epi32(t)),
            first + b * block_bytes(format), 4);
        if (format == SSM_WEIGHT_Q8_0) {
          _mm512_storeu_si512(out + t * kPanelColumns * 4,
                              _mm512_xor_si512(word, top_bits));
          continue;
        }
        _mm512_storeu_si512(out + t * kPanelColumns * 4,
                            _mm512_and_si512(word, nibbles));
        _mm512_storeu_si512(
            out + (t + 4) * kPanelColumns * 4,
            _mm512_and_si512(_mm512_srli_epi32(word, 4), nibbles));
      }
    }
  }
}

SSM_VNNI static const void *vnni_panel(const struct packed *w, int64_t j,
                                       int columns, void *buffer) {
  if (w->format == SSM_WEIGHT_Q8_0)
    vnni_prompt_panel(w, SSM_WEIGHT_Q8_0, j, columns, buffer);
  else
    vnni_prompt_panel(w, SSM_WEIGHT_Q4_0, j, columns, buffer);
  return buffer;
}

// C[i0 .. i0 + rows, j .. j + columns] from the panel of W's rows j ..
// j + kPanelColumns and p->qa.
SSM_VNNI_INLINE void vnni_prompt_tile(const struct product *p,
                                      const uint8_t *panel, int rows,
                                      int64_t i0, int64_t j, int columns) {
  int64_t blocks = p->w.blocks;
  const float *dw = (const float *)(panel + blocks * kPanelBlockBytes);
  const uint8_t *qa[kPanelTileRows];
  const float *da[kPanelTileRows];
  const int32_t *offsets[kPanelTileRows];
#pragma GCC unroll 6
  for (int i = 0; i < rows; ++i) {
    qa[i] = p->qa + (i0 + i) * p->qa_stride;
    da[i] = quantized_scales(qa[i], p->k);
    offsets[i] = quantized_block_offsets(qa[i], p->k);
  }
  __m512 acc[kPanelTileRows][2];
#pragma GCC unroll 6
  for (int i = 0; i < rows; ++i)
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m512i sums[kPanelTileRows][2];
#pragma GCC unroll 6
    for (int i = 0; i < rows; ++i)
      sums[i][0] = sums[i][1] = _mm512_set1_epi32(offsets[i][b]);
    const uint8_t *wb = panel + b * kPanelBlockBytes;
    // Elements 4t .. 4t + 3 of block b sit 4t (t < 4) or 32 + 4(t - 4)
    // bytes past its element 0 in A's pair layout.
    int64_t at = b / 2 * kPairBytes + b % 2 * (kBlock / 2);
#pragma GCC unroll 8
    for (int t = 0; t < kBlock / 4; ++t) {
      __m512i w0 = _mm512_loadu_si512(wb + t * kPanelColumns * 4);
      __m512i w1 = _mm512_loadu_si512(wb + t * kPanelColumns * 4 + 64);
      int64_t offset = at + (t < 4 ? 4 * t : kBlock + 4 * (t - 4));
#pragma GCC unroll 6
      for (int i = 0; i < rows; ++i) {
        int32_t quad;
        memcpy(&quad, qa[i] + offset, sizeof quad);
        __m512i a = _mm512_set1_epi32(quad);
        sums[i][0] = _mm512_dpbusd_epi32(sums[i][0], w0, a);
        sums[i][1] = _mm512_dpbusd_epi32(sums[i][1], w1, a);
      }
    }
    __m512 d0 = _mm512_loadu_ps(dw + b * kPanelColumns);
    __m512 d1 = _mm512_loadu_ps(dw + b * kPanelColumns + 16);
#pragma GCC unroll 6
    for (int i = 0; i < rows; ++i) {
      __m512 s = _mm512_set1_ps(da[i][b]);
      acc[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[i][0]),
                                  _mm512_mul_ps(d0, s), acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[i][1]),
                                  _mm512_mul_ps(d1, s), acc[i][1]);
    }
  }
  avx512_store_panel_tile(p, acc, rows, i0, j, columns);
}

SSM_PANEL_TILES(SSM_VNNI, vnni_prompt_tile)
static const panel_tile_fn kVnniPromptTiles[kPanelTileRows + 1] =
    SSM_PANEL_TILE_TABLE(vnni_prompt_tile);

static bool cpu_has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}

static bool cpu_has_vnni(void) {
  __builtin_cpu_init();
  return cpu_has_avx512() && __builtin_cpu_supports("avx512vnni");
}

static bool cpu_has_amx_bf16(void) {
  __builtin_cpu_init();
  if (!cpu_has_avx512() || !__builtin_cpu_supports("avx512bf16") ||
      !__builtin_cpu_supports("amx-tile") ||
      !__builtin_cpu_supports("amx-bf16"))
    return false;
#if defined(__linux__)
  // Linux (5.16 on) gives a process the tiles' state only when it asks
  // (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); without
  // that the first tile instruction is an illegal instruction.
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return false;
#endif
}

#else

static bool cpu_has_avx512(void) { return false; }
static bool cpu_has_vnni(void) { return false; }
static bool cpu_has_amx_bf16(void) { return false; }

#endif // SSM_PACKED_AVX512

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

static atomic_bool g_force_portable;
static _Atomic int64_t g_register_rows = -1; // -1: the code's own choice.
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;
static bool g_cpu_avx512, g_cpu_vnni, g_cpu_amx_bf16;

static void detect_cpu(void) {
  g_cpu_avx512 = cpu_has_avx512();
  g_cpu_vnni = cpu_has_vnni();
  g_cpu_amx_bf16 = cpu_has_amx_bf16();
}

bool ssm_internal_packed_has_avx512(void) {
  pthread_once(&g_cpu_once, detect_cpu);
  return g_cpu_avx512;
}

bool ssm_internal_packed_has_vnni(void) {
  pthread_once(&g_cpu_once, detect_cpu);
  return g_cpu_vnni;
}

bool ssm_internal_packed_has_amx_bf16(void) {
  pthread_once(&g_cpu_once, detect_cpu);
  return g_cpu_amx_bf16;
}

void ssm_internal_packed_force_portable(bool force) {
  atomic_store(&g_force_portable, force);
}

void ssm_internal_packed_set_register_rows(int64_t rows) {
  atomic_store(&g_register_rows, rows);
}

static bool use_avx512(void) {
  return ssm_internal_packed_has_avx512() && !atomic_load(&g_force_portable);
}

// Up to how many rows of A the product stays in registers. `reduced`: A
// in 8 bits (Q8_0, Q4_0) or bf16 with AMX.
static int64_t register_rows(int32_t format, bool avx512, bool reduced) {
  int64_t rows = atomic_load(&g_register_rows);
  if (rows >= 0)
    return rows;
  if (reduced)
    return format == SSM_WEIGHT_Q8_0   ? kRegisterRowsEightBitQ8
           : format == SSM_WEIGHT_Q4_0 ? kRegisterRowsEightBitQ4
                                       : kRegisterRowsAmx;
  return avx512 ? kRegisterRowsAvx512 : kRegisterRowsPortable;
}

static void decode_row(const struct packed *w, bool avx512, int64_t row,
                       float *out) {
#if SSM_PACKED_AVX512
  if (avx512) {
    avx512_decode_row(w, row, out);
    return;
  }
#endif
  (void)avx512;
  portable_decode_row(w, row, out);
}

// Every row of C, columns [j0, j1), with the weights decoded in registers:
// W is read once per kTileRows rows of A.
#if SSM_PACKED_AVX512
// bf16 with AMX: the dot-product register tiles, with the tile unit's code
// below.
static const avx512_span_fn kBf16DotSpans[kTileRows + 1];
#endif

static void register_product(const struct product *p, int64_t j0, int64_t j1) {
  for (int64_t i0 = 0; i0 < p->m; i0 += kTileRows) {
    int rows = p->m - i0 < kTileRows ? (int)(p->m - i0) : kTileRows;
#if SSM_PACKED_AVX512
    if (p->qa) {
      kVnniSpans[p->w.format][rows](p, i0, j0, j1);
      continue;
    }
    if (p->ar) {
      kBf16DotSpans[rows](p, i0, j0, j1);
      continue;
    }
    if (p->avx512) {
      kAvx512Spans[p->w.format][rows](p, i0, j0, j1);
      continue;
    }
#endif
    portable_product(p, i0, rows, j0, j1);
  }
}

static void register_items(void *ctx, int64_t lo, int64_t hi) {
  const struct product *p = ctx;
  int64_t j1 = hi * kRegisterColumns < p->n ? hi * kRegisterColumns : p->n;
  register_product(p, lo * kRegisterColumns, j1);
}

//===----------------------------------------------------------------------===//
// Panels for the BLAS
//===----------------------------------------------------------------------===//
//
// Each thread keeps the largest panel buffer it has needed, so that a model
// running layer after layer allocates once per thread. The buffer is freed
// when the thread exits, through a pthread key's destructor; the library's
// destructor deletes the key, so that threads outliving a dlclose do not
// call into unmapped code (their buffers are leaked then).

// Two buffers per thread: one for panels of W, one for A in 8 bits (which
// the calling thread keeps while it also works on panels).
enum { kScratchPanel, kScratchA, kScratchSlots };

static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_scratch_keys[kScratchSlots];
static bool g_scratch_keys_made;
static _Thread_local float *tls_scratch[kScratchSlots];
static _Thread_local size_t tls_scratch_floats[kScratchSlots];

static void make_scratch_keys(void) {
  int made = 0;
  while (made < kScratchSlots &&
         pthread_key_create(&g_scratch_keys[made], free) == 0)
    ++made;
  g_scratch_keys_made = made == kScratchSlots;
  if (!g_scratch_keys_made)
    while (made > 0)
      pthread_key_delete(g_scratch_keys[--made]);
}

__attribute__((destructor)) static void ssm_packed_on_unload(void) {
  if (g_scratch_keys_made)
    for (int slot = 0; slot < kScratchSlots; ++slot)
      pthread_key_delete(g_scratch_keys[slot]);
}

// A buffer of at least `floats` floats for the calling thread, or null if
// it cannot be had (then the caller computes without one).
static float *scratch(int slot, size_t floats) {
  if (floats <= tls_scratch_floats[slot])
    return tls_scratch[slot];
  pthread_once(&g_scratch_once, make_scratch_keys);
  if (!g_scratch_keys_made)
    return NULL;
  size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
  float *buffer = aligned_alloc(64, bytes);
  if (!buffer || pthread_setspecific(g_scratch_keys[slot], buffer) != 0) {
    free(buffer);
    return NULL;
  }
  free(tls_scratch[slot]);
  tls_scratch[slot] = buffer;
  tls_scratch_floats[slot] = floats;
  return buffer;
}

// Rows of W per panel: as many as fit kPanelBytes, within the bounds.
static int64_t panel_rows(int64_t k) {
  int64_t rows = kPanelBytes / (k * (int64_t)sizeof(float));
  rows = rows < kPanelMinRows ? kPanelMinRows : rows;
  return rows > kPanelMaxRows ? kPanelMaxRows : rows;
}

static void panel_items(void *ctx, int64_t lo, int64_t hi) {
  const struct product *p = ctx;
  for (int64_t item = lo; item < hi; ++item) {
    int64_t j0 = item * p->panel_rows;
    int64_t j1 = j0 + p->panel_rows < p->n ? j0 + p->panel_rows : p->n;
    float *panel = scratch(kScratchPanel, (size_t)((j1 - j0) * p->k));
    if (!panel) { // Out of memory: slower, but no failure to report.
      register_product(p, j0, j1);
      continue;
    }
    for (int64_t j = j0; j < j1; ++j)
      decode_row(&p->w, p->avx512, j, panel + (j - j0) * p->k);
    ssm_internal_blas_product(1, p->m, j1 - j0, p->k, p->a, p->lda, panel, p->k,
                              p->beta, p->c + j0, p->ldc);
  }
}

// Runs `body` over items [0, items): on the pool where there are more than
// one item and one thread, else on the calling thread.
static ssm_status_t run_items(ssm_parallel_body_t body, int64_t items,
                              void *ctx) {
  if (ssm_get_num_threads() > 1 && items > 1)
    return ssm_parallel_for(0, items, 1, body, ctx);
  body(ctx, 0, items);
  return SSM_OK;
}

#if SSM_PACKED_AVX512
//===----------------------------------------------------------------------===//
// A in bf16, with AMX, for bf16
//===----------------------------------------------------------------------===//
//
// On CPUs with AMX-BF16 (Sapphire Rapids and later), a bf16 product rounds
// A to bf16, as llama.cpp does for bf16 weights, and prompts run on the
// tile unit: one TDPBF16PS multiplies a 16 x 32 tile of A by a 32 x 16
// tile of W into 16 x 16 f32 sums, about nine times the f32 FMA tiles'
// rate on the Xeon measured. Each product of two bf16 is exact in f32, so
// only A's rounding (to nearest even) separates the result from the f32
// product with the bf16 weights; the tile unit also treats subnormal inputs
// and results as zero. Decode keeps register tiles, on the same rounded A
// with VDPBF16PS (bf16_dot_tile), so that a token gives the same numbers
// in a prompt and alone but for the order of the sums.
//
// A in bf16: rows padded with zeros to a multiple of kAmxBlock elements
// (one tile row, 64 bytes) and to a multiple of kAmxRows rows. A panel of
// kPanelColumns rows of W: per pair of elements (k, k + 1), the pair of
// each column, 4 bytes, as TDPBF16PS reads its second operand; padded
// with zeros like A. The padding multiplies zeros only.
enum {
  kAmxBlock = 32, // bf16 per tile row.
  kAmxRows = 32,  // Rows of A per block of C: two tiles of 16.
  // Panels per work item, which share each read of a block of A's rows:
  // with one, each thread read all of A (1.5 MiB for k = 1536) per 32
  // columns, and a second thread gained nothing on 768 x 1536.
  kAmxPanels = 4,
  kAmxColumns = kAmxPanels * kPanelColumns,
};

static int64_t amx_depth(int64_t k) {
  return (k + kAmxBlock - 1) / kAmxBlock * kAmxBlock;
}

// Where element (i, t) of A starts its row of a tile: 16 rows of kAmxBlock
// per tile, the tiles of 16 rows one after the other along k.
static int64_t amx_tile_at(int64_t i, int64_t t, int64_t depth) {
  return i / 16 * 16 * depth + t / kAmxBlock * 16 * kAmxBlock +
         i % 16 * kAmxBlock;
}

static int64_t amx_panel_bytes(int64_t k) {
  return amx_depth(k) * kPanelColumns * 2;
}

// Bytes of A in bf16 for m rows.
static int64_t amx_a_bytes(int64_t m, int64_t k) {
  return (m + kAmxRows - 1) / kAmxRows * kAmxRows * amx_depth(k) * 2;
}

#define SSM_AMX_TARGET                                                         \
  target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")
#define SSM_AMX __attribute__((SSM_AMX_TARGET))

// 32 floats from `x` (count of them, the rest 0) rounded to bf16 (nearest
// even, subnormals to zero).
SSM_AMX static __m512i amx_round32(const float *x, int count) {
  __mmask16 lo, hi;
  avx512_masks(count, &lo, &hi);
  return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + 16),
                                      _mm512_maskz_loadu_ps(lo, x));
}

// Rows [i0, i0 + m) of A, i0 a multiple of 16, into `out` in bf16, in
// tiles: per 16 rows and per kAmxBlock elements, 16 rows of 64 bytes, so
// that each tile the product loads is 1 KiB in one piece.
SSM_AMX static void amx_round_rows(const float *a, int64_t lda, int64_t i0,
                                   int64_t m, int64_t k, uint16_t *out) {
  int64_t depth = amx_depth(k);
  for (int64_t i = i0; i < i0 + m; ++i)
    for (int64_t t = 0; t < depth; t += kAmxBlock) {
      int count = k - t < kAmxBlock ? (int)(k - t) : kAmxBlock;
      _mm512_storeu_si512(out + amx_tile_at(i, t, depth),
                          amx_round32(a + (i - i0) * lda + t, count));
    }
}

// Rows [0, m) of A rounded to bf16, for the register tiles: each `stride`
// elements, zeros past k.
SSM_AMX static void bf16_rows(const float *a, int64_t lda, int64_t m, int64_t k,
                              int64_t stride, uint16_t *out) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t t = 0; t < stride; t += kAmxBlock) {
      int count = k - t < kAmxBlock ? (int)(k - t) : kAmxBlock;
      _mm512_storeu_si512(out + i * stride + t, amx_round32(a + i * lda + t, count));
    }
}

// C[i0 .. i0 + rows, j .. j + columns] from A and W in bf16: per 32
// elements of k, one VDPBF16PS (16 lanes, each the sum of two exact
// products added to its f32 sum) per row of A and row of W. The f32
// register tiles spent two conversions and two FMAs per 32 elements and
// row of W, and more instructions than the loads can hide on two threads.
// Like the tile unit, it treats subnormal inputs and sums as zero.
SSM_AMX static inline void bf16_dot_tile(const struct product *p, int rows,
                                         int columns, int64_t i0, int64_t j) {
  const struct packed *w = &p->w;
  int64_t blocks = (w->k + kBlock - 1) / kBlock;
  const uint16_t *wr[4];
#pragma GCC unroll 4
  for (int r = 0; r < columns; ++r)
    wr[r] = (const uint16_t *)(w->values + (j + r) * row_bytes(SSM_WEIGHT_BF16, w->k));
  __m512 acc[kTileRows][4];
  avx512_zero_tile(acc, rows, columns);
  const uint16_t *a = p->ar + i0 * p->ar_stride;
  for (int64_t b = 0; b < blocks; ++b) {
    int count = block_count(w->k, b);
    __mmask32 mask = count < kBlock ? (__mmask32)((1u << count) - 1) : ~(__mmask32)0;
    __m512bh wv[4];
#pragma GCC unroll 4
    for (int r = 0; r < columns; ++r) {
      _mm_prefetch((const char *)(wr[r] + b * kBlock) + kPrefetchBytes, _MM_HINT_T0);
      wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(mask, wr[r] + b * kBlock);
    }
#pragma GCC unroll 8
    for (int i = 0; i < rows; ++i) {
      __m512bh av = (__m512bh)_mm512_loadu_si512(a + i * p->ar_stride + b * kBlock);
#pragma GCC unroll 4
      for (int r = 0; r < columns; ++r)
        acc[i][r] = _mm512_dpbf16_ps(acc[i][r], av, wv[r]);
    }
  }
  avx512_store_tile(p, acc, rows, columns, i0, j);
}

// `format` is bf16; it is there for SSM_SPANS.
SSM_AMX static inline void bf16_dot_span(const struct product *p, int32_t format,
                                         int rows, int64_t i0, int64_t j0,
                                         int64_t j1) {
  (void)format;
  int columns = avx512_columns_for(rows);
  int64_t j = j0;
  for (; j + columns <= j1; j += columns)
    bf16_dot_tile(p, rows, columns, i0, j);
  for (; j < j1; ++j)
    bf16_dot_tile(p, rows, 1, i0, j);
}

SSM_SPANS(SSM_AMX, bf16_dot_span, BF16)

// Indexed by rows of A.
static const avx512_span_fn kBf16DotSpans[kTileRows + 1] =
    SSM_SPAN_ROW(bf16_dot_span, BF16);

// Rows [j, j + columns) of bf16 W into a panel: per 16 rows, blocks of 16
// pairs of elements (64 bytes of a row) transposed as 16 x 16 words.
SSM_AMX static const void *amx_panel(const struct packed *w, int64_t j,
                                     int columns, void *buffer) {
  uint8_t *panel = buffer;
  int64_t k = w->k, depth = amx_depth(k);
  for (int g = 0; g < kPanelColumns / 16; ++g)
    for (int64_t t0 = 0; t0 < depth; t0 += kAmxBlock) {
      int count = k - t0 < kAmxBlock ? (int)(k - t0) : kAmxBlock;
      __mmask32 mask = count == 32 ? 0xFFFFFFFFu : (1u << count) - 1;
      __m512 r[16];
#pragma GCC unroll 16
      for (int c = 0; c < 16; ++c) {
        int64_t row = j + 16 * g + c;
        r[c] = 16 * g + c < columns
                   ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(
                         mask, w->values + (row * k + t0) * 2))
                   : _mm512_setzero_ps();
      }
      avx512_transpose16(r);
#pragma GCC unroll 16
      for (int p = 0; p < 16; ++p)
        _mm512_storeu_ps(panel + (t0 / 2 + p) * kPanelColumns * 4 + g * 64,
                         r[p]);
    }
  return panel;
}

// The tile configuration of the AMX items: tiles 0-3 the sums of a 32 x 32
// block of C (rows 0-15 and 16-31 by columns 0-15 and 16-31), 4-5 two
// tiles of A, 6-7 two of the panel; all 16 rows of 64 bytes.
struct amx_config {
  uint8_t palette, start_row, reserved[14];
  uint16_t bytes_per_row[16];
  uint8_t rows[16];
};

// C[i0 .. i0 + kAmxRows, j .. j + columns] for every i0, from p->ab and
// the panels of those columns (kPanelColumns each): each block of rows of A
// is read once for all of them.
SSM_AMX static void amx_product(const struct product *p, const uint8_t *panels,
                                int64_t j, int columns) {
  int64_t depth = amx_depth(p->k), panel_bytes = amx_panel_bytes(p->k);
  size_t w_row = kPanelColumns * 4;
  float sums[kAmxRows][kPanelColumns];
  for (int64_t i0 = 0; i0 < p->m; i0 += kAmxRows) {
    const uint16_t *a = p->ab + i0 * depth;
    int rows = p->m - i0 < kAmxRows ? (int)(p->m - i0) : kAmxRows;
    for (int q = 0; q * kPanelColumns < columns; ++q) {
      const uint8_t *panel = panels + q * panel_bytes;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t t = 0; t < depth; t += kAmxBlock) {
        const uint8_t *wt = panel + t / 2 * w_row;
        _tile_loadd(4, a + amx_tile_at(0, t, depth), 64);
        _tile_loadd(5, a + amx_tile_at(16, t, depth), 64);
        _tile_loadd(6, wt, w_row);
        _tile_loadd(7, wt + 64, w_row);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, &sums[0][0], sizeof sums[0]);
      _tile_stored(1, &sums[0][16], sizeof sums[0]);
      _tile_stored(2, &sums[16][0], sizeof sums[0]);
      _tile_stored(3, &sums[16][16], sizeof sums[0]);
      int left = columns - q * kPanelColumns;
      __mmask16 masks[2];
      avx512_masks(left < kPanelColumns ? left : kPanelColumns, &masks[0],
                   &masks[1]);
      for (int i = 0; i < rows; ++i)
        for (int g = 0; g < 2; ++g)
          avx512_store_c(p,
                         p->c + (i0 + i) * p->ldc + j + q * kPanelColumns +
                             16 * g,
                         _mm512_loadu_ps(&sums[i][16 * g]), masks[g]);
    }
  }
}

// Work items [lo, hi) of kAmxPanels panels of W, multiplied on the tile
// unit. The tile configuration belongs to the thread: each call loads it
// and releases the tiles at the end.
SSM_AMX static void amx_items(void *ctx, int64_t lo, int64_t hi) {
  const struct product *p = ctx;
  struct amx_config config = {.palette = 1};
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = 16;
    config.bytes_per_row[t] = 64;
  }
  _tile_loadconfig(&config);
  int64_t panel_bytes = amx_panel_bytes(p->k);
  for (int64_t item = lo; item < hi; ++item) {
    int64_t j = item * kAmxColumns;
    int columns = p->n - j < kAmxColumns ? (int)(p->n - j) : kAmxColumns;
    uint8_t *buffer = (uint8_t *)scratch(
        kScratchPanel, (size_t)(kAmxPanels * panel_bytes) / sizeof(float));
    if (!buffer) { // Out of memory: the register tiles, with A in f32.
      register_product(p, j, j + columns);
      continue;
    }
    for (int q = 0; q * kPanelColumns < columns; ++q) {
      int left = columns - q * kPanelColumns;
      amx_panel(&p->w, j + q * kPanelColumns,
                left < kPanelColumns ? left : kPanelColumns,
                buffer + q * panel_bytes);
    }
    amx_product(p, buffer, j, columns);
  }
  _tile_release();
}

// Prompts in the AVX-512 code: a panel of kPanelColumns rows of W per
// item, decoded to f32 or, with A in 8 bits (p->qa), unpacked for
// vpdpbusd, and multiplied by tiles of kPanelTileRows rows of A.
static void panel_tile_items(void *ctx, int64_t lo, int64_t hi) {
  const struct product *p = ctx;
  size_t floats = p->qa ? (size_t)prompt_panel_bytes(p->k) / sizeof(float)
                        : (size_t)f32_panel_floats(p->k);
  const panel_tile_fn *tiles = p->qa ? kVnniPromptTiles : kF32Tiles;
  for (int64_t item = lo; item < hi; ++item) {
    int64_t j = item * kPanelColumns;
    int columns = p->n - j < kPanelColumns ? (int)(p->n - j) : kPanelColumns;
    float *buffer = scratch(kScratchPanel, floats);
    if (!buffer) { // Out of memory: the register tiles, with the same A.
      register_product(p, j, j + columns);
      continue;
    }
    const void *panel = p->qa ? vnni_panel(&p->w, j, columns, buffer)
                              : avx512_f32_panel(&p->w, j, columns, buffer);
    for (int64_t i0 = 0; i0 < p->m; i0 += kPanelTileRows) {
      int rows =
          p->m - i0 < kPanelTileRows ? (int)(p->m - i0) : kPanelTileRows;
      tiles[rows](p, panel, i0, j, columns);
    }
  }
}

// Rows [lo, hi) * kReduceRows of A into p->qa or p->ab.
static void reduce_items(void *ctx, int64_t lo, int64_t hi) {
  const struct product *p = ctx;
  int64_t i0 = lo * kReduceRows;
  int64_t i1 = hi * kReduceRows < p->m ? hi * kReduceRows : p->m;
  if (p->qa) {
    vnni_quantize_rows(p->a + i0 * p->lda, p->lda, i1 - i0, p->k,
                       weight_offset(p->w.format), p->qa + i0 * p->qa_stride,
                       p->qa_stride);
    return;
  }
  amx_round_rows(p->a + i0 * p->lda, p->lda, i0, i1 - i0, p->k, p->ab);
}

// A's rows into p->qa or p->ab, on the pool for a prompt.
static ssm_status_t reduce_a(struct product *p) {
  return run_items(reduce_items, (p->m + kReduceRows - 1) / kReduceRows, p);
}

// A in 8 bits into the calling thread's scratch (p->qa), a prompt's rows on
// the pool, kReduceRows per item. Without the memory p->qa stays null and
// the product keeps A in f32.
static ssm_status_t quantize_a(struct product *p) {
  int64_t stride = quantized_row_bytes(p->k);
  uint8_t *buffer =
      (uint8_t *)scratch(kScratchA, (size_t)(p->m * stride) / sizeof(float));
  if (!buffer)
    return SSM_OK;
  p->qa = buffer;
  p->qa_stride = stride;
  return reduce_a(p);
}

// A for a bf16 product with AMX: a prompt's in bf16 tiles for the tile unit
// (on the pool, p->ab), else its rows in bf16 for the register tiles
// (p->ar).
// Without the memory A stays as it is (f32).
static ssm_status_t round_a(struct product *p, bool in_registers) {
  if (in_registers) {
    int64_t stride = amx_depth(p->k);
    uint16_t *buffer =
        (uint16_t *)scratch(kScratchA, (size_t)((p->m * stride + 1) / 2));
    if (buffer) {
      bf16_rows(p->a, p->lda, p->m, p->k, stride, buffer);
      p->ar = buffer;
      p->ar_stride = stride;
    }
    return SSM_OK;
  }
  int64_t bytes = amx_a_bytes(p->m, p->k), depth = amx_depth(p->k);
  uint16_t *buffer =
      (uint16_t *)scratch(kScratchA, (size_t)bytes / sizeof(float));
  if (!buffer)
    return SSM_OK;
  // The rows past m, read by the last block's tiles, are zeros.
  int64_t rows = bytes / 2 / depth;
  for (int64_t i = p->m; i < rows; ++i)
    for (int64_t t = 0; t < depth; t += kAmxBlock)
      memset(buffer + amx_tile_at(i, t, depth), 0, kAmxBlock * 2);
  p->ab = buffer;
  return reduce_a(p);
}

#endif

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

// Whether a product may multiply A in lower precision: Q8_0 and Q4_0 in 8
// bits, bf16 in bf16, unless SSM_Q8_0_A, SSM_Q4_0_A or SSM_BF16_A says
// "f32" (the product of A as given and the decoded weights). Read at each
// call, so that a program can compare both.
static ssm_status_t reduced_a(const char *fn, int32_t format, bool *out) {
  *out = false;
  if (format == SSM_WEIGHT_F16)
    return SSM_OK;
  const char *name = format == SSM_WEIGHT_Q8_0   ? "SSM_Q8_0_A"
                     : format == SSM_WEIGHT_Q4_0 ? "SSM_Q4_0_A"
                                                 : "SSM_BF16_A";
  const char *reduced = format == SSM_WEIGHT_BF16 ? "bf16" : "int8";
  const char *value = getenv(name);
  *out = !value || strcmp(value, reduced) == 0;
  if (*out || strcmp(value, "f32") == 0)
    return SSM_OK;
  return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                       "%s: %s is \"%.40s\"; set it to %s (the default) or "
                       "f32",
                       fn, name, value, reduced);
}

static ssm_status_t packed_matmul(const char *fn, int32_t format, int64_t m,
                                  int64_t n, int64_t k, const float *a,
                                  int64_t lda, const void *w, float beta,
                                  float *c, int64_t ldc) {
  ssm_status_t status = check_format(fn, format);
  if (status != SSM_OK)
    return status;
  if (m < 0 || n < 0 || k < 0) {
    const char *name = m < 0 ? "m" : n < 0 ? "n" : "k";
    int64_t value = m < 0 ? m : n < 0 ? n : k;
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: negative %s (%lld)",
                         fn, name, (long long)value);
  }
  if ((status = check_block_multiple(fn, format, k)) != SSM_OK)
    return status;
  // The BLAS takes C ints; the limit holds for every m, so that whether a
  // call is accepted does not depend on the path it would take.
  struct {
    const char *name;
    int64_t value, cols;
  } lds[] = {{"lda", lda, k}, {"ldc", ldc, n}};
  for (size_t i = 0; i < sizeof lds / sizeof lds[0]; ++i)
    if ((status = ssm_internal_check_ld(fn, lds[i].name, lds[i].value,
                                        lds[i].cols)) != SSM_OK)
      return status;
  struct {
    const char *name;
    const void *pointer;
    int64_t rows, cols, ld;
    bool floats; // W's extent is its byte size, checked by packed_size.
  } operands[] = {{"a", a, m, k, lda, true},
                  {"w", w, n, k, k, false},
                  {"c", c, m, n, ldc, true}};
  for (size_t i = 0; i < sizeof operands / sizeof operands[0]; ++i)
    if ((status = ssm_internal_check_pointer(
             fn, operands[i].name, operands[i].pointer, operands[i].rows,
             operands[i].cols)) != SSM_OK)
      return status;
  int64_t bytes = 0;
  if ((status = packed_size(fn, format, n, k, &bytes)) != SSM_OK)
    return status;
  for (size_t i = 0; i < sizeof operands / sizeof operands[0]; ++i)
    if (operands[i].floats &&
        (status = ssm_internal_check_extent(fn, operands[i].name,
                                            operands[i].rows, operands[i].cols,
                                            operands[i].ld)) != SSM_OK)
      return status;

  if (m == 0 || n == 0)
    return SSM_OK;
  if (k == 0) {
    ssm_internal_scale_c(m, n, beta, c, ldc);
    return SSM_OK;
  }
  bool reduced = false;
  if ((status = reduced_a(fn, format, &reduced)) != SSM_OK)
    return status;
  bool avx512 = use_avx512();
  bool eight_bit = reduced && is_block_format(format) && avx512 &&
                   ssm_internal_packed_has_vnni();
  bool amx = reduced && format == SSM_WEIGHT_BF16 && avx512 &&
             ssm_internal_packed_has_amx_bf16();
  bool in_registers = m <= register_rows(format, avx512, eight_bit || amx);
  struct product p = {.w = describe(format, n, k, w),
                      .m = m,
                      .n = n,
                      .k = k,
                      .a = a,
                      .lda = lda,
                      .beta = beta,
                      .c = c,
                      .ldc = ldc,
                      .avx512 = avx512,
                      .panel_rows = panel_rows(k)};
  bool panels = !in_registers;
  ssm_parallel_body_t body = panels ? panel_items : register_items;
  int64_t width = panels ? p.panel_rows : kRegisterColumns;
#if SSM_PACKED_AVX512
  if (eight_bit && (status = quantize_a(&p)) != SSM_OK)
    return status;
  if (amx && (status = round_a(&p, in_registers)) != SSM_OK)
    return status;
  // Rows of W too long for the 8-bit panels' gathers take the register
  // tiles, with the same A.
  if (p.qa && p.w.blocks > kPromptMaxBlocks) {
    panels = false;
    body = register_items;
    width = kRegisterColumns;
  }
  if (panels && avx512) {
    body = p.ab ? amx_items : panel_tile_items;
    width = p.ab ? kAmxColumns : kPanelColumns;
  }
#endif
  if (body == panel_items && (status = ssm_internal_blas_load(fn)) != SSM_OK)
    return status;
  return run_items(body, (n + width - 1) / width, &p);
}

ssm_status_t ssm_packed_check_environment(void) {
  static const int32_t formats[] = {SSM_WEIGHT_BF16, SSM_WEIGHT_Q8_0,
                                    SSM_WEIGHT_Q4_0};
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; ++i) {
    bool reduced;
    ssm_status_t status =
        reduced_a("ssm_packed_check_environment", formats[i], &reduced);
    if (status != SSM_OK)
      return status;
  }
  return SSM_OK;
}

ssm_status_t ssm_packed_matmul(int32_t format, int64_t m, int64_t n, int64_t k,
                               const float *a, int64_t lda, const void *w,
                               float beta, float *c, int64_t ldc) {
  return packed_matmul("ssm_packed_matmul", format, m, n, k, a, lda, w, beta, c,
                       ldc);
}

static ssm_status_t packed_gather(const char *fn, int32_t format, int64_t n,
                                  int64_t k, const void *w, const int64_t *ids,
                                  int64_t count, float *out, int64_t ldo) {
  ssm_status_t status = check_format(fn, format);
  if (status != SSM_OK)
    return status;
  if (n < 0 || k < 0 || count < 0) {
    const char *name = n < 0 ? "n" : k < 0 ? "k" : "count";
    int64_t value = n < 0 ? n : k < 0 ? k : count;
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: negative %s (%lld)",
                         fn, name, (long long)value);
  }
  if ((status = check_block_multiple(fn, format, k)) != SSM_OK)
    return status;
  int64_t least = k > 1 ? k : 1;
  if (ldo < least)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: ldo %lld is less than max(1, %lld), the length "
                         "of a row",
                         fn, (long long)ldo, (long long)k);
  if (n != 0 && k != 0 && !w)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: w is null but has %lld x %lld elements", fn,
                         (long long)n, (long long)k);
  if (count != 0 && !ids)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: ids is null but count is %lld", fn,
                         (long long)count);
  if ((status = ssm_internal_check_pointer(fn, "out", out, count, k)) !=
      SSM_OK)
    return status;
  int64_t bytes = 0;
  if ((status = packed_size(fn, format, n, k, &bytes)) != SSM_OK)
    return status;
  if ((status = ssm_internal_check_extent(fn, "out", count, k, ldo)) != SSM_OK)
    return status;
  // Every id before any row is written: a failing call writes nothing.
  for (int64_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] >= n)
      return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                           "%s: ids[%lld] = %lld is outside [0, %lld)", fn,
                           (long long)i, (long long)ids[i], (long long)n);
  if (k == 0)
    return SSM_OK;
  struct packed packed = describe(format, n, k, w);
  bool avx512 = use_avx512();
  for (int64_t i = 0; i < count; ++i)
    decode_row(&packed, avx512, ids[i], out + i * ldo);
  return SSM_OK;
}

ssm_status_t ssm_packed_gather(int32_t format, int64_t n, int64_t k,
                               const void *w, const int64_t *ids, int64_t count,
                               float *out, int64_t ldo) {
  return packed_gather("ssm_packed_gather", format, n, k, w, ids, count, out,
                       ldo);
}

static void abort_with_message(void) {
  fprintf(stderr, "ssm runtime: %s\n", ssm_last_error());
  fflush(stderr);
  abort();
}

void ssm_kernel_packed_matmul(int32_t format, int64_t m, int64_t n, int64_t k,
                              const float *a, int64_t lda, const void *w,
                              float beta, float *c, int64_t ldc) {
  if (packed_matmul("ssm_kernel_packed_matmul", format, m, n, k, a, lda, w,
                    beta, c, ldc) != SSM_OK)
    abort_with_message();
}

void ssm_kernel_packed_gather(int32_t format, int64_t n, int64_t k,
                              const void *w, const int64_t *ids, int64_t count,
                              float *out, int64_t ldo) {
  if (packed_gather("ssm_kernel_packed_gather", format, n, k, w, ids, count,
                    out, ldo) != SSM_OK)
    abort_with_message();
}
