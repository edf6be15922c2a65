//===- CheckInput.h - Refuse unsafe input -----------------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-check-input`; its description is in Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_CHECKINPUT_H
#define SSM_TRANSFORMS_CHECKINPUT_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMCHECKINPUTPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_CHECKINPUT_H
