//===- InitAll.cpp - Register everything ssmc provides --------------------===//
//
// Part of ssmc. See include/ssm/InitAll.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/InitAll.h"

#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void mlir::ssm::registerAllDialects(DialectRegistry &registry) {
  registry.insert<SSMDialect, arith::ArithDialect, bufferization::BufferizationDialect,
                  func::FuncDialect, memref::MemRefDialect,
                  linalg::LinalgDialect, math::MathDialect, scf::SCFDialect,
                  tensor::TensorDialect>();
}

void mlir::ssm::registerAllPasses() {
  registerSSMTransformsPasses();
  registerSSMConversionPasses();
  // The generic passes users reach for when inspecting SSM IR.
  registerCanonicalizerPass();
  registerCSEPass();
  registerSymbolDCEPass();
  registerInlinerPass();
}
