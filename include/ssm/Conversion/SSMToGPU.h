//===- SSMToGPU.h - ssm ops to GPU kernels ----------------------*- C++ -*-===//
//
// Part of ssmc. The pass `convert-ssm-to-gpu`: the GPU kernel forms.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_SSMTOGPU_H
#define SSM_CONVERSION_SSMTOGPU_H

#include "ssm/Transforms/Configuration.h"

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace ssm {

#define GEN_PASS_DECL_CONVERTSSMTOGPUPASS
#include "ssm/Conversion/Passes.h.inc"

/// Adds the patterns that replace ssm ops by GPU kernel launches (every op
/// convert-ssm-to-gpu lowers), for the architecture `chip`. They lower each
/// ssm.recurrence as its configuration says (ssm-select-gpu-algorithm).
void populateSSMToGPUConversionPatterns(RewritePatternSet &patterns,
                                        GPUChip chip = GPUChip::sm_80);

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_SSMTOGPU_H
