//===- Checks.h - Messages of run-time checks -------------------*- C++ -*-===//
//
// Part of ssmc. The passes that insert run-time checks (cf.assert) word
// their messages alike: as a compiler diagnostic reads.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SUPPORT_CHECKS_H
#define SSM_SUPPORT_CHECKS_H

#include "mlir/IR/Location.h"

#include <string>

namespace mlir::ssm {

/// "file:line:col: `subject`: " for `loc`; for a location with no file (an
/// op the model importer built), its name in place of the file position.
std::string checkMessagePrefix(Location loc, llvm::StringRef subject);

} // namespace mlir::ssm

#endif // SSM_SUPPORT_CHECKS_H
