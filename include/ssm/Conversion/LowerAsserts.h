//===- LowerAsserts.h - What a failed check does ----------------*- C++ -*-===//
//
// Part of ssmc. The pass `ssm-lower-asserts` (see Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_LOWERASSERTS_H
#define SSM_CONVERSION_LOWERASSERTS_H

#include "mlir/Pass/Pass.h"
#include "llvm/Support/CommandLine.h"

namespace mlir {
namespace ssm {

/// What generated code does when a run-time check fails.
enum class CheckFailure {
  /// Writes the message to stderr and aborts the process.
  abort,
  /// Returns from the entry point with the message in ssm_last_error().
  status,
  /// Nothing: the checks are compiled out.
  none,
};

/// The command-line spellings of CheckFailure (ssm-lower-asserts,
/// ssm-cpu-to-llvm, ssm-gpu-to-nvvm, ssmc).
inline llvm::cl::ValuesClass checkFailureValues() {
  return llvm::cl::values(
      clEnumValN(CheckFailure::abort, "abort",
                 "print the message on stderr and abort the process"),
      clEnumValN(CheckFailure::status, "status",
                 "return from the call; ssm_last_error() gives the message "
                 "(results come back empty)"),
      clEnumValN(CheckFailure::none, "none", "no run-time checks"));
}

#define GEN_PASS_DECL_LOWERASSERTSPASS
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_LOWERASSERTS_H
