//===- SelectAlgorithm.cpp - The configuration of ssm.recurrence ----------===//
//
// Part of ssmc. The configuration step for each target: what the kernel
// forms of the CPU (ssm-select-algorithm) and of the GPU
// (ssm-select-gpu-algorithm) read from the core op. See the pass
// descriptions in Passes.td for the rules; the CPU's constants are
// measurements of both lowerings (docs/performance.md), the GPU's are
// guesses until the kernels are timed on a GPU.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Configuration.h"

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
#define GEN_PASS_DEF_SSMSELECTGPUALGORITHMPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::gpu_chunked;

namespace {

// Nanoseconds per (row, head) and step, fitted to one core's times of both
// lowerings (docs/performance.md, "The cost model"). The recurrent
// lowering works on the head's P channels as one vector from P = 8
// (scalar loops below); the chunked form on P rounded up to whole vectors.
constexpr int64_t kRecurrentVectorP = 8;
constexpr double kRecurrentScalarPerElement = 0.175;
constexpr double kRecurrentPerElement = 0.032, kRecurrentPerStep = 37;
/// Slowdowns of the recurrence: heads wider than 64 channels (measured at
/// P = 128), a state of more than 32 KiB (no longer in L1 with the step's
/// rows, on Zen 4's 32 KiB as on Sapphire Rapids' 48 KiB), B and C out of
/// L2.
constexpr int64_t kRecurrentWidestP = 64;
constexpr double kRecurrentWideHead = 1.7, kRecurrentStateOutOfL1 = 1.7,
                 kRecurrentOutOfL2 = 1.18;
constexpr double kStateL1Bytes = 32 * 1024;
/// The chunked form: per element of the state and step (C·h and the
/// update), per element and chunk (the state's trips through the cache
/// between a work item's heads, its decay), per intra-chunk product, per
/// step; B and C out of L2 slow it down less than the recurrence.
constexpr double kChunkedStatePerElement = 0.0143, kChunkedPerChunk = 0.192,
                 kChunkedIntraPerElement = 0.0136, kChunkedPerStep = 48.8,
                 kChunkedOutOfL2 = 1.1;
/// Fitted: the chunk working set beyond which the intra-chunk term slows
/// down in proportion (the rows of B and x stop staying close to L1).
constexpr double kChunkWorkingSetBytes = 64 * 1024;
constexpr double kL2Bytes = 1024 * 1024;
/// State rows per work item of a diagonal transition: one AVX-512 vector of
/// f32 (two AVX2 ones).
constexpr int64_t kDiagonalTile = 16;

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
  int64_t bits = op.getComputeType().getIntOrFloatBitWidth();
  double recurrent = state * kRecurrentScalarPerElement;
  if (P >= kRecurrentVectorP) {
    recurrent = (state * kRecurrentPerElement + kRecurrentPerStep) *
                (P > kRecurrentWidestP ? kRecurrentWideHead : 1.0) *
                (state * bits / 8 > kStateL1Bytes ? kRecurrentStateOutOfL1 : 1.0) *
                (streams ? kRecurrentOutOfL2 : 1.0);
  }
  int64_t lanes = std::max<int64_t>(1, cpu_chunked::kVectorBits / bits);
  double panels = double(llvm::alignTo(P, lanes));
  double spill = std::max(1.0, double(q) * (N + panels) * 4 / kChunkWorkingSetBytes);
  double chunked =
      (panels * N * (kChunkedStatePerElement + kChunkedPerChunk / double(q)) +
       double(q + 1) * (N + panels) * kChunkedIntraPerElement * spill +
       kChunkedPerStep) *
      (streams ? kChunkedOutOfL2 : 1.0);
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
      if (op.getForm() || !op.allowsChunkedForm())
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

//===----------------------------------------------------------------------===//
// GPU
//===----------------------------------------------------------------------===//

/// Ops without a `form` take the chunked kernel from this many steps on, or
/// when L is dynamic (a prefill); shorter static sequences keep the
/// recurrence, whose 4x more blocks have no chunk to fill first. A guess:
/// neither kernel has been timed on a GPU.
constexpr int64_t kChunkedFromLength = 128;

/// Static workgroup memory a block may use without the opt-in of dynamic
/// shared memory, all the mma.sync kernel takes.
constexpr int64_t kStaticSharedBytes = 48 * 1024;

/// Blocks of the GPU the spans of a row run in parallel below: with
/// fewer (row, head, channel tile) blocks than this, a block per span
/// (two H100s' worth of 132 SMs: a guess, nothing was timed).
constexpr int64_t kParallelSpansBelowBlocks = 2 * 132;

/// Workgroup bytes of the mma.sync kernel for chunk length `q` and state
/// size `n`: C, B (q x n), δx and its weighted transpose (q x 16), M
/// (q x q) and the state copy (16 x n) in f16; log decays and cum (q) in
/// f32.
int64_t mmaSyncSharedBytes(int64_t q, int64_t n) {
  return 2 * (2 * q * n + 2 * q * kChannelTile + q * q + kChannelTile * n) +
         4 * 2 * q;
}

/// The chunked kernel for `op` on `chip`, as (chunk length, tile): the
/// wgmma kernel where it fits, else the mma.sync kernel with the longer of
/// its chunks, within the op's chunk_size (when it names one: the default
/// of ssm.ssd is 256). Any length gives the same map, so the choice is
/// free. Nothing when neither kernel computes the op.
std::optional<std::pair<int64_t, int64_t>> chooseChunkedKernel(RecurrenceOp op,
                                                               GPUChip chip) {
  for (auto [chunk, tile] :
       {std::pair{kWarpgroupChunk, kWarpgroupChannels},
        std::pair<int64_t, int64_t>{64, kChannelTile},
        std::pair<int64_t, int64_t>{32, kChannelTile}})
    if ((!op.getChunkSize() || chunk <= static_cast<int64_t>(*op.getChunkSize())) &&
        fitsGPUChunkedKernel(op, chunk, tile, chip))
      return std::pair{chunk, tile};
  return std::nullopt;
}

/// Whether the spans of `op` run in parallel (three kernels) or its chunks
/// in order (one): `order` when given, else in parallel unless the static
/// sequence is a single span or the static grid of the one kernel, with
/// `tile` channels per block, fills the GPU. Packed sequences
/// (`cu_seqlens`) walk their chunks in order.
bool spansInParallel(RecurrenceOp op, SSDChunkOrder order, int64_t tile) {
  if (op.getCuSeqlens() || order == SSDChunkOrder::Sequential)
    return false;
  if (order == SSDChunkOrder::Parallel)
    return true;
  SmallVector<int64_t> extents = op.getStaticExtents();
  int64_t length = extents[RecurrenceOp::kT], rows = extents[RecurrenceOp::kB];
  if (!ShapedType::isDynamic(length) && length <= kStepsPerSpan)
    return false;
  if (ShapedType::isDynamic(rows))
    return true;
  // In doubles: static sizes may be large enough for the product to wrap.
  return double(rows) * double(extents[RecurrenceOp::kG]) *
             double(extents[RecurrenceOp::kR]) *
             double(extents[RecurrenceOp::kP] / tile) <
         double(kParallelSpansBelowBlocks);
}

struct SSMSelectGPUAlgorithmPass
    : ssm::impl::SSMSelectGPUAlgorithmPassBase<SSMSelectGPUAlgorithmPass> {
  using Base::Base;

  void runOnOperation() override {
    getOperation()->walk(
        [&](RecurrenceOp op) { configureForGPU(op, chip, ssdChunks); });
  }
};

} // namespace

bool mlir::ssm::fitsGPUChunkedKernel(RecurrenceOp op, int64_t chunk,
                                     int64_t tile, GPUChip chip) {
  if (!op.allowsChunkedForm() || !op.getComputeType().isF32())
    return false;
  SmallVector<int64_t> extents = op.getStaticExtents();
  int64_t p = extents[RecurrenceOp::kP], n = extents[RecurrenceOp::kN];
  // The state-passing kernel splits the head index into (g, r).
  if (ShapedType::isDynamic(extents[RecurrenceOp::kG]) ||
      ShapedType::isDynamic(extents[RecurrenceOp::kR]) ||
      ShapedType::isDynamic(p) || ShapedType::isDynamic(n))
    return false;
  // Both kernels: whole 16-channel tiles, and N in state tiles of 8
  // columns spread evenly over the 4 warps, at most 256; wgmma's K step
  // (16) and largest N (256, for the state update) are within that.
  if (p % kChannelTile != 0 || n % 32 != 0 || n > 256)
    return false;
  // 128 would need more than 48 KB for any N (M alone takes 32 KB).
  if (tile == kChannelTile)
    return (chunk == 64 || chunk == 32) &&
           mmaSyncSharedBytes(chunk, n) <= kStaticSharedBytes;
  return tile == kWarpgroupChannels && chip == GPUChip::sm_90a &&
         p % kWarpgroupChannels == 0 && chunk == kWarpgroupChunk;
}

void mlir::ssm::configureForGPU(RecurrenceOp op, GPUChip chip,
                                SSDChunkOrder order) {
  if (op.getSpans() || op.getForm() == RecurrenceForm::recurrent ||
      !op.allowsChunkedForm())
    return;
  int64_t length = op.getStaticExtents()[RecurrenceOp::kT];
  // The op is chunkable and its form, if any, chunked.
  bool wanted = op.getForm() || ShapedType::isDynamic(length) ||
                length >= kChunkedFromLength;
  std::optional<std::pair<int64_t, int64_t>> kernel;
  if (wanted)
    kernel = chooseChunkedKernel(op, chip);
  if (!kernel) {
    op.setForm(RecurrenceForm::recurrent);
    return;
  }
  auto [chunk, tile] = *kernel;
  op.setForm(RecurrenceForm::chunked);
  op.setChunkSize(chunk);
  op.setTile(tile);
  op.setSpans(spansInParallel(op, order, tile) ? SpanOrder::parallel
                                               : SpanOrder::sequential);
}

StringRef mlir::ssm::stringifyGPUChip(GPUChip chip) {
  switch (chip) {
  case GPUChip::sm_80:
    return "sm_80";
  case GPUChip::sm_90:
    return "sm_90";
  case GPUChip::sm_90a:
    return "sm_90a";
  }
  llvm_unreachable("unknown GPU chip");
}

std::optional<int64_t> mlir::ssm::cpuTile(RecurrenceOp op) {
  int64_t rows = op.getStaticExtents()[RecurrenceOp::kP];
  if (op.getTransition() == Transition::scalar)
    return ShapedType::isDynamic(rows) ? std::nullopt : std::optional<int64_t>(rows);
  return ShapedType::isDynamic(rows) ? kDiagonalTile : std::min(rows, kDiagonalTile);
}
