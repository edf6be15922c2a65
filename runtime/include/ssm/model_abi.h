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

/// How a weight matrix W[n, k] (n rows of k, the layout of a PyTorch Linear
/// weight) is stored when it is not plain f32: `ssmc --weight-type` packs
/// the model's large matrices this way, and the runtime's
/// ssm_packed_matmul / ssm_packed_gather read them. The numeric values are
/// part of the ABI (generated code passes them to the runtime).
///
/// The packed bytes of W, from a 64-byte aligned start:
///  - BF16, F16: the n * k elements, row-major, 2 bytes each.
///  - Q8_0, Q4_0 (k a multiple of SSM_WEIGHT_BLOCK): each row is cut into
///    blocks of 32 consecutive elements, each with one scale d, stored as
///    IEEE binary16. First the n * (k / 32) scales, row-major, padded with
///    zeros to a multiple of 64 bytes; then the quants, row-major:
///    - Q8_0: one int8 q per element, which stands for q * d, and
///      d = max|x| / 127 over the block (GGUF's Q8_0 rule);
///    - Q4_0: 16 bytes per block; byte j holds element j in its low nibble
///      and element j + 16 in its high nibble, an unsigned q that stands for
///      (q - 8) * d, and d = -m / 8 where m is the block's element of largest
///      magnitude (GGUF's Q4_0 rule).
enum ssm_weight_format {
  SSM_WEIGHT_F32 = 0, ///< Not packed: plain floats.
  SSM_WEIGHT_BF16 = 1,
  SSM_WEIGHT_F16 = 2,
  SSM_WEIGHT_Q8_0 = 3,
  SSM_WEIGHT_Q4_0 = 4,
};

/// Elements per block of scale of SSM_WEIGHT_Q8_0 and SSM_WEIGHT_Q4_0.
#define SSM_WEIGHT_BLOCK 32

#endif // SSM_MODEL_ABI_H
