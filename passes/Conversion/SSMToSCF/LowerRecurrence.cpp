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
};

/// Channels per work item of a diagonal transition: one AVX-512 vector of
/// f32 (two AVX2 ones).
constexpr int64_t kDiagonalTile = 16;
/// Heads handled as vector values (measured on the SSD: 0.34 -> 0.075 ns
/// per element at P = 16; at P = 4 the broadcasts cost more than they
/// save).
constexpr int64_t kMinVectorHead = 8, kMaxVectorHead = 128;

/// The cost model of the CPU forms: a scalar transition keeps a whole head
/// per item (its decay is one number per step, and the head's rows are
/// contiguous in x and y); a diagonal one takes tiles of kDiagonalTile rows.
Config configure(RecurrenceOp op, const CoefficientEmitter &emitter) {
  Config config;
  int64_t rows = op.getStaticExtents()[kP];
  if (op.getTransition() == Transition::scalar) {
    if (!ShapedType::isDynamic(rows))
      config.tile = rows;
  } else {
    config.tile = ShapedType::isDynamic(rows) ? kDiagonalTile
                                              : std::min(rows, kDiagonalTile);
  }
  config.fullTiles = config.tile && !ShapedType::isDynamic(rows) &&
                     rows % *config.tile == 0;
  // Explicit vectors when every operand of the inner update is a
  // per-step scalar, a per-row vector or a per-entry scalar.
  YieldOp yield = op.getYield();
  auto dims = [&](YieldOp::Role role) {
    return emitter.dependences(yield.getRole(role)) & (T | P | N);
  };
  config.vectorHead = op.getTransition() == Transition::scalar &&
                      op.hasDim(kT) && config.fullTiles &&
                      *config.tile >= kMinVectorHead && *config.tile <= kMaxVectorHead &&
                      (dims(YieldOp::kValue) & N) == 0 && (dims(YieldOp::kKey) & P) == 0 &&
                      (dims(YieldOp::kQuery) & P) == 0;
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
  /// A loop over [lb, ub) with no results whose body is `body(iv)`.
  void loop(OpBuilder &b, Location l, Value lb, Value ub,
            function_ref<void(OpBuilder &, Location, Value)> body) {
    scf::ForOp::create(b, l, lb, ub, c1, ValueRange{},
                       [&](OpBuilder &b, Location l, Value iv, ValueRange) {
                         body(b, l, iv);
                         scf::YieldOp::create(b, l);
                       });
  }
  /// A loop over the item's lanes binding `p` in a child of `parent`.
  void overLanes(OpBuilder &b, Location l, const Scope &parent,
                 function_ref<void(OpBuilder &, Location, Scope &)> body) {
    loop(b, l, c0, width, [&](OpBuilder &b, Location l, Value lane) {
      Scope scope(&parent);
      bindLane(b, l, scope, lane);
      body(b, l, scope);
    });
  }
  void bindLane(OpBuilder &b, Location l, Scope &scope, Value lane) {
    scope.lane = lane;
    scope.index[kP] = arith::AddIOp::create(b, l, firstRow, lane);
  }
  Value alloc(OpBuilder &b, Location l, ArrayRef<Value> sizes) {
    SmallVector<int64_t> shape;
    SmallVector<Value> dynamic;
    for (Value size : sizes) {
      std::optional<int64_t> constant = getConstantIntValue(size);
      shape.push_back(constant ? *constant : ShapedType::kDynamic);
      if (!constant)
        dynamic.push_back(size);
    }
    return memref::AllocOp::create(b, l, MemRefType::get(shape, ct), dynamic);
  }
  /// The decay at `scope` (exp of the yield with log_decay).
  Value decayAt(OpBuilder &b, Location l, Scope &scope) {
    Value decay = emitter.emit(b, l, yield.getRole(YieldOp::kDecay), scope);
    return op.getLogDecay() ? math::ExpOp::create(b, l, decay).getResult() : decay;
  }
  /// Binds the work item `item` of the grid: head (g, r) and tile.
  void bindItem(OpBuilder &b, Location l, Scope &scope, Value col);
  void storeOutput(OpBuilder &b, Location l, Value &y, Scope &scope, Value value);

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

void Lowering::lowerRecurrent() {
  Value state = op.getState(), cu = op.getCuSeqlens();
  OpOperand *stateOperand = state ? &op.getStateMutable()[0] : nullptr;
  Value rows = cu ? arith::SubIOp::create(
                        rewriter, loc,
                        getValueOrCreateConstantIndexOp(
                            rewriter, loc, tensor::getMixedSize(rewriter, loc, cu, 0)),
                        c1)
                        .getResult()
                  : extents[kB];
  Value cols = arith::MulIOp::create(
      rewriter, loc, arith::MulIOp::create(rewriter, loc, extents[kG], extents[kR]),
      arith::CeilDivUIOp::create(rewriter, loc, extents[kP], tile));
  bool reverse = op.getDirection() == Direction::reverse;
  emitter.planLevels({T | P | N, T | P | N, T | P | N, T | P | N, T | P, T | P},
                     T | P | N);
  unsigned decayLevel = emitter.dependences(yield.getRole(YieldOp::kDecay)) & (T | P | N);
  Value gate = yield.getRole(YieldOp::kGate);

  SmallVector<Value> carried{op.getYInit()};
  if (state)
    carried.push_back(state);
  scf::ForOp grid = buildParallelGrid(
      rewriter, loc, rows, cols, carried,
      [&](OpBuilder &b, Location l, Value row, Value col,
          ValueRange carried) -> SmallVector<Value> {
        Scope item;
        item.index[kB] = cu ? c0 : row;
        bindItem(b, l, item, col);
        Value begin = c0, end = extents[kT];
        if (cu)
          std::tie(begin, end) = sequenceBounds(b, l, cu, row, extents[kT]);
        for (Value v : emitter.plannedAt(0))
          emitter.emit(b, l, v, item);

        // Per-item coefficients that vary along p and/or n, computed once.
        Value entries = extents[kN];
        auto scratchLevel = [&](unsigned level, ArrayRef<Value> sizes,
                                function_ref<void(OpBuilder &, Location,
                                                  function_ref<void(Scope &)>)>
                                    loops) {
          SmallVector<Value> values = emitter.plannedAt(level);
          if (values.empty())
            return;
          SmallVector<Value> buffers;
          for (size_t i = 0; i < values.size(); ++i)
            buffers.push_back(alloc(b, l, sizes));
          loops(b, l, [&](Scope &scope) {
            SmallVector<Value> at;
            if (level & N)
              at.push_back(scope.index[kN]);
            if (level & P)
              at.push_back(scope.lane);
            for (auto [v, buffer] : llvm::zip(values, buffers))
              memref::StoreOp::create(b, l, emitter.emit(b, l, v, scope), buffer, at);
          });
          for (auto [v, buffer] : llvm::zip(values, buffers))
            emitter.materialize(v, buffer);
        };
        auto overEntries = [&](OpBuilder &b, Location l, const Scope &parent,
                               function_ref<void(OpBuilder &, Location, Scope &)> body) {
          loop(b, l, c0, entries, [&](OpBuilder &b, Location l, Value n) {
            Scope scope(&parent);
            scope.index[kN] = n;
            body(b, l, scope);
          });
        };
        // The builder `b` of the item is captured; nested loops get theirs.
        scratchLevel(P, {tile}, [&](OpBuilder &b, Location l, auto store) {
          overLanes(b, l, item, [&](OpBuilder &, Location, Scope &s) { store(s); });
        });
        scratchLevel(N, {entries}, [&](OpBuilder &b, Location l, auto store) {
          overEntries(b, l, item, [&](OpBuilder &, Location, Scope &s) { store(s); });
        });
        scratchLevel(P | N, {entries, tile}, [&](OpBuilder &b, Location l, auto store) {
          overEntries(b, l, item, [&](OpBuilder &b, Location l, Scope &sn) {
            overLanes(b, l, sn, [&](OpBuilder &, Location, Scope &s) { store(s); });
          });
        });

        // The state [N, tile], from the destination or zero.
        Value h = alloc(b, l, {entries, tile});
        auto forState = [&](OpBuilder &b, Location l,
                            function_ref<void(OpBuilder &, Location, Scope &)> body) {
          overEntries(b, l, item, [&](OpBuilder &b, Location l, Scope &sn) {
            overLanes(b, l, sn, body);
          });
        };
        forState(b, l, [&](OpBuilder &b, Location l, Scope &s) {
          Value v = stateOperand
                        ? load(b, l, state, emitter.indicesOf(b, l, *stateOperand, s, row),
                               ct)
                        : buildFloat(b, l, ct, 0.0);
          memref::StoreOp::create(b, l, v, h, ValueRange{s.index[kN], s.lane});
        });

        // Per-step scratch: coefficients along p, the output sum, the gate.
        SmallVector<Value> stepValues = emitter.plannedAt(T | P);
        SmallVector<Value> stepBuffers;
        for (size_t i = 0; i < stepValues.size(); ++i)
          stepBuffers.push_back(alloc(b, l, {tile}));
        Value acc = alloc(b, l, {tile});
        Value gates = gate ? alloc(b, l, {tile}) : Value();
        VectorType vectorType =
            config.vectorHead ? VectorType::get({*config.tile}, ct) : VectorType();

        auto timeLoop = scf::ForOp::create(
            b, l, begin, end, c1, ValueRange{carried[0]},
            [&](OpBuilder &b, Location l, Value i, ValueRange yCarried) {
              Value ti = reverse ? arith::SubIOp::create(
                                       b, l, arith::SubIOp::create(b, l, end, c1),
                                       arith::SubIOp::create(b, l, i, begin))
                                       .getResult()
                                 : i;
              Scope step(&item);
              step.index[kT] = ti;
              if (Value cut = emitter.cutBefore(b, l, i, ti, begin, item.index[kB]))
                scf::IfOp::create(b, l, cut, [&](OpBuilder &b, Location l) {
                  forState(b, l, [&](OpBuilder &b, Location l, Scope &s) {
                    memref::StoreOp::create(b, l, buildFloat(b, l, ct, 0.0), h,
                                            ValueRange{s.index[kN], s.lane});
                  });
                  scf::YieldOp::create(b, l);
                });
              for (Value v : emitter.plannedAt(T))
                emitter.emit(b, l, v, step);
              Value stepDecay = (decayLevel & (P | N)) ? Value() : decayAt(b, l, step);

              overLanes(b, l, step, [&](OpBuilder &b, Location l, Scope &s) {
                for (auto [v, buffer] : llvm::zip(stepValues, stepBuffers))
                  memref::StoreOp::create(b, l, emitter.emit(b, l, v, s), buffer, s.lane);
                memref::StoreOp::create(
                    b, l, emitter.emit(b, l, yield.getRole(YieldOp::kSkip), s), acc,
                    s.lane);
                if (gates)
                  memref::StoreOp::create(b, l, emitter.emit(b, l, gate, s), gates,
                                          s.lane);
              });
              for (auto [v, buffer] : llvm::zip(stepValues, stepBuffers))
                emitter.materialize(v, buffer);

              if (vectorType) {
                // The head's rows as one vector value: state rows loaded and
                // stored whole, the output sum in registers across n.
                auto flags = arith::FastMathFlagsAttr::get(
                    b.getContext(),
                    arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
                // value depends on p (and maybe t): it was stored per lane.
                Value value = yield.getRole(YieldOp::kValue);
                Value valueVector =
                    emitter.dependences(value) & P
                        ? vector::LoadOp::create(b, l, vectorType,
                                                 emitter.scratchOf(value), c0)
                              .getResult()
                        : vector::BroadcastOp::create(b, l, vectorType,
                                                      emitter.emit(b, l, value, step))
                              .getResult();
                Value decayVector = vector::BroadcastOp::create(b, l, vectorType, stepDecay);
                auto sum = scf::ForOp::create(
                    b, l, c0, entries, c1,
                    ValueRange{vector::LoadOp::create(b, l, vectorType, acc, c0)},
                    [&](OpBuilder &b, Location l, Value n, ValueRange accv) {
                      Scope sn(&step);
                      sn.index[kN] = n;
                      auto splat = [&](YieldOp::Role role) -> Value {
                        return vector::BroadcastOp::create(
                            b, l, vectorType, emitter.emit(b, l, yield.getRole(role), sn));
                      };
                      Value key = splat(YieldOp::kKey), query = splat(YieldOp::kQuery);
                      Value old = vector::LoadOp::create(b, l, vectorType, h,
                                                         ValueRange{n, c0});
                      Value next = arith::AddFOp::create(
                          b, l, arith::MulFOp::create(b, l, decayVector, old, flags),
                          arith::MulFOp::create(b, l, valueVector, key, flags), flags);
                      vector::StoreOp::create(b, l, next, h, ValueRange{n, c0});
                      scf::YieldOp::create(
                          b, l,
                          ValueRange{arith::AddFOp::create(
                              b, l, accv[0], arith::MulFOp::create(b, l, query, next, flags),
                              flags)});
                    });
                vector::StoreOp::create(b, l, sum.getResult(0), acc, c0);
              } else {
                overEntries(b, l, step, [&](OpBuilder &b, Location l, Scope &sn) {
                  for (Value v : emitter.plannedAt(T | N))
                    emitter.emit(b, l, v, sn);
                  overLanes(b, l, sn, [&](OpBuilder &b, Location l, Scope &s) {
                    Value decay = stepDecay ? stepDecay : decayAt(b, l, s);
                    Value input = arith::MulFOp::create(
                        b, l, emitter.emit(b, l, yield.getRole(YieldOp::kValue), s),
                        emitter.emit(b, l, yield.getRole(YieldOp::kKey), s));
                    ValueRange at{s.index[kN], s.lane};
                    Value next = arith::AddFOp::create(
                        b, l,
                        arith::MulFOp::create(b, l, decay,
                                              memref::LoadOp::create(b, l, h, at)),
                        input);
                    memref::StoreOp::create(b, l, next, h, at);
                    memref::StoreOp::create(
                        b, l,
                        buildReductionFMA(
                            b, l, memref::LoadOp::create(b, l, acc, s.lane),
                            emitter.emit(b, l, yield.getRole(YieldOp::kQuery), s), next),
                        acc, s.lane);
                  });
                });
              }

              auto out = scf::ForOp::create(
                  b, l, c0, width, c1, yCarried,
                  [&](OpBuilder &b, Location l, Value lane, ValueRange yc) {
                    Scope s(&step);
                    bindLane(b, l, s, lane);
                    Value v = memref::LoadOp::create(b, l, acc, lane);
                    if (gates)
                      v = arith::MulFOp::create(b, l, v,
                                                memref::LoadOp::create(b, l, gates, lane));
                    Value y = yc[0];
                    storeOutput(b, l, y, s, v);
                    scf::YieldOp::create(b, l, y);
                  });
              scf::YieldOp::create(b, l, out.getResults());
            });

        if (!state)
          return {timeLoop.getResult(0)};
        // The final state, rounded once.
        Type element = getElementTypeOrSelf(state.getType());
        auto rowsLoop = scf::ForOp::create(
            b, l, c0, entries, c1, ValueRange{carried[1]},
            [&](OpBuilder &b, Location l, Value n, ValueRange dest) {
              auto lanes = scf::ForOp::create(
                  b, l, c0, width, c1, dest,
                  [&](OpBuilder &b, Location l, Value lane, ValueRange dest) {
                    Scope s(&item);
                    bindLane(b, l, s, lane);
                    s.index[kN] = n;
                    Value v = memref::LoadOp::create(b, l, h, ValueRange{n, lane});
                    scf::YieldOp::create(
                        b, l,
                        ValueRange{tensor::InsertOp::create(
                            b, l, convertFloat(b, l, v, element), dest[0],
                            emitter.indicesOf(b, l, *stateOperand, s, row))});
                  });
              scf::YieldOp::create(b, l, lanes.getResults());
            });
        return {timeLoop.getResult(0), rowsLoop.getResult(0)};
      });
  rewriter.replaceOp(op, grid.getResults());
}

void Lowering::lowerDecode() {
  OpOperand &stateOperand = op.getStateMutable()[0];
  Type stateElement = getElementTypeOrSelf(op.getState().getType());
  emitter.planLevels({P | N, P | N, P | N, P | N, P, P}, P | N);
  unsigned decayLevel = emitter.dependences(yield.getRole(YieldOp::kDecay)) & (P | N);
  Value cols = arith::MulIOp::create(
      rewriter, loc, arith::MulIOp::create(rewriter, loc, extents[kG], extents[kR]),
      arith::CeilDivUIOp::create(rewriter, loc, extents[kP], tile));
  // The destinations are the loop-carried tensors: bufferization writes the
  // new state into the buffer of `state` in place.
  scf::ForOp grid = buildParallelGrid(
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
                    Value next = arith::AddFOp::create(
                        b, l, arith::MulFOp::create(b, l, decay, load(b, l, inner[0], at, ct)),
                        arith::MulFOp::create(
                            b, l, emitter.emit(b, l, yield.getRole(YieldOp::kValue), sn),
                            emitter.emit(b, l, yield.getRole(YieldOp::kKey), sn)));
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
