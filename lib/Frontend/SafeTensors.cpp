//===- SafeTensors.cpp - Read-only safetensors checkpoints ----------------===//
//
// Part of ssmc. See include/ssm/Frontend/SafeTensors.h and docs/frontend.md.
//
// The format (https://github.com/huggingface/safetensors): 8 bytes of
// little-endian header length N, N bytes of UTF-8 JSON, then the data
// section. The JSON is parsed with llvm::json, which LLVM Support (already a
// dependency of the compiler) provides; no other JSON library is pulled in.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/SafeTensors.h"

#include "ssm/Frontend/Files.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir::ssm;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace {

/// The reference implementation refuses headers above 100 MB; a larger one
/// is a corrupt or hostile length, and we would not want to parse it anyway.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
/// A shard index lists one line per tensor: a few hundred kilobytes for the
/// largest public checkpoints.
constexpr uint64_t kMaxIndexBytes = 64 << 20;

/// llvm::json parses recursively; a fuzzed header of a million '[' would
/// exhaust the stack. A valid header nests three levels, so 64 is generous.
constexpr unsigned kMaxJsonDepth = 64;

Error fail(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

Error failTensor(StringRef path, StringRef tensor,
                 const llvm::Twine &message) {
  return fail(path, "tensor '" + tensor + "': " + message);
}

/// Returns the deepest nesting of arrays and objects in `text`, skipping
/// brackets inside strings, so the recursive parser is only run on input it
/// can handle.
unsigned jsonDepth(StringRef text) {
  unsigned depth = 0, deepest = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"')
      inString = true;
    else if (c == '[' || c == '{')
      deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0)
      --depth;
  }
  return deepest;
}

/// Every dtype name the safetensors spec defines, so an unsupported but valid
/// one is told apart from garbage.
bool isKnownDType(StringRef name) {
  static const char *const known[] = {
      "BOOL",    "U8",      "I8",      "I16",     "U16",  "I32",  "U32",
      "I64",     "U64",     "F16",     "BF16",    "F32",  "F64",  "C64",
      "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"};
  return llvm::is_contained(known, name);
}

std::optional<TensorDType> parseDType(StringRef name) {
  if (name == "F32")
    return TensorDType::F32;
  if (name == "F16")
    return TensorDType::F16;
  if (name == "BF16")
    return TensorDType::BF16;
  return std::nullopt;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    // Infinity or NaN: keep the payload so a NaN stays a NaN.
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalize, since every f16 subnormal is an f32 normal.
    int e = -14;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --e;
    }
    mantissa &= 0x3ff;
    bits = sign | (uint32_t(e + 127) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/// Reads one header entry into `info`, or says what is wrong with it.
Error parseEntry(StringRef path, StringRef name, const llvm::json::Value &value,
                 uint64_t dataSize, TensorInfo &info) {
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return failTensor(path, name, "header entry is not a JSON object");
  info.name = name.str();

  const llvm::json::Value *dtype = object->get("dtype");
  if (!dtype)
    return failTensor(path, name, "missing 'dtype'");
  std::optional<StringRef> dtypeString = dtype->getAsString();
  if (!dtypeString)
    return failTensor(path, name, "'dtype' is not a string");
  std::optional<TensorDType> parsed = parseDType(*dtypeString);
  if (!parsed) {
    if (isKnownDType(*dtypeString))
      return failTensor(path, name,
                        "unsupported dtype " + *dtypeString +
                            " (supported: F32, F16, BF16)");
    return failTensor(path, name, "unknown dtype '" + *dtypeString + "'");
  }
  info.dtype = *parsed;

  const llvm::json::Value *shape = object->get("shape");
  if (!shape)
    return failTensor(path, name, "missing 'shape'");
  const llvm::json::Array *dims = shape->getAsArray();
  if (!dims)
    return failTensor(path, name, "'shape' is not an array");
  uint64_t count = 1;
  for (const llvm::json::Value &dim : *dims) {
    std::optional<uint64_t> size = dim.getAsUINT64();
    if (!size) {
      std::optional<int64_t> signedSize = dim.getAsInteger();
      if (signedSize && *signedSize < 0)
        return failTensor(path, name,
                          "negative dimension " + llvm::Twine(*signedSize) +
                              " in 'shape'");
      return failTensor(path, name,
                        "'shape' holds something other than an integer");
    }
    // Keep sizes and the element count within int64 so that every consumer
    // can use signed shapes without a second check.
    if (*size > uint64_t(INT64_MAX))
      return failTensor(path, name, "dimension too large in 'shape'");
    bool overflow = false;
    count = llvm::SaturatingMultiply(count, *size, &overflow);
    if (overflow || count > uint64_t(INT64_MAX))
      return failTensor(path, name, "element count overflows 64 bits");
    info.shape.push_back(int64_t(*size));
  }
  info.numElements = count;

  const llvm::json::Value *offsets = object->get("data_offsets");
  if (!offsets)
    return failTensor(path, name, "missing 'data_offsets'");
  const llvm::json::Array *pair = offsets->getAsArray();
  if (!pair || pair->size() != 2 || !(*pair)[0].getAsUINT64() ||
      !(*pair)[1].getAsUINT64())
    return failTensor(path, name,
                      "'data_offsets' is not a pair of non-negative integers");
  info.begin = *(*pair)[0].getAsUINT64();
  info.end = *(*pair)[1].getAsUINT64();
  if (info.begin > info.end)
    return failTensor(path, name,
                      "data_offsets begin " + llvm::Twine(info.begin) +
                          " is after end " + llvm::Twine(info.end));
  if (info.end > dataSize)
    return failTensor(path, name,
                      "data_offsets end " + llvm::Twine(info.end) +
                          " is past the data section of " +
                          llvm::Twine(dataSize) +
                          " bytes (file truncated?)");
  bool overflow = false;
  uint64_t bytes =
      llvm::SaturatingMultiply(count, uint64_t(dtypeSize(info.dtype)),
                               &overflow);
  if (overflow || bytes != info.end - info.begin)
    return failTensor(path, name,
                      "data_offsets span " +
                          llvm::Twine(info.end - info.begin) +
                          " bytes but shape " + formatShape(info.shape) +
                          " of " + dtypeName(info.dtype) + " needs " +
                          (overflow ? llvm::Twine("more than 2^64")
                                    : llvm::Twine(bytes)));
  return Error::success();
}

} // namespace

StringRef mlir::ssm::dtypeName(TensorDType dtype) {
  switch (dtype) {
  case TensorDType::F32:
    return "F32";
  case TensorDType::F16:
    return "F16";
  case TensorDType::BF16:
    return "BF16";
  }
  llvm_unreachable("unknown dtype");
}

unsigned mlir::ssm::dtypeSize(TensorDType dtype) {
  return dtype == TensorDType::F32 ? 4 : 2;
}

std::string mlir::ssm::formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(dim);
  return text + "]";
}

std::vector<float> mlir::ssm::convertToF32(TensorDType dtype,
                                           llvm::ArrayRef<uint8_t> data) {
  using namespace llvm::support;
  std::vector<float> out;
  size_t size = dtypeSize(dtype);
  out.reserve(data.size() / size);
  // The mapping gives no alignment beyond a byte (the header length is
  // arbitrary), so every element is read with an unaligned endian load.
  for (size_t i = 0; i + size <= data.size(); i += size) {
    const uint8_t *p = data.data() + i;
    switch (dtype) {
    case TensorDType::F32: {
      uint32_t bits = endian::read32le(p);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      out.push_back(f);
      break;
    }
    case TensorDType::BF16: {
      uint32_t bits = uint32_t(endian::read16le(p)) << 16;
      float f;
      std::memcpy(&f, &bits, sizeof f);
      out.push_back(f);
      break;
    }
    case TensorDType::F16:
      out.push_back(halfToFloat(endian::read16le(p)));
      break;
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// SafeTensorsFile
//===----------------------------------------------------------------------===//

SafeTensorsFile::SafeTensorsFile(SafeTensorsFile &&other) noexcept {
  *this = std::move(other);
}

SafeTensorsFile &SafeTensorsFile::operator=(SafeTensorsFile &&other) noexcept {
  if (this == &other)
    return *this;
  if (mapping)
    ::munmap(const_cast<uint8_t *>(mapping), mappingSize);
  filePath = std::move(other.filePath);
  mapping = std::exchange(other.mapping, nullptr);
  mappingSize = std::exchange(other.mappingSize, 0);
  dataStart = other.dataStart;
  entries = std::move(other.entries);
  meta = std::move(other.meta);
  return *this;
}

SafeTensorsFile::~SafeTensorsFile() {
  if (mapping)
    ::munmap(const_cast<uint8_t *>(mapping), mappingSize);
}

Expected<SafeTensorsFile> SafeTensorsFile::open(StringRef path) {
  SafeTensorsFile file;
  file.filePath = path.str();

  uint64_t fileSize = 0;
  Expected<int> opened = openRegularFile(path, fileSize);
  if (!opened)
    return opened.takeError();
  int fd = *opened;
  if (fileSize < 8) {
    ::close(fd);
    return fail(path, "file of " + llvm::Twine(fileSize) +
                          " bytes is too short for the 8-byte header length");
  }
  void *mapped =
      ::mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, /*offset=*/0);
  int mapErrno = errno;
  ::close(fd); // The mapping keeps the file alive.
  if (mapped == MAP_FAILED)
    return fail(path, std::string("cannot mmap: ") + std::strerror(mapErrno));
  file.mapping = static_cast<const uint8_t *>(mapped);
  file.mappingSize = fileSize;

  uint64_t headerSize = llvm::support::endian::read64le(file.mapping);
  if (headerSize > kMaxHeaderSize)
    return fail(path, "header length " + llvm::Twine(headerSize) +
                          " exceeds the limit of 100000000 bytes");
  if (headerSize > fileSize - 8)
    return fail(path, "header length " + llvm::Twine(headerSize) +
                          " is past the end of the " + llvm::Twine(fileSize) +
                          "-byte file (file truncated?)");
  file.dataStart = 8 + headerSize;
  StringRef header(reinterpret_cast<const char *>(file.mapping) + 8,
                   headerSize);
  // The spec requires the header to start with '{' (and allows trailing
  // spaces, which the JSON parser skips).
  if (header.empty() || header.front() != '{')
    return fail(path, "header does not start with '{'");
  if (jsonDepth(header) > kMaxJsonDepth)
    return fail(path, "header JSON nests deeper than " +
                          llvm::Twine(kMaxJsonDepth) + " levels");
  // llvm::json::parse also rejects invalid UTF-8.
  Expected<llvm::json::Value> json = llvm::json::parse(header);
  if (!json)
    return fail(path, "header is not valid JSON: " +
                          llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return fail(path, "header is not a JSON object");

  uint64_t dataSize = fileSize - file.dataStart;
  for (const auto &[key, value] : *root) {
    StringRef name = key;
    if (name == "__metadata__") {
      const llvm::json::Object *metadata = value.getAsObject();
      if (!metadata)
        return fail(path, "'__metadata__' is not an object");
      for (const auto &[metaKey, metaValue] : *metadata) {
        std::optional<StringRef> text = metaValue.getAsString();
        if (!text)
          return fail(path, "'__metadata__' entry '" + StringRef(metaKey) +
                                "' is not a string");
        file.meta[metaKey.str()] = text->str();
      }
      continue;
    }
    TensorInfo info;
    if (Error error = parseEntry(path, name, value, dataSize, info))
      return std::move(error);
    file.entries.push_back(std::move(info));
  }

  // The spec requires the data section to be covered exactly, without holes
  // or overlaps (which would allow polyglot files). Sorting by offset lets one
  // pass check both; empty tensors take no bytes and may sit anywhere a
  // tensor boundary is.
  llvm::sort(file.entries, [](const TensorInfo &a, const TensorInfo &b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;
  const TensorInfo *previous = nullptr;
  for (const TensorInfo &info : file.entries) {
    if (info.begin < covered)
      return failTensor(path, info.name,
                        "bytes [" + llvm::Twine(info.begin) + ", " +
                            llvm::Twine(info.end) + ") overlap tensor '" +
                            previous->name + "'");
    if (info.begin > covered)
      return failTensor(path, info.name,
                        "data section has a hole: bytes [" +
                            llvm::Twine(covered) + ", " +
                            llvm::Twine(info.begin) +
                            ") belong to no tensor");
    covered = info.end;
    if (info.end > info.begin)
      previous = &info;
  }
  if (covered != dataSize)
    return fail(path, "data section has " + llvm::Twine(dataSize) +
                          " bytes but the tensors cover " +
                          llvm::Twine(covered) +
                          " (trailing bytes are not allowed)");
  return std::move(file);
}

const TensorInfo *SafeTensorsFile::find(StringRef name) const {
  for (const TensorInfo &info : entries)
    if (info.name == name)
      return &info;
  return nullptr;
}

Expected<const TensorInfo &> SafeTensorsFile::get(StringRef name) const {
  if (const TensorInfo *info = find(name))
    return *info;
  return failTensor(filePath, name, "not found");
}

llvm::ArrayRef<uint8_t> SafeTensorsFile::bytes(const TensorInfo &info) const {
  return {mapping + dataStart + info.begin, info.end - info.begin};
}

Expected<std::vector<float>> SafeTensorsFile::readF32(StringRef name) const {
  Expected<const TensorInfo &> info = get(name);
  if (!info)
    return info.takeError();
  return convertToF32(info->dtype, bytes(*info));
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

Expected<Checkpoint> Checkpoint::openFile(StringRef path) {
  Expected<SafeTensorsFile> file = SafeTensorsFile::open(path);
  if (!file)
    return file.takeError();
  Checkpoint checkpoint;
  checkpoint.sourcePath = path.str();
  checkpoint.shards.push_back(
      std::make_unique<SafeTensorsFile>(std::move(*file)));
  const SafeTensorsFile *shard = checkpoint.shards.back().get();
  for (const TensorInfo &info : shard->tensors())
    checkpoint.byName[info.name] = Entry{shard, &info};
  return std::move(checkpoint);
}

Expected<Checkpoint> Checkpoint::openIndex(StringRef indexPath) {
  auto buffer = readRegularFile(indexPath, kMaxIndexBytes);
  if (!buffer)
    return buffer.takeError();
  StringRef text = (*buffer)->getBuffer();
  if (jsonDepth(text) > kMaxJsonDepth)
    return fail(indexPath, "JSON nests deeper than " +
                               llvm::Twine(kMaxJsonDepth) + " levels");
  Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json)
    return fail(indexPath,
                "not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *weightMap =
      root ? root->getObject("weight_map") : nullptr;
  if (!weightMap)
    return fail(indexPath, "missing 'weight_map' object");

  // Shards are named relative to the index and must stay in its folder: a
  // name with a directory part could point anywhere on the machine.
  StringRef folder = llvm::sys::path::parent_path(indexPath);
  std::map<std::string, std::vector<std::string>> tensorsByShard;
  for (const auto &[key, value] : *weightMap) {
    std::optional<StringRef> shard = value.getAsString();
    if (!shard)
      return failTensor(indexPath, key, "weight_map value is not a string");
    if (shard->empty() || shard->contains('/') || shard->contains('\\') ||
        *shard == "." || *shard == "..")
      return failTensor(indexPath, key,
                        "shard name '" + *shard +
                            "' is not a file name in the index's folder");
    tensorsByShard[shard->str()].push_back(key.str());
  }
  if (tensorsByShard.empty())
    return fail(indexPath, "'weight_map' is empty");

  Checkpoint checkpoint;
  checkpoint.sourcePath = indexPath.str();
  for (const auto &[shardName, names] : tensorsByShard) {
    llvm::SmallString<256> shardPath(folder);
    llvm::sys::path::append(shardPath, shardName);
    Expected<SafeTensorsFile> file = SafeTensorsFile::open(shardPath);
    if (!file)
      return file.takeError();
    checkpoint.shards.push_back(
        std::make_unique<SafeTensorsFile>(std::move(*file)));
    const SafeTensorsFile *shard = checkpoint.shards.back().get();
    for (const std::string &name : names) {
      const TensorInfo *info = shard->find(name);
      if (!info)
        return fail(indexPath, "tensor '" + name + "': listed in file '" +
                                   shardName + "', which does not contain it");
      checkpoint.byName[name] = Entry{shard, info};
    }
    // A tensor the index does not list would be invisible to loaders that
    // trust the index; report it rather than silently pick a winner.
    for (const TensorInfo &info : shard->tensors())
      if (!llvm::is_contained(names, info.name))
        return fail(indexPath, "tensor '" + info.name + "': present in file '" +
                                   shardName +
                                   "' but the weight_map does not list it "
                                   "there");
  }
  return std::move(checkpoint);
}

Expected<Checkpoint> Checkpoint::openFolder(StringRef folder) {
  llvm::SmallString<256> single(folder), index(folder);
  llvm::sys::path::append(single, "model.safetensors");
  llvm::sys::path::append(index, "model.safetensors.index.json");
  if (llvm::sys::fs::exists(single))
    return openFile(single);
  if (llvm::sys::fs::exists(index))
    return openIndex(index);
  return fail(folder,
              "neither model.safetensors nor model.safetensors.index.json "
              "is in this folder");
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> result;
  for (const auto &entry : byName)
    result.push_back(entry.first);
  return result;
}

const Checkpoint::Entry *Checkpoint::find(StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &it->second;
}

Expected<std::vector<float>> Checkpoint::readF32(StringRef name) const {
  const Entry *entry = find(name);
  if (!entry)
    return fail(sourcePath, "tensor '" + name + "': not found");
  return convertToF32(entry->info->dtype, entry->file->bytes(*entry->info));
}
