//===- MatmulToBLAS.h - Matrix products through the runtime -----*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-matmul-to-blas` (see Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_MATMULTOBLAS_H
#define SSM_CONVERSION_MATMULTOBLAS_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_MATMULTOBLASPASS
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_MATMULTOBLAS_H
