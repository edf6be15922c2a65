//===- Reference.h - Reference semantics of the ssm ops ---------*- C++ -*-===//
//
// Part of ssmc. Plain double-precision loops that compute what each ssm op
// means (docs/semantics.md) on host buffers. Numerical tests compare compiled
// kernels with these functions, so they are written for obviousness, not
// speed, and depend on nothing but the C++ standard library: the ground truth
// must not share code, or bugs, with the compiler it checks.
//
// Every function validates the shapes of its arguments and throws
// std::invalid_argument naming the operand and dimension at fault.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_REFERENCE_REFERENCE_H
#define SSM_REFERENCE_REFERENCE_H

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

namespace ssm::ref {

/// A dense row-major tensor of doubles.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  Tensor() = default;
  /// A tensor of `shape` filled with `fill`.
  explicit Tensor(std::vector<int64_t> shape, double fill = 0.0);

  /// Number of dimensions.
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  /// Number of elements.
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  /// Size of dimension `i`.
  int64_t dim(int64_t i) const { return shape.at(static_cast<size_t>(i)); }
  /// Element at a full multi-index (checked in debug builds).
  double &at(std::initializer_list<int64_t> index);
  /// Element at a full multi-index (checked in debug builds).
  double at(std::initializer_list<int64_t> index) const;

private:
  int64_t offset(std::initializer_list<int64_t> index) const;
};

/// The discretization rules of docs/semantics.md.
enum class Discretization { ZOH, Bilinear, Euler, Mamba };

/// One discretized (Abar, Bbar) pair.
struct Discrete {
  double abar;
  double bbar;
};

/// Discretizes one diagonal element (a, b) with step `delta`. ZOH stays
/// accurate as delta * a -> 0 (expm1(x) / x with its limit 1 at x = 0).
Discrete discretize(Discretization method, double a, double b, double delta);

/// log(1 + exp(x)), without overflow for large x.
double softplus(double x);
/// x / (1 + exp(-x)).
double silu(double x);

/// Operands of `ssm.scan`: x [B, L, D]; abar, bbar, c each [B, L, D, N]
/// (time-varying) or [D, N] (time-invariant); d [D]; init [B, D, N];
/// reset [B, L] (non-zero = true).
struct ScanArgs {
  Tensor x, abar, bbar, c;
  std::optional<Tensor> d, init, reset;
  bool reverse = false;
};

/// Results of `ssm.scan`: y [B, L, D] and the final state [B, D, N].
struct ScanResult {
  Tensor y, finalState;
};

/// The linear recurrence of `ssm.scan`.
ScanResult scan(const ScanArgs &args);

/// Operands of `ssm.selective_scan` (mamba_ssm layout): u, delta [B, D, L];
/// A [D, N]; B, C [B, G, N, L] or [D, N]; D [D]; z [B, D, L];
/// deltaBias [D]; init [B, D, N].
struct SelectiveScanArgs {
  Tensor u, delta, A, B, C;
  std::optional<Tensor> D, z, deltaBias, init;
  bool deltaSoftplus = false;
  Discretization method = Discretization::Mamba;
};

/// Results of `ssm.selective_scan`: y [B, D, L], final state [B, D, N].
struct SelectiveScanResult {
  Tensor y, finalState;
};

/// Mamba-1's selective scan.
SelectiveScanResult selectiveScan(const SelectiveScanArgs &args);

/// Operands of `ssm.ssd`: x [B, L, H, P]; dt [B, L, H]; A [H];
/// B, C [B, L, G, N]; D [H] or [H, P]; z [B, L, H, P]; dtBias [H];
/// init [B, H, P, N] (or [S, H, P, N] with cuSeqlens); seqIdx [B * L]
/// (row-major [B, L]) or cuSeqlens [S + 1], not both.
struct SSDArgs {
  Tensor x, dt, A, B, C;
  std::optional<Tensor> D, z, dtBias, init;
  std::optional<std::vector<int64_t>> seqIdx, cuSeqlens;
  bool dtSoftplus = false;
  std::optional<std::pair<double, double>> dtLimit;
};

/// Results of `ssm.ssd`: y [B, L, H, P] and the final states [B, H, P, N]
/// (or [S, H, P, N] with cuSeqlens).
struct SSDResult {
  Tensor y, finalState;
};

/// Mamba-2's SSD computed as the recurrence, step by step.
SSDResult ssd(const SSDArgs &args);

/// Mamba-2's SSD computed by the chunked state-space-duality algorithm
/// (intra-chunk masked C·Bᵀ products, inter-chunk state passing) with chunks
/// of `chunkSize` steps. Written independently of ssd(): their agreement is
/// a check of both.
SSDResult ssdChunked(const SSDArgs &args, int64_t chunkSize);

/// Operands of `ssm.causal_conv1d`: x [B, C, L]; weight [C, W]; bias [C];
/// initState [B, C, W - 1].
struct CausalConv1dArgs {
  Tensor x, weight;
  std::optional<Tensor> bias, initState;
  bool silu = false;
};

/// Results of `ssm.causal_conv1d`: out [B, C, L], final state [B, C, W - 1].
struct CausalConv1dResult {
  Tensor out, finalState;
};

/// The depthwise causal convolution.
CausalConv1dResult causalConv1d(const CausalConv1dArgs &args);

/// Operands of `ssm.state_update`. Mamba-1 form: state [B, D, N], x, dt
/// [B, D], A [D, N], B, C [B, G, N], D [D], z [B, D], dtBias [D]. Mamba-2
/// form: state [B, H, P, N], x [B, H, P], dt [B, H], A [H], B, C [B, G, N],
/// D [H] or [H, P], z [B, H, P], dtBias [H].
struct StateUpdateArgs {
  Tensor state, x, dt, A, B, C;
  std::optional<Tensor> D, z, dtBias;
  bool dtSoftplus = false;
  std::optional<std::pair<double, double>> dtLimit;
};

/// Results of `ssm.state_update`: the new state and y.
struct StateUpdateResult {
  Tensor newState, y;
};

/// One decoding step (Mamba discretization).
StateUpdateResult stateUpdate(const StateUpdateArgs &args);

} // namespace ssm::ref

#endif // SSM_REFERENCE_REFERENCE_H
