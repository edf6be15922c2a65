//===- PackedOps.cpp - Products and lookups with packed weights -----------===//
//
// Part of ssmc. ssm.packed_matmul and ssm.packed_gather read weight matrices
// stored in fewer than 32 bits. Their byte layouts are the runtime's
// (ssm/model_abi.h), and so is the size of a packed matrix: the verifier
// asks ssm_packed_bytes rather than restating the layouts.
//
// Both ops have tensor and memref forms, as linalg's do: the importer builds
// them on tensors, One-Shot Bufferize turns them into their memref form
// (the model below), and ssm-matmul-to-blas lowers that to runtime calls.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/runtime.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;

static_assert(static_cast<int>(WeightFormat::bf16) == SSM_WEIGHT_BF16 &&
                  static_cast<int>(WeightFormat::f16) == SSM_WEIGHT_F16 &&
                  static_cast<int>(WeightFormat::q8_0) == SSM_WEIGHT_Q8_0 &&
                  static_cast<int>(WeightFormat::q4_0) == SSM_WEIGHT_Q4_0,
              "ssm.packed_* formats must be the runtime's");

//===----------------------------------------------------------------------===//
// Shared verification
//===----------------------------------------------------------------------===//

namespace {
/// The checks both ops share: the forms, the destination, then the packed
/// matrix, whose shape `matrixShape` reads once the destination is known to
/// be rank 2.
LogicalResult
verifyPacked(Operation *op, WeightFormat format, Value packed,
             llvm::function_ref<std::pair<int64_t, int64_t>()> matrixShape) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  bool tensors = dps.hasPureTensorSemantics();
  if (!tensors && !dps.hasPureBufferSemantics())
    return op->emitOpError("operands must be all tensors or all memrefs");
  Value init = dps.getDpsInits()[0];
  if (tensors) {
    if (op->getNumResults() != 1 || op->getResult(0).getType() != init.getType())
      return op->emitOpError("on tensors, has one result of the type of "
                             "'init', ")
             << init.getType();
  } else if (op->getNumResults() != 0) {
    return op->emitOpError("on memrefs, has no result");
  }
  auto initType = cast<ShapedType>(init.getType());
  if (initType.getRank() != 2 || !initType.getElementType().isF32())
    return op->emitOpError("'init' must be a rank-2 f32 tensor or memref, got ")
           << initType;

  auto [n, k] = matrixShape();
  auto packedType = cast<ShapedType>(packed.getType());
  Type unit = packedType.getElementType();
  if (packedType.getRank() != 1 || !unit.isIntOrFloat() ||
      unit.getIntOrFloatBitWidth() % 8 != 0)
    return op->emitOpError("'packed' must be 1-D with a whole number of bytes "
                           "per element, got ")
           << packedType;
  if (ShapedType::isDynamic(n) || ShapedType::isDynamic(k))
    return op->emitOpError("the packed matrix needs static sizes, got ")
           << (ShapedType::isDynamic(n) ? "?" : std::to_string(n)) << " x "
           << (ShapedType::isDynamic(k) ? "?" : std::to_string(k));
  if ((format == WeightFormat::q8_0 || format == WeightFormat::q4_0) &&
      k % SSM_WEIGHT_BLOCK != 0)
    return op->emitOpError("format ")
           << stringifyWeightFormat(format) << " needs rows whose length is a "
           << "multiple of " << SSM_WEIGHT_BLOCK << ", got " << k;
  int64_t bytes = ssm_packed_bytes(static_cast<int32_t>(format), n, k);
  if (bytes < 0)
    return op->emitOpError("cannot pack a ")
           << n << " x " << k << " matrix: " << ssm_last_error();
  int64_t unitBytes = unit.getIntOrFloatBitWidth() / 8;
  int64_t units = bytes / unitBytes + (bytes % unitBytes != 0);
  if (!packedType.isDynamicDim(0) && packedType.getDimSize(0) != units)
    return op->emitOpError("'packed' must hold the ")
           << bytes << " bytes of a " << n << " x " << k << " "
           << stringifyWeightFormat(format) << " matrix: " << units
           << " elements of " << unit << ", got " << packedType.getDimSize(0);
  return success();
}

/// Reads every operand; writes the destination.
void packedEffects(
    Operation *op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  if (!dps.hasPureBufferSemantics())
    return;
  for (OpOperand &operand : op->getOpOperands()) {
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (dps.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// The result has the destination's shape.
LogicalResult reifyPacked(Operation *op, OpBuilder &b,
                          ReifiedRankedShapedTypeDims &shapes) {
  Value init = cast<DestinationStyleOpInterface>(op).getDpsInits()[0];
  shapes.push_back(tensor::getMixedSizes(b, op->getLoc(), init));
  return success();
}

int64_t dimOf(Value value, unsigned dim) {
  return cast<ShapedType>(value.getType()).getDimSize(dim);
}
} // namespace

//===----------------------------------------------------------------------===//
// PackedMatmulOp
//===----------------------------------------------------------------------===//

MutableOperandRange PackedMatmulOp::getDpsInitsMutable() {
  return getInitMutable();
}

std::pair<int64_t, int64_t> PackedMatmulOp::getMatrixShape() {
  return {dimOf(getInit(), 1), dimOf(getX(), 1)};
}

LogicalResult PackedMatmulOp::verify() {
  auto xType = cast<ShapedType>(getX().getType());
  if (xType.getRank() != 2 || !xType.getElementType().isF32())
    return emitOpError("'x' must be a rank-2 f32 tensor or memref, got ")
           << xType;
  if (failed(verifyPacked(*this, getFormat(), getPacked(),
                          [&] { return getMatrixShape(); })))
    return failure();
  int64_t rows = xType.getDimSize(0), initRows = dimOf(getInit(), 0);
  if (!ShapedType::isDynamic(rows) && !ShapedType::isDynamic(initRows) &&
      rows != initRows)
    return emitOpError("'x' has ") << rows << " rows but 'init' has "
                                   << initRows;
  return success();
}

LogicalResult PackedMatmulOp::reifyResultShapes(OpBuilder &b,
                                     ReifiedRankedShapedTypeDims &shapes) {
  return reifyPacked(*this, b, shapes);
}

void PackedMatmulOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  packedEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// PackedGatherOp
//===----------------------------------------------------------------------===//

MutableOperandRange PackedGatherOp::getDpsInitsMutable() {
  return getInitMutable();
}

std::pair<int64_t, int64_t> PackedGatherOp::getMatrixShape() {
  return {static_cast<int64_t>(getRows()), dimOf(getInit(), 1)};
}

LogicalResult PackedGatherOp::verify() {
  auto idsType = cast<ShapedType>(getIds().getType());
  if (idsType.getRank() != 1 || !idsType.getElementType().isInteger(64))
    return emitOpError("'ids' must be a rank-1 i64 tensor or memref, got ")
           << idsType;
  if (getRows() <= 0)
    return emitOpError("'rows' must be positive, got ") << getRows();
  if (failed(verifyPacked(*this, getFormat(), getPacked(),
                          [&] { return getMatrixShape(); })))
    return failure();
  int64_t count = idsType.getDimSize(0), initRows = dimOf(getInit(), 0);
  if (!ShapedType::isDynamic(count) && !ShapedType::isDynamic(initRows) &&
      count != initRows)
    return emitOpError("'ids' has ") << count << " entries but 'init' has "
                                     << initRows << " rows";
  return success();
}

LogicalResult PackedGatherOp::reifyResultShapes(OpBuilder &b,
                                     ReifiedRankedShapedTypeDims &shapes) {
  return reifyPacked(*this, b, shapes);
}

void PackedGatherOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  packedEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// Bufferization
//===----------------------------------------------------------------------===//

namespace {
template <typename OpTy>
struct PackedOpBufferization
    : bufferization::DstBufferizableOpInterfaceExternalModel<
          PackedOpBufferization<OpTy>, OpTy> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const bufferization::AnalysisState &) const {
    // A lookup's destination is only written; a product accumulates.
    auto dps = cast<DestinationStyleOpInterface>(op);
    return !(isa<PackedGatherOp>(op) && dps.isDpsInit(&operand));
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    SmallVector<Value> buffers;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> buffer =
          bufferization::getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    Value destination = buffers.back();
    rewriter.setInsertionPoint(op);
    OpTy::create(rewriter, op->getLoc(), TypeRange{}, buffers,
                 op->getAttrs());
    bufferization::replaceOpWithBufferizedValues(rewriter, op, destination);
    return success();
  }
};
} // namespace

void mlir::ssm::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SSMDialect *) {
    PackedMatmulOp::attachInterface<PackedOpBufferization<PackedMatmulOp>>(
        *ctx);
    PackedGatherOp::attachInterface<PackedOpBufferization<PackedGatherOp>>(
        *ctx);
  });
}
