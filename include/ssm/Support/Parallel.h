//===- Parallel.h - The mark of a parallel loop in lowered code -*- C++ -*-===//
//
// Part of ssmc. Lowerings build their outermost loop as an scf.for over
// independent work items (a batch row and a channel, a row and a head, ...)
// and mark it with this unit attribute. The mark says that iterations write
// disjoint parts of the loop-carried tensors and read nothing another
// iteration writes, so after bufferization they may run on the runtime's
// thread pool in any order (see docs/design.md, "Threads").
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SUPPORT_PARALLEL_H
#define SSM_SUPPORT_PARALLEL_H

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::ssm {

/// The discardable attribute marking an scf.for whose iterations are
/// independent.
inline constexpr llvm::StringLiteral kParallelLoopAttr = "ssm.parallel";

/// Marks `loop` as having independent iterations.
inline void markParallel(scf::ForOp loop) {
  loop->setAttr(kParallelLoopAttr, UnitAttr::get(loop->getContext()));
}

} // namespace mlir::ssm

#endif // SSM_SUPPORT_PARALLEL_H
