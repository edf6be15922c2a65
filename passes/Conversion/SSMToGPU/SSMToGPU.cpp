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
    GPULoweringOptions options = GPULoweringOptions::forChip(chip);
    options.ssdChunks = ssdChunks;
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

StringRef mlir::ssm::stringifyGPUChip(GPUChip chip) {
  switch (chip) {
  case GPUChip::sm_80:
    return "sm_80";
  case GPUChip::sm_90:
    return "sm_90";
  case GPUChip::sm_90a:
    return "sm_90a";
  }
  llvm_unreachable("unknown GPU chip");
}

void mlir::ssm::populateSSMToGPUConversionPatterns(
    RewritePatternSet &patterns, const GPULoweringOptions &options) {
  gpu_lowering::populateCausalConv1dPatterns(patterns);
  gpu_lowering::populateSelectiveScanPatterns(patterns);
  gpu_lowering::populateChunkedSSDPatterns(patterns, options);
  gpu_lowering::populateSSDPatterns(patterns);
  gpu_lowering::populateStateUpdatePatterns(patterns);
}
