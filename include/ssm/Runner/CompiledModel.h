//===- CompiledModel.h - Loading and calling a compiled model ---*- C++ -*-===//
//
// Part of ssmc. A language model compiled by `ssmc MODEL_FOLDER --emit=shared`
// is a shared library exporting `<name>_info`, `<name>_prefill` and
// `<name>_decode` (C interface), plus a weights file. This class opens both
// (dlopen, ssm_weights_open), checks that they belong together and calls the
// entry points with the right buffer descriptors. It needs libssm_runtime
// and libdl only, no LLVM: ssm-run and the model tests use it.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNNER_COMPILEDMODEL_H
#define SSM_RUNNER_COMPILEDMODEL_H

#include "ssm/model_abi.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct ssm_weights;

namespace ssmrun {

/// The recurrent state of a batch of sequences: conv and SSM caches.
struct ModelCaches {
  int64_t batch = 0;
  std::vector<float> conv, ssm;
};

class CompiledModel {
public:
  /// Opens `library` and the weights file `weights` (empty: the library's
  /// path with the extension .weights). On failure returns null and sets
  /// `error` to a message naming the file and the problem.
  static std::unique_ptr<CompiledModel> open(const std::string &library,
                                             const std::string &weights,
                                             const std::string &name,
                                             std::string &error);
  ~CompiledModel();

  int64_t modelType() const { return info[SSM_MODEL_INFO_MODEL_TYPE]; }
  int64_t layers() const { return info[SSM_MODEL_INFO_LAYERS]; }
  int64_t hidden() const { return info[SSM_MODEL_INFO_HIDDEN]; }
  int64_t vocab() const { return info[SSM_MODEL_INFO_VOCAB]; }
  /// Bytes of the caches per sequence.
  int64_t cacheBytes() const {
    return (info[SSM_MODEL_INFO_CONV_CACHE_FLOATS] +
            info[SSM_MODEL_INFO_SSM_CACHE_FLOATS]) *
           4;
  }
  const std::string &weightsPath() const { return weightsFile; }

  /// Zeroed caches for `batch` sequences.
  ModelCaches makeCaches(int64_t batch) const;

  /// Runs caches.batch prompts of `length` tokens each (`ids` row-major
  /// [batch, length]) from empty caches, which it overwrites; returns the
  /// logits of each prompt's last position, [batch, vocab]. Fails (false,
  /// `error`) on ids out of range or a length below 1.
  bool prefill(const int64_t *ids, int64_t length, ModelCaches &caches,
               std::vector<float> &logits, std::string &error) const;
  /// One token per sequence (`ids` [batch]); updates the caches in place.
  bool decode(const int64_t *ids, ModelCaches &caches,
              std::vector<float> &logits, std::string &error) const;

private:
  CompiledModel() = default;
  bool checkIds(const int64_t *ids, int64_t count, std::string &error) const;
  /// Calls an entry point with the weights and `caches` and copies out the
  /// logits it allocated.
  template <typename Fn, typename Ids>
  void call(Fn entry, Ids &ids, ModelCaches &caches, std::vector<float> &logits) const;

  void *handle = nullptr;
  ssm_weights *weights = nullptr;
  std::string weightsFile;
  const int64_t *info = nullptr;
  void *prefillFn = nullptr, *decodeFn = nullptr;
};

} // namespace ssmrun

#endif // SSM_RUNNER_COMPILEDMODEL_H
