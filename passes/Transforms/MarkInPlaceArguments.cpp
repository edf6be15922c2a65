//===- MarkInPlaceArguments.cpp - Writable function arguments -------------===//
//
// Part of ssmc. See the pass description in Passes.td: inputs stay
// read-only across the C ABI; only decode-step destinations are updated in
// place.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/MarkInPlaceArguments.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMMARKINPLACEARGUMENTSPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SSMMarkInPlaceArgumentsPass
    : ssm::impl::SSMMarkInPlaceArgumentsPassBase<SSMMarkInPlaceArgumentsPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || func.isPrivate())
        continue;
      for (BlockArgument arg : func.getArguments()) {
        if (!isa<TensorType>(arg.getType()))
          continue;
        // Already marked: a frontend's caches (updated through slices).
        bool destination =
            func.getArgAttr(arg.getArgNumber(), "ssm.in_place") ||
            llvm::any_of(arg.getUses(), [](OpOperand &use) {
              auto update = dyn_cast<ssm::StateUpdateOp>(use.getOwner());
              return update && update.isDpsInit(&use);
            });
        func.setArgAttr(arg.getArgNumber(),
                        bufferization::BufferizationDialect::kWritableAttrName,
                        b.getBoolAttr(destination));
        if (destination)
          func.setArgAttr(arg.getArgNumber(), "ssm.in_place", b.getUnitAttr());
      }
    }
  }
};
} // namespace
