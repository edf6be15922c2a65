//===- MarkInPlaceArguments.h - In-place arguments --------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-mark-in-place-arguments`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_MARKINPLACEARGUMENTS_H
#define SSM_TRANSFORMS_MARKINPLACEARGUMENTS_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMMARKINPLACEARGUMENTSPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_MARKINPLACEARGUMENTS_H
