//===- Passes.h - Transformations of the ssm dialect ------------*- C++ -*-===//
//
// Part of ssmc. Every transformation pass of the ssm dialect and their
// registration. Code that uses one pass includes that pass's own header
// instead.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PASSES_H
#define SSM_TRANSFORMS_PASSES_H

#include "ssm/Transforms/CallerOutputs.h"
#include "ssm/Transforms/CheckArgumentShapes.h"
#include "ssm/Transforms/CheckInput.h"
#include "ssm/Transforms/Configuration.h"
#include "ssm/Transforms/Decompose.h"
#include "ssm/Transforms/DropArgumentResults.h"
#include "ssm/Transforms/FreeDeviceTemporaries.h"
#include "ssm/Transforms/InlineMath.h"
#include "ssm/Transforms/InsertShapeChecks.h"
#include "ssm/Transforms/MarkInPlaceArguments.h"
#include "ssm/Transforms/StridedCopiesToLinalg.h"
#include "ssm/Transforms/TileRecurrences.h"
#include "ssm/Transforms/ToRecurrence.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_REGISTRATION
#include "ssm/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_PASSES_H
