//===- ModelABI.h - What a compiled model exports ---------------*- C++ -*-===//
//
// Part of ssmc. Shared by the importer that writes a model and the runner
// that calls it (no LLVM here). `<name>_info` is an int64_t[16] table in
// the compiled library; the fields are these. docs/models.md.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNNER_MODELABI_H
#define SSM_RUNNER_MODELABI_H

#include <cstdint>

namespace ssmrun::abi {

enum InfoField : unsigned {
  kInfoFormatVersion = 0,
  kInfoModelType = 1, ///< 1: Mamba, 2: Mamba-2
  kInfoLayers = 2,
  kInfoHidden = 3,
  kInfoVocab = 4,
  kInfoConvCacheFloats = 5, ///< per sequence
  kInfoSSMCacheFloats = 6,  ///< per sequence
  kInfoWeightsFloats = 7,
  kInfoWeightsHash = 8,
  kInfoFieldCount = 16,
};

/// Bumped whenever the entry points or the table change.
constexpr int64_t kModelFormatVersion = 1;

/// The weights file header: "SSMWGT01", u64 float count, u64 layout hash,
/// zeros up to this size; then the floats.
constexpr uint64_t kWeightsHeaderBytes = 4096;

} // namespace ssmrun::abi

#endif // SSM_RUNNER_MODELABI_H
