//===- SSMToGPU.cpp - ssm ops to GPU kernels ------------------------------===//
//
// Part of ssmc. The pass: the scan-like ops become ssm.recurrence, the core
// op whose kernel forms are written once (DecodeForm.cpp, RecurrentForm.cpp,
// ChunkedForm.cpp), and those that ssm-select-gpu-algorithm did not
// configure get its defaults (configureForGPU), so that the forms only read
// a configuration; each op with a GPU lowering then becomes a gpu.func of
// the module's `ssm_kernels` gpu.module and a gpu.launch_func; an op
// without one is an error naming it (the model op a recurrence states),
// since the GPU pipeline has no other way to run it.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "ssm/Conversion/SSMToGPU.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Transforms/ToRecurrence.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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
    // Every scan-like op becomes the core op, configured where nobody did,
    // then each op its kernels: walks in program order, so the kernels come
    // in the order of their launches.
    RewritePatternSet toCore(&getContext());
    populateSSMToRecurrencePatterns(toCore);
    RewritePatternSet patterns(&getContext());
    populateSSMToGPUConversionPatterns(patterns, chip);
    walkAndApplyPatterns(getOperation(), std::move(toCore));
    getOperation()->walk([&](RecurrenceOp op) { configureForGPU(op, chip); });
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    bool unsupported = false;
    getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (!isa<SSMDialect>(op->getDialect()))
        return WalkResult::advance();
      unsupported = true;
      // A recurrence speaks for the op it states.
      if (auto core = dyn_cast<RecurrenceOp>(op))
        if (std::optional<std::string> reason = gpu_lowering::whyNoGPULowering(core, chip)) {
          core.emitError() << "'" << gpu_lowering::sourceOpName(core) << "' op "
                           << *reason;
          return WalkResult::skip();
        }
      op->emitOpError("has no GPU lowering yet (convert-ssm-to-gpu lowers "
                      "ssm.state_update, ssm.causal_conv1d, ssm.scan, "
                      "ssm.selective_scan and ssm.ssd); compile it for the CPU "
                      "instead");
      return WalkResult::skip();
    });
    if (unsupported)
      signalPassFailure();
  }
};

} // namespace

void mlir::ssm::populateSSMToGPUConversionPatterns(RewritePatternSet &patterns,
                                                   GPUChip chip) {
  gpu_lowering::populateCausalConv1dPatterns(patterns);
  gpu_lowering::populateChunkedPatterns(patterns, chip);
  gpu_lowering::populateDecodePatterns(patterns);
  gpu_lowering::populateRecurrentPatterns(patterns);
}
