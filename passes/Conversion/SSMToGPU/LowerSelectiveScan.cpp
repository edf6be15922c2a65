//===- LowerSelectiveScan.cpp - selective_scan, a thread per channel ------===//
//
// Part of ssmc. A first GPU form of the Mamba-1 scan: one thread per
// (batch, channel) runs the recurrence over time with its N states in
// registers (the loop-carried values of the time loop, so N must be static
// and small), discretizing in registers and writing y step by step. Ā, B̄
// and h never reach memory, but the time loop is sequential and threads of
// a warp read u, delta and z with a stride of L, so it is far from the
// block-wide parallel scan of mamba_ssm (docs/gpu.md).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

/// Threads per block: 4 warps; the kernel is register-heavy.
constexpr int64_t kBlockSize = 128;

/// The most states a thread keeps in registers (with A, and B and C when
/// fixed, that is up to 4N live values).
constexpr int64_t kMaxStates = 32;

/// Operand positions in the kernel's argument list.
enum Arg { Y, FinalState, U, Delta, A, Bm, Cm, Skip, Gate, DeltaBias, Init };

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
          b, l, items, arith::ConstantIndexOp::create(b, l, kBlockSize));
    };

    auto body = [&](OpBuilder &b, Location l, ArrayRef<Value> kernelArgs) {
      auto arg = [&](Arg a) { return kernelArgs[argIndex(a)]; };
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, l, v);
      };
      Value u = arg(U);
      Value item = globalThreadIndex(b, l, kBlockSize);
      Value channels = dimOf(b, l, u, 1), length = dimOf(b, l, u, 2);
      Value items = arith::MulIOp::create(b, l, dimOf(b, l, u, 0), channels);
      auto guard = scf::IfOp::create(
          b, l,
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, item, items),
          /*withElseRegion=*/false);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());
      Value bi = arith::DivUIOp::create(b, l, item, channels);
      Value di = arith::RemUIOp::create(b, l, item, channels);
      Value groups = selectiveB   ? dimOf(b, l, arg(Bm), 1)
                     : selectiveC ? dimOf(b, l, arg(Cm), 1)
                                  : index(1);
      Value gi = arith::DivUIOp::create(
          b, l, di, arith::DivUIOp::create(b, l, channels, groups));

      // What stays fixed over time is loaded once, into registers.
      SmallVector<Value> a, fixedB, fixedC, h;
      for (int64_t k = 0; k < n; ++k) {
        Value nk = index(k);
        a.push_back(loadAs(b, l, arg(A), {di, nk}, ct));
        if (!selectiveB)
          fixedB.push_back(loadAs(b, l, arg(Bm), {di, nk}, ct));
        if (!selectiveC)
          fixedC.push_back(loadAs(b, l, arg(Cm), {di, nk}, ct));
        h.push_back(arg(Init) ? loadAs(b, l, arg(Init), {bi, di, nk}, ct)
                              : buildFloat(b, l, ct, 0.0));
      }
      Value bias =
          arg(DeltaBias) ? loadAs(b, l, arg(DeltaBias), {di}, ct) : Value();
      Value skip = arg(Skip) ? loadAs(b, l, arg(Skip), {di}, ct) : Value();

      auto timeLoop = scf::ForOp::create(
          b, l, index(0), length, index(1), h,
          [&](OpBuilder &b, Location l, Value t, ValueRange state) {
            Value delta = buildStepSize(
                b, l, loadAs(b, l, arg(Delta), {bi, di, t}, ct), bias, softplus,
                /*limit=*/std::nullopt);
            Value uv = loadAs(b, l, u, {bi, di, t}, ct);
            Value du = arith::MulFOp::create(b, l, delta, uv);
            Value acc = buildFloat(b, l, ct, 0.0);
            SmallVector<Value> next;
            for (int64_t k = 0; k < n; ++k) {
              Value nk = index(k);
              Value bk = selectiveB ? loadAs(b, l, arg(Bm), {bi, gi, nk, t}, ct)
                                    : fixedB[k];
              Value ck = selectiveC ? loadAs(b, l, arg(Cm), {bi, gi, nk, t}, ct)
                                    : fixedC[k];
              Value decay = math::ExpOp::create(
                  b, l, arith::MulFOp::create(b, l, delta, a[k]));
              Value hk = arith::AddFOp::create(
                  b, l, arith::MulFOp::create(b, l, decay, state[k]),
                  arith::MulFOp::create(b, l, du, bk));
              next.push_back(hk);
              acc = buildReductionFMA(b, l, acc, hk, ck);
            }
            Value y = acc;
            if (skip)
              y = arith::AddFOp::create(b, l, y,
                                        arith::MulFOp::create(b, l, skip, uv));
            if (Value gate = arg(Gate))
              y = arith::MulFOp::create(
                  b, l, y,
                  buildSilu(b, l, loadAs(b, l, gate, {bi, di, t}, ct)));
            storeAs(b, l, y, arg(Y), {bi, di, t});
            scf::YieldOp::create(b, l, next);
          });
      if (hasFinal)
        for (int64_t k = 0; k < n; ++k)
          storeAs(b, l, timeLoop.getResult(k), arg(FinalState),
                  {bi, di, index(k)});
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
  if (op.getDiscretization() != Discretization::mamba)
    return std::string("has no GPU lowering for method ") +
           stringifyDiscretization(op.getDiscretization()).str() +
           " yet (only mamba)";
  int64_t n = op.getA().getType().getDimSize(1);
  if (ShapedType::isDynamic(n) || n > kMaxStates)
    return "needs a static state size N of at most " +
           std::to_string(kMaxStates) +
           " on the GPU (its states live in registers)";
  return std::nullopt;
}

void gpu_lowering::populateSelectiveScanPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSelectiveScan>(patterns.getContext());
}
