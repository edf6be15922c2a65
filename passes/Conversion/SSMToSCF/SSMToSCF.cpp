//===- SSMToSCF.cpp - ssm.discretize / ssm.scan to linalg and scf ---------===//
//
// Part of ssmc. The straightforward lowering of the core ops on tensors:
// an elementwise linalg.generic for the discretization and a loop nest for
// the recurrence, following docs/semantics.md line by line. It is the
// executable meaning the numeric tests check; optimizing lowerings replace it.
//
//===----------------------------------------------------------------------===//

#include "LoopHelpers.h"
#include "ssm/Transforms/Discretization.h"
#include "ssm/Conversion/SSMToSCF.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"
#include "ssm/Transforms/ToRecurrence.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

namespace mlir::ssm {
#define GEN_PASS_DEF_CONVERTSSMTOSCFPASS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

struct LowerDiscretize : OpRewritePattern<DiscretizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DiscretizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getA().getType();
    Type element = type.getElementType();
    Type ct = computeTypeFor(getContext(), {type});
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, op.getA());
    Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, element);
    AffineMap id = rewriter.getMultiDimIdentityMap(type.getRank());
    SmallVector<utils::IteratorType> iterators(type.getRank(),
                                               utils::IteratorType::parallel);
    Discretization method = op.getMethod();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type, type},
        ValueRange{op.getA(), op.getB(), op.getDelta()}, ValueRange{empty, empty},
        SmallVector<AffineMap>(5, id), iterators,
        [&](OpBuilder &b, Location nl, ValueRange args) {
          auto [abar, scale] = buildDiscretization(b, nl, method,
                                                   convertFloat(b, nl, args[0], ct),
                                                   convertFloat(b, nl, args[2], ct));
          Value bbar =
              arith::MulFOp::create(b, nl, scale, convertFloat(b, nl, args[1], ct));
          linalg::YieldOp::create(b, nl,
                                  ValueRange{convertFloat(b, nl, abar, element),
                                             convertFloat(b, nl, bbar, element)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

std::pair<Value, Value> lowering::sequenceBounds(OpBuilder &b, Location loc,
                                                 Value cuSeqlens, Value row,
                                                 Value length) {
  auto at = [&](Value i) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                      tensor::ExtractOp::create(b, loc, cuSeqlens, i));
  };
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value begin = at(row);
  Value end = at(arith::AddIOp::create(b, loc, row,
                                       arith::ConstantIndexOp::create(b, loc, 1)));
  // Signed comparisons: an entry read from memory may be negative.
  auto le = [&](Value lhs, Value rhs) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, lhs, rhs);
  };
  Value valid = arith::AndIOp::create(
      b, loc, arith::AndIOp::create(b, loc, le(c0, begin), le(begin, end)),
      le(end, length));
  cf::AssertOp::create(b, loc, valid,
                       "ssm.ssd: cu_seqlens is not a nondecreasing list of "
                       "offsets within the packed sequence length L");
  return {begin, end};
}

void lowering::forRange(OpBuilder &b, Location loc, Value lb, Value ub,
                        function_ref<void(OpBuilder &, Location, Value)> body) {
  scf::ForOp::create(b, loc, lb, ub, arith::ConstantIndexOp::create(b, loc, 1),
                     ValueRange{}, [&](OpBuilder &b, Location l, Value iv, ValueRange) {
                       body(b, l, iv);
                       scf::YieldOp::create(b, l);
                     });
}

Value lowering::allocScratch(OpBuilder &b, Location loc, ArrayRef<Value> sizes,
                            Type type) {
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamic;
  for (Value size : sizes) {
    std::optional<int64_t> constant = getConstantIntValue(size);
    shape.push_back(constant ? *constant : ShapedType::kDynamic);
    if (!constant)
      dynamic.push_back(size);
  }
  return memref::AllocOp::create(b, loc, MemRefType::get(shape, type), dynamic,
                                 b.getI64IntegerAttr(64));
}

Value lowering::load(OpBuilder &b, Location loc, Value tensor,
                     ValueRange indices, Type ct) {
  return convertFloat(b, loc, tensor::ExtractOp::create(b, loc, tensor, indices),
                      ct);
}


void lowering::replaceWithOutputs(PatternRewriter &rewriter, Operation *op,
                                  Value output, Value finalState) {
  SmallVector<Value> results{output};
  if (op->getNumResults() > 1)
    results.push_back(finalState);
  for (auto [value, result] : llvm::zip(results, op->getResults()))
    if (value.getType() != result.getType())
      value = tensor::CastOp::create(rewriter, op->getLoc(), result.getType(), value);
  rewriter.replaceOp(op, results);
}

scf::ForOp lowering::buildItemLoop(
    OpBuilder &b, Location loc, Value rows, Value cols, ValueRange carried,
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value,
                                   ValueRange)>
        body) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value items = arith::MulIOp::create(b, loc, rows, cols);
  auto loop = scf::ForOp::create(
      b, loc, c0, items, c1, carried,
      [&](OpBuilder &b, Location l, Value item, ValueRange carried) {
        Value row = arith::DivUIOp::create(b, l, item, cols);
        Value col = arith::RemUIOp::create(b, l, item, cols);
        scf::YieldOp::create(b, l, body(b, l, row, col, carried));
      });
  return loop;
}

using namespace mlir::ssm::lowering;

namespace {

/// The depthwise causal convolution as an scf.forall over the (batch,
/// channel) rows, each a work item writing its slices of the output and
/// the final state. Inside a row, the W − 1 first outputs read the carried
/// history through a branch per tap; every later output reads only x, so
/// that interior loop over t has no branch and its loads and stores are
/// contiguous in t: LLVM vectorizes it. With a static width of up to
/// kMaxUnrolledTaps the taps are unrolled and their weights loaded once per
/// row; other widths keep a tap loop inside the t loop.
constexpr int64_t kMaxUnrolledTaps = 16;

class CausalConv1dLowering {
public:
  CausalConv1dLowering(PatternRewriter &rewriter, CausalConv1dOp op)
      : rewriter(rewriter), op(op), loc(op.getLoc()),
        ct(computeTypeFor(op.getContext(), op->getOperandTypes())),
        outElement(op.getOut().getType().getElementType()) {
    auto size = [&](Value tensor, int64_t dim) {
      return getValueOrCreateConstantIndexOp(
          rewriter, loc, tensor::getMixedSize(rewriter, loc, tensor, dim));
    };
    c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    width = size(op.getWeight(), 1);
    length = size(op.getX(), 2);
    history = arith::SubIOp::create(rewriter, loc, width, c1);
    staticWidth = getConstantIntValue(width);
  }

  void lower() {
    // Destinations of the op's reified shapes: out [B, C, L], final state
    // [B, C, W - 1].
    ReifiedRankedShapedTypeDims shapes;
    (void)op.reifyResultShapes(rewriter, shapes);
    SmallVector<OpFoldResult> sizes = shapes[0];
    SmallVector<Value> outputs{
        tensor::EmptyOp::create(rewriter, loc, sizes, outElement)};
    Value fs = op.getFinalState();
    Value finalState;
    if (fs) {
      finalState = tensor::EmptyOp::create(rewriter, loc, shapes[1],
                                           getElementTypeOrSelf(fs.getType()));
      // A width of 1 carries no history: the final state is empty and no
      // row writes it (a slice of a dimension of size 0 does not verify).
      if (!staticWidth || *staticWidth > 1)
        outputs.push_back(finalState);
    }
    auto rows = scf::ForallOp::create(rewriter, loc, {sizes[0], sizes[1]}, outputs,
                                      std::nullopt);
    buildRow(rows);
    replaceWithOutputs(rewriter, op, rows.getResult(0),
                       outputs.size() > 1 ? rows.getResult(1) : finalState);
  }

private:
  /// The body of `rows`: one (batch, channel) row.
  void buildRow(scf::ForallOp rows);
  /// x̃(s) for s in [-(W - 1), L): the carried state left of x (zero when
  /// absent), read only on the side of the branch where its index is valid.
  Value extended(OpBuilder &b, Location l, Value bi, Value ci, Value s);
  /// bias + Σ_k w_k · read(k), then the activation, in the storage type.
  Value output(OpBuilder &b, Location l, Value acc, ArrayRef<Value> taps,
               function_ref<Value(OpBuilder &, Location, Value)> read, Value ci);

  PatternRewriter &rewriter;
  CausalConv1dOp op;
  Location loc;
  Type ct, outElement;
  Value c0, c1, width, length, history;
  std::optional<int64_t> staticWidth;
};

Value CausalConv1dLowering::extended(OpBuilder &b, Location l, Value bi, Value ci,
                                     Value s) {
  Value init = op.getInitState();
  Value inState = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, s, c0);
  auto branch = scf::IfOp::create(
      b, l, inState,
      [&](OpBuilder &b, Location l) {
        Value v = init ? load(b, l, init,
                              {bi, ci, arith::AddIOp::create(b, l, history, s)}, ct)
                       : buildFloat(b, l, ct, 0.0);
        scf::YieldOp::create(b, l, v);
      },
      [&](OpBuilder &b, Location l) {
        scf::YieldOp::create(b, l, load(b, l, op.getX(), {bi, ci, s}, ct));
      });
  return branch.getResult(0);
}

Value CausalConv1dLowering::output(
    OpBuilder &b, Location l, Value acc, ArrayRef<Value> taps,
    function_ref<Value(OpBuilder &, Location, Value)> read, Value ci) {
  // The multiply-adds may contract to FMAs (one rounding instead of two).
  auto contract = arith::FastMathFlags::contract;
  auto term = [&](OpBuilder &b, Location l, Value acc, Value w, Value k) {
    Value prod = arith::MulFOp::create(b, l, w, read(b, l, k), contract);
    return arith::AddFOp::create(b, l, acc, prod, contract).getResult();
  };
  if (!taps.empty()) {
    for (auto [k, w] : llvm::enumerate(taps))
      acc = term(b, l, acc, w,
                 arith::ConstantIndexOp::create(b, l, static_cast<int64_t>(k)));
  } else {
    acc = scf::ForOp::create(
              b, l, c0, width, c1, ValueRange{acc},
              [&](OpBuilder &b, Location l, Value k, ValueRange sum) {
                scf::YieldOp::create(
                    b, l,
                    term(b, l, sum[0], load(b, l, op.getWeight(), {ci, k}, ct), k));
              })
              .getResult(0);
  }
  if (op.getActivation() == Activation::silu)
    acc = buildSilu(b, l, acc);
  return convertFloat(b, l, acc, outElement);
}

void CausalConv1dLowering::buildRow(scf::ForallOp rows) {
  OpBuilder::InsertionGuard guard(rewriter);
  OpBuilder &b = rewriter;
  Location l = loc;
  b.setInsertionPoint(rows.getTerminator());
  Value bi = rows.getInductionVar(0), ci = rows.getInductionVar(1);
  // The row's [1, 1, size] slice of each destination.
  SmallVector<OpFoldResult> at{bi, ci, b.getIndexAttr(0)}, ones(3, b.getIndexAttr(1));
  SmallVector<SmallVector<OpFoldResult>> extents;
  SmallVector<Value> dests;
  for (Value dest : rows.getRegionIterArgs()) {
    extents.push_back({ones[0], ones[1], tensor::getMixedSize(b, l, dest, 2)});
    dests.push_back(tensor::ExtractSliceOp::create(b, l, dest, at, extents.back(), ones));
  }
  Value bias = op.getBias();
  Value acc0 = bias ? load(b, l, bias, {ci}, ct) : buildFloat(b, l, ct, 0.0);
  // Unrolled taps cost IR per tap: a width past kMaxUnrolledTaps (no real
  // model comes near) takes the tap loop, so that compile time and memory
  // do not grow with a static size.
  SmallVector<Value> taps;
  if (staticWidth && *staticWidth <= kMaxUnrolledTaps)
    for (int64_t k = 0; k < *staticWidth; ++k)
      taps.push_back(load(b, l, op.getWeight(),
                          {ci, arith::ConstantIndexOp::create(b, l, k)}, ct));
  // Output t over [from, to), tap k reading `read(t − (W − 1) + k)`.
  auto outputs = [&](Value from, Value to, Value dest,
                     function_ref<Value(OpBuilder &, Location, Value)> read) {
    return scf::ForOp::create(
               b, l, from, to, c1, ValueRange{dest},
               [&](OpBuilder &b, Location l, Value t, ValueRange o) {
                 Value v = output(
                     b, l, acc0, taps,
                     [&](OpBuilder &b, Location l, Value k) {
                       return read(b, l,
                                   arith::AddIOp::create(
                                       b, l, arith::SubIOp::create(b, l, t, history), k));
                     },
                     ci);
                 scf::YieldOp::create(
                     b, l, ValueRange{tensor::InsertOp::create(b, l, v, o[0],
                                                               ValueRange{c0, c0, t})});
               })
        .getResult(0);
  };
  // The prologue covers t < min(W − 1, L); the interior the rest.
  Value split = arith::MinUIOp::create(b, l, history, length);
  Value y = outputs(c0, split, dests[0], [&](OpBuilder &b, Location l, Value s) {
    return extended(b, l, bi, ci, s);
  });
  y = outputs(split, length, y, [&](OpBuilder &b, Location l, Value s) {
    return load(b, l, op.getX(), {bi, ci, s}, ct);
  });
  SmallVector<Value> results{y};
  if (dests.size() > 1) {
    // final[b, c, s] = x̃(L − (W − 1) + s): W − 1 copies per row.
    Type fsElement = getElementTypeOrSelf(dests[1].getType());
    Value offset = arith::SubIOp::create(b, l, length, history);
    auto final = scf::ForOp::create(
        b, l, c0, history, c1, ValueRange{dests[1]},
        [&](OpBuilder &b, Location l, Value si, ValueRange f) {
          Value v = extended(b, l, bi, ci, arith::AddIOp::create(b, l, offset, si));
          scf::YieldOp::create(
              b, l,
              ValueRange{tensor::InsertOp::create(b, l, convertFloat(b, l, v, fsElement),
                                                  f[0], ValueRange{c0, c0, si})});
        });
    results.push_back(final.getResult(0));
  }
  b.setInsertionPointToStart(rows.getTerminator().getBody());
  for (auto [result, dest, extent] : llvm::zip(results, rows.getRegionIterArgs(), extents))
    tensor::ParallelInsertSliceOp::create(b, l, result, dest, at, extent, ones);
}

struct LowerCausalConv1d : OpRewritePattern<CausalConv1dOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    CausalConv1dLowering(rewriter, op).lower();
    return success();
  }
};

struct ConvertSSMToSCFPass
    : ssm::impl::ConvertSSMToSCFPassBase<ConvertSSMToSCFPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSSMToSCFConversionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::ssm::populateSSMToSCFConversionPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerDiscretize, LowerCausalConv1d>(patterns.getContext());
  populateSSMToRecurrencePatterns(patterns);
  populateRecurrencePatterns(patterns);
  populateChunkedPatterns(patterns);
}
