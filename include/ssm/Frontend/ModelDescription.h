//===- ModelDescription.h - Expected tensors of a Mamba model ---*- C++ -*-===//
//
// Part of ssmc. A config determines every weight a transformers checkpoint
// must hold (names and shapes); a ModelDescription lists them so that a
// loaded checkpoint is checked once, with every problem reported together,
// before anything is imported.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_MODELDESCRIPTION_H
#define SSM_FRONTEND_MODELDESCRIPTION_H

#include "ssm/Frontend/HFConfig.h"
#include "ssm/Frontend/SafeTensors.h"

#include <string>
#include <vector>

namespace mlir::ssm {

/// One weight the model needs.
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
};

/// A config and the weights it implies, in transformers' names.
struct ModelDescription {
  HFConfig config;
  /// Embedding, per-layer weights in layer order, final norm, and
  /// lm_head.weight unless the embeddings are tied.
  std::vector<ExpectedTensor> tensors;

  /// The tensor table of MambaForCausalLM / Mamba2ForCausalLM for `config`.
  static ModelDescription fromConfig(const HFConfig &config);
  /// The expected tensor called `name`, or nullptr.
  const ExpectedTensor *find(llvm::StringRef name) const;
};

/// Checks that `checkpoint` holds tensors for as many layers as `config`
/// says, before a description of every layer is built: a config.json may
/// claim two billion layers, and the tables for them would take gigabytes
/// before the weights were ever compared with it.
llvm::Error checkLayerCount(const HFConfig &config, const Checkpoint &checkpoint);

/// What a successful check found besides the expected tensors.
struct CheckpointReport {
  /// One line per tensor the model does not use (a warning, not an error),
  /// including a stored lm_head.weight when the embeddings are tied.
  std::vector<std::string> warnings;
};

/// Checks `checkpoint` against `model`: every expected tensor present, with
/// the expected shape (dtypes were validated when the files were opened).
/// The error lists every missing or misshaped tensor, expected vs actual.
llvm::Expected<CheckpointReport>
checkCheckpoint(const ModelDescription &model, const Checkpoint &checkpoint);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_MODELDESCRIPTION_H
