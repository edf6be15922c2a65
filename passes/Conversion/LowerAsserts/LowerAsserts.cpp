//===- LowerAsserts.cpp - Failed checks reported on stderr ----------------===//
//
// Part of ssmc. Upstream's cf.assert lowering prints with puts() and aborts:
// the message sits in stdout's buffer, which abort() never flushes, so it is
// lost whenever stdout is a pipe or a file. This pass reports through
// write(2, ...) instead, which is unbuffered and async-signal-safe, then
// aborts.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/LowerAsserts.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_LOWERASSERTSPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct LowerAssertsPass : ssm::impl::LowerAssertsPassBase<LowerAssertsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<cf::AssertOp> asserts;
    module.walk([&](cf::AssertOp op) { asserts.push_back(op); });
    if (asserts.empty())
      return;
    OpBuilder b(ctx);
    Type ptr = LLVM::LLVMPointerType::get(ctx), i32 = b.getI32Type(),
         i64 = b.getI64Type();
    auto write = LLVM::lookupOrCreateFn(b, module, "write", {i32, ptr, i64}, i64);
    auto abort = LLVM::lookupOrCreateFn(b, module, "abort", {},
                                        LLVM::LLVMVoidType::get(ctx));
    if (failed(write) || failed(abort))
      return signalPassFailure();
    unsigned count = 0;
    for (cf::AssertOp op : asserts) {
      b.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value failed = arith::XOrIOp::create(
          b, loc, op.getArg(), arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
      std::string message = op.getMsg().str() + "\n";
      auto report = scf::IfOp::create(b, loc, failed, /*withElseRegion=*/false);
      b.setInsertionPointToStart(report.thenBlock());
      Value text = LLVM::createGlobalString(
          loc, b, ("ssm_check_" + Twine(count++)).str(), message,
          LLVM::Linkage::Internal);
      LLVM::CallOp::create(
          b, loc, *write,
          ValueRange{LLVM::ConstantOp::create(b, loc, i32, 2), text,
                     LLVM::ConstantOp::create(b, loc, i64, message.size())});
      LLVM::CallOp::create(b, loc, *abort, ValueRange{});
      op.erase();
    }
  }
};
} // namespace
