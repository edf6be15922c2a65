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
// One loop runs over (row, group) units (one unit once ssm-tile-recurrences
// made each a work item of its own, with a block of the group's heads);
// each iteration owns its slice of the output and of the final state. Its
// chunks run in order, and each chunk's heads one after the other: the
// chunk's keys and queries (B and C, a group's) are read once for all of
// them, and when neither depends on the head, so are the unmasked scores
// Q Kᵀ. Each head's running state (as [N, P]), the chunk's keys (as
// [N, steps]), values and scores are scratch buffers of the compute type
// (f32, or f64), so f16/bf16 storage never rounds an accumulator; queries
// are read where they are used. The chunk's products (scores Q Kᵀ, outputs
// Q h0ᵀ and M V, the state update Kᵀ V) are register tiles: a block of 4
// rows by a panel of up to 4 vectors of the compute type stays in
// registers across the loop over the shared dimension, each row of the
// right operand loaded once per block and each element of the left one
// broadcast; columns past a dynamic or ragged extent are masked.
// Coefficients that the region computes (V = δ·x, a gate) are evaluated
// once per chunk into scratch buffers.
//
//===----------------------------------------------------------------------===//

#include "LoopHelpers.h"
#include "ssm/Conversion/CoefficientEmitter.h"
#include "ssm/Conversion/SSMToSCF.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"
#include "ssm/Transforms/Configuration.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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

/// `base + r` (`base` itself for r = 0).
Value offset(OpBuilder &b, Location l, Value base, int64_t r) {
  if (!r)
    return base;
  return arith::AddIOp::create(b, l, base, arith::ConstantIndexOp::create(b, l, r));
}

/// Rows of a register tile, and vectors of its panel: 4 x 4 AVX-512
/// accumulators, the panel's 4 right-hand vectors and a broadcast are 21
/// of the 32 vector registers.
constexpr int64_t kTileRows = 4, kPanelVectors = 4;

using BlockFn = function_ref<SmallVector<Value>(OpBuilder &, Location, Value,
                                                int64_t, ValueRange)>;

/// Threads `init` through `body(first, rows, values)` over [0, count): in
/// blocks of kTileRows consecutive rows, then one row at a time for the
/// remainder.
SmallVector<Value> overRowBlocks(OpBuilder &b, Location loc, Value count,
                                 ValueRange init, BlockFn body) {
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value rows = arith::ConstantIndexOp::create(b, loc, kTileRows);
  Value full = arith::SubIOp::create(b, loc, count,
                                     arith::RemUIOp::create(b, loc, count, rows));
  auto blocks = loop(b, loc, arith::ConstantIndexOp::create(b, loc, 0), full, rows,
                     init, [&](OpBuilder &b, Location l, Value first, ValueRange it) {
                       return body(b, l, first, kTileRows, it);
                     });
  auto rest = loop(b, loc, full, count, c1, blocks.getResults(),
                   [&](OpBuilder &b, Location l, Value first, ValueRange it) {
                     return body(b, l, first, 1, it);
                   });
  return SmallVector<Value>(rest.getResults());
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
    width = std::max<int64_t>(1, cpu_chunked::kVectorBits / ct.getIntOrFloatBitWidth());
    vectorType = VectorType::get({width}, ct);
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

  /// Sets the (row, group) unit the following calls build for and
  /// allocates its scratch: the computed coefficients' and the chunk's
  /// buffers hold `longest` steps, and the heads' states are [R, N, P].
  void setUnit(OpBuilder &b, Location l, Value row, Value group, Value longest);
  /// Sets the unit's head `head` (its r) for the following calls: its
  /// scope, its values that no step changes, and its state.
  void setHead(OpBuilder &b, Location l, Value head);

  /// Fills the head's state from the state destination, or with zeros.
  void startState(OpBuilder &b, Location l);
  /// Fills `v` and the head's coefficient scratch for the chunk of `count`
  /// steps from `start`.
  ChunkVectors prepare(OpBuilder &b, Location l, Value start, Value count,
                       ChunkVectors v);
  /// Writes the head's outputs of the chunk into `y` (from its state before
  /// the chunk), then passes its state on; fills `v.weights`. Returns y.
  /// The unmasked scores of a chunk are computed for its first head only
  /// when they are every head's (sharedScores()).
  Value step(OpBuilder &b, Location l, Value start, Value count, ChunkVectors &v,
             Value y);
  /// Stores the head's state into its rows of `dest`.
  Value storeState(OpBuilder &b, Location l, Value dest) const;

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

  // Register tiles.
  /// The columns [0, extent) of a product's result, in panels of `vectors`
  /// vectors; `inBounds` when every vector of every panel is whole.
  struct Columns {
    Value extent;
    int64_t vectors;
    bool inBounds;
  };
  /// `bound`: a static bound of a dynamic extent (the chunk length for the
  /// steps of a chunk), which then decides the panel's width.
  Columns columnsOf(Value extent, std::optional<int64_t> bound = std::nullopt) const;
  /// Which lanes of a vector from column `col` lie below the extent.
  Value laneMask(OpBuilder &b, Location l, Value col, const Columns &cols) const;
  /// A vector of row `row` of `buffer` from column `col` (lanes past the
  /// columns' extent masked: read as zero, not written).
  Value loadVector(OpBuilder &b, Location l, Value buffer, Value row, Value col,
                   const Columns &cols) const;
  void storeVector(OpBuilder &b, Location l, Value value, Value buffer, Value row,
                   Value col, const Columns &cols) const;
  /// For each panel of `cols` below `end`: `body(col, values)`, threading
  /// `init`.
  SmallVector<Value> overPanels(OpBuilder &b, Location l, const Columns &cols,
                                Value end, ValueRange init, BodyFn body) const;
  /// The tile of `rows` rows by the panel at `col`: `acc` (rows x vectors,
  /// row-major) plus Σ_k a(r, k) · right[k, col + v · width] for k in
  /// [kBegin, kEnd).
  SmallVector<Value>
  accumulate(OpBuilder &b, Location l, int64_t rows, Value col, const Columns &cols,
             Value right, Value kBegin, Value kEnd,
             function_ref<Value(OpBuilder &, Location, int64_t, Value)> a,
             ValueRange acc) const;
  /// Stores `tile` (rows x cols.vectors) into rows [row, row + rows) of
  /// `buffer` at the panel `col`.
  void storeTile(OpBuilder &b, Location l, ArrayRef<Value> tile, int64_t rows,
                 Value buffer, Value row, Value col, const Columns &cols) const;
  /// Whether neither the keys nor the queries depend on the head, so that
  /// the unmasked scores q_i·k_j are the same for every head of a group.
  bool sharedScores() {
    auto perHead = [&](Role role) {
      return emitter.dependences(yield.getRole(role)) &
             CoefficientEmitter::bit(RecurrenceOp::kR);
    };
    return !perHead(YieldOp::kKey) && !perHead(YieldOp::kQuery);
  }
  /// Copies the chunk's keys to [N, Q].
  void stageKeys(OpBuilder &b, Location l, Value start, Value count);
  /// Copies the head's values of the chunk to [Q, P] unless the region's
  /// scratch holds them so.
  void stageValues(OpBuilder &b, Location l, Value start, Value count);
  /// Whether the keys go to [N, Q] through [Q, N] rows and transposeBlock:
  /// a static N and chunk length that are multiples of its side, in f32.
  /// Copied element by element, LLVM stored them by scatters, 15-20 % of
  /// the chunked SSD's time.
  bool blockedKeys() {
    std::optional<int64_t> n = getConstantIntValue(stateSize);
    return ct.isF32() && n && *n % kTransposeSide == 0 &&
           op.getChunkLength() % kTransposeSide == 0;
  }
  /// The unmasked scores q_i·k_j into `rawScores` (for j below the end of
  /// i's block of rows).
  void scoreChunk(OpBuilder &b, Location l, Value start, Value count);
  /// The head's masked scores m_ij = exp(s_i − s_j) q_i·k_j (j ≤ i in i's
  /// sequence; else 0) into `scores`.
  void maskScores(OpBuilder &b, Location l, Value count, const ChunkVectors &v);
  /// The chunk's outputs, from the state before it, into `y`; returns y.
  Value writeOutputs(OpBuilder &b, Location l, Value start, Value count,
                     const ChunkVectors &v, Value y);
  /// The state after the chunk; fills `v.weights` (and weights the values
  /// in place).
  void passState(OpBuilder &b, Location l, Value count, ChunkVectors &v);
  /// rows x cols.vectors vectors of zeros.
  SmallVector<Value> zeroTile(OpBuilder &b, Location l, int64_t rows,
                              const Columns &cols) const;

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
  /// Lanes of a vector of the compute type.
  int64_t width;
  VectorType vectorType;
  // The current (row, group) unit: its row and group, the state's row, and
  // the scratch [longest, P or N] of each computed coefficient; the
  // current head's scope (b, g, r bound).
  Value unitRow, group, stateRow;
  CoefficientEmitter::Scope item;
  SmallVector<std::pair<Role, Value>> scratches;
  /// The unit's buffers: its heads' states hᵀ [R, N, P] and the current
  /// head's [N, P] of them; the chunk's keys [N, Q], values [Q, P] (the
  /// region's scratch of them when it computes them along p: `copyValues`
  /// false), unmasked and masked scores [Q, Q]; a tile of outputs
  /// [kTileRows, P]. Queries are read where they are used.
  Value states, state, keys, values, rawScores, scores, outputs;
  bool copyValues;
  /// The chunk's keys as computed, [Q, N], when they are moved to `keys` in
  /// registers (blockedKeys()); else null.
  Value keyRows;
};

void ChunkedForm::setUnit(OpBuilder &b, Location l, Value row, Value unitGroup,
                          Value longest) {
  unitRow = op.getCuSeqlens() ? c0 : row;
  group = unitGroup;
  stateRow = row;
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
  states = allocScratch(b, l, {extents[RecurrenceOp::kR], stateSize, headDim}, ct);
  // Keys moved in 16 x 16 blocks fill whole blocks of Q columns, however
  // short the sequence.
  keyRows = Value();
  if (blockedKeys()) {
    Value chunk = arith::ConstantIndexOp::create(b, l, op.getChunkLength());
    keyRows = allocScratch(b, l, {chunk, stateSize}, ct);
    keys = allocScratch(b, l, {stateSize, chunk}, ct);
  } else {
    keys = allocScratch(b, l, {stateSize, longest}, ct);
  }
  const auto *computed = llvm::find_if(scratches, [&](auto &entry) {
    return entry.first == YieldOp::kValue && variesAlong(YieldOp::kValue);
  });
  copyValues = computed == scratches.end();
  values = copyValues ? allocScratch(b, l, {longest, headDim}, ct) : computed->second;
  rawScores = allocScratch(b, l, {longest, longest}, ct);
  scores = allocScratch(b, l, {longest, longest}, ct);
  outputs = allocScratch(
      b, l, {arith::ConstantIndexOp::create(b, l, kTileRows).getResult(), headDim}, ct);
}

void ChunkedForm::setHead(OpBuilder &b, Location l, Value head) {
  item = CoefficientEmitter::Scope();
  item.index[RecurrenceOp::kB] = unitRow;
  item.index[RecurrenceOp::kG] = group;
  item.index[RecurrenceOp::kR] = head;
  for (Value v : emitter.plannedAt(0))
    emitter.emit(b, l, v, item);
  // The head's [N, P] of the states.
  SmallVector<OpFoldResult> offsets{head, b.getIndexAttr(0), b.getIndexAttr(0)},
      sizes{b.getIndexAttr(1), getAsOpFoldResult(stateSize), getAsOpFoldResult(headDim)},
      strides(3, b.getIndexAttr(1));
  SmallVector<int64_t> shape;
  for (Value size : {stateSize, headDim})
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  auto type = memref::SubViewOp::inferRankReducedResultType(
      shape, cast<MemRefType>(states.getType()), offsets, sizes, strides);
  state = memref::SubViewOp::create(b, l, type, states, offsets, sizes, strides);
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

void ChunkedForm::startState(OpBuilder &b, Location l) {
  OpOperand *dest = op.getState() ? &op.getStateMutable()[0] : nullptr;
  forRange(b, l, c0, stateSize, [&](OpBuilder &b, Location l, Value n) {
    forRange(b, l, c0, headDim, [&](OpBuilder &b, Location l, Value p) {
      CoefficientEmitter::Scope at(&item);
      at.index[RecurrenceOp::kN] = n;
      at.index[RecurrenceOp::kP] = p;
      Value v = dest ? load(b, l, dest->get(), emitter.indicesOf(b, l, *dest, at, stateRow), ct)
                     : buildFloat(b, l, ct, 0.0);
      memref::StoreOp::create(b, l, v, state, ValueRange{n, p});
    });
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

ChunkedForm::Columns ChunkedForm::columnsOf(Value extent,
                                            std::optional<int64_t> bound) const {
  std::optional<int64_t> known = getConstantIntValue(extent);
  std::optional<int64_t> most = known ? known : bound;
  int64_t vectors =
      most ? std::clamp<int64_t>(llvm::divideCeil(*most, width), 1, kPanelVectors)
           : kPanelVectors;
  return {extent, vectors, known && *known % (vectors * width) == 0};
}

Value ChunkedForm::laneMask(OpBuilder &b, Location l, Value col,
                            const Columns &cols) const {
  // Lane k is col + k < extent: a compare of the lane numbers with what is
  // left (vector.create_mask of a constant would fold to a constant_mask,
  // which the conversion to LLVM does not take).
  auto lanesType = VectorType::get({width}, b.getI64Type());
  SmallVector<int64_t> numbers(width);
  for (int64_t k = 0; k < width; ++k)
    numbers[k] = k;
  Value left = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                          arith::SubIOp::create(b, l, cols.extent, col));
  return arith::CmpIOp::create(
      b, l, arith::CmpIPredicate::slt,
      arith::ConstantOp::create(b, l, lanesType,
                                DenseElementsAttr::get(lanesType, ArrayRef<int64_t>(numbers))),
      vector::BroadcastOp::create(b, l, lanesType, left));
}

Value ChunkedForm::loadVector(OpBuilder &b, Location l, Value buffer, Value row,
                              Value col, const Columns &cols) const {
  if (cols.inBounds)
    return vector::LoadOp::create(b, l, vectorType, buffer, ValueRange{row, col});
  return vector::MaskedLoadOp::create(b, l, vectorType, buffer, ValueRange{row, col},
                                      laneMask(b, l, col, cols), buildFloat(b, l, vectorType, 0.0));
}

void ChunkedForm::storeVector(OpBuilder &b, Location l, Value value, Value buffer,
                              Value row, Value col, const Columns &cols) const {
  if (cols.inBounds) {
    vector::StoreOp::create(b, l, value, buffer, ValueRange{row, col});
    return;
  }
  Value mask = laneMask(b, l, col, cols);
  vector::MaskedStoreOp::create(b, l, buffer, ValueRange{row, col}, mask, value);
}

SmallVector<Value> ChunkedForm::overPanels(OpBuilder &b, Location l,
                                           const Columns &cols, Value end,
                                           ValueRange init, BodyFn body) const {
  Value panel = arith::ConstantIndexOp::create(b, l, cols.vectors * width);
  return SmallVector<Value>(loop(b, l, c0, end, panel, init, body).getResults());
}

SmallVector<Value> ChunkedForm::zeroTile(OpBuilder &b, Location l, int64_t rows,
                                         const Columns &cols) const {
  return SmallVector<Value>(rows * cols.vectors, buildFloat(b, l, vectorType, 0.0));
}

SmallVector<Value> ChunkedForm::accumulate(
    OpBuilder &b, Location l, int64_t rows, Value col, const Columns &cols,
    Value right, Value kBegin, Value kEnd,
    function_ref<Value(OpBuilder &, Location, int64_t, Value)> a,
    ValueRange acc) const {
  int64_t vectors = cols.vectors;
  auto k = loop(b, l, kBegin, kEnd, c1, acc,
                [&](OpBuilder &b, Location l, Value k, ValueRange acc) {
                  SmallVector<Value> rhs;
                  for (int64_t v = 0; v < vectors; ++v)
                    rhs.push_back(
                        loadVector(b, l, right, k, offset(b, l, col, v * width), cols));
                  SmallVector<Value> next(acc);
                  for (int64_t r = 0; r < rows; ++r) {
                    Value lhs = vector::BroadcastOp::create(b, l, vectorType, a(b, l, r, k));
                    for (int64_t v = 0; v < vectors; ++v)
                      next[r * vectors + v] =
                          vector::FMAOp::create(b, l, lhs, rhs[v], next[r * vectors + v]);
                  }
                  return next;
                });
  return SmallVector<Value>(k.getResults());
}

/// A tile's left operand read from `buffer`: element (first + r, k).
auto rowsOf(Value buffer, Value first) {
  return [buffer, first](OpBuilder &b, Location l, int64_t r, Value k) -> Value {
    return memref::LoadOp::create(b, l, buffer, ValueRange{offset(b, l, first, r), k});
  };
}

void ChunkedForm::storeTile(OpBuilder &b, Location l, ArrayRef<Value> tile,
                            int64_t rows, Value buffer, Value row, Value col,
                            const Columns &cols) const {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < cols.vectors; ++v)
      storeVector(b, l, tile[r * cols.vectors + v], buffer, offset(b, l, row, r),
                  offset(b, l, col, v * width), cols);
}

void ChunkedForm::stageKeys(OpBuilder &b, Location l, Value start, Value count) {
  if (!keyRows) {
    forRange(b, l, c0, stateSize, [&](OpBuilder &b, Location l, Value n) {
      forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value j) {
        memref::StoreOp::create(b, l, read(b, l, YieldOp::kKey, start, j, n), keys,
                                ValueRange{n, j});
      });
    });
  } else {
    // The keys by rows (contiguous along n), zeros past the chunk's last
    // step, then each 16 x 16 block transposed in registers.
    Value chunk = arith::ConstantIndexOp::create(b, l, op.getChunkLength());
    Value zero = buildFloat(b, l, ct, 0.0);
    forRange(b, l, c0, chunk, [&](OpBuilder &b, Location l, Value j) {
      Value inChunk = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j, count);
      forRange(b, l, c0, stateSize, [&](OpBuilder &b, Location l, Value n) {
        auto key = scf::IfOp::create(
            b, l, inChunk,
            [&](OpBuilder &b, Location l) {
              scf::YieldOp::create(b, l, read(b, l, YieldOp::kKey, start, j, n));
            },
            [&](OpBuilder &b, Location l) { scf::YieldOp::create(b, l, zero); });
        memref::StoreOp::create(b, l, key.getResult(0), keyRows, ValueRange{j, n});
      });
    });
    Value side = arith::ConstantIndexOp::create(b, l, kTransposeSide);
    scf::ForOp::create(b, l, c0, chunk, side, ValueRange{},
                       [&](OpBuilder &b, Location l, Value j0, ValueRange) {
      scf::ForOp::create(b, l, c0, stateSize, side, ValueRange{},
                         [&](OpBuilder &b, Location l, Value n0, ValueRange) {
        transposeBlock(b, l, keyRows, j0, n0, keys, n0, j0);
        scf::YieldOp::create(b, l);
      });
      scf::YieldOp::create(b, l);
    });
  }
}

void ChunkedForm::stageValues(OpBuilder &b, Location l, Value start, Value count) {
  if (!copyValues)
    return;
  forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value j) {
    forRange(b, l, c0, headDim, [&](OpBuilder &b, Location l, Value p) {
      memref::StoreOp::create(b, l, read(b, l, YieldOp::kValue, start, j, p), values,
                              ValueRange{j, p});
    });
  });
}

void ChunkedForm::scoreChunk(OpBuilder &b, Location l, Value start, Value count) {
  Columns steps = columnsOf(count, op.getChunkLength());
  overRowBlocks(b, l, count, {}, [&](OpBuilder &b, Location l, Value i0, int64_t rows,
                                     ValueRange) {
    Value end = arith::MinUIOp::create(b, l, offset(b, l, i0, rows), count);
    overPanels(b, l, steps, end, {}, [&](OpBuilder &b, Location l, Value col, ValueRange) {
      SmallVector<Value> tile = accumulate(
          b, l, rows, col, steps, keys, c0, stateSize,
          [&](OpBuilder &b, Location l, int64_t r, Value n) {
            return read(b, l, YieldOp::kQuery, start, offset(b, l, i0, r), n);
          },
          zeroTile(b, l, rows, steps));
      storeTile(b, l, tile, rows, rawScores, i0, col, steps);
      return SmallVector<Value>{};
    });
    return SmallVector<Value>{};
  });
}

void ChunkedForm::maskScores(OpBuilder &b, Location l, Value count,
                             const ChunkVectors &v) {
  // exp(s_i − s_j)·q_i·k_j for j ≤ i in i's sequence, else 0.
  forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value i) {
    Value si = tensor::ExtractOp::create(b, l, v.logDecay, i);
    forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value j) {
      Value sj = tensor::ExtractOp::create(b, l, v.logDecay, j);
      // Separate statements: the order of the ops (which tests check) must
      // not depend on the compiler's order of evaluating arguments.
      Value decay = math::ExpOp::create(b, l, arith::SubFOp::create(b, l, si, sj));
      Value raw = memref::LoadOp::create(b, l, rawScores, ValueRange{i, j});
      Value w = arith::MulFOp::create(b, l, decay, raw);
      w = sameSegment(b, l, v, w, i, j);
      Value causal = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, j, i);
      memref::StoreOp::create(
          b, l, arith::SelectOp::create(b, l, causal, w, buildFloat(b, l, ct, 0.0)),
          scores, ValueRange{i, j});
    });
  });
}

Value ChunkedForm::writeOutputs(OpBuilder &b, Location l, Value start, Value count,
                                const ChunkVectors &v, Value y) {
  OpOperand &yInit = op.getYInitMutable();
  Value gate = yield.getRole(YieldOp::kGate);
  Columns cols = columnsOf(headDim);
  return overRowBlocks(b, l, count, {y}, [&](OpBuilder &b, Location l, Value i0,
                                            int64_t rows, ValueRange ys) {
    // exp(s_i)·q_i·h0 + Σ_{j ≤ i} m_ij v_j into the rows of `outputs`.
    Value end = arith::MinUIOp::create(b, l, offset(b, l, i0, rows), count);
    overPanels(b, l, cols, headDim, {}, [&](OpBuilder &b, Location l, Value col,
                                            ValueRange) {
      SmallVector<Value> tile = accumulate(
          b, l, rows, col, cols, state, c0, stateSize,
          [&](OpBuilder &b, Location l, int64_t r, Value n) {
            return read(b, l, YieldOp::kQuery, start, offset(b, l, i0, r), n);
          },
          zeroTile(b, l, rows, cols));
      for (int64_t r = 0; r < rows; ++r) {
        Value decay = vector::BroadcastOp::create(b, l, vectorType,
                                                  fromStart(b, l, v, offset(b, l, i0, r)));
        for (int64_t k = 0; k < cols.vectors; ++k)
          tile[r * cols.vectors + k] =
              arith::MulFOp::create(b, l, decay, tile[r * cols.vectors + k]);
      }
      tile = accumulate(b, l, rows, col, cols, values, c0, end, rowsOf(scores, i0), tile);
      storeTile(b, l, tile, rows, outputs, c0, col, cols);
      return SmallVector<Value>{};
    });
    // The skip, the gate, and y.
    Value out = ys[0];
    for (int64_t r = 0; r < rows; ++r) {
      Value i = offset(b, l, i0, r);
      Value rowIndex = arith::ConstantIndexOp::create(b, l, r);
      out = loop(b, l, c0, headDim, c1, out,
                 [&](OpBuilder &b, Location l, Value p, ValueRange o) -> SmallVector<Value> {
                   Value sum = memref::LoadOp::create(b, l, outputs, ValueRange{rowIndex, p});
                   if (hasSkip)
                     sum = arith::AddFOp::create(b, l, sum,
                                                 read(b, l, YieldOp::kSkip, start, i, p));
                   if (gate)
                     sum = arith::MulFOp::create(b, l, sum,
                                                 read(b, l, YieldOp::kGate, start, i, p));
                   CoefficientEmitter::Scope pt(&item);
                   pt.index[RecurrenceOp::kT] = arith::AddIOp::create(b, l, start, i);
                   pt.index[RecurrenceOp::kP] = p;
                   return {tensor::InsertOp::create(b, l, convertFloat(b, l, sum, yElement),
                                                    o[0], emitter.indicesOf(b, l, yInit, pt))};
                 })
                .getResult(0);
    }
    return SmallVector<Value>{out};
  })[0];
}

void ChunkedForm::passState(OpBuilder &b, Location l, Value count, ChunkVectors &v) {
  // exp(s_last)·h0 + Σ_j w_j k_j v_j, w_j = exp(s_last − s_j) in the last
  // step's sequence, else 0.
  Value last = arith::SubIOp::create(b, l, count, c1);
  Value sLast = tensor::ExtractOp::create(b, l, v.logDecay, last);
  Value decayEnd = vector::BroadcastOp::create(b, l, vectorType, fromStart(b, l, v, last));
  v.weights = loop(b, l, c0, count, c1, v.weights,
                   [&](OpBuilder &b, Location l, Value j,
                       ValueRange s) -> SmallVector<Value> {
                     Value w = math::ExpOp::create(
                         b, l,
                         arith::SubFOp::create(
                             b, l, sLast, tensor::ExtractOp::create(b, l, v.logDecay, j)));
                     w = sameSegment(b, l, v, w, last, j);
                     return {tensor::InsertOp::create(b, l, w, s[0], ValueRange{j})};
                   })
                  .getResult(0);
  // The values weighted in place (the outputs have read them): a vector
  // multiply per row instead of a scalar one per element of the tiles'
  // left operand.
  Columns cols = columnsOf(headDim);
  forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value j) {
    Value w = vector::BroadcastOp::create(b, l, vectorType,
                                          tensor::ExtractOp::create(b, l, v.weights, j));
    overPanels(b, l, cols, headDim, {}, [&](OpBuilder &b, Location l, Value col,
                                            ValueRange) {
      for (int64_t k = 0; k < cols.vectors; ++k) {
        Value at = offset(b, l, col, k * width);
        storeVector(b, l,
                    arith::MulFOp::create(b, l, w, loadVector(b, l, values, j, at, cols)),
                    values, j, at, cols);
      }
      return SmallVector<Value>{};
    });
  });
  overRowBlocks(b, l, stateSize, {}, [&](OpBuilder &b, Location l, Value n0,
                                         int64_t rows, ValueRange) {
    overPanels(b, l, cols, headDim, {}, [&](OpBuilder &b, Location l, Value col,
                                            ValueRange) {
      SmallVector<Value> tile;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < cols.vectors; ++k)
          tile.push_back(arith::MulFOp::create(
              b, l, decayEnd,
              loadVector(b, l, state, offset(b, l, n0, r), offset(b, l, col, k * width),
                         cols)));
      tile = accumulate(b, l, rows, col, cols, values, c0, count, rowsOf(keys, n0), tile);
      storeTile(b, l, tile, rows, state, n0, col, cols);
      return SmallVector<Value>{};
    });
    return SmallVector<Value>{};
  });
}

Value ChunkedForm::step(OpBuilder &b, Location l, Value start, Value count,
                        ChunkVectors &v, Value y) {
  auto unmasked = [&](OpBuilder &b, Location l) {
    stageKeys(b, l, start, count);
    scoreChunk(b, l, start, count);
  };
  if (sharedScores()) {
    Value first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                        item.index[RecurrenceOp::kR], c0);
    scf::IfOp::create(b, l, first, [&](OpBuilder &b, Location l) {
      unmasked(b, l);
      scf::YieldOp::create(b, l);
    });
  } else {
    unmasked(b, l);
  }
  stageValues(b, l, start, count);
  maskScores(b, l, count, v);
  y = writeOutputs(b, l, start, count, v, y);
  passState(b, l, count, v);
  return y;
}

Value ChunkedForm::storeState(OpBuilder &b, Location l, Value dest) const {
  OpOperand &stateOperand = op.getStateMutable()[0];
  Type element = cast<RankedTensorType>(dest.getType()).getElementType();
  return overState(b, l, dest,
                   [&](OpBuilder &b, Location l, CoefficientEmitter::Scope &at,
                       Value s) -> Value {
                     Value v = memref::LoadOp::create(
                         b, l, state,
                         ValueRange{at.index[RecurrenceOp::kN], at.index[RecurrenceOp::kP]});
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
    Value groups = chunked.extent(RecurrenceOp::kG),
          heads = chunked.extent(RecurrenceOp::kR);
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

    Value units = arith::MulIOp::create(rewriter, loc, rows, groups);
    auto outer = loop(
        rewriter, loc, c0, units, c1, outputs,
        [&](OpBuilder &b, Location l, Value k,
            ValueRange carried) -> SmallVector<Value> {
          Value ri = arith::DivUIOp::create(b, l, k, groups);
          Value gi = arith::RemUIOp::create(b, l, k, groups);
          // Named values, not a structured binding: lambdas below capture them.
          Value begin = c0, end = length;
          if (cu)
            std::tie(begin, end) = sequenceBounds(b, l, cu, ri, length);
          chunked.setUnit(b, l, ri, gi,
                          getValueOrCreateConstantIndexOp(b, l, longest));
          forRange(b, l, c0, heads, [&](OpBuilder &b, Location l, Value r) {
            chunked.setHead(b, l, r);
            chunked.startState(b, l);
          });

          // Per-step vectors of the current head, in the compute type.
          ChunkVectors vectors{scratch(b, l, {longest}, ct),
                               scratch(b, l, {longest}, ct),
                               chunked.hasSegments()
                                   ? scratch(b, l, {longest}, ct)
                                   : Value()};
          SmallVector<Value> iters{carried[0], vectors.logDecay, vectors.weights};
          if (vectors.segments)
            iters.push_back(vectors.segments);
          // Chunk by chunk, and in each chunk head by head.
          auto chunks = loop(
              b, l, begin, end, chunk, iters,
              [&](OpBuilder &b, Location l, Value start,
                  ValueRange it) -> SmallVector<Value> {
                Value stop = arith::MinUIOp::create(
                    b, l, arith::AddIOp::create(b, l, start, chunk), end);
                Value count = arith::SubIOp::create(b, l, stop, start);
                return SmallVector<Value>(
                    loop(b, l, c0, heads, c1, it,
                         [&](OpBuilder &b, Location l, Value r,
                             ValueRange it) -> SmallVector<Value> {
                           chunked.setHead(b, l, r);
                           ChunkVectors v{it[1], it[2],
                                          chunked.hasSegments() ? it[3] : Value()};
                           v = chunked.prepare(b, l, start, count, v);
                           Value y = chunked.step(b, l, start, count, v, it[0]);
                           SmallVector<Value> next{y, v.logDecay, v.weights};
                           if (v.segments)
                             next.push_back(v.segments);
                           return next;
                         })
                        .getResults());
              });

          SmallVector<Value> results{chunks.getResult(0)};
          if (carried.size() > 1)
            results.push_back(
                loop(b, l, c0, heads, c1, carried[1],
                     [&](OpBuilder &b, Location l, Value r,
                         ValueRange dest) -> SmallVector<Value> {
                       chunked.setHead(b, l, r);
                       return {chunked.storeState(b, l, dest[0])};
                     })
                    .getResult(0));
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
