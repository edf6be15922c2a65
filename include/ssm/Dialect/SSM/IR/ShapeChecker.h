//===- ShapeChecker.h - Named-dimension shape verification ------*- C++ -*-===//
//
// Part of ssmc. SSM ops relate a dozen operands through a handful of named
// dimensions (B, L, D, N, H, P, G ...). Writing each relation by hand gives
// inconsistent messages; instead every verifier lists each operand with the
// names of its dimensions and this helper binds names to sizes, reporting the
// first disagreement with both sides named. Dynamic sizes match anything:
// those relations become run-time checks (ssm-insert-shape-checks), which
// observe the same checker so that both sides share one list of relations.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SHAPECHECKER_H
#define SSM_DIALECT_SSM_IR_SHAPECHECKER_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringMap.h"

#include <string>

namespace mlir::ssm {

/// Binds dimension names to static sizes across the operands and results of
/// one op, emitting an op error on the first inconsistency.
class ShapeChecker {
public:
  /// Told of every dimension the checker reads and every divisibility it
  /// checks, static or not.
  class Observer {
  public:
    virtual ~Observer() = default;
    /// Dimension `index` of `value` (called `what`) is named `dim`.
    virtual void onDim(StringRef dim, const std::string &what, Value value,
                       unsigned index) = 0;
    /// The size of `dim` must be a positive multiple of that of `by`.
    virtual void onMultiple(StringRef dim, StringRef by) = 0;
  };

  explicit ShapeChecker(Operation *op, Observer *observer = nullptr)
      : op(op), observer(observer) {}

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
  Observer *observer;
  llvm::StringMap<Binding> bound;
};

/// The shape relations of each op with named dimensions: the body of its
/// verifier, run against `shapes`.
LogicalResult verifyShapes(ScanOp op, ShapeChecker &shapes);
LogicalResult verifyShapes(SelectiveScanOp op, ShapeChecker &shapes);
LogicalResult verifyShapes(SSDOp op, ShapeChecker &shapes);
LogicalResult verifyShapes(CausalConv1dOp op, ShapeChecker &shapes);
LogicalResult verifyShapes(StateUpdateOp op, ShapeChecker &shapes);

} // namespace mlir::ssm

#endif // SSM_DIALECT_SSM_IR_SHAPECHECKER_H
