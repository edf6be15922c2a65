//===- ChunkedForm.cpp - ssm.recurrence, chunked form on tensor cores -----===//
//
// Part of ssmc. The chunked (state-space duality) form of the core op on
// the GPU (`form chunked` with the chunk length, tile and span order that
// ssm-select-gpu-algorithm recorded; the CPU's SSMToSCF/ChunkedForm.cpp
// computes the same terms with loops), written
// for Mamba-2's SSD: Q = C (queries), K = B (keys), V = δx (values), and
// a scalar log decay (δ·A) per step. Blocks of 4 warps (one warpgroup)
// take a (row, head, tile of head channels) and its chunks of Q steps. Per
// chunk, with cum the cumulative log-decay inside the chunk and h the
// state entering it:
//
//   S  = C Bᵀ                        [Q x Q]   (tensor cores)
//   M  = S ∘ exp(cum_i − cum_j), i ≥ j, else 0
//   Y  = exp(cum_i) · (C hᵀ)[i, p] + (M · δx)[i, p]         (tensor cores)
//   h' = exp(cum_last) · h + (w ∘ δx)ᵀ B,  w_j = exp(cum_last − cum_j)
//
// plus the skip term and the gate on Y. Every coefficient comes from the
// op's region through CoefficientEmitter: the log decay per step, values
// per (step, channel), keys and queries per (step, entry), skip and gate
// per (step, channel) where y is stored.
//
// The chunks of a row run either in order in one kernel, a block walking
// them with its channels x N state tile in the warps' accumulators
// (Phase::Walk), or in parallel in three: each chunk's h' from zero, the
// recurrence over the chunks' states, each chunk's Y from its entering
// state (Phase::ChunkStates, the state-passing kernel,
// Phase::ChunkOutputs).
//
// Two kernels share that code and differ in how they multiply:
//
// - mma.sync (sm_80 and up): 16 head channels per block, nvgpu.mma.sync
//   m16n8k16 on fragments that the lanes load themselves from workgroup
//   memory in the layout of PTX's mma.m16n8k16 (loadA/loadB below); Q = 64
//   or 32 within 48 KB of static workgroup memory.
// - wgmma (sm_90a): 64 head channels per block, Q = 64, every product one
//   warpgroup-wide nvvm.wgmma.mma_async per 16 of K whose operands the
//   tensor cores read from dynamic shared memory through matrix
//   descriptors (the layout is under WarpgroupOperand).
//
// Products take f16 operands (C, B, δx, M and a copy of the state are
// rounded to f16 in shared memory) and accumulate in f32; decays, the
// state itself and the epilogue stay in f32.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "ssm/Transforms/Configuration.h"

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;
using namespace mlir::ssm::gpu_chunked;

namespace {

/// Warps per block: one warpgroup, as wgmma needs; the mma.sync kernel's
/// warps take 16 x 8 output tiles of the products in turn.
constexpr int64_t kWarps = 4;
constexpr int64_t kBlockSize = kWarps * gpu_lowering::kWarpSize;

/// The buffers a chunked kernel may take. `States` holds one state per
/// span of kStepsPerSpan steps [rows, spans, H, P, N] (f32): what each span
/// adds from a zero state, then the state entering it; `Decays` [rows,
/// spans, H] how much of the entering state each span lets through.
/// The op's inputs are read through the CoefficientEmitter; these are the
/// other buffers.
enum Arg { Y, FinalState, Init, CuSeqlens, SeqIdx, States, Decays, kArgCount };
/// A kernel's buffers: by role (null where it takes none), and the op's
/// tensors to their buffers, which the emitter reads.
struct Operands {
  std::array<Value, kArgCount> roles{};
  IRMapping sources;
};

using Scope = CoefficientEmitter::Scope;
constexpr unsigned kT = RecurrenceOp::kT, kP = RecurrenceOp::kP,
                   kN = RecurrenceOp::kN;
constexpr unsigned T = CoefficientEmitter::bit(kT),
                   P = CoefficientEmitter::bit(kP),
                   N = CoefficientEmitter::bit(kN);

/// How the chunks of a row are processed.
enum class Phase {
  /// One kernel: a block walks its row's chunks in order, carrying the
  /// state from one to the next.
  Walk,
  /// Three kernels, spans of kStepsPerSpan steps in parallel: each span's
  /// state from zero and its decay (ChunkStates), the states entering the
  /// spans in order (the state-passing kernel), then each span's outputs
  /// from its entering state (ChunkOutputs). A block walks its span's
  /// chunks as Walk does its row's.
  ChunkStates,
  ChunkOutputs,
};

/// Where the chunked kernels consume each coefficient: the decay per
/// step, the values, skip and gate per (step, channel), keys and queries
/// per (step, entry).
void planChunkedLevels(CoefficientEmitter &emitter) {
  emitter.planLevels({T, T | P, T | N, T | N, T | P, T | P}, T | P | N);
}

/// How many region values per step (Mamba-2: δ) the chunked kernels stage
/// in shared memory.
int64_t stagedStepValues(RecurrenceOp op) {
  CoefficientEmitter planner(op, {});
  planChunkedLevels(planner);
  return planner.plannedAt(T).size();
}

/// Dynamic shared memory of the wgmma kernel for state size `n`: C, B and
/// Bᵀ (64 x n), the state copy (64 x n), M, δx and w ∘ δx (64 x 64) in f16;
/// log decays, cum and the `steps` staged step values (64 each) in f32;
/// with `seq_idx`, the steps' segments (64, i32).
/// 88.75 KB for Mamba-2 with N = 128, 152.75 KB with N = 256.
int64_t warpgroupSharedBytes(int64_t n, int64_t steps, bool segments) {
  return 2 * (4 * 64 * n + 3 * 64 * 64) + 4 * (2 + steps) * 64 +
         (segments ? 4 * 64 : 0);
}

/// What both chunked kernels emit alike: index arithmetic, the block's
/// coordinates, the per-chunk log decays and their sums, the staging of C, B
/// and δx, the initial and final state and the epilogue of y. A block's
/// row is a batch row, or with `cu_seqlens` a packed sequence: its steps
/// t are then begin + t of batch row 0.
///
/// With `seq_idx`, sequences change inside a row. Each step of a chunk
/// gets a segment: -1 while the sequence of the state carried into the
/// chunk goes on, else the chunk step where its sequence began. Terms
/// between steps of different segments are dropped: M_ij needs
/// seg_i = seg_j, the carried state reaches only steps of segment -1 and
/// survives the chunk only if its last step is one of them, and w_j counts
/// only the steps of the last step's segment.
class ChunkEmitter {
public:
  /// A block per (row, head, channel tile) for Phase::Walk, per (row,
  /// span, head, channel tile) for the others.
  ChunkEmitter(OpBuilder &b, Location l, RecurrenceOp op,
               const Operands &operands, int64_t q, int64_t channels,
               Phase phase)
      : b(b), l(l), op(op), yield(op.getYield()), operands(operands), q(q),
        f32(b.getF32Type()), f16(b.getF16Type()),
        extents(recurrenceExtents(b, l, op, operands.sources)),
        emitter(op, extents, operands.sources) {
    planChunkedLevels(emitter);
    stepValues = emitter.plannedAt(T);
    Value heads = mul(extents[RecurrenceOp::kG], extents[RecurrenceOp::kR]);
    n = op.getStaticExtents()[kN];
    Value tiles = index(op.getStaticExtents()[kP] / channels);
    Value block = gpu::BlockIdOp::create(b, l, gpu::Dimension::x);
    tid = gpu::ThreadIdOp::create(b, l, gpu::Dimension::x);
    Value lane =
        arith::RemUIOp::create(b, l, tid, index(gpu_lowering::kWarpSize));
    warp = arith::DivUIOp::create(b, l, tid, index(gpu_lowering::kWarpSize));
    // Accumulator fragments index lanes as (group, thread in group).
    group = arith::DivUIOp::create(b, l, lane, index(4));
    pair = mul(arith::RemUIOp::create(b, l, lane, index(4)), index(2));
    Value perRow = mul(heads, tiles);
    if (phase != Phase::Walk) {
      Value spans = dimOf(b, l, arg(States), 1);
      span = arith::RemUIOp::create(
          b, l, arith::DivUIOp::create(b, l, block, perRow), spans);
      perRow = mul(perRow, spans);
    }
    ri = arith::DivUIOp::create(b, l, block, perRow);
    Value rest = arith::RemUIOp::create(b, l, block, mul(heads, tiles));
    hi = arith::DivUIOp::create(b, l, rest, tiles);
    p0 = mul(arith::RemUIOp::create(b, l, rest, tiles), index(channels));
    length = extents[kT];
    batchRow = ri;
    if (Value cu = arg(CuSeqlens)) {
      // Offsets past L (a malformed cu_seqlens) are clamped to it, and a
      // decreasing pair gives an empty sequence: no access out of bounds,
      // no endless chunk loop.
      auto offset = [&](Value i) -> Value {
        Value v = arith::IndexCastOp::create(
            b, l, b.getIndexType(), memref::LoadOp::create(b, l, cu, i));
        return arith::MinSIOp::create(
            b, l, arith::MaxSIOp::create(b, l, v, index(0)), length);
      };
      begin = offset(ri);
      Value end = offset(add(ri, index(1)));
      length = arith::MaxSIOp::create(
          b, l, arith::SubIOp::create(b, l, end, begin), index(0));
      batchRow = index(0);
    }
    item.index[RecurrenceOp::kB] = batchRow;
    item.index[RecurrenceOp::kG] =
        arith::DivUIOp::create(b, l, hi, extents[RecurrenceOp::kR]);
    item.index[RecurrenceOp::kR] =
        arith::RemUIOp::create(b, l, hi, extents[RecurrenceOp::kR]);
    for (Value v : emitter.plannedAt(0))
      emitter.emit(b, l, v, item);
  }

  OpBuilder &b;
  Location l;
  RecurrenceOp op;
  YieldOp yield;
  Operands operands;
  /// Chunk length and state size.
  int64_t q, n;
  Type f32, f16;
  /// The steps of the block's row.
  Value length;
  Value tid, warp, group, pair;
  /// Row, head (g, r linearized) and first head channel of the block; the
  /// batch row and first step its steps are read at.
  Value ri, hi, p0, batchRow, begin;
  /// The block's span, except in Phase::Walk.
  Value span;
  /// With `seq_idx`: the chunk's segments (q, i32 in shared memory), set
  /// by the kernel.
  Value segments;
  /// The extents of the core dimensions, and the region's values at the
  /// block's (b, g, r).
  SmallVector<Value> extents;
  CoefficientEmitter emitter;
  Scope item;
  /// The region values per step (Mamba-2: δ), computed once per chunk step
  /// by stageSteps into `stepScratch` ([values, q], set by the kernel)
  /// and read from there by the coefficients per (step, channel) or (step,
  /// entry): recomputed per channel, δ's inputs and its softplus stayed
  /// live in every thread's loop over the chunk's values.
  SmallVector<Value> stepValues;
  Value stepScratch;

  /// The position in the op's tensors of the row's step `t`.
  Value step(Value t) { return begin ? add(begin, t) : t; }
  /// Coefficient `role` at step `j` of the chunk from `t0` and, when
  /// given, channel `p` of the tile or state entry `nn`; with `staged`,
  /// from the step values staged for the chunk.
  Value coefficient(YieldOp::Role role, Value t0, Value j, Value p,
                    Value nn, bool staged) {
    Scope at = atStep(t0, j, p, staged);
    at.index[kN] = nn;
    return emitter.emit(b, l, yield.getRole(role), at);
  }
  /// The scope of step `j` of the chunk from `t0` and, when given, channel
  /// `p` of the tile; with `staged`, it reads the step values from
  /// `stepScratch`, which must be published by then.
  Scope atStep(Value t0, Value j, Value p, bool staged = true) {
    Scope at(&item);
    at.index[kT] = step(add(t0, j));
    if (staged)
      for (auto [k, v] : llvm::enumerate(stepValues))
        at.values.map(v, load(stepScratch, {index(k), j}));
    if (p) {
      at.index[kP] = add(p0, p);
      at.lane = p;
    }
    return at;
  }
  /// The indices of the state at (channel p of the tile, n) of the row.
  SmallVector<Value> stateIndices(Value p, Value nn) {
    Scope at(&item);
    at.index[kP] = add(p0, p);
    at.index[kN] = nn;
    return emitter.indicesOf(b, l, op.getStateMutable()[0], at, ri);
  }

  Value arg(Arg a) const { return operands.roles[a]; }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, l, v); }
  Value f32c(double v) { return buildFloat(b, l, f32, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, l, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, l, x, y); }
  Value div(Value x, int64_t y) {
    return arith::DivUIOp::create(b, l, x, index(y));
  }
  Value rem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, l, x, index(y));
  }
  Value addf(Value x, Value y) { return arith::AddFOp::create(b, l, x, y); }
  Value mulf(Value x, Value y) { return arith::MulFOp::create(b, l, x, y); }
  Value exp(Value x) { return math::ExpOp::create(b, l, x); }
  Value load(Value buffer, ValueRange at) {
    return memref::LoadOp::create(b, l, buffer, at);
  }
  void store(Value v, Value buffer, ValueRange at) {
    memref::StoreOp::create(b, l, v, buffer, at);
  }
  void barrier() { gpu::BarrierOp::create(b, l); }
  // Through f32: bf16 and f16 have the same width, which truncf refuses.
  Value toF16(Value v) { return convertFloat(b, l, v, f16); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, x, y);
  }
  Value select(Value c, Value t, Value f) {
    return arith::SelectOp::create(b, l, c, t, f);
  }
  /// for (i = from; i < to; i += step) with `fn(i)` as its body.
  void forEach(Value from, Value to, Value step, function_ref<void(Value)> fn) {
    scf::ForOp::create(b, l, from, to, step, ValueRange{},
                       [&](OpBuilder &, Location, Value i, ValueRange) {
                         fn(i);
                         scf::YieldOp::create(b, l);
                       });
  }
  /// `fn` over this thread's share of [0, count), the block's threads
  /// taking consecutive indices.
  void forEachOfBlock(int64_t count, function_ref<void(Value)> fn) {
    forEach(tid, index(count), index(kBlockSize), fn);
  }
  void when(Value cond, function_ref<void()> fn) {
    auto guard = scf::IfOp::create(b, l, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(guard.thenBlock()->getTerminator());
    fn();
  }
  /// `inside()` at steps before L, `outside` (of the same types) past it.
  SmallVector<Value> ifInside(Value t,
                              function_ref<SmallVector<Value>()> inside,
                              ValueRange outside) {
    auto branch = scf::IfOp::create(
        b, l, ult(t, length),
        [&](OpBuilder &, Location) { scf::YieldOp::create(b, l, inside()); },
        [&](OpBuilder &, Location) { scf::YieldOp::create(b, l, outside); });
    return SmallVector<Value>(branch.getResults());
  }

  /// Element k (0..3) of a 16 x 8 accumulator tile is at (row, col) of the
  /// tile (PTX ISA, "Matrix Fragments for mma.m16n8k16"; wgmma's D repeats
  /// it per 8 columns, the warps taking 16 rows each).
  Value accRow(int64_t k) { return add(group, index(k < 2 ? 0 : 8)); }
  Value accCol(int64_t k) { return add(pair, index(k % 2)); }

  /// The step values into `stepScratch` and the log decay into
  /// `logDecays` of each step of the chunk from `t0` (threads < q). Steps
  /// past L read as zero input with a zero log decay: they add nothing and
  /// decay nothing.
  void stageSteps(Value t0, Value logDecays) {
    when(ult(tid, index(q)), [&] {
      SmallVector<Value> staged = ifInside(
          add(t0, tid),
          [&]() -> SmallVector<Value> {
            Scope at = atStep(t0, tid, Value(), /*staged=*/false);
            SmallVector<Value> v;
            for (Value stepValue : stepValues)
              v.push_back(emitter.emit(b, l, stepValue, at));
            v.push_back(emitter.emit(b, l, yield.getRole(YieldOp::kDecay), at));
            return v;
          },
          SmallVector<Value>(stepValues.size() + 1, f32c(0.0)));
      for (size_t k = 0; k < stepValues.size(); ++k)
        store(staged[k], stepScratch, {index(k), tid});
      store(staged.back(), logDecays, {tid});
    });
  }

  /// cum: a running sum over the chunk's log decays, and with `seq_idx`
  /// the segments, in one thread (at most 64 steps); the caller orders it
  /// between barriers.
  void cumulate(Value t0, Value logDecays, Value cum) {
    Value seq = arg(SeqIdx);
    Type i32 = b.getI32Type();
    when(arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, tid, index(0)),
         [&] {
           SmallVector<Value> init{f32c(0.0)};
           if (seq)
             init.push_back(arith::ConstantIntOp::create(b, l, -1, 32));
           scf::ForOp::create(
               b, l, index(0), index(q), index(1), init,
               [&](OpBuilder &, Location, Value j, ValueRange carried) {
                 Value next = addf(carried[0], load(logDecays, {j}));
                 store(next, cum, {j});
                 SmallVector<Value> yielded{next};
                 if (seq) {
                   // A sequence starts at t when seq_idx changes there;
                   // steps past L (no input) continue the last one.
                   Value t = add(t0, j);
                   Value starts = ifInside(
                       t,
                       [&]() -> SmallVector<Value> {
                         return {emitter.cutBefore(b, l, t, t, index(0),
                                                   batchRow)};
                       },
                       {arith::ConstantIntOp::create(b, l, 0, 1)})[0];
                   Value segment =
                       select(starts, arith::IndexCastOp::create(b, l, i32, j),
                              carried[1]);
                   store(segment, segments, {j});
                   yielded.push_back(segment);
                 }
                 scf::YieldOp::create(b, l, yielded);
               });
         });
  }

  /// Whether steps i and j of the chunk are of one sequence (always
  /// without `seq_idx`).
  Value sameSequence(Value i, Value j) {
    if (!segments)
      return arith::ConstantIntOp::create(b, l, 1, 1);
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                 load(segments, {i}), load(segments, {j}));
  }
  /// Whether step i continues the sequence of the state carried into the
  /// chunk.
  Value continuesState(Value i) {
    if (!segments)
      return arith::ConstantIntOp::create(b, l, 1, 1);
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                 load(segments, {i}),
                                 arith::ConstantIntOp::create(b, l, -1, 32));
  }
  /// The decay of the carried state at step i: exp(cum_i), or 0 when a
  /// sequence started since.
  Value stateDecay(Value cum, Value i) {
    return select(continuesState(i), exp(load(cum, {i})), f32c(0.0));
  }

  /// `fn(j, n, C, B)` for every step j of the chunk and state index n,
  /// C and B in f16 (zero past L), spread over the block; without
  /// `withC`, C is not read and null. They are computed while the step
  /// values are staged, so not from them.
  void forEachCB(Value t0, bool withC,
                 function_ref<void(Value, Value, Value, Value)> fn) {
    forEachOfBlock(q * n, [&](Value i) {
      Value j = div(i, n), nn = rem(i, n);
      Value t = add(t0, j);
      Value zero = buildFloat(b, l, f16, 0.0);
      SmallVector<Value> zeros{zero};
      if (withC)
        zeros.push_back(zero);
      SmallVector<Value> loaded = ifInside(
          t,
          [&]() -> SmallVector<Value> {
            SmallVector<Value> v{
                toF16(coefficient(YieldOp::kKey, t0, j, Value(), nn,
                                  /*staged=*/false))};
            if (withC)
              v.push_back(
                  toF16(coefficient(YieldOp::kQuery, t0, j, Value(), nn,
                                    /*staged=*/false)));
            return v;
          },
          zeros);
      fn(j, nn, withC ? loaded[1] : Value(), loaded[0]);
    });
  }

  /// `fn(j, p, v, w ∘ v)` for every step j and channel p of the block's
  /// `channels`, v the value (δx for Mamba-2; f16, zero past L), with
  /// w_j = exp(cum_last − cum_j) (0 for steps of an earlier sequence than
  /// the last step's).
  void forEachDx(Value t0, int64_t channels, Value cum, Value cumLast,
                 function_ref<void(Value, Value, Value, Value)> fn) {
    forEachOfBlock(q * channels, [&](Value i) {
      Value j = div(i, channels), pp = rem(i, channels);
      Value t = add(t0, j);
      Value dx = ifInside(t,
                          [&]() -> SmallVector<Value> {
                            return {coefficient(YieldOp::kValue, t0, j, pp, Value(),
                                               /*staged=*/true)};
                          },
                          {f32c(0.0)})[0];
      Value w = select(
          sameSequence(j, index(q - 1)),
          exp(arith::SubFOp::create(b, l, cumLast, load(cum, {j}))), f32c(0.0));
      fn(j, pp, toF16(dx), toF16(mulf(w, dx)));
    });
  }

  /// The masked, decayed score of the accumulator value `s` at (i, j).
  Value maskedScore(Value s, Value cum, Value i, Value j) {
    Value decay =
        exp(arith::SubFOp::create(b, l, load(cum, {i}), load(cum, {j})));
    Value causal = arith::AndIOp::create(
        b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::uge, i, j),
        sameSequence(i, j));
    return toF16(select(causal, mulf(s, decay), f32c(0.0)));
  }

  /// y at step t0 + i of channel p (of the block's tile) from its
  /// accumulated value: the skip term added and the gate applied, stored
  /// when inside L.
  void storeOutput(Value t0, Value i, Value p, Value acc) {
    when(ult(add(t0, i), length), [&] {
      Scope at = atStep(t0, i, p);
      Value y = acc;
      Value skip = yield.getRole(YieldOp::kSkip);
      if (!matchPattern(skip, m_AnyZeroFloat()))
        y = addf(y, emitter.emit(b, l, skip, at));
      if (Value gate = yield.getRole(YieldOp::kGate))
        y = mulf(y, emitter.emit(b, l, gate, at));
      storeAs(b, l, y, arg(Y),
              emitter.indicesOf(b, l, op.getYInitMutable(), at));
    });
  }

  /// The initial state at (channel p of the tile, n), zero without one.
  Value initialState(Value p, Value nn) {
    return arg(Init) ? loadAs(b, l, arg(Init), stateIndices(p, nn), f32)
                     : f32c(0.0);
  }
  void storeFinalState(Value v, Value p, Value nn) {
    if (arg(FinalState))
      storeAs(b, l, v, arg(FinalState), stateIndices(p, nn));
  }

  /// Runs `body(t0, state)`, one chunk's work from step t0 that returns
  /// the state after the chunk and, last, how much of the state entering
  /// the chunk it let through (`stateDecay` of its last step), over the
  /// chunks `phase` gives the block. The block holds its part of the state
  /// in registers: entry i at (channel of the tile, state index) `at[i]`.
  /// Walk: all chunks of the row from the initial state, the last state
  /// stored as the final one; ChunkStates: the chunks of the block's span
  /// from zero, the state and the product of the decays stored in `States`
  /// and `Decays`; ChunkOutputs: the chunks of the span from the state
  /// entering it, read from `States`.
  void run(Phase phase, ArrayRef<std::pair<Value, Value>> at,
           function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto stateAt = [&](std::pair<Value, Value> pn) -> SmallVector<Value> {
      return {ri, span, hi, add(p0, pn.first), pn.second};
    };
    SmallVector<Value> init;
    for (auto pn : at)
      init.push_back(phase == Phase::Walk ? initialState(pn.first, pn.second)
                     : phase == Phase::ChunkStates
                         ? f32c(0.0)
                         : load(arg(States), stateAt(pn)));
    bool decays = phase == Phase::ChunkStates;
    if (decays)
      init.push_back(f32c(1.0));
    Value chunks = arith::CeilDivUIOp::create(b, l, length, index(q));
    Value first = index(0), end = chunks;
    if (phase != Phase::Walk) {
      first = mul(span, index(kStepsPerSpan / q));
      end = arith::MinUIOp::create(b, l, add(first, index(kStepsPerSpan / q)),
                                   chunks);
    }
    size_t entries = at.size();
    auto loop = scf::ForOp::create(
        b, l, first, end, index(1), init,
        [&](OpBuilder &, Location, Value c, ValueRange carried) {
          SmallVector<Value> out =
              body(mul(c, index(q)), carried.take_front(entries));
          Value decay = out.pop_back_val();
          if (decays)
            out.push_back(mulf(carried.back(), decay));
          scf::YieldOp::create(b, l, out);
        });
    ValueRange last = loop.getResults();
    if (phase == Phase::Walk) {
      for (auto [v, pn] : llvm::zip_equal(last.take_front(entries), at))
        storeFinalState(v, pn.first, pn.second);
    } else if (decays) {
      for (auto [v, pn] : llvm::zip_equal(last.take_front(entries), at))
        store(v, arg(States), stateAt(pn));
      when(arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, tid, index(0)),
           [&] {
             store(last.back(), arg(Decays), {ri, span, hi});
           });
    }
  }
};

/// A buffer of the kernel's static workgroup memory.
Value workgroupBuffer(OpBuilder &b, Location l, ArrayRef<int64_t> shape,
                      Type element) {
  auto func = cast<gpu::GPUFuncOp>(b.getBlock()->getParentOp());
  return func.addWorkgroupAttribution(
      MemRefType::get(shape, element, AffineMap(),
                      gpu::AddressSpaceAttr::get(b.getContext(),
                                                 gpu::AddressSpace::Workgroup)),
      l);
}

// Fragments of mma.m16n8k16 (PTX ISA, "Matrix Fragments for
// mma.m16n8k16"): with g = lane / 4 and c = 2 (lane % 4), A (16 x 16)
// holds (g, c..c+1), (g+8, c..c+1), (g, c+8..c+9), (g+8, c+8..c+9);
// B (16 x 8, K x N) holds (c..c+1, g), (c+8..c+9, g); the accumulator
// is accRow/accCol.
using Element = function_ref<Value(Value, Value)>;

Value loadA(ChunkEmitter &e, Element at) {
  SmallVector<Value> v;
  for (int64_t half : {0, 8})
    for (int64_t row : {0, 8})
      for (int64_t k : {0, 1})
        v.push_back(at(e.add(e.group, e.index(row)),
                       e.add(e.pair, e.index(half + k))));
  return vector::FromElementsOp::create(e.b, e.l,
                                        VectorType::get({4, 2}, e.f16), v);
}

Value loadB(ChunkEmitter &e, Element at) {
  SmallVector<Value> v;
  for (int64_t half : {0, 8})
    for (int64_t k : {0, 1})
      v.push_back(at(e.add(e.pair, e.index(half + k)), e.group));
  return vector::FromElementsOp::create(e.b, e.l,
                                        VectorType::get({2, 2}, e.f16), v);
}

SmallVector<Value> mma(ChunkEmitter &e, Value a, Value bv, ValueRange acc) {
  OpBuilder &b = e.b;
  Location l = e.l;
  Value c =
      vector::FromElementsOp::create(b, l, VectorType::get({2, 2}, e.f32), acc);
  Value d =
      nvgpu::MmaSyncOp::create(b, l, a, bv, c, ArrayRef<int64_t>{16, 8, 16});
  SmallVector<Value> out;
  for (int64_t k = 0; k < 4; ++k)
    out.push_back(
        vector::ExtractOp::create(b, l, d, ArrayRef<int64_t>{k / 2, k % 2}));
  return out;
}

/// The product of 16 rows of `a` by a 16 x 8 block of `bm` (both given as
/// element functions of the tile), over K = `kEnd` (a multiple of 16),
/// added to `acc`.
SmallVector<Value> product(ChunkEmitter &e, Element aAt, Element bAt,
                           Value kEnd, SmallVector<Value> acc) {
  auto loop = scf::ForOp::create(
      e.b, e.l, e.index(0), kEnd, e.index(16), acc,
      [&](OpBuilder &, Location, Value k0, ValueRange acc) {
        Value a =
            loadA(e, [&](Value r, Value c) { return aAt(r, e.add(c, k0)); });
        Value bv =
            loadB(e, [&](Value r, Value c) { return bAt(e.add(r, k0), c); });
        scf::YieldOp::create(e.b, e.l, mma(e, a, bv, acc));
      });
  return SmallVector<Value>(loop.getResults());
}

/// One generation of tensor-core instructions. The chunk step of the
/// chunked form (buildChunkedKernel) is written once against it, as
/// Triton's per-generation MMA files sit behind one target interface: a
/// generation says where a chunk's operands are staged for its
/// instructions, when what the threads staged becomes visible to them, and
/// how it computes the three products.
class MmaGeneration {
public:
  explicit MmaGeneration(ChunkEmitter &e, int64_t channels)
      : e(e), channels(channels) {}
  virtual ~MmaGeneration() = default;

  /// Stores C and B of step j at state index nn (C is null when the chunk
  /// computes no output).
  virtual void stageKeys(Value j, Value nn, Value c, Value b) = 0;
  /// Stores element (p, nn) of the state the chunk starts from.
  virtual void stageState(Value h, Value p, Value nn) = 0;
  /// Stores δx (null when the chunk computes no output) and w ∘ δx of
  /// step j and head channel pp.
  virtual void stageValues(Value j, Value pp, Value dx, Value wdx) = 0;
  /// Makes what the threads staged visible to the products that follow
  /// (`outputs`: the scores and outputs, else the state update alone).
  virtual void publishStaged(bool outputs) = 0;
  /// M = C Bᵀ ∘ L into shared memory, visible to `outputs` after.
  virtual void scores() = 0;
  /// Y = exp(cum_i) · C hᵀ + M δx of the chunk from step t0, stored.
  virtual void outputs(Value t0) = 0;
  /// h' = `total` h + (w ∘ δx)ᵀ B from the thread's state elements.
  virtual SmallVector<Value> nextState(Value total, ValueRange state) = 0;

  ChunkEmitter &e;
  /// Head channels per block.
  int64_t channels;
  /// The (head channel, state index) of each state element a thread holds,
  /// in its accumulator's order.
  SmallVector<std::pair<Value, Value>> stateElements;
  /// The chunk's log decays and their inclusive sums (workgroup memory).
  Value logDecays, cum;
};

/// The chunked form's kernel for `phase`: each chunk staged, its scores
/// and outputs computed (unless the phase wants states only), the state
/// carried on, with the instructions of `g`.
void buildChunkedKernel(MmaGeneration &g, Phase phase) {
  ChunkEmitter &e = g.e;
  bool outputs = phase != Phase::ChunkStates;
  e.run(phase, g.stateElements, [&](Value t0, ValueRange state) -> SmallVector<Value> {
    // Staged between barriers: the step values and log decays; C
    // (queries, with outputs) and B (keys); the state (with outputs); then
    // cum and the segments; then δx and w ∘ δx of the block's channels.
    e.barrier(); // The previous chunk's products are done with shared memory.
    e.stageSteps(t0, g.logDecays);
    e.forEachCB(t0, outputs,
                [&](Value j, Value nn, Value c, Value bv) { g.stageKeys(j, nn, c, bv); });
    if (outputs)
      for (auto [h, pn] : llvm::zip_equal(state, g.stateElements))
        g.stageState(h, pn.first, pn.second);
    e.barrier();
    e.cumulate(t0, g.logDecays, g.cum);
    e.barrier();
    Value cumLast = e.load(g.cum, {e.index(e.q - 1)});
    e.forEachDx(t0, g.channels, g.cum, cumLast, [&](Value j, Value pp, Value dx, Value wdx) {
      g.stageValues(j, pp, outputs ? dx : Value(), wdx);
    });
    g.publishStaged(outputs);
    Value total = e.stateDecay(g.cum, e.index(e.q - 1));
    if (outputs) {
      g.scores();
      g.outputs(t0);
    }
    SmallVector<Value> next = g.nextState(total, state);
    next.push_back(total);
    return next;
  });
}

/// mma.sync (sm_80 on): 16 head channels per block, the products in 16 x 8
/// tiles of mma.m16n8k16 from static workgroup memory.
class MmaSync final : public MmaGeneration {
public:
  explicit MmaSync(ChunkEmitter &e) : MmaGeneration(e, kChannelTile) {
    OpBuilder &b = e.b;
    Location l = e.l;
    int64_t q = e.q, n = e.n;
    cs = workgroupBuffer(b, l, {q, n}, e.f16);
    bs = workgroupBuffer(b, l, {q, n}, e.f16);
    xs = workgroupBuffer(b, l, {q, kChannelTile}, e.f16);
    xw = workgroupBuffer(b, l, {kChannelTile, q}, e.f16);
    ms = workgroupBuffer(b, l, {q, q}, e.f16);
    hs = workgroupBuffer(b, l, {kChannelTile, n}, e.f16);
    logDecays = workgroupBuffer(b, l, {q}, e.f32);
    if (!e.stepValues.empty())
      e.stepScratch = workgroupBuffer(
          b, l, {static_cast<int64_t>(e.stepValues.size()), q}, e.f32);
    cum = workgroupBuffer(b, l, {q}, e.f32);
    if (e.arg(SeqIdx))
      e.segments = workgroupBuffer(b, l, {q}, b.getI32Type());
    // Each warp keeps N / 32 accumulator tiles (16 x 8) of the state: the
    // columns 8 (w + 4 t) of the 16 x N state.
    stateTiles = n / (8 * kWarps);
    for (int64_t t = 0; t < stateTiles; ++t)
      for (int64_t k = 0; k < 4; ++k)
        stateElements.push_back(
            {e.accRow(k), e.add(e.mul(stateColumn(t), e.index(8)), e.accCol(k))});
  }

  void stageKeys(Value j, Value nn, Value c, Value bv) override {
    if (c)
      e.store(c, cs, {j, nn});
    e.store(bv, bs, {j, nn});
  }
  // The state as the B operand of C hᵀ.
  void stageState(Value h, Value p, Value nn) override {
    e.store(e.toF16(h), hs, {p, nn});
  }
  void stageValues(Value j, Value pp, Value dx, Value wdx) override {
    if (dx)
      e.store(dx, xs, {j, pp});
    e.store(wdx, xw, {pp, j});
  }
  void publishStaged(bool outputs) override {
    // The scores read only what the staging's own barriers published; the
    // barrier after them publishes δx and w ∘ δx, which without outputs
    // one is needed for.
    if (!outputs)
      e.barrier();
  }
  void scores() override {
    int64_t q = e.q;
    // One 16 x 8 tile per warp at a time.
    e.forEach(e.warp, e.index((q / 16) * (q / 8)), e.index(kWarps), [&](Value tile) {
      Value r0 = e.mul(e.div(tile, q / 8), e.index(16));
      Value c0 = e.mul(e.rem(tile, q / 8), e.index(8));
      SmallVector<Value> s = product(
          e, [&](Value r, Value c) { return e.load(cs, {e.add(r0, r), c}); },
          [&](Value r, Value c) { return e.load(bs, {e.add(c0, c), r}); },
          e.index(e.n), zeros());
      for (int64_t k = 0; k < 4; ++k) {
        Value i = e.add(r0, e.accRow(k)), j = e.add(c0, e.accCol(k));
        e.store(e.maskedScore(s[k], cum, i, j), ms, {i, j});
      }
    });
    e.barrier();
  }
  void outputs(Value t0) override {
    // Q/16 x 2 tiles.
    e.forEach(e.warp, e.index(e.q / 8), e.index(kWarps), [&](Value tile) {
      Value r0 = e.mul(e.div(tile, 2), e.index(16));
      Value c0 = e.mul(e.rem(tile, 2), e.index(8));
      SmallVector<Value> acc = product(
          e, [&](Value r, Value c) { return e.load(cs, {e.add(r0, r), c}); },
          [&](Value r, Value c) { return e.load(hs, {e.add(c0, c), r}); },
          e.index(e.n), zeros());
      for (int64_t k = 0; k < 4; ++k)
        acc[k] = e.mulf(acc[k], e.stateDecay(cum, e.add(r0, e.accRow(k))));
      // M is lower triangular: its columns past the tile's last row are
      // zero.
      acc = product(
          e, [&](Value r, Value c) { return e.load(ms, {e.add(r0, r), c}); },
          [&](Value r, Value c) { return e.load(xs, {r, e.add(c0, c)}); },
          e.add(r0, e.index(16)), acc);
      for (int64_t k = 0; k < 4; ++k)
        e.storeOutput(t0, e.add(r0, e.accRow(k)), e.add(c0, e.accCol(k)), acc[k]);
    });
  }
  // In the warp's registers.
  SmallVector<Value> nextState(Value total, ValueRange state) override {
    SmallVector<Value> next;
    for (int64_t t = 0; t < stateTiles; ++t) {
      SmallVector<Value> acc;
      for (int64_t k = 0; k < 4; ++k)
        acc.push_back(e.mulf(total, state[4 * t + k]));
      Value c0 = e.mul(stateColumn(t), e.index(8));
      llvm::append_range(
          next, product(
                    e, [&](Value r, Value c) { return e.load(xw, {r, c}); },
                    [&](Value r, Value c) { return e.load(bs, {r, e.add(c0, c)}); },
                    e.index(e.q), acc));
    }
    return next;
  }

private:
  SmallVector<Value> zeros() { return SmallVector<Value>(4, e.f32c(0.0)); }
  /// The state tile t of the calling warp, in units of 8 columns.
  Value stateColumn(int64_t t) { return e.add(e.warp, e.index(kWarps * t)); }

  Value cs, bs, xs, xw, ms, hs;
  int64_t stateTiles;
};

/// An operand of the wgmma kernel in dynamic shared memory. wgmma reads it
/// through a matrix descriptor; without swizzling (PTX ISA, "Shared Memory
/// Matrix Layout") a matrix whose K elements are contiguous (K-major, the
/// layout wgmma takes for A and B without transposing) is made of core
/// matrices of 8 rows x 16 bytes stored as 128 contiguous bytes. Here the
/// core matrices of a group of 8 rows follow each other along K (the
/// descriptor's leading byte offset, LBO = 128) and the row groups follow
/// each other (the stride byte offset, SBO = 16 K).
struct WarpgroupOperand {
  /// A 1-D f16 view of the dynamic shared memory.
  Value buffer;
  /// Where the view starts in the dynamic shared memory.
  int64_t byteOffset;
  /// The extent of the contiguous (K) dimension.
  int64_t k;

  int64_t strideBytes() const { return 16 * k; }
  static constexpr int64_t kLeadingBytes = 128;

  /// The element index of (row, col), col along K.
  Value at(ChunkEmitter &e, Value row, Value col) const {
    Value core = e.add(e.mul(e.div(row, 8), e.index(k / 8)), e.div(col, 8));
    return e.add(e.mul(core, e.index(64)),
                 e.add(e.mul(e.rem(row, 8), e.index(8)), e.rem(col, 8)));
  }
  void store(ChunkEmitter &e, Value v, Value row, Value col) const {
    e.store(v, buffer, {at(e, row, col)});
  }

  /// The descriptor of the 16 columns from `col` of the rows from 0, with
  /// `base` the shared-memory address of the dynamic shared memory (i64).
  /// Bits 0-13: address, 16-29: LBO, 32-45: SBO, each in 16-byte units;
  /// base offset and swizzle mode (bits 49-51, 62-63) zero.
  Value descriptor(ChunkEmitter &e, Value base, int64_t col) const {
    OpBuilder &b = e.b;
    Location l = e.l;
    auto i64 = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, l, v, 64).getResult();
    };
    Value address =
        arith::AddIOp::create(b, l, base, i64(byteOffset + col / 8 * 128));
    Value field = arith::ShRUIOp::create(
        b, l, arith::AndIOp::create(b, l, address, i64(0x3FFFF)), i64(4));
    int64_t offsets = (kLeadingBytes >> 4) << 16 | (strideBytes() >> 4) << 32;
    return arith::OrIOp::create(b, l, field, i64(offsets));
  }
};

/// wgmma (sm_90a): 64 head channels per block, Q = 64, the products as
/// asynchronous warpgroup MMAs on operands in dynamic shared memory.
class Warpgroup final : public MmaGeneration {
public:
  explicit Warpgroup(ChunkEmitter &e) : MmaGeneration(e, kWarpgroupChannels) {
    OpBuilder &b = e.b;
    Location l = e.l;
    constexpr int64_t q = kWarpgroupChunk;
    int64_t n = e.n;
    auto workgroup =
        gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
    Value smem = gpu::DynamicSharedMemoryOp::create(
        b, l,
        MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(), workgroup));
    int64_t offset = 0;
    auto view = [&](ArrayRef<int64_t> shape, Type type) {
      Value v = memref::ViewOp::create(
          b, l, MemRefType::get(shape, type, AffineMap(), workgroup), smem,
          e.index(offset), ValueRange{});
      offset += ShapedType::getNumElements(shape) *
                type.getIntOrFloatBitWidth() / 8;
      return v;
    };
    auto operand = [&](int64_t rows, int64_t k) {
      int64_t start = offset;
      return WarpgroupOperand{view(rows * k, e.f16), start, k};
    };
    // C, B (steps x N), Bᵀ (N x steps), the state (channels x N), M (steps
    // x steps), δx and w ∘ δx (channels x steps): each stored K-major for
    // the product that reads it.
    cs = operand(q, n);
    bs = operand(q, n);
    bt = operand(n, q);
    hs = operand(channels, n);
    ms = operand(q, q);
    xt = operand(channels, q);
    xw = operand(channels, q);
    logDecays = view(q, e.f32);
    cum = view(q, e.f32);
    int64_t steps = e.stepValues.size();
    if (steps)
      e.stepScratch = view({steps, q}, e.f32);
    if (e.arg(SeqIdx))
      e.segments = view(q, b.getI32Type());
    assert(offset == warpgroupSharedBytes(n, steps, e.segments != nullptr) &&
           "shared memory size mismatch");
    base = arith::IndexCastOp::create(
        b, l, b.getI64Type(), memref::ExtractAlignedPointerAsIndexOp::create(b, l, smem));
    // The 64 x N state tile, as the accumulator of h' (rows: channels).
    for (int64_t i = 0; i < n / 2; ++i)
      stateElements.push_back({row(i), col(i)});
  }

  void stageKeys(Value j, Value nn, Value c, Value bv) override {
    if (c)
      cs.store(e, c, j, nn);
    bs.store(e, bv, j, nn);
    bt.store(e, bv, nn, j);
  }
  void stageState(Value h, Value p, Value nn) override {
    hs.store(e, e.toF16(h), p, nn);
  }
  void stageValues(Value j, Value pp, Value dx, Value wdx) override {
    if (dx)
      xt.store(e, dx, pp, j);
    xw.store(e, wdx, pp, j);
  }
  void publishStaged(bool) override { publish(); }
  void scores() override {
    SmallVector<Value> s = product(cs, bs, e.q, zeros(e.q / 2));
    for (int64_t i = 0; i < e.q / 2; ++i)
      ms.store(e, e.maskedScore(s[i], cum, row(i), col(i)), row(i), col(i));
    publish();
  }
  void outputs(Value t0) override {
    SmallVector<Value> y = product(cs, hs, channels, zeros(channels / 2));
    for (int64_t i = 0; i < channels / 2; ++i)
      y[i] = e.mulf(y[i], e.stateDecay(cum, row(i)));
    y = product(ms, xt, channels, y);
    for (int64_t i = 0; i < channels / 2; ++i)
      e.storeOutput(t0, row(i), col(i), y[i]);
  }
  SmallVector<Value> nextState(Value total, ValueRange state) override {
    SmallVector<Value> acc;
    for (Value h : state)
      acc.push_back(e.mulf(total, h));
    return product(xw, bt, e.n, acc);
  }

private:
  // Element i of a 64 x cols accumulator (wgmma's D): warp w holds rows
  // 16 w..16 w + 15, in the mma.m16n8 fragment of each 8 columns.
  Value row(int64_t i) { return e.add(e.mul(e.warp, e.index(16)), e.accRow(i % 4)); }
  Value col(int64_t i) { return e.add(e.index(8 * (i / 4)), e.accCol(i % 4)); }
  SmallVector<Value> zeros(int64_t count) {
    return SmallVector<Value>(count, e.f32c(0.0));
  }
  /// Shared memory written by the threads (the generic proxy) is read by
  /// wgmma (the async proxy): each thread fences its writes before the
  /// barrier that publishes them.
  void publish() {
    MLIRContext *context = e.b.getContext();
    NVVM::FenceProxyOp::create(
        e.b, e.l, NVVM::ProxyKindAttr::get(context, NVVM::ProxyKind::async_shared),
        NVVM::SharedSpaceAttr::get(context, NVVM::SharedSpace::shared_cta));
    e.barrier();
  }
  /// acc + A Bᵀ over the K of both operands (rows 0..63 of A, 0..cols-1 of
  /// B): one wgmma.mma_async per 16 of K in one group, waited for.
  SmallVector<Value> product(const WarpgroupOperand &a, const WarpgroupOperand &bm,
                             int64_t cols, ArrayRef<Value> acc) {
    OpBuilder &b = e.b;
    Location l = e.l;
    MLIRContext *context = b.getContext();
    assert(a.k == bm.k && static_cast<int64_t>(acc.size()) == cols / 2);
    auto type =
        LLVM::LLVMStructType::getLiteral(context, SmallVector<Type>(cols / 2, e.f32));
    Value d = LLVM::UndefOp::create(b, l, type);
    for (auto [i, v] : llvm::enumerate(acc))
      d = LLVM::InsertValueOp::create(b, l, d, v, i);
    // Orders the accumulator registers' last writes before the wgmma.
    NVVM::WgmmaFenceAlignedOp::create(b, l);
    for (int64_t k0 = 0; k0 < a.k; k0 += 16)
      d = NVVM::WgmmaMmaAsyncOp::create(
          b, l, type, d, a.descriptor(e, base, k0), bm.descriptor(e, base, k0),
          NVVM::MMAShapeAttr::get(context, 64, cols, 16), NVVM::WGMMATypes::f16,
          NVVM::WGMMATypes::f16, NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
          NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
          NVVM::MMALayout::col, /*satfinite=*/nullptr);
    NVVM::WgmmaGroupSyncAlignedOp::create(b, l);
    NVVM::WgmmaWaitGroupSyncOp::create(b, l, 0);
    SmallVector<Value> out;
    for (int64_t i = 0; i < cols / 2; ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, l, d, i));
    return out;
  }

  WarpgroupOperand cs, bs, bt, hs, ms, xt, xw;
  /// The shared-memory address of the dynamic shared memory (i64).
  Value base;
};

/// The state-passing kernel of Phase::ChunkStates/ChunkOutputs: a thread
/// per (row, head, channel, state index), n fastest, runs the recurrence
/// over the chunks, h ← decay_c · h + states[c], replacing each chunk's
/// state by the one entering it and storing the last as the final state.
void buildStatePassingKernel(OpBuilder &b, Location l, RecurrenceOp op,
                             const Operands &operands, int64_t blockSize) {
  Type f32 = b.getF32Type();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, l, v);
  };
  const std::array<Value, kArgCount> &ops = operands.roles;
  Value states = ops[States];
  Value rows = dimOf(b, l, states, 0), chunks = dimOf(b, l, states, 1),
        heads = dimOf(b, l, states, 2), channels = dimOf(b, l, states, 3),
        n = dimOf(b, l, states, 4);
  Value item = globalThreadIndex(b, l, blockSize);
  Value perRow = arith::MulIOp::create(
      b, l, heads, arith::MulIOp::create(b, l, channels, n));
  Value inside =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, item,
                            arith::MulIOp::create(b, l, rows, perRow));
  auto guard = scf::IfOp::create(b, l, inside, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPoint(guard.thenBlock()->getTerminator());
  Value ri = arith::DivUIOp::create(b, l, item, perRow);
  Value rest = arith::RemUIOp::create(b, l, item, perRow);
  Value hi = arith::DivUIOp::create(b, l, rest,
                                    arith::MulIOp::create(b, l, channels, n));
  rest = arith::RemUIOp::create(b, l, rest,
                                arith::MulIOp::create(b, l, channels, n));
  // The op's state in its own layout: g and r are static (see
  // fitsGPUChunkedKernel), the rows those of `states`.
  SmallVector<Value> extents;
  for (int64_t extent : op.getStaticExtents())
    extents.push_back(index(ShapedType::isDynamic(extent) ? 1 : extent));
  extents[RecurrenceOp::kB] = rows;
  CoefficientEmitter emitter(op, extents);
  Scope at;
  at.index[RecurrenceOp::kB] = ri;
  at.index[RecurrenceOp::kG] =
      arith::DivUIOp::create(b, l, hi, extents[RecurrenceOp::kR]);
  at.index[RecurrenceOp::kR] =
      arith::RemUIOp::create(b, l, hi, extents[RecurrenceOp::kR]);
  at.index[kP] = arith::DivUIOp::create(b, l, rest, n);
  at.index[kN] = arith::RemUIOp::create(b, l, rest, n);
  // Without a state the op reads no initial one and returns no final one.
  SmallVector<Value> stateAt;
  if (op.getState())
    stateAt = emitter.indicesOf(b, l, op.getStateMutable()[0], at);
  Value h0 = ops[Init] ? loadAs(b, l, ops[Init], stateAt, f32)
                       : buildFloat(b, l, f32, 0.0);
  auto loop = scf::ForOp::create(
      b, l, index(0), chunks, index(1), ValueRange{h0},
      [&](OpBuilder &, Location, Value c, ValueRange h) {
        SmallVector<Value> spanAt{ri, c, hi, at.index[kP], at.index[kN]};
        Value added = memref::LoadOp::create(b, l, states, spanAt);
        memref::StoreOp::create(b, l, h[0], states, spanAt);
        Value decay =
            memref::LoadOp::create(b, l, ops[Decays], ValueRange{ri, c, hi});
        scf::YieldOp::create(
            b, l,
            ValueRange{arith::AddFOp::create(
                b, l, arith::MulFOp::create(b, l, decay, h[0]), added)});
      });
  if (Value final = ops[FinalState])
    storeAs(b, l, loop.getResult(0), final, stateAt);
}

/// The kernels of one chunked op: their shape, and their launches.
class ChunkedKernels {
public:
  /// `op` has a configuration the kernels take (hasChunkedKernel).
  ChunkedKernels(PatternRewriter &rewriter, RecurrenceOp op)
      : rewriter(rewriter), op(op), kernel(rewriter, op, /*inPlace=*/false) {
    channels = static_cast<int64_t>(*op.getTile());
    q = static_cast<int64_t>(*op.getChunkSize());
    wgmma = channels == kWarpgroupChannels;
    sharedBytes =
        wgmma ? warpgroupSharedBytes(op.getStaticExtents()[kN],
                                     stagedStepValues(op),
                                     static_cast<bool>(op.getSeqIdx()))
              : 0;
    name = kernel.spec().name.str() + (wgmma ? "_wgmma" : "");
    parallel = op.getSpans() == SpanOrder::parallel;
  }

  /// Replaces the op by one kernel, a block per (row, head, channel
  /// tile), a row being a batch row or a packed sequence.
  void lowerWalk();
  /// Replaces the op by three kernels, the spans in parallel: their states
  /// [rows, spans, H, P, N] and decays [rows, spans, H] in device memory
  /// between the kernels.
  void lowerSpans();
  bool parallel;

private:

  /// Maps `args` from `first` on to the op's inputs, then seq_idx when
  /// the op has one.
  void mapInputs(ArrayRef<Value> args, size_t first, Operands &ops) const {
    for (Value input : op.getInputs())
      ops.sources.map(input, args[first++]);
    if (Value seq = op.getSeqIdx()) {
      ops.sources.map(seq, args[first]);
      ops.roles[SeqIdx] = args[first];
    }
  }
  /// The op's inputs, then its seq_idx (null when absent).
  SmallVector<Value> inputs() const {
    SmallVector<Value> values(op.getInputs());
    values.push_back(op.getSeqIdx());
    return values;
  }
  void emit(OpBuilder &b, Location l, const Operands &ops, Phase phase) const {
    ChunkEmitter emitter(b, l, op, ops, q, channels, phase);
    std::unique_ptr<MmaGeneration> generation;
    if (wgmma)
      generation = std::make_unique<Warpgroup>(emitter);
    else
      generation = std::make_unique<MmaSync>(emitter);
    buildChunkedKernel(*generation, phase);
  }

  PatternRewriter &rewriter;
  // Op accessors are not const; the builders never change the op.
  mutable RecurrenceOp op;
  RecurrenceKernel kernel;
  bool wgmma;
  int64_t channels, q, sharedBytes;
  std::string name;
};

void ChunkedKernels::lowerWalk() {
  KernelSpec spec = kernel.spec();
  spec.name = name;
  spec.blockSize = kBlockSize;
  spec.dynamicSharedBytes = sharedBytes;
  // Rows x g x r x p / channels: P is a multiple of the tile.
  auto gridSize = [&](OpBuilder &b, Location l, ValueRange buffers) -> Value {
    return kernel.blocksFor(b, l, buffers, channels);
  };
  auto body = [&](OpBuilder &b, Location l, ArrayRef<Value> args) {
    RecurrenceKernel::Buffers mapped = kernel.map(args);
    Operands ops;
    ops.sources = mapped.sources;
    ops.roles[Y] = mapped.y;
    ops.roles[FinalState] = mapped.state;
    ops.roles[Init] = mapped.initial;
    ops.roles[CuSeqlens] = mapped.cuSeqlens;
    if (Value seq = op.getSeqIdx())
      ops.roles[SeqIdx] = mapped.sources.lookup(seq);
    emit(b, l, ops, Phase::Walk);
  };
  spec.gridSize = gridSize;
  spec.body = body;
  kernel.launch(rewriter, spec);
}

void ChunkedKernels::lowerSpans() {
  Location loc = op.getLoc();
  SmallVector<int64_t> known = op.getStaticExtents();
  SmallVector<Value> extents = recurrenceExtents(rewriter, loc, op);
  int64_t rows = known[RecurrenceOp::kB],
          heads = known[RecurrenceOp::kG] * known[RecurrenceOp::kR];
  Value spans = arith::CeilDivUIOp::create(
      rewriter, loc, extents[kT],
      arith::ConstantIndexOp::create(rewriter, loc, kStepsPerSpan));
  Value dynamic = extents[RecurrenceOp::kB];
  Type f32 = rewriter.getF32Type();
  auto statesType = RankedTensorType::get(
      {rows, ShapedType::kDynamic, heads, known[kP], known[kN]}, f32);
  auto decaysType =
      RankedTensorType::get({rows, ShapedType::kDynamic, heads}, f32);
  // Blocks of a per-span kernel, from its states buffer: rows x spans x
  // heads x channel tiles.
  auto spanGrid = [&](OpBuilder &b, Location l, Value states) -> Value {
    Value blocks = arith::ConstantIndexOp::create(b, l, known[kP] / channels);
    for (int64_t d : {0, 1, 2})
      blocks = arith::MulIOp::create(b, l, blocks, dimOf(b, l, states, d));
    return blocks;
  };
  std::string statesName = name + "_states", outputsName = name + "_outputs",
              passingName = kernel.spec().name.str() + "_passing";

  auto statesGrid = [&](OpBuilder &b, Location l, ValueRange buffers) {
    return spanGrid(b, l, buffers[0]);
  };
  auto statesBody = [&](OpBuilder &b, Location l, ArrayRef<Value> args) {
    Operands ops;
    ops.roles[States] = args[0];
    ops.roles[Decays] = args[1];
    mapInputs(args, 2, ops);
    emit(b, l, ops, Phase::ChunkStates);
  };
  KernelSpec statesSpec{statesName,
                        /*destinations=*/{},
                        // The other extents are static.
                        {deviceOutput(statesType, {dynamic, spans}),
                         deviceOutput(decaysType, {dynamic, spans})},
                        inputs(),
                        kBlockSize,
                        statesGrid,
                        statesBody,
                        sharedBytes};
  SmallVector<Value> perSpan = launchKernel(rewriter, op, statesSpec);

  constexpr int64_t kPassingBlock = 256;
  auto passingGrid = [&](OpBuilder &b, Location l, ValueRange buffers) {
    Value items = dimOf(b, l, buffers[0], 0);
    for (int64_t d : {2, 3, 4})
      items = arith::MulIOp::create(b, l, items, dimOf(b, l, buffers[0], d));
    return arith::CeilDivUIOp::create(
        b, l, items, arith::ConstantIndexOp::create(b, l, kPassingBlock));
  };
  bool hasFinal = static_cast<bool>(op.getState());
  auto passingBody = [&](OpBuilder &b, Location l, ArrayRef<Value> args) {
    Operands ops;
    size_t next = 0;
    ops.roles[States] = args[next++];
    if (hasFinal)
      ops.roles[FinalState] = args[next++];
    ops.roles[Decays] = args[next++];
    ops.roles[Init] = args[next];
    buildStatePassingKernel(b, l, op, ops, kPassingBlock);
  };
  KernelSpec passingSpec{passingName,          {perSpan[0]},
                         kernel.spec().outputs, {perSpan[1], kernel.initialState()},
                         kPassingBlock,         passingGrid,
                         passingBody};
  SmallVector<Value> passed = launchKernel(rewriter, op, passingSpec);

  auto outputsGrid = [&](OpBuilder &b, Location l, ValueRange buffers) {
    return spanGrid(b, l, buffers[1]);
  };
  auto outputsBody = [&](OpBuilder &b, Location l, ArrayRef<Value> args) {
    Operands ops;
    ops.roles[Y] = args[0];
    ops.roles[States] = args[1];
    mapInputs(args, 2, ops);
    emit(b, l, ops, Phase::ChunkOutputs);
  };
  SmallVector<Value> outputsInputs{passed[0]};
  llvm::append_range(outputsInputs, inputs());
  KernelSpec outputsSpec{outputsName, {op.getYInit()}, /*outputs=*/{},
                         outputsInputs, kBlockSize,      outputsGrid,
                         outputsBody,   sharedBytes};
  SmallVector<Value> results = launchKernel(rewriter, op, outputsSpec);
  if (hasFinal)
    results.push_back(passed[1]);
  kernel.replace(rewriter, results);
}

struct LowerChunked : OpRewritePattern<RecurrenceOp> {
  LowerChunked(MLIRContext *context, GPUChip chip)
      : OpRewritePattern<RecurrenceOp>(context), chip(chip) {}

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    if (!hasChunkedKernel(op, chip))
      return rewriter.notifyMatchFailure(
          op, "no chunked kernel configured that the chip can run");
    ChunkedKernels kernels(rewriter, op);
    if (kernels.parallel)
      kernels.lowerSpans();
    else
      kernels.lowerWalk();
    return success();
  }

  GPUChip chip;
};

} // namespace

bool gpu_lowering::hasChunkedKernel(RecurrenceOp op, GPUChip chip) {
  return op.getForm() == RecurrenceForm::chunked && op.getSpans() &&
         op.getChunkSize() && op.getTile() &&
         fitsGPUChunkedKernel(op, static_cast<int64_t>(*op.getChunkSize()),
                              static_cast<int64_t>(*op.getTile()), chip);
}

void gpu_lowering::populateChunkedPatterns(RewritePatternSet &patterns,
                                           GPUChip chip) {
  patterns.add<LowerChunked>(patterns.getContext(), chip);
}
