//===- StridedCopiesToLinalg.h - Strided copies -----------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-strided-copies-to-linalg`; its description is in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_STRIDEDCOPIESTOLINALG_H
#define SSM_TRANSFORMS_STRIDEDCOPIESTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_SSMSTRIDEDCOPIESTOLINALGPASS
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_STRIDEDCOPIESTOLINALG_H
