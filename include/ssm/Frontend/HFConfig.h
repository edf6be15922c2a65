//===- HFConfig.h - transformers' Mamba / Mamba-2 config.json ---*- C++ -*-===//
//
// Part of ssmc. Reads the config.json of a checkpoint saved by transformers'
// MambaForCausalLM (model_type "mamba") or Mamba2ForCausalLM ("mamba2"),
// applies transformers' defaults for the fields it may omit, derives the
// sizes the tensors depend on, and checks that they agree. Dimensions that
// define tensor shapes have no default here: a config without them is more
// likely truncated than meant to describe transformers' default model.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_HFCONFIG_H
#define SSM_FRONTEND_HFCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <limits>
#include <optional>

namespace mlir::ssm {

/// The model families the frontend reads.
enum class ModelType { Mamba, Mamba2 };

/// "mamba" or "mamba2", as in config.json's model_type.
llvm::StringRef modelTypeName(ModelType type);

/// The fields of MambaConfig / Mamba2Config that shape the model, with the
/// quantities transformers derives from them.
struct HFConfig {
  ModelType modelType = ModelType::Mamba;

  // Required for both families.
  int64_t hiddenSize = 0;
  int64_t stateSize = 0;
  int64_t numHiddenLayers = 0;
  int64_t vocabSize = 0;

  // Defaulted as transformers does.
  double expand = 2;           ///< intermediate_size = int(expand * hidden)
  int64_t convKernel = 4;
  bool useBias = false;        ///< in_proj and out_proj biases
  bool useConvBias = true;
  double layerNormEpsilon = 1e-5;
  bool residualInFp32 = true;
  /// True for Mamba (PretrainedConfig's default), false for Mamba-2
  /// (Mamba2Config's default).
  bool tieWordEmbeddings = true;
  /// "auto" (the default) means ceil(hidden_size / 16).
  int64_t timeStepRank = 0;
  /// mamba_ssm's vocabulary padding; transformers ignores it and so do we:
  /// vocab_size is already the padded size in saved configs. Recorded only.
  std::optional<int64_t> padVocabSizeMultiple;

  // Mamba-2 only. num_heads and head_dim are required for "mamba2".
  int64_t numHeads = 0;
  int64_t headDim = 0;
  int64_t nGroups = 8;
  int64_t chunkSize = 256;
  bool rmsNorm = true;
  bool normBeforeGate = false;
  double timeStepLimitLow = 0.0;
  double timeStepLimitHigh = std::numeric_limits<double>::infinity();

  /// int(expand * hidden_size): the channel count D of the mixer.
  int64_t intermediateSize = 0;

  /// Mamba-2's conv1d channels: intermediate + 2 * n_groups * state.
  int64_t convDim() const {
    return modelType == ModelType::Mamba2
               ? intermediateSize + 2 * nGroups * stateSize
               : intermediateSize;
  }
  /// Rows of in_proj.weight: 2 * intermediate for Mamba; intermediate +
  /// conv_dim + num_heads (that is 2*I + 2*G*N + H) for Mamba-2.
  int64_t inProjDim() const {
    return modelType == ModelType::Mamba2
               ? intermediateSize + convDim() + numHeads
               : 2 * intermediateSize;
  }
};

/// Parses the text of a config.json; `path` only names the source in errors.
/// Python's json writes float("inf") as the bare token Infinity (Mamba-2's
/// time_step_limit), which is accepted where a number is expected.
llvm::Expected<HFConfig> parseHFConfig(llvm::StringRef text,
                                       llvm::StringRef path);

/// Reads and parses the config.json at `path`.
llvm::Expected<HFConfig> loadHFConfig(llvm::StringRef path);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_HFCONFIG_H
