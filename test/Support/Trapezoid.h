//===- Trapezoid.h - A recurrence with two input terms, one lagged -*- C++ -*-===//
//
// Part of ssmc. The core op's rank-R input terms and inputs read at the
// previous step have no model-level op yet; the CPU and GPU-emulator tests
// exercise them with a trapezoidal discretization (Mamba-3's), written as
// ssm.recurrence and compared with the double-precision loop below, which
// follows the formula step by step (it shares nothing with the lowerings):
//
//   α_t = exp(Δ_t · A)            (A per head, or per (head, n): diagonal)
//   h_t = α_t h_{t−1} + (1 − λ_t) Δ_t α_t · x_{t−1} ⊗ B_{t−1} + λ_t Δ_t · x_t ⊗ B_t
//   y_t = C_t · h_t + D x_t
//
// where "t − 1" is the step processed before t (t + 1 for a reverse scan)
// in the same segment, and the lagged term is absent at a segment's first
// step.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_SUPPORT_TRAPEZOID_H
#define SSM_TEST_SUPPORT_TRAPEZOID_H

#include "RandomTensor.h"

#include <cmath>
#include <ostream>
#include <string>

namespace ssm::test {

enum class Segments { None, Reset, SeqIdx, CuSeqlens };

struct TrapezoidCase {
  const char *name;
  /// With CuSeqlens, B is the number of packed sequences (the inputs have
  /// one batch row of their total length).
  int64_t B, L, H, G, P, N;
  bool diagonal, reverse;
  Segments segments;
  bool state;
  Storage storage = Storage::F32;
  /// x and y hold time innermost, [b, h, p, t] (mamba_ssm's layout): the
  /// CPU computes the per-step values along time and transposes them.
  bool timeMajor = false;
};

inline void PrintTo(const TrapezoidCase &c, std::ostream *os) { *os << c.name; }

struct TrapezoidArgs {
  ref::Tensor x, Bm, C, dt, A, lam, D, h0;
  /// Per (row, step): reset flags or segment indices; with CuSeqlens the
  /// B + 1 offsets.
  std::vector<int64_t> segments;
  int64_t rows = 0, length = 0;
};

inline TrapezoidArgs randomTrapezoid(const TrapezoidCase &c, std::mt19937_64 &rng,
                                     Storage s) {
  TrapezoidArgs a;
  bool packed = c.segments == Segments::CuSeqlens;
  a.rows = packed ? 1 : c.B;
  a.length = c.L;
  a.x = stored({a.rows, c.L, c.H, c.P}, rng, s);
  a.Bm = stored({a.rows, c.L, c.G, c.N}, rng, s);
  a.C = stored({a.rows, c.L, c.G, c.N}, rng, s);
  a.dt = stored({a.rows, c.L, c.H}, rng, s, 0.05, 0.6);
  a.A = c.diagonal ? stored({c.H, c.N}, rng, s, -1.5, -0.1) : stored({c.H}, rng, s, -1.5, -0.1);
  a.lam = stored({a.rows, c.L, c.H}, rng, s, 0.2, 0.9);
  a.D = stored({c.H}, rng, s);
  a.h0 = c.state ? stored({c.B, c.H, c.P, c.N}, rng, s) : ref::Tensor({c.B, c.H, c.P, c.N});
  std::uniform_int_distribution<int> coin(0, 4);
  switch (c.segments) {
  case Segments::None:
    break;
  case Segments::Reset:
    for (int64_t i = 0; i < c.B * c.L; ++i)
      a.segments.push_back(coin(rng) == 0 || i % c.L == c.L - 1);
    break;
  case Segments::SeqIdx: {
    for (int64_t b = 0; b < c.B; ++b) {
      int64_t index = 0;
      for (int64_t t = 0; t < c.L; ++t)
        a.segments.push_back(index += (t > 0 && coin(rng) == 0));
    }
    break;
  }
  case Segments::CuSeqlens:
    // B sequences of uneven lengths over the L steps, one of them empty.
    a.segments.push_back(0);
    for (int64_t s = 1; s < c.B; ++s)
      a.segments.push_back(s == 1 ? 0 : std::min(c.L, s * c.L / c.B + 3));
    a.segments.push_back(c.L);
    break;
  }
  return a;
}

struct TrapezoidResult {
  ref::Tensor y, h;
};

inline TrapezoidResult trapezoidReference(const TrapezoidCase &c, const TrapezoidArgs &a) {
  TrapezoidResult r{ref::Tensor(a.x.shape), a.h0};
  int64_t L = c.L, H = c.H, P = c.P, N = c.N, heads = H / c.G;
  bool packed = c.segments == Segments::CuSeqlens;
  auto at4 = [](const ref::Tensor &t, int64_t i, int64_t j, int64_t k, int64_t l) {
    return t.data[((i * t.shape[1] + j) * t.shape[2] + k) * t.shape[3] + l];
  };
  auto at3 = [](const ref::Tensor &t, int64_t i, int64_t j, int64_t k) {
    return t.data[(i * t.shape[1] + j) * t.shape[2] + k];
  };
  for (int64_t row = 0; row < c.B; ++row) {
    int64_t b = packed ? 0 : row;
    int64_t begin = packed ? a.segments[row] : 0, end = packed ? a.segments[row + 1] : L;
    for (int64_t h = 0; h < H; ++h) {
      int64_t g = h / heads;
      for (int64_t p = 0; p < P; ++p) {
        std::vector<double> state(N);
        for (int64_t n = 0; n < N; ++n)
          state[n] = at4(a.h0, row, h, p, n);
        int64_t previous = -1; // the step processed before, in this segment
        for (int64_t k = 0; k < end - begin; ++k) {
          int64_t t = c.reverse ? end - 1 - k : begin + k;
          if (previous >= 0) {
            // reset[t] starts a segment at t in time order: crossed going
            // forward into t, going backward out of t (into t - 1).
            bool cut = (c.segments == Segments::Reset &&
                        a.segments[b * L + (c.reverse ? previous : t)] != 0) ||
                       (c.segments == Segments::SeqIdx &&
                        a.segments[b * L + t] != a.segments[b * L + previous]);
            if (cut) {
              std::fill(state.begin(), state.end(), 0.0);
              previous = -1;
            }
          }
          double dt = at3(a.dt, b, t, h), lam = at3(a.lam, b, t, h), y = 0;
          for (int64_t n = 0; n < N; ++n) {
            double alpha = std::exp(dt * (c.diagonal ? a.A.data[h * N + n] : a.A.data[h]));
            double input = lam * dt * at4(a.x, b, t, h, p) * at4(a.Bm, b, t, g, n);
            if (previous >= 0)
              input += (1 - lam) * dt * alpha * at4(a.x, b, previous, h, p) *
                       at4(a.Bm, b, previous, g, n);
            state[n] = alpha * state[n] + input;
            y += at4(a.C, b, t, g, n) * state[n];
          }
          r.y.data[((b * L + t) * H + h) * P + p] = y + a.D.data[h] * at4(a.x, b, t, h, p);
          previous = t;
        }
        for (int64_t n = 0; n < N; ++n)
          r.h.data[((row * H + h) * P + p) * N + n] = state[n];
      }
    }
  }
  return r;
}

/// The region of the trapezoidal step: its arguments are x, x at the
/// previous step, B, B at the previous step, C, Δ, A, λ and D (f32, the
/// compute type of every storage type the tests use).
inline std::string trapezoidRegion() {
  return " {\n"
         "  ^bb0(%x: f32, %xp: f32, %b: f32, %bp: f32, %c: f32, %dt: f32, %a: f32, "
         "%lam: f32, %d: f32):\n"
         "    %da = arith.mulf %dt, %a : f32\n"
         "    %alpha = math.exp %da : f32\n"
         "    %one = arith.constant 1.0 : f32\n"
         "    %rest = arith.subf %one, %lam : f32\n"
         "    %w0 = arith.mulf %rest, %dt : f32\n"
         "    %beta = arith.mulf %w0, %alpha : f32\n"
         "    %gamma = arith.mulf %lam, %dt : f32\n"
         "    %v0 = arith.mulf %beta, %xp : f32\n"
         "    %v1 = arith.mulf %gamma, %x : f32\n"
         "    %skip = arith.mulf %d, %x : f32\n"
         "    ssm.yield %alpha, %v0, %bp, %v1, %b, %c, %skip"
         " : f32, f32, f32, f32, f32, f32, f32\n"
         "  }";
}

/// The op computing the case as `%r:2 = ssm.recurrence …` (y and the final
/// state), given the SSA names of its operands in the order x, B, C, dt, A,
/// λ, D, y's destination, the initial state and the segment operand, and
/// `type` of each. x and B are passed twice, once read at the previous
/// step.
inline std::string trapezoidOp(const TrapezoidCase &c, const std::vector<std::string> &names,
                               const std::vector<std::string> &types) {
  static const char *kSegmentKeyword[] = {"", "reset", "seq_idx", "cu_seqlens"};
  const std::string &x = names[0], &xt = types[0], &B = names[1], &Bt = types[1];
  std::string rows = c.timeMajor ? " [b, (g, r), p, t]" : " [b, t, (g, r), p]";
  std::string op = std::string("%r:2 = ssm.recurrence ") +
                   (c.diagonal ? "diagonal " : "scalar ") +
                   (c.reverse ? "reverse" : "forward") + " terms 2\n    ins(" + x +
                   rows + ", " + x + rows + " previous, " + B +
                   " [b, t, g, n], " + B + " [b, t, g, n] previous, " + names[2] +
                   " [b, t, g, n], " + names[3] + " [b, t, (g, r)], " + names[4] +
                   (c.diagonal ? " [(g, r), n], " : " [(g, r)], ") + names[5] +
                   " [b, t, (g, r)], " + names[6] + " [(g, r)]\n      : " + xt + ", " +
                   xt + ", " + Bt + ", " + Bt + ", " + types[2] + ", " + types[3] + ", " +
                   types[4] + ", " + types[5] + ", " + types[6] + ")";
  if (c.segments != Segments::None)
    op += std::string(" ") + kSegmentKeyword[static_cast<int>(c.segments)] + "(" +
          names[9] + " : " + types[9] + ")";
  op += "\n    outs(" + names[7] + rows + ", " + names[8] +
        " [b, (g, r), p, n] : " + types[7] + ", " + types[8] + ")" + trapezoidRegion();
  return op;
}

/// One decode step of the rule: the recurrence without a time dimension,
/// the previous step's x and B passed as tensors of their own, the state
/// updated in place. x, xp [B, H, P]; Bm, Bp, C [B, G, N]; dt, lam [B, H];
/// A [H] or [H, N]; D [H]; h [B, H, P, N].
struct TrapezoidStep {
  ref::Tensor x, xp, Bm, Bp, C, dt, A, lam, D, h;
};

inline TrapezoidStep randomTrapezoidStep(const TrapezoidCase &c, std::mt19937_64 &rng,
                                         Storage s) {
  TrapezoidStep a;
  a.x = stored({c.B, c.H, c.P}, rng, s);
  a.xp = stored({c.B, c.H, c.P}, rng, s);
  a.Bm = stored({c.B, c.G, c.N}, rng, s);
  a.Bp = stored({c.B, c.G, c.N}, rng, s);
  a.C = stored({c.B, c.G, c.N}, rng, s);
  a.dt = stored({c.B, c.H}, rng, s, 0.05, 0.6);
  a.A = c.diagonal ? stored({c.H, c.N}, rng, s, -1.5, -0.1) : stored({c.H}, rng, s, -1.5, -0.1);
  a.lam = stored({c.B, c.H}, rng, s, 0.2, 0.9);
  a.D = stored({c.H}, rng, s);
  a.h = stored({c.B, c.H, c.P, c.N}, rng, s);
  return a;
}

inline TrapezoidResult trapezoidStepReference(const TrapezoidCase &c, const TrapezoidStep &a) {
  TrapezoidResult r{ref::Tensor(a.x.shape), a.h};
  int64_t H = c.H, P = c.P, N = c.N, heads = H / c.G;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t p = 0; p < P; ++p) {
        int64_t g = h / heads, row = (b * H + h) * P + p;
        double dt = a.dt.data[b * H + h], lam = a.lam.data[b * H + h];
        double x = a.x.data[row], xp = a.xp.data[row], y = a.D.data[h] * x;
        for (int64_t n = 0; n < N; ++n) {
          int64_t bn = (b * c.G + g) * N + n;
          double alpha = std::exp(dt * (c.diagonal ? a.A.data[h * N + n] : a.A.data[h]));
          double &state = r.h.data[row * N + n];
          state = alpha * state + (1 - lam) * dt * alpha * xp * a.Bp.data[bn] +
                  lam * dt * x * a.Bm.data[bn];
          y += a.C.data[bn] * state;
        }
        r.y.data[row] = y;
      }
  return r;
}

/// `%r:2 = ssm.recurrence …` for the step (y and the new state), given the
/// SSA names and types of x, xp, Bm, Bp, C, dt, A, lam, D, y's destination
/// and the state.
inline std::string trapezoidStepOp(const TrapezoidCase &c, const std::vector<std::string> &n,
                                   const std::vector<std::string> &t) {
  return std::string("%r:2 = ssm.recurrence ") + (c.diagonal ? "diagonal" : "scalar") +
         " forward terms 2\n    ins(" + n[0] + " [b, (g, r), p], " + n[1] +
         " [b, (g, r), p], " + n[2] + " [b, g, n], " + n[3] + " [b, g, n], " + n[4] +
         " [b, g, n], " + n[5] + " [b, (g, r)], " + n[6] +
         (c.diagonal ? " [(g, r), n], " : " [(g, r)], ") + n[7] + " [b, (g, r)], " + n[8] +
         " [(g, r)]\n      : " + t[0] + ", " + t[1] + ", " + t[2] + ", " + t[3] + ", " +
         t[4] + ", " + t[5] + ", " + t[6] + ", " + t[7] + ", " + t[8] + ")\n    outs(" +
         n[9] + " [b, (g, r), p], " + n[10] + " [b, (g, r), p, n] : " + t[9] + ", " +
         t[10] + ")" + trapezoidRegion();
}

} // namespace ssm::test

#endif // SSM_TEST_SUPPORT_TRAPEZOID_H
