//===- Configuration.h - How each ssm.recurrence is computed ----*- C++ -*-===//
//
// Part of ssmc. The configuration step of each target (ssm-select-algorithm
// for the CPU, ssm-select-gpu-algorithm for NVIDIA GPUs), its vocabulary,
// and the rules the lowerings share with it.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_CONFIGURATION_H
#define SSM_TRANSFORMS_CONFIGURATION_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Pass/Pass.h"
#include "llvm/Support/CommandLine.h"

namespace mlir {
namespace ssm {

/// What ssm-select-algorithm gives `ssm.ssd` ops that have no `algorithm`:
/// the cost model's choice, or one form for all of them.
enum class SSDAlgorithmChoice { automatic, recurrent, chunked };

/// The command-line spellings of SSDAlgorithmChoice (ssm-select-algorithm's
/// `force`, ssm-cpu-bufferize's and ssmc's `ssd-algorithm`).
inline llvm::cl::ValuesClass ssdAlgorithmValues() {
  return llvm::cl::values(
      clEnumValN(SSDAlgorithmChoice::automatic, "auto",
                 "choose per op and shape by the cost model "
                 "(ssm-select-algorithm)"),
      clEnumValN(SSDAlgorithmChoice::recurrent, "recurrent",
                 "the recurrence, step by step"),
      clEnumValN(SSDAlgorithmChoice::chunked, "chunked",
                 "chunks of matmuls (state-space duality)"));
}

/// The NVIDIA architectures the GPU kernels are compiled for.
enum class GPUChip {
  /// Ampere: tensor cores through mma.sync.
  sm_80,
  /// Hopper without its architecture-specific features (same kernels).
  sm_90,
  /// Hopper with wgmma, for the chunked SSD.
  sm_90a,
};

/// The name NVVM and ptxas know `chip` by ("sm_90a").
StringRef stringifyGPUChip(GPUChip chip);

/// How the GPU's chunked SSD covers a row's chunks: the `spans` that
/// ssm-select-gpu-algorithm records.
enum class SSDChunkOrder {
  /// In parallel when the one-kernel grid is small (few rows and heads),
  /// else in order (the configuration's rule).
  Automatic,
  /// One kernel: a block per (row, head, channel tile) walks the chunks.
  Sequential,
  /// Three kernels: chunk states, state passing, chunk outputs.
  Parallel,
};

/// The command-line spellings of GPUChip and SSDChunkOrder, for every
/// option that takes one (ssm-select-gpu-algorithm, convert-ssm-to-gpu,
/// ssm-gpu-to-nvvm, ssmc).
inline llvm::cl::ValuesClass gpuChipValues() {
  return llvm::cl::values(
      clEnumValN(GPUChip::sm_80, "sm_80", "Ampere (A100): mma.sync"),
      clEnumValN(GPUChip::sm_90, "sm_90", "Hopper (H100, H200), portable kernels"),
      clEnumValN(GPUChip::sm_90a, "sm_90a",
                 "Hopper with wgmma for the chunked SSD; runs on sm_90 "
                 "devices only"));
}
inline llvm::cl::ValuesClass ssdChunkOrderValues() {
  return llvm::cl::values(
      clEnumValN(SSDChunkOrder::Automatic, "auto",
                 "in parallel when the batch rows and heads are too few to "
                 "fill the GPU"),
      clEnumValN(SSDChunkOrder::Sequential, "sequential",
                 "one kernel walks them, carrying the state"),
      clEnumValN(SSDChunkOrder::Parallel, "parallel",
                 "chunk states, state passing and chunk outputs: three kernels"));
}

#define GEN_PASS_DECL_SSMSELECTALGORITHMPASS
#define GEN_PASS_DECL_SSMSELECTGPUALGORITHMPASS
#include "ssm/Transforms/Passes.h.inc"

/// The state rows one work item of the CPU forms owns (ssm-select-algorithm
/// records it as `tile`); nullopt: a whole head of dynamic size.
std::optional<int64_t> cpuTile(RecurrenceOp op);

/// The shape of the CPU's chunked form: what ssm-select-algorithm's cost
/// model weighs and convert-ssm-to-scf builds.
namespace cpu_chunked {
/// The vector width of its register tiles, in bits (AVX-512): a head's P
/// channels take whole vectors.
constexpr int64_t kVectorBits = 512;
} // namespace cpu_chunked

/// The shapes of the GPU's chunked kernels: what ssm-select-gpu-algorithm
/// chooses from and convert-ssm-to-gpu builds.
namespace gpu_chunked {
/// Head channels per block (`tile`) of the mma.sync kernel: the M of one
/// m16n8k16 tile of the state.
constexpr int64_t kChannelTile = 16;
/// The wgmma kernel's chunk length and head channels per block: M = 64 of
/// wgmma, for the score tile (Q rows) and the state tile (channel rows).
constexpr int64_t kWarpgroupChunk = 64;
constexpr int64_t kWarpgroupChannels = 64;
/// Steps of a span, the unit of `spans parallel`: a block's work and one
/// state in device memory (mamba_ssm's chunk of 256). Longer spans save
/// memory (the states take 4 B N H P per span and row), shorter ones give
/// more blocks.
constexpr int64_t kStepsPerSpan = 256;
} // namespace gpu_chunked

/// Whether the GPU's chunked kernels for `chip` compute `op` in chunks of
/// `chunk` steps with blocks of `tile` head channels (kChannelTile:
/// mma.sync; kWarpgroupChannels: wgmma, sm_90a only). convert-ssm-to-gpu
/// checks the recorded configuration with it.
bool fitsGPUChunkedKernel(RecurrenceOp op, int64_t chunk, int64_t tile,
                          GPUChip chip);

/// Records on `op` how the GPU kernels for `chip` compute it
/// (ssm-select-gpu-algorithm's rules), unless it is configured for a GPU
/// already: `form` (chunkable ops), and for the chunked form `chunk_size`,
/// `tile` and `spans` (by `order`). convert-ssm-to-gpu applies it, with
/// the automatic order, to ops that nobody configured.
void configureForGPU(RecurrenceOp op, GPUChip chip,
                     SSDChunkOrder order = SSDChunkOrder::Automatic);

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_CONFIGURATION_H
