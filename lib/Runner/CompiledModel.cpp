//===- CompiledModel.cpp - Loading and calling a compiled model -----------===//
//
// Part of ssmc. See include/ssm/Runner/CompiledModel.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runner/CompiledModel.h"

#include "ssm/runtime.h"

#include <cstdlib>
#include <dlfcn.h>
#include <sys/stat.h>

using namespace ssmrun;

namespace {

/// MLIR's memref descriptor of rank R.
template <int R, typename T> struct Memref {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[R];
  int64_t strides[R];
};

template <typename T> Memref<1, T> view1(T *data, int64_t n) {
  return {data, data, 0, {n}, {1}};
}
template <typename T> Memref<2, T> view2(T *data, int64_t rows, int64_t cols) {
  return {data, data, 0, {rows, cols}, {cols, 1}};
}

using Weights = Memref<1, float>;
using Cache = Memref<2, float>;
using Logits = Memref<2, float>;
// The logits come last: the entry points write them into the caller's
// buffer (model_abi.h, format 2).
using PrefillFn = void (*)(Weights *, Memref<2, int64_t> *, Cache *, Cache *,
                           Logits *);
using DecodeFn = void (*)(Weights *, Memref<1, int64_t> *, Cache *, Cache *,
                          Logits *);

} // namespace

std::unique_ptr<CompiledModel> CompiledModel::open(const std::string &library,
                                                   const std::string &weights,
                                                   const std::string &name,
                                                   std::string &error) {
  std::unique_ptr<CompiledModel> model(new CompiledModel);
  // A path without a slash would be searched for on the library path.
  std::string path = library.find('/') == std::string::npos ? "./" + library : library;
  // dlopen would block on a FIFO, waiting for a writer.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    error = "cannot load '" + library + "': not a regular file";
    return nullptr;
  }
  model->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model->handle) {
    error = "cannot load '" + library + "': " + dlerror();
    return nullptr;
  }
  auto symbol = [&](const std::string &symbolName) -> void * {
    void *address = dlsym(model->handle, symbolName.c_str());
    if (!address)
      error = "'" + library + "' is not a model compiled by ssmc with "
              "--model-name=" + name + ": it has no symbol '" + symbolName + "'";
    return address;
  };
  model->info = static_cast<const int64_t *>(symbol(name + "_info"));
  if (!model->info ||
      !(model->prefillFn = symbol("_mlir_ciface_" + name + "_prefill")) ||
      !(model->decodeFn = symbol("_mlir_ciface_" + name + "_decode")))
    return nullptr;
  if (model->info[SSM_MODEL_INFO_FORMAT_VERSION] != SSM_MODEL_FORMAT_VERSION) {
    error = "'" + library + "' has model format " +
            std::to_string(model->info[SSM_MODEL_INFO_FORMAT_VERSION]) +
            ", this runner reads format " +
            std::to_string(SSM_MODEL_FORMAT_VERSION) +
            ": recompile it with this ssmc";
    return nullptr;
  }
  model->weightsFile = weights;
  if (weights.empty()) {
    size_t slash = library.rfind('/'), dot = library.rfind('.');
    model->weightsFile = (dot == std::string::npos ||
                          (slash != std::string::npos && dot < slash)
                              ? library
                              : library.substr(0, dot)) +
                         ".weights";
  }
  if (ssm_weights_open(model->weightsFile.c_str(),
                       model->info[SSM_MODEL_INFO_WEIGHTS_FLOATS],
                       model->info[SSM_MODEL_INFO_WEIGHTS_HASH],
                       &model->weights) != SSM_OK) {
    error = ssm_last_error();
    return nullptr;
  }
  return model;
}

CompiledModel::~CompiledModel() {
  ssm_weights_close(weights);
  if (handle)
    dlclose(handle);
}

ModelCaches CompiledModel::makeCaches(int64_t batch) const {
  ModelCaches caches;
  caches.batch = batch;
  caches.conv.assign(
      static_cast<size_t>(batch * info[SSM_MODEL_INFO_CONV_CACHE_FLOATS]), 0.0f);
  caches.ssm.assign(
      static_cast<size_t>(batch * info[SSM_MODEL_INFO_SSM_CACHE_FLOATS]), 0.0f);
  return caches;
}

bool CompiledModel::checkIds(const int64_t *ids, int64_t count,
                             std::string &error) const {
  for (int64_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] >= vocab()) {
      error = "token id " + std::to_string(ids[i]) + " (position " +
              std::to_string(i) + ") is outside the vocabulary [0, " +
              std::to_string(vocab()) + ")";
      return false;
    }
  return true;
}

template <typename Fn, typename Ids>
void CompiledModel::call(Fn entry, Ids &ids, ModelCaches &caches,
                         std::vector<float> &logits) const {
  Weights w = view1(const_cast<float *>(ssm_weights_data(weights)),
                    info[SSM_MODEL_INFO_WEIGHTS_FLOATS]);
  Cache conv = view2(caches.conv.data(), caches.batch,
                     info[SSM_MODEL_INFO_CONV_CACHE_FLOATS]);
  Cache ssm = view2(caches.ssm.data(), caches.batch,
                    info[SSM_MODEL_INFO_SSM_CACHE_FLOATS]);
  // Resized only when the batch changes: no allocation per token.
  logits.resize(static_cast<size_t>(caches.batch * vocab()));
  Logits out = view2(logits.data(), caches.batch, vocab());
  entry(&w, &ids, &conv, &ssm, &out);
}

bool CompiledModel::prefill(const int64_t *ids, int64_t length,
                            ModelCaches &caches, std::vector<float> &logits,
                            std::string &error) const {
  if (length < 1) {
    error = "the prompt must hold at least one token";
    return false;
  }
  if (!checkIds(ids, caches.batch * length, error))
    return false;
  auto idsView = view2(const_cast<int64_t *>(ids), caches.batch, length);
  call(reinterpret_cast<PrefillFn>(prefillFn), idsView, caches, logits);
  return true;
}

bool CompiledModel::decode(const int64_t *ids, ModelCaches &caches,
                           std::vector<float> &logits, std::string &error) const {
  if (!checkIds(ids, caches.batch, error))
    return false;
  auto idsView = view1(const_cast<int64_t *>(ids), caches.batch);
  call(reinterpret_cast<DecodeFn>(decodeFn), idsView, caches, logits);
  return true;
}
