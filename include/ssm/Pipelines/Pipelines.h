//===- Pipelines.h - Pass pipelines of ssmc ---------------------*- C++ -*-===//
//
// Part of ssmc. Pass ordering only: which passes run, in which order, for
// each target. The same functions serve ssm-opt (as registered pipelines)
// and the ssmc driver, so what a user reproduces with ssm-opt is what the
// driver ran.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_PIPELINES_PIPELINES_H
#define SSM_PIPELINES_PIPELINES_H

#include "ssm/Transforms/Passes.h"

namespace mlir {
class OpPassManager;
namespace ssm {

/// Choices of the CPU pipelines.
struct CPUPipelineOptions {
  /// The form of `ssm.ssd` ops that have no `algorithm` (ssm-select-algorithm).
  SSDAlgorithmChoice ssdAlgorithm = SSDAlgorithmChoice::automatic;
};

/// ssm ops on tensors -> bufferized functions: inputs read-only and decode
/// destinations in place (ssm-mark-in-place-arguments), the form of each
/// ssd chosen (ssm-select-algorithm), ssm-decompose, convert-ssm-to-scf,
/// one-shot bufferization with identity-layout function boundaries,
/// in-place results dropped from signatures, temporaries freed. The C
/// header is generated from this stage's signatures.
void buildCPUBufferizePipeline(OpPassManager &pm,
                               const CPUPipelineOptions &options = {});

/// Bufferized functions -> the LLVM dialect (loops, strided metadata,
/// libm calls for the math the LLVM backend does not expand, C interface
/// wrappers for every function). With `threads`, loops marked ssm.parallel
/// run on libssm_runtime's thread pool (ssm-parallel-to-runtime) and f32
/// matrix products call its BLAS (ssm-matmul-to-blas); without, the
/// generated code is serial loops and needs no runtime.
void buildCPULowerToLLVMPipeline(OpPassManager &pm, bool threads = true);

/// Registers `ssm-cpu-bufferize` (option `ssd-algorithm`) and
/// `ssm-cpu-to-llvm` for ssm-opt.
void registerPipelines();

} // namespace ssm
} // namespace mlir

#endif // SSM_PIPELINES_PIPELINES_H
