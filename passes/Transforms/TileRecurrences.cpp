//===- TileRecurrences.cpp - ssm.recurrence into work items ---------------===//
//
// Part of ssmc. See the pass description in Passes.td: the ops'
// TilingInterface (dialects/SSM/IR/RecurrenceTiling.cpp, linalg's) and
// MLIR's tiling driver do the work; this pass only chooses the tile sizes.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/TileRecurrences.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMTILERECURRENCESPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Elements per side of a transpose's blocks: 16 f32 are a cache line, so
/// a block reads 16 whole lines and writes 16 whole lines. A transpose
/// copied whole walks one side with a stride of a row: at [512, 1536] each
/// read of the inner loop was a cache miss (about 5 ns per element).
constexpr int64_t kTransposeBlock = 16;

/// Fewest iterations of a linalg op's other loops that one of its work
/// items covers: a row of 768 f32 takes 6 rows per item. The pool hands
/// each thread a contiguous range of items, so the size only has to keep
/// the inner loops long enough to run vectorized.
constexpr int64_t kMinItemIterations = 4096;

/// Tile sizes that split a linalg op (elementwise ops, row reductions such
/// as a norm's sum of squares) into row blocks along its first parallel
/// loop that has more than one iteration, or nothing (empty) when the op
/// has no such loop. Contractions are left to the BLAS (matmul-to-blas),
/// and so are fills, which it reads as a product's beta = 0; transposes
/// take blocks (kTransposeBlock).
SmallVector<int64_t> rowBlocks(linalg::LinalgOp op) {
  if (isa<linalg::TransposeOp, linalg::FillOp>(op) ||
      linalg::isaContractionOpInterface(op) || linalg::isaConvolutionOpInterface(op))
    return {};
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  auto split = llvm::find_if(llvm::seq<size_t>(0, ranges.size()), [&](size_t k) {
    return iterators[k] == utils::IteratorType::parallel &&
           (ShapedType::isDynamic(ranges[k]) || ranges[k] > 1);
  });
  if (split == llvm::seq<size_t>(0, ranges.size()).end())
    return {};
  // Iterations per row of the split loop; a dynamic extent counts as long.
  int64_t perRow = 1;
  for (auto [k, range] : llvm::enumerate(ranges))
    if (k != *split)
      perRow = ShapedType::isDynamic(range)
                   ? kMinItemIterations
                   : std::min(perRow * range, kMinItemIterations);
  int64_t rows = llvm::divideCeil(kMinItemIterations, perRow);
  // One item would hold the whole op.
  if (!ShapedType::isDynamic(ranges[*split]) && ranges[*split] <= rows)
    return {};
  SmallVector<int64_t> sizes(ranges.size(), 0);
  sizes[*split] = rows;
  return sizes;
}

/// Whether `op` swaps the last two of three dimensions.
bool swapsLastTwo(linalg::TransposeOp op) {
  return op && op.hasPureTensorSemantics() &&
         op.getPermutation() == ArrayRef<int64_t>{0, 2, 1};
}

/// Tiles `op` by `sizes` (0: not tiled) into an scf.forall, which runs on
/// the runtime's pool. Returns the op's tile inside the loop.
FailureOr<Operation *> tileToForall(IRRewriter &rewriter, TilingInterface op,
                                    ArrayRef<int64_t> sizes) {
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  options.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(rewriter, op, options);
  // The op's TilingInterface and the driver reported why.
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  return tiled->tiledOps.front();
}

/// Tiles the linalg op `op` into row blocks. An input that is also the
/// op's destination through the same indexing map (a residual added in
/// place) is read from the loop's shared output: each item reads the block
/// it writes and no other, and reading the tensor from above instead would
/// make bufferization copy it, and the loop carrying it no longer update
/// it in place.
LogicalResult tileRows(IRRewriter &rewriter, linalg::LinalgOp op,
                       ArrayRef<int64_t> sizes) {
  SmallVector<std::pair<unsigned, unsigned>> inPlace;
  for (OpOperand *input : op.getDpsInputOperands())
    for (OpOperand &init : op.getDpsInitsMutable())
      if (input->get() == init.get() &&
          op.getMatchingIndexingMap(input) == op.getMatchingIndexingMap(&init))
        inPlace.push_back({input->getOperandNumber(), init.getOperandNumber()});
  FailureOr<Operation *> tile =
      tileToForall(rewriter, cast<TilingInterface>(op.getOperation()), sizes);
  if (failed(tile))
    return failure();
  for (auto [input, init] : inPlace)
    (*tile)->setOperand(input, (*tile)->getOperand(init));
  return success();
}

/// A result that is read collapsed (a model's [B, L, H, P] output read as
/// [B·L, H·P] rows) gets a destination allocated collapsed and expanded for
/// the op: bufferization then gives the rows' readers the buffer itself,
/// where a collapsed view of the 4-d buffer made them read through a
/// division and remainder per element, which LLVM cannot bound, so the
/// loops of an op on the pool's work items (whose buffers it cannot prove
/// apart) stayed scalar.
void allocateCollapsed(IRRewriter &rewriter, Operation *root) {
  SmallVector<tensor::CollapseShapeOp> collapses;
  root->walk([&](tensor::CollapseShapeOp op) { collapses.push_back(op); });
  for (tensor::CollapseShapeOp collapse : collapses) {
    auto result = dyn_cast<OpResult>(collapse.getSrc());
    auto producer = result ? dyn_cast<DestinationStyleOpInterface>(result.getOwner())
                           : DestinationStyleOpInterface();
    if (!producer)
      continue;
    OpOperand *init = producer.getTiedOpOperand(result);
    auto empty = init ? init->get().getDefiningOp<tensor::EmptyOp>() : tensor::EmptyOp();
    if (!empty || !empty->hasOneUse())
      continue;
    Location loc = empty.getLoc();
    rewriter.setInsertionPoint(empty);
    SmallVector<OpFoldResult> sizes = empty.getMixedSizes(), collapsed;
    for (const ReassociationIndices &group : collapse.getReassociationIndices()) {
      OpFoldResult size = rewriter.getIndexAttr(1);
      for (int64_t dim : group)
        size = affine::makeComposedFoldedAffineApply(
            rewriter, loc,
            rewriter.getAffineSymbolExpr(0) * rewriter.getAffineSymbolExpr(1),
            {size, sizes[dim]});
      collapsed.push_back(size);
    }
    Value alloc = tensor::EmptyOp::create(rewriter, loc, collapsed,
                                          empty.getType().getElementType());
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
        empty, empty.getType(), alloc, collapse.getReassociationIndices(), sizes);
  }
}

} // namespace

std::optional<TokensMajorConvolution> ssm::tokensMajor(CausalConv1dOp op) {
  auto input = op.getX().getDefiningOp<linalg::TransposeOp>();
  if (!swapsLastTwo(input) || !op.getOut().hasOneUse())
    return std::nullopt;
  auto output = dyn_cast<linalg::TransposeOp>(*op.getOut().user_begin());
  if (!swapsLastTwo(output) || output.getInput() != op.getOut())
    return std::nullopt;
  return TokensMajorConvolution{input, output};
}

namespace {

/// Heads of a group in a work item of the chunked form: its chunks run head
/// by head, so that the group's keys and queries of a chunk (and the
/// unmasked scores, when no head changes them) serve them all, which makes
/// a head 1.2-1.3x faster. Blocks of at most kChunkedHeads, but at least
/// kMinItemsPerRow work items per batch row while there are heads to make
/// them, so that a pool of that many threads still has work at batch 1
/// (the thread count is only known at run time); blocks as even as the
/// heads allow. 48 heads in one group: 12 blocks of 4; 24: 8 blocks of 3;
/// 8 or fewer: one head each.
int64_t chunkedHeads(RecurrenceOp op) {
  constexpr int64_t kChunkedHeads = 4, kMinItemsPerRow = 8;
  SmallVector<int64_t> extents = op.getStaticExtents();
  int64_t heads = extents[RecurrenceOp::kR], groups = extents[RecurrenceOp::kG];
  if (ShapedType::isDynamic(heads))
    return kChunkedHeads;
  int64_t blocks = llvm::divideCeil(heads, kChunkedHeads);
  if (!ShapedType::isDynamic(groups))
    blocks = std::max<int64_t>(blocks, llvm::divideCeil(kMinItemsPerRow, groups));
  return llvm::divideCeil(heads, std::min<int64_t>(blocks, heads));
}

struct SSMTileRecurrencesPass
    : ssm::impl::SSMTileRecurrencesPassBase<SSMTileRecurrencesPass> {
  void runOnOperation() override {
    SmallVector<RecurrenceOp> ops;
    // An op inside an scf.forall is a tile already.
    getOperation()->walk([&](RecurrenceOp op) {
      if (!op->getParentOfType<scf::ForallOp>())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    allocateCollapsed(rewriter, getOperation());
    for (RecurrenceOp op : ops) {
      // Sizes along (b, g, r, p), the iteration domain: one (row, group,
      // head) per tile and the configured state rows; for the chunked
      // form, a block of whole heads (p's size 0: not tiled).
      SmallVector<int64_t> sizes{1, 1, 1, 0};
      if (op.getForm() == RecurrenceForm::chunked)
        sizes[2] = chunkedHeads(op);
      else if (op.getTileAttr())
        sizes[3] = op.getTileAttr().getInt();
      if (failed(tileToForall(rewriter, cast<TilingInterface>(op.getOperation()),
                              sizes)))
        return signalPassFailure();
    }
    // Transposes in blocks: each dimension that moves in kTransposeBlock
    // steps, each that stays in steps of 1.
    llvm::SmallPtrSet<Operation *, 4> convolutions;
    getOperation()->walk([&](CausalConv1dOp op) {
      if (std::optional<TokensMajorConvolution> layout = tokensMajor(op))
        convolutions.insert({layout->input, layout->output});
    });
    SmallVector<linalg::TransposeOp> transposes;
    getOperation()->walk([&](linalg::TransposeOp op) {
      if (!op->getParentOfType<scf::ForallOp>() && op.hasPureTensorSemantics() &&
          !convolutions.contains(op))
        transposes.push_back(op);
    });
    for (linalg::TransposeOp op : transposes) {
      SmallVector<int64_t> sizes;
      for (auto [k, from] : llvm::enumerate(op.getPermutation()))
        sizes.push_back(static_cast<int64_t>(k) == from ? 1 : kTransposeBlock);
      if (failed(tileToForall(rewriter, cast<TilingInterface>(op.getOperation()), sizes)))
        return signalPassFailure();
    }
    // The other linalg ops in row blocks. Without them, a model's norms and
    // gates ran on one thread: 14 % of a two-thread Mamba-2 prefill.
    SmallVector<std::pair<linalg::LinalgOp, SmallVector<int64_t>>> rowOps;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<scf::ForallOp>() || !op.hasPureTensorSemantics())
        return;
      if (SmallVector<int64_t> sizes = rowBlocks(op); !sizes.empty())
        rowOps.push_back({op, std::move(sizes)});
    });
    for (auto &[op, sizes] : rowOps)
      if (failed(tileRows(rewriter, op, sizes)))
        return signalPassFailure();
  }
};

} // namespace
