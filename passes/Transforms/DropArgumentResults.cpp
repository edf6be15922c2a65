//===- DropArgumentResults.cpp - Results that are arguments ---------------===//
//
// Part of ssmc. See the pass description in Passes.td: after bufferization,
// results that are function arguments are redundant for the caller and would
// otherwise be cloned for ownership at the ABI boundary.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/DropArgumentResults.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/BitVector.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMDROPARGUMENTRESULTSPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SSMDropArgumentResultsPass
    : ssm::impl::SSMDropArgumentResultsPassBase<SSMDropArgumentResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    SymbolUserMap users(symbols, module);
    for (auto func : module.getOps<func::FuncOp>()) {
      // A function that is called in the module keeps its signature: its
      // call sites read those results.
      if (func.isExternal() || !users.getUsers(func).empty())
        continue;
      auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
      llvm::BitVector drop(func.getNumResults());
      for (auto [i, value] : llvm::enumerate(ret.getOperands()))
        if (auto arg = dyn_cast<BlockArgument>(value))
          drop[i] = arg.getOwner() == &func.getBody().front() &&
                    isa<MemRefType>(value.getType());
      if (drop.none())
        continue;
      // Every return must agree: only single-block bodies are handled.
      if (!func.getBody().hasOneBlock())
        continue;
      ret->eraseOperands(drop);
      if (failed(func.eraseResults(drop)))
        return signalPassFailure();
    }
  }
};
} // namespace
