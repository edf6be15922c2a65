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
  append(pm, "func.func(ssm-insert-shape-checks), ssm-mark-in-place-arguments,"
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
             "convert-to-llvm,"
             "reconcile-unrealized-casts");
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
}
