//===- Driver.h - The ssmc compilation flow ---------------------*- C++ -*-===//
//
// Part of ssmc. The compilation flow behind the compiler's C API
// (include/ssm-c/Compiler.h), which the ssmc tool and the Python package
// use: flags parsed from strings, an ssm module parsed from source text or
// built from a model folder, compiled to artifacts held in memory, written
// to files on request. Diagnostics go to a callback.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DRIVER_DRIVER_H
#define SSM_DRIVER_DRIVER_H

#include "ssm/Frontend/ModelImporter.h"
#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Target/CHeader.h"
#include "ssm/Target/CPU.h"

#include "mlir/IR/Diagnostics.h"

#include <functional>
#include <optional>
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

/// Model folders: how the large matrices are stored (`--weight-type`).
enum class WeightType { Auto, F32, BF16, F16, Q8_0, Q4_0 };

/// Everything one compilation needs; the defaults are ssmc's.
struct DriverOptions {
  /// Model folders: prefix of the entry points (`<name>_prefill`, ...).
  std::string modelName = "model";
  /// Model folders: the storage of the large matrices; Auto keeps the
  /// checkpoint's 16-bit type (bf16, f16), else f32.
  WeightType weightType = WeightType::Auto;
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
  /// What a failed run-time check does (ssm-lower-asserts).
  CheckFailure checks = CheckFailure::abort;
  /// Where libssm_runtime.so is, for linking shared libraries; empty: the
  /// lib/ folder of the library or program this code is in.
  std::string runtimeDir;
  /// Shared libraries: the name (DT_SONAME) by which programs linked
  /// against one look for it; empty: lib<input's name>.so.
  std::string soname;
  /// Choices of the pass pipelines (the form of ssm.ssd ops).
  CPUPipelineOptions pipeline;
  /// Print the pass pipeline before running it (stderr).
  bool printPipeline = false;
  /// Print the IR after every pass (stderr).
  bool printIRAfterAll = false;
};

/// Sets `options` from ssmc's flags (`--emit=shared`, `--mcpu=znver4`,
/// `-O2`, `--caller-outputs`; `--mcpu znver4` too), starting from the
/// defaults. Fails with
/// `error` naming the flag on an unknown flag or a bad value.
LogicalResult parseDriverFlags(llvm::ArrayRef<std::string> flags,
                               DriverOptions &options, std::string &error);

/// Whether `flag` (`--mcpu`) takes the argument after it as its value.
bool driverFlagTakesNextArgument(llvm::StringRef flag);

/// Prints the flags parseDriverFlags takes, with their help, to stdout.
void printDriverFlagsHelp();

/// Receives each diagnostic, rendered as ssmc prints it: `file:line:col:
/// error: ...` with the source line, or `ssmc: error: ...`.
using DiagnosticCallback =
    std::function<void(DiagnosticSeverity, llvm::StringRef)>;

/// What a compilation produced, in memory.
struct Artifacts {
  EmitKind emit = EmitKind::Object;
  /// The bytes of the requested output (--emit).
  std::string output;
  /// The entry points, for the C header and the JSON interface; none
  /// where C cannot express a signature (`interfaceError` says why).
  std::optional<ModuleInterface> interface;
  std::string interfaceError;
  /// The header's include guard when it is not written to a named file.
  std::string headerGuard = "SSMC_MODULE_H";
  /// A model folder's weights, written on request (writeArtifact).
  std::optional<WeightsLayout> layout;
  std::optional<Checkpoint> checkpoint;
};

/// Compiles the .mlir file or model folder `path` ('-' for stdin).
LogicalResult compileFile(const DriverOptions &options, llvm::StringRef path,
                          Artifacts &artifacts,
                          const DiagnosticCallback &diagnostics);
/// Compiles MLIR `text`; `name` names it in diagnostics.
LogicalResult compileSource(const DriverOptions &options, llvm::StringRef name,
                            llvm::StringRef text, Artifacts &artifacts,
                            const DiagnosticCallback &diagnostics);

/// The artifacts a compilation offers.
enum class ArtifactKind { Output, Header, Interface, Weights };

/// The bytes of an artifact (not the weights, which are written only).
FailureOr<std::string> renderArtifact(const Artifacts &artifacts,
                                      ArtifactKind kind,
                                      const DiagnosticCallback &diagnostics);

/// Writes an artifact to `path` ('-': stdout). A header's include guard
/// comes from the file name. A partial file is removed on failure.
LogicalResult writeArtifact(const Artifacts &artifacts, ArtifactKind kind,
                            llvm::StringRef path,
                            const DiagnosticCallback &diagnostics);

} // namespace mlir::ssm

#endif // SSM_DRIVER_DRIVER_H
