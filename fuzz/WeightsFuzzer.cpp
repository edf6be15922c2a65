//===- WeightsFuzzer.cpp - Fuzzing the runtime's weights-file reader ------===//
//
// Part of ssmc. The input is the float count and layout hash a library
// would expect (16 bytes), then the file. ssm_weights_open accepts it or
// fails with a status; an accepted file's floats are all readable, and a
// second close is reported, not a double free.
//
//===----------------------------------------------------------------------===//

#include "FuzzInput.h"

#include "ssm/runtime.h"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 16)
    return 0;
  int64_t floats, hash;
  std::memcpy(&floats, data, 8);
  std::memcpy(&hash, data + 8, 8);
  ssm::fuzz::MemoryFile file(data + 16, size - 16);
  ssm_weights_t *weights = nullptr;
  if (ssm_weights_open(file.path().c_str(), floats, hash, &weights) != SSM_OK) {
    if (weights)
      std::abort();
    return 0;
  }
  const float *values = ssm_weights_data(weights);
  volatile float sum = 0;
  for (int64_t i = 0; i < floats; ++i)
    sum = sum + values[i];
  if (ssm_weights_close(weights) != SSM_OK ||
      ssm_weights_close(weights) != SSM_ERROR_INVALID_ARGUMENT)
    std::abort();
  return 0;
}
