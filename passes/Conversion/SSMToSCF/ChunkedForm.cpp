//===- ChunkedForm.cpp - ssm.recurrence in its chunked (SSD) form ---------===//
//
// Part of ssmc. The CPU's chunked form of the core op (`form = chunked`: a
// scalar transition given as its logarithm), the state-space-duality form
// of docs/semantics.md: time is cut into chunks of `chunk_size` steps;
// inside a chunk the outputs are a masked product (Q Kᵀ ∘ decay) V plus
// the contribution Q·h0 of the state the chunk starts from, and the state
// passed on is the decayed h0 plus Kᵀ(decay ∘ V) (for Mamba-2: Q = C,
// K = B, V = δ·x).
//
// One loop runs over (row, head) pairs (one pair once ssm-tile-recurrences
// made each pair a work item of its own); each iteration owns its
// slice of the output and of the final state and keeps its running state,
// the chunk's log-decays, and one output row in scratch tensors of the
// compute type (f32, or f64), so f16/bf16 storage never rounds an
// accumulator. Coefficients that the region computes (V = δ·x, a gate) are
// evaluated once per chunk into scratch buffers; those that are plain
// inputs (K, Q) are read where they are used. Every inner loop runs over a
// contiguous dimension (n of the keys, queries and state; p of the values
// and y) so that LLVM vectorizes it.
//
//===----------------------------------------------------------------------===//

#include "LoopHelpers.h"
#include "ssm/Conversion/CoefficientEmitter.h"
#include "ssm/Conversion/SSMToSCF.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

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

/// The per-step vectors of one chunk, scratch of one (row, head) pair:
/// logDecay[i] = Σ_{k ≤ i} log a_k inside the chunk; weights[j], the weight
/// exp(s_last − s_j) of step j in the state passed on; segments[i] (with
/// seq_idx only) counts the sequence starts in the chunk up to step i.
struct ChunkVectors {
  Value logDecay, weights, segments;
};

/// Builds the chunked form of one ssm.recurrence: the op-level values, then
/// per (row, head) pair the indices that every step of the algorithm reads.
class ChunkedForm {
public:
  using Role = YieldOp::Role;

  ChunkedForm(RecurrenceOp op, OpBuilder &b, Location loc)
      : op(op), ct(op.getComputeType()), yield(op.getYield()),
        extents(recurrenceExtents(b, loc, op)), emitter(op, extents),
        seq(op.getSeqIdx()),
        yElement(getElementTypeOrSelf(op.getYInit().getType())) {
    c0 = arith::ConstantIndexOp::create(b, loc, 0);
    c1 = arith::ConstantIndexOp::create(b, loc, 1);
    headDim = extents[RecurrenceOp::kP];
    stateSize = extents[RecurrenceOp::kN];
    headDimF = getAsOpFoldResult(headDim);
    stateSizeF = getAsOpFoldResult(stateSize);
    // Where the form consumes each coefficient: the decay per step, the
    // values, skip and gate per (step, row), keys and queries per (step,
    // entry).
    constexpr unsigned t = CoefficientEmitter::bit(RecurrenceOp::kT),
                       p = CoefficientEmitter::bit(RecurrenceOp::kP),
                       n = CoefficientEmitter::bit(RecurrenceOp::kN);
    emitter.planLevels({t, t | p, t | n, t | n, t | p, t | p}, t | p | n);
    Value skip = yield.getRole(YieldOp::kSkip);
    hasSkip = !matchPattern(skip, m_AnyZeroFloat());
  }

  Type computeType() const { return ct; }
  bool hasSegments() const { return static_cast<bool>(seq); }
  Value extent(unsigned dim) const { return extents[dim]; }
  ArrayRef<Value> allExtents() const { return extents; }

  /// Sets the (row, head) pair the following calls build for and allocates
  /// its per-chunk scratch for the computed coefficients (`longest` steps).
  void setPair(OpBuilder &b, Location l, Value row, Value head, Value longest);

  /// The pair's starting state as [P, N] scratch: the state destination's
  /// or zeros.
  Value startState(OpBuilder &b, Location l) const;
  /// Fills `v` and the coefficient scratch for the chunk of `count` steps
  /// from `start`.
  ChunkVectors prepare(OpBuilder &b, Location l, Value start, Value count,
                       ChunkVectors v);
  /// Writes the chunk's outputs into `y`, using `row` as the accumulator of
  /// one step; returns {y, row}.
  std::pair<Value, Value> outputs(OpBuilder &b, Location l, Value start,
                                  Value count, const ChunkVectors &v, Value h,
                                  Value y, Value row);
  /// The state after the chunk, from the state `h` before it; fills
  /// `v.weights`.
  Value passState(OpBuilder &b, Location l, Value start, Value count,
                  ChunkVectors &v, Value h);
  /// Stores the state `h` into the pair's rows of `dest`.
  Value storeState(OpBuilder &b, Location l, Value h, Value dest) const;

private:
  using StateElementFn = function_ref<Value(OpBuilder &, Location,
                                            CoefficientEmitter::Scope &, Value)>;
  /// Threads `init` through `body(scope, value)` for every element (p, n)
  /// of the pair's [P, N] state, the scope binding p and n.
  Value overState(OpBuilder &b, Location l, Value init, StateElementFn body) const;

  /// Coefficient `role` at step `i` of the chunk starting at `start`, at
  /// row (or entry) `index`: from the chunk's scratch when the region
  /// computes it (the emitter knows it as materialized per step), else read
  /// from its input.
  Value read(OpBuilder &b, Location l, Role role, Value start, Value i,
             Value index);
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
  /// Whether `role` is along the state entries (keys, queries) rather than
  /// the rows.
  static bool alongEntries(Role role) {
    return role == YieldOp::kKey || role == YieldOp::kQuery;
  }
  /// Whether coefficient `role` varies along its dimension (n or p).
  bool variesAlong(Role role) {
    unsigned dim = alongEntries(role) ? RecurrenceOp::kN : RecurrenceOp::kP;
    return emitter.dependences(yield.getRole(role)) & CoefficientEmitter::bit(dim);
  }

  // Op accessors are not const; reading them changes nothing.
  mutable RecurrenceOp op;
  Type ct;
  YieldOp yield;
  SmallVector<Value> extents;
  CoefficientEmitter emitter;
  Value seq;
  Type yElement;
  bool hasSkip;
  Value c0, c1, headDim, stateSize;
  OpFoldResult headDimF, stateSizeF;
  // The current (row, head) pair: its scope (b, g, r bound), the state's
  // row, and the scratch [longest, P or N] of each computed coefficient.
  CoefficientEmitter::Scope item;
  Value stateRow;
  SmallVector<std::pair<Role, Value>> scratches;
};

void ChunkedForm::setPair(OpBuilder &b, Location l, Value row, Value head,
                          Value longest) {
  item = CoefficientEmitter::Scope();
  item.index[RecurrenceOp::kB] = op.getCuSeqlens() ? c0 : row;
  item.index[RecurrenceOp::kR] =
      arith::RemUIOp::create(b, l, head, extents[RecurrenceOp::kR]);
  item.index[RecurrenceOp::kG] =
      arith::DivUIOp::create(b, l, head, extents[RecurrenceOp::kR]);
  stateRow = row;
  for (Value v : emitter.plannedAt(0))
    emitter.emit(b, l, v, item);
  scratches.clear();
  for (Role role : {YieldOp::kValue, YieldOp::kKey, YieldOp::kQuery,
                    YieldOp::kSkip, YieldOp::kGate}) {
    Value v = yield.getRole(role);
    if (!v || isa<BlockArgument>(v) || (role == YieldOp::kSkip && !hasSkip))
      continue;
    // [steps, N or P] as the emitter indexes it: by the step, then by n or
    // p where the value depends on it.
    SmallVector<Value, 2> sizes{longest};
    if (variesAlong(role))
      sizes.push_back(alongEntries(role) ? stateSize : headDim);
    scratches.push_back({role, allocScratch(b, l, sizes, ct)});
  }
}

Value ChunkedForm::read(OpBuilder &b, Location l, Role role, Value start,
                        Value i, Value index) {
  CoefficientEmitter::Scope at(&item);
  at.index[RecurrenceOp::kT] = arith::AddIOp::create(b, l, start, i);
  at.step = i;
  unsigned dim = alongEntries(role) ? RecurrenceOp::kN : RecurrenceOp::kP;
  at.index[dim] = index;
  at.lane = index;
  return emitter.emit(b, l, yield.getRole(role), at);
}

SmallVector<Value> ChunkedForm::dots(
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

Value ChunkedForm::sameSegment(OpBuilder &b, Location l, const ChunkVectors &v,
                               Value weight, Value i, Value j) const {
  if (!seq)
    return weight;
  Value same = arith::CmpFOp::create(
      b, l, arith::CmpFPredicate::OEQ,
      tensor::ExtractOp::create(b, l, v.segments, i),
      tensor::ExtractOp::create(b, l, v.segments, j));
  return arith::SelectOp::create(b, l, same, weight, buildFloat(b, l, ct, 0.0));
}

Value ChunkedForm::fromStart(OpBuilder &b, Location l, const ChunkVectors &v,
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

Value ChunkedForm::overState(OpBuilder &b, Location l, Value init,
                             StateElementFn body) const {
  return loop(b, l, c0, headDim, c1, init,
              [&](OpBuilder &b, Location l, Value p,
                  ValueRange s) -> SmallVector<Value> {
                return {loop(b, l, c0, stateSize, c1, s,
                             [&](OpBuilder &b, Location l, Value n,
                                 ValueRange s) -> SmallVector<Value> {
                               CoefficientEmitter::Scope at(&item);
                               at.index[RecurrenceOp::kP] = p;
                               at.index[RecurrenceOp::kN] = n;
                               return {body(b, l, at, s[0])};
                             })
                            .getResult(0)};
              })
      .getResult(0);
}

Value ChunkedForm::startState(OpBuilder &b, Location l) const {
  Value state = scratch(b, l, {headDimF, stateSizeF}, ct);
  if (!op.getState())
    return linalg::FillOp::create(b, l, ValueRange{buildFloat(b, l, ct, 0.0)},
                                  ValueRange{state})
        .getResult(0);
  OpOperand &dest = op.getStateMutable()[0];
  return overState(b, l, state,
                   [&](OpBuilder &b, Location l, CoefficientEmitter::Scope &at,
                       Value s) -> Value {
                     Value v = load(b, l, dest.get(),
                                    emitter.indicesOf(b, l, dest, at, stateRow), ct);
                     return tensor::InsertOp::create(
                         b, l, v, s,
                         ValueRange{at.index[RecurrenceOp::kP], at.index[RecurrenceOp::kN]});
                   });
}

ChunkVectors ChunkedForm::prepare(OpBuilder &b, Location l, Value start,
                                  Value count, ChunkVectors v) {
  Value zero = buildFloat(b, l, ct, 0.0);
  SmallVector<Value> iters{v.logDecay, zero};
  if (seq)
    iters.append({v.segments, zero});
  auto prep = loop(
      b, l, c0, count, c1, iters,
      [&](OpBuilder &b, Location l, Value i,
          ValueRange s) -> SmallVector<Value> {
        Value t = arith::AddIOp::create(b, l, start, i);
        CoefficientEmitter::Scope step(&item);
        step.index[RecurrenceOp::kT] = t;
        step.step = i;
        for (Value planned :
             emitter.plannedAt(CoefficientEmitter::bit(RecurrenceOp::kT)))
          emitter.emit(b, l, planned, step);
        // The coefficients the region computes, once per chunk.
        for (auto &entry : scratches) {
          // Named copies: the loop body's lambda captures them.
          Role role = entry.first;
          Value scratchBuffer = entry.second;
          unsigned dim = alongEntries(role) ? RecurrenceOp::kN : RecurrenceOp::kP;
          Value along = alongEntries(role) ? stateSize : headDim;
          if (!variesAlong(role)) {
            emitter.store(b, l, yield.getRole(role), step, scratchBuffer, /*perStep=*/true);
            continue;
          }
          scf::ForOp::create(
              b, l, c0, along, c1, ValueRange{},
              [&](OpBuilder &b, Location l, Value index, ValueRange) {
                CoefficientEmitter::Scope at(&step);
                at.index[dim] = index;
                at.lane = index;
                emitter.store(b, l, yield.getRole(role), at, scratchBuffer,
                                  /*perStep=*/true);
                scf::YieldOp::create(b, l);
              });
        }
        Value logDecay = emitter.emit(b, l, yield.getRole(YieldOp::kDecay), step);
        Value sum = arith::AddFOp::create(b, l, s[1], logDecay);
        SmallVector<Value> next{
            tensor::InsertOp::create(b, l, sum, s[0], ValueRange{i}), sum};
        if (!seq)
          return next;
        // A new sequence starts where seq_idx changes.
        Value changed = emitter.cutBefore(b, l, t, t, c0, item.index[RecurrenceOp::kB]);
        Value seg = arith::AddFOp::create(
            b, l, s[3],
            arith::SelectOp::create(b, l, changed, buildFloat(b, l, ct, 1.0),
                                    buildFloat(b, l, ct, 0.0)));
        next.push_back(tensor::InsertOp::create(b, l, seg, s[2], ValueRange{i}));
        next.push_back(seg);
        return next;
      });
  for (auto [role, scratchBuffer] : scratches)
    emitter.materialize(yield.getRole(role), scratchBuffer, /*perStep=*/true);
  v.logDecay = prep.getResult(0);
  if (seq)
    v.segments = prep.getResult(2);
  return v;
}

std::pair<Value, Value> ChunkedForm::outputs(OpBuilder &b, Location l,
                                             Value start, Value count,
                                             const ChunkVectors &v, Value h,
                                             Value y, Value row) {
  OpOperand &yInit = op.getYInitMutable();
  Value gate = yield.getRole(YieldOp::kGate);
  auto steps = loop(
      b, l, c0, count, c1, ValueRange{y, row},
      [&](OpBuilder &b, Location l, Value i,
          ValueRange s) -> SmallVector<Value> {
        Value si = tensor::ExtractOp::create(b, l, v.logDecay, i);
        Value decay0 = fromStart(b, l, v, i);
        auto query = [&](OpBuilder &b, Location l, Value n) {
          return read(b, l, YieldOp::kQuery, start, i, n);
        };
        // exp(s_i)·q_i·h0 and the skip term, for rows p0 .. p0 + width - 1
        // at once.
        Value acc = blocked(
            b, l, headDim, s[1],
            [&](OpBuilder &b, Location l, Value p0, int64_t width,
                Value r) -> Value {
              SmallVector<Value> ps = consecutive(b, l, p0, width);
              SmallVector<Value> sums =
                  dots(b, l, width, query,
                       [&](OpBuilder &b, Location l, int64_t k, Value n) {
                         return tensor::ExtractOp::create(
                                    b, l, h, ValueRange{ps[k], n})
                             .getResult();
                       });
              for (int64_t k = 0; k < width; ++k) {
                Value v = arith::MulFOp::create(b, l, decay0, sums[k]);
                if (hasSkip)
                  v = arith::AddFOp::create(
                      b, l, v, read(b, l, YieldOp::kSkip, start, i, ps[k]));
                r = tensor::InsertOp::create(b, l, v, r, ValueRange{ps[k]});
              }
              return r;
            });
        // Σ_{j ≤ i} exp(s_i − s_j)·(q_i·k_j)·v_j, for steps j0 .. j0 +
        // width - 1 at once.
        acc = blocked(
            b, l, arith::AddIOp::create(b, l, i, c1), acc,
            [&](OpBuilder &b, Location l, Value j0, int64_t width,
                Value r) -> Value {
              SmallVector<Value> js = consecutive(b, l, j0, width);
              SmallVector<Value> qks =
                  dots(b, l, width, query,
                       [&](OpBuilder &b, Location l, int64_t k, Value n) {
                         return read(b, l, YieldOp::kKey, start, js[k], n);
                       });
              SmallVector<Value> ws;
              for (int64_t k = 0; k < width; ++k) {
                Value sj = tensor::ExtractOp::create(b, l, v.logDecay, js[k]);
                Value w = math::ExpOp::create(
                    b, l, arith::SubFOp::create(b, l, si, sj));
                w = arith::MulFOp::create(b, l, w, qks[k]);
                ws.push_back(sameSegment(b, l, v, w, i, js[k]));
              }
              return loop(b, l, c0, headDim, c1, r,
                          [&](OpBuilder &b, Location l, Value p,
                              ValueRange a) -> SmallVector<Value> {
                            Value sum = tensor::ExtractOp::create(
                                b, l, a[0], ValueRange{p});
                            for (int64_t k = 0; k < width; ++k)
                              sum = buildFMA(b, l, sum, ws[k],
                                             read(b, l, YieldOp::kValue, start, js[k], p));
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
                         b, l, out, read(b, l, YieldOp::kGate, start, i, p));
                   CoefficientEmitter::Scope at(&item);
                   at.index[RecurrenceOp::kT] = arith::AddIOp::create(b, l, start, i);
                   at.index[RecurrenceOp::kP] = p;
                   return {tensor::InsertOp::create(
                       b, l, convertFloat(b, l, out, yElement), r[0],
                       emitter.indicesOf(b, l, yInit, at))};
                 })
                .getResult(0);
        return {yNext, acc};
      });
  return {steps.getResult(0), steps.getResult(1)};
}

Value ChunkedForm::passState(OpBuilder &b, Location l, Value start, Value count,
                             ChunkVectors &v, Value h) {
  Value last = arith::SubIOp::create(b, l, count, c1);
  Value sLast = tensor::ExtractOp::create(b, l, v.logDecay, last);
  Value decayEnd = fromStart(b, l, v, last);
  v.weights = loop(b, l, c0, count, c1, v.weights,
                   [&](OpBuilder &b, Location l, Value j,
                       ValueRange s) -> SmallVector<Value> {
                     Value w = math::ExpOp::create(
                         b, l,
                         arith::SubFOp::create(
                             b, l, sLast,
                             tensor::ExtractOp::create(b, l, v.logDecay, j)));
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
                     SmallVector<Value> coefs;
                     for (Value j : js)
                       coefs.push_back(arith::MulFOp::create(
                           b, l, tensor::ExtractOp::create(b, l, v.weights, j),
                           read(b, l, YieldOp::kValue, start, j, p)));
                     return loop(b, l, c0, stateSize, c1, r,
                                 [&](OpBuilder &b, Location l, Value n,
                                     ValueRange a) -> SmallVector<Value> {
                                   Value e = tensor::ExtractOp::create(
                                       b, l, a[0], ValueRange{p, n});
                                   for (int64_t k = 0; k < width; ++k)
                                     e = buildFMA(b, l, e, coefs[k],
                                                  read(b, l, YieldOp::kKey, start, js[k], n));
                                   return {tensor::InsertOp::create(
                                       b, l, e, a[0], ValueRange{p, n})};
                                 })
                         .getResult(0);
                   })};
             })
      .getResult(0);
}

Value ChunkedForm::storeState(OpBuilder &b, Location l, Value h,
                              Value dest) const {
  OpOperand &stateOperand = op.getStateMutable()[0];
  Type element = cast<RankedTensorType>(dest.getType()).getElementType();
  return overState(b, l, dest,
                   [&](OpBuilder &b, Location l, CoefficientEmitter::Scope &at,
                       Value s) -> Value {
                     Value v = tensor::ExtractOp::create(
                         b, l, h,
                         ValueRange{at.index[RecurrenceOp::kP], at.index[RecurrenceOp::kN]});
                     return tensor::InsertOp::create(
                         b, l, convertFloat(b, l, v, element), s,
                         emitter.indicesOf(b, l, stateOperand, at, stateRow));
                   });
}

struct LowerChunked : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getForm() != RecurrenceForm::chunked)
      return failure();
    Location loc = op.getLoc();
    ChunkedForm chunked(op, rewriter, loc);
    Type ct = chunked.computeType();
    Value cu = op.getCuSeqlens();
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    int64_t chunkSize =
        op.getChunkLength();
    Value chunk = arith::ConstantIndexOp::create(rewriter, loc, chunkSize);
    Value length = chunked.extent(RecurrenceOp::kT);
    Value heads = arith::MulIOp::create(rewriter, loc, chunked.extent(RecurrenceOp::kG),
                                        chunked.extent(RecurrenceOp::kR));
    OpFoldResult headDimF = getAsOpFoldResult(chunked.extent(RecurrenceOp::kP));
    // With cu_seqlens a row is one packed sequence of batch row 0.
    Value rows = recurrenceRows(rewriter, loc, chunked.allExtents(), cu);

    SmallVector<Value> outputs{op.getYInit()};
    if (Value state = op.getState())
      outputs.push_back(state);
    // No chunk is longer than the sequence: a chunk_size far beyond L must
    // not allocate chunk_size-long scratch.
    OpFoldResult longest;
    if (std::optional<int64_t> staticLength = getConstantIntValue(length))
      longest = rewriter.getIndexAttr(std::min<int64_t>(chunkSize, *staticLength));
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
          chunked.setPair(b, l, ri, hi,
                          getValueOrCreateConstantIndexOp(b, l, longest));

          // Scratch of this pair, in the compute type.
          ChunkVectors vectors{scratch(b, l, {longest}, ct),
                               scratch(b, l, {longest}, ct),
                               chunked.hasSegments()
                                   ? scratch(b, l, {longest}, ct)
                                   : Value()};
          SmallVector<Value> iters{carried[0], chunked.startState(b, l),
                                   scratch(b, l, {headDimF}, ct),
                                   vectors.logDecay, vectors.weights};
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
                SmallVector<Value> next{y, h, row, v.logDecay, v.weights};
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
    rewriter.replaceOp(op, outer.getResults());
    return success();
  }
};

} // namespace

void lowering::populateChunkedPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerChunked>(patterns.getContext());
}
