//===- model_abi.h - What a compiled model and its weights hold -*- C -*-===//
//
// Part of ssmc. `ssmc MODEL_FOLDER` writes a library exporting the table
// `<name>_info` and the entry points `<name>_prefill` / `<name>_decode`, and
// a weights file; libssm_runtime (ssm_weights_open), ssm-run and
// applications read them. Both sides include this header, so the numbers
// they agree on are written once. Constants only: valid C99, C11 and C++,
// nothing to link. docs/models.md describes the entry points.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_MODEL_ABI_H
#define SSM_MODEL_ABI_H

/// The entries of `<name>_info`, an int64_t[SSM_MODEL_INFO_FIELD_COUNT]
/// table; entries past the last field are zero (room to grow without
/// changing the table's size).
enum ssm_model_info_field {
  SSM_MODEL_INFO_FORMAT_VERSION = 0, ///< SSM_MODEL_FORMAT_VERSION
  SSM_MODEL_INFO_MODEL_TYPE = 1,     ///< an ssm_model_type
  SSM_MODEL_INFO_LAYERS = 2,
  SSM_MODEL_INFO_HIDDEN = 3,
  SSM_MODEL_INFO_VOCAB = 4,
  SSM_MODEL_INFO_CONV_CACHE_FLOATS = 5, ///< per sequence
  SSM_MODEL_INFO_SSM_CACHE_FLOATS = 6,  ///< per sequence
  SSM_MODEL_INFO_WEIGHTS_FLOATS = 7,    ///< the floats of the weights file
  SSM_MODEL_INFO_WEIGHTS_HASH = 8,      ///< its layout hash
  SSM_MODEL_INFO_FIELD_COUNT = 16
};

/// SSM_MODEL_INFO_MODEL_TYPE.
enum ssm_model_type {
  SSM_MODEL_TYPE_MAMBA = 1,  ///< MambaForCausalLM
  SSM_MODEL_TYPE_MAMBA2 = 2, ///< Mamba2ForCausalLM
};

/// SSM_MODEL_INFO_FORMAT_VERSION of the libraries this header describes;
/// bumped whenever the entry points or the table change, so that a reader
/// refuses a library of another format instead of misreading it.
/// Version 2: the entry points write the logits into a buffer the caller
/// passes last (`--caller-outputs`) instead of returning one they allocate.
#define SSM_MODEL_FORMAT_VERSION 2

/// A weights file: a header of SSM_WEIGHTS_HEADER_BYTES bytes holding the
/// magic (8 bytes, no terminating zero), the float count and the layout
/// hash (little-endian uint64 each, at the offsets below) and zeros; then
/// the floats. The header is one page, so the mapped floats are 64-byte
/// aligned.
#define SSM_WEIGHTS_MAGIC "SSMWGT01"
#define SSM_WEIGHTS_MAGIC_BYTES 8
#define SSM_WEIGHTS_FLOAT_COUNT_OFFSET 8
#define SSM_WEIGHTS_LAYOUT_HASH_OFFSET 16
#define SSM_WEIGHTS_HEADER_BYTES 4096

#endif // SSM_MODEL_ABI_H
