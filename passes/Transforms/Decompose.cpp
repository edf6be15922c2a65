//===- Decompose.cpp - selective_scan / ssd into discretize + scan --------===//
#include "ssm/Transforms/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMDECOMPOSEPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

void mlir::ssm::populateSSMDecomposePatterns(RewritePatternSet &patterns) {}

namespace {
struct SSMDecomposePass
    : ssm::impl::SSMDecomposePassBase<SSMDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSSMDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
