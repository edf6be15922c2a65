//===- SafeTensors.h - Read-only safetensors checkpoints --------*- C++ -*-===//
//
// Part of ssmc. Opens Hugging Face checkpoints in the safetensors format
// (one file, or shards named by model.safetensors.index.json), validates the
// header completely before any tensor is touched, and reads tensors as f32.
// A checkpoint comes from outside the compiler, so every malformed input is
// an llvm::Error that names the file and the tensor, never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_SAFETENSORS_H
#define SSM_FRONTEND_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir::ssm {

/// The element types whose data the reader converts. Other safetensors dtypes
/// are recognized by name only, to report them as unsupported.
enum class TensorDType { F32, F16, BF16 };

/// The safetensors spelling of `dtype` ("F32", "F16", "BF16").
llvm::StringRef dtypeName(TensorDType dtype);

/// Size in bytes of one element of `dtype`.
unsigned dtypeSize(TensorDType dtype);

/// One tensor entry of a validated header.
struct TensorInfo {
  std::string name;
  TensorDType dtype;
  std::vector<int64_t> shape;
  /// Product of `shape` (1 for a scalar); fits in 63 bits by validation.
  uint64_t numElements = 0;
  /// Byte span relative to the start of the data section, as in the header.
  uint64_t begin = 0, end = 0;
};

/// Formats a shape as "[2, 3]" for messages.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// One memory-mapped .safetensors file. Move-only; the mapping lives as long
/// as the object.
class SafeTensorsFile {
public:
  /// Maps `path` read-only and validates its header: length, JSON, entries,
  /// dtypes, shapes, offsets, overlaps, holes and truncation.
  static llvm::Expected<SafeTensorsFile> open(llvm::StringRef path);

  SafeTensorsFile(SafeTensorsFile &&) noexcept;
  SafeTensorsFile &operator=(SafeTensorsFile &&) noexcept;
  ~SafeTensorsFile();

  /// The path the file was opened with.
  llvm::StringRef path() const { return filePath; }
  /// Every tensor, in data-offset order.
  llvm::ArrayRef<TensorInfo> tensors() const { return entries; }
  /// The `__metadata__` string map (empty when absent).
  const std::map<std::string, std::string> &metadata() const { return meta; }
  /// The tensor called `name`, or nullptr.
  const TensorInfo *find(llvm::StringRef name) const;
  /// The tensor called `name`, or an error naming the file and the tensor.
  llvm::Expected<const TensorInfo &> get(llvm::StringRef name) const;
  /// The raw little-endian bytes of `info` (which must come from this file).
  llvm::ArrayRef<uint8_t> bytes(const TensorInfo &info) const;
  /// The tensor called `name` converted exactly to f32, in row-major order.
  llvm::Expected<std::vector<float>> readF32(llvm::StringRef name) const;

private:
  SafeTensorsFile() = default;
  std::string filePath;
  const uint8_t *mapping = nullptr;
  size_t mappingSize = 0;
  uint64_t dataStart = 0;
  std::vector<TensorInfo> entries;
  std::map<std::string, std::string> meta;
};

/// Converts `data` of element type `dtype` (little-endian) into f32, exactly:
/// bf16 is the upper half of an f32; f16 subnormals, infinities and NaNs keep
/// their value (a NaN stays a NaN).
std::vector<float> convertToF32(TensorDType dtype, llvm::ArrayRef<uint8_t> data);

/// A whole checkpoint folder: model.safetensors, or the shards listed by
/// model.safetensors.index.json. Tensor names are unique across shards.
class Checkpoint {
public:
  /// Opens `folder`. Like transformers, a single model.safetensors wins over
  /// an index when both exist.
  static llvm::Expected<Checkpoint> openFolder(llvm::StringRef folder);
  /// Opens one .safetensors file as a checkpoint.
  static llvm::Expected<Checkpoint> openFile(llvm::StringRef path);
  /// Opens the shards named by the index file at `indexPath`.
  static llvm::Expected<Checkpoint> openIndex(llvm::StringRef indexPath);

  /// A tensor together with the file that holds it.
  struct Entry {
    const SafeTensorsFile *file;
    const TensorInfo *info;
  };

  /// Every tensor name, sorted.
  std::vector<std::string> names() const;
  /// The tensor called `name`, or nullptr.
  const Entry *find(llvm::StringRef name) const;
  /// The tensor called `name` converted to f32, or an error naming it.
  llvm::Expected<std::vector<float>> readF32(llvm::StringRef name) const;
  /// The opened files (one, or one per shard).
  llvm::ArrayRef<std::unique_ptr<SafeTensorsFile>> files() const {
    return shards;
  }
  /// Where the checkpoint was opened from (folder, file or index path).
  llvm::StringRef source() const { return sourcePath; }

private:
  std::string sourcePath;
  std::vector<std::unique_ptr<SafeTensorsFile>> shards;
  std::map<std::string, Entry, std::less<>> byName;
};

} // namespace mlir::ssm

#endif // SSM_FRONTEND_SAFETENSORS_H
