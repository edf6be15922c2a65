//===- Checks.cpp - Messages of run-time checks ---------------------------===//
//
// Part of ssmc.
//
//===----------------------------------------------------------------------===//

#include "ssm/Support/Checks.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string ssm::checkMessagePrefix(Location loc, StringRef subject) {
  std::string prefix;
  llvm::raw_string_ostream os(prefix);
  if (auto at = loc->findInstanceOf<FileLineColLoc>())
    os << at.getFilename().getValue() << ":" << at.getLine() << ":"
       << at.getColumn() << ": ";
  else if (auto name = loc->findInstanceOf<NameLoc>())
    os << name.getName().getValue() << ": ";
  os << subject << ": ";
  return prefix;
}
