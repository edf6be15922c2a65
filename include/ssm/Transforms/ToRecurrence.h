//===- ToRecurrence.h - Scan-like ops into ssm.recurrence -------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-to-recurrence` and its patterns, which the
// lowerings also use on ops that did not go through the pass.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_TORECURRENCE_H
#define SSM_TRANSFORMS_TORECURRENCE_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace ssm {

#define GEN_PASS_DECL_SSMTORECURRENCEPASS
#include "ssm/Transforms/Passes.h.inc"

/// Adds the patterns that rewrite `ssm.scan`, `ssm.selective_scan`,
/// `ssm.ssd` and `ssm.state_update` into `ssm.recurrence`.
void populateSSMToRecurrencePatterns(RewritePatternSet &patterns);

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_TORECURRENCE_H
