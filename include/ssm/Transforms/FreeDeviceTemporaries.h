//===- FreeDeviceTemporaries.h - Device temporaries -------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-free-device-temporaries`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_FREEDEVICETEMPORARIES_H
#define SSM_TRANSFORMS_FREEDEVICETEMPORARIES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMFREEDEVICETEMPORARIESPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_FREEDEVICETEMPORARIES_H
