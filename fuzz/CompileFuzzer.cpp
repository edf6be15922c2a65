//===- CompileFuzzer.cpp - Fuzzing ssmc on ssm IR -------------------------===//
//
// Part of ssmc. Runs the driver itself (ssm::compileSource, what the C API
// and the ssmc tool run) on any text as an .mlir file: a first byte chooses the target, then
// the whole flow runs: every pipeline, LLVM's optimizer and code generation
// for the CPU (or stopping at the bufferized loops), or the NVVM path to PTX
// for sm_80 or sm_90a. ssmc must answer with output or a diagnostic, never
// crash or hang. ssm-fuzz-ir covers the front of the flow much faster.
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Driver.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::ssm::DriverOptions options;
  if (size == 0)
    return 0;
  switch (data[0] % 4) {
  case 0:
    options.emit = mlir::ssm::EmitKind::Object;
    break;
  case 1:
    options.emit = mlir::ssm::EmitKind::Bufferized;
    break;
  case 2:
  case 3:
    options.targetKind = mlir::ssm::TargetKind::CUDA;
    options.emit = mlir::ssm::EmitKind::PTX;
    options.gpu.chip =
        data[0] % 4 == 2 ? mlir::ssm::GPUChip::sm_80 : mlir::ssm::GPUChip::sm_90a;
    break;
  }
  ++data;
  --size;
  const char *cuda = std::getenv("CUDA_HOME");
  options.gpu.cudaPath = cuda && *cuda ? cuda : "/usr/local/cuda";
  // A fixed CPU: the same input compiles the same way on every machine.
  options.target.cpu = "x86-64-v3";
  mlir::ssm::Artifacts artifacts;
  auto ignore = [](mlir::DiagnosticSeverity, llvm::StringRef) {};
  if (succeeded(mlir::ssm::compileSource(
          options, "fuzz.mlir",
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          artifacts, ignore)))
    (void)mlir::ssm::renderArtifact(artifacts, mlir::ssm::ArtifactKind::Header,
                                    ignore);
  return 0;
}
