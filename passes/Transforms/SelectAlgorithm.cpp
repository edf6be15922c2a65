//===- SelectAlgorithm.cpp - The CPU configuration of ssm.recurrence ------===//
//
// Part of ssmc. See the pass description in Passes.td for the cost model;
// its constants are measurements of both lowerings (docs/performance.md).
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Passes.h"

#include <algorithm>
#include <optional>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMSELECTALGORITHMPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

// Nanoseconds, measured on one core (see the pass description). The
// recurrent lowering works on the head's P channels as one vector: full
// width from P = 32, narrower from P = 8, scalar loops below.
constexpr int64_t kRecurrentFullWidthP = 32, kRecurrentVectorP = 8;
constexpr double kRecurrentPerElement = 0.054;
constexpr double kRecurrentPerElementOutOfL2 = 0.067;
constexpr double kRecurrentNarrowPerElement = 0.09;
constexpr double kRecurrentScalarPerElement = 0.175;
constexpr double kChunkedStatePerElement = 0.06;
constexpr double kChunkedIntraPerElement = 0.036;
/// Fitted: the chunk working set beyond which the intra-chunk term slows
/// down in proportion (the rows of B and x stop staying close to L1).
constexpr double kChunkWorkingSetBytes = 64 * 1024;
constexpr double kL2Bytes = 1024 * 1024;
/// State rows per work item of a diagonal transition: one AVX-512 vector of
/// f32 (two AVX2 ones).
constexpr int64_t kDiagonalTile = 16;

/// Whether `op` can take the chunked form (RecurrenceOp's verifier states
/// the same conditions for an op that names it).
bool chunkable(RecurrenceOp op) {
  return op.getTransition() == Transition::scalar && op.getLogDecay() &&
         op.getDirection() == Direction::forward && !op.getReset() &&
         op.hasDim(RecurrenceOp::kT);
}

/// The cost model's choice for `op`, or nullopt when it cannot weigh the
/// forms (dynamic P or N).
std::optional<RecurrenceForm> choose(RecurrenceOp op) {
  SmallVector<int64_t> extents = op.getStaticExtents();
  int64_t P = extents[RecurrenceOp::kP], N = extents[RecurrenceOp::kN],
          L = extents[RecurrenceOp::kT];
  if (ShapedType::isDynamic(P) || ShapedType::isDynamic(N))
    return std::nullopt;
  int64_t q = op.getChunkLength();
  if (!ShapedType::isDynamic(L))
    q = std::max<int64_t>(1, std::min(q, L));
  // A dynamic L is taken to be short enough for B and C to stay in L2.
  bool streams = !ShapedType::isDynamic(L) && 2.0 * L * N * 4 > kL2Bytes;
  double state = double(P) * N;
  double recurrent =
      state * (P < kRecurrentVectorP      ? kRecurrentScalarPerElement
               : P < kRecurrentFullWidthP ? kRecurrentNarrowPerElement
               : streams                  ? kRecurrentPerElementOutOfL2
                                          : kRecurrentPerElement);
  double spill = std::max(1.0, double(q) * (N + P) * 4 / kChunkWorkingSetBytes);
  double chunked = state * kChunkedStatePerElement +
                   double(q + 1) * (N + P) * kChunkedIntraPerElement * spill;
  return chunked < recurrent ? RecurrenceForm::chunked : RecurrenceForm::recurrent;
}

struct SSMSelectAlgorithmPass
    : ssm::impl::SSMSelectAlgorithmPassBase<SSMSelectAlgorithmPass> {
  using Base::Base;

  void runOnOperation() override {
    Builder builder(&getContext());
    getOperation()->walk([&](RecurrenceOp op) {
      if (!op.getTile())
        if (std::optional<int64_t> tile = cpuTile(op))
          op.setTile(*tile);
      if (op.getForm() || !chunkable(op))
        return;
      RecurrenceForm form = RecurrenceForm::recurrent;
      switch (force) {
      case SSDAlgorithmChoice::automatic:
        form = choose(op).value_or(RecurrenceForm::recurrent);
        break;
      case SSDAlgorithmChoice::recurrent:
        form = RecurrenceForm::recurrent;
        break;
      case SSDAlgorithmChoice::chunked:
        form = RecurrenceForm::chunked;
        break;
      }
      op.setForm(form);
    });
  }
};

} // namespace

std::optional<int64_t> mlir::ssm::cpuTile(RecurrenceOp op) {
  int64_t rows = op.getStaticExtents()[RecurrenceOp::kP];
  if (op.getTransition() == Transition::scalar)
    return ShapedType::isDynamic(rows) ? std::nullopt : std::optional<int64_t>(rows);
  return ShapedType::isDynamic(rows) ? kDiagonalTile : std::min(rows, kDiagonalTile);
}
