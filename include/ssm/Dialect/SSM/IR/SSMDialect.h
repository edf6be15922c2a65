//===- SSMDialect.h - The ssm dialect ---------------------------*- C++ -*-===//
//
// Part of ssmc. Declares the dialect class and the enums its ops use.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMDIALECT_H
#define SSM_DIALECT_SSM_IR_SSMDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "ssm/Dialect/SSM/IR/SSMDialect.h.inc"
#include "ssm/Dialect/SSM/IR/SSMEnums.h.inc"

#endif // SSM_DIALECT_SSM_IR_SSMDIALECT_H
