//===- Nesting.h - Lexical checks of IR text before MLIR's parser -*- C++ -*-===//
//
// Part of ssmc. Input that MLIR 22's parser cannot survive, refused first
// with an error at its place:
// - MLIR's parser descends recursively into nested attributes, types and
//   regions: a file of a hundred thousand '[' exhausts the stack before any
//   error can be reported. The tools measure the nesting of the text first
//   and refuse it past a depth no real program has.
// - linalg.transpose, linalg.broadcast and linalg.reduce parse their
//   `permutation = [...]` / `dimensions = [...]` lists and store the result
//   without checking it: a malformed list (`permutation = 2`) makes the
//   parser dereference a null attribute. The tools check such lists first.
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

/// The offset in `text` of a `permutation =` or `dimensions =` (outside
/// string literals, comments and attribute dictionaries) not followed by a
/// list of integers that fit in 64 bits (`[1, 0]`, `[]`), or nullopt when
/// there is none. Works on tokens: comments between them are skipped.
std::optional<size_t> findMalformedDimensionList(llvm::StringRef text);

/// Checks `buffer` for both; on a finding prints an error at its place
/// (file, line and column) to stderr and returns false.
bool checkInputText(const llvm::MemoryBuffer &buffer,
                    unsigned maxDepth = kMaxNestingDepth);

} // namespace mlir::ssm

#endif // SSM_SUPPORT_NESTING_H
