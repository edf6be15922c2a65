//===- DecodeForm.cpp - ssm.recurrence's single step, a warp per row ------===//
//
// Part of ssmc. The decode step on the GPU, for a recurrence with no time
// dimension whose state destination is updated in place. One warp per state
// row (b, g, r, p): a channel of Mamba-1, a head channel of Mamba-2. The
// row's N entries are split across the 32 lanes (lane l owns entries l,
// l + 32, ...). Each lane reads its entries once, updates them in place and
// accumulates its part of query·h; a butterfly of warp shuffles completes
// the sum, and lane 0 adds the skip term, applies the gate and writes y.
// The coefficients of the row (step size, a scalar decay, value) are
// computed by every lane from the same loads, which costs less than
// broadcasting them.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "ssm/Support/Arith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_lowering;

namespace {

using Scope = CoefficientEmitter::Scope;
constexpr unsigned kN = RecurrenceOp::kN;
constexpr unsigned N = CoefficientEmitter::bit(kN);

/// Warps per block: 128 threads, enough independent rows per block to hide
/// memory latency without making the last block's idle share large.
constexpr int64_t kWarpsPerBlock = 4;

/// Most state entries a lane keeps in registers at once (N <= 256); larger
/// or dynamic N runs a loop over the lane's entries instead.
constexpr int64_t kMaxEntriesPerLane = 8;

/// The kernel body: `args` are the kernel's buffers (RecurrenceKernel).
void buildDecode(OpBuilder &b, Location l, RecurrenceOp op,
                 const RecurrenceKernel &kernel, ArrayRef<Value> args) {
  RecurrenceKernel::Buffers buffers = kernel.map(args);
  YieldOp yield = op.getYield();
  Type ct = op.getComputeType();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, l, v);
  };
  WarpItem thread = warpItem(b, l, kWarpsPerBlock);
  Value lane = thread.lane, item = thread.item;
  SmallVector<Value> extents = recurrenceExtents(b, l, op, buffers.sources);
  CoefficientEmitter emitter(op, extents, buffers.sources);
  // Values of the row that entries use are computed once, before them.
  emitter.planLevels({N, N, N, N, 0, 0}, N);
  // The bound is the same for all lanes of a warp, so the shuffles inside
  // run with the whole warp.
  Value inRange = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, item,
                                        rowItems(b, l, extents, Value()));
  auto guard = scf::IfOp::create(b, l, inRange, /*withElseRegion=*/false);
  b.setInsertionPoint(guard.thenBlock()->getTerminator());

  Scope row;
  bindRowItem(b, l, row, item, extents, /*packed=*/false);
  for (Value v : emitter.plannedAt(0))
    emitter.emit(b, l, v, row);
  bool perEntryDecay = emitter.dependences(yield.getRole(YieldOp::kDecay)) & N;
  Value rowDecay = perEntryDecay ? Value() : decayAt(b, l, op, emitter, row);

  // One state entry: loaded values, then the update, split so that the
  // register path issues every load of a lane before its first store.
  OpOperand &stateOperand = op.getStateMutable()[0];
  struct Entry {
    Scope scope;
    SmallVector<Value> at;
    Value h, decay, input, query;
  };
  auto loadEntry = [&](OpBuilder &b, Value n, Entry &e) {
    e.scope.index[kN] = n;
    e.at = emitter.indicesOf(b, l, stateOperand, e.scope);
    e.h = loadAs(b, l, buffers.state, e.at, ct);
    e.input = emitter.emitInput(b, l, e.scope);
    e.query = emitter.emit(b, l, yield.getRole(YieldOp::kQuery), e.scope);
    e.decay = rowDecay ? rowDecay : decayAt(b, l, op, emitter, e.scope);
  };
  auto updateEntry = [&](OpBuilder &b, const Entry &e, Value acc) {
    Value h = arith::AddFOp::create(
        b, l, arith::MulFOp::create(b, l, e.decay, e.h), e.input);
    storeAs(b, l, h, buffers.state, e.at);
    return buildReductionFMA(b, l, acc, h, e.query);
  };

  Value acc = buildFloat(b, l, ct, 0.0);
  int64_t n = op.getStaticExtents()[kN];
  if (!ShapedType::isDynamic(n) && n % kWarpSize == 0 &&
      n / kWarpSize <= kMaxEntriesPerLane) {
    SmallVector<Entry> entries;
    for (int64_t k = 0; k < n / kWarpSize; ++k)
      entries.push_back(Entry{Scope(&row), {}, {}, {}, {}, {}});
    for (auto [k, e] : llvm::enumerate(entries))
      loadEntry(b, arith::AddIOp::create(b, l, lane, index(k * kWarpSize)), e);
    for (const Entry &e : entries)
      acc = updateEntry(b, e, acc);
  } else {
    auto loop = scf::ForOp::create(
        b, l, lane, extents[kN], index(kWarpSize), ValueRange{acc},
        [&](OpBuilder &b, Location, Value ni, ValueRange carried) {
          Entry e{Scope(&row), {}, {}, {}, {}, {}};
          loadEntry(b, ni, e);
          scf::YieldOp::create(b, l, updateEntry(b, e, carried[0]));
        });
    acc = loop.getResult(0);
  }
  Value y = warpSum(b, l, acc);

  Value first =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, lane, index(0));
  auto writer = scf::IfOp::create(b, l, first, /*withElseRegion=*/false);
  b.setInsertionPoint(writer.thenBlock()->getTerminator());
  Scope out(&row);
  y = arith::AddFOp::create(
      b, l, y, emitter.emit(b, l, yield.getRole(YieldOp::kSkip), out));
  if (Value gate = yield.getRole(YieldOp::kGate))
    y = arith::MulFOp::create(b, l, y, emitter.emit(b, l, gate, out));
  storeAs(b, l, y, buffers.y, emitter.indicesOf(b, l, op.getYInitMutable(), out));
}

struct LowerDecode : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasDim(RecurrenceOp::kT) || !op.getState() || op.getReset() ||
        op.getSeqIdx() || op.getCuSeqlens())
      return rewriter.notifyMatchFailure(op, "not a decode step");
    RecurrenceKernel kernel(rewriter, op, /*inPlace=*/true);
    kernel.launchWarps(rewriter, kWarpsPerBlock,
                       [&](OpBuilder &b, Location l, ArrayRef<Value> args) {
                         buildDecode(b, l, op, kernel, args);
                       });
    return success();
  }
};

} // namespace

void gpu_lowering::populateDecodePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerDecode>(patterns.getContext());
}
