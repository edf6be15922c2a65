//===- ssm-lsp-server.cpp - Language server for ssm IR --------------------===//
//
// Part of ssmc. MLIR's language server (diagnostics, hover, go-to-definition,
// completion in an editor) with the dialects ssm-opt registers, so that an
// editor understands every file ssm-opt accepts. docs/editors.md has the
// editor setup.
//
//===----------------------------------------------------------------------===//

#include "ssm/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-lsp-server/MlirLspServerMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::ssm::registerAllDialects(registry);
  return mlir::failed(mlir::MlirLspServerMain(argc, argv, registry));
}
