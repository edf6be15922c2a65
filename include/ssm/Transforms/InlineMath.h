//===- InlineMath.h - Transcendental functions as arithmetic ----*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-inline-math`; its description is in Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_INLINEMATH_H
#define SSM_TRANSFORMS_INLINEMATH_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMINLINEMATHPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_INLINEMATH_H
