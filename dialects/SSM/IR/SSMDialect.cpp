//===- SSMDialect.cpp - The ssm dialect -----------------------------------===//
//
// Part of ssmc. Registers the ops of the dialect.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

using namespace mlir;
using namespace mlir::ssm;

#include "ssm/Dialect/SSM/IR/SSMDialect.cpp.inc"
#include "ssm/Dialect/SSM/IR/SSMEnums.cpp.inc"

void SSMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ssm/Dialect/SSM/IR/SSMOps.cpp.inc"
      >();
}
