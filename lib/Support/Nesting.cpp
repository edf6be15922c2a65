//===- Nesting.cpp - A bound on the nesting depth of IR text --------------===//
//
// Part of ssmc. See include/ssm/Support/Nesting.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Support/Nesting.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::ssm;

std::optional<size_t> mlir::ssm::findExcessiveNesting(llvm::StringRef text,
                                                      unsigned maxDepth) {
  // An overestimate of the parser's depth is harmless here (the bound is
  // far above real programs); an underestimate is what must not happen, so
  // every opening bracket counts and only unambiguous closers uncount.
  unsigned depth = 0;
  const size_t size = text.size();
  for (size_t i = 0; i < size; ++i) {
    char c = text[i];
    char next = i + 1 < size ? text[i + 1] : '\0';
    switch (c) {
    case '"':
      // A string literal: skip to its closing quote.
      for (++i; i < size && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
      break;
    case '/':
      if (next == '/')
        while (i < size && text[i] != '\n')
          ++i;
      break;
    case '(':
    case '[':
    case '{':
    case '<':
      if (c == '<' && next == '=')
        break;
      if (++depth > maxDepth)
        return i;
      break;
    case ')':
    case ']':
    case '}':
    case '>':
      if (c == '>' && (next == '=' || (i > 0 && text[i - 1] == '-')))
        break;
      if (depth > 0)
        --depth;
      break;
    default:
      break;
    }
  }
  return std::nullopt;
}

bool mlir::ssm::checkNestingDepth(const llvm::MemoryBuffer &buffer,
                                  unsigned maxDepth) {
  std::optional<size_t> offset = findExcessiveNesting(buffer.getBuffer(), maxDepth);
  if (!offset)
    return true;
  // Line and column by hand: the source line itself may be megabytes of
  // brackets, not something to echo.
  llvm::StringRef before = buffer.getBuffer().take_front(*offset);
  size_t line = before.count('\n') + 1;
  size_t lineStart = before.rfind('\n');
  size_t column = *offset - (lineStart == llvm::StringRef::npos ? 0 : lineStart + 1) + 1;
  llvm::errs() << buffer.getBufferIdentifier() << ":" << line << ":" << column
               << ": error: brackets nest deeper than " << maxDepth
               << " levels; refused rather than exhaust the parser's stack\n";
  return false;
}
