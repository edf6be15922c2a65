//===- LowerSSDChunked.cpp - ssm.ssd in its chunked (SSD) form ------------===//
//
// Part of ssmc. Lowers `ssm.ssd` ops marked `algorithm chunked` to the
// state-space-duality form of docs/semantics.md: time is cut into chunks of
// `chunk_size` steps; inside a chunk the outputs are a masked product
// (C Bᵀ ∘ decay) X plus the contribution C·h0 of the state the chunk starts
// from, and the state passed on is the decayed h0 plus Bᵀ(decay ∘ δ X).
//
// One parallel loop runs over (row, head) pairs; each iteration owns its
// slice of the output and of the final state and keeps its running state,
// the chunk's step sizes and log-decays, and one output row in scratch
// tensors of the compute type (f32, or f64), so f16/bf16 storage never
// rounds an accumulator. Every inner loop runs over a contiguous dimension
// (n of B, C and the state; p of x and y) so that LLVM vectorizes it.
//
//===----------------------------------------------------------------------===//

#include "LoopHelpers.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"
#include "ssm/Support/Parallel.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::lowering;

namespace {

using BodyFn = function_ref<SmallVector<Value>(OpBuilder &, Location, Value,
                                               ValueRange)>;

/// An scf.for from `lb` to `ub` by `step` whose body returns what it yields.
scf::ForOp loop(OpBuilder &b, Location loc, Value lb, Value ub, Value step,
                ValueRange iters, BodyFn body) {
  return scf::ForOp::create(
      b, loc, lb, ub, step, iters,
      [&](OpBuilder &nb, Location nl, Value iv, ValueRange args) {
        scf::YieldOp::create(nb, nl, body(nb, nl, iv, args));
      });
}

/// A scratch tensor of `sizes` and `element` whose buffer is its own:
/// tensor.empty would do for the values, but CSE merges equal empties and
/// bufferization then lets scratch tensors of the same shape share a buffer.
Value scratch(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
              Type element) {
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamic;
  dispatchIndexOpFoldResults(sizes, dynamic, shape);
  return bufferization::AllocTensorOp::create(
      b, loc, RankedTensorType::get(shape, element), dynamic);
}

/// How many dot products or rank-1 updates share one pass over a row: each
/// element loaded from the shared row then feeds this many FMAs, and the
/// row being updated is loaded and stored once for this many of them.
constexpr int64_t kBlock = 4;

using BlockFn =
    function_ref<Value(OpBuilder &, Location, Value, int64_t, Value)>;

/// Threads `init` through `body(first, width, value)` over [0, count): in
/// blocks of kBlock consecutive indices, then one index at a time for the
/// remainder.
Value blocked(OpBuilder &b, Location loc, Value count, Value init,
              BlockFn body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value width = arith::ConstantIndexOp::create(b, loc, kBlock);
  Value full = arith::SubIOp::create(
      b, loc, count, arith::RemUIOp::create(b, loc, count, width));
  Value value = loop(b, loc, c0, full, width, init,
                     [&](OpBuilder &nb, Location nl, Value first,
                         ValueRange it) -> SmallVector<Value> {
                       return {body(nb, nl, first, kBlock, it[0])};
                     })
                    .getResult(0);
  return loop(b, loc, full, count, c1, value,
              [&](OpBuilder &nb, Location nl, Value index,
                  ValueRange it) -> SmallVector<Value> {
                return {body(nb, nl, index, 1, it[0])};
              })
      .getResult(0);
}

/// `first`, `first + 1`, ..., `first + width - 1`.
SmallVector<Value> consecutive(OpBuilder &b, Location loc, Value first,
                               int64_t width) {
  SmallVector<Value> indices{first};
  for (int64_t k = 1; k < width; ++k)
    indices.push_back(arith::AddIOp::create(
        b, loc, first, arith::ConstantIndexOp::create(b, loc, k)));
  return indices;
}

/// `acc + lhs * rhs` that LLVM may contract into an FMA.
Value fma(OpBuilder &b, Location loc, Value lhs, Value rhs, Value acc) {
  auto flags = arith::FastMathFlagsAttr::get(b.getContext(),
                                             arith::FastMathFlags::contract);
  Value product = arith::MulFOp::create(b, loc, lhs, rhs, flags);
  return arith::AddFOp::create(b, loc, acc, product, flags);
}

/// The per-step vectors of one chunk, scratch of one (row, head) pair:
/// logDecay[i] = Σ_{k ≤ i} δ_k·A inside the chunk; steps[i] = δ_i, then the
/// weight exp(s_last − s_i)·δ_i of step i in the state passed on;
/// segments[i] (with seq_idx only) counts the sequence starts in the chunk
/// up to step i.
struct ChunkVectors {
  Value logDecay, steps, segments;
};

/// Builds the chunked form of one `ssm.ssd`: the op-level values, then per
/// (row, head) pair the indices that every step of the algorithm reads.
class ChunkedSSD {
public:
  ChunkedSSD(SSDOp op, OpBuilder &b, Location loc)
      : op(op), ct(computeTypeFor(op.getContext(), op->getOperandTypes())),
        x(op.getX()), Bt(op.getB()), Ct(op.getC()), seq(op.getSeqIdx()),
        skip(op.getD()), gate(op.getZ()),
        skipPerChannel(skip &&
                       cast<RankedTensorType>(skip.getType()).getRank() == 2),
        yElement(op.getY().getType().getElementType()) {
    c0 = arith::ConstantIndexOp::create(b, loc, 0);
    c1 = arith::ConstantIndexOp::create(b, loc, 1);
    headDimF = tensor::getMixedSize(b, loc, x, 3);
    stateSizeF = tensor::getMixedSize(b, loc, Bt, 3);
    headDim = getValueOrCreateConstantIndexOp(b, loc, headDimF);
    stateSize = getValueOrCreateConstantIndexOp(b, loc, stateSizeF);
  }

  /// Sets the (row, head) pair the following calls build for.
  void setPair(OpBuilder &b, Location l, Value row, Value head, Value batch,
               Value perGroup) {
    ri = row;
    hi = head;
    bi = batch;
    gi = arith::DivUIOp::create(b, l, hi, perGroup);
    A = load(b, l, op.getA(), {hi}, ct);
    bias = op.getDtBias() ? load(b, l, op.getDtBias(), {hi}, ct) : Value();
  }

  Type computeType() const { return ct; }
  bool hasSegments() const { return static_cast<bool>(seq); }

  /// The pair's starting state as [P, N] scratch: `init[ri, hi]` or zeros.
  Value startState(OpBuilder &b, Location l) const;
  /// Fills `v` for the chunk of `count` steps from `start`.
  ChunkVectors prepare(OpBuilder &b, Location l, Value start, Value count,
                       ChunkVectors v) const;
  /// Writes the chunk's outputs into `y`, using `row` as the accumulator of
  /// one step; returns {y, row}.
  std::pair<Value, Value> outputs(OpBuilder &b, Location l, Value start,
                                  Value count, const ChunkVectors &v, Value h,
                                  Value y, Value row) const;
  /// The state after the chunk, from the state `h` before it; turns
  /// `v.steps` into the steps' weights in it.
  Value passState(OpBuilder &b, Location l, Value start, Value count,
                  ChunkVectors &v, Value h) const;
  /// Stores the state `h` into `finalState[ri, hi]`.
  Value storeState(OpBuilder &b, Location l, Value h, Value finalState) const;

private:
  /// Σ_n lhs(n)·rhs(k, n) for k < width in one pass over n, reassociable so
  /// that it vectorizes.
  SmallVector<Value>
  dots(OpBuilder &b, Location l, int64_t width,
       function_ref<Value(OpBuilder &, Location, Value)> lhs,
       function_ref<Value(OpBuilder &, Location, int64_t, Value)> rhs) const;
  /// `weight`, or zero when a sequence starts between steps j and i of the
  /// chunk.
  Value sameSegment(OpBuilder &b, Location l, const ChunkVectors &v,
                    Value weight, Value i, Value j) const;
  /// How the state the chunk starts from reaches step i: exp(logDecay[i]),
  /// or zero when a sequence starts in between.
  Value fromStart(OpBuilder &b, Location l, const ChunkVectors &v,
                  Value i) const;

  // Op accessors are not const; reading them changes nothing.
  mutable SSDOp op;
  Type ct;
  Value x, Bt, Ct, seq, skip, gate;
  bool skipPerChannel;
  Type yElement;
  Value c0, c1, headDim, stateSize;
  OpFoldResult headDimF, stateSizeF;
  // The current (row, head) pair: row, head, batch row, group, A, dt bias.
  Value ri, hi, bi, gi, A, bias;
};

SmallVector<Value> ChunkedSSD::dots(
    OpBuilder &b, Location l, int64_t width,
    function_ref<Value(OpBuilder &, Location, Value)> lhs,
    function_ref<Value(OpBuilder &, Location, int64_t, Value)> rhs) const {
  SmallVector<Value> init(width, buildFloat(b, l, ct, 0.0));
  auto sums = loop(b, l, c0, stateSize, c1, init,
                   [&](OpBuilder &b, Location l, Value n,
                       ValueRange acc) -> SmallVector<Value> {
                     Value shared = lhs(b, l, n);
                     SmallVector<Value> next;
                     for (int64_t k = 0; k < width; ++k)
                       next.push_back(buildReductionFMA(b, l, acc[k], shared,
                                                        rhs(b, l, k, n)));
                     return next;
                   });
  return SmallVector<Value>(sums.getResults());
}

Value ChunkedSSD::sameSegment(OpBuilder &b, Location l, const ChunkVectors &v,
                              Value weight, Value i, Value j) const {
  if (!seq)
    return weight;
  Value same = arith::CmpFOp::create(
      b, l, arith::CmpFPredicate::OEQ,
      tensor::ExtractOp::create(b, l, v.segments, i),
      tensor::ExtractOp::create(b, l, v.segments, j));
  return arith::SelectOp::create(b, l, same, weight, buildFloat(b, l, ct, 0.0));
}

Value ChunkedSSD::fromStart(OpBuilder &b, Location l, const ChunkVectors &v,
                            Value i) const {
  Value decay =
      math::ExpOp::create(b, l, tensor::ExtractOp::create(b, l, v.logDecay, i));
  if (!seq)
    return decay;
  Value untouched = arith::CmpFOp::create(
      b, l, arith::CmpFPredicate::OEQ,
      tensor::ExtractOp::create(b, l, v.segments, i), buildFloat(b, l, ct, 0.0));
  return arith::SelectOp::create(b, l, untouched, decay,
                                 buildFloat(b, l, ct, 0.0));
}

Value ChunkedSSD::startState(OpBuilder &b, Location l) const {
  Value state = scratch(b, l, {headDimF, stateSizeF}, ct);
  Value init = op.getInit();
  if (!init)
    return linalg::FillOp::create(b, l, ValueRange{buildFloat(b, l, ct, 0.0)},
                                  ValueRange{state})
        .getResult(0);
  return loop(b, l, c0, headDim, c1, state,
              [&](OpBuilder &b, Location l, Value p,
                  ValueRange s) -> SmallVector<Value> {
                return {loop(b, l, c0, stateSize, c1, s,
                             [&](OpBuilder &b, Location l, Value n,
                                 ValueRange s) -> SmallVector<Value> {
                               Value v = load(b, l, init, {ri, hi, p, n}, ct);
                               return {tensor::InsertOp::create(
                                   b, l, v, s[0], ValueRange{p, n})};
                             })
                            .getResult(0)};
              })
      .getResult(0);
}

ChunkVectors ChunkedSSD::prepare(OpBuilder &b, Location l, Value start,
                                 Value count, ChunkVectors v) const {
  Value zero = buildFloat(b, l, ct, 0.0);
  SmallVector<Value> iters{v.logDecay, v.steps, zero};
  if (seq)
    iters.append({v.segments, zero});
  std::optional<ArrayRef<double>> limit = op.getDtLimit();
  auto prep = loop(
      b, l, c0, count, c1, iters,
      [&](OpBuilder &b, Location l, Value i,
          ValueRange s) -> SmallVector<Value> {
        Value t = arith::AddIOp::create(b, l, start, i);
        Value delta =
            buildStepSize(b, l, load(b, l, op.getDt(), {bi, t, hi}, ct), bias,
                          op.getDtSoftplus(), limit);
        Value sum = arith::AddFOp::create(
            b, l, s[2], arith::MulFOp::create(b, l, delta, A));
        SmallVector<Value> next{
            tensor::InsertOp::create(b, l, sum, s[0], ValueRange{i}),
            tensor::InsertOp::create(b, l, delta, s[1], ValueRange{i}), sum};
        if (!seq)
          return next;
        // A new sequence starts where seq_idx changes.
        Value changed = sequenceStarts(b, l, seq, bi, t);
        Value seg = arith::AddFOp::create(
            b, l, s[4],
            arith::SelectOp::create(b, l, changed, buildFloat(b, l, ct, 1.0),
                                    buildFloat(b, l, ct, 0.0)));
        next.push_back(tensor::InsertOp::create(b, l, seg, s[3], ValueRange{i}));
        next.push_back(seg);
        return next;
      });
  v.logDecay = prep.getResult(0);
  v.steps = prep.getResult(1);
  if (seq)
    v.segments = prep.getResult(3);
  return v;
}

std::pair<Value, Value> ChunkedSSD::outputs(OpBuilder &b, Location l,
                                            Value start, Value count,
                                            const ChunkVectors &v, Value h,
                                            Value y, Value row) const {
  auto steps = loop(
      b, l, c0, count, c1, ValueRange{y, row},
      [&](OpBuilder &b, Location l, Value i,
          ValueRange s) -> SmallVector<Value> {
        Value t = arith::AddIOp::create(b, l, start, i);
        Value si = tensor::ExtractOp::create(b, l, v.logDecay, i);
        Value decay0 = fromStart(b, l, v, i);
        auto loadC = [&](OpBuilder &b, Location l, Value n) {
          return load(b, l, Ct, {bi, t, gi, n}, ct);
        };
        // exp(s_i)·C_t·h0 and the skip connection, for channels
        // p0 .. p0 + width - 1 at once.
        Value acc = blocked(
            b, l, headDim, s[1],
            [&](OpBuilder &b, Location l, Value p0, int64_t width,
                Value r) -> Value {
              SmallVector<Value> ps = consecutive(b, l, p0, width);
              SmallVector<Value> sums =
                  dots(b, l, width, loadC,
                       [&](OpBuilder &b, Location l, int64_t k, Value n) {
                         return tensor::ExtractOp::create(
                                    b, l, h, ValueRange{ps[k], n})
                             .getResult();
                       });
              for (int64_t k = 0; k < width; ++k) {
                Value v = arith::MulFOp::create(b, l, decay0, sums[k]);
                if (skip) {
                  SmallVector<Value> at{hi};
                  if (skipPerChannel)
                    at.push_back(ps[k]);
                  v = fma(b, l, load(b, l, skip, at, ct),
                          load(b, l, x, {bi, t, hi, ps[k]}, ct), v);
                }
                r = tensor::InsertOp::create(b, l, v, r, ValueRange{ps[k]});
              }
              return r;
            });
        // Σ_{j ≤ i} exp(s_i − s_j)·(C_i·B_j)·δ_j·x_j, for steps
        // j0 .. j0 + width - 1 at once.
        acc = blocked(
            b, l, arith::AddIOp::create(b, l, i, c1), acc,
            [&](OpBuilder &b, Location l, Value j0, int64_t width,
                Value r) -> Value {
              SmallVector<Value> js = consecutive(b, l, j0, width);
              SmallVector<Value> tjs;
              for (Value j : js)
                tjs.push_back(arith::AddIOp::create(b, l, start, j));
              SmallVector<Value> cbs =
                  dots(b, l, width, loadC,
                       [&](OpBuilder &b, Location l, int64_t k, Value n) {
                         return load(b, l, Bt, {bi, tjs[k], gi, n}, ct);
                       });
              SmallVector<Value> ws;
              for (int64_t k = 0; k < width; ++k) {
                Value sj = tensor::ExtractOp::create(b, l, v.logDecay, js[k]);
                Value w = math::ExpOp::create(
                    b, l, arith::SubFOp::create(b, l, si, sj));
                w = arith::MulFOp::create(
                    b, l, w,
                    arith::MulFOp::create(
                        b, l, tensor::ExtractOp::create(b, l, v.steps, js[k]),
                        cbs[k]));
                ws.push_back(sameSegment(b, l, v, w, i, js[k]));
              }
              return loop(b, l, c0, headDim, c1, r,
                          [&](OpBuilder &b, Location l, Value p,
                              ValueRange a) -> SmallVector<Value> {
                            Value sum = tensor::ExtractOp::create(
                                b, l, a[0], ValueRange{p});
                            for (int64_t k = 0; k < width; ++k)
                              sum = fma(b, l, ws[k],
                                        load(b, l, x, {bi, tjs[k], hi, p}, ct),
                                        sum);
                            return {tensor::InsertOp::create(b, l, sum, a[0],
                                                             ValueRange{p})};
                          })
                  .getResult(0);
            });
        // Gate and store.
        Value yNext =
            loop(b, l, c0, headDim, c1, s[0],
                 [&](OpBuilder &b, Location l, Value p,
                     ValueRange r) -> SmallVector<Value> {
                   Value out =
                       tensor::ExtractOp::create(b, l, acc, ValueRange{p});
                   if (gate)
                     out = arith::MulFOp::create(
                         b, l, out,
                         buildSilu(b, l, load(b, l, gate, {bi, t, hi, p}, ct)));
                   return {tensor::InsertOp::create(
                       b, l, convertFloat(b, l, out, yElement), r[0],
                       ValueRange{bi, t, hi, p})};
                 })
                .getResult(0);
        return {yNext, acc};
      });
  return {steps.getResult(0), steps.getResult(1)};
}

Value ChunkedSSD::passState(OpBuilder &b, Location l, Value start, Value count,
                            ChunkVectors &v, Value h) const {
  Value last = arith::SubIOp::create(b, l, count, c1);
  Value sLast = tensor::ExtractOp::create(b, l, v.logDecay, last);
  Value decayEnd = fromStart(b, l, v, last);
  v.steps = loop(b, l, c0, count, c1, v.steps,
                 [&](OpBuilder &b, Location l, Value j,
                     ValueRange s) -> SmallVector<Value> {
                   Value w = math::ExpOp::create(
                       b, l,
                       arith::SubFOp::create(
                           b, l, sLast,
                           tensor::ExtractOp::create(b, l, v.logDecay, j)));
                   w = arith::MulFOp::create(
                       b, l, w, tensor::ExtractOp::create(b, l, s[0], j));
                   w = sameSegment(b, l, v, w, last, j);
                   return {tensor::InsertOp::create(b, l, w, s[0],
                                                    ValueRange{j})};
                 })
                .getResult(0);
  return loop(
             b, l, c0, headDim, c1, h,
             [&](OpBuilder &b, Location l, Value p,
                 ValueRange s) -> SmallVector<Value> {
               Value decayed =
                   loop(b, l, c0, stateSize, c1, s,
                        [&](OpBuilder &b, Location l, Value n,
                            ValueRange r) -> SmallVector<Value> {
                          Value e = arith::MulFOp::create(
                              b, l, decayEnd,
                              tensor::ExtractOp::create(b, l, r[0],
                                                        ValueRange{p, n}));
                          return {tensor::InsertOp::create(b, l, e, r[0],
                                                           ValueRange{p, n})};
                        })
                       .getResult(0);
               // Rank-1 updates by steps j0 .. j0 + width - 1 at once.
               return {blocked(
                   b, l, count, decayed,
                   [&](OpBuilder &b, Location l, Value j0, int64_t width,
                       Value r) -> Value {
                     SmallVector<Value> js = consecutive(b, l, j0, width);
                     SmallVector<Value> tjs, coefs;
                     for (Value j : js) {
                       Value tj = arith::AddIOp::create(b, l, start, j);
                       tjs.push_back(tj);
                       coefs.push_back(arith::MulFOp::create(
                           b, l, tensor::ExtractOp::create(b, l, v.steps, j),
                           load(b, l, x, {bi, tj, hi, p}, ct)));
                     }
                     return loop(b, l, c0, stateSize, c1, r,
                                 [&](OpBuilder &b, Location l, Value n,
                                     ValueRange a) -> SmallVector<Value> {
                                   Value e = tensor::ExtractOp::create(
                                       b, l, a[0], ValueRange{p, n});
                                   for (int64_t k = 0; k < width; ++k)
                                     e = fma(b, l, coefs[k],
                                             load(b, l, Bt, {bi, tjs[k], gi, n},
                                                  ct),
                                             e);
                                   return {tensor::InsertOp::create(
                                       b, l, e, a[0], ValueRange{p, n})};
                                 })
                         .getResult(0);
                   })};
             })
      .getResult(0);
}

Value ChunkedSSD::storeState(OpBuilder &b, Location l, Value h,
                             Value finalState) const {
  Type element = cast<RankedTensorType>(finalState.getType()).getElementType();
  return loop(b, l, c0, headDim, c1, finalState,
              [&](OpBuilder &b, Location l, Value p,
                  ValueRange s) -> SmallVector<Value> {
                return {loop(b, l, c0, stateSize, c1, s,
                             [&](OpBuilder &b, Location l, Value n,
                                 ValueRange s) -> SmallVector<Value> {
                               Value v = tensor::ExtractOp::create(
                                   b, l, h, ValueRange{p, n});
                               return {tensor::InsertOp::create(
                                   b, l, convertFloat(b, l, v, element), s[0],
                                   ValueRange{ri, hi, p, n})};
                             })
                            .getResult(0)};
              })
      .getResult(0);
}

struct LowerSSDChunked : OpRewritePattern<SSDOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SSDOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getAlgorithm() != SSDAlgorithm::chunked)
      return failure();
    Location loc = op.getLoc();
    ChunkedSSD chunked(op, rewriter, loc);
    Type ct = chunked.computeType();
    Value x = op.getX(), cu = op.getCuSeqlens();
    auto mixed = [&](Value v, int64_t i) {
      return tensor::getMixedSize(rewriter, loc, v, i);
    };
    auto value = [&](OpFoldResult v) {
      return getValueOrCreateConstantIndexOp(rewriter, loc, v);
    };
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value chunk =
        arith::ConstantIndexOp::create(rewriter, loc, op.getChunkSize());
    OpFoldResult lengthF = mixed(x, 1), headDimF = mixed(x, 3);
    Value length = value(lengthF), heads = value(mixed(x, 2));
    Value perGroup =
        arith::DivUIOp::create(rewriter, loc, heads, value(mixed(op.getB(), 2)));
    // With cu_seqlens a row is one packed sequence of batch row 0.
    Value rows =
        cu ? arith::SubIOp::create(rewriter, loc, value(mixed(cu, 0)), c1)
                 .getResult()
           : value(mixed(x, 0));

    SmallVector<Value> outputs{tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, x),
        op.getY().getType().getElementType())};
    if (Value fs = op.getFinalState())
      outputs.push_back(tensor::EmptyOp::create(
          rewriter, loc,
          ArrayRef<OpFoldResult>{getAsOpFoldResult(rows), mixed(x, 2),
                                 headDimF, mixed(op.getB(), 3)},
          cast<RankedTensorType>(fs.getType()).getElementType()));
    // No chunk is longer than the sequence: a chunk_size far beyond L must
    // not allocate chunk_size-long scratch.
    OpFoldResult longest;
    if (std::optional<int64_t> staticLength = getConstantIntValue(lengthF))
      longest = rewriter.getIndexAttr(
          std::min<int64_t>(op.getChunkSize(), *staticLength));
    else
      longest = arith::MinUIOp::create(rewriter, loc, chunk, length).getResult();

    Value pairs = arith::MulIOp::create(rewriter, loc, rows, heads);
    auto outer = loop(
        rewriter, loc, c0, pairs, c1, outputs,
        [&](OpBuilder &b, Location l, Value k,
            ValueRange carried) -> SmallVector<Value> {
          Value ri = arith::DivUIOp::create(b, l, k, heads);
          Value hi = arith::RemUIOp::create(b, l, k, heads);
          // Named values, not a structured binding: lambdas below capture them.
          Value begin = c0, end = length;
          if (cu)
            std::tie(begin, end) = sequenceBounds(b, l, cu, ri, length);
          chunked.setPair(b, l, ri, hi, cu ? c0 : ri, perGroup);

          // Scratch of this pair, in the compute type.
          ChunkVectors vectors{scratch(b, l, {longest}, ct),
                               scratch(b, l, {longest}, ct),
                               chunked.hasSegments()
                                   ? scratch(b, l, {longest}, ct)
                                   : Value()};
          SmallVector<Value> iters{carried[0], chunked.startState(b, l),
                                   scratch(b, l, {headDimF}, ct),
                                   vectors.logDecay, vectors.steps};
          if (vectors.segments)
            iters.push_back(vectors.segments);
          auto chunks = loop(
              b, l, begin, end, chunk, iters,
              [&](OpBuilder &b, Location l, Value start,
                  ValueRange it) -> SmallVector<Value> {
                Value stop = arith::MinUIOp::create(
                    b, l, arith::AddIOp::create(b, l, start, chunk), end);
                Value count = arith::SubIOp::create(b, l, stop, start);
                ChunkVectors v{it[3], it[4],
                               chunked.hasSegments() ? it[5] : Value()};
                v = chunked.prepare(b, l, start, count, v);
                auto [y, row] =
                    chunked.outputs(b, l, start, count, v, it[1], it[0], it[2]);
                Value h = chunked.passState(b, l, start, count, v, it[1]);
                SmallVector<Value> next{y, h, row, v.logDecay, v.steps};
                if (v.segments)
                  next.push_back(v.segments);
                return next;
              });

          SmallVector<Value> results{chunks.getResult(0)};
          if (carried.size() > 1)
            results.push_back(
                chunked.storeState(b, l, chunks.getResult(1), carried[1]));
          return results;
        });
    markParallel(outer);
    replaceWithOutputs(rewriter, op, outer.getResult(0),
                       op.getFinalState() ? outer.getResult(1) : Value());
    return success();
  }
};

} // namespace

void lowering::populateSSDChunkedPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSSDChunked>(patterns.getContext());
}
