//===- Storage.h - Float storage types of test tensors ----------*- C++ -*-===//
//
// Part of ssmc. How the execution tests store float tensors (f32, f64, f16,
// bf16) and name their types in the IR. The conversions round to nearest
// even, as the kernels' own truncations do, so a test can hand the reference
// evaluator exactly the values the kernel reads. No MLIR or LLVM: programs
// that only call compiled kernels (the GPU tests) use it too.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_SUPPORT_STORAGE_H
#define SSM_TEST_SUPPORT_STORAGE_H

#include "ssm/Reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ssm::test {

/// How a float tensor is stored in memory (and typed in the IR).
enum class Storage { F32, F64, F16, BF16 };

/// The MLIR element type name of `s`.
inline const char *elementName(Storage s) {
  switch (s) {
  case Storage::F32:
    return "f32";
  case Storage::F64:
    return "f64";
  case Storage::F16:
    return "f16";
  case Storage::BF16:
    return "bf16";
  }
  return "f32";
}

/// Bytes per element of `s`.
inline size_t elementSize(Storage s) {
  return s == Storage::F64 ? 8 : s == Storage::F32 ? 4 : 2;
}

/// The unit roundoff of `s` (half an ulp at 1): 2^-24, 2^-53, 2^-11, 2^-8.
inline double unitRoundoff(Storage s) {
  switch (s) {
  case Storage::F32:
    return std::ldexp(1.0, -24);
  case Storage::F64:
    return std::ldexp(1.0, -53);
  case Storage::F16:
    return std::ldexp(1.0, -11);
  case Storage::BF16:
    return std::ldexp(1.0, -8);
  }
  return 0.0;
}

/// The bound on max |got − expected| / max |expected| of the kernel tests
/// (CPU numerics, GPU emulation, GPU device): f32 storage, 2e-5 (f32
/// arithmetic against the double-precision reference, justified in
/// test/Integration/CPU/LoopLoweringTest.cpp and NumericsTest.cpp); f16/bf16, one rounding of the
/// result to the storage type on top of it.
inline double kernelTolerance(Storage s) {
  constexpr double kTolerance = 2e-5;
  return s == Storage::F32 ? kTolerance
                           : unitRoundoff(s) * (1.0 + kTolerance) + kTolerance;
}

/// The chunked SSD on tensor cores takes f16 operands (u = 2^-11) with f32
/// accumulation: C, B, δ·x, the masked scores and the state copy are each
/// rounded once, so an output carries a few u of error relative to the
/// largest value (random rounding errors of a sum of K products grow like
/// sqrt(K) u, not K u). The emulated cases reach 0.7u to 1.1u; 4u bounds
/// that with a margin, and a wrong fragment layout gives errors of order 1.
/// f16/bf16 storage adds the final rounding.
inline double tensorCoreTolerance(Storage s) {
  double mma = 4 * unitRoundoff(Storage::F16);
  return s == Storage::F32 ? mma : kernelTolerance(s) + mma;
}

/// f32 -> bf16 bits, round to nearest even (NaN kept quiet).
inline uint16_t floatToBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16ToFloat(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// f16 bits -> value (exact in double).
inline double f16ToDouble(uint16_t h) {
  int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0x1f)
    return mantissa ? NAN : sign * INFINITY;
  if (exponent == 0)
    return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

/// value -> f16 bits, round to nearest even; overflow goes to infinity.
inline uint16_t doubleToF16(double v) {
  uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  double a = std::fabs(v);
  if (std::isnan(v))
    return 0x7e00;
  if (a >= 65520.0) // halfway between the largest f16 (65504) and 2^16
    return sign | 0x7c00;
  // Quantum of the binade of `a` (subnormals share 2^-24).
  int e = a > 0 ? std::ilogb(a) : -25;
  double quantum = std::ldexp(1.0, std::max(e, -14) - 10);
  double q = std::nearbyint(a / quantum); // default rounding mode: to even
  double r = q * quantum;
  // Re-encode r exactly.
  if (r == 0)
    return sign;
  int re = std::ilogb(r);
  if (re < -14)
    return sign | static_cast<uint16_t>(std::lround(r / std::ldexp(1.0, -24)));
  uint16_t mant = static_cast<uint16_t>(std::lround(std::ldexp(r, 10 - re)) - 1024);
  return sign | static_cast<uint16_t>((re + 15) << 10) | mant;
}

/// `v` rounded to `s` and back (f32 via a float cast, which rounds to even).
inline double roundTo(double v, Storage s) {
  switch (s) {
  case Storage::F32:
    return static_cast<float>(v);
  case Storage::F64:
    return v;
  case Storage::F16:
    return f16ToDouble(doubleToF16(v));
  case Storage::BF16:
    return bf16ToFloat(floatToBF16(static_cast<float>(v)));
  }
  return v;
}

/// `t` with every element rounded to `s`.
inline ref::Tensor roundTo(ref::Tensor t, Storage s) {
  for (double &v : t.data)
    v = roundTo(v, s);
  return t;
}

/// `tensor<AxBxf32>` (or `?` for each dim when dynamic).
inline std::string type(const std::vector<int64_t> &shape,
                        const char *element = "f32", bool dynamic = false) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (dynamic ? std::string("?") : std::to_string(d)) + "x";
  return s + element + ">";
}

} // namespace ssm::test

#endif // SSM_TEST_SUPPORT_STORAGE_H
