//===- SSMOps.h - Operations of the ssm dialect -----------------*- C++ -*-===//
//
// Part of ssmc. Declares the generated op classes of the ssm dialect.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMOPS_H
#define SSM_DIALECT_SSM_IR_SSMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/IR/IRMapping.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"

#define GET_OP_CLASSES
#include "ssm/Dialect/SSM/IR/SSMOps.h.inc"

namespace mlir::ssm {

/// Attaches One-Shot Bufferize's interface to the ops that have a memref
/// form (ssm.packed_matmul, ssm.packed_gather).
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

/// The extent of every core dimension of `op` as an index value (1 for a
/// dimension no layout names), built at `b`'s insertion point: a constant
/// where the types fix it, else read from the operand's image in `sources`
/// (a kernel's buffer) or, without one, from the operand itself.
SmallVector<Value> recurrenceExtents(OpBuilder &b, Location loc, RecurrenceOp op,
                                     const IRMapping &sources = {});

/// The rows of `op`'s work: the extent of `b` (`extents[kB]`), or with
/// `cu_seqlens` (read as `cuSeqlens`: the op's tensor or a kernel's buffer)
/// the number of packed sequences, its size minus one.
Value recurrenceRows(OpBuilder &b, Location loc, ArrayRef<Value> extents,
                     Value cuSeqlens);

} // namespace mlir::ssm

#endif // SSM_DIALECT_SSM_IR_SSMOPS_H
