//===- LowerStateUpdate.cpp - ssm.state_update to a warp-per-row kernel ---===//
//
// Part of ssmc. The decode step on the GPU. One warp per state row: a
// (batch, channel) of Mamba-1 or a (batch, head, head-channel) of Mamba-2,
// whose row of N states is split across the 32 lanes (lane l owns entries
// l, l + 32, ...). Each lane reads its entries once, discretizes, updates
// them in place and accumulates its part of C·h; a butterfly of warp
// shuffles completes the sum, and lane 0 adds the skip term, applies the
// gate and writes y. The step size (bias, softplus, clamp) is computed by
// every lane from the same loads, which costs less than broadcasting it.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

/// Warps per block: 128 threads, enough independent rows per block to hide
/// memory latency without making the last block's idle share large.
constexpr int64_t kWarpsPerBlock = 4;

/// Most state entries a lane keeps in registers at once (N <= 256); larger
/// or dynamic N runs a loop over the lane's entries instead.
constexpr int64_t kMaxEntriesPerLane = 8;

/// Operand positions in the kernel's argument list.
enum Arg { State, Y, X, Dt, A, Bm, Cm, Skip, Gate, DtBias };

struct LowerStateUpdate : OpRewritePattern<StateUpdateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(StateUpdateOp op,
                                PatternRewriter &rewriter) const override {
    bool mamba2 = op.isMamba2();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    std::optional<ArrayRef<double>> limit = op.getDtLimit();
    bool softplus = op.getDtSoftplus();
    // Rows of one batch entry: D channels, or H heads of P channels.
    auto rowsPerBatch = [&](OpBuilder &b, Location l, Value x) {
      Value rows = dimOf(b, l, x, 1);
      return mamba2 ? arith::MulIOp::create(b, l, rows, dimOf(b, l, x, 2))
                    : rows;
    };

    auto gridSize = [&](OpBuilder &b, Location l, ValueRange buffers) -> Value {
      Value x = buffers[X];
      Value rows =
          arith::MulIOp::create(b, l, dimOf(b, l, x, 0), rowsPerBatch(b, l, x));
      return arith::CeilDivUIOp::create(
          b, l, rows, arith::ConstantIndexOp::create(b, l, kWarpsPerBlock));
    };

    auto body = [&](OpBuilder &b, Location l, ArrayRef<Value> args) {
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, l, v);
      };
      Value warpSize = index(kWarpSize);
      Value tid = gpu::ThreadIdOp::create(b, l, gpu::Dimension::x);
      Value lane = arith::RemUIOp::create(b, l, tid, warpSize);
      Value warp = arith::DivUIOp::create(b, l, tid, warpSize);
      Value firstItem = arith::MulIOp::create(
          b, l, gpu::BlockIdOp::create(b, l, gpu::Dimension::x),
          index(kWarpsPerBlock));
      Value item = arith::AddIOp::create(b, l, firstItem, warp);
      Value x = args[X], state = args[State];
      Value rows = rowsPerBatch(b, l, x);
      Value items = arith::MulIOp::create(b, l, dimOf(b, l, x, 0), rows);
      // The bound is the same for all lanes of a warp, so the shuffles
      // inside run with the whole warp.
      Value inRange =
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, item, items);
      auto guard = scf::IfOp::create(b, l, inRange, /*withElseRegion=*/false);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());

      Value bi = arith::DivUIOp::create(b, l, item, rows);
      Value row = arith::RemUIOp::create(b, l, item, rows);
      // Mamba-1: the row is the channel and its own "head".
      Value hi = row, pi;
      if (mamba2) {
        Value headDim = dimOf(b, l, x, 2);
        hi = arith::DivUIOp::create(b, l, row, headDim);
        pi = arith::RemUIOp::create(b, l, row, headDim);
      }
      Value perGroup = arith::DivUIOp::create(b, l, dimOf(b, l, x, 1),
                                              dimOf(b, l, args[Bm], 1));
      Value gi = arith::DivUIOp::create(b, l, hi, perGroup);
      SmallVector<Value> at{bi, hi};
      if (mamba2)
        at.push_back(pi);

      Value bias =
          args[DtBias] ? loadAs(b, l, args[DtBias], {hi}, ct) : Value();
      Value delta = buildStepSize(b, l, loadAs(b, l, args[Dt], {bi, hi}, ct),
                                  bias, softplus, limit);
      Value xv = loadAs(b, l, x, at, ct);
      Value dx = arith::MulFOp::create(b, l, delta, xv);
      Value headDecay =
          mamba2 ? math::ExpOp::create(
                       b, l,
                       arith::MulFOp::create(b, l, delta,
                                             loadAs(b, l, args[A], {hi}, ct)))
                 : Value();

      // One state entry: loaded values, then the update, split so that the
      // register path issues every load of a lane before its first store.
      struct Entry {
        Value n, h, bv, cv, a;
      };
      auto loadEntry = [&](OpBuilder &b, Value n) {
        SmallVector<Value> sAt(at);
        sAt.push_back(n);
        Entry e{n, loadAs(b, l, state, sAt, ct),
                loadAs(b, l, args[Bm], {bi, gi, n}, ct),
                loadAs(b, l, args[Cm], {bi, gi, n}, ct), Value()};
        if (!mamba2)
          e.a = loadAs(b, l, args[A], {hi, n}, ct);
        return e;
      };
      auto updateEntry = [&](OpBuilder &b, const Entry &e, Value acc) {
        Value decay = mamba2
                          ? headDecay
                          : math::ExpOp::create(
                                b, l, arith::MulFOp::create(b, l, delta, e.a));
        Value h =
            arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, decay, e.h),
                                  arith::MulFOp::create(b, l, dx, e.bv));
        SmallVector<Value> sAt(at);
        sAt.push_back(e.n);
        storeAs(b, l, h, state, sAt);
        return buildReductionFMA(b, l, acc, h, e.cv);
      };

      Value acc = buildFloat(b, l, ct, 0.0);
      std::optional<int64_t> n = staticDimOf(state, mamba2 ? 3 : 2);
      if (n && *n % kWarpSize == 0 && *n / kWarpSize <= kMaxEntriesPerLane) {
        SmallVector<Entry> entries;
        for (int64_t k = 0; k < *n / kWarpSize; ++k)
          entries.push_back(loadEntry(
              b, arith::AddIOp::create(b, l, lane, index(k * kWarpSize))));
        for (const Entry &e : entries)
          acc = updateEntry(b, e, acc);
      } else {
        Value stateSize = dimOf(b, l, state, mamba2 ? 3 : 2);
        auto loop = scf::ForOp::create(
            b, l, lane, stateSize, warpSize, ValueRange{acc},
            [&](OpBuilder &b, Location, Value ni, ValueRange carried) {
              scf::YieldOp::create(
                  b, l, updateEntry(b, loadEntry(b, ni), carried[0]));
            });
        acc = loop.getResult(0);
      }
      Value y = warpSum(b, l, acc);

      Value first =
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, lane, index(0));
      auto writer = scf::IfOp::create(b, l, first, /*withElseRegion=*/false);
      b.setInsertionPoint(writer.thenBlock()->getTerminator());
      if (Value skip = args[Skip]) {
        SmallVector<Value> dAt{hi};
        if (cast<ShapedType>(skip.getType()).getRank() == 2)
          dAt.push_back(pi);
        y = arith::AddFOp::create(
            b, l, y,
            arith::MulFOp::create(b, l, loadAs(b, l, skip, dAt, ct), xv));
      }
      if (Value gate = args[Gate])
        y = arith::MulFOp::create(b, l, y,
                                  buildSilu(b, l, loadAs(b, l, gate, at, ct)));
      storeAs(b, l, y, args[Y], at);
    };

    KernelSpec spec{"state_update",
                    {op.getState(), op.getYInit()},
                    /*outputs=*/{},
                    {op.getX(), op.getDt(), op.getA(), op.getB(), op.getC(),
                     op.getD(), op.getZ(), op.getDtBias()},
                    kWarpsPerBlock * kWarpSize,
                    gridSize,
                    body};
    replaceWithKernel(rewriter, op, spec);
    return success();
  }
};

} // namespace

void gpu_lowering::populateStateUpdatePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerStateUpdate>(patterns.getContext());
}
