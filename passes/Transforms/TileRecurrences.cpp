//===- TileRecurrences.cpp - ssm.recurrence into work items ---------------===//
//
// Part of ssmc. See the pass description in Passes.td: the op's
// TilingInterface (dialects/SSM/IR/RecurrenceTiling.cpp) and MLIR's tiling
// driver do the work; this pass only chooses the tile sizes.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/TileRecurrences.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
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
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setTileSizes(getAsIndexOpFoldResult(&getContext(), {1, 1, 1, rows}));
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      // The op's TilingInterface and the driver reported why.
      if (failed(tiled))
        return signalPassFailure();
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};

} // namespace
