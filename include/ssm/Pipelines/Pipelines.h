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

#include "ssm/Conversion/LowerAsserts.h"
#include "ssm/Transforms/Configuration.h"

#include <string>

namespace mlir {
class OpPassManager;
namespace ssm {

/// Choices of the CPU pipelines.
struct CPUPipelineOptions {
  /// The form of `ssm.ssd` ops that have no `algorithm` (ssm-select-algorithm).
  SSDAlgorithmChoice ssdAlgorithm = SSDAlgorithmChoice::automatic;
  /// Entry points write their outputs into buffers the caller passes
  /// (ssm-caller-outputs) instead of allocating them.
  bool callerOutputs = false;
};

/// ssm ops on tensors -> bufferized functions: inputs read-only and decode
/// destinations in place (ssm-mark-in-place-arguments), outputs the
/// caller's with `callerOutputs`, the core op configured
/// (ssm-select-algorithm) and split into work items (ssm-tile-recurrences),
/// convert-ssm-to-scf, one-shot bufferization with identity-layout function boundaries,
/// in-place results dropped from signatures, temporaries freed. The C
/// header is generated from this stage's signatures.
void buildCPUBufferizePipeline(OpPassManager &pm,
                               const CPUPipelineOptions &options = {});

/// How bufferized functions become LLVM dialect.
struct CPULowerOptions {
  /// scf.forall loops run on libssm_runtime's thread pool
  /// (ssm-parallel-to-runtime) and f32 matrix products call its BLAS
  /// (ssm-matmul-to-blas); without, the generated code is serial loops and
  /// needs no runtime.
  bool threads = true;
  /// f32 exp, expm1, log and log1p become inline polynomials
  /// (ssm-inline-math, within 4 ulp); without, libm calls.
  bool inlineMath = true;
  /// What a failed run-time check does (ssm-lower-asserts).
  CheckFailure checks = CheckFailure::abort;
  /// exp's exponent put back with llvm.ldexp (ssm-inline-math's
  /// scale-exponent): for targets where that is one instruction.
  bool scaleExponent = false;
};

/// Bufferized functions -> the LLVM dialect (loops, strided metadata,
/// libm calls for the math the LLVM backend does not expand, C interface
/// wrappers for every function).
void buildCPULowerToLLVMPipeline(OpPassManager &pm,
                                 const CPULowerOptions &options = {});

/// Choices of the GPU pipeline.
struct GPUPipelineOptions {
  /// The NVIDIA architecture the kernels are compiled for.
  GPUChip chip = GPUChip::sm_80;
  /// PTX features. PTX ISA 8.0 (CUDA 12) is the first to cover sm_90, and
  /// LLVM aborts on sm_90 without it; ptxas of CUDA 12+ reads it for sm_80.
  std::string features = "+ptx80";
  /// LLVM optimization level of the kernels (0 to 3).
  unsigned optLevel = 3;
  /// Root of the CUDA toolkit, whose libdevice provides exp and log1p to
  /// the kernels. Empty: MLIR's own lookup (CUDA_ROOT, CUDA_HOME,
  /// CUDA_PATH), which links nothing, silently, when they are unset.
  std::string cudaPath;
  /// How the chunked SSD covers a row's chunks (ssm-select-gpu-algorithm's
  /// `ssd-chunks`).
  SSDChunkOrder ssdChunks = SSDChunkOrder::Automatic;
  /// What a failed run-time check of the host code does
  /// (ssm-lower-asserts; `status` needs entry points without results).
  CheckFailure checks = CheckFailure::abort;
};

/// ssm ops on tensors -> bufferized host functions that launch kernels:
/// the CPU pipeline's checks and argument marking, the core op configured
/// for `options.chip` (ssm-to-recurrence, ssm-select-gpu-algorithm; sm_90a:
/// wgmma where it fits), convert-ssm-to-gpu (kernels in the `ssm_kernels`
/// gpu.module), one-shot bufferization with identity-layout function
/// boundaries, in-place results dropped.
void buildGPUBufferizePipeline(OpPassManager &pm,
                               const GPUPipelineOptions &options = {});

/// Bufferized host functions and kernels -> the kernels in PTX
/// (gpu-module-to-binary, format=isa, one object for `options.chip`) and
/// the host functions, with their gpu.launch_func ops, in the LLVM dialect.
void buildGPUToNVVMPipeline(OpPassManager &pm,
                            const GPUPipelineOptions &options = {});

/// Registers `ssm-cpu-bufferize` (option `ssd-algorithm`) and
/// `ssm-cpu-to-llvm` and `ssm-gpu-to-nvvm` (both GPU parts in one; options
/// `chip`, `features`, `opt-level`) for ssm-opt.
void registerPipelines();

} // namespace ssm
} // namespace mlir

#endif // SSM_PIPELINES_PIPELINES_H
