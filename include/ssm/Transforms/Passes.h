//===- Passes.h - Transformations of the ssm dialect ------------*- C++ -*-===//
//
// Part of ssmc. Pass constructors and registration, generated from
// Passes.td, and the pattern sets the passes are made of.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PASSES_H
#define SSM_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

namespace mlir {
class RewritePatternSet;
namespace ssm {

/// What ssm-select-algorithm gives `ssm.ssd` ops that have no `algorithm`:
/// the cost model's choice, or one form for all of them.
enum class SSDAlgorithmChoice { automatic, recurrent, chunked };

#define GEN_PASS_DECL
#include "ssm/Transforms/Passes.h.inc"

/// Adds the patterns that rewrite `ssm.selective_scan` and `ssm.ssd` into
/// `ssm.discretize`, `ssm.scan` and `linalg` elementwise ops.
void populateSSMDecomposePatterns(RewritePatternSet &patterns);

/// Adds the patterns that rewrite `ssm.scan`, `ssm.selective_scan`,
/// `ssm.ssd` and `ssm.state_update` into
/// `ssm.recurrence`.
void populateSSMToRecurrencePatterns(RewritePatternSet &patterns);

/// The state rows one work item of the CPU forms owns (ssm-select-algorithm
/// records it as `tile`); nullopt: a whole head of dynamic size.
std::optional<int64_t> cpuTile(RecurrenceOp op);

#define GEN_PASS_REGISTRATION
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_PASSES_H
