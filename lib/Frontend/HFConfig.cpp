//===- HFConfig.cpp - transformers' Mamba / Mamba-2 config.json -----------===//
//
// Part of ssmc. See include/ssm/Frontend/HFConfig.h and docs/frontend.md.
// Field names and defaults follow transformers' MambaConfig and Mamba2Config;
// JSON is read with llvm::json from LLVM Support.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/HFConfig.h"

#include "ssm/Frontend/Files.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstdio>
#include <limits>

using namespace mlir::ssm;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace {

/// Any real config nests two or three levels; the bound keeps llvm::json's
/// recursive parser off a fuzzed file's deep nesting.
constexpr unsigned kMaxJsonDepth = 64;

/// Sizes past 2^31 are not a model anyone can run, and bounding them keeps
/// every derived product (conv_dim, in_proj rows, element counts) in int64.
constexpr int64_t kMaxDimension = int64_t(1) << 31;

/// A config.json is a kilobyte or two.
constexpr uint64_t kMaxConfigBytes = 1 << 20;

Error fail(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

/// A JSON number, or transformers 5's encoding of a non-finite float,
/// {"__float__": "Infinity"} (also "-Infinity" and "NaN").
std::optional<double> numberOrTaggedFloat(const llvm::json::Value &value) {
  if (std::optional<double> number = value.getAsNumber())
    return number;
  const llvm::json::Object *object = value.getAsObject();
  if (!object || object->size() != 1)
    return std::nullopt;
  std::optional<StringRef> tag = object->getString("__float__");
  if (!tag)
    return std::nullopt;
  if (*tag == "Infinity")
    return std::numeric_limits<double>::infinity();
  if (*tag == "-Infinity")
    return -std::numeric_limits<double>::infinity();
  if (*tag == "NaN")
    return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

/// Shortest readable form of a number for messages ("inf" included).
std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

/// Replaces Python's bare Infinity / -Infinity tokens (outside strings) with
/// numbers that overflow to infinity, and measures the nesting depth on the
/// way, since both need the same string-aware scan.
std::string prepareJson(StringRef text, unsigned &depth) {
  std::string out;
  out.reserve(text.size());
  unsigned current = 0;
  depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      out += c;
      if (c == '\\' && i + 1 < text.size())
        out += text[++i];
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      depth = std::max(depth, ++current);
    } else if ((c == ']' || c == '}') && current > 0) {
      --current;
    } else if (text.substr(i).starts_with("Infinity")) {
      out += "1e999";
      i += StringRef("Infinity").size() - 1;
      continue;
    }
    out += c;
  }
  return out;
}

/// Reads typed fields of the config object, naming the field and the file in
/// every error.
class FieldReader {
public:
  FieldReader(const llvm::json::Object &object, StringRef path)
      : object(object), path(path) {}

  Error error(StringRef field, const llvm::Twine &message) const {
    return fail(path, "field '" + field + "': " + message);
  }

  /// A required positive integer.
  Error positive(StringRef field, int64_t &out) const {
    if (!object.get(field))
      return error(field, "missing (required to size the model's tensors)");
    return positiveOr(field, out);
  }

  /// A positive integer that keeps `out` when absent.
  Error positiveOr(StringRef field, int64_t &out) const {
    const llvm::json::Value *value = object.get(field);
    if (!value)
      return Error::success();
    std::optional<int64_t> number = value->getAsInteger();
    if (!number)
      return error(field, "must be a positive integer");
    if (*number <= 0)
      return error(field, "must be a positive integer, not " +
                              llvm::Twine(*number));
    if (*number > kMaxDimension)
      return error(field, llvm::Twine(*number) + " is implausibly large");
    out = *number;
    return Error::success();
  }

  /// A boolean that keeps `out` when absent.
  Error boolean(StringRef field, bool &out) const {
    const llvm::json::Value *value = object.get(field);
    if (!value)
      return Error::success();
    std::optional<bool> flag = value->getAsBoolean();
    if (!flag)
      return error(field, "must be true or false");
    out = *flag;
    return Error::success();
  }

  /// A finite positive number that keeps `out` when absent.
  Error positiveNumber(StringRef field, double &out) const {
    const llvm::json::Value *value = object.get(field);
    if (!value)
      return Error::success();
    std::optional<double> number = value->getAsNumber();
    if (!number || !std::isfinite(*number) || *number <= 0)
      return error(field, "must be a finite positive number");
    out = *number;
    return Error::success();
  }

  const llvm::json::Value *get(StringRef field) const {
    return object.get(field);
  }

private:
  const llvm::json::Object &object;
  StringRef path;
};

Error readCommon(const FieldReader &fields, HFConfig &config) {
  if (Error e = fields.positive("hidden_size", config.hiddenSize))
    return e;
  if (Error e = fields.positive("state_size", config.stateSize))
    return e;
  if (Error e = fields.positive("num_hidden_layers", config.numHiddenLayers))
    return e;
  if (Error e = fields.positive("vocab_size", config.vocabSize))
    return e;
  if (Error e = fields.positiveNumber("expand", config.expand))
    return e;
  if (Error e = fields.positiveOr("conv_kernel", config.convKernel))
    return e;
  if (Error e = fields.boolean("use_bias", config.useBias))
    return e;
  if (Error e = fields.boolean("use_conv_bias", config.useConvBias))
    return e;
  if (Error e =
          fields.positiveNumber("layer_norm_epsilon", config.layerNormEpsilon))
    return e;
  if (Error e = fields.boolean("residual_in_fp32", config.residualInFp32))
    return e;
  if (Error e =
          fields.boolean("tie_word_embeddings", config.tieWordEmbeddings))
    return e;
  if (fields.get("pad_vocab_size_multiple")) {
    int64_t multiple = 0;
    if (Error e = fields.positiveOr("pad_vocab_size_multiple", multiple))
      return e;
    config.padVocabSizeMultiple = multiple;
  }

  // transformers: int(expand * hidden_size).
  double intermediate = std::floor(config.expand * double(config.hiddenSize));
  if (intermediate < 1 || intermediate > double(kMaxDimension))
    return fields.error("expand", "gives an intermediate size of " +
                                      formatNumber(intermediate) +
                                      " channels for hidden_size " +
                                      llvm::Twine(config.hiddenSize));
  config.intermediateSize = int64_t(intermediate);

  config.timeStepRank = (config.hiddenSize + 15) / 16;
  if (const llvm::json::Value *rank = fields.get("time_step_rank")) {
    std::optional<StringRef> text = rank->getAsString();
    if (text && *text != "auto")
      return fields.error("time_step_rank",
                          "must be \"auto\" or a positive integer, not \"" +
                              *text + "\"");
    if (!text)
      if (Error e = fields.positiveOr("time_step_rank", config.timeStepRank))
        return e;
  }
  return Error::success();
}

Error readMamba2(const FieldReader &fields, HFConfig &config) {
  if (Error e = fields.positive("num_heads", config.numHeads))
    return e;
  if (Error e = fields.positive("head_dim", config.headDim))
    return e;
  if (Error e = fields.positiveOr("n_groups", config.nGroups))
    return e;
  if (Error e = fields.positiveOr("chunk_size", config.chunkSize))
    return e;
  if (Error e = fields.boolean("rms_norm", config.rmsNorm))
    return e;
  if (Error e = fields.boolean("norm_before_gate", config.normBeforeGate))
    return e;

  if (const llvm::json::Value *limit = fields.get("time_step_limit")) {
    const llvm::json::Array *pair = limit->getAsArray();
    std::optional<double> low, high;
    if (pair && pair->size() == 2) {
      low = numberOrTaggedFloat((*pair)[0]);
      high = numberOrTaggedFloat((*pair)[1]);
    }
    if (!low || !high)
      return fields.error("time_step_limit",
                          "must be a pair of numbers [low, high]");
    if (std::isnan(*low) || std::isnan(*high) || *low < 0 || *low > *high)
      return fields.error("time_step_limit",
                          "needs 0 <= low <= high, got [" + formatNumber(*low) +
                              ", " + formatNumber(*high) + "]");
    config.timeStepLimitLow = *low;
    config.timeStepLimitHigh = *high;
  }

  if (config.numHeads * config.headDim != config.intermediateSize)
    return fields.error(
        "num_heads", "num_heads * head_dim = " + llvm::Twine(config.numHeads) +
                         " * " + llvm::Twine(config.headDim) +
                         " must equal intermediate_size = int(expand * "
                         "hidden_size) = " +
                         llvm::Twine(config.intermediateSize));
  // Heads share B and C within a group, so groups must split heads evenly.
  if (config.numHeads % config.nGroups != 0)
    return fields.error("n_groups", llvm::Twine(config.nGroups) +
                                        " groups do not divide num_heads = " +
                                        llvm::Twine(config.numHeads));
  return Error::success();
}

/// Every size derived from the config, as the importer will compute it:
/// the parameter count must fit comfortably in int64 bytes, so that code
/// after this check (conv_dim, in_proj rows, the weights layout) may
/// multiply in int64. The factors are at most 2^31 each (kMaxDimension),
/// so no product or sum below overflows 128 bits.
Error checkDerivedSizes(const FieldReader &fields, const HFConfig &config) {
  using Wide = __int128;
  const Wide hidden = config.hiddenSize, inner = config.intermediateSize,
             state = config.stateSize, width = config.convKernel;
  const bool mamba2 = config.modelType == ModelType::Mamba2;
  const Wide convDim = mamba2 ? inner + 2 * Wide(config.nGroups) * state : inner;
  const Wide inProj = mamba2 ? inner + convDim + config.numHeads : 2 * inner;
  Wide layer = hidden + inProj * hidden + convDim * width + hidden * inner;
  if (config.useBias)
    layer += inProj + hidden;
  if (config.useConvBias)
    layer += convDim;
  if (mamba2) {
    layer += 3 * Wide(config.numHeads) + inner;
  } else {
    const Wide rank = config.timeStepRank;
    layer += (rank + 2 * state) * inner + inner * rank + inner * state + 2 * inner;
  }
  Wide total = Wide(config.vocabSize) * hidden * (config.tieWordEmbeddings ? 1 : 2) +
               hidden + Wide(config.numHiddenLayers) * layer;
  // 2^40 parameters (4 TiB of f32) is beyond any model this compiler can
  // hold in memory, and keeps byte offsets far from int64's limit.
  constexpr int64_t kMaxParameters = int64_t(1) << 40;
  if (total > kMaxParameters)
    return fields.error("num_hidden_layers",
                        "the config describes more than 2^40 parameters "
                        "(hidden_size, vocab_size, state_size, expand and the "
                        "layer count are implausibly large)");
  return Error::success();
}

} // namespace

StringRef mlir::ssm::modelTypeName(ModelType type) {
  return type == ModelType::Mamba ? "mamba" : "mamba2";
}

Expected<HFConfig> mlir::ssm::parseHFConfig(StringRef text, StringRef path) {
  unsigned depth = 0;
  std::string prepared = prepareJson(text, depth);
  if (depth > kMaxJsonDepth)
    return fail(path, "JSON nests deeper than " + llvm::Twine(kMaxJsonDepth) +
                          " levels");
  Expected<llvm::json::Value> json = llvm::json::parse(prepared);
  if (!json)
    return fail(path, "not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *object = json->getAsObject();
  if (!object)
    return fail(path, "not a JSON object");
  FieldReader fields(*object, path);

  HFConfig config;
  const llvm::json::Value *modelType = object->get("model_type");
  if (!modelType) {
    if (object->get("d_model"))
      return fields.error("model_type",
                          "missing; this looks like a mamba_ssm config "
                          "(d_model, n_layer), use the transformers (-hf) "
                          "checkpoint instead");
    return fields.error("model_type", "missing (expected \"mamba\" or "
                                      "\"mamba2\")");
  }
  std::optional<StringRef> typeName = modelType->getAsString();
  if (typeName == StringRef("mamba"))
    config.modelType = ModelType::Mamba;
  else if (typeName == StringRef("mamba2"))
    config.modelType = ModelType::Mamba2;
  else
    return fields.error("model_type",
                        "expected \"mamba\" or \"mamba2\", not " +
                            (typeName ? "\"" + *typeName + "\""
                                      : llvm::Twine("a non-string")));
  // The two families disagree on this default (PretrainedConfig vs
  // Mamba2Config).
  config.tieWordEmbeddings = config.modelType == ModelType::Mamba;

  if (Error e = readCommon(fields, config))
    return std::move(e);
  if (config.modelType == ModelType::Mamba2)
    if (Error e = readMamba2(fields, config))
      return std::move(e);
  if (Error e = checkDerivedSizes(fields, config))
    return std::move(e);
  return config;
}

Expected<HFConfig> mlir::ssm::loadHFConfig(StringRef path) {
  auto buffer = readRegularFile(path, kMaxConfigBytes);
  if (!buffer)
    return buffer.takeError();
  return parseHFConfig((*buffer)->getBuffer(), path);
}
