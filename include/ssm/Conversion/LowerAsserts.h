//===- LowerAsserts.h - Failed checks on stderr -----------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-lower-asserts` (see Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_LOWERASSERTS_H
#define SSM_CONVERSION_LOWERASSERTS_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_LOWERASSERTSPASS
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_LOWERASSERTS_H
