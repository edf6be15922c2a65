//===- FreeDeviceTemporaries.cpp - Device buffers that die in a function --===//
//
// Part of ssmc. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/FreeDeviceTemporaries.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMFREEDEVICETEMPORARIESPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SSMFreeDeviceTemporariesPass
    : ssm::impl::SSMFreeDeviceTemporariesPassBase<SSMFreeDeviceTemporariesPass> {
  void runOnOperation() override {
    getOperation().walk([&](gpu::AllocOp alloc) {
      if (alloc.getAsyncToken())
        return;
      Block *block = alloc->getBlock();
      // The last use, as an operation of the allocation's block; a buffer
      // that leaves the function, or is used in another block, stays.
      Operation *last = alloc;
      for (Operation *user : alloc.getMemref().getUsers()) {
        if (isa<func::ReturnOp, func::CallOp, gpu::DeallocOp>(user))
          return;
        Operation *ancestor = block->findAncestorOpInBlock(*user);
        if (!ancestor)
          return;
        if (last->isBeforeInBlock(ancestor))
          last = ancestor;
      }
      if (last->hasTrait<OpTrait::IsTerminator>())
        return;
      OpBuilder b(last->getContext());
      b.setInsertionPointAfter(last);
      gpu::DeallocOp::create(b, alloc.getLoc(), TypeRange{}, ValueRange{},
                             alloc.getMemref());
    });
  }
};
} // namespace
