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

/// Tiles `op` by `sizes` (0: not tiled) into an scf.forall, which runs on
/// the runtime's pool.
LogicalResult tileToForall(IRRewriter &rewriter, TilingInterface op,
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
  return success();
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
    for (RecurrenceOp op : ops) {
      // One (row, group, head) per tile; the configured state rows, or the
      // whole head (size 0: not tiled) for the chunked form, whose work
      // item is a head.
      int64_t rows = 0;
      if (op.getForm() != RecurrenceForm::chunked && op.getTileAttr())
        rows = op.getTileAttr().getInt();
      if (failed(tileToForall(rewriter, cast<TilingInterface>(op.getOperation()),
                              {1, 1, 1, rows})))
        return signalPassFailure();
    }
    // Transposes in blocks: each dimension that moves in kTransposeBlock
    // steps, each that stays in steps of 1.
    SmallVector<linalg::TransposeOp> transposes;
    getOperation()->walk([&](linalg::TransposeOp op) {
      if (!op->getParentOfType<scf::ForallOp>() && op.hasPureTensorSemantics())
        transposes.push_back(op);
    });
    for (linalg::TransposeOp op : transposes) {
      SmallVector<int64_t> sizes;
      for (auto [k, from] : llvm::enumerate(op.getPermutation()))
        sizes.push_back(static_cast<int64_t>(k) == from ? 1 : kTransposeBlock);
      if (failed(tileToForall(rewriter, cast<TilingInterface>(op.getOperation()), sizes)))
        return signalPassFailure();
    }
  }
};

} // namespace
