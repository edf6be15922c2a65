//===- CallerOutputs.h - Outputs the caller owns ----------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-caller-outputs`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_CALLEROUTPUTS_H
#define SSM_TRANSFORMS_CALLEROUTPUTS_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMCALLEROUTPUTSPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_CALLEROUTPUTS_H
