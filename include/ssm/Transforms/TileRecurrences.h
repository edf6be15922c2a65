//===- TileRecurrences.h - Work items of ssm.recurrence ---------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-tile-recurrences`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_TILERECURRENCES_H
#define SSM_TRANSFORMS_TILERECURRENCES_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/Pass.h"

#include <optional>

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMTILERECURRENCESPASS
#include "ssm/Transforms/Passes.h.inc"

/// The transposes around a causal convolution on tokens-major activations
/// (mamba_ssm's [B, C, L] op in a model that holds [B, L, C]): x is the
/// transpose [0, 2, 1] of a tokens-major tensor, and out's one use the
/// transpose back. The CPU lowering of such a convolution reads and writes
/// the tokens-major tensors, so ssm-tile-recurrences leaves these two
/// transposes whole for it.
struct TokensMajorConvolution {
  linalg::TransposeOp input, output;
};
std::optional<TokensMajorConvolution> tokensMajor(CausalConv1dOp op);

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_TILERECURRENCES_H
