//===- Discretization.h - Ā and B̄ of one element ---------------*- C++ -*-===//
//
// Part of ssmc. The elementwise discretization rules of docs/semantics.md,
// one piece of code for every lowering that discretizes in registers (the
// CPU loops of SSMToSCF, the GPU kernels of SSMToGPU).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_DISCRETIZATION_H
#define SSM_TRANSFORMS_DISCRETIZATION_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/Builders.h"

#include <utility>

namespace mlir::ssm {

/// Ā and the factor s of B̄ = s·B of one diagonal element with rule
/// `method`, from A and the step δ, scalars of one float type. δ = 0 gives
/// (1, 0) for every rule. B̄ is returned as a factor so that a recurrence
/// can apply it to its input (s·x) wherever that is cheaper: for Mamba's
/// rule and Euler's s = δ does not depend on the state entry.
std::pair<Value, Value> buildDiscretization(OpBuilder &b, Location loc,
                                            Discretization method, Value A,
                                            Value delta);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_DISCRETIZATION_H
