//===- Pipelines.cpp - Pass pipelines of ssmc -----------------------------===//
//
// Part of ssmc. See include/ssm/Pipelines/Pipelines.h. The pipelines are
// spelled in MLIR's textual syntax so that `--print-pipeline` output and
// ssm-opt invocations read exactly as they run.
//
//===----------------------------------------------------------------------===//

#include "ssm/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

static void append(OpPassManager &pm, const Twine &pipeline) {
  // The strings are constants of this file: a parse failure is a bug here.
  if (failed(parsePassPipeline(pipeline.str(), pm)))
    llvm::report_fatal_error("ssmc: malformed built-in pipeline");
}

static StringRef nameOf(ssm::SSDAlgorithmChoice choice) {
  switch (choice) {
  case ssm::SSDAlgorithmChoice::automatic:
    return "auto";
  case ssm::SSDAlgorithmChoice::recurrent:
    return "recurrent";
  case ssm::SSDAlgorithmChoice::chunked:
    return "chunked";
  }
  llvm_unreachable("unknown ssd algorithm choice");
}

void ssm::buildCPUBufferizePipeline(OpPassManager &pm,
                                    const CPUPipelineOptions &options) {
  append(pm, "ssm-check-input, func.func(ssm-insert-shape-checks),"
             "ssm-mark-in-place-arguments,"
             // Direct (fused) lowerings first; what has none is defined by
             // decomposition, whose core ops the second lowering handles.
             // The form of each ssd is chosen before the first lowering.
             "func.func(ssm-select-algorithm{force=" +
                 nameOf(options.ssdAlgorithm).str() +
                 "}, convert-ssm-to-scf, ssm-decompose, convert-ssm-to-scf),"
             "canonicalize, cse,"
             "one-shot-bufferize{bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map},"
             "canonicalize, ssm-drop-argument-results,"
             "buffer-deallocation-pipeline,"
             "canonicalize");
}

void ssm::buildCPULowerToLLVMPipeline(OpPassManager &pm, bool threads) {
  // C wrappers are requested before convert-math-to-libm and
  // ssm-parallel-to-runtime declare the functions they call, which must keep
  // their plain C names.
  // The runtime, when linked, also does the matrix products (through the
  // BLAS it opens); without it they become loops like any linalg op.
  if (threads)
    append(pm, "ssm-matmul-to-blas");
  append(pm, "func.func(ssm-strided-copies-to-linalg, convert-linalg-to-loops),"
             "fold-memref-alias-ops,"
             "expand-strided-metadata, lower-affine,"
             "func.func(llvm-request-c-wrappers)");
  if (threads)
    append(pm, "ssm-parallel-to-runtime");
  append(pm, "ssm-lower-asserts, convert-math-to-libm, convert-scf-to-cf,"
             // memref.reshape (a model's batch and length split) has a
             // lowering in finalize-memref-to-llvm but not in the
             // interface-driven convert-to-llvm of MLIR 22.
             "finalize-memref-to-llvm, convert-to-llvm,"
             "reconcile-unrealized-casts");
}

void ssm::buildGPUBufferizePipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  // No deallocation pipeline: a buffer allocated here would live in host
  // memory, where no kernel can use it (see checkDeviceBuffers). Device
  // buffers of intermediate results are freed after their last use.
  append(pm, "ssm-check-input, func.func(ssm-insert-shape-checks),"
             "ssm-mark-in-place-arguments,"
             "convert-ssm-to-gpu{chip=" + options.chip + " ssd-chunks=" +
                 options.ssdChunks + "}, canonicalize, cse,"
             "one-shot-bufferize{bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map},"
             "canonicalize, ssm-drop-argument-results, canonicalize,"
             "func.func(ssm-free-device-temporaries)");
}

void ssm::buildGPUToNVVMPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  append(pm, "nvvm-attach-target{chip=" + options.chip + " features=" +
                 options.features + " O=" + Twine(options.optLevel) + "},"
             // Kernels: 64-bit indices, so no offset wraps at 2^31 elements.
             // nvgpu first: the chunked SSD's mma.sync fragments are
             // vectors that convert-gpu-to-nvvm's patterns leave alone.
             "gpu.module(convert-nvgpu-to-nvvm,"
             "convert-gpu-to-nvvm{index-bitwidth=64},"
             // The wgmma kernel's NVVM ops that become inline PTX.
             "convert-nvvm-to-llvm, canonicalize, cse),"
             // Host: the same lowering as the CPU's, plus the launches.
             "fold-memref-alias-ops, expand-strided-metadata, lower-affine,"
             "func.func(gpu-async-region, llvm-request-c-wrappers), ssm-lower-asserts,"
             "convert-scf-to-cf, gpu-to-llvm, convert-to-llvm,"
             "reconcile-unrealized-casts,"
             "gpu-module-to-binary{format=isa" +
                 (options.cudaPath.empty() ? std::string()
                                           : " toolkit=" + options.cudaPath) +
                 "}");
}

namespace {
struct LowerToLLVMOptions : PassPipelineOptions<LowerToLLVMOptions> {
  Option<bool> threads{*this, "threads",
                       llvm::cl::desc("Run ssm.parallel loops on "
                                      "libssm_runtime's thread pool"),
                       llvm::cl::init(true)};
};

/// ssm-opt's spelling of CPUPipelineOptions.
struct CPUBufferizeOptions : PassPipelineOptions<CPUBufferizeOptions> {
  Option<ssm::SSDAlgorithmChoice> ssdAlgorithm{
      *this, "ssd-algorithm",
      llvm::cl::desc("form of ssm.ssd ops without an algorithm"),
      llvm::cl::init(ssm::SSDAlgorithmChoice::automatic),
      llvm::cl::values(
          clEnumValN(ssm::SSDAlgorithmChoice::automatic, "auto",
                     "choose by the cost model (ssm-select-algorithm)"),
          clEnumValN(ssm::SSDAlgorithmChoice::recurrent, "recurrent",
                     "the recurrence"),
          clEnumValN(ssm::SSDAlgorithmChoice::chunked, "chunked",
                     "the chunked (state-space duality) form"))};
};
/// ssm-opt's spelling of GPUPipelineOptions.
struct GPUToNVVMOptions : PassPipelineOptions<GPUToNVVMOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("NVIDIA architecture (sm_80, sm_90, sm_90a)"),
                           llvm::cl::init("sm_80")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features"),
                               llvm::cl::init("+ptx80")};
  Option<unsigned> optLevel{*this, "opt-level",
                            llvm::cl::desc("LLVM optimization level (0-3)"),
                            llvm::cl::init(3)};
  Option<std::string> ssdChunks{
      *this, "ssd-chunks",
      llvm::cl::desc("chunked SSD: auto, sequential or parallel chunks"),
      llvm::cl::init("auto")};
  Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit root, for libdevice (default: "
                     "$CUDA_ROOT, $CUDA_HOME or $CUDA_PATH)")};
};
} // namespace

void ssm::registerPipelines() {
  PassPipelineRegistration<CPUBufferizeOptions>(
      "ssm-cpu-bufferize",
      "ssm ops on tensors to bufferized loops (C-callable signatures)",
      [](OpPassManager &pm, const CPUBufferizeOptions &options) {
        buildCPUBufferizePipeline(pm, {options.ssdAlgorithm});
      });
  PassPipelineRegistration<LowerToLLVMOptions>(
      "ssm-cpu-to-llvm", "bufferized loops to the LLVM dialect",
      [](OpPassManager &pm, const LowerToLLVMOptions &options) {
        buildCPULowerToLLVMPipeline(pm, options.threads);
      });
  PassPipelineRegistration<GPUToNVVMOptions>(
      "ssm-gpu-to-nvvm",
      "ssm ops on tensors to PTX kernels (gpu.binary) and LLVM host code "
      "(ssmc runs it in two parts, checking the buffers in between)",
      [](OpPassManager &pm, const GPUToNVVMOptions &options) {
        GPUPipelineOptions gpu{options.chip, options.features,
                               options.optLevel, options.cudaPath,
                               options.ssdChunks};
        buildGPUBufferizePipeline(pm, gpu);
        buildGPUToNVVMPipeline(pm, gpu);
      });
}
