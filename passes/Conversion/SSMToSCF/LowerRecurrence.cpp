//===- LowerRecurrence.cpp - ssm.recurrence to CPU loops ------------------===//
//
// Part of ssmc. The CPU kernel forms of the core op, each written once:
//
// - the recurrent form: a work item is a row (batch row or packed
//   sequence), a head (g, r) and a tile of state rows p; its state [N, tile]
//   lives in a scratch buffer in the compute type (rounded to the storage
//   type once, at the end) and every innermost loop runs over the tile with
//   unit stride, so LLVM vectorizes it (exp of the discretization included,
//   through the vector math library). Heads of a known size from half a
//   vector register to a few registers wide whose inner update needs no
//   per-(p, n) coefficient are handled as explicit vector values instead.
//   Where the inputs and y hold time innermost, the per-step values are
//   computed along time and transposed to lanes in registers.
// - the decode form, for recurrences with no time dimension: the state is
//   read and written in its destination (in place after bufferization),
//   one pass over it.
//
// The coefficients are the op's region, placed by CoefficientEmitter at the
// loop level each value belongs to: no per-op code here.
//
//===----------------------------------------------------------------------===//

#include "LoopHelpers.h"
#include "ssm/Conversion/CoefficientEmitter.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"
#include "ssm/Transforms/Configuration.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::lowering;

namespace {

using Scope = CoefficientEmitter::Scope;
constexpr unsigned kB = RecurrenceOp::kB, kT = RecurrenceOp::kT,
                   kG = RecurrenceOp::kG, kR = RecurrenceOp::kR,
                   kP = RecurrenceOp::kP, kN = RecurrenceOp::kN;
constexpr unsigned T = CoefficientEmitter::bit(kT), P = CoefficientEmitter::bit(kP),
                   N = CoefficientEmitter::bit(kN);

/// How one op is computed on the CPU.
struct Config {
  /// State rows per work item; nullopt: the whole (dynamic) P.
  std::optional<int64_t> tile;
  /// Every tile is full (a static P that the tile divides).
  bool fullTiles = false;
  /// The inner update on explicit vectors of `tile` lanes.
  bool vectorHead = false;
  /// The inputs and y hold time innermost (mamba_ssm's [B, D, L]): the
  /// per-step values are computed along time and transposed to lanes.
  bool timeMajor = false;
  /// Explicit-vector heads of one decay per step: each block of steps runs
  /// on the state divided by the block's running product of decays.
  bool scaledBlocks = false;
};

/// Heads handled as vector values (measured on the SSD: 0.34 -> 0.075 ns
/// per element at P = 16; at P = 4 the broadcasts cost more than they
/// save).
constexpr int64_t kMinVectorHead = 8, kMaxVectorHead = 128;
/// Steps whose per-step coefficients (step sizes, skip, gate: everything
/// but the update of the state) the recurrent form computes together, in a
/// loop of their own ahead of the recurrence over them. Inside the
/// recurrence that code (a softplus, strided reads) sat on the critical
/// path of every step; on its own it has no dependence between steps and
/// overlaps freely. 16 steps of a 64-row head are 4 KB per value.
constexpr int64_t kStepBlock = 16;
/// The widest explicit-vector head whose update takes two steps at a time.
constexpr int64_t kPairedHeadBits = 2048;
/// Explicit-vector heads: each step's output sum over n is split into
/// partial sums of kSumChainBits bits in all, at most kMaxSumChains: a
/// head of 16 f32 lanes sums in 4 chains, one of 64 lanes (4 AVX-512
/// registers, already 4 independent adds) in 1.
constexpr int64_t kSumChainBits = 2048, kMaxSumChains = 4;
/// The largest |log| of a block's running product of decays that the
/// scaled update takes (e^44 is about 2^63: far from f32's range for states
/// of any reasonable size); a block past it takes the plain update.
constexpr double kMaxLogScale = 44.0;
// Time-major values are transposed in blocks of the step block by 16
// lanes (transposeBlock).
static_assert(kTransposeSide == kStepBlock);

/// Whether the op's inputs that vary along time and the state rows, and
/// its output y, all hold time innermost. Along the lanes their elements
/// are then a row apart: read by gathers, written one by one.
bool isTimeMajor(RecurrenceOp op) {
  auto timeInnermost = [&](OpOperand &operand) {
    auto layout = op.getLayout(operand);
    return !layout.empty() && layout.back().size() == 1 && layout.back()[0] == kT;
  };
  auto names = [&](OpOperand &operand, unsigned dim) {
    return llvm::any_of(op.getLayout(operand),
                        [&](auto &group) { return llvm::is_contained(group, dim); });
  };
  bool any = false;
  for (OpOperand &input : op.getInputsMutable()) {
    if (!names(input, kT) || !names(input, kP))
      continue;
    if (!timeInnermost(input))
      return false;
    any = true;
  }
  return any && timeInnermost(op.getYInitMutable());
}

/// The configuration ssm-select-algorithm recorded (its defaults where the
/// op went through no configuration step), and whether the inner update
/// can use explicit vectors.
Config configure(RecurrenceOp op, const CoefficientEmitter &emitter) {
  Config config;
  int64_t rows = op.getStaticExtents()[kP];
  config.tile = op.getTileAttr() ? std::optional<int64_t>(op.getTileAttr().getInt())
                                 : cpuTile(op);
  config.fullTiles = config.tile && !ShapedType::isDynamic(rows) &&
                     rows % *config.tile == 0;
  // Explicit vectors when every operand of the inner update is a
  // per-step scalar, a per-row vector or a per-entry scalar.
  config.vectorHead = op.getTransition() == Transition::scalar &&
                      op.hasDim(kT) && config.fullTiles &&
                      *config.tile >= kMinVectorHead && *config.tile <= kMaxVectorHead &&
                      op.hasOuterProductTerms();
  config.scaledBlocks =
      config.vectorHead &&
      !(emitter.dependences(op.getYield().getRole(YieldOp::kDecay)) & (P | N));
  int64_t length = op.getStaticExtents()[kT];
  config.timeMajor = op.hasDim(kT) && config.fullTiles &&
                     *config.tile % kTransposeSide == 0 &&
                     (ShapedType::isDynamic(length) || length >= kStepBlock) &&
                     isTimeMajor(op);
  return config;
}

/// Builds the loops of one op; shared by both forms.
class Lowering {
public:
  Lowering(PatternRewriter &rewriter, RecurrenceOp op)
      : rewriter(rewriter), op(op), loc(op.getLoc()), ct(op.getComputeType()),
        extents(recurrenceExtents(rewriter, loc, op)), emitter(op, extents),
        yield(op.getYield()), config(configure(op, emitter)) {
    c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    tile = config.tile ? arith::ConstantIndexOp::create(rewriter, loc, *config.tile)
                             .getResult()
                       : extents[kP];
  }

  void lowerRecurrent();
  void lowerDecode();

private:
  /// A loop over the item's lanes binding `p` in a child of `parent`.
  void overLanes(OpBuilder &b, Location l, const Scope &parent,
                 function_ref<void(OpBuilder &, Location, Scope &)> body) {
    forRange(b, l, c0, width, [&](OpBuilder &b, Location l, Value lane) {
      Scope scope(&parent);
      bindLane(b, l, scope, lane);
      body(b, l, scope);
    });
  }
  void bindLane(OpBuilder &b, Location l, Scope &scope, Value lane) {
    scope.lane = lane;
    scope.index[kP] = arith::AddIOp::create(b, l, firstRow, lane);
  }
  /// The decay at `scope` (exp of the yield with log_decay).
  Value decayAt(OpBuilder &b, Location l, Scope &scope) {
    Value decay = emitter.emit(b, l, yield.getRole(YieldOp::kDecay), scope);
    return op.getLogDecay() ? math::ExpOp::create(b, l, decay).getResult() : decay;
  }
  /// A loop over the state entries binding `n` in a child of `parent`.
  void overEntries(OpBuilder &b, Location l, const Scope &parent,
                   function_ref<void(OpBuilder &, Location, Scope &)> body) {
    forRange(b, l, c0, extents[kN], [&](OpBuilder &b, Location l, Value n) {
      Scope scope(&parent);
      scope.index[kN] = n;
      body(b, l, scope);
    });
  }
  /// Loops over the item's [N, tile] state, n outer.
  void overState(OpBuilder &b, Location l, const Scope &parent,
                 function_ref<void(OpBuilder &, Location, Scope &)> body) {
    overEntries(b, l, parent, [&](OpBuilder &b, Location l, Scope &sn) {
      overLanes(b, l, sn, body);
    });
  }
  /// Binds the work item `item` of the grid: head (g, r) and tile.
  void bindItem(OpBuilder &b, Location l, Scope &scope, Value col);
  void storeOutput(OpBuilder &b, Location l, Value &y, Scope &scope, Value value);
  /// Heads times tiles of rows.
  Value columnCount(OpBuilder &b, Location l);

  /// What the recurrent form keeps per work item.
  struct Item {
    Scope scope;
    Value row, begin, end;
    /// State [N, tile]; output sums and gates of a block of steps
    /// [kStepBlock, tile].
    Value h, acc, gates;
    /// Coefficients computed per step ahead of the recurrence, along p or
    /// not, and their [kStepBlock, tile] or [kStepBlock] buffers.
    SmallVector<Value> stepValues, stepBuffers;
    /// Time-major: [tile, kStepBlock] buffers the values along p are
    /// computed into before they are transposed into stepBuffers (null for
    /// the others), and the output sums' (acc's) counterpart. The gates
    /// are [tile, kStepBlock] then.
    SmallVector<Value> laneMajorBuffers;
    Value laneMajorAcc;
    /// Scaled blocks: each step's running product of decays and its
    /// inverse, [kStepBlock].
    Value scales, inverses;
  };
  /// Computes the planned values of `level` (p, n or both, no t) once per
  /// item into scratch buffers.
  void materializeLevel(OpBuilder &b, Location l, Item &item, unsigned level);
  void prepareItem(OpBuilder &b, Location l, Item &item);
  Value loadState(OpBuilder &b, Location l, Value state, Scope &s, Value row);
  /// The scope of step `i` (counted from item.begin in the order of
  /// processing), the `s`-th of its block, in `parent` (default: the
  /// item's scope).
  Scope stepScope(OpBuilder &b, Location l, const Item &item, Value i, Value s,
                  const Scope *parent = nullptr);
  /// Computes the block's per-step values, the skips the output sums
  /// start from and the gates into the item's scratch.
  void computeStepValues(OpBuilder &b, Location l, Item &item, Value first,
                         Value count);
  /// Copies the 16 x 16 blocks of `from` transposed into `to`: [tile, 16]
  /// to [16, tile], or back (`toLaneMajor`).
  void transpose(OpBuilder &b, Location l, Value from, Value to, bool toLaneMajor);
  /// The block of `count` steps from `first`: the per-step coefficients,
  /// then the recurrence, then the outputs; returns the updated y.
  Value block(OpBuilder &b, Location l, Item &item, Value first, Value count,
              Value y);
  /// The state update and output sums of one step, with scalar loops over
  /// the lanes (LLVM vectorizes them) or on explicit vectors.
  void updateScalar(OpBuilder &b, Location l, Item &item, Scope &step,
                    Value stepDecay);
  /// updateVector takes consecutive steps together, each with its decay:
  /// a state row is then loaded and stored once for all of them. With
  /// `scales` (scaled blocks), the state is the true one divided by the
  /// block's running product of decays, each step's scale: no decay
  /// multiplies it, the input terms are divided by the scale and the sums
  /// multiplied by it (`inverses` holds 1 / scale).
  void updateVector(OpBuilder &b, Location l, Item &item, ArrayRef<Scope *> steps,
                    ArrayRef<Value> stepDecays, ArrayRef<Value> scales = {},
                    ArrayRef<Value> inverses = {});
  /// Computes the running product of the block's decays (scaled blocks)
  /// into `scales` and its inverse into `inverses` ([kStepBlock] each);
  /// returns whether every product is within e^±kMaxLogScale.
  Value blockScales(OpBuilder &b, Location l, Item &item, Value first, Value count,
                    Value scales, Value inverses);
  /// Writes the block's outputs, gated, into `y`; returns it.
  Value storeOutputs(OpBuilder &b, Location l, Item &item, Value first, Value count,
                     Value y);
  Value storeFinalState(OpBuilder &b, Location l, Item &item, Value dest);

  PatternRewriter &rewriter;
  RecurrenceOp op;
  Location loc;
  Type ct;
  SmallVector<Value> extents;
  CoefficientEmitter emitter;
  YieldOp yield;
  Config config;
  Value c0, c1, tile;
  // Per work item, set by bindItem.
  Value firstRow, width;
};

void Lowering::bindItem(OpBuilder &b, Location l, Scope &scope, Value col) {
  Value tiles = arith::CeilDivUIOp::create(b, l, extents[kP], tile);
  Value tileIndex = arith::RemUIOp::create(b, l, col, tiles);
  Value head = arith::DivUIOp::create(b, l, col, tiles);
  scope.index[kR] = arith::RemUIOp::create(b, l, head, extents[kR]);
  scope.index[kG] = arith::DivUIOp::create(b, l, head, extents[kR]);
  firstRow = arith::MulIOp::create(b, l, tileIndex, tile);
  // Full tiles have a constant width: their lane loops then vectorize with
  // no remainder or trip-count checks.
  width = config.fullTiles
              ? tile
              : arith::MinUIOp::create(b, l, tile,
                                       arith::SubIOp::create(b, l, extents[kP], firstRow))
                    .getResult();
}

void Lowering::storeOutput(OpBuilder &b, Location l, Value &y, Scope &scope,
                           Value value) {
  OpOperand &yInit = op.getYInitMutable();
  Type element = getElementTypeOrSelf(yInit.get().getType());
  y = tensor::InsertOp::create(b, l, convertFloat(b, l, value, element), y,
                               emitter.indicesOf(b, l, yInit, scope));
}


Value Lowering::columnCount(OpBuilder &b, Location l) {
  return arith::MulIOp::create(
      b, l, arith::MulIOp::create(b, l, extents[kG], extents[kR]),
      arith::CeilDivUIOp::create(b, l, extents[kP], tile));
}

void Lowering::materializeLevel(OpBuilder &b, Location l, Item &item,
                                unsigned level) {
  SmallVector<Value> values = emitter.plannedAt(level);
  if (values.empty())
    return;
  SmallVector<Value> sizes;
  if (level & N)
    sizes.push_back(extents[kN]);
  if (level & P)
    sizes.push_back(tile);
  SmallVector<Value> buffers;
  for (size_t i = 0; i < values.size(); ++i)
    buffers.push_back(allocScratch(b, l, sizes, ct));
  auto store = [&](OpBuilder &b, Location l, Scope &scope) {
    for (auto [v, buffer] : llvm::zip(values, buffers))
      emitter.store(b, l, v, scope, buffer);
  };
  if (level == P)
    overLanes(b, l, item.scope, store);
  else if (level == N)
    overEntries(b, l, item.scope, store);
  else
    overState(b, l, item.scope, store);
  for (auto [v, buffer] : llvm::zip(values, buffers))
    emitter.materialize(v, buffer);
}

void Lowering::prepareItem(OpBuilder &b, Location l, Item &item) {
  for (Value v : emitter.plannedAt(0))
    emitter.emit(b, l, v, item.scope);
  // Per-item coefficients that vary along p and/or n, computed once.
  for (unsigned level : {P, N, P | N})
    materializeLevel(b, l, item, level);
  // The state [N, tile], from the destination or zero.
  item.h = allocScratch(b, l, {extents[kN], tile}, ct);
  overState(b, l, item.scope, [&](OpBuilder &b, Location l, Scope &s) {
    Value v = op.getState() ? loadState(b, l, op.getState(), s, item.row)
                            : buildFloat(b, l, ct, 0.0);
    memref::StoreOp::create(b, l, v, item.h, ValueRange{s.index[kN], s.lane});
  });
  // Per-block scratch: the per-step coefficients, the output sums, the
  // gates; no longer than a sequence of known length.
  std::optional<int64_t> length = getConstantIntValue(extents[kT]);
  Value steps = arith::ConstantIndexOp::create(
      b, l, length ? std::clamp<int64_t>(*length, 1, kStepBlock) : kStepBlock);
  item.stepValues.clear();
  item.stepBuffers.clear();
  for (unsigned level : {T, T | P})
    for (Value v : emitter.plannedAt(level)) {
      item.stepValues.push_back(v);
      item.stepBuffers.push_back(level & P ? allocScratch(b, l, {steps, tile}, ct)
                                           : allocScratch(b, l, {steps}, ct));
    }
  item.acc = allocScratch(b, l, {steps, tile}, ct);
  if (config.scaledBlocks) {
    item.scales = allocScratch(b, l, {steps}, ct);
    item.inverses = allocScratch(b, l, {steps}, ct);
  }
  item.laneMajorBuffers.clear();
  if (config.timeMajor) {
    for (Value v : item.stepValues)
      item.laneMajorBuffers.push_back(emitter.dependences(v) & P ? allocScratch(b, l, {tile, steps}, ct)
                                                                 : Value());
    item.laneMajorAcc = allocScratch(b, l, {tile, steps}, ct);
  }
  SmallVector<Value, 2> gateSizes{steps, tile};
  if (config.timeMajor)
    std::swap(gateSizes[0], gateSizes[1]);
  item.gates = yield.getRole(YieldOp::kGate) ? allocScratch(b, l, gateSizes, ct) : Value();
}

Value Lowering::loadState(OpBuilder &b, Location l, Value state, Scope &s,
                          Value row) {
  return load(b, l, state,
              emitter.indicesOf(b, l, op.getStateMutable()[0], s, row), ct);
}

void Lowering::updateScalar(OpBuilder &b, Location l, Item &item, Scope &step,
                            Value stepDecay) {
  overEntries(b, l, step, [&](OpBuilder &b, Location l, Scope &sn) {
    for (Value v : emitter.plannedAt(T | N))
      emitter.emit(b, l, v, sn);
    overLanes(b, l, sn, [&](OpBuilder &b, Location l, Scope &s) {
      Value decay = stepDecay ? stepDecay : decayAt(b, l, s);
      Value input = emitter.emitInput(b, l, s);
      SmallVector<Value, 2> at{s.index[kN], s.lane};
      Value next =
          buildFMA(b, l, input, decay, memref::LoadOp::create(b, l, item.h, at));
      memref::StoreOp::create(b, l, next, item.h, at);
      SmallVector<Value, 2> out{s.step, s.lane};
      memref::StoreOp::create(
          b, l,
          buildReductionFMA(b, l, memref::LoadOp::create(b, l, item.acc, out),
                            emitter.emit(b, l, yield.getRole(YieldOp::kQuery), s),
                            next),
          item.acc, out);
    });
  });
}

void Lowering::updateVector(OpBuilder &b, Location l, Item &item,
                            ArrayRef<Scope *> steps, ArrayRef<Value> stepDecays,
                            ArrayRef<Value> scales, ArrayRef<Value> inverses) {
  // The head's rows as one vector value: state rows loaded and stored
  // whole, once per entry for all the steps; the output sums in registers
  // across n.
  VectorType type = VectorType::get({*config.tile}, ct);
  auto flags = arith::FastMathFlagsAttr::get(
      b.getContext(), arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
  // Per step, each term's value: one that depends on p was stored per lane
  // (configure() checked).
  SmallVector<SmallVector<Value, 2>> values;
  SmallVector<Value> decays, sums;
  Value zeros = buildFloat(b, l, type, 0.0);
  for (auto [k, step] : llvm::enumerate(steps)) {
    SmallVector<Value, 2> &stepValues = values.emplace_back();
    for (unsigned i = 0; i < op.getNumTerms(); ++i) {
      Value value = yield.getTerm(i).first;
      Value v = emitter.dependences(value) & P
                    ? vector::LoadOp::create(b, l, type, emitter.scratchOf(value),
                                             ValueRange{step->step, c0})
                          .getResult()
                    : vector::BroadcastOp::create(b, l, type,
                                                  emitter.emit(b, l, value, *step))
                          .getResult();
      if (!inverses.empty())
        v = arith::MulFOp::create(
            b, l, v, vector::BroadcastOp::create(b, l, type, inverses[k]), flags);
      stepValues.push_back(v);
    }
    decays.push_back(scales.empty()
                         ? vector::BroadcastOp::create(b, l, type, stepDecays[k]).getResult()
                         : Value());
    // Scaled, a step's sum over n is scaled once after the loop.
    sums.push_back(scales.empty() ? vector::LoadOp::create(b, l, type, item.acc,
                                                           ValueRange{step->step, c0})
                                        .getResult()
                                  : zeros);
  }
  // A step's sum over n is a chain of dependent adds; a narrow head splits
  // it into `chains` partial sums (entries n, n + chains, ...), so that
  // enough adds are in flight to cover their latency. An SSD of heads of
  // 16 channels (H = 192, N = 128, L = 512, one thread; 4 chains): 0.102-0.110
  // -> 0.090-0.094 ns per element.
  int64_t entries = op.getStaticExtents()[kN];
  int64_t chains = std::clamp<int64_t>(
      kSumChainBits / (*config.tile * ct.getIntOrFloatBitWidth()), 1, kMaxSumChains);
  if (ShapedType::isDynamic(entries) || entries % chains)
    chains = 1;
  // Chain j's sums of the steps are carried at [j * steps, (j + 1) * steps).
  SmallVector<Value> carried(sums);
  carried.append((chains - 1) * steps.size(), zeros);
  // Entry n of every step, adding into `accs`.
  auto entry = [&](OpBuilder &b, Location l, Value n, MutableArrayRef<Value> accs) {
    Value h = vector::LoadOp::create(b, l, type, item.h, ValueRange{n, c0});
    for (auto [k, step] : llvm::enumerate(steps)) {
      Scope sn(step);
      sn.index[kN] = n;
      auto splat = [&](Value v) -> Value {
        return vector::BroadcastOp::create(b, l, type, emitter.emit(b, l, v, sn));
      };
      Value input;
      for (unsigned i = 0; i < op.getNumTerms(); ++i) {
        Value term = arith::MulFOp::create(b, l, values[k][i],
                                           splat(yield.getTerm(i).second), flags);
        input = input ? arith::AddFOp::create(b, l, input, term, flags).getResult()
                      : term;
      }
      if (decays[k])
        h = arith::MulFOp::create(b, l, decays[k], h, flags);
      h = arith::AddFOp::create(b, l, h, input, flags);
      accs[k] = arith::AddFOp::create(
          b, l, accs[k],
          arith::MulFOp::create(b, l, splat(yield.getRole(YieldOp::kQuery)), h, flags),
          flags);
    }
    vector::StoreOp::create(b, l, h, item.h, ValueRange{n, c0});
  };
  auto loop = scf::ForOp::create(
      b, l, c0, extents[kN], arith::ConstantIndexOp::create(b, l, chains), carried,
      [&](OpBuilder &b, Location l, Value n, ValueRange accs) {
        SmallVector<Value> next(accs);
        for (int64_t j = 0; j < chains; ++j)
          entry(b, l, arith::AddIOp::create(b, l, n, arith::ConstantIndexOp::create(b, l, j)),
                MutableArrayRef<Value>(next).slice(j * steps.size(), steps.size()));
        scf::YieldOp::create(b, l, next);
      });
  for (auto [k, step] : llvm::enumerate(steps)) {
    Value sum = loop.getResult(k);
    for (int64_t j = 1; j < chains; ++j)
      sum = arith::AddFOp::create(b, l, sum, loop.getResult(j * steps.size() + k), flags);
    Value total = sum;
    if (!scales.empty()) {
      Value acc = vector::LoadOp::create(b, l, type, item.acc, ValueRange{step->step, c0});
      total = arith::AddFOp::create(
          b, l, acc,
          arith::MulFOp::create(b, l, vector::BroadcastOp::create(b, l, type, scales[k]),
                                sum, flags),
          flags);
    }
    vector::StoreOp::create(b, l, total, item.acc, ValueRange{step->step, c0});
  }
}

Value Lowering::blockScales(OpBuilder &b, Location l, Item &item, Value first,
                            Value count, Value scales, Value inverses) {
  // With the decays given as logarithms, the running sum of the logs and
  // exp of it, both ways: no product rounds 16 times and no division.
  bool logs = op.getLogDecay();
  Value decay = yield.getRole(YieldOp::kDecay);
  Value start = buildFloat(b, l, ct, logs ? 0.0 : 1.0);
  auto loop = scf::ForOp::create(
      b, l, c0, count, c1, ValueRange{start, start, start},
      [&](OpBuilder &b, Location l, Value s, ValueRange carried) {
        Scope step = stepScope(b, l, item, arith::AddIOp::create(b, l, first, s), s);
        Value d = emitter.emit(b, l, decay, step);
        Value running = logs ? arith::AddFOp::create(b, l, carried[0], d).getResult()
                             : arith::MulFOp::create(b, l, carried[0], d).getResult();
        Value scale = logs ? math::ExpOp::create(b, l, running).getResult() : running;
        Value inverse =
            logs ? math::ExpOp::create(b, l, arith::NegFOp::create(b, l, running)).getResult()
                 : arith::DivFOp::create(b, l, buildFloat(b, l, ct, 1.0), running)
                       .getResult();
        memref::StoreOp::create(b, l, scale, scales, s);
        memref::StoreOp::create(b, l, inverse, inverses, s);
        scf::YieldOp::create(
            b, l,
            ValueRange{running, arith::MinimumFOp::create(b, l, carried[1], running),
                       arith::MaximumFOp::create(b, l, carried[2], running)});
      });
  // Ordered compares: a NaN anywhere takes the plain update, which keeps it.
  double bound = kMaxLogScale;
  Value lo = buildFloat(b, l, ct, logs ? -bound : std::exp(-bound));
  Value hi = buildFloat(b, l, ct, logs ? bound : std::exp(bound));
  return arith::AndIOp::create(
      b, l, arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, loop.getResult(1), lo),
      arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLE, loop.getResult(2), hi));
}

Scope Lowering::stepScope(OpBuilder &b, Location l, const Item &item, Value i,
                          Value s, const Scope *parent) {
  Scope step(parent ? parent : &item.scope);
  step.index[kT] = op.getDirection() == Direction::reverse
                       ? arith::SubIOp::create(
                             b, l, arith::SubIOp::create(b, l, item.end, c1),
                             arith::SubIOp::create(b, l, i, item.begin))
                             .getResult()
                       : i;
  step.step = s;
  step.hasPrevious = emitter.hasPreviousStep(b, l, i, step.index[kT], item.begin,
                                             item.scope.index[kB]);
  return step;
}

void Lowering::transpose(OpBuilder &b, Location l, Value from, Value to,
                         bool toLaneMajor) {
  // Per block of 16 lanes, the [16, tile] buffer's block at (0, lane0) and
  // the [tile, 16] one's at (lane0, 0).
  Value blockStep = arith::ConstantIndexOp::create(b, l, kTransposeSide);
  scf::ForOp::create(b, l, c0, tile, blockStep, ValueRange{},
                     [&](OpBuilder &b, Location l, Value lane0, ValueRange) {
                       if (toLaneMajor)
                         transposeBlock(b, l, from, c0, lane0, to, lane0, c0);
                       else
                         transposeBlock(b, l, from, lane0, c0, to, c0, lane0);
                       scf::YieldOp::create(b, l);
                     });
}

void Lowering::computeStepValues(OpBuilder &b, Location l, Item &item,
                                 Value first, Value count) {
  Value skip = yield.getRole(YieldOp::kSkip), gate = yield.getRole(YieldOp::kGate);
  auto stepAt = [&](OpBuilder &b, Location l, Value s, const Scope *parent) {
    return stepScope(b, l, item, arith::AddIOp::create(b, l, first, s), s, parent);
  };
  // What a (step, lane) point stores: the per-step values along p, the skip
  // (the output sum's start) and the gate, at [step, lane] or, time-major,
  // [lane, step].
  auto storePoint = [&](OpBuilder &b, Location l, Scope &at) {
    SmallVector<Value, 2> where{at.step, at.lane};
    if (config.timeMajor)
      std::swap(where[0], where[1]);
    ArrayRef<Value> buffers = config.timeMajor ? item.laneMajorBuffers : item.stepBuffers;
    for (auto [v, buffer] : llvm::zip(item.stepValues, buffers))
      if (emitter.dependences(v) & P)
        memref::StoreOp::create(b, l, emitter.emit(b, l, v, at), buffer, where);
    memref::StoreOp::create(b, l, emitter.emit(b, l, skip, at),
                            config.timeMajor ? item.laneMajorAcc : item.acc, where);
    if (gate)
      memref::StoreOp::create(b, l, emitter.emit(b, l, gate, at), item.gates, where);
  };
  auto storeStep = [&](OpBuilder &b, Location l, Scope &step) {
    for (auto [v, buffer] : llvm::zip(item.stepValues, item.stepBuffers))
      if (!(emitter.dependences(v) & P))
        emitter.store(b, l, v, step, buffer, /*perStep=*/true);
  };
  if (!config.timeMajor) {
    forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value s) {
      Scope step = stepAt(b, l, s, nullptr);
      storeStep(b, l, step);
      overLanes(b, l, step, storePoint);
    });
  } else {
    // Lanes outer and steps inner, so that the inner loop reads and writes
    // along time with unit stride and vectorizes without gathers; the
    // values then move to [step, lane] through registers. The Mamba-1 scan
    // of bench/ (D = 1536, N = 16, L = 512, one thread): 6.67 -> 6.41 ms.
    forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value s) {
      Scope step = stepAt(b, l, s, nullptr);
      storeStep(b, l, step);
    });
    for (auto [v, buffer] : llvm::zip(item.stepValues, item.stepBuffers))
      if (!(emitter.dependences(v) & P))
        emitter.materialize(v, buffer, /*perStep=*/true);
    overLanes(b, l, item.scope, [&](OpBuilder &b, Location l, Scope &lane) {
      forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value s) {
        Scope at = stepAt(b, l, s, &lane);
        storePoint(b, l, at);
      });
    });
    for (auto [buffer, laneMajor] : llvm::zip(item.stepBuffers, item.laneMajorBuffers))
      if (laneMajor)
        transpose(b, l, laneMajor, buffer, /*toLaneMajor=*/false);
    transpose(b, l, item.laneMajorAcc, item.acc, /*toLaneMajor=*/false);
  }
  for (auto [v, buffer] : llvm::zip(item.stepValues, item.stepBuffers))
    emitter.materialize(v, buffer, /*perStep=*/true);
}

Value Lowering::block(OpBuilder &b, Location l, Item &item, Value first,
                      Value count, Value y) {
  // The per-step coefficients of the block, then the scratch holds them.
  computeStepValues(b, l, item, first, count);

  // The recurrence over the block. Explicit-vector heads of up to 2048
  // bits take two steps at a time where no segment can start between them:
  // each state row is loaded and stored once for both (at P = 64, N = 128
  // the 32 KB state otherwise makes the update bound by L1 stores; 0.050 ->
  // 0.044 ns per element). The state row, two values and two sums are then
  // 20 of AVX-512's 32 registers; four steps gained 2 % more, and wider
  // heads would spill.
  unsigned decayLevel = emitter.dependences(yield.getRole(YieldOp::kDecay)) & (P | N);
  auto stepAt = [&](OpBuilder &b, Location l, Value s) {
    Value i = arith::AddIOp::create(b, l, first, s);
    Scope step = stepScope(b, l, item, i, s);
    if (Value cut = emitter.cutBefore(b, l, i, step.index[kT], item.begin,
                                      item.scope.index[kB]))
      scf::IfOp::create(b, l, cut, [&](OpBuilder &b, Location l) {
        overState(b, l, item.scope, [&](OpBuilder &b, Location l, Scope &at) {
          memref::StoreOp::create(b, l, buildFloat(b, l, ct, 0.0), item.h,
                                  ValueRange{at.index[kN], at.lane});
        });
        scf::YieldOp::create(b, l);
      });
    return step;
  };
  // The steps, one or two per pass over the state; `scaled` gives the
  // scaled blocks' per-step scales and inverses.
  bool paired = config.vectorHead && !op.getReset() && !op.getSeqIdx() &&
                *config.tile * ct.getIntOrFloatBitWidth() <= kPairedHeadBits;
  auto recurrence = [&](OpBuilder &b, Location l, Value scales, Value inverses) {
    auto update = [&](OpBuilder &b, Location l, ArrayRef<Scope *> steps) {
      SmallVector<Value, 2> decays, stepScales, stepInverses;
      for (Scope *step : steps) {
        if (scales) {
          stepScales.push_back(memref::LoadOp::create(b, l, scales, step->step));
          stepInverses.push_back(memref::LoadOp::create(b, l, inverses, step->step));
        } else {
          decays.push_back(decayLevel ? Value() : decayAt(b, l, *step));
        }
      }
      if (config.vectorHead)
        updateVector(b, l, item, steps, decays, stepScales, stepInverses);
      else
        updateScalar(b, l, item, *steps[0], decays[0]);
    };
    auto single = [&](OpBuilder &b, Location l, Value s) {
      Scope step = stepAt(b, l, s);
      update(b, l, {&step});
    };
    if (!paired) {
      forRange(b, l, c0, count, single);
      return;
    }
    Value c2 = arith::ConstantIndexOp::create(b, l, 2);
    Value pairs = arith::SubIOp::create(b, l, count, arith::RemUIOp::create(b, l, count, c2));
    scf::ForOp::create(b, l, c0, pairs, c2, ValueRange{},
                       [&](OpBuilder &b, Location l, Value s, ValueRange) {
                         Scope first = stepAt(b, l, s);
                         Scope second = stepAt(b, l, arith::AddIOp::create(b, l, s, c1));
                         update(b, l, {&first, &second});
                         scf::YieldOp::create(b, l);
                       });
    forRange(b, l, pairs, count, single);
  };
  if (!config.scaledBlocks) {
    recurrence(b, l, Value(), Value());
  } else {
    // Scaled blocks: the state divided by the running product of the
    // block's decays needs no decay per step, so each (step, entry) of a
    // row is two FMAs instead of three operations (bench/'s SSD, P = 64,
    // N = 128, one thread: L = 512 9.63 -> 8.78 ms, L = 4096 82.9 -> 74.0
    // ms). The true state comes back at the block's end. A block whose
    // product leaves e^±44 takes the plain update.
    Value scales = item.scales, inverses = item.inverses;
    Value inRange = blockScales(b, l, item, first, count, scales, inverses);
    scf::IfOp::create(
        b, l, inRange,
        [&](OpBuilder &b, Location l) {
          recurrence(b, l, scales, inverses);
          Value last = memref::LoadOp::create(b, l, scales,
                                              ValueRange{arith::SubIOp::create(b, l, count, c1)});
          VectorType type = VectorType::get({*config.tile}, ct);
          Value factor = vector::BroadcastOp::create(b, l, type, last);
          forRange(b, l, c0, extents[kN], [&](OpBuilder &b, Location l, Value n) {
            Value row = vector::LoadOp::create(b, l, type, item.h, ValueRange{n, c0});
            vector::StoreOp::create(b, l, arith::MulFOp::create(b, l, row, factor), item.h,
                                    ValueRange{n, c0});
          });
          scf::YieldOp::create(b, l);
        },
        [&](OpBuilder &b, Location l) {
          recurrence(b, l, Value(), Value());
          scf::YieldOp::create(b, l);
        });
  }

  return storeOutputs(b, l, item, first, count, y);
}

Value Lowering::storeOutputs(OpBuilder &b, Location l, Item &item, Value first,
                             Value count, Value y) {
  // Steps outer, or, time-major, the sums back to [lane, step] and each
  // lane's steps written along time.
  bool laneMajor = config.timeMajor;
  if (laneMajor)
    transpose(b, l, item.acc, item.laneMajorAcc, /*toLaneMajor=*/true);
  Value acc = laneMajor ? item.laneMajorAcc : item.acc;
  // A child of `parent` that binds the step `s`, or the lane.
  auto bindStep = [&](OpBuilder &b, Location l, const Scope &parent, Value s) {
    return stepScope(b, l, item, arith::AddIOp::create(b, l, first, s), s, &parent);
  };
  auto bindLaneIn = [&](OpBuilder &b, Location l, const Scope &parent, Value lane) {
    Scope at(&parent);
    bindLane(b, l, at, lane);
    return at;
  };
  auto outer = scf::ForOp::create(
      b, l, c0, laneMajor ? width : count, c1, ValueRange{y},
      [&](OpBuilder &b, Location l, Value i, ValueRange ys) {
        Scope row = laneMajor ? bindLaneIn(b, l, item.scope, i) : bindStep(b, l, item.scope, i);
        auto inner = scf::ForOp::create(
            b, l, c0, laneMajor ? count : width, c1, ys,
            [&](OpBuilder &b, Location l, Value j, ValueRange yc) {
              Scope at = laneMajor ? bindStep(b, l, row, j) : bindLaneIn(b, l, row, j);
              SmallVector<Value, 2> where{at.step, at.lane};
              if (laneMajor)
                std::swap(where[0], where[1]);
              Value v = memref::LoadOp::create(b, l, acc, where);
              if (item.gates)
                v = arith::MulFOp::create(b, l, v,
                                          memref::LoadOp::create(b, l, item.gates, where));
              Value next = yc[0];
              storeOutput(b, l, next, at, v);
              scf::YieldOp::create(b, l, next);
            });
        scf::YieldOp::create(b, l, inner.getResults());
      });
  return outer.getResult(0);
}

Value Lowering::storeFinalState(OpBuilder &b, Location l, Item &item, Value dest) {
  // The final state, rounded once.
  OpOperand &stateOperand = op.getStateMutable()[0];
  Type element = getElementTypeOrSelf(dest.getType());
  auto entries = scf::ForOp::create(
      b, l, c0, extents[kN], c1, ValueRange{dest},
      [&](OpBuilder &b, Location l, Value n, ValueRange dest) {
        auto lanes = scf::ForOp::create(
            b, l, c0, width, c1, dest,
            [&](OpBuilder &b, Location l, Value lane, ValueRange dest) {
              Scope s(&item.scope);
              bindLane(b, l, s, lane);
              s.index[kN] = n;
              Value v = memref::LoadOp::create(b, l, item.h, ValueRange{n, lane});
              scf::YieldOp::create(
                  b, l,
                  ValueRange{tensor::InsertOp::create(
                      b, l, convertFloat(b, l, v, element), dest[0],
                      emitter.indicesOf(b, l, stateOperand, s, item.row))});
            });
        scf::YieldOp::create(b, l, lanes.getResults());
      });
  return entries.getResult(0);
}

void Lowering::lowerRecurrent() {
  Value state = op.getState(), cu = op.getCuSeqlens();
  emitter.planLevels({T | P | N, T | P | N, T | P | N, T | P | N, T | P, T | P},
                     T | P | N);
  SmallVector<Value> carried{op.getYInit()};
  if (state)
    carried.push_back(state);
  scf::ForOp grid = buildItemLoop(
      rewriter, loc, recurrenceRows(rewriter, loc, extents, op.getCuSeqlens()), columnCount(rewriter, loc), carried,
      [&](OpBuilder &b, Location l, Value row, Value col,
          ValueRange carried) -> SmallVector<Value> {
        Item item;
        item.row = row;
        item.scope.index[kB] = cu ? c0 : row;
        bindItem(b, l, item.scope, col);
        item.begin = c0;
        item.end = extents[kT];
        if (cu)
          std::tie(item.begin, item.end) = sequenceBounds(b, l, cu, row, extents[kT]);
        prepareItem(b, l, item);
        Value blockSize = arith::ConstantIndexOp::create(b, l, kStepBlock);
        auto timeLoop = scf::ForOp::create(
            b, l, item.begin, item.end, blockSize, ValueRange{carried[0]},
            [&](OpBuilder &b, Location l, Value first, ValueRange y) {
              Value count = arith::MinUIOp::create(
                  b, l, blockSize, arith::SubIOp::create(b, l, item.end, first));
              scf::YieldOp::create(b, l, block(b, l, item, first, count, y[0]));
            });
        if (!state)
          return {timeLoop.getResult(0)};
        return {timeLoop.getResult(0), storeFinalState(b, l, item, carried[1])};
      });
  rewriter.replaceOp(op, grid.getResults());
}

void Lowering::lowerDecode() {
  OpOperand &stateOperand = op.getStateMutable()[0];
  Type stateElement = getElementTypeOrSelf(op.getState().getType());
  emitter.planLevels({P | N, P | N, P | N, P | N, P, P}, P | N);
  unsigned decayLevel = emitter.dependences(yield.getRole(YieldOp::kDecay)) & (P | N);
  Value cols = columnCount(rewriter, loc);
  // The destinations are the loop-carried tensors: bufferization writes the
  // new state into the buffer of `state` in place.
  scf::ForOp grid = buildItemLoop(
      rewriter, loc, extents[kB], cols, ValueRange{op.getYInit(), op.getState()},
      [&](OpBuilder &b, Location l, Value row, Value col,
          ValueRange carried) -> SmallVector<Value> {
        Scope item;
        item.index[kB] = row;
        bindItem(b, l, item, col);
        for (Value v : emitter.plannedAt(0))
          emitter.emit(b, l, v, item);
        Value itemDecay = decayLevel ? Value() : decayAt(b, l, item);
        auto lanes = scf::ForOp::create(
            b, l, c0, width, c1, carried,
            [&](OpBuilder &b, Location l, Value lane, ValueRange carried) {
              Scope s(&item);
              bindLane(b, l, s, lane);
              for (Value v : emitter.plannedAt(P))
                emitter.emit(b, l, v, s);
              Value rowDecay =
                  itemDecay ? itemDecay : (decayLevel & N) ? Value() : decayAt(b, l, s);
              auto entries = scf::ForOp::create(
                  b, l, c0, extents[kN], c1,
                  ValueRange{carried[1], emitter.emit(b, l, yield.getRole(YieldOp::kSkip), s)},
                  [&](OpBuilder &b, Location l, Value n, ValueRange inner) {
                    Scope sn(&s);
                    sn.index[kN] = n;
                    SmallVector<Value> at = emitter.indicesOf(b, l, stateOperand, sn);
                    Value decay = rowDecay ? rowDecay : decayAt(b, l, sn);
                    Value next = buildFMA(b, l, emitter.emitInput(b, l, sn), decay,
                                          load(b, l, inner[0], at, ct));
                    Value newState = tensor::InsertOp::create(
                        b, l, convertFloat(b, l, next, stateElement), inner[0], at);
                    Value sum = buildReductionFMA(
                        b, l, inner[1], next,
                        emitter.emit(b, l, yield.getRole(YieldOp::kQuery), sn));
                    scf::YieldOp::create(b, l, ValueRange{newState, sum});
                  });
              Value v = entries.getResult(1);
              if (Value gate = yield.getRole(YieldOp::kGate))
                v = arith::MulFOp::create(b, l, v, emitter.emit(b, l, gate, s));
              Value y = carried[0];
              storeOutput(b, l, y, s, v);
              scf::YieldOp::create(b, l, ValueRange{y, entries.getResult(0)});
            });
        return SmallVector<Value>(lanes.getResults());
      });
  rewriter.replaceOp(op, grid.getResults());
}

struct LowerRecurrence : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getForm() == RecurrenceForm::chunked)
      return failure();
    bool decode = !op.hasDim(RecurrenceOp::kT) && op.getState() && !op.getReset() &&
                  !op.getSeqIdx() && !op.getCuSeqlens();
    Lowering lowering(rewriter, op);
    if (decode)
      lowering.lowerDecode();
    else
      lowering.lowerRecurrent();
    return success();
  }
};

} // namespace

void lowering::populateRecurrencePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRecurrence>(patterns.getContext());
}
