//===- SSMToSCF.h - ssm ops to loops on tensors -----------------*- C++ -*-===//
//
// Part of ssmc. The pass `convert-ssm-to-scf`: the CPU kernel forms.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_SSMTOSCF_H
#define SSM_CONVERSION_SSMTOSCF_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace ssm {

#define GEN_PASS_DECL_CONVERTSSMTOSCFPASS
#include "ssm/Conversion/Passes.h.inc"

/// Adds the patterns that lower `ssm.discretize` to `linalg.generic`, the
/// scan-like ops to `ssm.recurrence` and that to the loops of its kernel
/// form, and `ssm.causal_conv1d` to an `scf.forall` of loops on tensors.
void populateSSMToSCFConversionPatterns(RewritePatternSet &patterns);

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_SSMTOSCF_H
