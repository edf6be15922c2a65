//===- Passes.h - Conversions out of the ssm dialect ------------*- C++ -*-===//
//
// Part of ssmc. Every conversion pass and their registration. Code that
// uses one pass includes that pass's own header instead.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_H
#define SSM_CONVERSION_PASSES_H

#include "ssm/Conversion/LowerAsserts.h"
#include "ssm/Conversion/MatmulToBLAS.h"
#include "ssm/Conversion/ParallelToRuntime.h"
#include "ssm/Conversion/SSMToGPU.h"
#include "ssm/Conversion/SSMToSCF.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_REGISTRATION
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_PASSES_H
