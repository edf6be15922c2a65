//===- CoefficientEmitter.cpp - ssm.recurrence's region in loops ----------===//
//
// Part of ssmc. See include/ssm/Conversion/CoefficientEmitter.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/CoefficientEmitter.h"
#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ssm;

CoefficientEmitter::CoefficientEmitter(RecurrenceOp op, ArrayRef<Value> extents,
                                       IRMapping sources)
    : op(op), extents(extents), sources(std::move(sources)),
      ct(op.getComputeType()), deps(op.computeDependences()) {}

Value CoefficientEmitter::read(OpBuilder &b, Location loc, Value operand,
                               ValueRange indices) const {
  Value source = sources.lookupOrDefault(operand);
  if (isa<MemRefType>(source.getType()))
    return memref::LoadOp::create(b, loc, source, indices);
  return tensor::ExtractOp::create(b, loc, source, indices);
}

std::pair<Value, Value>
CoefficientEmitter::boundaryBefore(OpBuilder &b, Location loc, Value i, Value ti,
                                   Value begin, Value row) const {
  Value notFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, i, begin);
  Value segments = op.getReset() ? op.getReset() : op.getSeqIdx();
  if (!segments)
    return {notFirst, Value()};
  bool reverse = op.getDirection() == Direction::reverse;
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  // Going forward the boundary before step ti is (ti - 1, ti); backward it
  // is (ti, ti + 1). The first step processed has none; clamping its
  // indices to 0 keeps the reads in bounds.
  Value after = reverse ? arith::AddIOp::create(b, loc, ti, c1).getResult() : ti;
  Value safeAfter = arith::SelectOp::create(b, loc, notFirst, after, c0);
  if (op.getReset())
    return {notFirst, read(b, loc, segments, ValueRange{row, safeAfter})};
  Value before = arith::SelectOp::create(
      b, loc, notFirst, arith::SubIOp::create(b, loc, after, c1), c0);
  return {notFirst, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                          read(b, loc, segments, ValueRange{row, safeAfter}),
                                          read(b, loc, segments, ValueRange{row, before}))};
}

Value CoefficientEmitter::cutBefore(OpBuilder &b, Location loc, Value i, Value ti,
                                    Value begin, Value row) const {
  if (!op.getReset() && !op.getSeqIdx())
    return Value();
  auto [notFirst, cut] = boundaryBefore(b, loc, i, ti, begin, row);
  return arith::AndIOp::create(b, loc, notFirst, cut);
}

Value CoefficientEmitter::hasPreviousStep(OpBuilder &b, Location loc, Value i,
                                          Value ti, Value begin, Value row) const {
  if (!op.getPrevious())
    return Value();
  auto [notFirst, cut] = boundaryBefore(b, loc, i, ti, begin, row);
  if (!cut)
    return notFirst;
  Value whole = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
  return arith::AndIOp::create(b, loc, notFirst,
                               arith::XOrIOp::create(b, loc, cut, whole));
}

Value CoefficientEmitter::readPrevious(OpBuilder &b, Location loc, BlockArgument arg,
                                       const Scope &scope) const {
  assert(scope.hasPrevious && scope.index[RecurrenceOp::kT] &&
         "a form reading a previous-step input binds Scope::hasPrevious");
  Value t = scope.index[RecurrenceOp::kT];
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value previous = op.getDirection() == Direction::reverse
                       ? arith::AddIOp::create(b, loc, t, c1).getResult()
                       : arith::SubIOp::create(b, loc, t, c1).getResult();
  // The index stays in bounds where there is no previous step.
  Scope at(&scope);
  at.index[RecurrenceOp::kT] = arith::SelectOp::create(b, loc, scope.hasPrevious, previous, t);
  OpOperand &input = op.getInputsMutable()[arg.getArgNumber()];
  Value element =
      convertFloat(b, loc, read(b, loc, input.get(), indicesOf(b, loc, input, at)), ct);
  return arith::SelectOp::create(b, loc, scope.hasPrevious, element,
                                 buildFloat(b, loc, ct, 0.0));
}

Value CoefficientEmitter::emitInput(OpBuilder &b, Location loc, Scope &scope) {
  YieldOp yield = op.getYield();
  Value sum;
  for (unsigned i = 0; i < op.getNumTerms(); ++i) {
    auto [value, key] = yield.getTerm(i);
    Value term = arith::MulFOp::create(b, loc, emit(b, loc, value, scope),
                                       emit(b, loc, key, scope));
    sum = sum ? arith::AddFOp::create(b, loc, sum, term).getResult() : term;
  }
  return sum;
}

void CoefficientEmitter::planLevels(ArrayRef<unsigned> consumedAt,
                                    unsigned levels) {
  levelMask = levels;
  auto level = [&](Value v) { return deps.lookup(v) & levelMask; };
  Block &block = op.getBody().front();
  for (Operation &inner : block.without_terminator())
    for (Value operand : inner.getOperands())
      if (level(operand) != level(inner.getResult(0)))
        planned.insert(operand);
  YieldOp yield = op.getYield();
  for (auto [position, value] : llvm::enumerate(yield.getValues()))
    if (level(value) != consumedAt[yield.getRoleOf(position)])
      planned.insert(value);
}

SmallVector<Value> CoefficientEmitter::plannedAt(unsigned level) const {
  SmallVector<Value> values;
  for (Value v : planned)
    if ((deps.lookup(v) & levelMask) == level)
      values.push_back(v);
  return values;
}

SmallVector<Value> CoefficientEmitter::indicesOf(OpBuilder &b, Location loc,
                                                 OpOperand &operand,
                                                 const Scope &scope,
                                                 Value row) const {
  SmallVector<Value> indices;
  for (auto &group : op.getLayout(operand)) {
    Value index;
    for (unsigned dim : group) {
      Value at = dim == RecurrenceOp::kB && row ? row : scope.index[dim];
      if (!at) // a dimension of extent 1 no loop binds
        at = arith::ConstantIndexOp::create(b, loc, 0);
      index = index ? arith::AddIOp::create(
                          b, loc, arith::MulIOp::create(b, loc, index, extents[dim]), at)
                          .getResult()
                    : at;
    }
    indices.push_back(index);
  }
  return indices;
}

SmallVector<Value> CoefficientEmitter::scratchIndices(Value v, const Scope &scope,
                                                     bool perStep) const {
  SmallVector<Value> at;
  if (perStep)
    at.push_back(scope.step);
  if (deps.lookup(v) & bit(RecurrenceOp::kN))
    at.push_back(scope.index[RecurrenceOp::kN]);
  if (deps.lookup(v) & bit(RecurrenceOp::kP))
    at.push_back(scope.lane);
  return at;
}

void CoefficientEmitter::store(OpBuilder &b, Location loc, Value v, Scope &scope,
                               Value scratch, bool perStep) {
  memref::StoreOp::create(b, loc, emit(b, loc, v, scope), scratch,
                          scratchIndices(v, scope, perStep));
}

Value CoefficientEmitter::emit(OpBuilder &b, Location loc, Value v, Scope &scope) {
  for (const Scope *s = &scope; s; s = s->parent)
    if (Value found = s->values.lookupOrNull(v))
      return found;
  if (auto [scratch, perStep] = scratches.lookup(v); scratch) {
    Value loaded =
        memref::LoadOp::create(b, loc, scratch, scratchIndices(v, scope, perStep));
    scope.values.map(v, loaded);
    return loaded;
  }
  Value result;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    OpOperand &input = op.getInputsMutable()[arg.getArgNumber()];
    result = op.readsPrevious(arg.getArgNumber())
                 ? readPrevious(b, loc, arg, scope)
                 : convertFloat(b, loc,
                                read(b, loc, input.get(), indicesOf(b, loc, input, scope)),
                                ct);
  } else {
    Operation *def = v.getDefiningOp();
    IRMapping mapping;
    for (Value operand : def->getOperands())
      mapping.map(operand, emit(b, loc, operand, scope));
    Operation *clone = b.clone(*def, mapping);
    for (auto [old, computed] : llvm::zip(def->getResults(), clone->getResults()))
      scope.values.map(old, computed);
    return scope.values.lookup(v);
  }
  scope.values.map(v, result);
  return result;
}

namespace {
/// What is known of a region value when a candidate is zero.
enum class Known { Zero, One, True, Finite, Any };
} // namespace

/// `inner`'s result from what is known of its operands: exact where zero
/// and one decide it (0 · finite = 0, exp 0 = 1, …), else finite only for
/// what passes a finite value through, else anything (an overflow, 0 / 0).
static Known propagate(Operation &inner, function_ref<Known(Value)> known) {
  auto at = [&](unsigned i) { return known(inner.getOperand(i)); };
  auto exact = [](Known k) { return k == Known::Zero || k == Known::One; };
  return TypeSwitch<Operation *, Known>(&inner)
      .Case([&](arith::MulFOp) {
        Known x = at(0), y = at(1);
        if ((x == Known::Zero && y != Known::Any) || (y == Known::Zero && x != Known::Any))
          return Known::Zero;
        if (x == Known::One)
          return y;
        return y == Known::One ? x : Known::Any;
      })
      .Case([&](arith::DivFOp) { return at(1) == Known::One ? at(0) : Known::Any; })
      .Case([&](arith::AddFOp) {
        if (at(0) == Known::Zero)
          return at(1);
        return at(1) == Known::Zero ? at(0) : Known::Any;
      })
      .Case([&](arith::SubFOp) { return at(1) == Known::Zero ? at(0) : Known::Any; })
      .Case<arith::NegFOp, math::ExpM1Op, math::Log1pOp>(
          [&](Operation *) { return at(0) == Known::Zero ? Known::Zero : Known::Any; })
      .Case<arith::ExtFOp, arith::TruncFOp>([&](Operation *) {
        return exact(at(0)) ? at(0) : Known::Any;
      })
      .Case([&](math::ExpOp) { return at(0) == Known::Zero ? Known::One : Known::Any; })
      .Case([&](math::LogOp) { return at(0) == Known::One ? Known::Zero : Known::Any; })
      .Case<arith::MaximumFOp, arith::MinimumFOp>([&](Operation *) {
        return at(0) == at(1) && exact(at(0)) ? at(0) : Known::Any;
      })
      .Case([&](arith::CmpFOp cmp) {
        bool equal = cmp.getPredicate() == arith::CmpFPredicate::OEQ ||
                     cmp.getPredicate() == arith::CmpFPredicate::UEQ;
        return equal && at(0) == at(1) && exact(at(0)) ? Known::True : Known::Any;
      })
      .Case([&](arith::SelectOp) {
        if (at(0) == Known::True)
          return at(1);
        return at(1) == at(2) && exact(at(1)) ? at(1) : Known::Any;
      })
      .Default([&](Operation *other) {
        if (matchPattern(other->getResult(0), m_AnyZeroFloat()))
          return Known::Zero;
        if (matchPattern(other->getResult(0), m_OneFloat()))
          return Known::One;
        return other->hasTrait<OpTrait::ConstantLike>() ? Known::Finite : Known::Any;
      });
}

SmallVector<std::pair<Value, double>>
CoefficientEmitter::identityAtZero(ArrayRef<Value> candidates) const {
  Block &block = op.getBody().front();
  YieldOp yield = op.getYield();
  for (Value candidate : candidates) {
    llvm::DenseMap<Value, Known> known{{candidate, Known::Zero}};
    llvm::DenseSet<Value> fromCandidate{candidate};
    auto lookup = [&](Value v) {
      if (auto it = known.find(v); it != known.end())
        return it->second;
      // Inputs are read; other values come from outside the region.
      return isa<BlockArgument>(v) ? Known::Finite : Known::Any;
    };
    for (Operation &inner : block.without_terminator()) {
      if (inner.getNumResults() != 1 || inner.getResult(0) == candidate)
        continue;
      known[inner.getResult(0)] = propagate(inner, lookup);
      if (llvm::any_of(inner.getOperands(),
                       [&](Value v) { return fromCandidate.contains(v); }))
        fromCandidate.insert(inner.getResult(0));
    }
    Known decay = lookup(yield.getRole(YieldOp::kDecay));
    bool noInput = true;
    for (unsigned i = 0; i < op.getNumTerms(); ++i) {
      auto [value, key] = yield.getTerm(i);
      noInput &= lookup(value) == Known::Zero || lookup(key) == Known::Zero;
    }
    if (!noInput || decay != (op.getLogDecay() ? Known::Zero : Known::One))
      continue;
    // The form holds the other candidates as computed from the true
    // candidate: those computed from it are set too, to constants only.
    SmallVector<std::pair<Value, double>> settings{{candidate, 0.0}};
    bool constant = true;
    for (Value other : candidates) {
      if (other == candidate || !fromCandidate.contains(other))
        continue;
      Known k = lookup(other);
      constant &= k == Known::Zero || k == Known::One;
      settings.push_back({other, k == Known::One ? 1.0 : 0.0});
    }
    if (constant)
      return settings;
  }
  return {};
}
