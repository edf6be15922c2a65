//===- SSMOps.cpp - Operations of the ssm dialect -------------------------===//
//
// Part of ssmc. Verifiers, custom assembly pieces and canonicalizations of
// the ssm ops. Each verifier lists every operand with its named dimensions
// (ShapeChecker) in the order the op description gives them, so the first
// operand that disagrees is the one reported.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Dialect/SSM/IR/ShapeChecker.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::ssm;

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

static Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Checks that `value` stores the same element type as `ref` (when both are
/// present: either may be an absent optional operand or result).
static LogicalResult checkSameElementType(Operation *op, StringRef what,
                                          Value value, StringRef refName,
                                          Value ref) {
  if (!value || !ref || elementTypeOf(value) == elementTypeOf(ref))
    return success();
  return op->emitOpError() << what << " element type " << elementTypeOf(value)
                           << " must match " << refName << " element type "
                           << elementTypeOf(ref);
}

/// Checks an operand that is either time-varying with `varying` dimensions or
/// time-invariant with `fixed` ones, picking the form by rank.
static LogicalResult checkEitherForm(ShapeChecker &shapes, Operation *op,
                                     StringRef name, Value value,
                                     ArrayRef<StringRef> varying,
                                     ArrayRef<StringRef> fixed) {
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  std::string what = ("operand '" + name + "'").str();
  if (rank == static_cast<int64_t>(varying.size()))
    return shapes.check(what, value, varying);
  if (rank == static_cast<int64_t>(fixed.size()))
    return shapes.check(what, value, fixed);
  return op->emitOpError() << what << " must have rank " << varying.size()
                           << " [" << llvm::join(varying, ", ") << "] or "
                           << fixed.size() << " [" << llvm::join(fixed, ", ")
                           << "], got " << value.getType();
}

/// Checks a `dt_limit` attribute: two numbers, lo <= hi, neither NaN.
static LogicalResult checkDtLimit(Operation *op,
                                  std::optional<ArrayRef<double>> limit) {
  if (!limit)
    return success();
  if (limit->size() != 2)
    return op->emitOpError() << "dt_limit must have 2 elements [lo, hi], got "
                             << limit->size();
  double lo = (*limit)[0], hi = (*limit)[1];
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    return op->emitOpError() << "dt_limit [" << lo << ", " << hi
                             << "] must satisfy lo <= hi";
  return success();
}

/// Parses one bound of `dt_limit`: a float, `inf` or `-inf`.
static ParseResult parseBound(OpAsmParser &parser, double &bound) {
  bool negative = succeeded(parser.parseOptionalMinus());
  if (succeeded(parser.parseOptionalKeyword("inf")))
    bound = std::numeric_limits<double>::infinity();
  else if (parser.parseFloat(bound))
    return failure();
  if (negative)
    bound = -bound;
  return success();
}

/// `dt_limit [lo, hi]`, with infinite bounds spelled `inf` / `-inf` (the
/// generic dense-array syntax cannot represent them).
static ParseResult parseDtLimit(OpAsmParser &parser, DenseF64ArrayAttr &limit) {
  SmallVector<double, 2> bounds;
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Square, [&] {
        return parseBound(parser, bounds.emplace_back());
      }))
    return failure();
  limit = DenseF64ArrayAttr::get(parser.getContext(), bounds);
  return success();
}

static void printDtLimit(OpAsmPrinter &printer, Operation *,
                         DenseF64ArrayAttr limit) {
  printer << "[";
  llvm::interleaveComma(limit.asArrayRef(), printer, [&](double bound) {
    if (std::isinf(bound))
      printer << (bound < 0 ? "-inf" : "inf");
    else
      printer << bound;
  });
  printer << "]";
}

namespace {
/// Drops the optional `final_state` result when nothing uses it, so later
/// passes need not compute or store the state.
template <typename OpTy>
struct DropUnusedFinalState : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Value finalState = op.getFinalState();
    if (!finalState || !finalState.use_empty())
      return failure();
    OperationState state(op.getLoc(), op->getName());
    state.addOperands(op->getOperands());
    state.addTypes(op->getResult(0).getType());
    state.addAttributes(llvm::to_vector(op->getDiscardableAttrs()));
    state.propertiesAttr = op->getPropertiesAsAttribute();
    Operation *replacement = rewriter.create(state);
    rewriter.replaceOp(op, {replacement->getResult(0), Value()});
    return success();
  }
};

/// The initial-state operand of each op that has one.
static MutableOperandRange initOperand(ScanOp op) { return op.getInitMutable(); }
static MutableOperandRange initOperand(SelectiveScanOp op) {
  return op.getInitMutable();
}
static MutableOperandRange initOperand(SSDOp op) { return op.getInitMutable(); }
static MutableOperandRange initOperand(CausalConv1dOp op) {
  return op.getInitStateMutable();
}

/// Drops an initial state that is a constant zero: an absent one means zero.
template <typename OpTy>
struct DropZeroInit : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    MutableOperandRange init = initOperand(op);
    if (init.empty() || !matchPattern(init[0].get(), m_AnyZeroFloat()))
      return failure();
    rewriter.modifyOpInPlace(op, [&] { init.clear(); });
    return success();
  }
};

/// Drops a reset mask that is constant false: it cuts nothing.
struct DropFalseReset : OpRewritePattern<ScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScanOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getReset() || !matchPattern(op.getReset(), m_Zero()))
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.getResetMutable().clear(); });
    return success();
  }
};

/// Removes a `dt_limit` that cannot change any value: [-inf, +inf], or
/// [lo <= 0, +inf] after softplus (whose result is positive).
template <typename OpTy>
struct DropTrivialDtLimit : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    std::optional<ArrayRef<double>> limit = op.getDtLimit();
    if (!limit || limit->size() != 2 || !std::isinf((*limit)[1]) ||
        (*limit)[1] < 0)
      return failure();
    double lo = (*limit)[0];
    bool trivial = (std::isinf(lo) && lo < 0) || (op.getDtSoftplus() && lo <= 0);
    if (!trivial)
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.removeDtLimitAttr(); });
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

LogicalResult ssm::verifyShapes(ScanOp op, ShapeChecker &shapes) {
  if (failed(shapes.check("operand 'x'", op.getX(), {"B", "L", "D"})))
    return failure();
  for (auto [name, value] : {std::pair<StringRef, Value>{"abar", op.getAbar()},
                             {"bbar", op.getBbar()},
                             {"c", op.getC()}})
    if (failed(checkEitherForm(shapes, op, name, value,
                               {"B", "L", "D", "N"}, {"D", "N"})))
      return failure();
  if (failed(shapes.check("operand 'd'", op.getD(), {"D"})) ||
      failed(shapes.check("operand 'init'", op.getInit(), {"B", "D", "N"})) ||
      failed(shapes.check("operand 'reset'", op.getReset(), {"B", "L"})) ||
      failed(shapes.check("result 'y'", op.getY(), {"B", "L", "D"})) ||
      failed(shapes.check("result 'final_state'", op.getFinalState(),
                          {"B", "D", "N"})))
    return failure();
  if (failed(checkSameElementType(op, "result 'y'", op.getY(), "operand 'x'",
                                  op.getX())))
    return failure();
  return checkSameElementType(op, "result 'final_state'", op.getFinalState(),
                              "operand 'init'", op.getInit());
}

LogicalResult ScanOp::verify() {
  ShapeChecker shapes(*this);
  return verifyShapes(*this, shapes);
}

void ScanOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<DropUnusedFinalState<ScanOp>, DropZeroInit<ScanOp>, DropFalseReset>(
      context);
}

//===----------------------------------------------------------------------===//
// SelectiveScanOp
//===----------------------------------------------------------------------===//

LogicalResult ssm::verifyShapes(SelectiveScanOp op, ShapeChecker &shapes) {
  if (failed(shapes.check("operand 'u'", op.getU(), {"B", "D", "L"})) ||
      failed(shapes.check("operand 'delta'", op.getDelta(), {"B", "D", "L"})) ||
      failed(shapes.check("operand 'A'", op.getA(), {"D", "N"})) ||
      failed(checkEitherForm(shapes, op, "B", op.getB(), {"B", "G", "N", "L"},
                             {"D", "N"})) ||
      failed(checkEitherForm(shapes, op, "C", op.getC(), {"B", "G", "N", "L"},
                             {"D", "N"})) ||
      failed(shapes.check("operand 'D'", op.getD(), {"D"})) ||
      failed(shapes.check("operand 'z'", op.getZ(), {"B", "D", "L"})) ||
      failed(shapes.check("operand 'delta_bias'", op.getDeltaBias(), {"D"})) ||
      failed(shapes.check("operand 'init'", op.getInit(), {"B", "D", "N"})) ||
      failed(shapes.check("result 'y'", op.getY(), {"B", "D", "L"})) ||
      failed(shapes.check("result 'final_state'", op.getFinalState(),
                          {"B", "D", "N"})) ||
      failed(shapes.checkMultiple("D", "G")))
    return failure();
  if (failed(checkSameElementType(op, "operand 'delta'", op.getDelta(),
                                  "operand 'u'", op.getU())) ||
      failed(checkSameElementType(op, "operand 'z'", op.getZ(), "operand 'u'",
                                  op.getU())) ||
      failed(checkSameElementType(op, "result 'y'", op.getY(), "operand 'u'",
                                  op.getU())))
    return failure();
  return checkSameElementType(op, "result 'final_state'", op.getFinalState(),
                              "operand 'init'", op.getInit());
}

LogicalResult SelectiveScanOp::verify() {
  ShapeChecker shapes(*this);
  return verifyShapes(*this, shapes);
}

namespace {
/// `method mamba` is the default: spell it by leaving the attribute out.
struct DropDefaultMethod : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMethod() != Discretization::mamba)
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.removeMethodAttr(); });
    return success();
  }
};
} // namespace

void SelectiveScanOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *context) {
  results.add<DropUnusedFinalState<SelectiveScanOp>,
              DropZeroInit<SelectiveScanOp>, DropDefaultMethod>(context);
}

//===----------------------------------------------------------------------===//
// SSDOp
//===----------------------------------------------------------------------===//

LogicalResult ssm::verifyShapes(SSDOp op, ShapeChecker &shapes) {
  if (op.getSeqIdx() && op.getCuSeqlens())
    return op.emitOpError("takes at most one of 'seq_idx' and 'cu_seqlens'");
  // getChunkSize() is unsigned: read the signed value to refuse negative
  // sizes.
  if (int64_t chunk = op.getChunkSizeAttr().getInt(); chunk <= 0)
    return op.emitOpError() << "chunk_size must be positive, got " << chunk;
  if (failed(checkDtLimit(op, op.getDtLimit())))
    return failure();
  if (failed(shapes.check("operand 'x'", op.getX(), {"B", "L", "H", "P"})) ||
      failed(shapes.check("operand 'dt'", op.getDt(), {"B", "L", "H"})) ||
      failed(shapes.check("operand 'A'", op.getA(), {"H"})) ||
      failed(shapes.check("operand 'B'", op.getB(), {"B", "L", "G", "N"})) ||
      failed(shapes.check("operand 'C'", op.getC(), {"B", "L", "G", "N"})))
    return failure();
  if (op.getD() &&
      failed(checkEitherForm(shapes, op, "D", op.getD(), {"H"}, {"H", "P"})))
    return failure();
  if (failed(shapes.check("operand 'z'", op.getZ(), {"B", "L", "H", "P"})) ||
      failed(shapes.check("operand 'dt_bias'", op.getDtBias(), {"H"})) ||
      failed(shapes.check("operand 'seq_idx'", op.getSeqIdx(), {"B", "L"})) ||
      failed(shapes.check("result 'y'", op.getY(), {"B", "L", "H", "P"})) ||
      failed(shapes.checkMultiple("H", "G")))
    return failure();

  // With cu_seqlens the states are per sequence: [S, H, P, N], S + 1 being
  // the length of cu_seqlens, and the packed sequences form one batch row.
  StringRef stateRows = "B";
  if (Value cu = op.getCuSeqlens()) {
    if (failed(shapes.check("operand 'cu_seqlens'", cu, {"S+1"})))
      return failure();
    int64_t entries = shapes.size("S+1");
    if (entries == 0)
      return op.emitOpError("operand 'cu_seqlens' must have at least 1 element");
    if (!ShapedType::isDynamic(entries) &&
        failed(shapes.bind("S", entries - 1, "operand 'cu_seqlens' (length - 1)",
                           0)))
      return failure();
    int64_t batch = shapes.size("B");
    if (!ShapedType::isDynamic(batch) && batch != 1)
      return op.emitOpError() << "with 'cu_seqlens' the batch size B must be 1 "
                              "(sequences are packed along L), got "
                           << batch;
    stateRows = "S";
  }
  if (failed(shapes.check("operand 'init'", op.getInit(),
                          {stateRows, "H", "P", "N"})) ||
      failed(shapes.check("result 'final_state'", op.getFinalState(),
                          {stateRows, "H", "P", "N"})))
    return failure();

  if (failed(checkSameElementType(op, "operand 'z'", op.getZ(), "operand 'x'",
                                  op.getX())) ||
      failed(checkSameElementType(op, "result 'y'", op.getY(), "operand 'x'",
                                  op.getX())))
    return failure();
  return checkSameElementType(op, "result 'final_state'", op.getFinalState(),
                              "operand 'init'", op.getInit());
}

LogicalResult SSDOp::verify() {
  ShapeChecker shapes(*this);
  return verifyShapes(*this, shapes);
}

void SSDOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                        MLIRContext *context) {
  results.add<DropUnusedFinalState<SSDOp>, DropZeroInit<SSDOp>,
              DropTrivialDtLimit<SSDOp>>(context);
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

/// Prints `silu` after the operands, and nothing for the default `none`.
static ParseResult parseActivation(OpAsmParser &parser,
                                   ActivationAttr &activation) {
  if (succeeded(parser.parseOptionalKeyword("silu")))
    activation = ActivationAttr::get(parser.getContext(), Activation::silu);
  return success();
}

static void printActivation(OpAsmPrinter &printer, Operation *,
                            ActivationAttr activation) {
  if (activation && activation.getValue() != Activation::none)
    printer << stringifyActivation(activation.getValue());
}

LogicalResult ssm::verifyShapes(CausalConv1dOp op, ShapeChecker &shapes) {
  if (failed(shapes.check("operand 'x'", op.getX(), {"B", "C", "L"})) ||
      failed(shapes.check("operand 'weight'", op.getWeight(), {"C", "W"})))
    return failure();
  int64_t width = shapes.size("W");
  if (width == 0)
    return op.emitOpError("operand 'weight' dimension 1 (W) must be at least 1");
  if (!ShapedType::isDynamic(width) &&
      failed(shapes.bind("W-1", width - 1, "operand 'weight' (W - 1)", 1)))
    return failure();
  if (failed(shapes.check("operand 'bias'", op.getBias(), {"C"})) ||
      failed(shapes.check("operand 'init_state'", op.getInitState(),
                          {"B", "C", "W-1"})) ||
      failed(shapes.check("result 'out'", op.getOut(), {"B", "C", "L"})) ||
      failed(shapes.check("result 'final_state'", op.getFinalState(),
                          {"B", "C", "W-1"})))
    return failure();
  return checkSameElementType(op, "result 'out'", op.getOut(), "operand 'x'",
                              op.getX());
}

LogicalResult
CausalConv1dOp::reifyResultShapes(OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  // The output has x's shape; the final state [B, C, W - 1] (verify()).
  Location loc = getLoc();
  SmallVector<OpFoldResult> x = tensor::getMixedSizes(b, loc, getX());
  shapes.push_back(x);
  if (getFinalState()) {
    OpFoldResult width = tensor::getMixedSize(b, loc, getWeight(), 1);
    OpFoldResult history =
        isa<Attribute>(width)
            ? OpFoldResult(b.getIndexAttr(*getConstantIntValue(width) - 1))
            : OpFoldResult(arith::SubIOp::create(b, loc, cast<Value>(width),
                                                 arith::ConstantIndexOp::create(b, loc, 1))
                               .getResult());
    shapes.push_back({x[0], x[1], history});
  }
  return success();
}

LogicalResult CausalConv1dOp::verify() {
  ShapeChecker shapes(*this);
  return verifyShapes(*this, shapes);
}

void CausalConv1dOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *context) {
  results.add<DropUnusedFinalState<CausalConv1dOp>, DropZeroInit<CausalConv1dOp>>(
      context);
}

//===----------------------------------------------------------------------===//
// StateUpdateOp
//===----------------------------------------------------------------------===//

MutableOperandRange StateUpdateOp::getDpsInitsMutable() {
  // `state` and `y_init` are adjacent in the operand list: one range.
  unsigned first = getODSOperandIndexAndLength(8).first;
  return MutableOperandRange(*this, first, 2);
}

LogicalResult StateUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferred) {
  // Destination style: each result has the type of its destination.
  StateUpdateOpAdaptor adaptor(operands, attributes, properties, regions);
  inferred.push_back(adaptor.getState().getType());
  inferred.push_back(adaptor.getYInit().getType());
  return success();
}

LogicalResult ssm::verifyShapes(StateUpdateOp op, ShapeChecker &shapes) {
  if (failed(checkDtLimit(op, op.getDtLimit())))
    return failure();
  int64_t rank = op.getState().getType().getRank();
  if (rank != 3 && rank != 4)
    return op.emitOpError() << "operand 'state' must have rank 3 [B, D, N] "
                            "(Mamba-1) or 4 [B, H, P, N] (Mamba-2), got "
                         << op.getState().getType();
  if (rank == 3) {
    if (failed(shapes.check("operand 'state'", op.getState(), {"B", "D", "N"})) ||
        failed(shapes.check("operand 'x'", op.getX(), {"B", "D"})) ||
        failed(shapes.check("operand 'dt'", op.getDt(), {"B", "D"})) ||
        failed(shapes.check("operand 'A'", op.getA(), {"D", "N"})) ||
        failed(shapes.check("operand 'B'", op.getB(), {"B", "G", "N"})) ||
        failed(shapes.check("operand 'C'", op.getC(), {"B", "G", "N"})) ||
        failed(shapes.check("operand 'D'", op.getD(), {"D"})) ||
        failed(shapes.check("operand 'z'", op.getZ(), {"B", "D"})) ||
        failed(shapes.check("operand 'dt_bias'", op.getDtBias(), {"D"})) ||
        failed(shapes.check("operand 'y_init'", op.getYInit(), {"B", "D"})) ||
        failed(shapes.checkMultiple("D", "G")))
      return failure();
  } else {
    if (failed(shapes.check("operand 'state'", op.getState(),
                            {"B", "H", "P", "N"})) ||
        failed(shapes.check("operand 'x'", op.getX(), {"B", "H", "P"})) ||
        failed(shapes.check("operand 'dt'", op.getDt(), {"B", "H"})) ||
        failed(shapes.check("operand 'A'", op.getA(), {"H"})) ||
        failed(shapes.check("operand 'B'", op.getB(), {"B", "G", "N"})) ||
        failed(shapes.check("operand 'C'", op.getC(), {"B", "G", "N"})))
      return failure();
    if (op.getD() &&
        failed(checkEitherForm(shapes, op, "D", op.getD(), {"H"}, {"H", "P"})))
      return failure();
    if (failed(shapes.check("operand 'z'", op.getZ(), {"B", "H", "P"})) ||
        failed(shapes.check("operand 'dt_bias'", op.getDtBias(), {"H"})) ||
        failed(shapes.check("operand 'y_init'", op.getYInit(), {"B", "H", "P"})) ||
        failed(shapes.checkMultiple("H", "G")))
      return failure();
  }
  if (failed(checkSameElementType(op, "operand 'z'", op.getZ(), "operand 'x'",
                                  op.getX())))
    return failure();
  return checkSameElementType(op, "operand 'y_init'", op.getYInit(),
                              "operand 'x'", op.getX());
}

LogicalResult StateUpdateOp::verify() {
  ShapeChecker shapes(*this);
  return verifyShapes(*this, shapes);
}

#define GET_OP_CLASSES
#include "ssm/Dialect/SSM/IR/SSMOps.cpp.inc"
