//===- TileRecurrences.h - Work items of ssm.recurrence ---------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-tile-recurrences`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_TILERECURRENCES_H
#define SSM_TRANSFORMS_TILERECURRENCES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMTILERECURRENCESPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_TILERECURRENCES_H
