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

/// The argument and result attribute (a string) that names an entry
/// point's argument or result in the header: parameters and the fields of
/// `<fn>_results`. ssmc records the SSA names of an MLIR file there, the
/// model importer its own names; where a name cannot serve in C (not an
/// identifier, a keyword, a clash), the header says `argN` / `rN`.
inline constexpr llvm::StringLiteral kNameAttrName = "ssm.name";

/// What the compiled code needs from libssm_runtime, for the header's notes.
enum class HeaderRuntime {
  None,       ///< plain serial CPU code
  ThreadPool, ///< CPU code on the runtime's thread pool (and BLAS)
  CUDA,       ///< host code launching GPU kernels; buffers in device memory
};

/// Writes the C header for the public functions of `module` (bufferized:
/// memref arguments and results). `guard` names the include guard; with
/// `statusChecks`, the header declares ssm_last_error (failed checks return
/// a status, ssm-lower-asserts). Fails, with a diagnostic, on an argument
/// type C cannot express.
LogicalResult emitCHeader(ModuleOp module, StringRef guard,
                          HeaderRuntime runtime, bool statusChecks,
                          llvm::raw_ostream &os);

} // namespace mlir::ssm

#endif // SSM_TARGET_CHEADER_H
