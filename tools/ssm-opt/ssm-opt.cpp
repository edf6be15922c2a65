//===- ssm-opt.cpp - Inspect and transform ssm IR -------------------------===//
//
// Part of ssmc. The mlir-opt of this project: parses, verifies, transforms
// and prints IR with the ssm dialect and its passes registered.
//
//===----------------------------------------------------------------------===//

#include "ssm/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::ssm::registerAllDialects(registry);
  mlir::ssm::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "ssm-opt: inspect and transform state-space-model IR\n",
      registry));
}
