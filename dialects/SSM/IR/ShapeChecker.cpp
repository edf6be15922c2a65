//===- ShapeChecker.cpp - Named-dimension shape verification --------------===//
//
// Part of ssmc. See ShapeChecker.h for why this exists.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/ShapeChecker.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::ssm;

static std::string spell(ArrayRef<StringRef> dims) {
  return "[" + llvm::join(dims, ", ") + "]";
}

LogicalResult ShapeChecker::check(const Twine &what, Value value,
                                  ArrayRef<StringRef> dims) {
  if (!value)
    return success();
  // ODS type constraints have already admitted only ranked tensors.
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != static_cast<int64_t>(dims.size()))
    return op->emitOpError()
           << what << " must have rank " << dims.size() << " " << spell(dims)
           << ", got " << type;
  for (auto [index, dim] : llvm::enumerate(dims)) {
    if (observer)
      observer->onDim(dim, what.str(), value, index);
    if (failed(bind(dim, type.getDimSize(index), what, index)))
      return failure();
  }
  return success();
}

LogicalResult ShapeChecker::bind(StringRef dim, int64_t size, const Twine &what,
                                 unsigned index) {
  if (ShapedType::isDynamic(size))
    return success();
  auto it = bound.find(dim);
  if (it == bound.end()) {
    bound[dim] = Binding{size, what.str(), index};
    return success();
  }
  const Binding &first = it->second;
  if (first.size == size)
    return success();
  return op->emitOpError() << what << " dimension " << index << " (" << dim
                           << ") is " << size << ", but " << first.from
                           << " dimension " << first.index << " gives " << dim
                           << " = " << first.size;
}

int64_t ShapeChecker::size(StringRef dim) const {
  auto it = bound.find(dim);
  return it == bound.end() ? ShapedType::kDynamic : it->second.size;
}

LogicalResult ShapeChecker::checkMultiple(StringRef dim, StringRef by) {
  if (observer)
    observer->onMultiple(dim, by);
  int64_t n = size(dim), d = size(by);
  if (!ShapedType::isDynamic(d) && d <= 0)
    return op->emitOpError() << by << " (from " << bound[by].from
                             << ") must be positive, got " << d;
  if (ShapedType::isDynamic(n) || ShapedType::isDynamic(d) || n % d == 0)
    return success();
  return op->emitOpError() << dim << " = " << n << " (from " << bound[dim].from
                           << ") must be a multiple of " << by << " = " << d
                           << " (from " << bound[by].from << ")";
}
