//===- Passes.h - Conversions out of the ssm dialect ------------*- C++ -*-===//
//
// Part of ssmc. Conversion pass constructors and registration, generated
// from Passes.td, and the pattern sets they are made of.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_H
#define SSM_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include <optional>

namespace mlir {
class RewritePatternSet;
namespace ssm {

#define GEN_PASS_DECL
#include "ssm/Conversion/Passes.h.inc"

/// Adds the patterns that lower `ssm.discretize` to `linalg.generic` and
/// `ssm.scan` to `scf.for` loops on tensors.
void populateSSMToSCFConversionPatterns(RewritePatternSet &patterns);

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

/// Choices of the GPU kernels.
struct GPULoweringOptions {
  /// The chunked SSD on wgmma (sm_90a: Hopper's architecture-specific
  /// features) where the op fits that kernel.
  bool warpgroupMma = false;
  SSDChunkOrder ssdChunks = SSDChunkOrder::Automatic;

  /// The options for NVIDIA architecture `chip` (sm_80, sm_90, sm_90a).
  /// The options for the architecture `chip` (sm_80, sm_90 or sm_90a), or
  /// nullopt for any other name.
  static std::optional<GPULoweringOptions> forChip(StringRef chip) {
    if (chip != "sm_80" && chip != "sm_90" && chip != "sm_90a")
      return std::nullopt;
    GPULoweringOptions options;
    options.warpgroupMma = chip == "sm_90a";
    return options;
  }
};

/// The SSDChunkOrder named `name` (auto, sequential, parallel).
std::optional<SSDChunkOrder> parseSSDChunkOrder(StringRef name);

/// Adds the patterns that replace ssm ops by GPU kernel launches (every op
/// convert-ssm-to-gpu lowers).
void populateSSMToGPUConversionPatterns(RewritePatternSet &patterns,
                                        const GPULoweringOptions &options = {});

#define GEN_PASS_REGISTRATION
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_PASSES_H
