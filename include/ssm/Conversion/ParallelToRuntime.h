//===- ParallelToRuntime.h - Work items on the thread pool ------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-parallel-to-runtime` (see Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PARALLELTORUNTIME_H
#define SSM_CONVERSION_PARALLELTORUNTIME_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL_PARALLELTORUNTIMEPASS
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_PARALLELTORUNTIME_H
