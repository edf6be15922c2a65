//===- ConfigFuzzer.cpp - Fuzzing the config.json reader ------------------===//
//
// Part of ssmc. Any text: parseHFConfig returns a config or an error, never
// crashes; an accepted config's derived sizes are positive (no overflow).
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/HFConfig.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<mlir::ssm::HFConfig> config =
      mlir::ssm::parseHFConfig(text, "config.json");
  if (!config) {
    llvm::consumeError(config.takeError());
    return 0;
  }
  if (config->convDim() <= 0 || config->inProjDim() <= 0 ||
      config->intermediateSize <= 0 || config->timeStepRank <= 0)
    std::abort();
  return 0;
}
