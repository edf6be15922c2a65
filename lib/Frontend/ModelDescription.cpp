//===- ModelDescription.cpp - Expected tensors of a Mamba model -----------===//
//
// Part of ssmc. See include/ssm/Frontend/ModelDescription.h. Names and shapes
// are those of transformers' MambaForCausalLM and Mamba2ForCausalLM state
// dicts (nn.Linear weights are [out, in]; depthwise conv1d is [C, 1, W]).
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelDescription.h"

#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <set>

using namespace mlir::ssm;
using llvm::Expected;
using llvm::StringRef;

ModelDescription ModelDescription::fromConfig(const HFConfig &config) {
  ModelDescription model;
  model.config = config;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    model.tensors.push_back({std::move(name), std::move(shape)});
  };
  const int64_t hidden = config.hiddenSize, inner = config.intermediateSize;
  const int64_t state = config.stateSize, width = config.convKernel;
  const int64_t convDim = config.convDim();

  add("backbone.embeddings.weight", {config.vocabSize, hidden});
  for (int64_t layer = 0; layer < config.numHiddenLayers; ++layer) {
    std::string prefix = "backbone.layers." + std::to_string(layer) + ".";
    std::string mixer = prefix + "mixer.";
    add(prefix + "norm.weight", {hidden});
    add(mixer + "in_proj.weight", {config.inProjDim(), hidden});
    if (config.useBias)
      add(mixer + "in_proj.bias", {config.inProjDim()});
    add(mixer + "conv1d.weight", {convDim, 1, width});
    if (config.useConvBias)
      add(mixer + "conv1d.bias", {convDim});
    if (config.modelType == ModelType::Mamba) {
      const int64_t rank = config.timeStepRank;
      add(mixer + "x_proj.weight", {rank + 2 * state, inner});
      // dt_proj always has a bias in transformers, whatever use_bias says.
      add(mixer + "dt_proj.weight", {inner, rank});
      add(mixer + "dt_proj.bias", {inner});
      add(mixer + "A_log", {inner, state});
      add(mixer + "D", {inner});
    } else {
      const int64_t heads = config.numHeads;
      add(mixer + "dt_bias", {heads});
      add(mixer + "A_log", {heads});
      add(mixer + "D", {heads});
      // The gated RMSNorm over all channels before out_proj.
      add(mixer + "norm.weight", {inner});
    }
    add(mixer + "out_proj.weight", {hidden, inner});
    if (config.useBias)
      add(mixer + "out_proj.bias", {hidden});
  }
  add("backbone.norm_f.weight", {hidden});
  if (!config.tieWordEmbeddings)
    add("lm_head.weight", {config.vocabSize, hidden});
  return model;
}

llvm::Error mlir::ssm::checkLayerCount(const HFConfig &config,
                                       const Checkpoint &checkpoint) {
  constexpr StringRef kPrefix = "backbone.layers.";
  int64_t present = 0;
  for (const std::string &name : checkpoint.names()) {
    StringRef rest(name);
    uint64_t index;
    if (rest.consume_front(kPrefix) &&
        !rest.consumeInteger(10, index) && rest.starts_with(".") &&
        index < uint64_t(config.numHiddenLayers))
      present = std::max<int64_t>(present, int64_t(index) + 1);
  }
  if (present >= config.numHiddenLayers)
    return llvm::Error::success();
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      checkpoint.source() + ": config.json says num_hidden_layers = " +
          llvm::Twine(config.numHiddenLayers) +
          ", but the checkpoint has tensors for " + llvm::Twine(present) +
          " layer(s) (backbone.layers.N.*)");
}

const ExpectedTensor *ModelDescription::find(StringRef name) const {
  for (const ExpectedTensor &tensor : tensors)
    if (tensor.name == name)
      return &tensor;
  return nullptr;
}

Expected<CheckpointReport>
mlir::ssm::checkCheckpoint(const ModelDescription &model,
                           const Checkpoint &checkpoint) {
  // Every problem at once: a user fixing a conversion script wants the whole
  // list, not one error per run. Long lists are cut to stay readable.
  constexpr size_t kMaxReported = 20;
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const ExpectedTensor &tensor : model.tensors) {
    expected.insert(tensor.name);
    const Checkpoint::Entry *entry = checkpoint.find(tensor.name);
    if (!entry) {
      problems.push_back("tensor '" + tensor.name + "': missing (expected " +
                         formatShape(tensor.shape) + ")");
      continue;
    }
    if (entry->info->shape != tensor.shape)
      problems.push_back("tensor '" + tensor.name + "' in " +
                         entry->file->path().str() + ": shape " +
                         formatShape(entry->info->shape) + ", expected " +
                         formatShape(tensor.shape));
  }

  CheckpointReport report;
  for (const std::string &name : checkpoint.names()) {
    if (expected.count(name))
      continue;
    const Checkpoint::Entry *entry = checkpoint.find(name);
    // Some tied checkpoints store the head anyway; it must still fit the
    // embedding it would duplicate, but it is not used.
    if (name == "lm_head.weight" && model.config.tieWordEmbeddings) {
      std::vector<int64_t> shape = {model.config.vocabSize,
                                    model.config.hiddenSize};
      if (entry->info->shape != shape)
        problems.push_back("tensor 'lm_head.weight' in " +
                           entry->file->path().str() + ": shape " +
                           formatShape(entry->info->shape) + ", expected " +
                           formatShape(shape));
      else
        report.warnings.push_back(
            "tensor 'lm_head.weight': stored although tie_word_embeddings is "
            "true; backbone.embeddings.weight is used");
      continue;
    }
    report.warnings.push_back("tensor '" + name + "' in " +
                              entry->file->path().str() +
                              ": not used by a " +
                              modelTypeName(model.config.modelType).str() +
                              " model");
  }

  if (problems.empty())
    return report;
  std::string message = checkpoint.source().str() + ": " +
                        std::to_string(problems.size()) +
                        " tensor(s) do not match the " +
                        modelTypeName(model.config.modelType).str() +
                        " config:";
  for (size_t i = 0; i < problems.size() && i < kMaxReported; ++i)
    message += "\n  " + problems[i];
  if (problems.size() > kMaxReported)
    message += "\n  ... and " + std::to_string(problems.size() - kMaxReported) +
               " more";
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
