//===- InsertShapeChecks.h - Run-time shape checks --------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-insert-shape-checks`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_INSERTSHAPECHECKS_H
#define SSM_TRANSFORMS_INSERTSHAPECHECKS_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMINSERTSHAPECHECKSPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_INSERTSHAPECHECKS_H
