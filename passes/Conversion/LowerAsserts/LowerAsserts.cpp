//===- LowerAsserts.cpp - What a failed check does ------------------------===//
//
// Part of ssmc. See the pass description in Passes.td. Upstream's cf.assert
// lowering prints with puts() and aborts: the message sits in stdout's
// buffer, which abort() never flushes, so it is lost whenever stdout is a
// pipe or a file. Here a failed check writes with write(2, ...), which is
// unbuffered and async-signal-safe, then aborts; or, for entry points that
// can return a status, records the message and returns (with empty new
// results, where the function has results).
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/LowerAsserts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_LOWERASSERTSPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// Whether a failed check in `func` can return a status: a public function
/// with a body whose results, if any, are buffers it can allocate empty.
bool returnsStatus(Operation *func) {
  auto f = dyn_cast_or_null<func::FuncOp>(func);
  return f && !f.isPrivate() && !f.isExternal() &&
         llvm::all_of(f.getResultTypes(), [](Type t) {
           auto memref = dyn_cast<MemRefType>(t);
           return memref && memref.getLayout().isIdentity();
         });
}

struct LowerAssertsPass : ssm::impl::LowerAssertsPassBase<LowerAssertsPass> {
  using LowerAssertsPassBase::LowerAssertsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<cf::AssertOp> asserts;
    module.walk([&](cf::AssertOp op) { asserts.push_back(op); });
    if (onFailure == ssm::CheckFailure::none) {
      for (cf::AssertOp op : asserts)
        op.erase();
      return;
    }
    OpBuilder b(&getContext());
    if (onFailure == ssm::CheckFailure::status && failed(clearOnEntry(b)))
      return signalPassFailure();
    for (auto [i, op] : llvm::enumerate(asserts))
      if (failed(lower(b, op, i)))
        return signalPassFailure();
  }

  /// Every function that returns a status clears the runtime's message on
  /// entry (ssm_clear_error): after a call, an empty ssm_last_error() means
  /// that it succeeded.
  LogicalResult clearOnEntry(OpBuilder &b) {
    ModuleOp module = getOperation();
    auto clear = LLVM::lookupOrCreateFn(b, module, "ssm_clear_error", {},
                                        LLVM::LLVMVoidType::get(&getContext()));
    if (failed(clear))
      return failure();
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!returnsStatus(func))
        continue;
      b.setInsertionPointToStart(&func.front());
      LLVM::CallOp::create(b, func.getLoc(), *clear, ValueRange{});
    }
    return success();
  }

  /// The address of "%s", the format of every message.
  Value formatString(OpBuilder &b, Location loc) {
    if (!format) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(getOperation().getBody());
      auto type = LLVM::LLVMArrayType::get(b.getI8Type(), 3);
      format = LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                                      LLVM::Linkage::Internal, "ssm_check_format",
                                      b.getStringAttr(StringRef("%s\0", 3)));
    }
    return LLVM::AddressOfOp::create(b, loc, format);
  }
  LLVM::GlobalOp format;

  /// `op` as a branch to a block that reports its message; `index` names
  /// the message's global.
  LogicalResult lower(OpBuilder &b, cf::AssertOp op, size_t index) {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Location loc = op.getLoc();
    Block *block = op->getBlock();
    if (!isa<FunctionOpInterface>(block->getParentOp()))
      return op.emitOpError("is not in its function's control flow: "
                            "ssm-lower-asserts runs after convert-scf-to-cf");
    Block *rest = block->splitBlock(std::next(op->getIterator()));
    Block *fail = b.createBlock(rest);
    bool status = onFailure == ssm::CheckFailure::status &&
                  returnsStatus(block->getParentOp());
    // NUL-terminated for ssm_last_error; a newline for stderr.
    std::string text = op.getMsg().str() + (status ? '\0' : '\n');
    Value message = LLVM::createGlobalString(
        loc, b, ("ssm_check_" + Twine(index)).str(), text,
        LLVM::Linkage::Internal);
    Type ptr = LLVM::LLVMPointerType::get(ctx), i32 = b.getI32Type(),
         i64 = b.getI64Type();
    if (status) {
      // ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s", message) (runtime.h).
      auto setError = LLVM::lookupOrCreateFn(b, module, "ssm_set_error",
                                             {i32, ptr}, i32, /*isVarArg=*/true);
      if (failed(setError))
        return failure();
      b.setInsertionPointToEnd(fail);
      Value format = formatString(b, loc);
      LLVM::CallOp::create(
          b, loc, *setError,
          ValueRange{LLVM::ConstantOp::create(b, loc, i32, 1), format, message});
      // Results the caller frees as after any call: new buffers, of size 0
      // where a size is dynamic (static sizes are the signature's), on the
      // device for GPU host code.
      auto func = cast<func::FuncOp>(block->getParentOp());
      SmallVector<Value> results;
      // GPU host code allocates as gpu-async-region leaves it: on a stream
      // of its own (gpu.wait async), waited for at the end.
      Type tokenType = gpu::AsyncTokenType::get(ctx);
      Value stream;
      if (deviceResults && func.getNumResults() != 0)
        stream = gpu::WaitOp::create(b, loc, tokenType, ValueRange{})
                     .getAsyncToken();
      for (Type t : func.getResultTypes()) {
        auto type = cast<MemRefType>(t);
        SmallVector<Value> sizes(type.getNumDynamicDims(),
                                 arith::ConstantIndexOp::create(b, loc, 0));
        if (!deviceResults) {
          results.push_back(memref::AllocOp::create(b, loc, type, sizes));
          continue;
        }
        auto alloc = gpu::AllocOp::create(b, loc, type, tokenType,
                                          ValueRange{stream}, sizes,
                                          ValueRange{});
        stream = alloc.getAsyncToken();
        results.push_back(alloc.getMemref());
      }
      if (stream)
        gpu::WaitOp::create(b, loc, Type(), ValueRange{stream});
      func::ReturnOp::create(b, loc, results);
    } else {
      auto write = LLVM::lookupOrCreateFn(b, module, "write", {i32, ptr, i64}, i64);
      auto abort = LLVM::lookupOrCreateFn(b, module, "abort", {},
                                          LLVM::LLVMVoidType::get(ctx));
      if (failed(write) || failed(abort))
        return failure();
      b.setInsertionPointToEnd(fail);
      LLVM::CallOp::create(
          b, loc, *write,
          ValueRange{LLVM::ConstantOp::create(b, loc, i32, 2), message,
                     LLVM::ConstantOp::create(b, loc, i64, text.size())});
      LLVM::CallOp::create(b, loc, *abort, ValueRange{});
      LLVM::UnreachableOp::create(b, loc);
    }
    b.setInsertionPoint(op);
    cf::CondBranchOp::create(b, loc, op.getArg(), rest, fail);
    op.erase();
    return success();
  }
};
} // namespace
