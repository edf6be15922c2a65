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

struct SSMInlineMathPass
    : ssm::impl::SSMInlineMathPassBase<SSMInlineMathPass> {
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
