//===- model_bench.cpp - Whole-model throughput ---------------------------===//
//
// Part of ssmc. Writes Hugging Face folders of the 130M shapes of Mamba and
// Mamba-2 with random weights (the tensor table comes from the frontend, so
// the folders are what transformers would save), compiles each with ssmc,
// and times a 512-token prefill and 64 decode steps on 1 and 2 threads.
// Decode reads every weight once per token: its rate is also given as the
// bandwidth of that weight stream. Each model is compiled once per storage
// of its large matrices (ssmc --weight-type; default f32, bf16, q8_0 and
// q4_0). Usage: ssm-model-bench SSMC WORKDIR [TYPE,TYPE...].
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelDescription.h"
#include "ssm/Runner/CompiledModel.h"
#include "ssm/Runner/Process.h"
#include "ssm/runtime.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sys/stat.h>

using namespace mlir::ssm;

namespace {

/// A random value for each parameter, in ranges that keep activations
/// finite and dt small, like trained models.
float initialValue(const std::string &name, int64_t index, int64_t lastDim,
                   std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto endsWith = [&](const char *s) {
    std::string suffix(s);
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) ==
               0;
  };
  if (endsWith("A_log"))
    return std::log(1.0f + float(index % lastDim));
  if (endsWith("norm.weight") || endsWith("norm_f.weight") || endsWith(".D"))
    return 1.0f + 0.05f * normal(rng);
  if (endsWith("dt_bias") || endsWith("dt_proj.bias"))
    return -3.0f + 0.5f * normal(rng);
  if (endsWith("embeddings.weight"))
    return 0.5f * normal(rng);
  return 0.05f * normal(rng);
}

void writeFolder(const std::string &dir, const std::string &configJson) {
  mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/config.json") << configJson;
  llvm::Expected<HFConfig> config =
      parseHFConfig(configJson, dir + "/config.json");
  if (!config) {
    llvm::errs() << llvm::toString(config.takeError()) << "\n";
    std::exit(1);
  }
  ModelDescription model = ModelDescription::fromConfig(*config);
  std::string header = "{";
  uint64_t offset = 0;
  for (const ExpectedTensor &t : model.tensors) {
    uint64_t n = 1;
    std::string shape;
    for (int64_t d : t.shape) {
      n *= d;
      shape += (shape.empty() ? "" : ",") + std::to_string(d);
    }
    header += (header.size() > 1 ? "," : "") + std::string("\"") + t.name +
              "\":{\"dtype\":\"F32\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + 4 * n) + "]}";
    offset += 4 * n;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::ofstream out(dir + "/model.safetensors", std::ios::binary);
  uint64_t length = header.size();
  out.write(reinterpret_cast<const char *>(&length), 8);
  out << header;
  std::mt19937 rng(42);
  std::vector<float> data;
  for (const ExpectedTensor &t : model.tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape)
      n *= d;
    data.resize(n);
    for (int64_t i = 0; i < n; ++i)
      data[i] = initialValue(t.name, i, t.shape.back(), rng);
    out.write(reinterpret_cast<const char *>(data.data()), n * 4);
  }
}

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr,
                 "usage: ssm-model-bench SSMC WORKDIR [TYPE,TYPE...]\n");
    return 1;
  }
  std::string ssmc = argv[1], work = argv[2];
  std::vector<std::string> types;
  std::string list = argc == 4 ? argv[3] : "f32,bf16,q8_0,q4_0";
  for (size_t start = 0; start <= list.size();) {
    size_t end = std::min(list.find(',', start), list.size());
    types.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  mkdir(work.c_str(), 0755);
  struct Model {
    const char *name, *config;
  } models[] = {
      {"mamba-130m-shape",
       R"({"model_type": "mamba", "hidden_size": 768, "state_size": 16,
           "num_hidden_layers": 24, "vocab_size": 50280, "expand": 2,
           "conv_kernel": 4})"},
      {"mamba2-130m-shape",
       R"({"model_type": "mamba2", "hidden_size": 768, "state_size": 128,
           "num_hidden_layers": 24, "vocab_size": 50288, "expand": 2,
           "conv_kernel": 4, "num_heads": 24, "head_dim": 64, "n_groups": 1,
           "chunk_size": 256, "tie_word_embeddings": true})"},
  };
  const int64_t promptLength = 512, steps = 64;
  std::printf("%-20s %-7s %7s %12s %12s %12s %14s\n", "model", "weights",
              "threads", "compile s", "prefill t/s", "decode t/s",
              "decode GB/s");
  for (const Model &m : models) {
    std::string dir = work + "/" + m.name;
    writeFolder(dir, m.config);
    for (const std::string &type : types) {
      std::string library = work + "/lib" + m.name + "-" + type + ".so";
      double start = now();
      std::string error;
      if (!ssmrun::runProgram({ssmc, dir, "--emit=shared",
                               "--weight-type=" + type, "-o", library},
                              error)) {
        std::fprintf(stderr, "ssm-model-bench: %s\n", error.c_str());
        return 1;
      }
      double compileSeconds = now() - start;
      auto model = ssmrun::CompiledModel::open(library, "", "model", error);
      if (!model) {
        std::fprintf(stderr, "ssm-model-bench: %s\n", error.c_str());
        return 1;
      }
      struct stat st;
      stat(model->weightsPath().c_str(), &st);
      double weightBytes = double(st.st_size);
      std::vector<int64_t> prompt(promptLength);
      std::mt19937 rng(7);
      for (int64_t &id : prompt)
        id = rng() % model->vocab();
      for (int threads : {1, 2}) {
        ssm_set_num_threads(threads);
        std::vector<float> logits;
        std::vector<double> prefill, decode;
        for (int run = 0; run < 3; ++run) {
          ssmrun::ModelCaches caches = model->makeCaches(1);
          double t0 = now();
          model->prefill(prompt.data(), promptLength, caches, logits, error);
          double t1 = now();
          int64_t token =
              std::max_element(logits.begin(), logits.end()) - logits.begin();
          for (int64_t s = 0; s < steps; ++s) {
            model->decode(&token, caches, logits, error);
            token =
                std::max_element(logits.begin(), logits.end()) - logits.begin();
          }
          double t2 = now();
          prefill.push_back(promptLength / (t1 - t0));
          decode.push_back(steps / (t2 - t1));
        }
        std::sort(prefill.begin(), prefill.end());
        std::sort(decode.begin(), decode.end());
        std::printf("%-20s %-7s %7d %12.1f %12.1f %12.1f %14.1f\n", m.name,
                    type.c_str(), threads, compileSeconds, prefill[1],
                    decode[1], decode[1] * weightBytes / 1e9);
      }
    }
  }
  return 0;
}
