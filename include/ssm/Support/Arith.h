//===- Arith.h - Scalar arithmetic builders shared by lowerings -*- C++ -*-===//
//
// Part of ssmc. The scalar formulas that several rewrites emit (precision
// conversions, softplus, SiLU), written once so every lowering computes them
// the same, numerically safe way.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SUPPORT_ARITH_H
#define SSM_SUPPORT_ARITH_H

#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::ssm {

/// Converts the float `value` to the float type `to` (extf or truncf; no op
/// when it already has that type).
Value convertFloat(OpBuilder &b, Location loc, Value value, Type to);

/// softplus(x) = max(x, 0) + log1p(exp(-|x|)): exact and overflow-free.
Value buildSoftplus(OpBuilder &b, Location loc, Value x);

/// silu(x) = x / (1 + exp(-x)).
Value buildSilu(OpBuilder &b, Location loc, Value x);

/// The step size δ of selective SSMs: dt (+ bias when non-null), through
/// softplus when `softplus`, clamped to `limit` = [lo, hi] when given
/// (infinite bounds clamp nothing). All values share one float type.
Value buildStepSize(OpBuilder &b, Location loc, Value dt, Value bias,
                    bool softplus, std::optional<ArrayRef<double>> limit);

/// `acc + lhs * rhs` for sums over the state dimension, with fast-math
/// `reassoc` and `contract`: the order of such a sum carries no meaning, and
/// allowing LLVM to split it into several partial sums (and to fuse the
/// multiply-add) is what lets it vectorize the state loop.
Value buildReductionFMA(OpBuilder &b, Location loc, Value acc, Value lhs,
                        Value rhs);

/// `acc + lhs * rhs` with fast-math `contract` only: LLVM may fuse it into
/// one FMA (one rounding instead of two), and nothing is reordered.
Value buildFMA(OpBuilder &b, Location loc, Value acc, Value lhs, Value rhs);

/// A float constant of `type`: a scalar float type, or a vector of one
/// (every lane `value`).
Value buildFloat(OpBuilder &b, Location loc, Type type, double value);

/// The type arithmetic is carried out in for `types` (shaped or scalar):
/// f64 when any of them stores f64, f32 otherwise.
Type computeTypeFor(MLIRContext *context, TypeRange types);

} // namespace mlir::ssm

#endif // SSM_SUPPORT_ARITH_H
