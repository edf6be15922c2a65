//===- RecurrentForm.cpp - ssm.recurrence, a warp per state row -----------===//
//
// Part of ssmc. The recurrent form of the core op on the GPU: one warp per
// state row (row, g, r, p), a row being a batch row or, with cu_seqlens, a
// packed sequence; 4 warps per block. The state of a row is N entries held
// in registers (N static, at most 256: ⌈N / 32⌉ per lane). Two mappings of
// the warp's work, chosen from the op alone:
//
// - lanes over states: lane l owns entries l, l + 32, ... and the warp walks
//   time one step after another; each step updates the lane's entries and
//   sums query·h over the warp with shuffles, and lane 0 writes y. Serves
//   every recurrence (scalar transitions, whose decay is one number per
//   step; reset, seq_idx, cu_seqlens; reverse).
// - lanes over time: for a forward diagonal transition without segments
//   (Mamba-1), whose decay differs per entry and per step, a parallel scan
//   across time. A round covers 32 · kChunk consecutive steps; lane l owns
//   the kChunk steps starting at l · kChunk. Per state entry n each lane
//   composes its steps into one pair (Π decay, h from zero); an inclusive
//   warp scan over those pairs with `gpu.shuffle up` (the composition (a1,
//   b1) ∘ (a2, b2) = (a1 a2, a2 b1 + b2)) gives every lane the state
//   entering its chunk from the state carried into the round; the lane then
//   re-runs its steps from there, adding query·h into its kChunk outputs.
//   The state leaving the round is lane 31's last h. Global memory is read
//   and written along time in coalesced order (lane l at step 32 j + l) and
//   staged through workgroup memory into the chunks; the carried state is
//   spread over the lanes (lane l holds n = l, l + 32, …).
//
// The coefficients are the op's region, placed by CoefficientEmitter at the
// level their dimensions belong to: per row, per step, per (step, entry).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

using Scope = CoefficientEmitter::Scope;
constexpr unsigned kT = RecurrenceOp::kT, kN = RecurrenceOp::kN;
constexpr unsigned T = CoefficientEmitter::bit(kT), N = CoefficientEmitter::bit(kN);

/// Warps per block: 128 threads, 4 state rows.
constexpr int64_t kWarpsPerBlock = 4;

/// The most state entries a lane carries across time (N <= 256).
constexpr int64_t kMaxEntriesPerLane = 8;

/// Steps a lane owns per round (lanes over time). The lane keeps the step
/// values and, per n, the decay and input of each step in registers; 8
/// makes a round 256 steps and puts 14 shuffles per n against 256 decays.
constexpr int64_t kChunk = 8;
constexpr int64_t kRoundSteps = kWarpSize * kChunk;

/// A warp's staging row in workgroup memory: a round's steps plus a pad
/// word after every 32, so that both the coalesced accesses (lane l at step
/// 32 j + l) and the chunked ones (lane l at step 8 l + s) fall on 32
/// distinct banks.
constexpr int64_t kStagingRow = kRoundSteps + kRoundSteps / kWarpSize;

/// Series exchanged at once, so one pair of barriers serves them.
constexpr int64_t kStagingSlots = 2;

/// Whether the lanes of a warp take time chunks instead of state entries.
bool lanesOverTime(RecurrenceOp op) {
  return op.getTransition() == Transition::diagonal &&
         op.getDirection() == Direction::forward && !op.getReset() &&
         !op.getSeqIdx() && !op.getCuSeqlens();
}

/// `gpu.shuffle` of `value` from the lane `offset` selects (relative for
/// `up`, absolute for `idx`).
Value shuffle(OpBuilder &b, Location loc, Value value, Value offset,
              gpu::ShuffleMode mode) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), kWarpSize);
  return gpu::ShuffleOp::create(b, loc, value, offset, width, mode)
      .getShuffleResult();
}

/// Builds the body of one recurrent kernel.
class RecurrentKernel {
public:
  RecurrentKernel(OpBuilder &b, Location l, RecurrenceOp op,
                  const RecurrenceKernel &kernel, ArrayRef<Value> args)
      : b(b), l(l), op(op), buffers(kernel.map(args)), yield(op.getYield()),
        ct(op.getComputeType()), n(op.getStaticExtents()[kN]) {
    WarpItem thread = warpItem(b, l, kWarpsPerBlock);
    lane = thread.lane;
    warp = thread.warp;
    item = thread.item;
    extents = recurrenceExtents(b, l, op, buffers.sources);
    emitter.emplace(op, extents, buffers.sources);
    // Coefficients are consumed per (step, entry), skip and gate per step.
    emitter->planLevels({T | N, T | N, T | N, T | N, T, T}, T | N);
  }

  void buildLanesOverStates();
  void buildLanesOverTime();

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, l, v); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, l, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, l, c, x, y);
  }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, l, x, y); }
  Value fma(Value x, Value y, Value z) {
    return arith::AddFOp::create(b, l, mul(x, y), z);
  }
  Value zero() { return buildFloat(b, l, ct, 0.0); }
  Value role(YieldOp::Role r, Scope &scope) {
    return emitter->emit(b, l, yield.getRole(r), scope);
  }
  /// Binds whether the step of `scope` has a previous one: lanes over
  /// time walk whole rows from t = 0, without segments.
  void bindPrevious(Scope &scope) {
    Value t = scope.index[kT];
    scope.hasPrevious =
        emitter->hasPreviousStep(b, l, t, t, index(0), scope.index[RecurrenceOp::kB]);
  }
  /// The skip term at `scope`, or null when the op has none (a zero).
  Value skipAt(Scope &scope) {
    if (matchPattern(yield.getRole(YieldOp::kSkip), m_AnyZeroFloat()))
      return Value();
    return role(YieldOp::kSkip, scope);
  }
  /// y at `scope` from its sum `acc`: the gate applied, stored.
  void storeY(Value acc, Scope &scope) {
    if (yield.getRole(YieldOp::kGate))
      acc = mul(acc, role(YieldOp::kGate, scope));
    storeAs(b, l, acc, buffers.y,
            emitter->indicesOf(b, l, op.getYInitMutable(), scope));
  }
  /// Builds `fn` under `condition`.
  void when(Value condition, function_ref<void()> fn) {
    auto guard = scf::IfOp::create(b, l, condition, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(guard.thenBlock()->getTerminator());
    fn();
  }
  /// Entry k of the lane (state index 32 k + lane): whether it is below N,
  /// null when every lane's is, and the index clamped into [0, N).
  std::pair<Value, Value> entry(int64_t k) {
    Value ni = arith::AddIOp::create(b, l, lane, index(k * kWarpSize));
    if ((k + 1) * kWarpSize <= n)
      return {Value(), ni};
    return {cmp(arith::CmpIPredicate::ult, ni, index(n)),
            arith::MinUIOp::create(b, l, ni, index(n - 1)).getResult()};
  }
  /// The initial state of entry scope `s` of row `row`, zero without one.
  Value initialState(Scope &s, Value row) {
    if (!buffers.initial)
      return zero();
    return loadAs(b, l, buffers.initial,
                  emitter->indicesOf(b, l, op.getStateMutable()[0], s, row), ct);
  }
  void storeFinalState(Value h, Scope &s, Value row) {
    storeAs(b, l, h, buffers.state,
            emitter->indicesOf(b, l, op.getStateMutable()[0], s, row));
  }
  void copyValues(const Scope &from, Scope &to) {
    for (auto [key, value] : from.values.getValueMap())
      to.values.map(key, value);
  }

  // Lanes over time.
  Value stagingBuffer();
  SmallVector<SmallVector<Value>> exchange(ArrayRef<SmallVector<Value>> series,
                                           bool toChunks);
  SmallVector<Value> round(Scope &itemScope, Value start, ValueRange carriedIn,
                           Value active);
  SmallVector<Value> stateEntries(int64_t k, ArrayRef<Scope *> coalesced,
                                  ArrayRef<Scope *> chunks, ArrayRef<Value> valid,
                                  Scope &itemScope, ValueRange acc);

  OpBuilder &b;
  Location l;
  RecurrenceOp op;
  RecurrenceKernel::Buffers buffers;
  YieldOp yield;
  Type ct;
  int64_t n;
  Value lane, warp, item;
  SmallVector<Value> extents;
  std::optional<CoefficientEmitter> emitter;
  // Lanes over time: the warps' staging rows and the lane's first slot.
  Value staging, chunkBase;
};

//===----------------------------------------------------------------------===//
// Lanes over states
//===----------------------------------------------------------------------===//

void RecurrentKernel::buildLanesOverStates() {
  Value cu = buffers.cuSeqlens;
  // The bound is the same for all lanes of a warp, so the shuffles inside
  // run with the whole warp.
  when(cmp(arith::CmpIPredicate::ult, item, rowItems(b, l, extents, cu)), [&] {
    Scope itemScope;
    Value row = bindRowItem(b, l, itemScope, item, extents, /*packed=*/cu != nullptr);
    Value begin = index(0), end = extents[kT];
    if (cu) {
      auto offsetAt = [&](Value i) -> Value {
        return arith::IndexCastOp::create(b, l, b.getIndexType(),
                                          memref::LoadOp::create(b, l, cu, i));
      };
      begin = offsetAt(row);
      end = offsetAt(arith::AddIOp::create(b, l, row, index(1)));
    }
    for (Value v : emitter->plannedAt(0))
      emitter->emit(b, l, v, itemScope);
    int64_t entries = llvm::divideCeil(n, kWarpSize);
    SmallVector<Value> valid;
    SmallVector<Scope> entryScopes(entries, Scope(&itemScope));
    SmallVector<Value> h0;
    for (int64_t k = 0; k < entries; ++k) {
      auto [isValid, ni] = entry(k);
      valid.push_back(isValid);
      entryScopes[k].index[kN] = ni;
      for (Value v : emitter->plannedAt(N))
        emitter->emit(b, l, v, entryScopes[k]);
      h0.push_back(initialState(entryScopes[k], row));
    }
    bool reverse = op.getDirection() == Direction::reverse;
    bool perEntryDecay = emitter->dependences(yield.getRole(YieldOp::kDecay)) & N;

    auto timeLoop = scf::ForOp::create(
        b, l, begin, end, index(1), h0,
        [&](OpBuilder &, Location, Value i, ValueRange state) {
          Scope step(&itemScope);
          step.index[kT] =
              reverse ? arith::SubIOp::create(
                            b, l, arith::SubIOp::create(b, l, end, index(1)),
                            arith::SubIOp::create(b, l, i, begin))
                            .getResult()
                      : i;
          step.hasPrevious = emitter->hasPreviousStep(b, l, i, step.index[kT], begin,
                                                      step.index[RecurrenceOp::kB]);
          for (Value v : emitter->plannedAt(T))
            emitter->emit(b, l, v, step);
          // A restart forgets the state: a zero decay.
          Value cut = emitter->cutBefore(b, l, i, step.index[kT], begin,
                                         step.index[RecurrenceOp::kB]);
          auto decayAt = [&](Scope &s) {
            Value decay = gpu_lowering::decayAt(b, l, op, *emitter, s);
            return cut ? select(cut, zero(), decay) : decay;
          };
          Value stepDecay = perEntryDecay ? Value() : decayAt(step);
          Value acc = zero();
          SmallVector<Value> next;
          for (int64_t k = 0; k < entries; ++k) {
            Scope s(&step);
            s.index[kN] = entryScopes[k].index[kN];
            copyValues(entryScopes[k], s);
            Value decay = stepDecay ? stepDecay : decayAt(s);
            Value hk = fma(decay, state[k], emitter->emitInput(b, l, s));
            next.push_back(hk);
            Value sum = buildReductionFMA(b, l, acc, hk, role(YieldOp::kQuery, s));
            acc = valid[k] ? select(valid[k], sum, acc) : sum;
          }
          Value y = warpSum(b, l, acc);
          when(cmp(arith::CmpIPredicate::eq, lane, index(0)), [&] {
            Scope out(&step);
            if (Value skip = skipAt(out))
              y = arith::AddFOp::create(b, l, y, skip);
            storeY(y, out);
          });
          scf::YieldOp::create(b, l, next);
        });

    if (!buffers.state)
      return;
    for (int64_t k = 0; k < entries; ++k) {
      auto store = [&] { storeFinalState(timeLoop.getResult(k), entryScopes[k], row); };
      if (valid[k])
        when(valid[k], store);
      else
        store();
    }
  });
}

//===----------------------------------------------------------------------===//
// Lanes over time
//===----------------------------------------------------------------------===//

Value RecurrentKernel::stagingBuffer() {
  auto func = cast<gpu::GPUFuncOp>(b.getInsertionBlock()->getParentOp());
  return func.addWorkgroupAttribution(
      MemRefType::get({kWarpsPerBlock, kStagingSlots, kStagingRow}, ct,
                      MemRefLayoutAttrInterface(),
                      gpu::AddressSpaceAttr::get(b.getContext(),
                                                 gpu::AddressSpace::Workgroup)),
      l);
}

/// Each series: kChunk values in one layout (coalesced or chunked), returned
/// in the other through the warp's staging row, kStagingSlots at a time.
SmallVector<SmallVector<Value>>
RecurrentKernel::exchange(ArrayRef<SmallVector<Value>> series, bool toChunks) {
  auto coalescedSlot = [&](int64_t j) -> Value {
    return arith::AddIOp::create(b, l, lane, index(j * (kWarpSize + 1)));
  };
  auto chunkSlot = [&](int64_t s) -> Value {
    return arith::AddIOp::create(b, l, chunkBase, index(s));
  };
  SmallVector<SmallVector<Value>> result;
  for (size_t first = 0; first < series.size(); first += kStagingSlots) {
    ArrayRef<SmallVector<Value>> group =
        series.slice(first, std::min<size_t>(kStagingSlots, series.size() - first));
    for (auto [k, values] : llvm::enumerate(group))
      for (int64_t j = 0; j < kChunk; ++j)
        memref::StoreOp::create(
            b, l, values[j], staging,
            {warp, index(k), toChunks ? coalescedSlot(j) : chunkSlot(j)});
    gpu::BarrierOp::create(b, l);
    for (size_t k = 0; k < group.size(); ++k) {
      SmallVector<Value> &values = result.emplace_back();
      for (int64_t j = 0; j < kChunk; ++j)
        values.push_back(memref::LoadOp::create(
            b, l, staging,
            {warp, index(k), toChunks ? chunkSlot(j) : coalescedSlot(j)}));
    }
    // The row is written again by the next exchange.
    gpu::BarrierOp::create(b, l);
  }
  return result;
}

void RecurrentKernel::buildLanesOverTime() {
  staging = stagingBuffer();
  chunkBase = arith::AddIOp::create(
      b, l, arith::MulIOp::create(b, l, lane, index(kChunk)),
      arith::DivUIOp::create(b, l, lane, index(kWarpSize / kChunk)));
  // Warps past the last item recompute it and store nothing: every warp
  // of the block takes part in the barriers of the staging exchanges.
  Value items = rowItems(b, l, extents, Value());
  Value active = cmp(arith::CmpIPredicate::ult, item, items);
  Value clamped =
      arith::MinUIOp::create(b, l, item, arith::SubIOp::create(b, l, items, index(1)));
  Scope itemScope;
  bindRowItem(b, l, itemScope, clamped, extents, /*packed=*/false);
  Value row = itemScope.index[RecurrenceOp::kB];

  // Lane l carries state n = 32 k + l in its k-th register; lanes past N
  // carry a zero nobody reads.
  int64_t carriedPerLane = llvm::divideCeil(n, kWarpSize);
  SmallVector<Scope> entryScopes(carriedPerLane, Scope(&itemScope));
  SmallVector<Value> valid, carried;
  for (int64_t k = 0; k < carriedPerLane; ++k) {
    auto [isValid, ni] = entry(k);
    valid.push_back(isValid);
    entryScopes[k].index[kN] = ni;
    Value h = initialState(entryScopes[k], row);
    carried.push_back(isValid && buffers.initial ? select(isValid, h, zero()) : h);
  }
  for (Value v : emitter->plannedAt(0))
    emitter->emit(b, l, v, itemScope);

  auto rounds = scf::ForOp::create(
      b, l, index(0), extents[kT], index(kRoundSteps), carried,
      [&](OpBuilder &, Location, Value start, ValueRange carriedIn) {
        scf::YieldOp::create(b, l, round(itemScope, start, carriedIn, active));
      });
  if (!buffers.state)
    return;
  for (int64_t k = 0; k < carriedPerLane; ++k) {
    Value store = valid[k] ? arith::AndIOp::create(b, l, active, valid[k]).getResult()
                           : active;
    when(store, [&] { storeFinalState(rounds.getResult(k), entryScopes[k], row); });
  }
}

/// One round of kRoundSteps steps from `start`; returns the carried states.
SmallVector<Value> RecurrentKernel::round(Scope &itemScope, Value start,
                                          ValueRange carriedIn, Value active) {
  Value length = extents[kT];
  Value lastStep = arith::SubIOp::create(b, l, length, index(1));
  // Coalesced steps (32 j + lane); those past L read the last step instead
  // and store nothing.
  SmallVector<Scope> coalesced(kChunk, Scope(&itemScope));
  SmallVector<Value> stored;
  for (int64_t j = 0; j < kChunk; ++j) {
    Value t = arith::AddIOp::create(
        b, l, start, arith::AddIOp::create(b, l, lane, index(j * kWarpSize)));
    stored.push_back(arith::AndIOp::create(
        b, l, active, cmp(arith::CmpIPredicate::ult, t, length)));
    coalesced[j].index[kT] = arith::MinUIOp::create(b, l, t, lastStep);
    bindPrevious(coalesced[j]);
  }
  // The step values the entries use, computed where they are read
  // coalesced and handed to the lanes' chunks.
  SmallVector<Value> stepValues = emitter->plannedAt(T);
  SmallVector<SmallVector<Value>> series;
  for (Value v : stepValues)
    series.push_back(llvm::to_vector(llvm::map_range(
        coalesced, [&](Scope &s) { return emitter->emit(b, l, v, s); })));
  SmallVector<SmallVector<Value>> chunk = exchange(series, /*toChunks=*/true);

  // The lane's chunk; steps past L are the identity, for the state leaving
  // the round: step values that make them so are set there, else the
  // entries mask each decay and input (validStep). Masks inside the
  // entries' loop cost the scan some 20 registers.
  SmallVector<std::pair<Value, double>> identity = emitter->identityAtZero(stepValues);
  Value first = arith::AddIOp::create(
      b, l, start, arith::MulIOp::create(b, l, lane, index(kChunk)));
  SmallVector<Scope> chunks(kChunk, Scope(&itemScope));
  SmallVector<Value> validStep, y;
  for (int64_t s = 0; s < kChunk; ++s) {
    Value t = arith::AddIOp::create(b, l, first, index(s));
    Value valid = cmp(arith::CmpIPredicate::ult, t, length);
    if (identity.empty())
      validStep.push_back(valid);
    chunks[s].index[kT] = arith::MinUIOp::create(b, l, t, lastStep);
    bindPrevious(chunks[s]);
    for (auto [v, values] : llvm::zip(stepValues, chunk)) {
      const auto *set = llvm::find_if(identity, [&](auto &e) { return e.first == v; });
      chunks[s].values.map(
          v, set == identity.end()
                 ? values[s]
                 : select(valid, values[s], buildFloat(b, l, ct, set->second)));
    }
    Value skip = skipAt(chunks[s]);
    y.push_back(skip ? skip : zero());
  }

  SmallVector<Value> carriedOut;
  auto pointers = [](MutableArrayRef<Scope> scopes) {
    return llvm::to_vector(llvm::map_range(scopes, [](Scope &s) { return &s; }));
  };
  for (int64_t k = 0; k < static_cast<int64_t>(carriedIn.size()); ++k) {
    SmallVector<Value> acc(y);
    acc.push_back(carriedIn[k]);
    SmallVector<Value> results = stateEntries(k, pointers(coalesced), pointers(chunks),
                                              validStep, itemScope, acc);
    y.assign(results.begin(), results.begin() + kChunk);
    carriedOut.push_back(results.back());
  }

  // y back to coalesced steps, gated and stored there.
  SmallVector<Value> ySteps = exchange({y}, /*toChunks=*/false)[0];
  for (int64_t j = 0; j < kChunk; ++j)
    when(stored[j], [&] {
      Scope out(&coalesced[j]);
      storeY(ySteps[j], out);
    });
  return carriedOut;
}

/// States 32 k … 32 k + 31 one after another (lane j holds the carried one
/// of state 32 k + j); `acc` is the lane's kChunk outputs then the carried
/// state. `valid`, unless empty, masks the chunk's steps. Returns them
/// updated.
SmallVector<Value> RecurrentKernel::stateEntries(int64_t k, ArrayRef<Scope *> coalesced,
                                                 ArrayRef<Scope *> chunks,
                                                 ArrayRef<Value> valid,
                                                 Scope &itemScope, ValueRange acc) {
  int64_t count = std::min(kWarpSize, n - k * kWarpSize);
  // Inputs that vary along time and n are read coalesced, like the step
  // values, and exchanged.
  SmallVector<Value> staged;
  for (BlockArgument arg : op.getBody().getArguments())
    if ((emitter->dependences(arg) & (T | N)) == (T | N) && !arg.use_empty())
      staged.push_back(arg);
  auto loop = scf::ForOp::create(
      b, l, index(0), index(count), index(1), acc,
      [&](OpBuilder &, Location, Value j, ValueRange acc) {
        Value ni = arith::AddIOp::create(b, l, index(k * kWarpSize), j);
        Scope perEntry(&itemScope);
        perEntry.index[kN] = ni;
        for (Value v : emitter->plannedAt(N))
          emitter->emit(b, l, v, perEntry);
        SmallVector<SmallVector<Value>> series;
        for (Value arg : staged) {
          SmallVector<Value> &values = series.emplace_back();
          for (Scope *c : coalesced) {
            Scope s(c);
            s.index[kN] = ni;
            values.push_back(emitter->emit(b, l, arg, s));
          }
        }
        if (!series.empty())
          series = exchange(series, /*toChunks=*/true);
        // The chunk as one pair: (Π decay, h reached from zero).
        SmallVector<Scope> entries(kChunk, Scope());
        SmallVector<Value> decay, input;
        Value prod, reach;
        for (int64_t s = 0; s < kChunk; ++s) {
          Scope &e = entries[s] = Scope(chunks[s]);
          e.index[kN] = ni;
          copyValues(perEntry, e);
          for (auto [arg, values] : llvm::zip(staged, series))
            e.values.map(arg, values[s]);
          decay.push_back(gpu_lowering::decayAt(b, l, op, *emitter, e));
          input.push_back(emitter->emitInput(b, l, e));
          if (!valid.empty()) {
            decay.back() = select(valid[s], decay.back(), buildFloat(b, l, ct, 1.0));
            input.back() = select(valid[s], input.back(), zero());
          }
          prod = s ? mul(prod, decay[s]) : decay[s];
          reach = s ? fma(decay[s], reach, input[s]) : input[s];
        }
        // Inclusive scan over the lanes: lane i ends with the pair of
        // chunks 0 … i. The earlier pair comes from below: (p', r') ∘ (p,
        // r) = (p' p, p r' + r).
        for (int64_t offset = 1; offset < kWarpSize; offset *= 2) {
          Value off = arith::ConstantIntOp::create(b, l, b.getI32Type(), offset);
          Value prodBelow = shuffle(b, l, prod, off, gpu::ShuffleMode::UP);
          Value reachBelow = shuffle(b, l, reach, off, gpu::ShuffleMode::UP);
          Value has = cmp(arith::CmpIPredicate::uge, lane, index(offset));
          reach = select(has, fma(prod, reachBelow, reach), reach);
          prod = select(has, mul(prod, prodBelow), prod);
        }
        // The carried state of n sits in lane j; this lane's chunk starts
        // from it advanced through chunks 0 … l − 1 (the exclusive prefix:
        // the inclusive one shifted up a lane).
        Value jI32 = arith::IndexCastOp::create(b, l, b.getI32Type(), j);
        Value hIn = shuffle(b, l, acc.back(), jI32, gpu::ShuffleMode::IDX);
        Value oneI32 = arith::ConstantIntOp::create(b, l, b.getI32Type(), 1);
        Value prodBefore = shuffle(b, l, prod, oneI32, gpu::ShuffleMode::UP);
        Value reachBefore = shuffle(b, l, reach, oneI32, gpu::ShuffleMode::UP);
        Value firstLane = cmp(arith::CmpIPredicate::eq, lane, index(0));
        Value h = select(firstLane, hIn, fma(prodBefore, hIn, reachBefore));
        SmallVector<Value> next;
        for (int64_t s = 0; s < kChunk; ++s) {
          h = fma(decay[s], h, input[s]);
          next.push_back(
              buildReductionFMA(b, l, acc[s], h, role(YieldOp::kQuery, entries[s])));
        }
        // The state leaving the round goes to lane j.
        Value lastLane = arith::ConstantIntOp::create(b, l, b.getI32Type(), kWarpSize - 1);
        Value out = shuffle(b, l, h, lastLane, gpu::ShuffleMode::IDX);
        next.push_back(select(cmp(arith::CmpIPredicate::eq, lane, j), out, acc.back()));
        scf::YieldOp::create(b, l, next);
      });
  return SmallVector<Value>(loop.getResults());
}

/// Why the recurrent kernel cannot compute `op`, or nothing when it can.
std::optional<std::string> whyNoRecurrentKernel(RecurrenceOp op) {
  int64_t n = op.getStaticExtents()[kN];
  if (ShapedType::isDynamic(n) || n > kMaxEntriesPerLane * kWarpSize)
    return "needs a static state size N of at most " +
           std::to_string(kMaxEntriesPerLane * kWarpSize) +
           " on the GPU (its states are carried in registers)";
  return std::nullopt;
}

struct LowerRecurrent : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasDim(kT))
      return rewriter.notifyMatchFailure(op, "no time dimension");
    if (op.getForm() == RecurrenceForm::chunked)
      return rewriter.notifyMatchFailure(op, "configured for the chunked form");
    if (std::optional<std::string> reason = whyNoRecurrentKernel(op))
      return rewriter.notifyMatchFailure(op, *reason);
    RecurrenceKernel kernel(rewriter, op, /*inPlace=*/false);
    kernel.launchWarps(rewriter, kWarpsPerBlock,
                       [&](OpBuilder &b, Location l, ArrayRef<Value> args) {
                         RecurrentKernel builder(b, l, op, kernel, args);
                         if (lanesOverTime(op))
                           builder.buildLanesOverTime();
                         else
                           builder.buildLanesOverStates();
                       });
    return success();
  }
};

} // namespace

std::optional<std::string> gpu_lowering::whyNoGPULowering(RecurrenceOp op,
                                                         GPUChip chip) {
  if (!op.hasDim(kT))
    return std::nullopt;
  if (op.getForm() != RecurrenceForm::chunked)
    return whyNoRecurrentKernel(op);
  if (hasChunkedKernel(op, chip))
    return std::nullopt;
  auto value = [](std::optional<uint64_t> v) {
    return v ? std::to_string(*v) : std::string("none");
  };
  return "is configured for a chunked kernel that " +
         stringifyGPUChip(chip).str() + " does not have (chunk_size " +
         value(op.getChunkSize()) + ", tile " + value(op.getTile()) +
         "); ssm-select-gpu-algorithm records one it has";
}

void gpu_lowering::populateRecurrentPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRecurrent>(patterns.getContext());
}
