//===- LowerSSD.cpp - ssd, recurrent, a warp per head channel -------------===//
//
// Part of ssmc. A first GPU form of the Mamba-2 SSD: the recurrence, with
// one warp per (row, head, head channel), a row being a batch row or, with
// cu_seqlens, one packed sequence. As in the decode kernel, lane l owns the
// state entries l, l + 32, ... of the channel's N states, here held in
// registers across the time loop (N static, at most 256); each step
// discretizes in registers, updates the lane's entries and sums C·h over
// the warp with shuffles, and lane 0 writes y. Chunked and long ops take
// the tensor-core kernel of LowerSSDChunked.cpp when they fit its limits;
// both forms compute the same map, so this kernel serves the others
// (recurrent or short, seq_idx, cu_seqlens, odd sizes).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

/// Warps per block, as in the decode kernel.
constexpr int64_t kWarpsPerBlock = 4;

/// The most state entries a lane carries across the time loop (N <= 256).
constexpr int64_t kMaxEntriesPerLane = 8;

/// Operand positions in the kernel's argument list.
enum Arg {
  Y,
  FinalState,
  X,
  Dt,
  A,
  Bm,
  Cm,
  Skip,
  Gate,
  DtBias,
  Init,
  SeqIdx,
  CuSeqlens
};

struct LowerSSD : OpRewritePattern<SSDOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SSDOp op,
                                PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = whyNoGPULowering(op))
      return rewriter.notifyMatchFailure(op, *reason);
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    int64_t n = op.getB().getType().getDimSize(3);
    int64_t entries = (n + kWarpSize - 1) / kWarpSize;
    bool hasFinal = static_cast<bool>(op.getFinalState());
    bool packed = static_cast<bool>(op.getCuSeqlens());
    auto argIndex = [&](Arg a) { return !hasFinal && a > Y ? a - 1 : a; };

    // Results: y [B, L, H, P] and the final states [rows, H, P, N], in
    // device memory.
    auto dim = [&](Value t, int64_t i) -> Value {
      return tensor::DimOp::create(rewriter, loc, t, i);
    };
    Value x = op.getX();
    SmallVector<std::pair<RankedTensorType, SmallVector<Value>>> outputs;
    outputs.push_back(deviceOutput(
        op.getY().getType(), {dim(x, 0), dim(x, 1), dim(x, 2), dim(x, 3)}));
    if (hasFinal) {
      Value rows = packed ? arith::SubIOp::create(
                                rewriter, loc, dim(op.getCuSeqlens(), 0),
                                arith::ConstantIndexOp::create(rewriter, loc, 1))
                                .getResult()
                          : dim(x, 0);
      outputs.push_back(
          deviceOutput(cast<RankedTensorType>(op.getFinalState().getType()),
                       {rows, dim(x, 2), dim(x, 3), dim(op.getB(), 3)}));
    }

    // Rows: batch rows, or the packed sequences of cu_seqlens.
    auto rowsOf = [&](OpBuilder &b, Location l, Value x, Value cu) -> Value {
      if (!cu)
        return dimOf(b, l, x, 0);
      return arith::SubIOp::create(b, l, dimOf(b, l, cu, 0),
                                   arith::ConstantIndexOp::create(b, l, 1));
    };
    auto itemsOf = [&](OpBuilder &b, Location l, Value x, Value cu) -> Value {
      return arith::MulIOp::create(
          b, l, rowsOf(b, l, x, cu),
          arith::MulIOp::create(b, l, dimOf(b, l, x, 2), dimOf(b, l, x, 3)));
    };
    auto gridSize = [&](OpBuilder &b, Location l, ValueRange buffers) -> Value {
      // cu_seqlens is the last input when present.
      Value cu = packed ? buffers.back() : Value();
      return arith::CeilDivUIOp::create(
          b, l, itemsOf(b, l, buffers[argIndex(X)], cu),
          arith::ConstantIndexOp::create(b, l, kWarpsPerBlock));
    };

    auto body = [&](OpBuilder &b, Location l, ArrayRef<Value> kernelArgs) {
      auto arg = [&](Arg a) { return kernelArgs[argIndex(a)]; };
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, l, v);
      };
      Value x = arg(X), cu = arg(CuSeqlens), seq = arg(SeqIdx);
      Value warpSize = index(kWarpSize);
      Value tid = gpu::ThreadIdOp::create(b, l, gpu::Dimension::x);
      Value lane = arith::RemUIOp::create(b, l, tid, warpSize);
      Value warp = arith::DivUIOp::create(b, l, tid, warpSize);
      Value firstItem = arith::MulIOp::create(
          b, l, gpu::BlockIdOp::create(b, l, gpu::Dimension::x),
          index(kWarpsPerBlock));
      Value item = arith::AddIOp::create(b, l, firstItem, warp);
      // The bound is the same for all lanes of a warp, so the shuffles
      // inside run with the whole warp.
      auto guard = scf::IfOp::create(
          b, l,
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, item,
                                itemsOf(b, l, x, cu)),
          /*withElseRegion=*/false);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());

      Value heads = dimOf(b, l, x, 2), headDim = dimOf(b, l, x, 3);
      Value channels = arith::MulIOp::create(b, l, heads, headDim);
      Value ri = arith::DivUIOp::create(b, l, item, channels);
      Value channel = arith::RemUIOp::create(b, l, item, channels);
      Value hi = arith::DivUIOp::create(b, l, channel, headDim);
      Value pi = arith::RemUIOp::create(b, l, channel, headDim);
      Value gi = arith::DivUIOp::create(
          b, l, hi,
          arith::DivUIOp::create(b, l, heads, dimOf(b, l, arg(Bm), 2)));
      auto offsetAt = [&](Value i) -> Value {
        return arith::IndexCastOp::create(
            b, l, b.getIndexType(), memref::LoadOp::create(b, l, cu, i));
      };
      Value bi = packed ? index(0) : ri;
      Value begin = packed ? offsetAt(ri) : index(0);
      Value end = packed ? offsetAt(arith::AddIOp::create(b, l, ri, index(1)))
                         : dimOf(b, l, x, 1);

      Value a = loadAs(b, l, arg(A), {hi}, ct);
      Value bias = arg(DtBias) ? loadAs(b, l, arg(DtBias), {hi}, ct) : Value();
      Value skip;
      if (Value d = arg(Skip)) {
        SmallVector<Value> at{hi};
        if (cast<ShapedType>(d.getType()).getRank() == 2)
          at.push_back(pi);
        skip = loadAs(b, l, d, at, ct);
      }
      Value stateSize = index(n);
      // Entry k of the lane is state index lane + 32k, when below N.
      SmallVector<Value> ns, valid, h0;
      for (int64_t k = 0; k < entries; ++k) {
        ns.push_back(arith::AddIOp::create(b, l, lane, index(k * kWarpSize)));
        valid.push_back(arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                              ns[k], stateSize));
      }
      // Reads buffer[indices(n_k)] of entry k, zero past N.
      auto loadEntry = [&](OpBuilder &b, int64_t k, Value buffer,
                           SmallVector<Value> indices) -> Value {
        indices.push_back(ns[k]);
        if (n % kWarpSize == 0)
          return loadAs(b, l, buffer, indices, ct);
        auto read = scf::IfOp::create(
            b, l, valid[k],
            [&](OpBuilder &b, Location l) {
              scf::YieldOp::create(b, l, loadAs(b, l, buffer, indices, ct));
            },
            [&](OpBuilder &b, Location l) {
              scf::YieldOp::create(b, l, buildFloat(b, l, ct, 0.0));
            });
        return read.getResult(0);
      };
      for (int64_t k = 0; k < entries; ++k)
        h0.push_back(arg(Init) ? loadEntry(b, k, arg(Init), {ri, hi, pi})
                               : buildFloat(b, l, ct, 0.0));

      auto timeLoop = scf::ForOp::create(
          b, l, begin, end, index(1), h0,
          [&](OpBuilder &b, Location l, Value t, ValueRange state) {
            Value delta = buildStepSize(
                b, l, loadAs(b, l, arg(Dt), {bi, t, hi}, ct), bias,
                op.getDtSoftplus(), op.getDtLimit());
            Value decay =
                math::ExpOp::create(b, l, arith::MulFOp::create(b, l, delta, a));
            // seq_idx: a new sequence starts where the index changes, from
            // a zero state (a zero decay forgets the old one).
            if (seq) {
              Value isFirst = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::eq, t, index(0));
              Value previous = arith::SelectOp::create(
                  b, l, isFirst, t, arith::SubIOp::create(b, l, t, index(1)));
              Value changes = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::ne,
                  memref::LoadOp::create(b, l, seq, ValueRange{bi, t}),
                  memref::LoadOp::create(b, l, seq, ValueRange{bi, previous}));
              decay = arith::SelectOp::create(b, l, changes,
                                              buildFloat(b, l, ct, 0.0), decay);
            }
            Value xv = loadAs(b, l, x, {bi, t, hi, pi}, ct);
            Value dx = arith::MulFOp::create(b, l, delta, xv);
            Value acc = buildFloat(b, l, ct, 0.0);
            SmallVector<Value> next;
            for (int64_t k = 0; k < entries; ++k) {
              Value bk = loadEntry(b, k, arg(Bm), {bi, t, gi});
              Value ck = loadEntry(b, k, arg(Cm), {bi, t, gi});
              Value hk = arith::AddFOp::create(
                  b, l, arith::MulFOp::create(b, l, decay, state[k]),
                  arith::MulFOp::create(b, l, dx, bk));
              next.push_back(hk);
              acc = buildReductionFMA(b, l, acc, hk, ck);
            }
            Value y = warpSum(b, l, acc);
            auto writer = scf::IfOp::create(
                b, l,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, lane,
                                      index(0)),
                /*withElseRegion=*/false);
            {
              OpBuilder::InsertionGuard g(b);
              b.setInsertionPoint(writer.thenBlock()->getTerminator());
              if (skip)
                y = arith::AddFOp::create(b, l, y,
                                          arith::MulFOp::create(b, l, skip, xv));
              if (Value gate = arg(Gate))
                y = arith::MulFOp::create(
                    b, l, y,
                    buildSilu(b, l, loadAs(b, l, gate, {bi, t, hi, pi}, ct)));
              storeAs(b, l, y, arg(Y), {bi, t, hi, pi});
            }
            scf::YieldOp::create(b, l, next);
          });

      if (hasFinal)
        for (int64_t k = 0; k < entries; ++k) {
          auto store = scf::IfOp::create(b, l, valid[k],
                                         /*withElseRegion=*/false);
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(store.thenBlock()->getTerminator());
          storeAs(b, l, timeLoop.getResult(k), arg(FinalState),
                  {ri, hi, pi, ns[k]});
        }
    };

    KernelSpec spec{"ssd",
                    /*destinations=*/{},
                    outputs,
                    {op.getX(), op.getDt(), op.getA(), op.getB(), op.getC(),
                     op.getD(), op.getZ(), op.getDtBias(), op.getInit(),
                     op.getSeqIdx(), op.getCuSeqlens()},
                    kWarpsPerBlock * kWarpSize,
                    gridSize,
                    body};
    replaceWithKernel(rewriter, op, spec);
    return success();
  }
};

} // namespace

std::optional<std::string> gpu_lowering::whyNoGPULowering(SSDOp op) {
  int64_t n = op.getB().getType().getDimSize(3);
  if (ShapedType::isDynamic(n) || n > kMaxEntriesPerLane * kWarpSize)
    return "needs a static state size N of at most " +
           std::to_string(kMaxEntriesPerLane * kWarpSize) +
           " on the GPU (its states live in registers)";
  return std::nullopt;
}

void gpu_lowering::populateSSDPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSSD>(patterns.getContext());
}
