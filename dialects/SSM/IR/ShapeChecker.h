//===- ShapeChecker.h - Named-dimension shape verification ------*- C++ -*-===//
//
// Part of ssmc. SSM ops relate a dozen operands through a handful of named
// dimensions (B, L, D, N, H, P, G ...). Writing each relation by hand gives
// inconsistent messages; instead every verifier lists each operand with the
// names of its dimensions and this helper binds names to sizes, reporting the
// first disagreement with both sides named. Dynamic sizes match anything:
// those relations become run-time preconditions.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECTS_SSM_IR_SHAPECHECKER_H
#define SSM_DIALECTS_SSM_IR_SHAPECHECKER_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringMap.h"

#include <string>

namespace mlir::ssm {

/// Binds dimension names to static sizes across the operands and results of
/// one op, emitting an op error on the first inconsistency.
class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op) : op(op) {}

  /// Checks that `value` (skipped when null: an absent optional operand) is a
  /// ranked tensor whose dimensions are named `dims`. `what` names it in
  /// messages, e.g. "operand 'delta'".
  LogicalResult check(const Twine &what, Value value, ArrayRef<StringRef> dims);

  /// Binds `dim` to `size` as if read from dimension `index` of `what`.
  LogicalResult bind(StringRef dim, int64_t size, const Twine &what,
                     unsigned index);

  /// The static size bound to `dim`, or ShapedType::kDynamic if unknown.
  int64_t size(StringRef dim) const;

  /// Checks that the size of `dim` is a positive multiple of that of `by`
  /// when both are known.
  LogicalResult checkMultiple(StringRef dim, StringRef by);

  /// Emits an error on the op (for relations this helper does not express).
  InFlightDiagnostic emitError() { return op->emitOpError(); }

private:
  struct Binding {
    int64_t size;
    std::string from;
    unsigned index;
  };
  Operation *op;
  llvm::StringMap<Binding> bound;
};

} // namespace mlir::ssm

#endif // SSM_DIALECTS_SSM_IR_SHAPECHECKER_H
