//===- Decompose.cpp - selective_scan / ssd into discretize + scan --------===//
//
// Part of ssmc. The semantic definition of the model-level ops in IR: each
// becomes `linalg.generic` elementwise and layout ops, one `ssm.discretize`
// and one `ssm.scan`, exactly as docs/semantics.md states them.
//
// Groups are made affine by splitting the channel (or head) dimension into
// (group, member) with `tensor.expand_shape`: channel d = g * R + r with
// R = D / G, so "channel d reads group d / R" is a plain projection of the
// iteration space instead of an integer division inside a body.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"
#include "ssm/Transforms/Decompose.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMDECOMPOSEPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

//===----------------------------------------------------------------------===//
// IR-building helpers
//===----------------------------------------------------------------------===//

/// An input of an elementwise op: `value`'s dimension i is indexed by
/// iteration dimension `dims[i]` (a projection, possibly a broadcast or a
/// transpose).
struct Operand {
  Value value;
  SmallVector<unsigned> dims;
};

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// Builds the elementwise computation as a `linalg.generic` in
/// destination-passing style and hides the boilerplate (empty init, maps,
/// iterator types, terminator) that every step of the decomposition shares.
class Emitter {
public:
  Emitter(PatternRewriter &rewriter, Location loc, Type computeType)
      : b(rewriter), loc(loc), ct(computeType) {}

  /// Size of dimension `i` of `value`, constant when static.
  OpFoldResult dim(Value value, int64_t i) {
    return tensor::getMixedSize(b, loc, value, i);
  }

  OpFoldResult index(int64_t v) { return b.getIndexAttr(v); }

  /// `lhs / rhs` on sizes, folded when both are static.
  OpFoldResult divide(OpFoldResult lhs, OpFoldResult rhs) {
    std::optional<int64_t> l = getConstantIntValue(lhs);
    std::optional<int64_t> r = getConstantIntValue(rhs);
    if (l && r && *r != 0)
      return index(*l / *r);
    return arith::DivUIOp::create(b, loc,
                                  getValueOrCreateConstantIndexOp(b, loc, lhs),
                                  getValueOrCreateConstantIndexOp(b, loc, rhs))
        .getResult();
  }

  /// A tensor type of these sizes, static where known.
  RankedTensorType tensorType(ArrayRef<OpFoldResult> sizes, Type element) {
    SmallVector<int64_t> shape;
    for (OpFoldResult size : sizes)
      shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
    return RankedTensorType::get(shape, element);
  }

  /// An all-parallel `linalg.generic` over `sizes` whose body computes one
  /// element of type `element` from the operands' elements.
  Value map(ArrayRef<OpFoldResult> sizes, ArrayRef<Operand> operands,
            Type element, BodyFn body) {
    unsigned rank = sizes.size();
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (const Operand &operand : operands) {
      inputs.push_back(operand.value);
      maps.push_back(AffineMap::getMultiDimMapWithTargets(rank, operand.dims,
                                                          b.getContext()));
    }
    maps.push_back(b.getMultiDimIdentityMap(rank));
    Value init = tensor::EmptyOp::create(b, loc, sizes, element);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
        iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          Value result = body(nested, nestedLoc, args.drop_back());
          linalg::YieldOp::create(nested, nestedLoc, result);
        });
    return generic.getResult(0);
  }

  /// `value` converted elementwise to `element` (no op when it already is).
  Value convertTensor(Value value, Type element) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getElementType() == element)
      return value;
    SmallVector<OpFoldResult> sizes;
    SmallVector<unsigned> dims;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      sizes.push_back(dim(value, i));
      dims.push_back(i);
    }
    return broadcast(sizes, {value, dims}, element);
  }

  /// Splits dimension `i` of `value` into (outer, inner).
  Value split(Value value, int64_t i, OpFoldResult outer, OpFoldResult inner) {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<OpFoldResult> sizes;
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      int64_t first = sizes.size();
      if (d == i) {
        sizes.push_back(outer);
        sizes.push_back(inner);
        groups.push_back({first, first + 1});
      } else {
        sizes.push_back(dim(value, d));
        groups.push_back({first});
      }
    }
    return tensor::ExpandShapeOp::create(
        b, loc, tensorType(sizes, type.getElementType()), value, groups, sizes);
  }

  /// Merges the dimensions of each group of `value` into one.
  Value merge(Value value, ArrayRef<ReassociationIndices> groups) {
    return tensor::CollapseShapeOp::create(b, loc, value, groups);
  }

  /// The step size: (dt + bias), softplus'd and clamped as requested.
  Value stepSize(ArrayRef<OpFoldResult> sizes, Operand dt,
                 std::optional<Operand> bias, bool applySoftplus,
                 std::optional<ArrayRef<double>> limit) {
    SmallVector<Operand> operands{dt};
    if (bias)
      operands.push_back(*bias);
    Type type = ct;
    return map(sizes, operands, ct,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value biasValue = args.size() > 1
                                  ? convertFloat(nb, nl, args[1], type)
                                  : Value();
                 return buildStepSize(nb, nl, convertFloat(nb, nl, args[0], type),
                                      biasValue, applySoftplus, limit);
               });
  }

  /// Broadcasts `operand` over `sizes`, converting its elements to `element`
  /// (the compute type by default).
  Value broadcast(ArrayRef<OpFoldResult> sizes, Operand operand,
                  Type element = {}) {
    Type to = element ? element : ct;
    return map(sizes, {operand}, to,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 return convertFloat(nb, nl, args[0], to);
               });
  }

  /// The output: optionally gated by silu(z), converted to `element`.
  Value gate(ArrayRef<OpFoldResult> sizes, Operand y, std::optional<Operand> z,
             Type element) {
    SmallVector<Operand> operands{y};
    if (z)
      operands.push_back(*z);
    Type type = ct;
    return map(sizes, operands, element,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value v = args[0];
                 if (args.size() > 1)
                   v = arith::MulFOp::create(
                       nb, nl, v, buildSilu(nb, nl, convertFloat(nb, nl, args[1], type)));
                 return convertFloat(nb, nl, v, element);
               });
  }

  PatternRewriter &b;
  Location loc;
  /// The type arithmetic is carried out in: f64 if any operand is f64, else f32.
  Type ct;
};

Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

struct DecomposeSelectiveScan : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e(rewriter, op.getLoc(), computeTypeFor(op->getContext(), op->getOperandTypes()));
    Value u = op.getU();
    TypedValue<RankedTensorType> Bm = op.getB(), Cm = op.getC();
    bool selectiveB = Bm.getType().getRank() == 4;
    bool selectiveC = Cm.getType().getRank() == 4;

    OpFoldResult batch = e.dim(u, 0), channels = e.dim(u, 1),
                 length = e.dim(u, 2), state = e.dim(op.getA(), 1);
    OpFoldResult groups = selectiveB   ? e.dim(Bm, 1)
                          : selectiveC ? e.dim(Cm, 1)
                                       : e.index(1);
    OpFoldResult members = e.divide(channels, groups);
    auto splitChannels = [&](Value v, int64_t i) {
      return e.split(v, i, groups, members);
    };

    // Step size δ over (b, l, g, r).
    SmallVector<OpFoldResult> steps{batch, length, groups, members};
    std::optional<Operand> bias;
    if (Value db = op.getDeltaBias())
      bias = Operand{splitChannels(db, 0), {2, 3}};
    Value delta = e.stepSize(steps, {splitChannels(op.getDelta(), 1), {0, 2, 3, 1}},
                             bias, op.getDeltaSoftplus(), std::nullopt);

    // Discretize over (b, l, g, r, n); B and C of group g serve channel (g, r).
    SmallVector<OpFoldResult> space{batch, length, groups, members, state};
    auto perChannel = [&](Value v, bool selective) {
      return selective ? Operand{v, {0, 2, 4, 1}}
                       : Operand{splitChannels(v, 0), {2, 3, 4}};
    };
    Value A = e.broadcast(space, {splitChannels(op.getA(), 0), {2, 3, 4}});
    Value Bb = e.broadcast(space, perChannel(Bm, selectiveB));
    Value deltaN = e.broadcast(space, {delta, {0, 1, 2, 3}});
    auto disc = DiscretizeOp::create(rewriter, op.getLoc(),
                                     op.getDiscretization(), A, Bb, deltaN);
    SmallVector<ReassociationIndices> toBLDN{{0}, {1}, {2, 3}, {4}};
    Value abar = e.merge(disc.getAbar(), toBLDN);
    Value bbar = e.merge(disc.getBbar(), toBLDN);
    Value c = selectiveC
                  ? e.merge(e.broadcast(space, perChannel(Cm, true)), toBLDN)
                  : e.convertTensor(Cm, e.ct);

    // The recurrence in scan layout [B, L, D].
    Value x = e.broadcast({batch, length, channels}, {u, {0, 2, 1}});
    Value d = op.getD() ? e.convertTensor(op.getD(), e.ct) : Value();
    Value init = op.getInit() ? e.convertTensor(op.getInit(), e.ct) : Value();
    SmallVector<Type> types{e.tensorType({batch, length, channels}, e.ct)};
    if (op.getFinalState())
      types.push_back(e.tensorType({batch, channels, state}, e.ct));
    auto scan = ScanOp::create(rewriter, op.getLoc(), types, Direction::forward,
                               x, abar, bbar, c, d, init, /*reset=*/Value());

    std::optional<Operand> z;
    if (op.getZ())
      z = Operand{op.getZ(), {0, 1, 2}};
    SmallVector<Value> results{e.gate({batch, channels, length},
                                      {scan.getY(), {0, 2, 1}}, z,
                                      elementTypeOf(op.getY()))};
    if (Value fs = op.getFinalState())
      results.push_back(e.convertTensor(scan.getFinalState(), elementTypeOf(fs)));
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// ssd
//===----------------------------------------------------------------------===//

/// reset[b, l] = l > 0 and seq_idx[b, l] != seq_idx[b, l - 1].
Value resetFromSeqIdx(Emitter &e, Value seqIdx, OpFoldResult batch,
                      OpFoldResult length) {
  return e.map({batch, length}, {{seqIdx, {0, 1}}}, e.b.getI1Type(),
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value b = linalg::IndexOp::create(nb, nl, 0);
                 Value l = linalg::IndexOp::create(nb, nl, 1);
                 Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
                 Value one = arith::ConstantIndexOp::create(nb, nl, 1);
                 Value prevL = arith::MaxSIOp::create(
                     nb, nl, arith::SubIOp::create(nb, nl, l, one), zero);
                 Value prev = tensor::ExtractOp::create(nb, nl, seqIdx,
                                                        ValueRange{b, prevL});
                 Value changed = arith::CmpIOp::create(
                     nb, nl, arith::CmpIPredicate::ne, args[0], prev);
                 Value notFirst = arith::CmpIOp::create(
                     nb, nl, arith::CmpIPredicate::ugt, l, zero);
                 return arith::AndIOp::create(nb, nl, changed, notFirst)
                     .getResult();
               });
}

/// reset[0, l] = l > 0 and l is some cu_seqlens[s]: a reduction over s.
Value resetFromCuSeqlens(Emitter &e, Value cuSeqlens, OpFoldResult batch,
                         OpFoldResult length) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value init = tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{batch, length},
                                       b.getI1Type());
  Value no = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  init = linalg::FillOp::create(b, loc, ValueRange{no}, ValueRange{init})
             .getResult(0);
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps{
      AffineMap::getMultiDimMapWithTargets(3, {2}, ctx),
      AffineMap::getMultiDimMapWithTargets(3, {0, 1}, ctx)};
  SmallVector<utils::IteratorType> iterators{utils::IteratorType::parallel,
                                             utils::IteratorType::parallel,
                                             utils::IteratorType::reduction};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{cuSeqlens}, ValueRange{init},
      maps, iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value l = linalg::IndexOp::create(nb, nl, 1);
        Value start = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), args[0]);
        Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
        Value hit = arith::AndIOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, start, l),
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt, l, zero));
        linalg::YieldOp::create(nb, nl,
                                arith::OrIOp::create(nb, nl, args[1], hit).getResult());
      });
  return generic.getResult(0);
}

struct DecomposeSSD : OpRewritePattern<SSDOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SSDOp op,
                                PatternRewriter &rewriter) const override {
    // One scan carries one state per batch row; per-sequence states of a
    // packed row have no such form.
    if (op.getCuSeqlens() && (op.getInit() || op.getFinalState()))
      return rewriter.notifyMatchFailure(
          op, "cu_seqlens with per-sequence states is not one scan");

    Emitter e(rewriter, op.getLoc(), computeTypeFor(op->getContext(), op->getOperandTypes()));
    Value x = op.getX(), Bm = op.getB();
    OpFoldResult batch = e.dim(x, 0), length = e.dim(x, 1), heads = e.dim(x, 2),
                 headDim = e.dim(x, 3), groups = e.dim(Bm, 2),
                 state = e.dim(Bm, 3);
    OpFoldResult members = e.divide(heads, groups);
    auto splitHeads = [&](Value v, int64_t i) {
      return e.split(v, i, groups, members);
    };

    // Step size δ over (b, l, g, r).
    std::optional<Operand> bias;
    if (Value db = op.getDtBias())
      bias = Operand{splitHeads(db, 0), {2, 3}};
    Value delta = e.stepSize({batch, length, groups, members},
                             {splitHeads(op.getDt(), 2), {0, 1, 2, 3}}, bias,
                             op.getDtSoftplus(), op.getDtLimit());

    // Discretize over (b, l, g, r, p, n): A and δ per head, B per group.
    SmallVector<OpFoldResult> space{batch, length, groups, members, headDim,
                                    state};
    Value A = e.broadcast(space, {splitHeads(op.getA(), 0), {2, 3}});
    Value Bb = e.broadcast(space, {Bm, {0, 1, 2, 5}});
    Value deltaN = e.broadcast(space, {delta, {0, 1, 2, 3}});
    auto disc = DiscretizeOp::create(rewriter, op.getLoc(), Discretization::mamba,
                                     A, Bb, deltaN);
    SmallVector<ReassociationIndices> toBLDN{{0}, {1}, {2, 3, 4}, {5}};
    Value abar = e.merge(disc.getAbar(), toBLDN);
    Value bbar = e.merge(disc.getBbar(), toBLDN);
    Value c = e.merge(e.broadcast(space, {op.getC(), {0, 1, 2, 5}}), toBLDN);

    // Channels d = h * P + p.
    Value xs = e.merge(e.convertTensor(x, e.ct), {{0}, {1}, {2, 3}});
    Value d;
    if (TypedValue<RankedTensorType> skip = op.getD()) {
      Value perHP = skip.getType().getRank() == 2
                        ? e.convertTensor(skip, e.ct)
                        : e.broadcast({heads, headDim}, {skip, {0}});
      d = e.merge(perHP, {{0, 1}});
    }
    Value init;
    if (op.getInit())
      init = e.merge(e.convertTensor(op.getInit(), e.ct), {{0}, {1, 2}, {3}});
    Value reset;
    if (Value seqIdx = op.getSeqIdx())
      reset = resetFromSeqIdx(e, seqIdx, batch, length);
    else if (Value cu = op.getCuSeqlens())
      reset = resetFromCuSeqlens(e, cu, batch, length);

    auto channelsTy = cast<RankedTensorType>(xs.getType());
    SmallVector<Type> types{channelsTy};
    if (op.getFinalState())
      types.push_back(e.tensorType(
          {batch, e.dim(xs, 2), state}, e.ct));
    auto scan = ScanOp::create(rewriter, op.getLoc(), types, Direction::forward,
                               xs, abar, bbar, c, d, init, reset);

    SmallVector<OpFoldResult> ySizes{batch, length, heads, headDim};
    std::optional<Operand> z;
    if (op.getZ())
      z = Operand{op.getZ(), {0, 1, 2, 3}};
    Value y = e.split(scan.getY(), 2, heads, headDim);
    SmallVector<Value> results{
        e.gate(ySizes, {y, {0, 1, 2, 3}}, z, elementTypeOf(op.getY()))};
    if (Value fs = op.getFinalState())
      results.push_back(e.convertTensor(
          e.split(scan.getFinalState(), 1, heads, headDim), elementTypeOf(fs)));
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SSMDecomposePass
    : ssm::impl::SSMDecomposePassBase<SSMDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSSMDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::ssm::populateSSMDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeSelectiveScan, DecomposeSSD>(patterns.getContext());
}
