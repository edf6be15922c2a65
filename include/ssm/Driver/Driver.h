//===- Driver.h - The ssmc compilation flow ---------------------*- C++ -*-===//
//
// Part of ssmc. One function that takes an ssm module, parsed from source
// text or built from a model folder, to the requested artifact, so the ssmc
// tool is only flag parsing.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DRIVER_DRIVER_H
#define SSM_DRIVER_DRIVER_H

#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Target/CPU.h"

#include <string>

namespace mlir::ssm {

/// What ssmc produces.
enum class EmitKind {
  Imported,
  Bufferized,
  LLVMDialect,
  LLVMIR,
  Assembly,
  Object,
  Shared,
  /// The kernels' PTX (--target=cuda).
  PTX
};

/// Where the compiled code runs.
enum class TargetKind { CPU, CUDA };

/// Everything one compilation needs.
struct DriverOptions {
  /// An .mlir file ('-' for stdin) or a Hugging Face model folder
  /// (config.json and safetensors of MambaForCausalLM / Mamba2ForCausalLM).
  std::string input = "-";
  std::string output = "-";
  /// Where to write the C header; empty for none.
  std::string header;
  /// Model folders: where to write the weights file; empty for the output
  /// with the extension `.weights` when an object or library is written.
  std::string weights;
  /// Model folders: prefix of the entry points (`<name>_prefill`, ...).
  std::string modelName = "model";
  EmitKind emit = EmitKind::Object;
  TargetKind targetKind = TargetKind::CPU;
  CPUTargetOptions target;
  /// The architecture and code generation of CUDA kernels.
  GPUPipelineOptions gpu;
  /// Run work items (scf.forall loops) on libssm_runtime's thread pool (the
  /// code then needs the runtime); serial code without it otherwise.
  bool threads = true;
  /// f32 exp, expm1, log and log1p as inline polynomials (ssm-inline-math),
  /// not libm calls.
  bool inlineMath = true;
  /// What a failed run-time check does (ssm-lower-asserts): `status` needs
  /// entry points without results (--caller-outputs, or a model folder).
  CheckFailure checks = CheckFailure::abort;
  /// Where libssm_runtime.so is, for linking shared libraries.
  std::string runtimeDir;
  /// Choices of the pass pipelines (the form of ssm.ssd ops).
  CPUPipelineOptions pipeline;
  /// Print the pass pipeline before running it.
  bool printPipeline = false;
  /// Print the IR after every pass (to stderr).
  bool printIRAfterAll = false;
};

/// Compiles per `options`; diagnostics go to stderr. Returns the process
/// exit code (0 on success).
int compile(const DriverOptions &options);

} // namespace mlir::ssm

#endif // SSM_DRIVER_DRIVER_H
