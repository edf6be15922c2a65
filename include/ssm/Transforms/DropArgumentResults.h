//===- DropArgumentResults.h - Argument results -----------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-drop-argument-results`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_DROPARGUMENTRESULTS_H
#define SSM_TRANSFORMS_DROPARGUMENTRESULTS_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMDROPARGUMENTRESULTSPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_DROPARGUMENTRESULTS_H
