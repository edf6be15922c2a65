//===- SSMToGPU.cpp - ssm ops to GPU kernels ------------------------------===//
//
// Part of ssmc. The pass: each op with a GPU lowering becomes a gpu.func of
// the module's `ssm_kernels` gpu.module and a gpu.launch_func; an op
// without one is an error naming it, since the GPU pipeline has no other
// way to run it.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_CONVERTSSMTOGPUPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

struct ConvertSSMToGPUPass
    : ssm::impl::ConvertSSMToGPUPassBase<ConvertSSMToGPUPass> {
  using ConvertSSMToGPUPassBase::ConvertSSMToGPUPassBase;

  void runOnOperation() override {
    std::optional<GPULoweringOptions> forChip = GPULoweringOptions::forChip(chip);
    if (!forChip) {
      // On the location alone: the module itself would be printed with it.
      emitError(getOperation().getLoc(), "convert-ssm-to-gpu: chip='")
          << chip << "' is not sm_80, sm_90 or sm_90a";
      return signalPassFailure();
    }
    GPULoweringOptions options = *forChip;
    std::optional<SSDChunkOrder> order = parseSSDChunkOrder(ssdChunks);
    if (!order) {
      // On the location alone: the module itself would be printed with it.
      emitError(getOperation().getLoc(), "convert-ssm-to-gpu: ssd-chunks='")
          << ssdChunks << "' is not auto, sequential or parallel";
      return signalPassFailure();
    }
    options.ssdChunks = *order;
    RewritePatternSet patterns(&getContext());
    populateSSMToGPUConversionPatterns(patterns, options);
    // One walk in program order: the kernels appear in the PTX in the order
    // of the ops they come from, and nothing else is rewritten.
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    bool unsupported = false;
    getOperation()->walk([&](Operation *op) {
      if (!isa<SSMDialect>(op->getDialect()))
        return;
      std::optional<std::string> reason =
          TypeSwitch<Operation *, std::optional<std::string>>(op)
              .Case<SelectiveScanOp, SSDOp>(
                  [](auto op) { return gpu_lowering::whyNoGPULowering(op); })
              .Default([](Operation *) { return std::nullopt; });
      if (reason) {
        op->emitOpError(*reason);
        unsupported = true;
        return;
      }
      op->emitOpError("has no GPU lowering yet (convert-ssm-to-gpu lowers "
                      "ssm.state_update, ssm.causal_conv1d, "
                      "ssm.selective_scan and ssm.ssd); compile it for the CPU "
                      "instead");
      unsupported = true;
    });
    if (unsupported)
      signalPassFailure();
  }
};

} // namespace

std::optional<SSDChunkOrder> mlir::ssm::parseSSDChunkOrder(StringRef name) {
  if (name == "auto")
    return SSDChunkOrder::Automatic;
  if (name == "sequential")
    return SSDChunkOrder::Sequential;
  if (name == "parallel")
    return SSDChunkOrder::Parallel;
  return std::nullopt;
}

void mlir::ssm::populateSSMToGPUConversionPatterns(
    RewritePatternSet &patterns, const GPULoweringOptions &options) {
  gpu_lowering::populateCausalConv1dPatterns(patterns);
  gpu_lowering::populateSelectiveScanPatterns(patterns);
  gpu_lowering::populateChunkedSSDPatterns(patterns, options);
  gpu_lowering::populateSSDPatterns(patterns);
  gpu_lowering::populateStateUpdatePatterns(patterns);
}
