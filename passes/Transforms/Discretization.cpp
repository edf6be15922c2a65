//===- Discretization.cpp - Abar and Bbar of one element ------------------===//
//
// Part of ssmc. See include/ssm/Transforms/Discretization.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Discretization.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::ssm;

std::pair<Value, Value> mlir::ssm::buildDiscretization(OpBuilder &b,
                                                       Location loc,
                                                       Discretization method,
                                                       Value A, Value delta) {
  Type t = A.getType();
  Value x = arith::MulFOp::create(b, loc, delta, A);
  Value one = buildFloat(b, loc, t, 1.0);
  switch (method) {
  case Discretization::zoh: {
    // (exp(x) - 1) / x, with its limit 1 at x = 0.
    Value ratio = arith::DivFOp::create(b, loc, math::ExpM1Op::create(b, loc, x), x);
    Value isZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x,
                                         buildFloat(b, loc, t, 0.0));
    ratio = arith::SelectOp::create(b, loc, isZero, one, ratio);
    return {math::ExpOp::create(b, loc, x),
            arith::MulFOp::create(b, loc, ratio, delta)};
  }
  case Discretization::bilinear: {
    Value half = arith::MulFOp::create(b, loc, x, buildFloat(b, loc, t, 0.5));
    Value denom = arith::SubFOp::create(b, loc, one, half);
    return {arith::DivFOp::create(b, loc, arith::AddFOp::create(b, loc, one, half),
                                  denom),
            arith::DivFOp::create(b, loc, delta, denom)};
  }
  case Discretization::euler:
    return {arith::AddFOp::create(b, loc, one, x), delta};
  case Discretization::mamba:
    return {math::ExpOp::create(b, loc, x), delta};
  }
  llvm_unreachable("unknown discretization");
}
