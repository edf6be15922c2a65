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
#include "ssm/Transforms/TileRecurrences.h"
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

void lowering::transposeBlock(OpBuilder &b, Location loc, Value from, Value fromRow,
                              Value fromCol, Value to, Value toRow, Value toCol) {
  constexpr int64_t side = kTransposeSide;
  VectorType type =
      VectorType::get({side}, cast<MemRefType>(from.getType()).getElementType());
  auto plus = [&](Value base, int64_t i) -> Value {
    return arith::AddIOp::create(b, loc, base, arith::ConstantIndexOp::create(b, loc, i));
  };
  SmallVector<Value> block;
  for (int64_t i = 0; i < side; ++i)
    block.push_back(
        vector::LoadOp::create(b, loc, type, from, ValueRange{plus(fromRow, i), fromCol}));
  for (int64_t k = 1; k < side; k *= 2) {
    SmallVector<int64_t> low, high;
    for (int64_t j = 0; j < side; ++j) {
      low.push_back(j & k ? side + j - k : j);
      high.push_back(j & k ? side + j : j + k);
    }
    for (int64_t r = 0; r < side; ++r) {
      if (r & k)
        continue;
      Value first = block[r], second = block[r + k];
      block[r] = vector::ShuffleOp::create(b, loc, first, second, low);
      block[r + k] = vector::ShuffleOp::create(b, loc, first, second, high);
    }
  }
  for (int64_t i = 0; i < side; ++i)
    vector::StoreOp::create(b, loc, block[i], to, ValueRange{plus(toRow, i), toCol});
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

/// The depthwise causal convolution as an scf.forall of work items, each
/// writing its slices of the output and the final state. The W − 1 first
/// outputs of a channel read the carried history through a branch per tap;
/// every later output reads only x, so that interior loop has no branch.
/// The innermost loop runs along the dimension the tensors hold
/// contiguous, so that LLVM vectorizes it:
/// - channels-major x and out ([B, C, L], the op's own layout): a work item
///   is a (batch, channel) row, its loop over t;
/// - tokens-major (tokensMajor(): the transposes around the op in a model
///   that holds [B, L, C], read and written through): a work item is a
///   block of kChannelBlock channels of a batch row, the loop over t outside
///   the one over its channels, whose tap weights are copied to a
///   [W, block] scratch so that they too are read along channels.
/// With a static width of up to kMaxUnrolledTaps the taps are unrolled;
/// other widths keep a tap loop inside the output loop.
constexpr int64_t kMaxUnrolledTaps = 16;
/// Channels per tokens-major work item: 4 vectors of 16 f32, a 256-byte
/// run of each row of x read per step.
constexpr int64_t kChannelBlock = 64;

class CausalConv1dLowering {
public:
  CausalConv1dLowering(PatternRewriter &rewriter, CausalConv1dOp op)
      : rewriter(rewriter), op(op), loc(op.getLoc()),
        ct(computeTypeFor(op.getContext(), op->getOperandTypes())),
        outElement(op.getOut().getType().getElementType()), layout(tokensMajor(op)) {
    auto size = [&](Value tensor, int64_t dim) {
      return getValueOrCreateConstantIndexOp(
          rewriter, loc, tensor::getMixedSize(rewriter, loc, tensor, dim));
    };
    c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    x = layout ? layout->input.getInput() : op.getX();
    width = size(op.getWeight(), 1);
    length = size(x, layout ? 1 : 2);
    history = arith::SubIOp::create(rewriter, loc, width, c1);
    staticWidth = getConstantIntValue(width);
  }

  void lower() {
    // Destinations of the op's reified shapes: out [B, C, L] ([B, L, C]
    // tokens-major), final state [B, C, W - 1].
    ReifiedRankedShapedTypeDims shapes;
    if (layout) {
      // From the tokens-major x, so that nothing reads the transpose.
      SmallVector<OpFoldResult> tokens = tensor::getMixedSizes(rewriter, loc, x);
      shapes.push_back({tokens[0], tokens[2], tokens[1]});
      shapes.push_back({tokens[0], tokens[2], historySize()});
    } else {
      (void)op.reifyResultShapes(rewriter, shapes);
    }
    SmallVector<OpFoldResult> sizes = shapes[0], outSizes = sizes;
    if (layout)
      std::swap(outSizes[1], outSizes[2]);
    SmallVector<Value> outputs{
        tensor::EmptyOp::create(rewriter, loc, outSizes, outElement)};
    Value fs = op.getFinalState();
    Value finalState;
    if (fs) {
      finalState = tensor::EmptyOp::create(rewriter, loc, shapes[1],
                                           getElementTypeOrSelf(fs.getType()));
      // A width of 1 carries no history: the final state is empty and no
      // item writes it (a slice of a dimension of size 0 does not verify).
      if (!staticWidth || *staticWidth > 1)
        outputs.push_back(finalState);
    }
    // Items of one (batch, channel) row, or of kChannelBlock channels.
    int64_t channelsPerItem = layout ? kChannelBlock : 1;
    auto items = scf::ForallOp::create(
        rewriter, loc, {rewriter.getIndexAttr(0), rewriter.getIndexAttr(0)},
        {sizes[0], sizes[1]}, {rewriter.getIndexAttr(1), rewriter.getIndexAttr(channelsPerItem)},
        outputs, std::nullopt);
    buildItem(items, channelsPerItem);
    Value result = items.getResult(0);
    if (outputs.size() > 1)
      finalState = items.getResult(1);
    if (layout) {
      // out's one use was the transpose back: it is the loop's result.
      Type type = layout->output.getResult()[0].getType();
      if (result.getType() != type)
        result = tensor::CastOp::create(rewriter, loc, type, result);
      rewriter.replaceOp(layout->output, result);
      // What replaces out, which nothing reads any more.
      result = tensor::EmptyOp::create(rewriter, loc, sizes, outElement);
    }
    replaceWithOutputs(rewriter, op, result, finalState);
  }

private:
  /// The body of `items`: `channelsPerItem` channels of a batch row (the
  /// last item of a row fewer).
  void buildItem(scf::ForallOp items, int64_t channelsPerItem);
  /// Whether the taps are unrolled: a static width of up to
  /// kMaxUnrolledTaps.
  bool unrolledTaps() const { return staticWidth && *staticWidth <= kMaxUnrolledTaps; }
  /// W − 1, static when the width is.
  OpFoldResult historySize() {
    if (staticWidth)
      return rewriter.getIndexAttr(*staticWidth - 1);
    return history;
  }
  /// x[b, c, s] whatever the layout.
  Value readX(OpBuilder &b, Location l, Value bi, Value ci, Value s) {
    return layout ? load(b, l, x, {bi, s, ci}, ct) : load(b, l, x, {bi, ci, s}, ct);
  }
  /// x̃(s) for s in [-(W - 1), L): the carried state left of x (zero when
  /// absent), read only on the side of the branch where its index is valid.
  Value extended(OpBuilder &b, Location l, Value bi, Value ci, Value s);
  /// bias + Σ_k w(k) · read(k), then the activation, in the storage type.
  /// `weight` gives tap k's weight of the channel.
  Value output(OpBuilder &b, Location l, Value acc,
               function_ref<Value(OpBuilder &, Location, Value)> weight,
               function_ref<Value(OpBuilder &, Location, Value)> read);
  /// The final state of channel `ci` into `dest`, the item's
  /// [1, channels, W − 1], at channel `at` of it:
  /// final[b, c, s] = x̃(L − (W − 1) + s).
  Value finalStateOf(OpBuilder &b, Location l, Value bi, Value ci, Value dest, Value at);

  PatternRewriter &rewriter;
  CausalConv1dOp op;
  Location loc;
  Type ct, outElement;
  std::optional<TokensMajorConvolution> layout;
  /// The tensor x is read from: the op's, or the tokens-major one.
  Value x;
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
        scf::YieldOp::create(b, l, readX(b, l, bi, ci, s));
      });
  return branch.getResult(0);
}

Value CausalConv1dLowering::output(
    OpBuilder &b, Location l, Value acc,
    function_ref<Value(OpBuilder &, Location, Value)> weight,
    function_ref<Value(OpBuilder &, Location, Value)> read) {
  // The multiply-adds may contract to FMAs (one rounding instead of two).
  auto contract = arith::FastMathFlags::contract;
  auto term = [&](OpBuilder &b, Location l, Value acc, Value k) {
    Value prod = arith::MulFOp::create(b, l, weight(b, l, k), read(b, l, k), contract);
    return arith::AddFOp::create(b, l, acc, prod, contract).getResult();
  };
  if (unrolledTaps()) {
    for (int64_t k = 0; k < *staticWidth; ++k)
      acc = term(b, l, acc, arith::ConstantIndexOp::create(b, l, k));
  } else {
    acc = scf::ForOp::create(
              b, l, c0, width, c1, ValueRange{acc},
              [&](OpBuilder &b, Location l, Value k, ValueRange sum) {
                scf::YieldOp::create(b, l, term(b, l, sum[0], k));
              })
              .getResult(0);
  }
  if (op.getActivation() == Activation::silu)
    acc = buildSilu(b, l, acc);
  return convertFloat(b, l, acc, outElement);
}

Value CausalConv1dLowering::finalStateOf(OpBuilder &b, Location l, Value bi, Value ci,
                                         Value dest, Value at) {
  Type fsElement = getElementTypeOrSelf(dest.getType());
  Value offset = arith::SubIOp::create(b, l, length, history);
  return scf::ForOp::create(
             b, l, c0, history, c1, ValueRange{dest},
             [&](OpBuilder &b, Location l, Value si, ValueRange f) {
               Value v = extended(b, l, bi, ci, arith::AddIOp::create(b, l, offset, si));
               scf::YieldOp::create(
                   b, l,
                   ValueRange{tensor::InsertOp::create(b, l, convertFloat(b, l, v, fsElement),
                                                       f[0], ValueRange{c0, at, si})});
             })
      .getResult(0);
}

void CausalConv1dLowering::buildItem(scf::ForallOp items, int64_t channelsPerItem) {
  OpBuilder::InsertionGuard guard(rewriter);
  OpBuilder &b = rewriter;
  Location l = loc;
  b.setInsertionPoint(items.getTerminator());
  Value bi = items.getInductionVar(0), first = items.getInductionVar(1);
  Value count = c1;
  if (channelsPerItem > 1) {
    Value channels = getValueOrCreateConstantIndexOp(
        b, l, tensor::getMixedSize(b, l, op.getWeight(), 0));
    count = arith::MinUIOp::create(b, l, arith::SubIOp::create(b, l, channels, first),
                                   arith::ConstantIndexOp::create(b, l, channelsPerItem));
  }
  // The item's slices: out [1, n, L] at (b, c, 0) ([1, L, n] at (b, 0, c)
  // tokens-major), final state [1, n, W − 1] at (b, c, 0).
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0),
               n = getAsOpFoldResult(count);
  OpFoldResult steps = tensor::getMixedSize(b, l, items.getRegionIterArgs()[0], layout ? 1 : 2);
  SmallVector<OpFoldResult> ones(3, one);
  SmallVector<SmallVector<OpFoldResult>> offsets, extents;
  offsets.push_back(layout ? SmallVector<OpFoldResult>{bi, zero, first}
                           : SmallVector<OpFoldResult>{bi, first, zero});
  extents.push_back(layout ? SmallVector<OpFoldResult>{one, steps, n}
                           : SmallVector<OpFoldResult>{one, n, steps});
  if (items.getRegionIterArgs().size() > 1) {
    offsets.push_back({bi, first, zero});
    extents.push_back({one, n, historySize()});
  }
  SmallVector<Value> dests;
  for (auto [dest, at, extent] : llvm::zip(items.getRegionIterArgs(), offsets, extents))
    dests.push_back(tensor::ExtractSliceOp::create(b, l, dest, at, extent, ones));
  // The taps' weights: a row's unrolled ones loaded once; a block's along
  // its channels, ws[k, c] = w[first + c, k]; else read per output (a
  // width past kMaxUnrolledTaps, which no real model comes near, so that
  // compile time and memory do not grow with a static size).
  SmallVector<Value> taps;
  Value ws;
  if (channelsPerItem > 1) {
    ws = allocScratch(b, l, {width, arith::ConstantIndexOp::create(b, l, channelsPerItem)}, ct);
    forRange(b, l, c0, count, [&](OpBuilder &b, Location l, Value c) {
      Value ci = arith::AddIOp::create(b, l, first, c);
      forRange(b, l, c0, width, [&](OpBuilder &b, Location l, Value k) {
        memref::StoreOp::create(b, l, load(b, l, op.getWeight(), {ci, k}, ct), ws,
                                ValueRange{k, c});
      });
    });
  } else if (unrolledTaps()) {
    for (int64_t k = 0; k < *staticWidth; ++k)
      taps.push_back(load(b, l, op.getWeight(),
                          {first, arith::ConstantIndexOp::create(b, l, k)}, ct));
  }
  Value bias = op.getBias();
  Value rowBias = channelsPerItem == 1 && bias ? load(b, l, bias, {first}, ct) : Value();
  // Channel c of the item (ci = first + c) over `dest`: the loop over the
  // item's channels, or, for one, the body alone.
  auto overChannels = [&](OpBuilder &b, Location l, Value dest,
                          function_ref<Value(OpBuilder &, Location, Value, Value, Value)> body) {
    if (channelsPerItem == 1)
      return body(b, l, c0, first, dest);
    return scf::ForOp::create(
               b, l, c0, count, c1, ValueRange{dest},
               [&](OpBuilder &b, Location l, Value c, ValueRange o) {
                 scf::YieldOp::create(
                     b, l, body(b, l, c, arith::AddIOp::create(b, l, first, c), o[0]));
               })
        .getResult(0);
  };
  // Outputs t over [from, to), each over the item's channels (innermost,
  // contiguous tokens-major; one loop over t channels-major, contiguous),
  // tap k reading `read(ci, t − (W − 1) + k)`.
  auto outputs = [&](Value from, Value to, Value dest,
                     function_ref<Value(OpBuilder &, Location, Value, Value)> read) {
    return scf::ForOp::create(
               b, l, from, to, c1, ValueRange{dest},
               [&](OpBuilder &b, Location l, Value t, ValueRange o) {
                 Value s0 = arith::SubIOp::create(b, l, t, history);
                 Value y = overChannels(b, l, o[0], [&](OpBuilder &b, Location l, Value c,
                                                       Value ci, Value y) {
                   Value acc0 = rowBias ? rowBias
                                : bias  ? load(b, l, bias, {ci}, ct)
                                        : buildFloat(b, l, ct, 0.0);
                   Value v = output(
                       b, l, acc0,
                       [&](OpBuilder &b, Location l, Value k) -> Value {
                         if (ws)
                           return memref::LoadOp::create(b, l, ws, ValueRange{k, c});
                         if (!taps.empty())
                           return taps[*getConstantIntValue(k)];
                         return load(b, l, op.getWeight(), {ci, k}, ct);
                       },
                       [&](OpBuilder &b, Location l, Value k) {
                         return read(b, l, ci, arith::AddIOp::create(b, l, s0, k));
                       });
                   SmallVector<Value> at{c0, c, t};
                   if (layout)
                     std::swap(at[1], at[2]);
                   return tensor::InsertOp::create(b, l, v, y, at).getResult();
                 });
                 scf::YieldOp::create(b, l, y);
               })
        .getResult(0);
  };
  // The prologue covers t < min(W − 1, L); the interior the rest.
  Value split = arith::MinUIOp::create(b, l, history, length);
  Value y = outputs(c0, split, dests[0], [&](OpBuilder &b, Location l, Value ci, Value s) {
    return extended(b, l, bi, ci, s);
  });
  y = outputs(split, length, y, [&](OpBuilder &b, Location l, Value ci, Value s) {
    return readX(b, l, bi, ci, s);
  });
  SmallVector<Value> results{y};
  if (dests.size() > 1)
    results.push_back(overChannels(b, l, dests[1], [&](OpBuilder &b, Location l, Value c,
                                                        Value ci, Value f) {
      return finalStateOf(b, l, bi, ci, f, c);
    }));
  b.setInsertionPointToStart(items.getTerminator().getBody());
  for (auto [result, dest, at, extent] :
       llvm::zip(results, items.getRegionIterArgs(), offsets, extents))
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
