//===- LoopHelpers.h - Helpers shared by the loop lowerings -----*- C++ -*-===//
//
// Part of ssmc. Private to passes/Conversion/SSMToSCF: what the lowerings of
// different op families (SSMToSCF.cpp, LowerRecurrence.cpp, ChunkedForm.cpp) build alike.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_PASSES_CONVERSION_SSMTOSCF_LOOPHELPERS_H
#define SSM_PASSES_CONVERSION_SSMTOSCF_LOOPHELPERS_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm::lowering {

/// Reads element `indices` of `tensor` converted to `ct`.
Value load(OpBuilder &b, Location loc, Value tensor, ValueRange indices,
           Type ct);

/// A loop over [lb, ub) by 1 with no results whose body is `body(iv)`.
void forRange(OpBuilder &b, Location loc, Value lb, Value ub,
              function_ref<void(OpBuilder &, Location, Value)> body);

/// The side of the square blocks transposeBlock() moves: 16 lanes, an
/// AVX-512 register of f32.
constexpr int64_t kTransposeSide = 16;

/// Copies the kTransposeSide x kTransposeSide block of the 2-d buffer
/// `from` at (fromRow, fromCol) transposed into `to` at (toRow, toCol):
/// kTransposeSide vector loads of its rows, log2(16) = 4 stages of 16
/// shuffles in registers (stage k exchanges bit k of the row index with bit
/// k of the column index) and kTransposeSide vector stores of its columns.
/// No element goes through memory alone, where a strided copy of a block
/// stores element by element (or by scatter).
void transposeBlock(OpBuilder &b, Location loc, Value from, Value fromRow, Value fromCol,
                    Value to, Value toRow, Value toCol);

/// A scratch buffer of element type `type` and extents `sizes` (index
/// values; static where they are constants), aligned to a cache line: rows
/// loaded and stored whole then never straddle two lines.
Value allocScratch(OpBuilder &b, Location loc, ArrayRef<Value> sizes, Type type);

/// Replaces `op` by the output (and the final state when `op` returns one),
/// cast to the result types `op` declares where the loops inferred a more
/// static shape.
void replaceWithOutputs(PatternRewriter &rewriter, Operation *op, Value output,
                        Value finalState);

/// The steps [begin, end) of packed sequence `row`: cu_seqlens[row] and
/// cu_seqlens[row + 1] as indices, with a run-time check (cf.assert) that
/// 0 <= begin <= end <= `length`, so that a malformed pack stops with a
/// message instead of reading outside x.
std::pair<Value, Value> sequenceBounds(OpBuilder &b, Location loc, Value cuSeqlens,
                                       Value row, Value length);

/// The outermost loop of a lowering: one scf.for over `rows` × `cols`
/// work items. `body` builds one item from its (row, col) and the carried
/// tensors, and returns the values to yield. Work items run in parallel as
/// the tiles of ssm-tile-recurrences, one per op, each with one item.
scf::ForOp buildItemLoop(
    OpBuilder &b, Location loc, Value rows, Value cols, ValueRange carried,
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value,
                                   ValueRange)>
        body);

/// Adds the CPU kernel forms of `ssm.recurrence` (LowerRecurrence.cpp).
void populateRecurrencePatterns(RewritePatternSet &patterns);

/// Adds the CPU chunked (state-space duality) form of `ssm.recurrence` ops
/// marked `form = chunked` (ChunkedForm.cpp).
void populateChunkedPatterns(RewritePatternSet &patterns);

} // namespace mlir::ssm::lowering

#endif // SSM_PASSES_CONVERSION_SSMTOSCF_LOOPHELPERS_H
