//===- Decompose.h - The semantic definition of model ops -------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-decompose`: model-level ops spelled out in
// core ops and linalg, the executable meaning the tests compare with.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_DECOMPOSE_H
#define SSM_TRANSFORMS_DECOMPOSE_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace ssm {

#define GEN_PASS_DECL_SSMDECOMPOSEPASS
#include "ssm/Transforms/Passes.h.inc"

/// Adds the patterns that rewrite `ssm.selective_scan` and `ssm.ssd` into
/// `ssm.discretize`, `ssm.scan` and `linalg` elementwise ops.
void populateSSMDecomposePatterns(RewritePatternSet &patterns);

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_DECOMPOSE_H
