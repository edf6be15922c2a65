//===- LowerSelectiveScan.cpp - selective_scan, a warp scan over time -----===//
//
// Part of ssmc. The Mamba-1 scan as a parallel scan across time: one warp
// per (batch, channel). A round covers 32 · kChunk consecutive steps; lane
// l owns the kChunk steps starting at l · kChunk. Per state index n each
// lane discretizes its steps in registers and composes them into one pair
// (Π ā, h from zero); an inclusive warp scan over those pairs with
// `gpu.shuffle up` (the composition (a1, b1) ∘ (a2, b2) = (a1 a2, a2 b1 +
// b2)) gives every lane the state entering its chunk from the state
// carried into the round; the lane then re-runs its steps from there,
// adding C · h into its kChunk outputs. The state leaving the round is
// lane 31's last h. Rounds repeat until L is covered. Global memory is
// read and written along time in coalesced order (lane l at step 32 j + l)
// and staged through workgroup memory into the chunks. Ā, B̄ and h never
// reach memory; the carried state is spread over the lanes (lane l holds
// n = l, l + 32, …), so N costs N / 32 registers.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Transforms/Discretization.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

/// Threads per block: 4 warps, so 4 channels per block.
constexpr int64_t kBlockSize = 128;
constexpr int64_t kWarpsPerBlock = kBlockSize / kWarpSize;

/// Steps a lane owns per round. The lane keeps δ, u, y and, per n, ā and
/// b̄ of each of them in registers; 8 makes a round 256 steps and puts 14
/// shuffles per n against 256 exponentials.
constexpr int64_t kChunk = 8;

/// Steps of a round.
constexpr int64_t kRoundSteps = kWarpSize * kChunk;

/// A warp's staging row in workgroup memory: a round's steps plus a pad
/// word after every 32, so that both the coalesced accesses (lane l at step
/// 32 j + l) and the chunked ones (lane l at step 8 l + s) fall on 32
/// distinct banks.
constexpr int64_t kStagingRow = kRoundSteps + kRoundSteps / kWarpSize;

/// Series exchanged at once (δ and u; B and C), so one pair of barriers
/// serves both.
constexpr int64_t kStagingSlots = 2;

/// Largest state size: a lane carries ⌈N / 32⌉ states between rounds.
constexpr int64_t kMaxStates = 256;

/// Operand positions in the kernel's argument list.
enum Arg { Y, FinalState, U, Delta, A, Bm, Cm, Skip, Gate, DeltaBias, Init };

/// `gpu.shuffle` of an f32/f64 `value` from the lane `offset` selects
/// (relative for `up`, absolute for `idx`).
Value shuffle(OpBuilder &b, Location loc, Value value, Value offset,
              gpu::ShuffleMode mode) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), kWarpSize);
  return gpu::ShuffleOp::create(b, loc, value, offset, width, mode)
      .getShuffleResult();
}

struct LowerSelectiveScan : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = whyNoGPULowering(op))
      return rewriter.notifyMatchFailure(op, *reason);
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    int64_t n = op.getA().getType().getDimSize(1);
    bool selectiveB = op.getB().getType().getRank() == 4;
    bool selectiveC = op.getC().getType().getRank() == 4;
    bool hasFinal = static_cast<bool>(op.getFinalState());
    bool softplus = op.getDeltaSoftplus();
    Discretization method = op.getDiscretization();
    auto argIndex = [&](Arg a) { return !hasFinal && a > Y ? a - 1 : a; };

    auto dim = [&](Value t, int64_t i) -> Value {
      return tensor::DimOp::create(rewriter, loc, t, i);
    };
    Value batch = dim(op.getU(), 0), channels = dim(op.getU(), 1);
    SmallVector<std::pair<RankedTensorType, SmallVector<Value>>> outputs;
    auto yType = op.getY().getType();
    outputs.push_back(
        deviceOutput(yType, {batch, channels, dim(op.getU(), 2)}));
    if (hasFinal) {
      auto finalType = cast<RankedTensorType>(op.getFinalState().getType());
      outputs.push_back(
          deviceOutput(finalType, {batch, channels, dim(op.getA(), 1)}));
    }

    auto gridSize = [&](OpBuilder &b, Location l, ValueRange buffers) -> Value {
      Value u = buffers[argIndex(U)];
      Value items =
          arith::MulIOp::create(b, l, dimOf(b, l, u, 0), dimOf(b, l, u, 1));
      return arith::CeilDivUIOp::create(
          b, l, items, arith::ConstantIndexOp::create(b, l, kWarpsPerBlock));
    };

    auto body = [&](OpBuilder &b, Location l, ArrayRef<Value> kernelArgs) {
      auto arg = [&](Arg a) { return kernelArgs[argIndex(a)]; };
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, l, v);
      };
      auto i32 = [&](Value v) -> Value {
        return arith::IndexCastOp::create(b, l, b.getI32Type(), v);
      };
      auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
        return arith::CmpIOp::create(b, l, p, x, y);
      };
      auto select = [&](Value c, Value x, Value y) -> Value {
        return arith::SelectOp::create(b, l, c, x, y);
      };
      auto mul = [&](Value x, Value y) -> Value {
        return arith::MulFOp::create(b, l, x, y);
      };
      auto fma = [&](Value x, Value y, Value z) -> Value {
        return arith::AddFOp::create(b, l, mul(x, y), z);
      };
      Value u = arg(U);
      Value tid = gpu::ThreadIdOp::create(b, l, gpu::Dimension::x);
      Value lane = arith::RemUIOp::create(b, l, tid, index(kWarpSize));
      Value warp = arith::DivUIOp::create(b, l, tid, index(kWarpSize));
      Value item = arith::AddIOp::create(
          b, l,
          arith::MulIOp::create(b, l,
                                gpu::BlockIdOp::create(b, l, gpu::Dimension::x),
                                index(kWarpsPerBlock)),
          warp);
      Value channels = dimOf(b, l, u, 1), length = dimOf(b, l, u, 2);
      Value items = arith::MulIOp::create(b, l, dimOf(b, l, u, 0), channels);
      // Warps past the last item recompute it and store nothing: every
      // thread of the block must reach the staging barriers.
      Value active = cmp(arith::CmpIPredicate::ult, item, items);
      item = arith::MinUIOp::create(
          b, l, item, arith::SubIOp::create(b, l, items, index(1)));
      auto storeIf = [&](Value condition, function_ref<void()> emit) {
        auto guard =
            scf::IfOp::create(b, l, condition, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard inGuard(b);
        b.setInsertionPoint(guard.thenBlock()->getTerminator());
        emit();
      };

      // Loads and stores along time are coalesced (lane l at step 32 j + l
      // of the round); the recurrence needs each lane's 8 consecutive steps.
      // The warp's row of workgroup memory turns one layout into the other.
      auto func = cast<gpu::GPUFuncOp>(b.getInsertionBlock()->getParentOp());
      Value staging = func.addWorkgroupAttribution(
          MemRefType::get({kWarpsPerBlock, kStagingSlots, kStagingRow}, ct,
                          MemRefLayoutAttrInterface(),
                          gpu::AddressSpaceAttr::get(
                              getContext(), gpu::AddressSpace::Workgroup)),
          l);
      Value chunkBase = arith::AddIOp::create(
          b, l, arith::MulIOp::create(b, l, lane, index(kChunk)),
          arith::DivUIOp::create(b, l, lane, index(kWarpSize / kChunk)));
      auto coalescedSlot = [&](int64_t j) -> Value {
        return arith::AddIOp::create(b, l, lane, index(j * (kWarpSize + 1)));
      };
      auto chunkSlot = [&](int64_t s) -> Value {
        return arith::AddIOp::create(b, l, chunkBase, index(s));
      };
      // Each series: kChunk values in one layout, returned in the other.
      auto exchange = [&](ArrayRef<SmallVector<Value>> series, bool toChunks) {
        for (auto [k, values] : llvm::enumerate(series))
          for (int64_t j = 0; j < kChunk; ++j)
            memref::StoreOp::create(
                b, l, values[j], staging,
                {warp, index(k), toChunks ? coalescedSlot(j) : chunkSlot(j)});
        gpu::BarrierOp::create(b, l);
        SmallVector<SmallVector<Value>> result(series.size());
        for (auto [k, values] : llvm::enumerate(result))
          for (int64_t j = 0; j < kChunk; ++j)
            values.push_back(memref::LoadOp::create(
                b, l, staging,
                {warp, index(k), toChunks ? chunkSlot(j) : coalescedSlot(j)}));
        // The row is written again by the next exchange.
        gpu::BarrierOp::create(b, l);
        return result;
      };
      Value bi = arith::DivUIOp::create(b, l, item, channels);
      Value di = arith::RemUIOp::create(b, l, item, channels);
      Value groups = selectiveB   ? dimOf(b, l, arg(Bm), 1)
                     : selectiveC ? dimOf(b, l, arg(Cm), 1)
                                  : index(1);
      Value gi = arith::DivUIOp::create(
          b, l, di, arith::DivUIOp::create(b, l, channels, groups));
      Value zero = buildFloat(b, l, ct, 0.0);

      // Lane l carries state n = 32 k + l in its k-th register; lanes past N
      // carry a zero nobody reads. Indices past N are clamped, not guarded,
      // so that every lane runs the same code.
      int64_t carriedPerLane = llvm::divideCeil(n, kWarpSize);
      auto stateIndex = [&](int64_t k) {
        Value ni = arith::AddIOp::create(b, l, index(k * kWarpSize), lane);
        return std::make_pair(
            cmp(arith::CmpIPredicate::ult, ni, index(n)),
            arith::MinUIOp::create(b, l, ni, index(n - 1)).getResult());
      };
      SmallVector<Value> carried;
      for (int64_t k = 0; k < carriedPerLane; ++k) {
        auto [valid, ni] = stateIndex(k);
        carried.push_back(
            arg(Init)
                ? select(valid, loadAs(b, l, arg(Init), {bi, di, ni}, ct), zero)
                : zero);
      }
      Value bias =
          arg(DeltaBias) ? loadAs(b, l, arg(DeltaBias), {di}, ct) : Value();
      Value skip = arg(Skip) ? loadAs(b, l, arg(Skip), {di}, ct) : Value();
      Value lastLane =
          arith::ConstantIntOp::create(b, l, b.getI32Type(), kWarpSize - 1);

      auto rounds = scf::ForOp::create(
          b, l, index(0), length, index(kWarpSize * kChunk), carried,
          [&](OpBuilder &, Location, Value start, ValueRange carriedIn) {
            // Coalesced steps (32 j + lane); those past L read the last
            // step instead and store nothing.
            Value lastStep = arith::SubIOp::create(b, l, length, index(1));
            SmallVector<Value> steps, stored;
            for (int64_t j = 0; j < kChunk; ++j) {
              Value t = arith::AddIOp::create(
                  b, l, start,
                  arith::AddIOp::create(b, l, lane, index(j * kWarpSize)));
              stored.push_back(arith::AndIOp::create(
                  b, l, active, cmp(arith::CmpIPredicate::ult, t, length)));
              steps.push_back(arith::MinUIOp::create(b, l, t, lastStep));
            }
            auto loadSteps = [&](Value buffer, SmallVector<Value> at) {
              SmallVector<Value> values;
              at.push_back(Value());
              for (Value t : steps) {
                at.back() = t;
                values.push_back(loadAs(b, l, buffer, at, ct));
              }
              return values;
            };
            SmallVector<Value> deltaSteps;
            for (Value dt : loadSteps(arg(Delta), {bi, di}))
              deltaSteps.push_back(buildStepSize(b, l, dt, bias, softplus,
                                                 /*limit=*/std::nullopt));
            SmallVector<SmallVector<Value>> chunk = exchange(
                {deltaSteps, loadSteps(u, {bi, di})}, /*toChunks=*/true);
            // The lane's chunk; steps past L are the identity (δ = 0 gives
            // ā = 1, b̄ = 0 with every rule).
            Value first = arith::AddIOp::create(
                b, l, start, arith::MulIOp::create(b, l, lane, index(kChunk)));
            SmallVector<Value> delta, inputs = chunk[1], y;
            for (int64_t s = 0; s < kChunk; ++s) {
              Value t = arith::AddIOp::create(b, l, first, index(s));
              delta.push_back(select(cmp(arith::CmpIPredicate::ult, t, length),
                                     chunk[0][s], zero));
              y.push_back(skip ? mul(skip, inputs[s]) : zero);
            }

            SmallVector<Value> carriedOut;
            for (int64_t k = 0; k < carriedPerLane; ++k) {
              // States 32 k … 32 k + 31 one after another; lane j holds the
              // carried one of state 32 k + j.
              int64_t count = std::min(kWarpSize, n - k * kWarpSize);
              SmallVector<Value> init(y);
              init.push_back(carriedIn[k]);
              auto states = scf::ForOp::create(
                  b, l, index(0), index(count), index(1), init,
                  [&](OpBuilder &, Location, Value j, ValueRange acc) {
                    Value ni =
                        arith::AddIOp::create(b, l, index(k * kWarpSize), j);
                    Value an = loadAs(b, l, arg(A), {di, ni}, ct);
                    Value fixedB = selectiveB
                                       ? Value()
                                       : loadAs(b, l, arg(Bm), {di, ni}, ct);
                    Value fixedC = selectiveC
                                       ? Value()
                                       : loadAs(b, l, arg(Cm), {di, ni}, ct);
                    SmallVector<SmallVector<Value>> selective;
                    if (selectiveB)
                      selective.push_back(loadSteps(arg(Bm), {bi, gi, ni}));
                    if (selectiveC)
                      selective.push_back(loadSteps(arg(Cm), {bi, gi, ni}));
                    if (!selective.empty())
                      selective = exchange(selective, /*toChunks=*/true);
                    auto chunkB = [&](int64_t s) {
                      return selectiveB ? selective[0][s] : fixedB;
                    };
                    auto chunkC = [&](int64_t s) {
                      return selectiveC ? selective.back()[s] : fixedC;
                    };
                    // The chunk as one pair: (Π ā, h reached from zero).
                    SmallVector<Value> decay, input;
                    Value prod, reach;
                    for (int64_t s = 0; s < kChunk; ++s) {
                      auto [abar, bbar] = buildDiscretization(
                          b, l, method, an, chunkB(s), delta[s]);
                      decay.push_back(abar);
                      input.push_back(mul(bbar, inputs[s]));
                      prod = s ? mul(prod, decay[s]) : decay[s];
                      reach = s ? fma(decay[s], reach, input[s]) : input[s];
                    }
                    // Inclusive scan over the lanes: lane i ends with the
                    // pair of chunks 0 … i. The earlier pair comes from
                    // below: (p', r') ∘ (p, r) = (p' p, p r' + r).
                    for (int64_t offset = 1; offset < kWarpSize; offset *= 2) {
                      Value off = arith::ConstantIntOp::create(
                          b, l, b.getI32Type(), offset);
                      Value prodBelow =
                          shuffle(b, l, prod, off, gpu::ShuffleMode::UP);
                      Value reachBelow =
                          shuffle(b, l, reach, off, gpu::ShuffleMode::UP);
                      Value has =
                          cmp(arith::CmpIPredicate::uge, lane, index(offset));
                      reach = select(has, fma(prod, reachBelow, reach), reach);
                      prod = select(has, mul(prod, prodBelow), prod);
                    }
                    // The carried state of n sits in lane j; this lane's
                    // chunk starts from it advanced through chunks 0 … l − 1
                    // (the exclusive prefix: the inclusive one shifted up a
                    // lane).
                    Value hIn = shuffle(b, l, acc.back(), i32(j),
                                        gpu::ShuffleMode::IDX);
                    Value oneI32 =
                        arith::ConstantIntOp::create(b, l, b.getI32Type(), 1);
                    Value prodBefore =
                        shuffle(b, l, prod, oneI32, gpu::ShuffleMode::UP);
                    Value reachBefore =
                        shuffle(b, l, reach, oneI32, gpu::ShuffleMode::UP);
                    Value firstLane =
                        cmp(arith::CmpIPredicate::eq, lane, index(0));
                    Value h = select(firstLane, hIn,
                                     fma(prodBefore, hIn, reachBefore));
                    SmallVector<Value> next;
                    for (int64_t s = 0; s < kChunk; ++s) {
                      h = fma(decay[s], h, input[s]);
                      next.push_back(
                          buildReductionFMA(b, l, acc[s], h, chunkC(s)));
                    }
                    // The state leaving the round goes to lane j.
                    Value out =
                        shuffle(b, l, h, lastLane, gpu::ShuffleMode::IDX);
                    next.push_back(
                        select(cmp(arith::CmpIPredicate::eq, lane, j), out,
                               acc.back()));
                    scf::YieldOp::create(b, l, next);
                  });
              for (int64_t s = 0; s < kChunk; ++s)
                y[s] = states.getResult(s);
              carriedOut.push_back(states.getResults().back());
            }

            // y back to coalesced steps, gated and stored there.
            SmallVector<Value> ySteps = exchange({y}, /*toChunks=*/false)[0];
            for (int64_t j = 0; j < kChunk; ++j)
              storeIf(stored[j], [&] {
                Value yj = ySteps[j];
                if (Value gate = arg(Gate))
                  yj = mul(yj, buildSilu(
                                   b, l,
                                   loadAs(b, l, gate, {bi, di, steps[j]}, ct)));
                storeAs(b, l, yj, arg(Y), {bi, di, steps[j]});
              });
            scf::YieldOp::create(b, l, carriedOut);
          });
      if (hasFinal)
        for (int64_t k = 0; k < carriedPerLane; ++k) {
          auto [valid, ni] = stateIndex(k);
          storeIf(arith::AndIOp::create(b, l, active, valid), [&] {
            storeAs(b, l, rounds.getResult(k), arg(FinalState), {bi, di, ni});
          });
        }
    };

    KernelSpec spec{"selective_scan",
                    /*destinations=*/{},
                    outputs,
                    {op.getU(), op.getDelta(), op.getA(), op.getB(), op.getC(),
                     op.getD(), op.getZ(), op.getDeltaBias(), op.getInit()},
                    kBlockSize,
                    gridSize,
                    body};
    replaceWithKernel(rewriter, op, spec);
    return success();
  }
};

} // namespace

std::optional<std::string> gpu_lowering::whyNoGPULowering(SelectiveScanOp op) {
  int64_t n = op.getA().getType().getDimSize(1);
  if (ShapedType::isDynamic(n) || n > kMaxStates)
    return "needs a static state size N of at most " +
           std::to_string(kMaxStates) +
           " on the GPU (its states are carried in registers)";
  return std::nullopt;
}

void gpu_lowering::populateSelectiveScanPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSelectiveScan>(patterns.getContext());
}
