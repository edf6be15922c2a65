//===- MatmulToBLAS.cpp - Matrix products through the runtime's BLAS ------===//
//
// Part of ssmc. See the pass description in Passes.td. A tuned sgemm beats
// the loops convert-linalg-to-loops would give by one to two orders of
// magnitude on prompt-sized products, and matches them on the matrix-vector
// products of decoding, so every product that BLAS can express goes there.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/MatmulToBLAS.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

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

/// The address of `memref`'s first element as an !llvm.ptr.
Value addressOf(OpBuilder &b, Location loc, Value memref,
                memref::ExtractStridedMetadataOp metadata) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  int64_t elementBytes = element.getIntOrFloatBitWidth() / 8;
  Value bytes = arith::MulIOp::create(
      b, loc, metadata.getOffset(),
      arith::ConstantIndexOp::create(b, loc, elementBytes));
  Value address = arith::AddIOp::create(b, loc, base, bytes);
  Value address64 =
      arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  return LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), address64);
}

Value addressOf(OpBuilder &b, Location loc, Value memref) {
  return addressOf(b, loc, memref,
                   memref::ExtractStridedMetadataOp::create(b, loc, memref));
}

/// The address of element [0, 0] as an !llvm.ptr, and the row stride.
std::pair<Value, Value> addressAndRowStride(OpBuilder &b, Location loc,
                                            Value memref) {
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value address = addressOf(b, loc, memref, metadata);
  Value stride = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                            metadata.getStrides()[0]);
  return {address, stride};
}

/// Dimension `dim` of `memref` as an i64, as the runtime's kernels take it.
Value sizeOf(OpBuilder &b, Location loc, Value memref, int64_t dim) {
  Value size = memref::DimOp::create(b, loc, memref, dim);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), size);
}

/// A packed operand or an i64 index list: 1-D and contiguous.
bool isContiguousVector(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || type.getRank() != 1)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides[0] == 1;
}

/// The linalg.fill of zeros into `c` that `op` (a product into `c`)
/// follows, with nothing that touches memory in between: the product then
/// writes C with beta = 0 and the fill goes (a serial pass over C, 8 MB per
/// layer of a 512-token prefill).
linalg::FillOp zeroFillBefore(Operation *op, Value c) {
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(prev)) {
      if (fill.getDpsInitOperand(0)->get() != c)
        return {};
      auto zero = fill.getDpsInputOperand(0)->get().getDefiningOp<arith::ConstantOp>();
      auto value = zero ? dyn_cast<FloatAttr>(zero.getValue()) : FloatAttr();
      return value && value.getValue().isZero() ? fill : linalg::FillOp();
    }
    if (!isMemoryEffectFree(prev))
      return {};
  }
  return {};
}

/// beta for a product into `c` after erasing a zero fill it makes redundant.
Value betaAfterFill(OpBuilder &b, Location loc, Operation *op, Value c) {
  linalg::FillOp fill = zeroFillBefore(op, c);
  if (fill)
    fill.erase();
  return LLVM::ConstantOp::create(b, loc, b.getF32Type(),
                                  b.getF32FloatAttr(fill ? 0.0f : 1.0f));
}

/// The packed products and lookups, as calls of the runtime's kernels
/// (ssm_kernel_packed_matmul, ssm_kernel_packed_gather), which decode the
/// weights and abort with a message on bad arguments.
LogicalResult lowerPackedOps(ModuleOp module) {
  SmallVector<Operation *> ops;
  WalkResult walk = module.walk([&](Operation *op) {
    if (!isa<ssm::PackedMatmulOp, ssm::PackedGatherOp>(op))
      return WalkResult::advance();
    auto dps = cast<DestinationStyleOpInterface>(op);
    auto operands = op->getOperands();
    if (!dps.hasPureBufferSemantics() ||
        !isRowMajorF32(dps.getDpsInits()[0]) ||
        !llvm::all_of(operands.drop_back(), [](Value v) {
          return isRowMajorF32(v) || isContiguousVector(v);
        })) {
      op->emitOpError("reached the CPU lowering on tensors or with "
                      "non-contiguous rows; run one-shot-bufferize first");
      return WalkResult::interrupt();
    }
    ops.push_back(op);
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (ops.empty())
    return success();

  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  Type ptr = LLVM::LLVMPointerType::get(ctx), i32 = b.getI32Type(),
       i64 = b.getI64Type(), f32 = b.getF32Type();
  Type voidType = LLVM::LLVMVoidType::get(ctx);
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    auto constant = [&](Type type, int64_t value) -> Value {
      return LLVM::ConstantOp::create(b, loc, type, value);
    };
    if (auto matmul = dyn_cast<ssm::PackedMatmulOp>(op)) {
      auto fn = LLVM::lookupOrCreateFn(
          b, module, "ssm_kernel_packed_matmul",
          {i32, i64, i64, i64, ptr, i64, ptr, f32, ptr, i64}, voidType);
      if (failed(fn))
        return failure();
      auto [n, k] = matmul.getMatrixShape();
      auto [x, lda] = addressAndRowStride(b, loc, matmul.getX());
      auto [c, ldc] = addressAndRowStride(b, loc, matmul.getInit());
      Value beta = betaAfterFill(b, loc, op, matmul.getInit());
      LLVM::CallOp::create(
          b, loc, *fn,
          ValueRange{constant(i32, static_cast<int64_t>(matmul.getFormat())),
                     sizeOf(b, loc, matmul.getX(), 0), constant(i64, n),
                     constant(i64, k), x, lda,
                     addressOf(b, loc, matmul.getPacked()), beta, c, ldc});
    } else {
      auto gather = cast<ssm::PackedGatherOp>(op);
      auto fn = LLVM::lookupOrCreateFn(
          b, module, "ssm_kernel_packed_gather",
          {i32, i64, i64, ptr, ptr, i64, ptr, i64}, voidType);
      if (failed(fn))
        return failure();
      auto [n, k] = gather.getMatrixShape();
      auto [out, ldo] = addressAndRowStride(b, loc, gather.getInit());
      LLVM::CallOp::create(
          b, loc, *fn,
          ValueRange{constant(i32, static_cast<int64_t>(gather.getFormat())),
                     constant(i64, n), constant(i64, k),
                     addressOf(b, loc, gather.getPacked()),
                     addressOf(b, loc, gather.getIds()),
                     sizeOf(b, loc, gather.getIds(), 0), out, ldo});
    }
    op->erase();
  }
  return success();
}

struct MatmulToBLASPass : ssm::impl::MatmulToBLASPassBase<MatmulToBLASPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (failed(lowerPackedOps(module)))
      return signalPassFailure();
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
      Value rows = sizeOf(b, loc, c, 0);
      Value cols = sizeOf(b, loc, c, 1);
      Value depth = sizeOf(b, loc, a, 1);
      auto [pa, lda] = addressAndRowStride(b, loc, a);
      auto [pb, ldb] = addressAndRowStride(b, loc, bm);
      auto [pc, ldc] = addressAndRowStride(b, loc, c);
      Value trans = LLVM::ConstantOp::create(b, loc, i32, transB ? 1 : 0);
      Value beta = betaAfterFill(b, loc, op, c);
      LLVM::CallOp::create(b, loc, *sgemm,
                           ValueRange{trans, rows, cols, depth, pa, lda, pb, ldb,
                                      beta, pc, ldc});
      op.erase();
    }
  }
};
} // namespace
