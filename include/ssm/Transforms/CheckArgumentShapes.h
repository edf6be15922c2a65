//===- CheckArgumentShapes.h - Static sizes checked at entry ----*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-check-argument-shapes`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_CHECKARGUMENTSHAPES_H
#define SSM_TRANSFORMS_CHECKARGUMENTSHAPES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMCHECKARGUMENTSHAPESPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_CHECKARGUMENTSHAPES_H
