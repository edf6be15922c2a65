//===- Passes.h - Conversions out of the ssm dialect ------------*- C++ -*-===//
//
// Part of ssmc. Conversion pass constructors and registration, generated
// from Passes.td, and the pattern sets they are made of.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_H
#define SSM_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"
#include "llvm/Support/CommandLine.h"

namespace mlir {
class RewritePatternSet;
namespace ssm {

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

/// How the GPU's chunked SSD covers a row's chunks.
enum class SSDChunkOrder {
  /// In parallel when the one-kernel grid is small (few rows and heads),
  /// else in order.
  Automatic,
  /// One kernel: a block per (row, head, channel tile) walks the chunks.
  Sequential,
  /// Three kernels: chunk states, state passing, chunk outputs.
  Parallel,
};

/// The command-line spellings of GPUChip and SSDChunkOrder, for every
/// option that takes one (convert-ssm-to-gpu, ssm-gpu-to-nvvm, ssmc).
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

#define GEN_PASS_DECL
#include "ssm/Conversion/Passes.h.inc"

/// Adds the patterns that lower `ssm.discretize` to `linalg.generic` and
/// `ssm.scan` to `scf.for` loops on tensors.
void populateSSMToSCFConversionPatterns(RewritePatternSet &patterns);

/// Choices of the GPU kernels.
struct GPULoweringOptions {
  /// The chunked SSD on wgmma (sm_90a: Hopper's architecture-specific
  /// features) where the op fits that kernel.
  bool warpgroupMma = false;
  SSDChunkOrder ssdChunks = SSDChunkOrder::Automatic;

  /// The options for the architecture `chip`.
  static GPULoweringOptions forChip(GPUChip chip) {
    GPULoweringOptions options;
    options.warpgroupMma = chip == GPUChip::sm_90a;
    return options;
  }
};

/// Adds the patterns that replace ssm ops by GPU kernel launches (every op
/// convert-ssm-to-gpu lowers).
void populateSSMToGPUConversionPatterns(RewritePatternSet &patterns,
                                        const GPULoweringOptions &options = {});

#define GEN_PASS_REGISTRATION
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_PASSES_H
