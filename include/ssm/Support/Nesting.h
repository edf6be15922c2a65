//===- Nesting.h - A bound on the nesting depth of IR text ------*- C++ -*-===//
//
// Part of ssmc. MLIR's parser descends recursively into nested attributes,
// types and regions: a file of a hundred thousand '[' exhausts the stack
// before any error can be reported. The tools measure the nesting of the
// text first, lexically, and refuse it past a depth no real program has.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SUPPORT_NESTING_H
#define SSM_SUPPORT_NESTING_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <optional>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mlir::ssm {

/// The deepest nesting of brackets ( [ { < the tools accept. Programs that
/// people or ssmc write nest a few dozen levels at most.
constexpr unsigned kMaxNestingDepth = 256;

/// The offset in `text` of the bracket that opens level `maxDepth` + 1, or
/// nullopt when the text nests no deeper than `maxDepth`. Brackets inside
/// string literals and `//` comments do not count; `->`, `>=` and `<=` are
/// not brackets.
std::optional<size_t> findExcessiveNesting(llvm::StringRef text,
                                           unsigned maxDepth = kMaxNestingDepth);

/// Checks `buffer`; on excess prints an error at the offending bracket (file,
/// line and column) to stderr and returns false.
bool checkNestingDepth(const llvm::MemoryBuffer &buffer,
                       unsigned maxDepth = kMaxNestingDepth);

} // namespace mlir::ssm

#endif // SSM_SUPPORT_NESTING_H
