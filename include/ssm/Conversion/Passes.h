//===- Passes.h - Conversions out of the ssm dialect ------------*- C++ -*-===//
//
// Part of ssmc. Conversion pass constructors and registration, generated
// from Passes.td, and the pattern sets they are made of.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_H
#define SSM_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"
#include "ssm/Transforms/Passes.h"

namespace mlir {
class RewritePatternSet;
namespace ssm {

#define GEN_PASS_DECL
#include "ssm/Conversion/Passes.h.inc"

/// Adds the patterns that lower `ssm.discretize` to `linalg.generic` and
/// `ssm.scan` to `scf.for` loops on tensors.
void populateSSMToSCFConversionPatterns(RewritePatternSet &patterns);

/// Adds the patterns that replace ssm ops by GPU kernel launches (every op
/// convert-ssm-to-gpu lowers), for the architecture `chip`. They lower each
/// ssm.recurrence as its configuration says (ssm-select-gpu-algorithm).
void populateSSMToGPUConversionPatterns(RewritePatternSet &patterns,
                                        GPUChip chip = GPUChip::sm_80);

#define GEN_PASS_REGISTRATION
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_PASSES_H
