//===- CHeader.h - The C header of a compiled module ------------*- C++ -*-===//
//
// Part of ssmc. Application developers call compiled kernels from C through
// MLIR's C interface (`_mlir_ciface_<name>`), whose arguments are pointers
// to strided memref descriptors. This writes the header that declares those
// entry points, the descriptor structs, and each argument's dtype, shape and
// role, from the bufferized module (the last stage whose types still say
// what the user wrote). The same description, as JSON, tells bindings
// (python/) how to call the entry points.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CHEADER_H
#define SSM_TARGET_CHEADER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

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

/// How a call uses an argument.
enum class ArgumentRole { Input, InPlace, Output };

/// A buffer type in the interface: element type as `f32`, `bf16`, `i64`,
/// ...; sizes with -1 for a dynamic one.
struct InterfaceBuffer {
  std::string dtype;
  std::vector<int64_t> shape;
};
struct InterfaceValue {
  /// The C name: `ssm.name` where C can use it, else `argN` / `rN`.
  std::string name;
  InterfaceBuffer type;
  ArgumentRole role = ArgumentRole::Input;
};
/// A public function: `_mlir_ciface_<name>`, which takes the results'
/// descriptor (one result) or `<name>_results` struct (several) first.
struct InterfaceFunction {
  std::string name;
  std::vector<InterfaceValue> results, arguments;
};
/// A public constant table (a model's `<name>_info`).
struct InterfaceTable {
  std::string name, dtype;
  int64_t size = 0;
};
/// What a compiled module offers its callers, with no tie to an MLIRContext:
/// the C header and the JSON description (for bindings) are both printed
/// from it.
struct ModuleInterface {
  std::vector<InterfaceTable> tables;
  std::vector<InterfaceFunction> functions;
  HeaderRuntime runtime = HeaderRuntime::None;
  /// Failed checks return with ssm_last_error (ssm-lower-asserts).
  bool statusChecks = false;
};

/// Describes the public functions and tables of `module` (bufferized:
/// memref arguments and results). Fails, with a diagnostic, on a type C
/// cannot express.
FailureOr<ModuleInterface> describeInterface(ModuleOp module,
                                             HeaderRuntime runtime,
                                             bool statusChecks);

/// Writes the C header of `interface`; `guard` names the include guard.
void printCHeader(const ModuleInterface &interface, llvm::StringRef guard,
                  llvm::raw_ostream &os);

/// Writes `interface` as JSON: {"format": 1, "runtime", "status_checks",
/// "tables": [{name, dtype, size}], "functions": [{name, symbol, results:
/// [{name, dtype, shape}], arguments: [{name, dtype, shape, role}]}]}, with
/// null for a dynamic size and role one of "input", "in_place", "output".
void printInterfaceJSON(const ModuleInterface &interface,
                        llvm::raw_ostream &os);

} // namespace mlir::ssm

#endif // SSM_TARGET_CHEADER_H
