//===- InlineMath.cpp - Transcendental functions as arithmetic ------------===//
//
// Part of ssmc. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/InlineMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMINLINEMATHPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
/// What the kernels call per element: exp (decays, gates, SiLU), log1p
/// (softplus), expm1 (ZOH) and the log that the log1p and expm1
/// approximations are written with.
bool inlined(StringRef name) {
  name.consume_front("math.");
  return name == "exp" || name == "expm1" || name == "log" || name == "log1p";
}

/// The approximations are written with math.fma and math.floor, which
/// convert-math-to-libm would turn into calls of fmaf and floorf: they
/// become LLVM's intrinsics (one instruction each on x86-64-v3 and up)
/// here.
template <typename MathOp, typename IntrinsicOp>
struct ToIntrinsic : OpRewritePattern<MathOp> {
  using OpRewritePattern<MathOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(MathOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<IntrinsicOp>(op, op->getResultTypes(),
                                             op->getOperands());
    return success();
  }
};

/// exp(x) for f32 with the exponent put back by llvm.ldexp, which AVX-512
/// does in one instruction (vscalefps): x clamped to [-104, 89] (NaN kept:
/// the compares are false for it), k = lrint(x log2 e) (one conversion,
/// which the reduction and ldexp share), r = x - k ln 2 in two parts, then
/// e^r ≈ 1 + r·q(r) by Horner's rule, q of degree 5 fitted for the least
/// relative error on |r| ≤ ln 2 / 2 (2e-9: below the f32 rounding), and
/// ldexp(p, k), which gives ∞ past 88.7 and 0 (through the subnormals)
/// below -103. Thirteen vector instructions in all.
struct ExpByLdexp : OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::ExpOp op, PatternRewriter &b) const override {
    Type t = op.getType();
    if (!t.isF32())
      return failure();
    Location l = op.getLoc();
    auto c = [&](float v) -> Value {
      return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
    };
    Value x = op.getOperand();
    Value hi = c(89.0f), lo = c(-104.0f);
    x = arith::SelectOp::create(
        b, l, arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, hi), hi, x);
    x = arith::SelectOp::create(
        b, l, arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, lo), lo, x);
    Value k = LLVM::LrintOp::create(
        b, l, b.getI32Type(), arith::MulFOp::create(b, l, x, c(1.44269504088896341f)));
    Value negK = arith::NegFOp::create(b, l, arith::SIToFPOp::create(b, l, t, k));
    Value r = LLVM::FMAOp::create(b, l, negK, c(0.693359375f), x);
    r = LLVM::FMAOp::create(b, l, negK, c(-2.12194440e-4f), r);
    Value p = c(1.3843588531e-3f);
    for (float coefficient : {8.3741946146e-3f, 4.1668005288e-2f, 1.6666430235e-1f,
                              4.9999994040e-1f, 1.0f, 1.0f})
      p = LLVM::FMAOp::create(b, l, p, r, c(coefficient));
    b.replaceOpWithNewOp<LLVM::LoadExpOp>(op, t, p, k);
    return success();
  }
};

struct SSMInlineMathPass
    : ssm::impl::SSMInlineMathPassBase<SSMInlineMathPass> {
  using SSMInlineMathPassBase::SSMInlineMathPassBase;
  void runOnOperation() override {
    // Only the math ops and what their rewrites create: no folding or
    // simplification of the rest of the function.
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect()) &&
          inlined(op->getName().getStringRef()))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    RewritePatternSet patterns(&getContext());
    if (scaleExponent)
      patterns.add<ExpByLdexp>(&getContext(), /*benefit=*/2);
    populateMathPolynomialApproximationPatterns(patterns, inlined);
    patterns.add<ToIntrinsic<math::FmaOp, LLVM::FMAOp>,
                 ToIntrinsic<math::FloorOp, LLVM::FFloorOp>>(&getContext());
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    config.enableFolding(false);
    if (failed(applyOpPatternsGreedily(ops, std::move(patterns), config)))
      signalPassFailure();
  }
};
} // namespace
