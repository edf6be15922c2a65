//===- ModelImporter.h - Whole language models as ssm IR --------*- C++ -*-===//
//
// Part of ssmc. Builds, from a checked ModelDescription (MambaForCausalLM
// or Mamba2ForCausalLM), one MLIR module with two entry points, and writes
// the weights file those entry points read. docs/models.md describes the
// ABI and the weights file format (ssm/model_abi.h defines its constants).
//
//   <name>_prefill(weights, ids[B, L], conv_cache[B, *], ssm_cache[B, *])
//       -> logits[B, V] of the last position; the caches are overwritten
//          with the state after the prompts (B prompts of L tokens).
//   <name>_decode(weights, ids[B], conv_cache, ssm_cache) -> logits[B, V];
//          the caches are updated in place.
//
// The weights are one flat buffer of 4-byte words; each tensor sits at a
// 64-byte aligned offset, converted from the checkpoint's dtype to f32, with
// A stored as -exp(A_log) (what every forward pass computes first), or, for
// the large matrices when a packed format is chosen, packed as the runtime
// defines it (bf16, f16, q8_0, q4_0; ssm/model_abi.h).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_MODELIMPORTER_H
#define SSM_FRONTEND_MODELIMPORTER_H

#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Frontend/ModelDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::ssm {

/// Where each tensor lives in the weights buffer.
struct WeightsLayout {
  struct Slot {
    /// The checkpoint tensor it is read from.
    std::string name;
    /// The shape the IR uses (conv1d.weight [C, 1, W] becomes [C, W]).
    std::vector<int64_t> shape;
    /// In 4-byte words from the start of the buffer; a multiple of 16.
    uint64_t offset = 0;
    uint64_t numElements = 0;
    /// The words it takes: numElements for f32, else its packed bytes / 4,
    /// rounded up.
    uint64_t words = 0;
    /// A = -exp(A_log) instead of a plain copy.
    bool negExp = false;
    /// How a matrix is packed; none for f32.
    std::optional<WeightFormat> format;
  };
  std::vector<Slot> slots;
  uint64_t totalFloats = 0;
  /// FNV-1a over the names, shapes, offsets, formats and transforms: a
  /// library and a weights file that disagree on it were not made together.
  uint64_t hash = 0;

  /// Every tensor of `model`, in its table's order. With `packed`, the
  /// large matrices (embeddings, lm_head and the mixers' in_proj, x_proj
  /// and out_proj) are stored in that format, except where a block format
  /// does not divide their rows (they stay f32); the rest (norms, conv,
  /// A, D, dt_proj and the biases) stay f32 whatever the choice.
  static WeightsLayout forModel(const ModelDescription &model,
                                std::optional<WeightFormat> packed = {});
  /// The slot of the checkpoint tensor `name`, or nullptr.
  const Slot *find(llvm::StringRef name) const;
};

/// What the caller chooses about the imported module.
struct ModelImportOptions {
  /// Prefix of the entry points and of the info table.
  std::string name = "model";
};

/// Builds the whole model in `context` (ssm, linalg, tensor, arith, math,
/// scf, cf, memref and func ops; the dialects are loaded here), every op
/// located by the transformers module or checkpoint tensor it comes from.
/// `layout` must be WeightsLayout::forModel(model); an error (with a
/// message naming the tensor or op at fault) means the two disagree or the
/// importer built invalid IR, never that the model is bad: checkCheckpoint
/// has judged the model already.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildModelModule(mlir::MLIRContext &context, const ModelDescription &model,
                 const WeightsLayout &layout, const ModelImportOptions &options);

/// Writes the weights file of `layout` from `checkpoint` (which must have
/// passed checkCheckpoint for the same model).
llvm::Error writeWeightsFile(llvm::StringRef path, const WeightsLayout &layout,
                             const Checkpoint &checkpoint);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_MODELIMPORTER_H
