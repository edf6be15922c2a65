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

struct LowerSSDChunked : OpRewritePattern<SSDOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SSDOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getAlgorithm() != SSDAlgorithm::chunked)
      return failure();
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    Value x = op.getX(), Bt = op.getB(), Ct = op.getC(), dt = op.getDt();
    Value cu = op.getCuSeqlens(), seq = op.getSeqIdx(), skip = op.getD(),
          gate = op.getZ(), init = op.getInit();
    std::optional<ArrayRef<double>> limit = op.getDtLimit();
    bool softplus = op.getDtSoftplus();
    bool skipPerChannel =
        skip && cast<RankedTensorType>(skip.getType()).getRank() == 2;

    auto mixed = [&](Value v, int64_t i) {
      return tensor::getMixedSize(rewriter, loc, v, i);
    };
    auto value = [&](OpFoldResult v) {
      return getValueOrCreateConstantIndexOp(rewriter, loc, v);
    };
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value chunk = arith::ConstantIndexOp::create(rewriter, loc, op.getChunkSize());
    OpFoldResult headDimF = mixed(x, 3), stateSizeF = mixed(Bt, 3),
                 lengthF = mixed(x, 1);
    Value length = value(lengthF), heads = value(mixed(x, 2)),
          headDim = value(headDimF), stateSize = value(stateSizeF);
    Value perGroup =
        arith::DivUIOp::create(rewriter, loc, heads, value(mixed(Bt, 2)));
    Value rows = cu ? arith::SubIOp::create(rewriter, loc, value(mixed(cu, 0)), c1)
                          .getResult()
                    : value(mixed(x, 0));

    Type yElement = op.getY().getType().getElementType();
    SmallVector<Value> outputs{tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), yElement)};
    Type stateElement;
    if (Value fs = op.getFinalState()) {
      stateElement = cast<RankedTensorType>(fs.getType()).getElementType();
      outputs.push_back(tensor::EmptyOp::create(
          rewriter, loc,
          ArrayRef<OpFoldResult>{getAsOpFoldResult(rows), mixed(x, 2), headDimF,
                                 stateSizeF},
          stateElement));
    }
    Value total = arith::MulIOp::create(rewriter, loc, rows, heads);

    auto outer = loop(
        rewriter, loc, c0, total, c1, outputs,
        [&](OpBuilder &b, Location l, Value k,
            ValueRange carried) -> SmallVector<Value> {
          // Index helpers in this iteration's builder.
          auto add = [&](Value u, Value v) {
            return arith::AddIOp::create(b, l, u, v).getResult();
          };
          auto sub = [&](Value u, Value v) {
            return arith::SubIOp::create(b, l, u, v).getResult();
          };
          auto extract = [&](Value t, ValueRange at) {
            return tensor::ExtractOp::create(b, l, t, at).getResult();
          };
          auto cuAt = [&](Value i) {
            return arith::IndexCastOp::create(b, l, b.getIndexType(),
                                              extract(cu, {i}))
                .getResult();
          };
          Value zero = buildFloat(b, l, ct, 0.0);
          // Σ_n lhs(n)·rhs(k, n) for k < width in one pass over n,
          // reassociable so that it vectorizes.
          auto dots =
              [&](OpBuilder &ob, Location ol, int64_t width,
                  function_ref<Value(OpBuilder &, Location, Value)> lhs,
                  function_ref<Value(OpBuilder &, Location, int64_t, Value)> rhs) {
                SmallVector<Value> init(width, zero);
                auto sums = loop(
                    ob, ol, c0, stateSize, c1, init,
                    [&](OpBuilder &ib, Location il, Value n,
                        ValueRange acc) -> SmallVector<Value> {
                      Value shared = lhs(ib, il, n);
                      SmallVector<Value> next;
                      for (int64_t k = 0; k < width; ++k)
                        next.push_back(buildReductionFMA(ib, il, acc[k], shared,
                                                         rhs(ib, il, k, n)));
                      return next;
                    });
                return SmallVector<Value>(sums.getResults());
              };

          // (row, head) from the flattened index; a row is a batch row, or
          // with cu_seqlens one packed sequence of batch row 0.
          Value ri = arith::DivUIOp::create(b, l, k, heads);
          Value hi = arith::RemUIOp::create(b, l, k, heads);
          Value bi = cu ? c0 : ri;
          Value begin = cu ? cuAt(ri) : c0;
          Value end = cu ? cuAt(add(ri, c1)) : length;
          Value gi = arith::DivUIOp::create(b, l, hi, perGroup);
          Value A = load(b, l, op.getA(), {hi}, ct);
          Value bias = op.getDtBias() ? load(b, l, op.getDtBias(), {hi}, ct)
                                      : Value();

          // Scratch of this iteration, in the compute type.
          Value state = scratch(b, l, {headDimF, stateSizeF}, ct);
          if (init)
            state = loop(b, l, c0, headDim, c1, state,
                         [&](OpBuilder &b, Location l, Value p,
                             ValueRange s) -> SmallVector<Value> {
                           return {loop(b, l, c0, stateSize, c1, s,
                                        [&](OpBuilder &b, Location l, Value n,
                                            ValueRange s) -> SmallVector<Value> {
                                          Value v = load(b, l, init,
                                                         {ri, hi, p, n}, ct);
                                          return {tensor::InsertOp::create(
                                              b, l, v, s[0], ValueRange{p, n})};
                                        })
                                       .getResult(0)};
                         })
                        .getResult(0);
          else
            state = linalg::FillOp::create(b, l, ValueRange{zero},
                                           ValueRange{state})
                        .getResult(0);
          // No chunk is longer than the sequence: a chunk_size far beyond L
          // must not allocate chunk_size-long scratch.
          OpFoldResult longest;
          if (std::optional<int64_t> staticLength = getConstantIntValue(lengthF))
            longest = b.getIndexAttr(
                std::min<int64_t>(op.getChunkSize(), *staticLength));
          else
            longest = arith::MinUIOp::create(b, l, chunk, length).getResult();
          auto vector = [&] { return scratch(b, l, {longest}, ct); };
          // logDecay[i] = Σ_{k ≤ i} δ_k·A inside the chunk; steps[i] = δ_i;
          // segments[i] counts the seq_idx changes in the chunk up to i.
          SmallVector<Value> iters{carried[0], state, vector(), vector(),
                                   scratch(b, l, {headDimF}, ct)};
          if (seq)
            iters.push_back(vector());

          auto chunks = loop(
              b, l, begin, end, chunk, iters,
              [&](OpBuilder &b, Location l, Value start,
                  ValueRange it) -> SmallVector<Value> {
                Value y = it[0], h = it[1], logDecay = it[2], steps = it[3],
                      acc = it[4], segments = seq ? it[5] : Value();
                Value stop = arith::MinUIOp::create(b, l, add(start, chunk), end);
                Value count = sub(stop, start);

                // Step sizes, cumulative log-decay and segments.
                SmallVector<Value> prepIters{logDecay, steps, zero};
                if (seq)
                  prepIters.append({segments, zero});
                auto prep = loop(
                    b, l, c0, count, c1, prepIters,
                    [&](OpBuilder &b, Location l, Value i,
                        ValueRange s) -> SmallVector<Value> {
                      Value t = arith::AddIOp::create(b, l, start, i);
                      Value delta = buildStepSize(
                          b, l, load(b, l, dt, {bi, t, hi}, ct), bias, softplus,
                          limit);
                      Value sum = arith::AddFOp::create(
                          b, l, s[2], arith::MulFOp::create(b, l, delta, A));
                      SmallVector<Value> next{
                          tensor::InsertOp::create(b, l, sum, s[0], ValueRange{i}),
                          tensor::InsertOp::create(b, l, delta, s[1], ValueRange{i}),
                          sum};
                      if (seq) {
                        // A new sequence starts where seq_idx changes.
                        Value notFirst = arith::CmpIOp::create(
                            b, l, arith::CmpIPredicate::ugt, t, c0);
                        Value prev = arith::SelectOp::create(
                            b, l, notFirst, arith::SubIOp::create(b, l, t, c1), c0);
                        Value changed = arith::CmpIOp::create(
                            b, l, arith::CmpIPredicate::ne,
                            tensor::ExtractOp::create(b, l, seq, ValueRange{bi, t}),
                            tensor::ExtractOp::create(b, l, seq, ValueRange{bi, prev}));
                        changed = arith::AndIOp::create(b, l, notFirst, changed);
                        Value seg = arith::AddFOp::create(
                            b, l, s[4],
                            arith::SelectOp::create(b, l, changed,
                                                    buildFloat(b, l, ct, 1.0), zero));
                        next.push_back(
                            tensor::InsertOp::create(b, l, seg, s[3], ValueRange{i}));
                        next.push_back(seg);
                      }
                      return next;
                    });
                logDecay = prep.getResult(0);
                steps = prep.getResult(1);
                if (seq)
                  segments = prep.getResult(3);
                // `weight` is zero across a sequence boundary inside the chunk.
                auto sameSegment = [&](OpBuilder &b, Location l, Value weight,
                                       Value i, Value j) -> Value {
                  if (!seq)
                    return weight;
                  Value same = arith::CmpFOp::create(
                      b, l, arith::CmpFPredicate::OEQ,
                      tensor::ExtractOp::create(b, l, segments, i),
                      tensor::ExtractOp::create(b, l, segments, j));
                  return arith::SelectOp::create(b, l, same, weight,
                                                 buildFloat(b, l, ct, 0.0));
                };
                // The state the chunk starts from reaches step i decayed by
                // exp(logDecay[i]), unless a sequence starts in between.
                auto fromStart = [&](OpBuilder &b, Location l, Value i) -> Value {
                  Value decay = math::ExpOp::create(
                      b, l, tensor::ExtractOp::create(b, l, logDecay, i));
                  if (!seq)
                    return decay;
                  Value untouched = arith::CmpFOp::create(
                      b, l, arith::CmpFPredicate::OEQ,
                      tensor::ExtractOp::create(b, l, segments, i),
                      buildFloat(b, l, ct, 0.0));
                  return arith::SelectOp::create(b, l, untouched, decay,
                                                 buildFloat(b, l, ct, 0.0));
                };

                // Outputs of the chunk, one step (row of Y) at a time.
                auto outputs = loop(
                    b, l, c0, count, c1, ValueRange{y, acc},
                    [&](OpBuilder &b, Location l, Value i,
                        ValueRange s) -> SmallVector<Value> {
                      Value t = arith::AddIOp::create(b, l, start, i);
                      Value si = tensor::ExtractOp::create(b, l, logDecay, i);
                      Value decay0 = fromStart(b, l, i);
                      auto loadC = [&](OpBuilder &b, Location l, Value n) {
                        return load(b, l, Ct, {bi, t, gi, n}, ct);
                      };
                      // exp(s_i)·C_t·h0 and the skip connection, for
                      // channels p0 .. p0 + width - 1 at once.
                      Value row = blocked(
                          b, l, headDim, s[1],
                          [&](OpBuilder &b, Location l, Value p0, int64_t width,
                              Value r) -> Value {
                            SmallVector<Value> ps = consecutive(b, l, p0, width);
                            SmallVector<Value> sums = dots(
                                b, l, width, loadC,
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
                              r = tensor::InsertOp::create(b, l, v, r,
                                                           ValueRange{ps[k]});
                            }
                            return r;
                          });
                      // Σ_{j ≤ i} exp(s_i − s_j)·(C_i·B_j)·δ_j·x_j, for steps
                      // j0 .. j0 + width - 1 at once.
                      row = blocked(
                          b, l, arith::AddIOp::create(b, l, i, c1), row,
                          [&](OpBuilder &b, Location l, Value j0, int64_t width,
                              Value r) -> Value {
                            SmallVector<Value> js = consecutive(b, l, j0, width);
                            SmallVector<Value> tjs;
                            for (Value j : js)
                              tjs.push_back(arith::AddIOp::create(b, l, start, j));
                            SmallVector<Value> cbs = dots(
                                b, l, width, loadC,
                                [&](OpBuilder &b, Location l, int64_t k, Value n) {
                                  return load(b, l, Bt, {bi, tjs[k], gi, n}, ct);
                                });
                            SmallVector<Value> ws;
                            for (int64_t k = 0; k < width; ++k) {
                              Value sj = tensor::ExtractOp::create(b, l, logDecay,
                                                                   js[k]);
                              Value w = math::ExpOp::create(
                                  b, l, arith::SubFOp::create(b, l, si, sj));
                              w = arith::MulFOp::create(
                                  b, l, w,
                                  arith::MulFOp::create(
                                      b, l,
                                      tensor::ExtractOp::create(b, l, steps, js[k]),
                                      cbs[k]));
                              ws.push_back(sameSegment(b, l, w, i, js[k]));
                            }
                            return loop(b, l, c0, headDim, c1, r,
                                        [&](OpBuilder &b, Location l, Value p,
                                            ValueRange a) -> SmallVector<Value> {
                                          Value v = tensor::ExtractOp::create(
                                              b, l, a[0], ValueRange{p});
                                          for (int64_t k = 0; k < width; ++k)
                                            v = fma(b, l, ws[k],
                                                    load(b, l, x,
                                                         {bi, tjs[k], hi, p}, ct),
                                                    v);
                                          return {tensor::InsertOp::create(
                                              b, l, v, a[0], ValueRange{p})};
                                        })
                                .getResult(0);
                          });
                      // Gate and store.
                      Value yNext = loop(
                          b, l, c0, headDim, c1, s[0],
                          [&](OpBuilder &b, Location l, Value p,
                              ValueRange r) -> SmallVector<Value> {
                            Value v = tensor::ExtractOp::create(b, l, row,
                                                                ValueRange{p});
                            if (gate)
                              v = arith::MulFOp::create(
                                  b, l, v,
                                  buildSilu(b, l,
                                            load(b, l, gate, {bi, t, hi, p}, ct)));
                            return {tensor::InsertOp::create(
                                b, l, convertFloat(b, l, v, yElement), r[0],
                                ValueRange{bi, t, hi, p})};
                          })
                                       .getResult(0);
                      return {yNext, row};
                    });

                // The state passed on: steps[j] becomes the weight
                // exp(s_last − s_j)·δ_j of step j's input in it.
                Value last = sub(count, c1);
                Value sLast = extract(logDecay, {last});
                Value decayEnd = fromStart(b, l, last);
                steps = loop(b, l, c0, count, c1, steps,
                             [&](OpBuilder &b, Location l, Value j,
                                 ValueRange s) -> SmallVector<Value> {
                               Value w = math::ExpOp::create(
                                   b, l,
                                   arith::SubFOp::create(
                                       b, l, sLast,
                                       tensor::ExtractOp::create(b, l, logDecay, j)));
                               w = arith::MulFOp::create(
                                   b, l, w,
                                   tensor::ExtractOp::create(b, l, s[0], j));
                               w = sameSegment(b, l, w, last, j);
                               return {tensor::InsertOp::create(b, l, w, s[0],
                                                                ValueRange{j})};
                             })
                            .getResult(0);
                Value hNext = loop(
                    b, l, c0, headDim, c1, h,
                    [&](OpBuilder &b, Location l, Value p,
                        ValueRange s) -> SmallVector<Value> {
                      Value decayed = loop(
                          b, l, c0, stateSize, c1, s,
                          [&](OpBuilder &b, Location l, Value n,
                              ValueRange r) -> SmallVector<Value> {
                            Value v = arith::MulFOp::create(
                                b, l, decayEnd,
                                tensor::ExtractOp::create(b, l, r[0],
                                                          ValueRange{p, n}));
                            return {tensor::InsertOp::create(b, l, v, r[0],
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
                                  b, l, tensor::ExtractOp::create(b, l, steps, j),
                                  load(b, l, x, {bi, tj, hi, p}, ct)));
                            }
                            return loop(
                                       b, l, c0, stateSize, c1, r,
                                       [&](OpBuilder &b, Location l, Value n,
                                           ValueRange a) -> SmallVector<Value> {
                                         Value v = tensor::ExtractOp::create(
                                             b, l, a[0], ValueRange{p, n});
                                         for (int64_t k = 0; k < width; ++k)
                                           v = fma(b, l, coefs[k],
                                                   load(b, l, Bt,
                                                        {bi, tjs[k], gi, n}, ct),
                                                   v);
                                         return {tensor::InsertOp::create(
                                             b, l, v, a[0], ValueRange{p, n})};
                                       })
                                .getResult(0);
                          })};
                    })
                                 .getResult(0);
                SmallVector<Value> next{outputs.getResult(0), hNext, logDecay,
                                        steps, outputs.getResult(1)};
                if (seq)
                  next.push_back(segments);
                return next;
              });

          SmallVector<Value> results{chunks.getResult(0)};
          if (stateElement) {
            Value h = chunks.getResult(1);
            results.push_back(
                loop(b, l, c0, headDim, c1, carried[1],
                     [&](OpBuilder &b, Location l, Value p,
                         ValueRange s) -> SmallVector<Value> {
                       return {loop(b, l, c0, stateSize, c1, s,
                                    [&](OpBuilder &b, Location l, Value n,
                                        ValueRange s) -> SmallVector<Value> {
                                      Value v = tensor::ExtractOp::create(
                                          b, l, h, ValueRange{p, n});
                                      return {tensor::InsertOp::create(
                                          b, l, convertFloat(b, l, v, stateElement),
                                          s[0], ValueRange{ri, hi, p, n})};
                                    })
                                   .getResult(0)};
                     })
                    .getResult(0));
          }
          return results;
        });
    markParallel(outer);
    replaceWithOutputs(rewriter, op, outer.getResult(0),
                       stateElement ? outer.getResult(1) : Value());
    return success();
  }
};

} // namespace

void lowering::populateSSDChunkedPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSSDChunked>(patterns.getContext());
}
