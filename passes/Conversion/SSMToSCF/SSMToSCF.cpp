//===- SSMToSCF.cpp - ssm.discretize / ssm.scan to linalg and scf ---------===//
//
// Part of ssmc. The straightforward lowering of the core ops on tensors:
// an elementwise linalg.generic for the discretization and a loop nest for
// the recurrence, following docs/semantics.md line by line. It is the
// executable meaning the numeric tests check; optimizing lowerings replace it.
//
//===----------------------------------------------------------------------===//

#include "LoopHelpers.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::ssm {
#define GEN_PASS_DEF_CONVERTSSMTOSCFPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Computes (Abar, Bbar) of one element by `method` in the float type of `a`.
std::pair<Value, Value> discretizeScalar(OpBuilder &b, Location loc,
                                         Discretization method, Value A,
                                         Value B, Value delta) {
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
          auto [abar, bbar] = discretizeScalar(
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
    Type stateElement = op.getFinalState()
                            ? op.getFinalState().getType().getElementType()
                            : ct;

    // Loop-carried tensors: the output and the running state [B, D, N].
    Value y = tensor::EmptyOp::create(rewriter, loc, ArrayRef<OpFoldResult>{B, L, D},
                                      yType.getElementType());
    if (Value init = op.getInit())
      stateElement = op.getInit().getType().getElementType();
    Value state = initialState(rewriter, loc, op.getInit(), {B, D, N}, stateElement);

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

    auto outer = scf::ForOp::create(
        rewriter, loc, c0, idx(B), c1, ValueRange{y, state},
        [&](OpBuilder &b, Location l, Value bi, ValueRange carried) {
          auto channels = scf::ForOp::create(
              b, l, c0, idx(D), c1, carried,
              [&](OpBuilder &b, Location l, Value di, ValueRange carried) {
                auto steps = scf::ForOp::create(
                    b, l, c0, lengthV, c1, carried,
                    [&](OpBuilder &b, Location l, Value i, ValueRange carried) {
                      Value last = arith::SubIOp::create(b, l, lengthV, c1);
                      Value ti = reverse ? arith::SubIOp::create(b, l, last, i)
                                         : i;
                      // A reset cuts the boundary between t - 1 and t: met
                      // before step t going forward, before t - 1 backward.
                      Value cut;
                      if (reset) {
                        Value at = reverse ? arith::AddIOp::create(b, l, ti, c1)
                                           : ti;
                        Value notFirst = arith::CmpIOp::create(
                            b, l, arith::CmpIPredicate::ugt, i, c0);
                        // i > 0 keeps the index in bounds in both directions.
                        Value safe = arith::SelectOp::create(b, l, notFirst, at, c0);
                        Value flag = tensor::ExtractOp::create(
                            b, l, reset, ValueRange{bi, safe});
                        cut = arith::AndIOp::create(b, l, notFirst, flag);
                      }
                      Value xv = load(b, l, x, {bi, ti, di}, ct);
                      Value acc = skip ? arith::MulFOp::create(
                                             b, l, load(b, l, skip, {di}, ct), xv)
                                       : buildFloat(b, l, ct, 0.0);
                      auto inner = scf::ForOp::create(
                          b, l, c0, stateV, c1, ValueRange{carried[1], acc},
                          [&](OpBuilder &b, Location l, Value ni,
                              ValueRange inner) {
                            Value h = load(b, l, inner[0], {bi, di, ni}, ct);
                            if (cut)
                              h = arith::SelectOp::create(
                                  b, l, cut, buildFloat(b, l, ct, 0.0), h);
                            Value a = operand(b, l, abarT, bi, ti, di, ni);
                            Value bb = operand(b, l, bbarT, bi, ti, di, ni);
                            Value c = operand(b, l, cT, bi, ti, di, ni);
                            h = arith::AddFOp::create(
                                b, l, arith::MulFOp::create(b, l, a, h),
                                arith::MulFOp::create(b, l, bb, xv));
                            Value newState = tensor::InsertOp::create(
                                b, l, convertFloat(b, l, h, stateElement),
                                inner[0], ValueRange{bi, di, ni});
                            Value sum = buildReductionFMA(b, l, inner[1], c, h);
                            scf::YieldOp::create(b, l, ValueRange{newState, sum});
                          });
                      Value out = tensor::InsertOp::create(
                          b, l,
                          convertFloat(b, l, inner.getResult(1),
                                       yType.getElementType()),
                          carried[0], ValueRange{bi, ti, di});
                      scf::YieldOp::create(b, l,
                                           ValueRange{out, inner.getResult(0)});
                    });
                scf::YieldOp::create(b, l, steps.getResults());
              });
          scf::YieldOp::create(b, l, channels.getResults());
        });

    replaceWithOutputs(rewriter, op, outer.getResult(0), outer.getResult(1));
    return success();
  }
};

/// Mamba-1's selective scan as one loop nest over (b, d, t, n): the step
/// size, the discretization, the skip connection and the gate are computed
/// in the loop, so no [B, L, D, N] tensor exists (unlike ssm-decompose's
/// definition, which this must agree with).
struct LowerSelectiveScan : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    Value u = op.getU();
    TypedValue<RankedTensorType> Bm = op.getB(), Cm = op.getC();
    bool selectiveB = Bm.getType().getRank() == 4;
    bool selectiveC = Cm.getType().getRank() == 4;
    auto size = [&](Value v, int64_t i) {
      return getValueOrCreateConstantIndexOp(
          rewriter, loc, tensor::getMixedSize(rewriter, loc, v, i));
    };
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value batch = size(u, 0), channels = size(u, 1), length = size(u, 2),
          stateSize = size(op.getA(), 1);
    Value groups = selectiveB ? size(Bm, 1) : selectiveC ? size(Cm, 1) : c1;
    Value perGroup = arith::DivUIOp::create(rewriter, loc, channels, groups);
    auto yType = op.getY().getType();
    Type stateElement = op.getInit()          ? op.getInit().getType().getElementType()
                        : op.getFinalState() ? op.getFinalState().getType().getElementType()
                                             : ct;
    Value state = initialState(
        rewriter, loc, op.getInit(),
        {tensor::getMixedSize(rewriter, loc, u, 0),
         tensor::getMixedSize(rewriter, loc, u, 1),
         tensor::getMixedSize(rewriter, loc, op.getA(), 1)},
        stateElement);
    Value y = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, u),
        yType.getElementType());
    Discretization method = op.getDiscretization();

    auto batchLoop = scf::ForOp::create(
        rewriter, loc, c0, batch, c1, ValueRange{y, state},
        [&](OpBuilder &b, Location l, Value bi, ValueRange carried) {
          auto channelLoop = scf::ForOp::create(
              b, l, c0, channels, c1, carried,
              [&](OpBuilder &b, Location l, Value di, ValueRange carried) {
                Value gi = arith::DivUIOp::create(b, l, di, perGroup);
                Value bias = op.getDeltaBias()
                                 ? load(b, l, op.getDeltaBias(), {di}, ct)
                                 : Value();
                Value skip = op.getD() ? load(b, l, op.getD(), {di}, ct) : Value();
                auto timeLoop = scf::ForOp::create(
                    b, l, c0, length, c1, carried,
                    [&](OpBuilder &b, Location l, Value ti, ValueRange carried) {
                      Value delta = buildStepSize(
                          b, l, load(b, l, op.getDelta(), {bi, di, ti}, ct), bias,
                          op.getDeltaSoftplus(), std::nullopt);
                      Value uv = load(b, l, u, {bi, di, ti}, ct);
                      Value acc = skip ? arith::MulFOp::create(b, l, skip, uv)
                                       : buildFloat(b, l, ct, 0.0);
                      auto stateLoop = scf::ForOp::create(
                          b, l, c0, stateSize, c1, ValueRange{carried[1], acc},
                          [&](OpBuilder &b, Location l, Value ni, ValueRange inner) {
                            auto read = [&](Value t, bool selective) {
                              return selective ? load(b, l, t, {bi, gi, ni, ti}, ct)
                                               : load(b, l, t, {di, ni}, ct);
                            };
                            auto [abar, bbar] = discretizeScalar(
                                b, l, method, load(b, l, op.getA(), {di, ni}, ct),
                                read(Bm, selectiveB), delta);
                            Value h = arith::AddFOp::create(
                                b, l,
                                arith::MulFOp::create(
                                    b, l, abar,
                                    load(b, l, inner[0], {bi, di, ni}, ct)),
                                arith::MulFOp::create(b, l, bbar, uv));
                            Value next = tensor::InsertOp::create(
                                b, l, convertFloat(b, l, h, stateElement), inner[0],
                                ValueRange{bi, di, ni});
                            Value sum = buildReductionFMA(b, l, inner[1],
                                                          read(Cm, selectiveC), h);
                            scf::YieldOp::create(b, l, ValueRange{next, sum});
                          });
                      Value out = stateLoop.getResult(1);
                      if (op.getZ())
                        out = arith::MulFOp::create(
                            b, l, out,
                            buildSilu(b, l, load(b, l, op.getZ(), {bi, di, ti}, ct)));
                      Value yNext = tensor::InsertOp::create(
                          b, l, convertFloat(b, l, out, yType.getElementType()),
                          carried[0], ValueRange{bi, di, ti});
                      scf::YieldOp::create(
                          b, l, ValueRange{yNext, stateLoop.getResult(0)});
                    });
                scf::YieldOp::create(b, l, timeLoop.getResults());
              });
          scf::YieldOp::create(b, l, channelLoop.getResults());
        });

    replaceWithOutputs(rewriter, op, batchLoop.getResult(0),
                       batchLoop.getResult(1));
    return success();
  }
};

/// Mamba-2's SSD in its recurrent form as one loop nest over (row, h, p, t,
/// n). A row is a batch row, or with `cu_seqlens` one packed sequence with
/// its own initial and final state; `seq_idx` restarts the state where the
/// index changes. The running state lives in the final-state tensor itself.
struct LowerSSD : OpRewritePattern<SSDOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SSDOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getAlgorithm() == SSDAlgorithm::chunked)
      return failure();
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    Value x = op.getX(), cu = op.getCuSeqlens(), seq = op.getSeqIdx();
    auto size = [&](Value v, int64_t i) {
      return getValueOrCreateConstantIndexOp(
          rewriter, loc, tensor::getMixedSize(rewriter, loc, v, i));
    };
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value length = size(x, 1), heads = size(x, 2), headDim = size(x, 3),
          stateSize = size(op.getB(), 3);
    Value perGroup =
        arith::DivUIOp::create(rewriter, loc, heads, size(op.getB(), 2));
    Value rows = cu ? arith::SubIOp::create(rewriter, loc, size(cu, 0), c1)
                    : size(x, 0);
    auto yType = op.getY().getType();
    Type stateElement = op.getInit()          ? op.getInit().getType().getElementType()
                        : op.getFinalState() ? op.getFinalState().getType().getElementType()
                                             : ct;
    Value state = initialState(rewriter, loc, op.getInit(),
                               {rows, heads, headDim, stateSize}, stateElement);
    Value y = tensor::EmptyOp::create(rewriter, loc,
                                      tensor::getMixedSizes(rewriter, loc, x),
                                      yType.getElementType());
    std::optional<ArrayRef<double>> limit = op.getDtLimit();
    auto index = [&](OpBuilder &b, Location l, Value v) {
      return arith::IndexCastOp::create(b, l, b.getIndexType(),
                                        tensor::ExtractOp::create(b, l, cu, v))
          .getResult();
    };

    auto rowLoop = scf::ForOp::create(
        rewriter, loc, c0, rows, c1, ValueRange{y, state},
        [&](OpBuilder &b, Location l, Value ri, ValueRange carried) {
          Value bi = cu ? c0 : ri;
          Value begin = cu ? index(b, l, ri) : c0;
          Value end = cu ? index(b, l, arith::AddIOp::create(b, l, ri, c1)) : length;
          auto headLoop = scf::ForOp::create(
              b, l, c0, heads, c1, carried,
              [&](OpBuilder &b, Location l, Value hi, ValueRange carried) {
                Value gi = arith::DivUIOp::create(b, l, hi, perGroup);
                Value A = load(b, l, op.getA(), {hi}, ct);
                Value bias = op.getDtBias() ? load(b, l, op.getDtBias(), {hi}, ct)
                                            : Value();
                auto channelLoop = scf::ForOp::create(
                    b, l, c0, headDim, c1, carried,
                    [&](OpBuilder &b, Location l, Value pi, ValueRange carried) {
                      Value skip;
                      if (Value d = op.getD()) {
                        SmallVector<Value> at{hi};
                        if (cast<RankedTensorType>(d.getType()).getRank() == 2)
                          at.push_back(pi);
                        skip = load(b, l, d, at, ct);
                      }
                      auto timeLoop = scf::ForOp::create(
                          b, l, begin, end, c1, carried,
                          [&](OpBuilder &b, Location l, Value ti, ValueRange carried) {
                            Value delta = buildStepSize(
                                b, l, load(b, l, op.getDt(), {bi, ti, hi}, ct), bias,
                                op.getDtSoftplus(), limit);
                            Value decay = math::ExpOp::create(
                                b, l, arith::MulFOp::create(b, l, delta, A));
                            Value xv = load(b, l, x, {bi, ti, hi, pi}, ct);
                            Value dx = arith::MulFOp::create(b, l, delta, xv);
                            // seq_idx: a new sequence starts where the index
                            // changes, from a zero state.
                            Value cut;
                            if (seq) {
                              Value notFirst = arith::CmpIOp::create(
                                  b, l, arith::CmpIPredicate::ugt, ti, c0);
                              Value prev = arith::SelectOp::create(
                                  b, l, notFirst, arith::SubIOp::create(b, l, ti, c1),
                                  c0);
                              Value changed = arith::CmpIOp::create(
                                  b, l, arith::CmpIPredicate::ne,
                                  tensor::ExtractOp::create(b, l, seq, ValueRange{bi, ti}),
                                  tensor::ExtractOp::create(b, l, seq, ValueRange{bi, prev}));
                              cut = arith::AndIOp::create(b, l, notFirst, changed);
                            }
                            Value acc = skip ? arith::MulFOp::create(b, l, skip, xv)
                                             : buildFloat(b, l, ct, 0.0);
                            auto stateLoop = scf::ForOp::create(
                                b, l, c0, stateSize, c1, ValueRange{carried[1], acc},
                                [&](OpBuilder &b, Location l, Value ni, ValueRange inner) {
                                  SmallVector<Value> at{ri, hi, pi, ni};
                                  Value h = load(b, l, inner[0], at, ct);
                                  if (cut)
                                    h = arith::SelectOp::create(
                                        b, l, cut, buildFloat(b, l, ct, 0.0), h);
                                  h = arith::AddFOp::create(
                                      b, l, arith::MulFOp::create(b, l, decay, h),
                                      arith::MulFOp::create(
                                          b, l, dx,
                                          load(b, l, op.getB(), {bi, ti, gi, ni}, ct)));
                                  Value next = tensor::InsertOp::create(
                                      b, l, convertFloat(b, l, h, stateElement),
                                      inner[0], at);
                                  Value sum = buildReductionFMA(
                                      b, l, inner[1], h,
                                      load(b, l, op.getC(), {bi, ti, gi, ni}, ct));
                                  scf::YieldOp::create(b, l, ValueRange{next, sum});
                                });
                            Value out = stateLoop.getResult(1);
                            if (Value z = op.getZ())
                              out = arith::MulFOp::create(
                                  b, l, out,
                                  buildSilu(b, l, load(b, l, z, {bi, ti, hi, pi}, ct)));
                            Value yNext = tensor::InsertOp::create(
                                b, l, convertFloat(b, l, out, yType.getElementType()),
                                carried[0], ValueRange{bi, ti, hi, pi});
                            scf::YieldOp::create(
                                b, l, ValueRange{yNext, stateLoop.getResult(0)});
                          });
                      scf::YieldOp::create(b, l, timeLoop.getResults());
                    });
                scf::YieldOp::create(b, l, channelLoop.getResults());
              });
          scf::YieldOp::create(b, l, headLoop.getResults());
        });

    replaceWithOutputs(rewriter, op, rowLoop.getResult(0), rowLoop.getResult(1));
    return success();
  }
};

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
    Value width = ix.size(weight, 1), length = ix.size(x, 2);
    Value history = arith::SubIOp::create(rewriter, loc, width, c1);
    bool silu = op.getActivation() == Activation::silu;

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

    auto outType = op.getOut().getType();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    Value empty = tensor::EmptyOp::create(rewriter, loc, sizes,
                                          outType.getElementType());
    AffineMap id = rewriter.getMultiDimIdentityMap(3);
    SmallVector<utils::IteratorType> par(3, utils::IteratorType::parallel);
    auto out = linalg::GenericOp::create(
        rewriter, loc, TypeRange{empty.getType()}, ValueRange{}, ValueRange{empty},
        ArrayRef<AffineMap>{id}, par,
        [&](OpBuilder &b, Location l, ValueRange) {
          Value bi = linalg::IndexOp::create(b, l, 0);
          Value ci = linalg::IndexOp::create(b, l, 1);
          Value ti = linalg::IndexOp::create(b, l, 2);
          Value acc = bias ? load(b, l, bias, {ci}, ct) : buildFloat(b, l, ct, 0.0);
          // Σ_k w[c, k] · x̃(t − W + 1 + k)
          Value start = arith::SubIOp::create(b, l, ti, history);
          auto taps = scf::ForOp::create(
              b, l, c0, width, c1, ValueRange{acc},
              [&](OpBuilder &b, Location l, Value k, ValueRange sum) {
                Value s = arith::AddIOp::create(b, l, start, k);
                Value term = arith::MulFOp::create(
                    b, l, load(b, l, weight, {ci, k}, ct), extended(b, l, bi, ci, s));
                scf::YieldOp::create(
                    b, l, ValueRange{arith::AddFOp::create(b, l, sum[0], term)});
              });
          Value v = taps.getResult(0);
          if (silu)
            v = buildSilu(b, l, v);
          linalg::YieldOp::create(b, l, convertFloat(b, l, v, outType.getElementType()));
        });
    Value finalState;
    if (Value fs = op.getFinalState()) {
      auto fsType = cast<RankedTensorType>(fs.getType());
      OpFoldResult historySize = history;
      if (std::optional<int64_t> w = getConstantIntValue(
              tensor::getMixedSize(rewriter, loc, weight, 1)))
        historySize = rewriter.getIndexAttr(*w - 1);
      SmallVector<OpFoldResult> fsSizes{sizes[0], sizes[1], historySize};
      Value fsEmpty = tensor::EmptyOp::create(rewriter, loc, fsSizes,
                                              fsType.getElementType());
      // final[b, c, s] = x̃(L − (W − 1) + s)
      Value offset = arith::SubIOp::create(rewriter, loc, length, history);
      auto final = linalg::GenericOp::create(
          rewriter, loc, TypeRange{fsEmpty.getType()}, ValueRange{},
          ValueRange{fsEmpty}, ArrayRef<AffineMap>{id}, par,
          [&](OpBuilder &b, Location l, ValueRange) {
            Value bi = linalg::IndexOp::create(b, l, 0);
            Value ci = linalg::IndexOp::create(b, l, 1);
            Value si = linalg::IndexOp::create(b, l, 2);
            Value v = extended(b, l, bi, ci, arith::AddIOp::create(b, l, offset, si));
            linalg::YieldOp::create(b, l, convertFloat(b, l, v, fsType.getElementType()));
          });
      finalState = final.getResult(0);
    }
    replaceWithOutputs(rewriter, op, out.getResult(0), finalState);
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
    auto batchLoop = scf::ForOp::create(
        rewriter, loc, c0, ix.size(x, 0), c1, ValueRange{state, op.getYInit()},
        [&](OpBuilder &b, Location l, Value bi, ValueRange carried) {
          auto headLoop = scf::ForOp::create(
              b, l, c0, heads, c1, carried,
              [&](OpBuilder &b, Location l, Value hi, ValueRange carried) {
                Value gi = arith::DivUIOp::create(b, l, hi, perGroup);
                Value bias = op.getDtBias() ? load(b, l, op.getDtBias(), {hi}, ct)
                                            : Value();
                Value delta = buildStepSize(b, l, load(b, l, op.getDt(), {bi, hi}, ct),
                                            bias, op.getDtSoftplus(), limit);
                Value decayHead =
                    mamba2 ? math::ExpOp::create(
                                 b, l,
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
                                  arith::MulFOp::create(
                                      b, l, delta,
                                      load(b, l, op.getA(), {hi, ni}, ct)));
                            Value h = arith::AddFOp::create(
                                b, l,
                                arith::MulFOp::create(
                                    b, l, decay, load(b, l, inner[0], sAt, ct)),
                                arith::MulFOp::create(
                                    b, l, dx, load(b, l, op.getB(), {bi, gi, ni}, ct)));
                            Value next = tensor::InsertOp::create(
                                b, l, convertFloat(b, l, h, stateElement), inner[0], sAt);
                            Value sum = buildReductionFMA(
                                b, l, inner[1], h,
                                load(b, l, op.getC(), {bi, gi, ni}, ct));
                            scf::YieldOp::create(b, l, ValueRange{next, sum});
                          });
                      Value y = stateLoop.getResult(1);
                      if (Value z = op.getZ())
                        y = arith::MulFOp::create(b, l, y,
                                                  buildSilu(b, l, load(b, l, z, at, ct)));
                      Value yOut = tensor::InsertOp::create(
                          b, l, convertFloat(b, l, y, yElement), carried[1], at);
                      scf::YieldOp::create(
                          b, l, ValueRange{stateLoop.getResult(0), yOut});
                    });
                scf::YieldOp::create(b, l, channelLoop.getResults());
              });
          scf::YieldOp::create(b, l, headLoop.getResults());
        });
    rewriter.replaceOp(op, batchLoop.getResults());
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
