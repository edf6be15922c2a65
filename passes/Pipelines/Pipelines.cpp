//===- Pipelines.cpp - Pass pipelines of ssmc -----------------------------===//
//
// Part of ssmc. See include/ssm/Pipelines/Pipelines.h. The pipelines are
// built from the passes' own constructors and option structs, so nothing is
// parsed or looked up by name when they run; `--print-pipeline` prints them
// in MLIR's textual syntax, which ssm-opt accepts.
//
//===----------------------------------------------------------------------===//

#include "ssm/Pipelines/Pipelines.h"

#include "ssm/Conversion/Passes.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {

/// Tensors to buffers as both targets do it: one-shot bufferization of
/// whole functions with identity layouts at their boundaries (the C ABI's
/// dense buffers), then results that are arguments dropped.
void addBufferizePasses(OpPassManager &pm, bool callerOutputs = false) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The caller's output buffers replace the tensor.empty destinations that
  // flow into them, so the loops write there directly, with no copy.
  if (callerOutputs)
    pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(options));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(ssm::createSSMDropArgumentResultsPass());
}

/// The first passes of every pipeline: refuse what later stages could not
/// take, check dynamic sizes when the code runs, mark the destinations.
void addInputPasses(OpPassManager &pm) {
  pm.addPass(ssm::createSSMCheckInputPass());
  pm.addNestedPass<func::FuncOp>(ssm::createSSMInsertShapeChecksPass());
  pm.addPass(ssm::createSSMMarkInPlaceArgumentsPass());
}

} // namespace

void ssm::buildCPUBufferizePipeline(OpPassManager &pm,
                                    const CPUPipelineOptions &options) {
  addInputPasses(pm);
  // The core op, configured, split into work items, then each work item in
  // the kernel form its configuration names. Outputs become the caller's
  // once they come from core ops, whose result shapes are known before they
  // run.
  OpPassManager *funcs = &pm.nest<func::FuncOp>();
  funcs->addPass(createSSMToRecurrencePass());
  if (options.callerOutputs) {
    pm.addPass(createSSMCallerOutputsPass());
    funcs = &pm.nest<func::FuncOp>();
  }
  funcs->addPass(createSSMSelectAlgorithmPass({options.ssdAlgorithm}));
  funcs->addPass(createSSMTileRecurrencesPass());
  funcs->addPass(createConvertSSMToSCFPass());
  addBufferizePasses(pm, options.callerOutputs);
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createCanonicalizerPass());
}

void ssm::buildCPULowerToLLVMPipeline(OpPassManager &pm,
                                      const CPULowerOptions &options) {
  // After the header: it shows the static sizes that are checked here.
  pm.addPass(createSSMCheckArgumentShapesPass());
  // The runtime, when linked, also does the matrix products (through the
  // BLAS it opens); without it they become loops like any linalg op.
  if (options.threads)
    pm.addPass(createMatmulToBLASPass());
  OpPassManager &funcs = pm.nest<func::FuncOp>();
  funcs.addPass(createSSMStridedCopiesToLinalgPass());
  funcs.addPass(createConvertLinalgToLoopsPass());
  if (options.inlineMath)
    funcs.addPass(createSSMInlineMathPass({options.scaleExponent}));
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // C wrappers are requested before convert-math-to-libm and
  // ssm-parallel-to-runtime declare the functions they call, which must
  // keep their plain C names.
  pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());
  if (options.threads)
    pm.addPass(createParallelToRuntimePass());
  // Work items the pool does not run (no runtime, or nested) run in order.
  pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createLowerAssertsPass({options.checks}));
  // memref.reshape (a model's batch and length split) has a lowering in
  // finalize-memref-to-llvm but not in the interface-driven
  // convert-to-llvm of MLIR 22.
  // aligned_alloc, not malloc plus pointer arithmetic: LLVM knows the
  // result of an allocation function aliases nothing, which is what lets it
  // keep the lane loops over separately allocated scratch buffers
  // vectorized (with the arithmetic, every aligned buffer may alias every
  // other).
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useAlignedAlloc = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void ssm::buildGPUBufferizePipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  // No deallocation pipeline: a buffer allocated here would live in host
  // memory, where no kernel can use it (see checkDeviceBuffers). Device
  // buffers of intermediate results are freed after their last use.
  addInputPasses(pm);
  // The kernels of each recurrence are chosen before they are built, as
  // on the CPU.
  OpPassManager &funcs = pm.nest<func::FuncOp>();
  funcs.addPass(createSSMToRecurrencePass());
  funcs.addPass(createSSMSelectGPUAlgorithmPass({options.chip, options.ssdChunks}));
  pm.addPass(createConvertSSMToGPUPass({options.chip}));
  addBufferizePasses(pm);
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createSSMFreeDeviceTemporariesPass());
}

void ssm::buildGPUToNVVMPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  GpuNVVMAttachTargetOptions target;
  target.chip = stringifyGPUChip(options.chip).str();
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  // Kernels: 64-bit indices, so no offset wraps at 2^31 elements. nvgpu
  // first: the chunked SSD's mma.sync fragments are vectors that
  // convert-gpu-to-nvvm's patterns leave alone.
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 64;
  kernels.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  // The wgmma kernel's NVVM ops that become inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  // Host: the same lowering as the CPU's, plus the launches.
  pm.addPass(createSSMCheckArgumentShapesPass());
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  OpPassManager &host = pm.nest<func::FuncOp>();
  host.addPass(createGpuAsyncRegionPass());
  host.addPass(LLVM::createLLVMRequestCWrappersPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createLowerAssertsPass({options.checks, /*deviceResults=*/true}));
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  binary.toolkitPath = options.cudaPath;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

namespace {
struct CPUToLLVMOptions : PassPipelineOptions<CPUToLLVMOptions> {
  Option<bool> threads{*this, "threads",
                       llvm::cl::desc("Run scf.forall loops on "
                                      "libssm_runtime's thread pool"),
                       llvm::cl::init(true)};
  Option<bool> inlineMath{*this, "inline-math",
                          llvm::cl::desc("f32 exp, expm1, log and log1p as "
                                         "inline polynomials, not libm calls"),
                          llvm::cl::init(true)};
  Option<ssm::CheckFailure> checks{
      *this, "checks", llvm::cl::desc("what a failed run-time check does"),
      llvm::cl::init(ssm::CheckFailure::abort), ssm::checkFailureValues()};
  Option<bool> scaleExponent{
      *this, "scale-exponent",
      llvm::cl::desc("exp's exponent put back with llvm.ldexp (AVX-512)"),
      llvm::cl::init(false)};
};

/// ssm-opt's spelling of CPUPipelineOptions.
struct CPUBufferizeOptions : PassPipelineOptions<CPUBufferizeOptions> {
  Option<ssm::SSDAlgorithmChoice> ssdAlgorithm{
      *this, "ssd-algorithm",
      llvm::cl::desc("form of ssm.ssd ops without an algorithm"),
      llvm::cl::init(ssm::SSDAlgorithmChoice::automatic),
      ssm::ssdAlgorithmValues()};
  Option<bool> callerOutputs{
      *this, "caller-outputs",
      llvm::cl::desc("entry points write their outputs into buffers the "
                     "caller passes (ssm-caller-outputs)"),
      llvm::cl::init(false)};
};
/// ssm-opt's spelling of GPUPipelineOptions.
struct GPUToNVVMOptions : PassPipelineOptions<GPUToNVVMOptions> {
  Option<ssm::GPUChip> chip{*this, "chip", llvm::cl::desc("NVIDIA architecture"),
                            llvm::cl::init(ssm::GPUChip::sm_80),
                            ssm::gpuChipValues()};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features"),
                               llvm::cl::init("+ptx80")};
  Option<unsigned> optLevel{*this, "opt-level",
                            llvm::cl::desc("LLVM optimization level (0-3)"),
                            llvm::cl::init(3)};
  Option<ssm::SSDChunkOrder> ssdChunks{
      *this, "ssd-chunks", llvm::cl::desc("how the chunked SSD covers a row's chunks"),
      llvm::cl::init(ssm::SSDChunkOrder::Automatic), ssm::ssdChunkOrderValues()};
  Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit root, for libdevice (default: "
                     "$CUDA_ROOT, $CUDA_HOME or $CUDA_PATH)")};
  Option<ssm::CheckFailure> checks{
      *this, "checks", llvm::cl::desc("what a failed run-time check does"),
      llvm::cl::init(ssm::CheckFailure::abort), ssm::checkFailureValues()};
};
} // namespace

void ssm::registerPipelines() {
  PassPipelineRegistration<CPUBufferizeOptions>(
      "ssm-cpu-bufferize",
      "ssm ops on tensors to bufferized loops (C-callable signatures)",
      [](OpPassManager &pm, const CPUBufferizeOptions &options) {
        buildCPUBufferizePipeline(pm, {options.ssdAlgorithm, options.callerOutputs});
      });
  PassPipelineRegistration<CPUToLLVMOptions>(
      "ssm-cpu-to-llvm", "bufferized loops to the LLVM dialect",
      [](OpPassManager &pm, const CPUToLLVMOptions &options) {
        buildCPULowerToLLVMPipeline(pm, {options.threads, options.inlineMath,
                                         options.checks, options.scaleExponent});
      });
  PassPipelineRegistration<GPUToNVVMOptions>(
      "ssm-gpu-to-nvvm",
      "ssm ops on tensors to PTX kernels (gpu.binary) and LLVM host code "
      "(ssmc runs it in two parts, checking the buffers in between)",
      [](OpPassManager &pm, const GPUToNVVMOptions &options) {
        GPUPipelineOptions gpu{options.chip, options.features,
                               options.optLevel, options.cudaPath,
                               options.ssdChunks, options.checks};
        buildGPUBufferizePipeline(pm, gpu);
        buildGPUToNVVMPipeline(pm, gpu);
      });
}
