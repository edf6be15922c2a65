//===- SSMToSCF.cpp - ssm.discretize / ssm.scan to linalg and scf ---------===//
//
// Part of ssmc. The straightforward lowering of the core ops on tensors:
// an elementwise linalg.generic for the discretization and a loop nest for
// the recurrence, following docs/semantics.md line by line. It is the
// executable meaning the numeric tests check; optimizing lowerings replace it.
//
//===----------------------------------------------------------------------===//

#include "LoopHelpers.h"
#include "ssm/Conversion/Discretization.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"
#include "ssm/Support/Parallel.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::ssm {
#define GEN_PASS_DEF_CONVERTSSMTOSCFPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

std::pair<Value, Value> mlir::ssm::buildDiscretization(OpBuilder &b,
                                                       Location loc,
                                                       Discretization method,
                                                       Value A, Value B,
                                                       Value delta) {
  Type t = A.getType();
  Value x = arith::MulFOp::create(b, loc, delta, A);
  Value deltaB = arith::MulFOp::create(b, loc, delta, B);
  Value one = buildFloat(b, loc, t, 1.0);
  switch (method) {
  case Discretization::zoh: {
    // (exp(x) - 1) / x, with its limit 1 at x = 0.
    Value ratio = arith::DivFOp::create(b, loc, math::ExpM1Op::create(b, loc, x), x);
    Value isZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x,
                                         buildFloat(b, loc, t, 0.0));
    ratio = arith::SelectOp::create(b, loc, isZero, one, ratio);
    return {math::ExpOp::create(b, loc, x),
            arith::MulFOp::create(b, loc, ratio, deltaB)};
  }
  case Discretization::bilinear: {
    Value half = arith::MulFOp::create(b, loc, x, buildFloat(b, loc, t, 0.5));
    Value denom = arith::SubFOp::create(b, loc, one, half);
    return {arith::DivFOp::create(b, loc, arith::AddFOp::create(b, loc, one, half),
                                  denom),
            arith::DivFOp::create(b, loc, deltaB, denom)};
  }
  case Discretization::euler:
    return {arith::AddFOp::create(b, loc, one, x), deltaB};
  case Discretization::mamba:
    return {math::ExpOp::create(b, loc, x), deltaB};
  }
  llvm_unreachable("unknown discretization");
}

namespace {

struct LowerDiscretize : OpRewritePattern<DiscretizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DiscretizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getA().getType();
    Type element = type.getElementType();
    Type ct = computeTypeFor(getContext(), {type});
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, op.getA());
    Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, element);
    AffineMap id = rewriter.getMultiDimIdentityMap(type.getRank());
    SmallVector<utils::IteratorType> iterators(type.getRank(),
                                               utils::IteratorType::parallel);
    Discretization method = op.getMethod();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type, type},
        ValueRange{op.getA(), op.getB(), op.getDelta()}, ValueRange{empty, empty},
        SmallVector<AffineMap>(5, id), iterators,
        [&](OpBuilder &b, Location nl, ValueRange args) {
          auto [abar, bbar] = buildDiscretization(
              b, nl, method, convertFloat(b, nl, args[0], ct),
              convertFloat(b, nl, args[1], ct), convertFloat(b, nl, args[2], ct));
          linalg::YieldOp::create(b, nl,
                                  ValueRange{convertFloat(b, nl, abar, element),
                                             convertFloat(b, nl, bbar, element)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

std::pair<Value, Value> lowering::sequenceBounds(OpBuilder &b, Location loc,
                                                 Value cuSeqlens, Value row,
                                                 Value length) {
  auto at = [&](Value i) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                      tensor::ExtractOp::create(b, loc, cuSeqlens, i));
  };
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value begin = at(row);
  Value end = at(arith::AddIOp::create(b, loc, row,
                                       arith::ConstantIndexOp::create(b, loc, 1)));
  // Signed comparisons: an entry read from memory may be negative.
  auto le = [&](Value lhs, Value rhs) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, lhs, rhs);
  };
  Value valid = arith::AndIOp::create(
      b, loc, arith::AndIOp::create(b, loc, le(c0, begin), le(begin, end)),
      le(end, length));
  cf::AssertOp::create(b, loc, valid,
                       "ssm.ssd: cu_seqlens is not a nondecreasing list of "
                       "offsets within the packed sequence length L");
  return {begin, end};
}

Value lowering::sequenceStarts(OpBuilder &b, Location loc, Value seqIdx,
                              Value row, Value t) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value notFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, t, c0);
  // t - 1, clamped so that the read stays in bounds at t = 0.
  Value prev = arith::SelectOp::create(
      b, loc, notFirst,
      arith::SubIOp::create(b, loc, t, arith::ConstantIndexOp::create(b, loc, 1)),
      c0);
  Value changed = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ne,
      tensor::ExtractOp::create(b, loc, seqIdx, ValueRange{row, t}),
      tensor::ExtractOp::create(b, loc, seqIdx, ValueRange{row, prev}));
  return arith::AndIOp::create(b, loc, notFirst, changed);
}

Value lowering::load(OpBuilder &b, Location loc, Value tensor,
                     ValueRange indices, Type ct) {
  return convertFloat(b, loc, tensor::ExtractOp::create(b, loc, tensor, indices),
                      ct);
}

namespace {

/// The running state of a recurrence: `init` when given, else zeros of
/// `sizes` and `element`.
Value initialState(PatternRewriter &rewriter, Location loc, Value init,
                   ArrayRef<OpFoldResult> sizes, Type element) {
  if (init)
    return init;
  Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, element);
  Value zero = buildFloat(rewriter, loc, element, 0.0);
  return linalg::FillOp::create(rewriter, loc, ValueRange{zero}, ValueRange{empty})
      .getResult(0);
}

/// `tensor` with its elements converted to the float type `element` (itself
/// when it already has that type).
Value convertTensor(OpBuilder &b, Location loc, Value tensor, Type element) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getElementType() == element)
    return tensor;
  Value empty = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, tensor), element);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> par(type.getRank(),
                                       utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{empty.getType()}, ValueRange{tensor},
             ValueRange{empty}, ArrayRef<AffineMap>{id, id}, par,
             [&](OpBuilder &b, Location l, ValueRange args) {
               linalg::YieldOp::create(b, l,
                                       convertFloat(b, l, args[0], element));
             })
      .getResult(0);
}

} // namespace

void lowering::replaceWithOutputs(PatternRewriter &rewriter, Operation *op,
                                  Value output, Value finalState) {
  SmallVector<Value> results{output};
  if (op->getNumResults() > 1)
    results.push_back(finalState);
  for (auto [value, result] : llvm::zip(results, op->getResults()))
    if (value.getType() != result.getType())
      value = tensor::CastOp::create(rewriter, op->getLoc(), result.getType(), value);
  rewriter.replaceOp(op, results);
}

using namespace mlir::ssm::lowering;

namespace {

/// Integer-index helpers shared by the loop lowerings.
struct Indices {
  OpBuilder &b;
  Location loc;
  Value constant(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value size(Value tensor, int64_t dim) {
    return getValueOrCreateConstantIndexOp(
        b, loc, tensor::getMixedSize(b, loc, tensor, dim));
  }
};

/// The tensors a lowering's work items fill: the output, and the final
/// state only when the op returns it.
SmallVector<Value> carriedOutputs(Value output, Value state, Value finalState) {
  if (finalState)
    return {output, state};
  return {output};
}

/// The outermost loop of a lowering: one scf.for over `rows` × `cols`
/// independent work items, marked parallel (include/ssm/Support/Parallel.h).
/// `body` builds one item from its (row, col) and the carried tensors, and
/// returns the values to yield.
scf::ForOp buildParallelGrid(
    OpBuilder &b, Location loc, Value rows, Value cols, ValueRange carried,
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value,
                                   ValueRange)>
        body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value items = arith::MulIOp::create(b, loc, rows, cols);
  auto loop = scf::ForOp::create(
      b, loc, c0, items, c1, carried,
      [&](OpBuilder &b, Location l, Value item, ValueRange carried) {
        Value row = arith::DivUIOp::create(b, l, item, cols);
        Value col = arith::RemUIOp::create(b, l, item, cols);
        scf::YieldOp::create(b, l, body(b, l, row, col, carried));
      });
  markParallel(loop);
  return loop;
}

/// Copies a work item's scratch state into the state tensor `dest`, rounded
/// to its element type: for i < `outer`, j < `inner`, the element
/// `from(i, j)` of `scratch` goes to `to(i, j)` of `dest`. Returns the
/// updated tensor.
Value storeState(OpBuilder &b, Location loc, Value dest, Value scratch,
                 Value outer, Value inner,
                 function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value)> from,
                 function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value)> to) {
  Type element = cast<RankedTensorType>(dest.getType()).getElementType();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  auto rows = scf::ForOp::create(
      b, loc, c0, outer, c1, ValueRange{dest},
      [&](OpBuilder &b, Location l, Value i, ValueRange carried) {
        auto columns = scf::ForOp::create(
            b, l, c0, inner, c1, carried,
            [&](OpBuilder &b, Location l, Value j, ValueRange carried) {
              Value v = memref::LoadOp::create(b, l, scratch, from(b, l, i, j));
              scf::YieldOp::create(
                  b, l,
                  ValueRange{tensor::InsertOp::create(b, l, convertFloat(b, l, v, element),
                                                      carried[0], to(b, l, i, j))});
            });
        scf::YieldOp::create(b, l, columns.getResults());
      });
  return rows.getResult(0);
}

struct LowerScan : OpRewritePattern<ScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    Value x = op.getX();
    OpFoldResult B = tensor::getMixedSize(rewriter, loc, x, 0);
    OpFoldResult L = tensor::getMixedSize(rewriter, loc, x, 1);
    OpFoldResult D = tensor::getMixedSize(rewriter, loc, x, 2);
    OpFoldResult N = tensor::getMixedSize(rewriter, loc, op.getAbar(),
                                          op.getAbar().getType().getRank() - 1);
    auto yType = op.getY().getType();

    // Loop-carried tensors: the output and the running state [B, D, N]. The
    // state stays in the compute type for the whole scan and is rounded to
    // its storage type once, at the end (docs/semantics.md): rounding it at
    // every step to f16 or bf16 would accumulate L roundings.
    Value y = tensor::EmptyOp::create(rewriter, loc, ArrayRef<OpFoldResult>{B, L, D},
                                      yType.getElementType());
    Type stateElement = ct;
    Value state = initialState(
        rewriter, loc,
        op.getInit() ? convertTensor(rewriter, loc, op.getInit(), ct) : Value(),
        {B, D, N}, ct);

    auto idx = [&](OpFoldResult v) {
      return getValueOrCreateConstantIndexOp(rewriter, loc, v);
    };
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value lengthV = idx(L), stateV = idx(N);
    bool reverse = op.getDirection() == Direction::reverse;
    Value abarT = op.getAbar(), bbarT = op.getBbar(), cT = op.getC();
    Value skip = op.getD(), reset = op.getReset();

    // Reads a time-varying [B, L, D, N] or time-invariant [D, N] operand.
    auto operand = [&](OpBuilder &b, Location l, Value t, Value bi, Value ti,
                       Value di, Value ni) {
      if (cast<RankedTensorType>(t.getType()).getRank() == 4)
        return load(b, l, t, {bi, ti, di, ni}, ct);
      return load(b, l, t, {di, ni}, ct);
    };

    auto grid = buildParallelGrid(
        rewriter, loc, idx(B), idx(D), ValueRange{y, state},
        [&](OpBuilder &b, Location l, Value bi, Value di,
            ValueRange carried) -> SmallVector<Value> {
          auto steps = scf::ForOp::create(
              b, l, c0, lengthV, c1, carried,
              [&](OpBuilder &b, Location l, Value i, ValueRange carried) {
                Value last = arith::SubIOp::create(b, l, lengthV, c1);
                Value ti = reverse ? arith::SubIOp::create(b, l, last, i) : i;
                // A reset cuts the boundary between t - 1 and t: met
                // before step t going forward, before t - 1 backward.
                Value cut;
                if (reset) {
                  Value at = reverse ? arith::AddIOp::create(b, l, ti, c1) : ti;
                  Value notFirst =
                      arith::CmpIOp::create(b, l, arith::CmpIPredicate::ugt, i, c0);
                  // i > 0 keeps the index in bounds in both directions.
                  Value safe = arith::SelectOp::create(b, l, notFirst, at, c0);
                  Value flag =
                      tensor::ExtractOp::create(b, l, reset, ValueRange{bi, safe});
                  cut = arith::AndIOp::create(b, l, notFirst, flag);
                }
                Value xv = load(b, l, x, {bi, ti, di}, ct);
                Value acc =
                    skip ? arith::MulFOp::create(b, l, load(b, l, skip, {di}, ct), xv)
                         : buildFloat(b, l, ct, 0.0);
                auto inner = scf::ForOp::create(
                    b, l, c0, stateV, c1, ValueRange{carried[1], acc},
                    [&](OpBuilder &b, Location l, Value ni, ValueRange inner) {
                      Value h = load(b, l, inner[0], {bi, di, ni}, ct);
                      if (cut)
                        h = arith::SelectOp::create(b, l, cut, buildFloat(b, l, ct, 0.0),
                                                    h);
                      Value a = operand(b, l, abarT, bi, ti, di, ni);
                      Value bb = operand(b, l, bbarT, bi, ti, di, ni);
                      Value c = operand(b, l, cT, bi, ti, di, ni);
                      h = arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, a, h),
                                                arith::MulFOp::create(b, l, bb, xv));
                      Value newState = tensor::InsertOp::create(
                          b, l, convertFloat(b, l, h, stateElement), inner[0],
                          ValueRange{bi, di, ni});
                      Value sum = buildReductionFMA(b, l, inner[1], c, h);
                      scf::YieldOp::create(b, l, ValueRange{newState, sum});
                    });
                Value out = tensor::InsertOp::create(
                    b, l, convertFloat(b, l, inner.getResult(1), yType.getElementType()),
                    carried[0], ValueRange{bi, ti, di});
                scf::YieldOp::create(b, l, ValueRange{out, inner.getResult(0)});
              });
          return SmallVector<Value>(steps.getResults());
        });

    Value finalState = grid.getResult(1);
    if (Value fs = op.getFinalState())
      finalState = convertTensor(rewriter, loc, finalState,
                                 getElementTypeOrSelf(fs.getType()));
    replaceWithOutputs(rewriter, op, grid.getResult(0), finalState);
    return success();
  }
};

/// Mamba-1's selective scan, fused and laid out for SIMD. A work item is a
/// batch row and a tile of up to kChannelTile channels of one group; its
/// state [N, tile] lives in a scratch buffer, and every innermost loop runs
/// over the tile's channels with unit stride, so LLVM vectorizes across
/// channels (the exp of the discretization included, through a vector math
/// library) with no horizontal sums. The step size, discretization, skip
/// and gate are computed in the loops: no [B, L, D, N] tensor exists
/// (unlike ssm-decompose's definition, which this must agree with). The
/// state is kept in the compute type and rounded to the state type once,
/// at the end.
struct LowerSelectiveScan : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;

  /// Channels per work item: one AVX-512 vector of f32 (two AVX2 ones).
  static constexpr int64_t kChannelTile = 16;

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    Value u = op.getU(), A = op.getA();
    TypedValue<RankedTensorType> Bm = op.getB(), Cm = op.getC();
    bool selectiveB = Bm.getType().getRank() == 4;
    bool selectiveC = Cm.getType().getRank() == 4;
    Indices ix{rewriter, loc};
    Value c0 = ix.constant(0), c1 = ix.constant(1),
          tile = ix.constant(kChannelTile);
    Value length = ix.size(u, 2), stateSize = ix.size(A, 1);
    Value groups = selectiveB ? ix.size(Bm, 1) : selectiveC ? ix.size(Cm, 1) : c1;
    Value perGroup = arith::DivUIOp::create(rewriter, loc, ix.size(u, 1), groups);
    std::optional<int64_t> staticChannels = getConstantIntValue(ix.size(u, 1)),
                           staticGroups = getConstantIntValue(groups);
    bool fullTiles = staticChannels && staticGroups && *staticGroups > 0 &&
                     (*staticChannels / *staticGroups) % kChannelTile == 0;
    Value tiles = arith::CeilDivUIOp::create(rewriter, loc, perGroup, tile);
    Value items = arith::MulIOp::create(rewriter, loc, groups, tiles);
    auto yType = op.getY().getType();
    Type stateElement = op.getInit()          ? op.getInit().getType().getElementType()
                        : op.getFinalState() ? op.getFinalState().getType().getElementType()
                                             : ct;
    Value state = tensor::EmptyOp::create(
        rewriter, loc,
        {tensor::getMixedSize(rewriter, loc, u, 0),
         tensor::getMixedSize(rewriter, loc, u, 1),
         tensor::getMixedSize(rewriter, loc, A, 1)},
        stateElement);
    Value y = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, u),
        yType.getElementType());
    Discretization method = op.getDiscretization();
    std::optional<int64_t> staticN = getConstantIntValue(
        tensor::getMixedSize(rewriter, loc, A, 1));

    auto grid = buildParallelGrid(
        rewriter, loc, ix.size(u, 0), items, carriedOutputs(y, state, op.getFinalState()),
        [&](OpBuilder &b, Location l, Value bi, Value item,
            ValueRange carried) -> SmallVector<Value> {
          Value gi = arith::DivUIOp::create(b, l, item, tiles);
          Value offset = arith::MulIOp::create(
              b, l, arith::RemUIOp::create(b, l, item, tiles), tile);
          Value first = arith::AddIOp::create(
              b, l, arith::MulIOp::create(b, l, gi, perGroup), offset);
          // Full tiles have a constant width: their channel loops then
          // vectorize with no remainder or trip-count checks.
          Value width = fullTiles ? tile
                                  : arith::MinUIOp::create(
                                        b, l, tile,
                                        arith::SubIOp::create(b, l, perGroup, offset))
                                        .getResult();
          // Scratch of the work item: [N, tile] planes and [tile] vectors.
          auto plane = [&]() -> Value {
            auto type = MemRefType::get(
                {staticN ? *staticN : ShapedType::kDynamic, kChannelTile}, ct);
            return memref::AllocOp::create(
                b, l, type, staticN ? ValueRange{} : ValueRange{stateSize});
          };
          auto vec = [&]() -> Value {
            return memref::AllocOp::create(b, l, MemRefType::get({kChannelTile}, ct));
          };
          Value aT = plane(), h = plane();
          Value bT = selectiveB ? Value() : plane();
          Value cT = selectiveC ? Value() : plane();
          Value deltas = vec(), us = vec(), acc = vec();
          Value gates = op.getZ() ? vec() : Value();
          // Runs `body(c, d)` over the tile's channels c (channel d).
          auto overTile =
              [&](OpBuilder &b, Location l,
                  function_ref<void(OpBuilder &, Location, Value, Value)> body) {
                scf::ForOp::create(b, l, c0, width, c1, ValueRange{},
                                   [&](OpBuilder &b, Location l, Value c, ValueRange) {
                                     body(b, l, c, arith::AddIOp::create(b, l, first, c));
                                     scf::YieldOp::create(b, l);
                                   });
              };

          // Transposed copies of the per-channel operands, and the state.
          scf::ForOp::create(
              b, l, c0, stateSize, c1, ValueRange{},
              [&](OpBuilder &b, Location l, Value ni, ValueRange) {
                overTile(b, l, [&](OpBuilder &b, Location l, Value c, Value d) {
                  auto put = [&](Value v, Value plane) {
                    memref::StoreOp::create(b, l, v, plane, ValueRange{ni, c});
                  };
                  put(load(b, l, A, {d, ni}, ct), aT);
                  put(op.getInit() ? load(b, l, op.getInit(), {bi, d, ni}, ct)
                                   : buildFloat(b, l, ct, 0.0),
                      h);
                  if (bT)
                    put(load(b, l, Bm, {d, ni}, ct), bT);
                  if (cT)
                    put(load(b, l, Cm, {d, ni}, ct), cT);
                });
                scf::YieldOp::create(b, l);
              });

          auto timeLoop = scf::ForOp::create(
              b, l, c0, length, c1, ValueRange{carried[0]},
              [&](OpBuilder &b, Location l, Value ti, ValueRange yCarried) {
                overTile(b, l, [&](OpBuilder &b, Location l, Value c, Value d) {
                  Value bias = op.getDeltaBias() ? load(b, l, op.getDeltaBias(), {d}, ct)
                                                 : Value();
                  Value delta =
                      buildStepSize(b, l, load(b, l, op.getDelta(), {bi, d, ti}, ct),
                                    bias, op.getDeltaSoftplus(), std::nullopt);
                  Value uv = load(b, l, u, {bi, d, ti}, ct);
                  Value skip = op.getD() ? arith::MulFOp::create(
                                               b, l, load(b, l, op.getD(), {d}, ct), uv)
                                         : buildFloat(b, l, ct, 0.0);
                  memref::StoreOp::create(b, l, delta, deltas, c);
                  memref::StoreOp::create(b, l, uv, us, c);
                  memref::StoreOp::create(b, l, skip, acc, c);
                  // The gate too, here where the loop vectorizes: the
                  // output loop below stores with a stride of L.
                  if (gates)
                    memref::StoreOp::create(
                        b, l, buildSilu(b, l, load(b, l, op.getZ(), {bi, d, ti}, ct)),
                        gates, c);
                });
                scf::ForOp::create(
                    b, l, c0, stateSize, c1, ValueRange{},
                    [&](OpBuilder &b, Location l, Value ni, ValueRange) {
                      // Selective B and C are shared by the group's channels.
                      Value bShared =
                          selectiveB ? load(b, l, Bm, {bi, gi, ni, ti}, ct) : Value();
                      Value cShared =
                          selectiveC ? load(b, l, Cm, {bi, gi, ni, ti}, ct) : Value();
                      overTile(b, l, [&](OpBuilder &b, Location l, Value c, Value) {
                        auto get = [&](Value m, ValueRange at) -> Value {
                          return memref::LoadOp::create(b, l, m, at);
                        };
                        Value bv = bT ? get(bT, {ni, c}) : bShared;
                        Value cv = cT ? get(cT, {ni, c}) : cShared;
                        auto [abar, bbar] = buildDiscretization(
                            b, l, method, get(aT, {ni, c}), bv, get(deltas, c));
                        Value next = arith::AddFOp::create(
                            b, l, arith::MulFOp::create(b, l, abar, get(h, {ni, c})),
                            arith::MulFOp::create(b, l, bbar, get(us, c)));
                        memref::StoreOp::create(b, l, next, h, ValueRange{ni, c});
                        memref::StoreOp::create(
                            b, l, buildReductionFMA(b, l, get(acc, c), cv, next), acc, c);
                      });
                      scf::YieldOp::create(b, l);
                    });
                auto out = scf::ForOp::create(
                    b, l, c0, width, c1, yCarried,
                    [&](OpBuilder &b, Location l, Value c, ValueRange yc) {
                      Value d = arith::AddIOp::create(b, l, first, c);
                      Value v = memref::LoadOp::create(b, l, acc, c);
                      if (gates)
                        v = arith::MulFOp::create(b, l, v,
                                                  memref::LoadOp::create(b, l, gates, c));
                      scf::YieldOp::create(
                          b, l,
                          ValueRange{tensor::InsertOp::create(
                              b, l, convertFloat(b, l, v, yType.getElementType()), yc[0],
                              ValueRange{bi, d, ti})});
                    });
                scf::YieldOp::create(b, l, out.getResults());
              });

          if (!op.getFinalState())
            return {timeLoop.getResult(0)};
          // The final state, rounded once.
          Value final = storeState(
              b, l, carried[1], h, stateSize, width,
              [&](OpBuilder &, Location, Value ni, Value c) -> SmallVector<Value> {
                return {ni, c};
              },
              [&](OpBuilder &b, Location l, Value ni, Value c) -> SmallVector<Value> {
                return {bi, arith::AddIOp::create(b, l, first, c), ni};
              });
          return {timeLoop.getResult(0), final};
        });

    replaceWithOutputs(rewriter, op, grid.getResult(0),
                       op.getFinalState() ? grid.getResult(1) : Value());
    return success();
  }
};

/// Mamba-2's SSD in its recurrent form. A work item is a row and a head; a
/// row is a batch row, or with `cu_seqlens` one packed sequence with its own
/// initial and final state. The item's state lives in an [N, P] scratch
/// buffer in the compute type (rounded to the state type once, at the end),
/// and the innermost loops run over the head's channels p, which are
/// contiguous in x, z and y: LLVM vectorizes them with no horizontal sums,
/// the decay being one scalar per (t, head). `seq_idx` restarts the state
/// where the index changes.
struct LowerSSD : OpRewritePattern<SSDOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SSDOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getAlgorithm() == SSDAlgorithm::chunked)
      return failure();
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    Value x = op.getX(), cu = op.getCuSeqlens(), seq = op.getSeqIdx();
    Indices ix{rewriter, loc};
    Value c0 = ix.constant(0), c1 = ix.constant(1);
    Value length = ix.size(x, 1), heads = ix.size(x, 2), headDim = ix.size(x, 3),
          stateSize = ix.size(op.getB(), 3);
    Value perGroup =
        arith::DivUIOp::create(rewriter, loc, heads, ix.size(op.getB(), 2));
    Value rows = cu ? arith::SubIOp::create(rewriter, loc, ix.size(cu, 0), c1)
                    : ix.size(x, 0);
    auto yType = op.getY().getType();
    Type stateElement = op.getInit()          ? op.getInit().getType().getElementType()
                        : op.getFinalState() ? op.getFinalState().getType().getElementType()
                                             : ct;
    Value state = tensor::EmptyOp::create(
        rewriter, loc,
        {cu ? OpFoldResult(rows) : tensor::getMixedSize(rewriter, loc, x, 0),
         tensor::getMixedSize(rewriter, loc, x, 2),
         tensor::getMixedSize(rewriter, loc, x, 3),
         tensor::getMixedSize(rewriter, loc, op.getB(), 3)},
        stateElement);
    Value y = tensor::EmptyOp::create(rewriter, loc,
                                      tensor::getMixedSizes(rewriter, loc, x),
                                      yType.getElementType());
    std::optional<ArrayRef<double>> limit = op.getDtLimit();
    auto staticSize = [&](Value v, int64_t dim) {
      auto type = cast<RankedTensorType>(v.getType());
      return type.getDimSize(dim);
    };
    int64_t staticN = staticSize(op.getB(), 3), staticP = staticSize(x, 3);
    // Heads of a known size from half a vector register to a few registers
    // wide are handled as vector values (measured: 0.34 -> 0.075 ns per
    // element at P = 16; at P = 4 the broadcasts cost more than they save);
    // others with scalar loops that LLVM vectorizes.
    constexpr int64_t kMinVectorHead = 8, kMaxVectorHead = 128;
    VectorType vectorType =
        !ShapedType::isDynamic(staticP) && staticP >= kMinVectorHead &&
                staticP <= kMaxVectorHead
            ? VectorType::get({staticP}, ct)
            : VectorType();

    auto grid = buildParallelGrid(
        rewriter, loc, rows, heads, carriedOutputs(y, state, op.getFinalState()),
        [&](OpBuilder &b, Location l, Value ri, Value hi,
            ValueRange carried) -> SmallVector<Value> {
          Value bi = cu ? c0 : ri;
          // Named values, not a structured binding: lambdas below capture them.
          Value begin = c0, end = length;
          if (cu)
            std::tie(begin, end) = sequenceBounds(b, l, cu, ri, length);
          Value gi = arith::DivUIOp::create(b, l, hi, perGroup);
          Value A = load(b, l, op.getA(), {hi}, ct);
          Value bias = op.getDtBias() ? load(b, l, op.getDtBias(), {hi}, ct) : Value();
          // Scratch of the work item: the state [N, P] and two [P] vectors.
          auto alloc = [&](ArrayRef<int64_t> shape, ValueRange sizes) -> Value {
            SmallVector<Value> dynamic;
            for (auto [extent, size] : llvm::zip(shape, sizes))
              if (ShapedType::isDynamic(extent))
                dynamic.push_back(size);
            return memref::AllocOp::create(b, l, MemRefType::get(shape, ct), dynamic);
          };
          Value h = alloc({staticN, staticP}, {stateSize, headDim});
          Value dxs = alloc({staticP}, {headDim}), acc = alloc({staticP}, {headDim});
          // Runs `body(p)` over the head's channels.
          auto overChannels = [&](OpBuilder &b, Location l,
                                  function_ref<void(OpBuilder &, Location, Value)> body) {
            scf::ForOp::create(b, l, c0, headDim, c1, ValueRange{},
                               [&](OpBuilder &b, Location l, Value pi, ValueRange) {
                                 body(b, l, pi);
                                 scf::YieldOp::create(b, l);
                               });
          };
          scf::ForOp::create(
              b, l, c0, stateSize, c1, ValueRange{},
              [&](OpBuilder &b, Location l, Value ni, ValueRange) {
                overChannels(b, l, [&](OpBuilder &b, Location l, Value pi) {
                  Value v = op.getInit() ? load(b, l, op.getInit(), {ri, hi, pi, ni}, ct)
                                         : buildFloat(b, l, ct, 0.0);
                  memref::StoreOp::create(b, l, v, h, ValueRange{ni, pi});
                });
                scf::YieldOp::create(b, l);
              });

          auto timeLoop = scf::ForOp::create(
              b, l, begin, end, c1, ValueRange{carried[0]},
              [&](OpBuilder &b, Location l, Value ti, ValueRange yCarried) {
                Value delta = buildStepSize(b, l, load(b, l, op.getDt(), {bi, ti, hi}, ct),
                                            bias, op.getDtSoftplus(), limit);
                Value decay =
                    math::ExpOp::create(b, l, arith::MulFOp::create(b, l, delta, A));
                // seq_idx: a new sequence starts where the index changes,
                // from a zero state (a zero decay forgets the old one).
                if (seq)
                  decay = arith::SelectOp::create(
                      b, l, sequenceStarts(b, l, seq, bi, ti),
                      buildFloat(b, l, ct, 0.0), decay);
                overChannels(b, l, [&](OpBuilder &b, Location l, Value pi) {
                  Value xv = load(b, l, x, {bi, ti, hi, pi}, ct);
                  Value skip = buildFloat(b, l, ct, 0.0);
                  if (Value d = op.getD()) {
                    SmallVector<Value> at{hi};
                    if (cast<RankedTensorType>(d.getType()).getRank() == 2)
                      at.push_back(pi);
                    skip = arith::MulFOp::create(b, l, load(b, l, d, at, ct), xv);
                  }
                  memref::StoreOp::create(b, l, arith::MulFOp::create(b, l, delta, xv),
                                          dxs, pi);
                  memref::StoreOp::create(b, l, skip, acc, pi);
                });
                if (vectorType) {
                  // The head's channels as one vector value: the state rows
                  // are loaded and stored whole and the output sum stays in
                  // registers across n. (Left to LLVM, short heads get
                  // their channel loop unrolled and n vectorized with
                  // gathers.)
                  Value zero = arith::ConstantIndexOp::create(b, l, 0);
                  Value dxv = vector::LoadOp::create(b, l, vectorType, dxs, zero);
                  Value decayv = vector::BroadcastOp::create(b, l, vectorType, decay);
                  auto flags = arith::FastMathFlagsAttr::get(
                      b.getContext(),
                      arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
                  auto sum = scf::ForOp::create(
                      b, l, c0, stateSize, c1,
                      ValueRange{vector::LoadOp::create(b, l, vectorType, acc, zero)},
                      [&](OpBuilder &b, Location l, Value ni, ValueRange accv) {
                        auto splat = [&](Value t) -> Value {
                          return vector::BroadcastOp::create(
                              b, l, vectorType, load(b, l, t, {bi, ti, gi, ni}, ct));
                        };
                        Value bn = splat(op.getB()), cn = splat(op.getC());
                        Value old =
                            vector::LoadOp::create(b, l, vectorType, h, ValueRange{ni, zero});
                        Value next = arith::AddFOp::create(
                            b, l, arith::MulFOp::create(b, l, decayv, old, flags),
                            arith::MulFOp::create(b, l, dxv, bn, flags), flags);
                        vector::StoreOp::create(b, l, next, h, ValueRange{ni, zero});
                        Value total = arith::AddFOp::create(
                            b, l, accv[0], arith::MulFOp::create(b, l, cn, next, flags),
                            flags);
                        scf::YieldOp::create(b, l, total);
                      });
                  vector::StoreOp::create(b, l, sum.getResult(0), acc, zero);
                } else {
                scf::ForOp::create(
                    b, l, c0, stateSize, c1, ValueRange{},
                    [&](OpBuilder &b, Location l, Value ni, ValueRange) {
                      Value bn = load(b, l, op.getB(), {bi, ti, gi, ni}, ct);
                      Value cn = load(b, l, op.getC(), {bi, ti, gi, ni}, ct);
                      overChannels(b, l, [&](OpBuilder &b, Location l, Value pi) {
                        Value old = memref::LoadOp::create(b, l, h, ValueRange{ni, pi});
                        Value next = arith::AddFOp::create(
                            b, l, arith::MulFOp::create(b, l, decay, old),
                            arith::MulFOp::create(
                                b, l, memref::LoadOp::create(b, l, dxs, pi), bn));
                        memref::StoreOp::create(b, l, next, h, ValueRange{ni, pi});
                        memref::StoreOp::create(
                            b, l,
                            buildReductionFMA(b, l, memref::LoadOp::create(b, l, acc, pi),
                                              cn, next),
                            acc, pi);
                      });
                      scf::YieldOp::create(b, l);
                    });
                }
                auto out = scf::ForOp::create(
                    b, l, c0, headDim, c1, yCarried,
                    [&](OpBuilder &b, Location l, Value pi, ValueRange yc) {
                      Value v = memref::LoadOp::create(b, l, acc, pi);
                      if (Value z = op.getZ())
                        v = arith::MulFOp::create(
                            b, l, v, buildSilu(b, l, load(b, l, z, {bi, ti, hi, pi}, ct)));
                      scf::YieldOp::create(
                          b, l,
                          ValueRange{tensor::InsertOp::create(
                              b, l, convertFloat(b, l, v, yType.getElementType()), yc[0],
                              ValueRange{bi, ti, hi, pi})});
                    });
                scf::YieldOp::create(b, l, out.getResults());
              });

          if (!op.getFinalState())
            return {timeLoop.getResult(0)};
          // The final state, rounded once.
          Value final = storeState(
              b, l, carried[1], h, headDim, stateSize,
              [&](OpBuilder &, Location, Value pi, Value ni) -> SmallVector<Value> {
                return {ni, pi};
              },
              [&](OpBuilder &, Location, Value pi, Value ni) -> SmallVector<Value> {
                return {ri, hi, pi, ni};
              });
          return {timeLoop.getResult(0), final};
        });

    replaceWithOutputs(rewriter, op, grid.getResult(0),
                       op.getFinalState() ? grid.getResult(1) : Value());
    return success();
  }
};

/// The depthwise causal convolution as one loop over the (batch, channel)
/// rows, each an independent work item (marked ssm.parallel). Inside a row,
/// the W − 1 first outputs read the carried history through a branch per
/// tap; every later output reads only x, so that interior loop over t has
/// no branch and its loads and stores are contiguous in t: LLVM vectorizes
/// it. With a static width of up to kMaxUnrolledTaps the taps are unrolled
/// and their weights loaded once per row; other widths keep a tap loop
/// inside the t loop.
constexpr int64_t kMaxUnrolledTaps = 16;

struct LowerCausalConv1d : OpRewritePattern<CausalConv1dOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    Value x = op.getX(), weight = op.getWeight(), bias = op.getBias(),
          init = op.getInitState();
    Indices ix{rewriter, loc};
    Value c0 = ix.constant(0), c1 = ix.constant(1);
    Value channels = ix.size(x, 1), width = ix.size(weight, 1),
          length = ix.size(x, 2);
    Value history = arith::SubIOp::create(rewriter, loc, width, c1);
    // Unrolled taps cost IR per tap: a width past kMaxUnrolledTaps (no
    // real model comes near) takes the tap loop, so that compile time and
    // memory do not grow with a static size.
    std::optional<int64_t> staticWidth = getConstantIntValue(
        tensor::getMixedSize(rewriter, loc, weight, 1));
    int64_t unrolledTaps =
        staticWidth && *staticWidth <= kMaxUnrolledTaps ? *staticWidth : 0;
    bool silu = op.getActivation() == Activation::silu;
    auto contract = arith::FastMathFlags::contract;
    auto outType = op.getOut().getType();
    Type outElement = outType.getElementType();

    // x̃(s) for s in [-(W - 1), L): the carried state left of x (zero when
    // absent), read only on the side of the branch where its index is valid.
    auto extended = [&](OpBuilder &b, Location l, Value bi, Value ci, Value s) {
      Value zero = arith::ConstantIndexOp::create(b, l, 0);
      Value inState =
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, s, zero);
      auto branch = scf::IfOp::create(
          b, l, inState,
          [&](OpBuilder &b, Location l) {
            Value v = init ? load(b, l, init,
                                  {bi, ci, arith::AddIOp::create(b, l, history, s)},
                                  ct)
                           : buildFloat(b, l, ct, 0.0);
            scf::YieldOp::create(b, l, v);
          },
          [&](OpBuilder &b, Location l) {
            scf::YieldOp::create(b, l, load(b, l, x, {bi, ci, s}, ct));
          });
      return branch.getResult(0);
    };
    // bias + Σ_k w_k · read(k), then the activation, in the storage type.
    // The multiply-adds may contract to FMAs (one rounding instead of two).
    auto output = [&](OpBuilder &b, Location l, Value acc, ArrayRef<Value> taps,
                      llvm::function_ref<Value(OpBuilder &, Location, Value)> read,
                      Value ci) {
      auto term = [&](OpBuilder &b, Location l, Value acc, Value w, Value k) {
        Value prod = arith::MulFOp::create(b, l, w, read(b, l, k), contract);
        return arith::AddFOp::create(b, l, acc, prod, contract).getResult();
      };
      if (!taps.empty()) {
        for (auto [k, w] : llvm::enumerate(taps))
          acc = term(b, l, acc, w,
                     arith::ConstantIndexOp::create(b, l, static_cast<int64_t>(k)));
      } else {
        acc = scf::ForOp::create(
                  b, l, c0, width, c1, ValueRange{acc},
                  [&](OpBuilder &b, Location l, Value k, ValueRange sum) {
                    scf::YieldOp::create(
                        b, l, term(b, l, sum[0], load(b, l, weight, {ci, k}, ct), k));
                  })
                  .getResult(0);
      }
      if (silu)
        acc = buildSilu(b, l, acc);
      return convertFloat(b, l, acc, outElement);
    };

    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    Value out = tensor::EmptyOp::create(rewriter, loc, sizes, outElement);
    SmallVector<Value> carried{out};
    Value fs = op.getFinalState();
    if (fs) {
      OpFoldResult historySize = history;
      if (staticWidth)
        historySize = rewriter.getIndexAttr(*staticWidth - 1);
      carried.push_back(tensor::EmptyOp::create(
          rewriter, loc, SmallVector<OpFoldResult>{sizes[0], sizes[1], historySize},
          getElementTypeOrSelf(fs.getType())));
    }
    Value rows = arith::MulIOp::create(rewriter, loc, ix.size(x, 0), channels);
    // The prologue covers t < min(W − 1, L); the interior the rest.
    Value split = arith::MinUIOp::create(rewriter, loc, history, length);

    auto rowLoop = scf::ForOp::create(
        rewriter, loc, c0, rows, c1, carried,
        [&](OpBuilder &b, Location l, Value row, ValueRange carried) {
          Value bi = arith::DivUIOp::create(b, l, row, channels);
          Value ci = arith::RemUIOp::create(b, l, row, channels);
          Value acc0 = bias ? load(b, l, bias, {ci}, ct) : buildFloat(b, l, ct, 0.0);
          SmallVector<Value> taps;
          for (int64_t k = 0; k < unrolledTaps; ++k)
            taps.push_back(
                load(b, l, weight, {ci, arith::ConstantIndexOp::create(b, l, k)}, ct));
          // Tap k of output t reads x̃(t − (W − 1) + k).
          auto source = [&](OpBuilder &b, Location l, Value t, Value k) {
            return arith::AddIOp::create(
                b, l, arith::SubIOp::create(b, l, t, history), k);
          };
          auto prologue = scf::ForOp::create(
              b, l, c0, split, c1, ValueRange{carried[0]},
              [&](OpBuilder &b, Location l, Value t, ValueRange o) {
                Value v = output(
                    b, l, acc0, taps,
                    [&](OpBuilder &b, Location l, Value k) {
                      return extended(b, l, bi, ci, source(b, l, t, k));
                    },
                    ci);
                scf::YieldOp::create(
                    b, l,
                    ValueRange{tensor::InsertOp::create(b, l, v, o[0],
                                                        ValueRange{bi, ci, t})});
              });
          auto interior = scf::ForOp::create(
              b, l, split, length, c1, prologue.getResults(),
              [&](OpBuilder &b, Location l, Value t, ValueRange o) {
                Value v = output(
                    b, l, acc0, taps,
                    [&](OpBuilder &b, Location l, Value k) {
                      return load(b, l, x, {bi, ci, source(b, l, t, k)}, ct);
                    },
                    ci);
                scf::YieldOp::create(
                    b, l,
                    ValueRange{tensor::InsertOp::create(b, l, v, o[0],
                                                        ValueRange{bi, ci, t})});
              });
          SmallVector<Value> results{interior.getResult(0)};
          if (fs) {
            // final[b, c, s] = x̃(L − (W − 1) + s): W − 1 copies per row.
            Type fsElement = getElementTypeOrSelf(fs.getType());
            Value offset = arith::SubIOp::create(b, l, length, history);
            auto final = scf::ForOp::create(
                b, l, c0, history, c1, ValueRange{carried[1]},
                [&](OpBuilder &b, Location l, Value si, ValueRange f) {
                  Value v = extended(b, l, bi, ci, arith::AddIOp::create(b, l, offset, si));
                  scf::YieldOp::create(
                      b, l,
                      ValueRange{tensor::InsertOp::create(
                          b, l, convertFloat(b, l, v, fsElement), f[0],
                          ValueRange{bi, ci, si})});
                });
            results.push_back(final.getResult(0));
          }
          scf::YieldOp::create(b, l, results);
        });
    // Rows write disjoint slices of the output and the final state.
    markParallel(rowLoop);
    replaceWithOutputs(rewriter, op, rowLoop.getResult(0),
                       fs ? rowLoop.getResult(1) : Value());
    return success();
  }
};

struct LowerStateUpdate : OpRewritePattern<StateUpdateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(StateUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    bool mamba2 = op.isMamba2();
    Value state = op.getState(), x = op.getX();
    Indices ix{rewriter, loc};
    Value c0 = ix.constant(0), c1 = ix.constant(1);
    Value heads = ix.size(x, 1), groups = ix.size(op.getB(), 1);
    Value perGroup = arith::DivUIOp::create(rewriter, loc, heads, groups);
    Value headDim = mamba2 ? ix.size(x, 2) : c1;
    Value stateSize = ix.size(state, mamba2 ? 3 : 2);
    Type stateElement = op.getState().getType().getElementType();
    Type yElement = op.getYInit().getType().getElementType();
    std::optional<ArrayRef<double>> limit = op.getDtLimit();

    // The destinations are the loop-carried tensors: bufferization writes the
    // new state into the buffer of `state` in place.
    auto grid = buildParallelGrid(
        rewriter, loc, ix.size(x, 0), heads, ValueRange{state, op.getYInit()},
        [&](OpBuilder &b, Location l, Value bi, Value hi,
            ValueRange carried) -> SmallVector<Value> {
          Value gi = arith::DivUIOp::create(b, l, hi, perGroup);
          Value bias = op.getDtBias() ? load(b, l, op.getDtBias(), {hi}, ct) : Value();
          Value delta = buildStepSize(b, l, load(b, l, op.getDt(), {bi, hi}, ct), bias,
                                      op.getDtSoftplus(), limit);
          Value decayHead =
              mamba2
                  ? math::ExpOp::create(b, l,
                                        arith::MulFOp::create(
                                            b, l, delta, load(b, l, op.getA(), {hi}, ct)))
                  : Value();
          auto channelLoop = scf::ForOp::create(
              b, l, c0, headDim, c1, carried,
              [&](OpBuilder &b, Location l, Value pi, ValueRange carried) {
                SmallVector<Value> at{bi, hi};
                if (mamba2)
                  at.push_back(pi);
                Value xv = load(b, l, x, at, ct);
                Value acc = buildFloat(b, l, ct, 0.0);
                if (Value skip = op.getD()) {
                  SmallVector<Value> dAt{hi};
                  if (cast<RankedTensorType>(skip.getType()).getRank() == 2)
                    dAt.push_back(pi);
                  acc = arith::MulFOp::create(b, l, load(b, l, skip, dAt, ct), xv);
                }
                Value dx = arith::MulFOp::create(b, l, delta, xv);
                auto stateLoop = scf::ForOp::create(
                    b, l, c0, stateSize, c1, ValueRange{carried[0], acc},
                    [&](OpBuilder &b, Location l, Value ni, ValueRange inner) {
                      SmallVector<Value> sAt(at);
                      sAt.push_back(ni);
                      Value decay = decayHead;
                      if (!mamba2)
                        decay = math::ExpOp::create(
                            b, l,
                            arith::MulFOp::create(b, l, delta,
                                                  load(b, l, op.getA(), {hi, ni}, ct)));
                      Value h = arith::AddFOp::create(
                          b, l,
                          arith::MulFOp::create(b, l, decay,
                                                load(b, l, inner[0], sAt, ct)),
                          arith::MulFOp::create(b, l, dx,
                                                load(b, l, op.getB(), {bi, gi, ni}, ct)));
                      Value next = tensor::InsertOp::create(
                          b, l, convertFloat(b, l, h, stateElement), inner[0], sAt);
                      Value sum = buildReductionFMA(
                          b, l, inner[1], h, load(b, l, op.getC(), {bi, gi, ni}, ct));
                      scf::YieldOp::create(b, l, ValueRange{next, sum});
                    });
                Value y = stateLoop.getResult(1);
                if (Value z = op.getZ())
                  y = arith::MulFOp::create(b, l, y,
                                            buildSilu(b, l, load(b, l, z, at, ct)));
                Value yOut = tensor::InsertOp::create(
                    b, l, convertFloat(b, l, y, yElement), carried[1], at);
                scf::YieldOp::create(b, l, ValueRange{stateLoop.getResult(0), yOut});
              });
          return SmallVector<Value>(channelLoop.getResults());
        });
    rewriter.replaceOp(op, grid.getResults());
    return success();
  }
};

struct ConvertSSMToSCFPass
    : ssm::impl::ConvertSSMToSCFPassBase<ConvertSSMToSCFPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSSMToSCFConversionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::ssm::populateSSMToSCFConversionPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerDiscretize, LowerScan, LowerSelectiveScan, LowerSSD,
               LowerCausalConv1d, LowerStateUpdate>(
      patterns.getContext());
  populateSSDChunkedPatterns(patterns);
}
