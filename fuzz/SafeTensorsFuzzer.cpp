//===- SafeTensorsFuzzer.cpp - Fuzzing the safetensors reader -------------===//
//
// Part of ssmc. Any bytes as a .safetensors file: opening returns a file or
// an error; every tensor of an accepted file converts to f32 with the
// element count its shape gives.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"

#include "ssm/Frontend/SafeTensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ssm::fuzz::MemoryFile file(data, size);
  llvm::Expected<mlir::ssm::SafeTensorsFile> opened =
      mlir::ssm::SafeTensorsFile::open(file.path());
  if (!opened) {
    llvm::consumeError(opened.takeError());
    return 0;
  }
  for (const mlir::ssm::TensorInfo &info : opened->tensors()) {
    llvm::Expected<std::vector<float>> values = opened->readF32(info.name);
    if (!values) {
      llvm::consumeError(values.takeError());
      continue;
    }
    uint64_t count = 1;
    for (int64_t d : info.shape)
      count *= uint64_t(d);
    if (values->size() != count)
      std::abort();
  }
  return 0;
}
