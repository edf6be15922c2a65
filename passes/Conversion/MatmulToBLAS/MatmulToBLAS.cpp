//===- MatmulToBLAS.cpp - Matrix products through the runtime's BLAS ------===//
//
// Part of ssmc. See the pass description in Passes.td. A tuned sgemm beats
// the loops convert-linalg-to-loops would give by one to two orders of
// magnitude on prompt-sized products, and matches them on the matrix-vector
// products of decoding, so every product that BLAS can express goes there.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/MatmulToBLAS.h"

#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AffineMap.h"
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
#define GEN_PASS_DEF_MATMULTOBLASPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// A rank-2 f32 memref whose rows are contiguous (static inner stride 1).
bool isRowMajorF32(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || type.getRank() != 2 || !type.getElementType().isF32())
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return strides[1] == 1;
}

/// The address of element [0, 0] as an !llvm.ptr, and the row stride.
std::pair<Value, Value> addressAndRowStride(OpBuilder &b, Location loc,
                                            Value memref) {
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value bytes = arith::MulIOp::create(
      b, loc, metadata.getOffset(), arith::ConstantIndexOp::create(b, loc, 4));
  Value address = arith::AddIOp::create(b, loc, base, bytes);
  Value address64 =
      arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  Value pointer = LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), address64);
  Value stride = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                            metadata.getStrides()[0]);
  return {pointer, stride};
}

struct MatmulToBLASPass : ssm::impl::MatmulToBLASPassBase<MatmulToBLASPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    auto map = [&](ArrayRef<AffineExpr> results) {
      return AffineMap::get(3, 0, results, ctx);
    };
    SmallVector<AffineMap> plain{map({m, k}), map({k, n}), map({m, n})};
    SmallVector<AffineMap> transposedB{map({m, k}), map({n, k}), map({m, n})};

    SmallVector<std::pair<linalg::MatmulOp, bool>> products;
    module.walk([&](linalg::MatmulOp op) {
      if (!op.hasPureBufferSemantics() ||
          !llvm::all_of(op->getOperands(), isRowMajorF32))
        return;
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      if (maps == plain)
        products.push_back({op, false});
      else if (maps == transposedB)
        products.push_back({op, true});
    });
    if (products.empty())
      return;

    OpBuilder b(ctx);
    Type ptr = LLVM::LLVMPointerType::get(ctx), i32 = b.getI32Type(),
         i64 = b.getI64Type(), f32 = b.getF32Type();
    auto sgemm = LLVM::lookupOrCreateFn(
        b, module, "ssm_kernel_sgemm",
        {i32, i64, i64, i64, ptr, i64, ptr, i64, f32, ptr, i64},
        LLVM::LLVMVoidType::get(ctx));
    if (failed(sgemm))
      return signalPassFailure();
    for (auto [op, transB] : products) {
      b.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value a = op.getDpsInputOperand(0)->get(), bm = op.getDpsInputOperand(1)->get();
      Value c = op.getDpsInitOperand(0)->get();
      auto size = [&](Value v, int64_t dim) -> Value {
        Value s = memref::DimOp::create(b, loc, v, dim);
        return arith::IndexCastOp::create(b, loc, i64, s);
      };
      Value rows = size(c, 0);
      Value cols = size(c, 1);
      Value depth = size(a, 1);
      auto [pa, lda] = addressAndRowStride(b, loc, a);
      auto [pb, ldb] = addressAndRowStride(b, loc, bm);
      auto [pc, ldc] = addressAndRowStride(b, loc, c);
      Value trans = LLVM::ConstantOp::create(b, loc, i32, transB ? 1 : 0);
      Value beta = LLVM::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(1.0f));
      LLVM::CallOp::create(b, loc, *sgemm,
                           ValueRange{trans, rows, cols, depth, pa, lda, pb, ldb,
                                      beta, pc, ldc});
      op.erase();
    }
  }
};
} // namespace
