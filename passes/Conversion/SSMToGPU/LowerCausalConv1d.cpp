//===- LowerCausalConv1d.cpp - causal_conv1d, a thread per output ---------===//
//
// Part of ssmc. One thread per (batch, channel, time) output, time fastest,
// so that a warp reads 32 consecutive inputs of one channel (coalesced) and
// the W taps of neighbouring threads overlap in L1. Each thread sums its
// taps over x̃ (x preceded by the carried state), adds the bias and applies
// SiLU. The final state [B, C, W - 1] (the last W - 1 entries of x̃) is
// written by the threads of the first W - 1 time steps, so the grid spans
// max(L, W - 1) steps per channel: an empty sequence still passes its state
// on.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

/// Threads per block: 8 warps, a common choice for elementwise kernels.
constexpr int64_t kBlockSize = 256;

/// Operand positions in the kernel's argument list.
enum Arg { Out, FinalState, X, Weight, Bias, InitState };

struct LowerCausalConv1d : OpRewritePattern<CausalConv1dOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    bool silu = op.getActivation() == Activation::silu;
    bool hasFinal = static_cast<bool>(op.getFinalState());
    // Without a final state, the kernel's arguments skip its slot.
    auto argIndex = [&](Arg a) { return !hasFinal && a > Out ? a - 1 : a; };

    // Results: out [B, C, L] and final_state [B, C, W - 1] (the op's
    // reified shapes), in device memory.
    ReifiedRankedShapedTypeDims shapes;
    if (failed(op.reifyResultShapes(rewriter, shapes)))
      return failure();
    SmallVector<std::pair<RankedTensorType, SmallVector<Value>>> outputs;
    for (auto [result, shape] : llvm::zip(op->getResults(), shapes))
      outputs.push_back(deviceOutput(cast<RankedTensorType>(result.getType()),
                                     getValueOrCreateConstantIndexOp(rewriter, loc, shape)));

    // Steps per channel in the grid: max(L, W - 1).
    auto stepsOf = [&](OpBuilder &b, Location l, Value x, Value weight) {
      Value history =
          arith::SubIOp::create(b, l, dimOf(b, l, weight, 1),
                                arith::ConstantIndexOp::create(b, l, 1));
      return arith::MaxUIOp::create(b, l, dimOf(b, l, x, 2), history);
    };
    auto gridSize = [&](OpBuilder &b, Location l, ValueRange buffers) -> Value {
      Value x = buffers[argIndex(X)];
      Value items = arith::MulIOp::create(
          b, l,
          arith::MulIOp::create(b, l, dimOf(b, l, x, 0), dimOf(b, l, x, 1)),
          stepsOf(b, l, x, buffers[argIndex(Weight)]));
      return arith::CeilDivUIOp::create(
          b, l, items, arith::ConstantIndexOp::create(b, l, kBlockSize));
    };

    auto body = [&](OpBuilder &b, Location l, ArrayRef<Value> kernelArgs) {
      auto arg = [&](Arg a) { return kernelArgs[argIndex(a)]; };
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, l, v);
      };
      Value x = arg(X), weight = arg(Weight), init = arg(InitState);
      Value item = globalThreadIndex(b, l, kBlockSize);
      Value steps = stepsOf(b, l, x, weight);
      Value channels = dimOf(b, l, x, 1), length = dimOf(b, l, x, 2);
      Value items = arith::MulIOp::create(
          b, l, arith::MulIOp::create(b, l, dimOf(b, l, x, 0), channels),
          steps);
      auto guard = scf::IfOp::create(
          b, l,
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, item, items),
          /*withElseRegion=*/false);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());
      Value t = arith::RemUIOp::create(b, l, item, steps);
      Value row = arith::DivUIOp::create(b, l, item, steps);
      Value bi = arith::DivUIOp::create(b, l, row, channels);
      Value ci = arith::RemUIOp::create(b, l, row, channels);
      Value width = dimOf(b, l, weight, 1);
      Value history = arith::SubIOp::create(b, l, width, index(1));

      // x̃(s) for s in [-(W - 1), L): the carried state left of x (zero when
      // absent), each read only where its index is valid.
      auto extended = [&](OpBuilder &b, Value s) -> Value {
        Value inX =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, s, index(0));
        auto pick = scf::IfOp::create(
            b, l, inX,
            [&](OpBuilder &b, Location l) {
              scf::YieldOp::create(b, l, loadAs(b, l, x, {bi, ci, s}, ct));
            },
            [&](OpBuilder &b, Location l) {
              Value v = init ? loadAs(b, l, init,
                                      {bi, ci,
                                       arith::AddIOp::create(b, l, history, s)},
                                      ct)
                             : buildFloat(b, l, ct, 0.0);
              scf::YieldOp::create(b, l, v);
            });
        return pick.getResult(0);
      };

      // out[b, c, t] = bias[c] + Σ_k weight[c, k] · x̃(t − (W − 1) + k).
      auto computes = scf::IfOp::create(
          b, l,
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, t, length),
          /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(computes.thenBlock()->getTerminator());
        Value start = arith::SubIOp::create(b, l, t, history);
        Value acc = arg(Bias) ? loadAs(b, l, arg(Bias), {ci}, ct)
                              : buildFloat(b, l, ct, 0.0);
        auto taps = scf::ForOp::create(
            b, l, index(0), width, index(1), ValueRange{acc},
            [&](OpBuilder &b, Location l, Value k, ValueRange carried) {
              Value v = extended(b, arith::AddIOp::create(b, l, start, k));
              Value w = loadAs(b, l, weight, {ci, k}, ct);
              auto contract = arith::FastMathFlagsAttr::get(
                  b.getContext(), arith::FastMathFlags::contract);
              scf::YieldOp::create(
                  b, l,
                  arith::AddFOp::create(
                      b, l, carried[0],
                      arith::MulFOp::create(b, l, w, v, contract), contract)
                      .getResult());
            });
        Value out = taps.getResult(0);
        if (silu)
          out = buildSilu(b, l, out);
        storeAs(b, l, out, arg(Out), {bi, ci, t});
      }

      // final_state[b, c, t] = x̃(L − (W − 1) + t) for t < W − 1.
      if (hasFinal) {
        auto carries = scf::IfOp::create(
            b, l,
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, t, history),
            /*withElseRegion=*/false);
        b.setInsertionPoint(carries.thenBlock()->getTerminator());
        Value s = arith::AddIOp::create(
            b, l, arith::SubIOp::create(b, l, length, history), t);
        storeAs(b, l, extended(b, s), arg(FinalState), {bi, ci, t});
      }
    };

    KernelSpec spec{
        "causal_conv1d",
        /*destinations=*/{},
        outputs,
        {op.getX(), op.getWeight(), op.getBias(), op.getInitState()},
        kBlockSize,
        gridSize,
        body};
    replaceWithKernel(rewriter, op, spec);
    return success();
  }
};

} // namespace

void gpu_lowering::populateCausalConv1dPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerCausalConv1d>(patterns.getContext());
}
