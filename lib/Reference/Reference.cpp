//===- Reference.cpp - Reference semantics of the ssm ops -----------------===//
//
// Part of ssmc. Straight transcriptions of docs/semantics.md. Loops are in
// the order the formulas read; nothing is fused, tiled or reassociated.
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/Reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

using namespace ssm::ref;

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

Tensor::Tensor(std::vector<int64_t> s, double fill) : shape(std::move(s)) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw std::invalid_argument("Tensor: negative dimension");
    n *= d;
  }
  data.assign(static_cast<size_t>(n), fill);
}

int64_t Tensor::offset(std::initializer_list<int64_t> index) const {
  assert(static_cast<int64_t>(index.size()) == rank() && "index rank");
  int64_t off = 0, i = 0;
  for (int64_t v : index) {
    assert(v >= 0 && v < shape[i] && "index out of bounds");
    off = off * shape[i++] + v;
  }
  return off;
}

double &Tensor::at(std::initializer_list<int64_t> index) {
  return data[static_cast<size_t>(offset(index))];
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  return data[static_cast<size_t>(offset(index))];
}

//===----------------------------------------------------------------------===//
// Shape validation
//===----------------------------------------------------------------------===//

namespace {

/// Binds dimension names to sizes across the operands of one call and throws
/// on the first disagreement, naming operand and dimension.
class Dims {
public:
  explicit Dims(std::string op) : op(std::move(op)) {}

  void check(const std::string &name, const Tensor &t,
             std::initializer_list<const char *> names) {
    if (t.rank() != static_cast<int64_t>(names.size()))
      fail("operand '" + name + "' must have rank " +
           std::to_string(names.size()) + ", got " + std::to_string(t.rank()));
    int64_t i = 0;
    for (const char *dim : names)
      bind(dim, t.dim(i), name, i), ++i;
  }

  void check(const std::string &name, const std::optional<Tensor> &t,
             std::initializer_list<const char *> names) {
    if (t)
      check(name, *t, names);
  }

  void bind(const std::string &dim, int64_t size, const std::string &name,
            int64_t index) {
    auto [it, inserted] = sizes.try_emplace(dim, size, name);
    if (!inserted && it->second.first != size)
      fail("operand '" + name + "' dim " + std::to_string(index) + " (" + dim +
           ") is " + std::to_string(size) + ", expected " +
           std::to_string(it->second.first) + " from operand '" +
           it->second.second + "'");
  }

  int64_t operator[](const std::string &dim) const { return sizes.at(dim).first; }

  void multiple(const std::string &dim, const std::string &by) {
    if ((*this)[by] <= 0 || (*this)[dim] % (*this)[by] != 0)
      fail(dim + " = " + std::to_string((*this)[dim]) +
           " must be a positive multiple of " + by + " = " +
           std::to_string((*this)[by]));
  }

  [[noreturn]] void fail(const std::string &message) const {
    throw std::invalid_argument(op + ": " + message);
  }

private:
  std::string op;
  std::map<std::string, std::pair<int64_t, std::string>> sizes;
};

/// Reads a time-varying [B, L, D, N] or time-invariant [D, N] operand.
double varying(const Tensor &t, int64_t b, int64_t l, int64_t d, int64_t n) {
  return t.rank() == 4 ? t.at({b, l, d, n}) : t.at({d, n});
}

void checkVarying(Dims &dims, const std::string &name, const Tensor &t) {
  if (t.rank() == 4)
    dims.check(name, t, {"B", "L", "D", "N"});
  else if (t.rank() == 2)
    dims.check(name, t, {"D", "N"});
  else
    dims.fail("operand '" + name + "' must have rank 4 or 2, got " +
              std::to_string(t.rank()));
}

double clampStep(double delta, const std::optional<std::pair<double, double>> &limit) {
  if (limit)
    delta = std::min(std::max(delta, limit->first), limit->second);
  return delta;
}

} // namespace

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

Discrete ssm::ref::discretize(Discretization method, double a, double b,
                              double delta) {
  double x = delta * a;
  switch (method) {
  case Discretization::ZOH: {
    double ratio = x == 0.0 ? 1.0 : std::expm1(x) / x;
    return {std::exp(x), ratio * delta * b};
  }
  case Discretization::Bilinear:
    return {(1.0 + x / 2.0) / (1.0 - x / 2.0), delta * b / (1.0 - x / 2.0)};
  case Discretization::Euler:
    return {1.0 + x, delta * b};
  case Discretization::Mamba:
    return {std::exp(x), delta * b};
  }
  throw std::invalid_argument("discretize: unknown method");
}

double ssm::ref::softplus(double x) {
  return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
}

double ssm::ref::silu(double x) { return x / (1.0 + std::exp(-x)); }

//===----------------------------------------------------------------------===//
// scan
//===----------------------------------------------------------------------===//

ScanResult ssm::ref::scan(const ScanArgs &a) {
  Dims dims("scan");
  dims.check("x", a.x, {"B", "L", "D"});
  checkVarying(dims, "abar", a.abar);
  checkVarying(dims, "bbar", a.bbar);
  checkVarying(dims, "c", a.c);
  dims.check("d", a.d, {"D"});
  dims.check("init", a.init, {"B", "D", "N"});
  dims.check("reset", a.reset, {"B", "L"});
  int64_t B = dims["B"], L = dims["L"], D = dims["D"], N = dims["N"];

  ScanResult r{Tensor({B, L, D}), Tensor({B, D, N})};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < D; ++d) {
      std::vector<double> h(N, 0.0);
      if (a.init)
        for (int64_t n = 0; n < N; ++n)
          h[n] = a.init->at({b, d, n});
      for (int64_t i = 0; i < L; ++i) {
        int64_t t = a.reverse ? L - 1 - i : i;
        // The boundary between t - 1 and t: before step t going forward,
        // before step t - 1 (i.e. after t + 1's boundary) going backward.
        int64_t cut = a.reverse ? t + 1 : t;
        if (a.reset && i > 0 && cut < L && a.reset->at({b, cut}) != 0.0)
          std::fill(h.begin(), h.end(), 0.0);
        double x = a.x.at({b, t, d});
        double y = a.d ? a.d->at({d}) * x : 0.0;
        for (int64_t n = 0; n < N; ++n) {
          h[n] = varying(a.abar, b, t, d, n) * h[n] +
                 varying(a.bbar, b, t, d, n) * x;
          y += varying(a.c, b, t, d, n) * h[n];
        }
        r.y.at({b, t, d}) = y;
      }
      for (int64_t n = 0; n < N; ++n)
        r.finalState.at({b, d, n}) = h[n];
    }
  return r;
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

SelectiveScanResult ssm::ref::selectiveScan(const SelectiveScanArgs &a) {
  Dims dims("selective_scan");
  dims.check("u", a.u, {"B", "D", "L"});
  dims.check("delta", a.delta, {"B", "D", "L"});
  dims.check("A", a.A, {"D", "N"});
  for (auto [name, t] : {std::pair<const char *, const Tensor *>{"B", &a.B},
                         {"C", &a.C}}) {
    if (t->rank() == 4)
      dims.check(name, *t, {"B", "G", "N", "L"});
    else if (t->rank() == 2)
      dims.check(name, *t, {"D", "N"});
    else
      dims.fail(std::string("operand '") + name + "' must have rank 4 or 2");
  }
  dims.check("D", a.D, {"D"});
  dims.check("z", a.z, {"B", "D", "L"});
  dims.check("delta_bias", a.deltaBias, {"D"});
  dims.check("init", a.init, {"B", "D", "N"});
  bool groups = a.B.rank() == 4 || a.C.rank() == 4;
  if (groups)
    dims.multiple("D", "G");
  int64_t B = dims["B"], D = dims["D"], L = dims["L"], N = dims["N"];
  int64_t perGroup = groups ? D / dims["G"] : D;

  SelectiveScanResult r{Tensor({B, D, L}), Tensor({B, D, N})};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < D; ++d) {
      int64_t g = d / perGroup;
      auto read = [&](const Tensor &t, int64_t n, int64_t l) {
        return t.rank() == 4 ? t.at({b, g, n, l}) : t.at({d, n});
      };
      std::vector<double> h(N, 0.0);
      if (a.init)
        for (int64_t n = 0; n < N; ++n)
          h[n] = a.init->at({b, d, n});
      for (int64_t l = 0; l < L; ++l) {
        double delta = a.delta.at({b, d, l});
        if (a.deltaBias)
          delta += a.deltaBias->at({d});
        if (a.deltaSoftplus)
          delta = softplus(delta);
        double u = a.u.at({b, d, l});
        double y = a.D ? a.D->at({d}) * u : 0.0;
        for (int64_t n = 0; n < N; ++n) {
          Discrete s = discretize(a.method, a.A.at({d, n}), read(a.B, n, l), delta);
          h[n] = s.abar * h[n] + s.bbar * u;
          y += read(a.C, n, l) * h[n];
        }
        if (a.z)
          y *= silu(a.z->at({b, d, l}));
        r.y.at({b, d, l}) = y;
      }
      for (int64_t n = 0; n < N; ++n)
        r.finalState.at({b, d, n}) = h[n];
    }
  return r;
}

//===----------------------------------------------------------------------===//
// ssd
//===----------------------------------------------------------------------===//

namespace {

/// Validated sizes of an SSD call and the per-row sequence structure.
struct SSDShape {
  int64_t B, L, H, P, G, N, S;
  /// For each batch row, the [begin, end) spans of its sequences and the
  /// index of the state (init / final) each one reads and writes, or -1 for
  /// a sequence that starts from zero and whose state is not returned.
  struct Span {
    int64_t begin, end, state;
  };
  std::vector<std::vector<Span>> rows;
};

SSDShape checkSSD(const SSDArgs &a) {
  Dims dims("ssd");
  dims.check("x", a.x, {"B", "L", "H", "P"});
  dims.check("dt", a.dt, {"B", "L", "H"});
  dims.check("A", a.A, {"H"});
  dims.check("B", a.B, {"B", "L", "G", "N"});
  dims.check("C", a.C, {"B", "L", "G", "N"});
  if (a.D && a.D->rank() == 1)
    dims.check("D", a.D, {"H"});
  else
    dims.check("D", a.D, {"H", "P"});
  dims.check("z", a.z, {"B", "L", "H", "P"});
  dims.check("dt_bias", a.dtBias, {"H"});
  dims.multiple("H", "G");
  if (a.seqIdx && a.cuSeqlens)
    dims.fail("takes at most one of 'seq_idx' and 'cu_seqlens'");
  if (a.dtLimit && !(a.dtLimit->first <= a.dtLimit->second))
    dims.fail("dt_limit must satisfy lo <= hi");

  SSDShape s{dims["B"], dims["L"], dims["H"], dims["P"], dims["G"], dims["N"],
             dims["B"], {}};
  if (a.cuSeqlens) {
    const std::vector<int64_t> &cu = *a.cuSeqlens;
    if (cu.empty())
      dims.fail("operand 'cu_seqlens' must have at least 1 element");
    if (s.B != 1)
      dims.fail("with 'cu_seqlens' the batch size B must be 1, got " +
                std::to_string(s.B));
    if (cu.front() != 0 || cu.back() != s.L)
      dims.fail("operand 'cu_seqlens' must start at 0 and end at L = " +
                std::to_string(s.L));
    s.S = static_cast<int64_t>(cu.size()) - 1;
    s.rows.emplace_back();
    for (int64_t i = 0; i < s.S; ++i) {
      if (cu[i + 1] < cu[i])
        dims.fail("operand 'cu_seqlens' must be non-decreasing, but entry " +
                  std::to_string(i + 1) + " is smaller than entry " +
                  std::to_string(i));
      s.rows[0].push_back({cu[i], cu[i + 1], i});
    }
  } else {
    if (a.seqIdx && static_cast<int64_t>(a.seqIdx->size()) != s.B * s.L)
      dims.fail("operand 'seq_idx' must have B * L = " +
                std::to_string(s.B * s.L) + " elements, got " +
                std::to_string(a.seqIdx->size()));
    for (int64_t b = 0; b < s.B; ++b) {
      std::vector<SSDShape::Span> spans;
      int64_t begin = 0;
      for (int64_t t = 1; t <= s.L; ++t) {
        bool boundary = t == s.L || (a.seqIdx && (*a.seqIdx)[b * s.L + t] !=
                                                     (*a.seqIdx)[b * s.L + t - 1]);
        if (boundary) {
          spans.push_back({begin, t, -1});
          begin = t;
        }
      }
      if (spans.empty())
        spans.push_back({0, 0, -1});
      // init applies to the row's first sequence, the final state is the
      // row's last one's; with a single sequence they are the same span.
      s.rows.push_back(spans);
    }
  }
  dims.bind("S", s.S, "cu_seqlens (length - 1) or x (B)", 0);
  dims.check("init", a.init, {"S", "H", "P", "N"});
  return s;
}

/// The per-(b, t, h) step size.
double ssdStep(const SSDArgs &a, int64_t b, int64_t t, int64_t h) {
  double delta = a.dt.at({b, t, h});
  if (a.dtBias)
    delta += a.dtBias->at({h});
  if (a.dtSoftplus)
    delta = softplus(delta);
  return clampStep(delta, a.dtLimit);
}

double ssdSkip(const SSDArgs &a, int64_t h, int64_t p) {
  if (!a.D)
    return 0.0;
  return a.D->rank() == 1 ? a.D->at({h}) : a.D->at({h, p});
}

/// Which state a span starts from and where its end is stored: with
/// cu_seqlens its own; otherwise the row's (init at the first span of row b,
/// final state from the last).
struct SpanStates {
  int64_t initIndex;  // -1: start from zero
  int64_t finalIndex; // -1: not returned
};

SpanStates spanStates(const SSDArgs &a, const SSDShape &s, int64_t b,
                      size_t spanIndex) {
  const SSDShape::Span &span = s.rows[b][spanIndex];
  if (a.cuSeqlens)
    return {a.init ? span.state : -1, span.state};
  bool first = spanIndex == 0, last = spanIndex + 1 == s.rows[b].size();
  return {a.init && first ? b : -1, last ? b : -1};
}

/// Writes y with D and the gate applied to the raw C·h sum.
void finishOutput(const SSDArgs &a, SSDResult &r, int64_t b, int64_t t,
                  int64_t h, int64_t p, double ch) {
  double x = a.x.at({b, t, h, p});
  double y = ch + ssdSkip(a, h, p) * x;
  if (a.z)
    y *= silu(a.z->at({b, t, h, p}));
  r.y.at({b, t, h, p}) = y;
}

/// Runs `advance(r, b, begin, end, h, g, state)` over every (sequence, head)
/// with `state` [P, N] loaded from the sequence's initial state (or zero),
/// and stores what it leaves in `state` as the sequence's final state. The
/// two SSD algorithms share this bookkeeping and nothing else.
template <typename Advance>
SSDResult runSSD(const SSDArgs &a, Advance advance) {
  SSDShape s = checkSSD(a);
  int64_t perGroup = s.H / s.G;
  SSDResult r{Tensor({s.B, s.L, s.H, s.P}), Tensor({s.S, s.H, s.P, s.N})};
  for (int64_t b = 0; b < s.B; ++b)
    for (size_t k = 0; k < s.rows[b].size(); ++k) {
      const SSDShape::Span &span = s.rows[b][k];
      SpanStates st = spanStates(a, s, b, k);
      for (int64_t h = 0; h < s.H; ++h) {
        Tensor state({s.P, s.N});
        if (st.initIndex >= 0)
          for (int64_t p = 0; p < s.P; ++p)
            for (int64_t n = 0; n < s.N; ++n)
              state.at({p, n}) = a.init->at({st.initIndex, h, p, n});
        advance(r, b, span.begin, span.end, h, h / perGroup, state);
        if (st.finalIndex >= 0)
          for (int64_t p = 0; p < s.P; ++p)
            for (int64_t n = 0; n < s.N; ++n)
              r.finalState.at({st.finalIndex, h, p, n}) = state.at({p, n});
      }
    }
  return r;
}

} // namespace

SSDResult ssm::ref::ssd(const SSDArgs &a) {
  return runSSD(a, [&](SSDResult &r, int64_t b, int64_t begin, int64_t end,
                       int64_t h, int64_t g, Tensor &state) {
    int64_t P = state.dim(0), N = state.dim(1);
    for (int64_t t = begin; t < end; ++t) {
      double delta = ssdStep(a, b, t, h);
      double decay = std::exp(delta * a.A.at({h}));
      for (int64_t p = 0; p < P; ++p) {
        double x = a.x.at({b, t, h, p}), ch = 0.0;
        for (int64_t n = 0; n < N; ++n) {
          double &hv = state.at({p, n});
          hv = decay * hv + delta * x * a.B.at({b, t, g, n});
          ch += a.C.at({b, t, g, n}) * hv;
        }
        finishOutput(a, r, b, t, h, p, ch);
      }
    }
  });
}

SSDResult ssm::ref::ssdChunked(const SSDArgs &a, int64_t chunkSize) {
  if (chunkSize <= 0)
    throw std::invalid_argument("ssdChunked: chunk size must be positive");
  return runSSD(a, [&](SSDResult &r, int64_t b, int64_t begin, int64_t end,
                       int64_t h, int64_t g, Tensor &h0) {
    // h0 is the state entering the current chunk.
    int64_t P = h0.dim(0), N = h0.dim(1);
    double A = a.A.at({h});
    for (int64_t c0 = begin; c0 < end; c0 += chunkSize) {
      int64_t Q = std::min(chunkSize, end - c0);
      // Step sizes and inclusive cumulative log-decays within the chunk.
      std::vector<double> delta(Q), cum(Q);
      for (int64_t i = 0; i < Q; ++i) {
        delta[i] = ssdStep(a, b, c0 + i, h);
        cum[i] = (i ? cum[i - 1] : 0.0) + delta[i] * A;
      }
      // (1) Intra-chunk: the masked, attention-like matrix
      //     M[i][j] = exp(cum_i - cum_j) (C_i · B_j) δ_j for j <= i.
      // (4) State-to-output: exp(cum_i) C_i · h0.
      for (int64_t i = 0; i < Q; ++i) {
        std::vector<double> m(i + 1);
        for (int64_t j = 0; j <= i; ++j) {
          double cb = 0.0;
          for (int64_t n = 0; n < N; ++n)
            cb += a.C.at({b, c0 + i, g, n}) * a.B.at({b, c0 + j, g, n});
          m[j] = std::exp(cum[i] - cum[j]) * cb * delta[j];
        }
        for (int64_t p = 0; p < P; ++p) {
          double y = 0.0;
          for (int64_t j = 0; j <= i; ++j)
            y += m[j] * a.x.at({b, c0 + j, h, p});
          double carried = 0.0;
          for (int64_t n = 0; n < N; ++n)
            carried += a.C.at({b, c0 + i, g, n}) * h0.at({p, n});
          finishOutput(a, r, b, c0 + i, h, p, y + std::exp(cum[i]) * carried);
        }
      }
      // (2) + (3) The state passed on: decayed h0 plus this chunk's
      //     contribution Σ_j exp(cum_last - cum_j) δ_j x_j ⊗ B_j.
      Tensor next({P, N});
      for (int64_t p = 0; p < P; ++p)
        for (int64_t n = 0; n < N; ++n) {
          double v = std::exp(cum[Q - 1]) * h0.at({p, n});
          for (int64_t j = 0; j < Q; ++j)
            v += std::exp(cum[Q - 1] - cum[j]) * delta[j] *
                 a.x.at({b, c0 + j, h, p}) * a.B.at({b, c0 + j, g, n});
          next.at({p, n}) = v;
        }
      h0 = std::move(next);
    }
  });
}

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

CausalConv1dResult ssm::ref::causalConv1d(const CausalConv1dArgs &a) {
  Dims dims("causal_conv1d");
  dims.check("x", a.x, {"B", "C", "L"});
  dims.check("weight", a.weight, {"C", "W"});
  if (dims["W"] < 1)
    dims.fail("operand 'weight' dim 1 (W) must be at least 1");
  dims.bind("W-1", dims["W"] - 1, "weight (W - 1)", 1);
  dims.check("bias", a.bias, {"C"});
  dims.check("init_state", a.initState, {"B", "C", "W-1"});
  int64_t B = dims["B"], C = dims["C"], L = dims["L"], W = dims["W"];

  CausalConv1dResult r{Tensor({B, C, L}), Tensor({B, C, W - 1})};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      // x̃: the carried state followed by x.
      auto extended = [&](int64_t t) {
        if (t >= 0)
          return a.x.at({b, c, t});
        int64_t s = W - 1 + t;
        return a.initState ? a.initState->at({b, c, s}) : 0.0;
      };
      for (int64_t t = 0; t < L; ++t) {
        double v = a.bias ? a.bias->at({c}) : 0.0;
        for (int64_t k = 0; k < W; ++k)
          v += a.weight.at({c, k}) * extended(t - W + 1 + k);
        r.out.at({b, c, t}) = a.silu ? silu(v) : v;
      }
      for (int64_t s = 0; s < W - 1; ++s)
        r.finalState.at({b, c, s}) = extended(L - (W - 1) + s);
    }
  return r;
}

//===----------------------------------------------------------------------===//
// state_update
//===----------------------------------------------------------------------===//

StateUpdateResult ssm::ref::stateUpdate(const StateUpdateArgs &a) {
  Dims dims("state_update");
  bool mamba2 = a.state.rank() == 4;
  if (!mamba2 && a.state.rank() != 3)
    dims.fail("operand 'state' must have rank 3 or 4, got " +
              std::to_string(a.state.rank()));
  // Both forms as heads of P channels: Mamba-1 is P = 1 with per-channel
  // A[d, n]; Mamba-2 has one scalar A per head.
  if (mamba2) {
    dims.check("state", a.state, {"B", "H", "P", "N"});
    dims.check("x", a.x, {"B", "H", "P"});
    dims.check("dt", a.dt, {"B", "H"});
    dims.check("A", a.A, {"H"});
    if (a.D && a.D->rank() == 1)
      dims.check("D", a.D, {"H"});
    else
      dims.check("D", a.D, {"H", "P"});
    dims.check("z", a.z, {"B", "H", "P"});
  } else {
    dims.check("state", a.state, {"B", "H", "N"});
    dims.check("x", a.x, {"B", "H"});
    dims.check("dt", a.dt, {"B", "H"});
    dims.check("A", a.A, {"H", "N"});
    dims.check("D", a.D, {"H"});
    dims.check("z", a.z, {"B", "H"});
    dims.bind("P", 1, "state", 0);
  }
  dims.check("B", a.B, {"B", "G", "N"});
  dims.check("C", a.C, {"B", "G", "N"});
  dims.check("dt_bias", a.dtBias, {"H"});
  dims.multiple("H", "G");
  int64_t B = dims["B"], H = dims["H"], P = dims["P"], N = dims["N"];
  int64_t perGroup = H / dims["G"];

  StateUpdateResult r{a.state, a.x};
  // Flat views: element (b, h, p[, n]) of the rank-3 or rank-4 layouts has
  // the same row-major offset once P = 1 is inserted.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t g = h / perGroup;
      double delta = a.dt.at({b, h});
      if (a.dtBias)
        delta += a.dtBias->at({h});
      if (a.dtSoftplus)
        delta = softplus(delta);
      delta = clampStep(delta, a.dtLimit);
      for (int64_t p = 0; p < P; ++p) {
        int64_t xi = (b * H + h) * P + p;
        double x = a.x.data[xi];
        double skip = !a.D ? 0.0
                      : a.D->rank() == 1 ? a.D->at({h})
                                         : a.D->at({h, p});
        double y = skip * x;
        for (int64_t n = 0; n < N; ++n) {
          double A = mamba2 ? a.A.at({h}) : a.A.at({h, n});
          double &s = r.newState.data[xi * N + n];
          s = std::exp(delta * A) * s + delta * a.B.at({b, g, n}) * x;
          y += a.C.at({b, g, n}) * s;
        }
        if (a.z)
          y *= silu(a.z->data[xi]);
        r.y.data[xi] = y;
      }
    }
  return r;
}
