//===- ssm-opt.cpp - Inspect and transform ssm IR -------------------------===//
//
// Part of ssmc. The mlir-opt of this project: parses, verifies, transforms
// and prints IR with the ssm dialect and its passes registered. Unlike
// mlir-opt it refuses input nested deeply enough to exhaust the parser's
// stack, fails whenever it printed an error, and reports a failed write (a
// full disk) instead of stopping with an LLVM ERROR.
//
//===----------------------------------------------------------------------===//

#include "Transforms/GPUToEmulator.h"
#include "ssm/InitAll.h"
#include "ssm/Support/Nesting.h"
#include "ssm/Support/Output.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::ssm::registerAllDialects(registry);
  mlir::ssm::registerAllPasses();
  mlir::ssm::test::registerTestPasses();
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv, "ssm-opt: inspect and transform state-space-model IR\n",
      registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, inputFile, outputFile, registry));
  // Some upstream passes report an error and carry on (gpu-module-to-binary
  // with a missing CUDA toolkit): an error printed is a failed run, whatever
  // the pass manager says. (With -verify-diagnostics, expected errors are
  // the point, and the verifier judges them.)
  bool errorReported = false;
  if (!config.shouldVerifyDiagnostics()) {
    mlir::MlirOptMainConfig fromCommandLine = config;
    config.setPassPipelineSetupFn([fromCommandLine, &errorReported](mlir::PassManager &pm) {
      pm.getContext()->getDiagEngine().registerHandler([&errorReported](mlir::Diagnostic &d) {
        if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
          errorReported = true;
        return mlir::failure(); // On to the handler that prints it.
      });
      return fromCommandLine.setupPassPipeline(pm);
    });
  }

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input = mlir::openInputFile(inputFile, &error);
  if (!input) {
    llvm::errs() << "ssm-opt: " << error << "\n";
    return 1;
  }
  if (!mlir::ssm::checkInputText(*input))
    return 1;
  std::unique_ptr<llvm::ToolOutputFile> output = mlir::openOutputFile(outputFile, &error);
  if (!output) {
    llvm::errs() << "ssm-opt: " << error << "\n";
    return 1;
  }
  bool ok = mlir::succeeded(mlir::MlirOptMain(output->os(), std::move(input),
                                              registry, config)) &&
            !errorReported;
  if (std::string failure = mlir::ssm::finishOutput(*output, outputFile);
      !failure.empty()) {
    llvm::errs() << "ssm-opt: " << failure << "\n";
    return 1;
  }
  if (!ok)
    return 1;
  output->keep();
  return 0;
}
