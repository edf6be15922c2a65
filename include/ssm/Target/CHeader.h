//===- CHeader.h - The C header of a compiled module ------------*- C++ -*-===//
//
// Part of ssmc. Application developers call compiled kernels from C through
// MLIR's C interface (`_mlir_ciface_<name>`), whose arguments are pointers
// to strided memref descriptors. This writes the header that declares those
// entry points, the descriptor structs, and each argument's dtype, shape and
// role, from the bufferized module (the last stage whose types still say
// what the user wrote).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CHEADER_H
#define SSM_TARGET_CHEADER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::ssm {

/// Writes the C header for the public functions of `module` (bufferized:
/// memref arguments and results). `guard` names the include guard;
/// `threads` says the code runs on libssm_runtime's pool. Fails, with a
/// diagnostic, on an argument type C cannot express.
LogicalResult emitCHeader(ModuleOp module, StringRef guard, bool threads,
                          llvm::raw_ostream &os);

} // namespace mlir::ssm

#endif // SSM_TARGET_CHEADER_H
