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

/// The offset of the first token at or after `i`: white space, `//`
/// comments and NUL characters skipped, as MLIR's lexer does between tokens
/// (it takes a NUL for the end only at the end of the buffer).
static size_t skipSpaceAndComments(llvm::StringRef text, size_t i) {
  while (i < text.size()) {
    if (llvm::isSpace(text[i]) || text[i] == '\0') {
      ++i;
    } else if (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      skipLiteralOrComment(text, i);
      ++i;
    } else {
      break;
    }
  }
  return i;
}

/// Whether the tokens from `i` on are a list of decimal integers that fit in
/// 64 bits, `[1, -2]` or `[]`: what DenseI64ArrayAttr's parser reads without
/// failing.
static bool isIntegerList(llvm::StringRef text, size_t i) {
  auto at = [&](char c) { return i < text.size() && text[i] == c; };
  i = skipSpaceAndComments(text, i);
  if (!at('['))
    return false;
  i = skipSpaceAndComments(text, i + 1);
  if (at(']'))
    return true;
  while (true) {
    size_t begin = i;
    if (at('-'))
      ++i;
    while (i < text.size() && llvm::isDigit(text[i]))
      ++i;
    int64_t value;
    if (text.slice(begin, i).getAsInteger(10, value))
      return false;
    i = skipSpaceAndComments(text, i);
    if (at(']'))
      return true;
    if (!at(','))
      return false;
    i = skipSpaceAndComments(text, i + 1);
  }
}

std::optional<size_t> mlir::ssm::findMalformedDimensionList(llvm::StringRef text) {
  auto isIdentifier = [](char c) {
    return llvm::isAlnum(c) || c == '_' || c == '.' || c == '$' || c == '-';
  };
  // The last character of the previous token (comments are not tokens).
  char previous = '\0';
  for (size_t i = skipSpaceAndComments(text, 0); i < text.size();
       i = skipSpaceAndComments(text, i + 1)) {
    if (text[i] == '"') {
      skipLiteralOrComment(text, i);
      previous = '"';
      continue;
    }
    // A word, with the sigil of a value, symbol, block, attribute or type
    // alias name if it has one (`%dimensions` is no keyword).
    size_t end = i;
    if (llvm::StringRef("%@^#!").contains(text[i]))
      ++end;
    while (end < text.size() && isIdentifier(text[end]))
      ++end;
    if (end == i) {
      previous = text[i];
      continue;
    }
    llvm::StringRef word = text.slice(i, end);
    size_t equals = skipSpaceAndComments(text, end);
    // In an attribute dictionary (after '{' or ','), MLIR's attribute
    // parser reads the value and fails cleanly; elsewhere it is the custom
    // syntax of the linalg ops, which must read a list of integers.
    if ((word == "permutation" || word == "dimensions") && previous != '{' && previous != ',' &&
        equals < text.size() && text[equals] == '=' && !isIntegerList(text, equals + 1))
      return i;
    i = end - 1;
    previous = text[i];
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
    llvm::errs() << "expected a list of 64-bit integers such as [1, 0] after '"
                 << text.drop_front(at).take_while([](char c) { return llvm::isAlpha(c); })
                 << " ='; refused before MLIR's linalg parsers, which crash on anything else\n";
  return false;
}
