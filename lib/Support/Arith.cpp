//===- Arith.cpp - Scalar arithmetic builders shared by lowerings ---------===//
//
// Part of ssmc. See include/ssm/Support/Arith.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;

Value ssm::convertFloat(OpBuilder &b, Location loc, Value value, Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, to, value);
  return arith::TruncFOp::create(b, loc, to, value);
}

Value ssm::buildFloat(OpBuilder &b, Location loc, Type type, double value) {
  if (auto vector = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, loc, vector,
        DenseElementsAttr::get(vector, b.getFloatAttr(vector.getElementType(), value)));
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

Value ssm::buildSoftplus(OpBuilder &b, Location loc, Value x) {
  Value pos = arith::MaximumFOp::create(b, loc, x,
                                        buildFloat(b, loc, x.getType(), 0.0));
  Value negAbs = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x));
  Value tail = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
  return arith::AddFOp::create(b, loc, pos, tail);
}

Value ssm::buildSilu(OpBuilder &b, Location loc, Value x) {
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  Value denom = arith::AddFOp::create(b, loc, buildFloat(b, loc, x.getType(), 1.0), e);
  return arith::DivFOp::create(b, loc, x, denom);
}

Value ssm::buildStepSize(OpBuilder &b, Location loc, Value dt, Value bias,
                        bool softplus, std::optional<ArrayRef<double>> limit) {
  Value delta = bias ? arith::AddFOp::create(b, loc, dt, bias) : dt;
  if (softplus)
    delta = buildSoftplus(b, loc, delta);
  if (limit) {
    Type t = delta.getType();
    if (!std::isinf((*limit)[0]))
      delta = arith::MaximumFOp::create(b, loc, delta,
                                        buildFloat(b, loc, t, (*limit)[0]));
    if (!std::isinf((*limit)[1]))
      delta = arith::MinimumFOp::create(b, loc, delta,
                                        buildFloat(b, loc, t, (*limit)[1]));
  }
  return delta;
}

Value ssm::buildReductionFMA(OpBuilder &b, Location loc, Value acc, Value lhs,
                            Value rhs) {
  auto flags = arith::FastMathFlagsAttr::get(
      b.getContext(), arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
  Value product = arith::MulFOp::create(b, loc, lhs, rhs, flags);
  return arith::AddFOp::create(b, loc, acc, product, flags);
}

Value ssm::buildFMA(OpBuilder &b, Location loc, Value acc, Value lhs,
                    Value rhs) {
  auto flags = arith::FastMathFlagsAttr::get(b.getContext(),
                                             arith::FastMathFlags::contract);
  Value product = arith::MulFOp::create(b, loc, lhs, rhs, flags);
  return arith::AddFOp::create(b, loc, acc, product, flags);
}

Type ssm::computeTypeFor(MLIRContext *context, TypeRange types) {
  for (Type t : types)
    if (getElementTypeOrSelf(t).isF64())
      return Float64Type::get(context);
  return Float32Type::get(context);
}
