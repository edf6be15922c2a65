//===- RecurrenceTiling.cpp - ssm.recurrence's TilingInterface ------------===//
//
// Part of ssmc. The iteration domain of ssm.recurrence is its independent
// work: rows (b), groups (g), heads within a group (r) and state rows (p).
// Time and the state entries are not tiled: a step needs the whole state
// of its (b, g, r, p) slice and the previous step. A tile is the same op on
// slices of its operands, found from the layouts, so every kernel form
// that lowers the op lowers its tiles unchanged; MLIR's tiling driver
// (scf::tileUsingSCF) wraps the tiles in an scf.forall whose shared_outs
// are the op's destinations.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::ssm;

SmallVector<Value> mlir::ssm::recurrenceExtents(OpBuilder &b, Location loc,
                                                RecurrenceOp op,
                                                const IRMapping &sources) {
  auto sizeAt = [&](const RecurrenceOp::ExtentSource &source) -> Value {
    Value operand = sources.lookupOrDefault(source.operand->get());
    OpFoldResult size =
        isa<MemRefType>(operand.getType())
            ? memref::getMixedSize(b, loc, operand, source.operandDim)
            : tensor::getMixedSize(b, loc, operand, source.operandDim);
    return getValueOrCreateConstantIndexOp(b, loc, size);
  };
  SmallVector<int64_t> known = op.getStaticExtents();
  SmallVector<Value> extents;
  for (unsigned dim = 0; dim < RecurrenceOp::kNumDims; ++dim) {
    std::optional<RecurrenceOp::ExtentSource> source;
    if (op.hasDim(dim))
      source = op.getExtentSource(dim);
    // Known extents as constants: kernel forms specialize on them (register
    // paths, full tiles) and the index arithmetic folds.
    if (!source || !ShapedType::isDynamic(known[dim])) {
      extents.push_back(arith::ConstantIndexOp::create(b, loc, source ? known[dim] : 1));
      continue;
    }
    Value size = sizeAt(*source);
    for (unsigned other : source->divideBy)
      size = arith::DivUIOp::create(b, loc, size, sizeAt(*op.getExtentSource(other)));
    extents.push_back(size);
  }
  return extents;
}

Value mlir::ssm::recurrenceRows(OpBuilder &b, Location loc, ArrayRef<Value> extents,
                               Value cuSeqlens) {
  if (!cuSeqlens)
    return extents[RecurrenceOp::kB];
  OpFoldResult entries = isa<MemRefType>(cuSeqlens.getType())
                             ? memref::getMixedSize(b, loc, cuSeqlens, 0)
                             : tensor::getMixedSize(b, loc, cuSeqlens, 0);
  return arith::SubIOp::create(b, loc, getValueOrCreateConstantIndexOp(b, loc, entries),
                               arith::ConstantIndexOp::create(b, loc, 1));
}

//===----------------------------------------------------------------------===//
// TilingInterface
//===----------------------------------------------------------------------===//

/// The core dimensions of the iteration domain, in its order.
static constexpr unsigned kDomainDims[] = {RecurrenceOp::kB, RecurrenceOp::kG,
                                           RecurrenceOp::kR, RecurrenceOp::kP};

SmallVector<utils::IteratorType> RecurrenceOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(std::size(kDomainDims),
                                          utils::IteratorType::parallel);
}

SmallVector<Range> RecurrenceOp::getIterationDomain(OpBuilder &b) {
  // With cu_seqlens, b is the batch of the inputs (one row holding every
  // packed sequence): sequences share that row's time axis, so a tile
  // holds them all.
  SmallVector<Value> extents = recurrenceExtents(b, getLoc(), *this);
  SmallVector<Range> domain;
  for (unsigned dim : kDomainDims)
    domain.push_back({b.getIndexAttr(0), extents[dim], b.getIndexAttr(1)});
  return domain;
}

namespace {
/// A tile of the iteration domain, per core dimension (t and n whole).
struct CoreTile {
  SmallVector<OpFoldResult> offsets, sizes, extents;
};
} // namespace

static CoreTile coreTile(OpBuilder &b, RecurrenceOp op, ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) {
  CoreTile tile;
  for (Value extent : recurrenceExtents(b, op.getLoc(), op))
    tile.extents.push_back(getAsOpFoldResult(extent));
  tile.offsets.assign(RecurrenceOp::kNumDims, b.getIndexAttr(0));
  tile.sizes = tile.extents;
  for (auto [i, dim] : llvm::enumerate(kDomainDims)) {
    tile.offsets[dim] = offsets[i];
    tile.sizes[dim] = sizes[i];
  }
  return tile;
}

/// The slice of `operand` that tile `tile` reads or writes: per operand
/// dimension, the linearized range of the core dimensions it merges. A
/// merged range is contiguous when every dimension but the last it tiles
/// has size 1 and every later one is whole; other tiles fail.
static FailureOr<std::pair<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>>
sliceOf(OpBuilder &b, RecurrenceOp op, OpOperand &operand, const CoreTile &tile) {
  Location loc = op.getLoc();
  bool packedState = op.getCuSeqlens() && op.getState() && operand.get() == op.getState();
  SmallVector<OpFoldResult> offsets, sizes;
  for (auto [i, group] : llvm::enumerate(op.getLayout(operand))) {
    // The state's b with cu_seqlens counts sequences: every tile has all.
    if (packedState && group.front() == RecurrenceOp::kB) {
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(tensor::getMixedSize(b, loc, operand.get(), i));
      continue;
    }
    AffineExpr offset = b.getAffineConstantExpr(0), size = b.getAffineConstantExpr(1);
    SmallVector<OpFoldResult> operands;
    bool partial = false;
    for (unsigned dim : group) {
      auto whole = [&] {
        return isConstantIntValue(tile.offsets[dim], 0) &&
               isEqualConstantIntOrValue(tile.sizes[dim], tile.extents[dim]);
      };
      if (partial && !whole())
        return op.emitOpError("cannot tile merged dimension ")
               << i << " of an operand: a tile of " << "btgrpn"[dim]
               << " must be whole after a partial dimension";
      AffineExpr o = b.getAffineSymbolExpr(operands.size());
      AffineExpr e = b.getAffineSymbolExpr(operands.size() + 1);
      AffineExpr s = b.getAffineSymbolExpr(operands.size() + 2);
      operands.append({tile.offsets[dim], tile.extents[dim], tile.sizes[dim]});
      offset = offset * e + o;
      size = size * s;
      partial |= !isConstantIntValue(tile.sizes[dim], 1) && !whole();
    }
    auto map = [&](AffineExpr e) {
      return AffineMap::get(0, operands.size(), e, b.getContext());
    };
    offsets.push_back(affine::makeComposedFoldedAffineApply(b, loc, map(offset), operands));
    sizes.push_back(affine::makeComposedFoldedAffineApply(b, loc, map(size), operands));
  }
  return std::make_pair(std::move(offsets), std::move(sizes));
}

FailureOr<TilingResult>
RecurrenceOp::getTiledImplementation(OpBuilder &b, ArrayRef<OpFoldResult> offsets,
                                     ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  CoreTile tile = coreTile(b, *this, offsets, sizes);
  SmallVector<Value> operands;
  SmallVector<Operation *> slices;
  SmallVector<Type> resultTypes;
  for (OpOperand &operand : getOperation()->getOpOperands()) {
    Value value = operand.get();
    // reset and seq_idx are [b, t]; cu_seqlens indexes time, not rows.
    bool segment = value == getReset() || value == getSeqIdx();
    if (value == getCuSeqlens()) {
      operands.push_back(value);
      continue;
    }
    SmallVector<OpFoldResult> at, size;
    if (segment) {
      at = {tile.offsets[kB], b.getIndexAttr(0)};
      size = {tile.sizes[kB], tile.extents[kT]};
    } else {
      auto slice = sliceOf(b, *this, operand, tile);
      if (failed(slice))
        return failure();
      std::tie(at, size) = *slice;
    }
    SmallVector<OpFoldResult> strides(at.size(), b.getIndexAttr(1));
    auto extract = tensor::ExtractSliceOp::create(b, loc, value, at, size, strides);
    slices.push_back(extract);
    operands.push_back(extract);
    if (isDpsInit(&operand))
      resultTypes.push_back(extract.getType());
  }
  Operation *tiled = mlir::clone(b, getOperation(), resultTypes, operands);
  return TilingResult{{tiled}, SmallVector<Value>(tiled->getResults()), slices};
}

LogicalResult RecurrenceOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  auto slice = sliceOf(b, *this, *getDpsInitOperand(resultNumber),
                       coreTile(b, *this, offsets, sizes));
  if (failed(slice))
    return failure();
  std::tie(resultOffsets, resultSizes) = *slice;
  return success();
}
