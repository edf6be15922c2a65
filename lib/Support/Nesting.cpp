//===- Nesting.cpp - A bound on the nesting depth of IR text --------------===//
//
// Part of ssmc. See include/ssm/Support/Nesting.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Support/Nesting.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::ssm;

/// Skips a string literal or a `//` comment starting at `i`; returns
/// whether there was one (then `i` is on its last character).
static bool skipLiteralOrComment(llvm::StringRef text, size_t &i) {
  if (text[i] == '"') {
    for (++i; i < text.size() && text[i] != '"'; ++i)
      if (text[i] == '\\')
        ++i;
    return true;
  }
  if (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '/') {
    while (i < text.size() && text[i] != '\n')
      ++i;
    return true;
  }
  return false;
}

std::optional<size_t> mlir::ssm::findExcessiveNesting(llvm::StringRef text,
                                                      unsigned maxDepth) {
  // An overestimate of the parser's depth is harmless here (the bound is
  // far above real programs); an underestimate is what must not happen, so
  // every opening bracket counts and only unambiguous closers uncount.
  unsigned depth = 0;
  const size_t size = text.size();
  for (size_t i = 0; i < size; ++i) {
    if (skipLiteralOrComment(text, i))
      continue;
    char c = text[i];
    char next = i + 1 < size ? text[i + 1] : '\0';
    switch (c) {
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

/// Whether `text` from `i` on is a list of integers `[1, -2]` (or `[]`).
static bool isIntegerList(llvm::StringRef text, size_t i) {
  auto skipSpace = [&] {
    while (i < text.size() && llvm::isSpace(text[i]))
      ++i;
  };
  auto at = [&](char c) { return i < text.size() && text[i] == c; };
  if (!at('['))
    return false;
  ++i;
  skipSpace();
  if (at(']'))
    return true;
  while (true) {
    if (at('-'))
      ++i;
    size_t digits = i;
    while (i < text.size() && llvm::isDigit(text[i]))
      ++i;
    if (i == digits)
      return false;
    skipSpace();
    if (at(']'))
      return true;
    if (!at(','))
      return false;
    ++i;
    skipSpace();
  }
}

std::optional<size_t> mlir::ssm::findMalformedDimensionList(llvm::StringRef text) {
  auto isIdentifier = [](char c) { return llvm::isAlnum(c) || c == '_' || c == '.' || c == '$'; };
  for (size_t i = 0; i < text.size(); ++i) {
    if (skipLiteralOrComment(text, i))
      continue;
    llvm::StringRef rest = text.drop_front(i);
    size_t length = rest.starts_with("permutation") ? 11 : rest.starts_with("dimensions") ? 10 : 0;
    if (!length || (i > 0 && isIdentifier(text[i - 1])) ||
        (length < rest.size() && isIdentifier(rest[length])))
      continue;
    size_t j = i + length;
    while (j < text.size() && llvm::isSpace(text[j]))
      ++j;
    if (j >= text.size() || text[j] != '=')
      continue;
    // In an attribute dictionary (after '{' or ','), MLIR's attribute
    // parser reads the value and fails cleanly; elsewhere it is the ops'
    // custom syntax, which must be a list of integers.
    llvm::StringRef before = text.take_front(i).rtrim();
    if (before.ends_with("{") || before.ends_with(","))
      continue;
    for (++j; j < text.size() && llvm::isSpace(text[j]);)
      ++j;
    if (!isIntegerList(text, j))
      return i;
  }
  return std::nullopt;
}

bool mlir::ssm::checkInputText(const llvm::MemoryBuffer &buffer, unsigned maxDepth) {
  llvm::StringRef text = buffer.getBuffer();
  std::optional<size_t> offset = findExcessiveNesting(text, maxDepth);
  std::optional<size_t> list = offset ? std::nullopt : findMalformedDimensionList(text);
  if (!offset && !list)
    return true;
  size_t at = offset ? *offset : *list;
  // Line and column by hand: the source line itself may be megabytes of
  // brackets, not something to echo.
  llvm::StringRef before = text.take_front(at);
  size_t line = before.count('\n') + 1;
  size_t lineStart = before.rfind('\n');
  size_t column = at - (lineStart == llvm::StringRef::npos ? 0 : lineStart + 1) + 1;
  llvm::errs() << buffer.getBufferIdentifier() << ":" << line << ":" << column << ": error: ";
  if (offset)
    llvm::errs() << "brackets nest deeper than " << maxDepth
                 << " levels; refused rather than exhaust the parser's stack\n";
  else
    llvm::errs() << "expected a list of integers such as [1, 0] after '"
                 << text.drop_front(at).take_while([](char c) { return llvm::isAlpha(c); })
                 << " ='; refused before MLIR's linalg parsers, which crash on anything else\n";
  return false;
}
