//===- ToRecurrence.cpp - scan-like ops into ssm.recurrence ---------------===//
//
// Part of ssmc. Each model-level op states here, once, what it is as a
// linear recurrence: the layouts of its operands over the core dimensions
// (b, t, g, r, p, n) and the scalar code of its per-step coefficients. Every
// kernel form of every target then derives from ssm.recurrence alone.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Support/Arith.h"
#include "ssm/Transforms/Discretization.h"
#include "ssm/Transforms/ToRecurrence.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMTORECURRENCEPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

using Layout = SmallVector<SmallVector<int64_t, 2>>;
constexpr int64_t b = RecurrenceOp::kB, t = RecurrenceOp::kT,
                  g = RecurrenceOp::kG, r = RecurrenceOp::kR,
                  p = RecurrenceOp::kP, n = RecurrenceOp::kN;

/// The coefficients the region yields, as values of the region's block.
struct Coefficients {
  Value decay, value, key, query, skip, gate;
};

/// Collects the operands of an ssm.recurrence and builds it.
class RecurrenceBuilder {
public:
  /// The core op of `source`, located at it under its op name: lowerings
  /// name kernels and word diagnostics after the op the user wrote.
  RecurrenceBuilder(PatternRewriter &rewriter, Operation *source, Type computeType)
      : rewriter(rewriter), loc(source->getLoc()),
        coreLoc(NameLoc::get(source->getName().getIdentifier(), loc)),
        ct(computeType) {}

  /// Adds an input read through `layout`; returns its index, which is that
  /// of its block argument (absent optional operands are skipped: -1).
  int add(Value tensor, Layout layout) {
    if (!tensor)
      return -1;
    // The same tensor read the same way is one input (ssm.scan may pass one
    // tensor as several of its operands).
    ArrayAttr layoutAttr = attr(layout);
    for (auto [i, input] : llvm::enumerate(inputs))
      if (input == tensor && layouts[i] == layoutAttr)
        return i;
    inputs.push_back(tensor);
    layouts.push_back(layoutAttr);
    return inputs.size() - 1;
  }
  void setOutputs(Value yInit, Layout yLayout, Value stateDest, Layout stateLayout) {
    y = yInit;
    yAttr = attr(yLayout);
    state = stateDest;
    if (state)
      stateAttr = attr(stateLayout);
  }
  Value reset, seqIdx, cuSeqlens;

  /// Builds the op; `body` computes the coefficients from the block
  /// arguments (null for absent optional inputs).
  RecurrenceOp build(Transition transition, Direction direction, bool logDecay,
                     function_ref<Coefficients(OpBuilder &, Location,
                                               function_ref<Value(int)>)>
                         body) {
    SmallVector<Attribute> all(layouts);
    all.push_back(yAttr);
    SmallVector<Type> results{y.getType()};
    if (state) {
      all.push_back(stateAttr);
      results.push_back(state.getType());
    }
    auto op = RecurrenceOp::create(
        rewriter, coreLoc, results, inputs, reset, seqIdx, cuSeqlens, y, state,
        TransitionAttr::get(rewriter.getContext(), transition),
        DirectionAttr::get(rewriter.getContext(), direction),
        logDecay ? rewriter.getUnitAttr() : UnitAttr(), rewriter.getArrayAttr(all),
        /*form=*/RecurrenceFormAttr(), /*chunk_size=*/IntegerAttr(),
        /*tile=*/IntegerAttr(), /*spans=*/SpanOrderAttr(), /*terms=*/IntegerAttr(),
        /*previous=*/DenseI64ArrayAttr());
    // createBlock moves the insertion point into the region: the guard
    // comes first, so that what the pattern builds next (casts of the
    // results) goes after the op, not after the region's terminator.
    OpBuilder::InsertionGuard guard(rewriter);
    Block *block = rewriter.createBlock(&op.getBody());
    for (Value input : inputs)
      block->addArgument(ct, input.getLoc());
    rewriter.setInsertionPointToStart(block);
    Coefficients c = body(rewriter, loc, [&](int i) -> Value {
      return i < 0 ? Value() : block->getArgument(i);
    });
    Value zero = buildFloat(rewriter, loc, ct, 0.0);
    SmallVector<Value> yields{c.decay, c.value, c.key, c.query,
                              c.skip ? c.skip : zero};
    if (c.gate)
      yields.push_back(c.gate);
    YieldOp::create(rewriter, loc, yields);
    return op;
  }

private:
  ArrayAttr attr(const Layout &layout) {
    SmallVector<Attribute> groups;
    for (auto &group : layout)
      groups.push_back(rewriter.getDenseI64ArrayAttr(group));
    return rewriter.getArrayAttr(groups);
  }

  PatternRewriter &rewriter;
  Location loc, coreLoc;
  Type ct;
  SmallVector<Value> inputs;
  SmallVector<Attribute> layouts;
  Value y, state;
  Attribute yAttr, stateAttr;
};

/// A tensor of `sizes` and `element` to write results into (its values are
/// never read).
Value destination(OpBuilder &builder, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type element) {
  return tensor::EmptyOp::create(builder, loc, sizes, element);
}

/// The state destination of a scan that may start from `init` and may
/// return its final state of type `finalType`: `init` itself (the core op
/// reads the initial state from its destination), zeros when only the final
/// state is wanted, null when neither.
Value stateDestination(OpBuilder &builder, Location loc, Value init,
                       Value finalState, ArrayRef<OpFoldResult> sizes) {
  if (init)
    return init;
  if (!finalState)
    return Value();
  Type element = getElementTypeOrSelf(finalState.getType());
  Value empty = destination(builder, loc, sizes, element);
  Value zero = buildFloat(builder, loc, element, 0.0);
  return linalg::FillOp::create(builder, loc, ValueRange{zero}, ValueRange{empty})
      .getResult(0);
}

/// Replaces `op` by the core op's results; `yFirst` says whether `op` lists
/// y before the state. Casts where the core op inferred other static sizes.
void replace(PatternRewriter &rewriter, Operation *op, RecurrenceOp core,
             bool yFirst) {
  SmallVector<Value> results;
  Value y = core.getY(), state = core.getFinalState();
  if (yFirst) {
    results.push_back(y);
    if (op->getNumResults() > 1)
      results.push_back(state);
  } else {
    results = {state, y};
  }
  for (auto [value, result] : llvm::zip(results, op->getResults()))
    if (value.getType() != result.getType())
      value = tensor::CastOp::create(rewriter, op->getLoc(), result.getType(), value);
  rewriter.replaceOp(op, results);
}

OpFoldResult dim(OpBuilder &builder, Location loc, Value tensor, int64_t i) {
  return tensor::getMixedSize(builder, loc, tensor, i);
}

//===----------------------------------------------------------------------===//
// The ops as recurrences
//===----------------------------------------------------------------------===//

/// ssm.scan: a diagonal recurrence over discretized operands, per channel p.
struct ScanToRecurrence : OpRewritePattern<ScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScanOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    auto perStep = [](Value v) -> Layout {
      if (cast<RankedTensorType>(v.getType()).getRank() == 4)
        return {{b}, {t}, {p}, {n}};
      return {{p}, {n}};
    };
    RecurrenceBuilder rb(rewriter, op, ct);
    int x = rb.add(op.getX(), {{b}, {t}, {p}});
    int abar = rb.add(op.getAbar(), perStep(op.getAbar()));
    int bbar = rb.add(op.getBbar(), perStep(op.getBbar()));
    int c = rb.add(op.getC(), perStep(op.getC()));
    int d = rb.add(op.getD(), {{p}});
    rb.reset = op.getReset();
    Value X = op.getX();
    Value y = destination(rewriter, loc, tensor::getMixedSizes(rewriter, loc, X),
                          getElementTypeOrSelf(op.getY().getType()));
    int64_t lastN = op.getAbar().getType().getRank() - 1;
    Value state = stateDestination(
        rewriter, loc, op.getInit(), op.getFinalState(),
        {dim(rewriter, loc, X, 0), dim(rewriter, loc, X, 2),
         dim(rewriter, loc, op.getAbar(), lastN)});
    rb.setOutputs(y, {{b}, {t}, {p}}, state, {{b}, {p}, {n}});
    RecurrenceOp core = rb.build(
        Transition::diagonal, op.getDirection(), /*logDecay=*/false,
        [&](OpBuilder &bb, Location l, function_ref<Value(int)> arg) {
          Value skip = d >= 0 ? arith::MulFOp::create(bb, l, arg(d), arg(x)) : Value();
          return Coefficients{arg(abar), arg(x), arg(bbar), arg(c), skip, Value()};
        });
    replace(rewriter, op, core, /*yFirst=*/true);
    return success();
  }
};

/// ssm.selective_scan (Mamba-1): channel d = (g, p) of group g; a diagonal
/// transition per (channel, state entry).
struct SelectiveScanToRecurrence : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    bool selectiveB = op.getB().getType().getRank() == 4;
    bool selectiveC = op.getC().getType().getRank() == 4;
    // Without a selective B or C nothing has a group dimension: the
    // channels are one group.
    SmallVector<int64_t, 2> channel =
        selectiveB || selectiveC ? SmallVector<int64_t, 2>{g, p}
                                 : SmallVector<int64_t, 2>{p};
    auto bc = [&](bool selective) -> Layout {
      if (selective)
        return {{b}, {g}, {n}, {t}};
      return {channel, {n}};
    };
    RecurrenceBuilder rb(rewriter, op, ct);
    int u = rb.add(op.getU(), {{b}, channel, {t}});
    int delta = rb.add(op.getDelta(), {{b}, channel, {t}});
    int A = rb.add(op.getA(), {channel, {n}});
    int Bm = rb.add(op.getB(), bc(selectiveB));
    int Cm = rb.add(op.getC(), bc(selectiveC));
    int D = rb.add(op.getD(), {channel});
    int z = rb.add(op.getZ(), {{b}, channel, {t}});
    int bias = rb.add(op.getDeltaBias(), {channel});
    Value U = op.getU();
    Value y = destination(rewriter, loc, tensor::getMixedSizes(rewriter, loc, U),
                          getElementTypeOrSelf(op.getY().getType()));
    Value state = stateDestination(
        rewriter, loc, op.getInit(), op.getFinalState(),
        {dim(rewriter, loc, U, 0), dim(rewriter, loc, U, 1),
         dim(rewriter, loc, op.getA(), 1)});
    rb.setOutputs(y, {{b}, channel, {t}}, state, {{b}, channel, {n}});
    Discretization method = op.getDiscretization();
    RecurrenceOp core = rb.build(
        Transition::diagonal, Direction::forward, /*logDecay=*/false,
        [&](OpBuilder &bb, Location l, function_ref<Value(int)> arg) {
          Value step = buildStepSize(bb, l, arg(delta), arg(bias),
                                     op.getDeltaSoftplus(), std::nullopt);
          // The input B̄·u as (s·u) ⊗ B: for Mamba's rule s·u is one value
          // per (step, channel), computed outside the loop over the state.
          auto [abar, scale] = buildDiscretization(bb, l, method, arg(A), step);
          Value value = arith::MulFOp::create(bb, l, scale, arg(u));
          Value skip = D >= 0 ? arith::MulFOp::create(bb, l, arg(D), arg(u)) : Value();
          Value gate = z >= 0 ? buildSilu(bb, l, arg(z)) : Value();
          return Coefficients{abar, value, arg(Bm), arg(Cm), skip, gate};
        });
    replace(rewriter, op, core, /*yFirst=*/true);
    return success();
  }
};

/// Mamba-2's step: δ = clamp(softplus?(dt + bias)); log decay δ·A; input
/// δ·x ⊗ B; readout C; skip D·x; gate silu(z). Shared by ssd and the
/// Mamba-2 form of state_update, whose operands differ only in having a
/// time dimension.
Coefficients mamba2Step(OpBuilder &bb, Location l, function_ref<Value(int)> arg,
                        int x, int dt, int A, int Bm, int Cm, int D, int z,
                        int bias, bool softplus,
                        std::optional<ArrayRef<double>> limit) {
  Value step = buildStepSize(bb, l, arg(dt), arg(bias), softplus, limit);
  Value logDecay = arith::MulFOp::create(bb, l, step, arg(A));
  Value value = arith::MulFOp::create(bb, l, step, arg(x));
  Value skip = D >= 0 ? arith::MulFOp::create(bb, l, arg(D), arg(x)) : Value();
  Value gate = z >= 0 ? buildSilu(bb, l, arg(z)) : Value();
  return {logDecay, value, arg(Bm), arg(Cm), skip, gate};
}

/// The layout of Mamba-2's D: per head `[(g, r)]` or per channel
/// `[(g, r), p]`.
Layout skipLayout(Value D) {
  if (D && cast<RankedTensorType>(D.getType()).getRank() == 2)
    return {{g, r}, {p}};
  return {{g, r}};
}

/// ssm.ssd (Mamba-2), recurrent: head h = (g, r), a scalar transition.
struct SSDToRecurrence : OpRewritePattern<SSDOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SSDOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    RecurrenceBuilder rb(rewriter, op, ct);
    Layout heads{{b}, {t}, {g, r}, {p}};
    int x = rb.add(op.getX(), heads);
    int dt = rb.add(op.getDt(), {{b}, {t}, {g, r}});
    int A = rb.add(op.getA(), {{g, r}});
    int Bm = rb.add(op.getB(), {{b}, {t}, {g}, {n}});
    int Cm = rb.add(op.getC(), {{b}, {t}, {g}, {n}});
    int D = rb.add(op.getD(), skipLayout(op.getD()));
    int z = rb.add(op.getZ(), heads);
    int bias = rb.add(op.getDtBias(), {{g, r}});
    rb.seqIdx = op.getSeqIdx();
    rb.cuSeqlens = op.getCuSeqlens();
    Value X = op.getX();
    Value y = destination(rewriter, loc, tensor::getMixedSizes(rewriter, loc, X),
                          getElementTypeOrSelf(op.getY().getType()));
    OpFoldResult rows = dim(rewriter, loc, X, 0);
    if (Value cu = op.getCuSeqlens())
      rows = arith::SubIOp::create(
                 rewriter, loc,
                 getValueOrCreateConstantIndexOp(rewriter, loc, dim(rewriter, loc, cu, 0)),
                 arith::ConstantIndexOp::create(rewriter, loc, 1))
                 .getResult();
    Value state = stateDestination(
        rewriter, loc, op.getInit(), op.getFinalState(),
        {rows, dim(rewriter, loc, X, 2), dim(rewriter, loc, X, 3),
         dim(rewriter, loc, op.getB(), 3)});
    rb.setOutputs(y, heads, state, {{b}, {g, r}, {p}, {n}});
    RecurrenceOp core = rb.build(
        Transition::scalar, Direction::forward, /*logDecay=*/true,
        [&](OpBuilder &bb, Location l, function_ref<Value(int)> arg) {
          return mamba2Step(bb, l, arg, x, dt, A, Bm, Cm, D, z, bias,
                            op.getDtSoftplus(), op.getDtLimit());
        });
    // The form ssm-select-algorithm (or the op's author) chose.
    if (std::optional<SSDAlgorithm> algorithm = op.getAlgorithm())
      core.setForm(*algorithm == SSDAlgorithm::chunked ? RecurrenceForm::chunked
                                                      : RecurrenceForm::recurrent);
    core.setChunkSize(op.getChunkSize());
    replace(rewriter, op, core, /*yFirst=*/true);
    return success();
  }
};

/// ssm.state_update: one step with no time dimension, the state updated in
/// its destination.
struct StateUpdateToRecurrence : OpRewritePattern<StateUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StateUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Type ct = computeTypeFor(getContext(), op->getOperandTypes());
    RecurrenceBuilder rb(rewriter, op, ct);
    RecurrenceOp core;
    if (op.isMamba2()) {
      Layout heads{{b}, {g, r}, {p}};
      int x = rb.add(op.getX(), heads);
      int dt = rb.add(op.getDt(), {{b}, {g, r}});
      int A = rb.add(op.getA(), {{g, r}});
      int Bm = rb.add(op.getB(), {{b}, {g}, {n}});
      int Cm = rb.add(op.getC(), {{b}, {g}, {n}});
      int D = rb.add(op.getD(), skipLayout(op.getD()));
      int z = rb.add(op.getZ(), heads);
      int bias = rb.add(op.getDtBias(), {{g, r}});
      rb.setOutputs(op.getYInit(), heads, op.getState(), {{b}, {g, r}, {p}, {n}});
      core = rb.build(Transition::scalar, Direction::forward, /*logDecay=*/true,
                      [&](OpBuilder &bb, Location l, function_ref<Value(int)> arg) {
                        return mamba2Step(bb, l, arg, x, dt, A, Bm, Cm, D, z, bias,
                                          op.getDtSoftplus(), op.getDtLimit());
                      });
    } else {
      Layout channels{{b}, {g, p}};
      int x = rb.add(op.getX(), channels);
      int dt = rb.add(op.getDt(), channels);
      int A = rb.add(op.getA(), {{g, p}, {n}});
      int Bm = rb.add(op.getB(), {{b}, {g}, {n}});
      int Cm = rb.add(op.getC(), {{b}, {g}, {n}});
      int D = rb.add(op.getD(), {{g, p}});
      int z = rb.add(op.getZ(), channels);
      int bias = rb.add(op.getDtBias(), {{g, p}});
      rb.setOutputs(op.getYInit(), channels, op.getState(), {{b}, {g, p}, {n}});
      core = rb.build(
          Transition::diagonal, Direction::forward, /*logDecay=*/false,
          [&](OpBuilder &bb, Location l, function_ref<Value(int)> arg) {
            Value step = buildStepSize(bb, l, arg(dt), arg(bias), op.getDtSoftplus(),
                                       op.getDtLimit());
            Value decay = math::ExpOp::create(bb, l,
                                              arith::MulFOp::create(bb, l, step, arg(A)));
            Value value = arith::MulFOp::create(bb, l, step, arg(x));
            Value skip =
                D >= 0 ? arith::MulFOp::create(bb, l, arg(D), arg(x)) : Value();
            Value gate = z >= 0 ? buildSilu(bb, l, arg(z)) : Value();
            return Coefficients{decay, value, arg(Bm), arg(Cm), skip, gate};
          });
    }
    replace(rewriter, op, core, /*yFirst=*/false);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Transposes around the core op, as layouts
//===----------------------------------------------------------------------===//

/// `layouts[index]` with its dimensions permuted: dimension k of the
/// result is dimension `perm[k]` of `layouts[index]`.
ArrayAttr permuteLayout(Builder &b, ArrayAttr layouts, unsigned index,
                        ArrayRef<int64_t> perm) {
  auto layout = cast<ArrayAttr>(layouts[index]);
  SmallVector<Attribute> groups;
  for (int64_t from : perm)
    groups.push_back(layout[from]);
  SmallVector<Attribute> all(layouts.getValue());
  all[index] = b.getArrayAttr(groups);
  return b.getArrayAttr(all);
}

/// An input that is a linalg.transpose of a tensor is read from that
/// tensor through the permuted layout: the transpose (a strided copy of
/// the whole tensor) goes away. A model written for mamba_ssm's [B, D, L]
/// ops on token-major activations has one per operand.
struct FoldInputTransposes : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RecurrenceOp op, PatternRewriter &rewriter) const override {
    auto transposed = [](OpOperand &input) {
      return input.get().getDefiningOp<linalg::TransposeOp>();
    };
    if (llvm::none_of(op.getInputsMutable(), transposed))
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      for (OpOperand &input : op.getInputsMutable()) {
        linalg::TransposeOp transpose = transposed(input);
        if (!transpose)
          continue;
        // Dimension k of the transposed input is dimension perm[k] of the
        // source: the source's dimension j takes the group of k = perm⁻¹[j].
        op.setLayoutsAttr(permuteLayout(rewriter, op.getLayouts(),
                                        input.getOperandNumber() -
                                            op.getInputs().getBeginOperandIndex(),
                                        invertPermutationVector(transpose.getPermutation())));
        input.set(transpose.getInput());
      }
    });
    return success();
  }
};

/// An output whose one use is a linalg.transpose is written transposed:
/// the op's y takes the transpose's shape and the permuted layout.
struct FoldOutputTranspose : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::TransposeOp transpose,
                                PatternRewriter &rewriter) const override {
    auto op = transpose.getInput().getDefiningOp<RecurrenceOp>();
    if (!op || transpose.getInput() != op.getY() || !op.getY().hasOneUse())
      return failure();
    ArrayRef<int64_t> perm = transpose.getPermutation();
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPoint(op);
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, op.getLoc(), op.getYInit());
    SmallVector<OpFoldResult> permuted;
    for (int64_t from : perm)
      permuted.push_back(sizes[from]);
    Value init = tensor::EmptyOp::create(rewriter, op.getLoc(), permuted,
                                         getElementTypeOrSelf(op.getYInit().getType()));
    // Layouts list the inputs', then y's, then the state's.
    unsigned yIndex = op.getInputs().size();
    rewriter.modifyOpInPlace(op, [&] {
      op.getYInitMutable().assign(init);
      op.setLayoutsAttr(permuteLayout(rewriter, op.getLayouts(), yIndex, perm));
      op.getY().setType(cast<RankedTensorType>(init.getType()));
    });
    rewriter.setInsertionPoint(transpose);
    Value y = op.getY();
    if (y.getType() != transpose.getResult()[0].getType())
      y = tensor::CastOp::create(rewriter, transpose.getLoc(),
                                 transpose.getResult()[0].getType(), y);
    rewriter.replaceOp(transpose, y);
    return success();
  }
};

struct SSMToRecurrencePass
    : ssm::impl::SSMToRecurrencePassBase<SSMToRecurrencePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSSMToRecurrencePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::ssm::populateSSMToRecurrencePatterns(RewritePatternSet &patterns) {
  patterns.add<ScanToRecurrence, SelectiveScanToRecurrence, SSDToRecurrence,
               StateUpdateToRecurrence, FoldInputTransposes, FoldOutputTranspose>(
      patterns.getContext());
}
