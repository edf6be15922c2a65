//===- FrontendTest.cpp - safetensors, config.json and model checks -------===//
//
// Part of ssmc. Every file is written by the test itself (a tiny safetensors
// writer below), so each error path is reached with exactly one defect.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/HFConfig.h"
#include "ssm/Frontend/ModelDescription.h"
#include "ssm/Frontend/SafeTensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <unistd.h>

using namespace mlir::ssm;

namespace {

/// A tensor to write: raw little-endian bytes and the header fields.
struct Spec {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

std::vector<uint8_t> f32Bytes(const std::vector<float> &values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size()); // x86: little-endian
  return bytes;
}

std::vector<uint8_t> u16Bytes(const std::vector<uint16_t> &values) {
  std::vector<uint8_t> bytes;
  for (uint16_t v : values) {
    bytes.push_back(uint8_t(v & 0xff));
    bytes.push_back(uint8_t(v >> 8));
  }
  return bytes;
}

std::string shapeJson(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

/// The 8-byte little-endian length prefix followed by `header` and `data`.
std::string frame(const std::string &header, const std::string &data,
                  uint64_t length) {
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes += char((length >> (8 * i)) & 0xff);
  return bytes + header + data;
}

void writeRaw(const std::string &path, const std::string &header,
              const std::string &data = "") {
  writeBytes(path, frame(header, data, header.size()));
}

/// Writes a valid file: tensors laid out back to back in the given order.
void writeSafetensors(const std::string &path, const std::vector<Spec> &specs,
                      const std::string &metadata = "") {
  std::string header = "{", data;
  if (!metadata.empty())
    header += "\"__metadata__\":" + metadata + ",";
  for (const Spec &spec : specs) {
    size_t begin = data.size();
    data.append(spec.data.begin(), spec.data.end());
    header += "\"" + spec.name + "\":{\"dtype\":\"" + spec.dtype +
              "\",\"shape\":" + shapeJson(spec.shape) +
              ",\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(data.size()) + "]},";
  }
  if (header.back() == ',')
    header.pop_back();
  header += "}";
  // Pad the header with spaces as the reference writer does (to 8 bytes).
  while (header.size() % 8)
    header += ' ';
  writeRaw(path, header, data);
}

class TempDir : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> path;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ssm-frontend", path));
    dir = std::string(path);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string file(const std::string &name) const { return dir + "/" + name; }

  /// Opens `path` and returns its error message ("" when it opened).
  static std::string openError(const std::string &path) {
    llvm::Expected<SafeTensorsFile> file = SafeTensorsFile::open(path);
    if (file)
      return "";
    return llvm::toString(file.takeError());
  }

  /// Writes a one-tensor header with the given entry body and data size.
  std::string entryError(const std::string &entry, size_t dataSize) {
    std::string path = file("entry.safetensors");
    writeRaw(path, "{\"w\":" + entry + "}", std::string(dataSize, '\0'));
    return openError(path);
  }

  std::string dir;
};

#define EXPECT_HAS(text, part)                                                 \
  EXPECT_NE(std::string(text).find(part), std::string::npos)                   \
      << "message: " << (text) << "\nexpected to contain: " << (part)

//===----------------------------------------------------------------------===//
// Reading tensors
//===----------------------------------------------------------------------===//

using SafeTensorsTest = TempDir;

TEST_F(SafeTensorsTest, F32RoundTripAndListing) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> values = {1.5f, -0.0f, inf, -inf, 1e-40f /*subnormal*/,
                               3.4e38f};
  std::string path = file("a.safetensors");
  writeSafetensors(path,
                   {{"second", "F32", {2, 3}, f32Bytes(values)},
                    {"first", "F32", {}, f32Bytes({7.0f})},
                    {"empty", "F32", {0, 4}, {}}},
                   R"({"format":"pt"})");
  llvm::Expected<SafeTensorsFile> st = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(st)) << llvm::toString(st.takeError());
  ASSERT_EQ(st->tensors().size(), 3u);
  // Listed in data-offset order: "second" starts at 0.
  EXPECT_EQ(st->tensors()[0].name, "second");
  EXPECT_EQ(st->metadata().at("format"), "pt");

  const TensorInfo *second = st->find("second");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(second->numElements, 6u);
  EXPECT_EQ(second->end - second->begin, 24u);
  EXPECT_EQ(st->bytes(*second).size(), 24u);

  llvm::Expected<std::vector<float>> read = st->readF32("second");
  ASSERT_TRUE(bool(read));
  ASSERT_EQ(read->size(), values.size());
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(std::memcmp(&(*read)[i], &values[i], 4), 0) << i;

  llvm::Expected<std::vector<float>> scalar = st->readF32("first");
  ASSERT_TRUE(bool(scalar));
  EXPECT_EQ(*scalar, std::vector<float>{7.0f});
  EXPECT_EQ(st->get("first")->numElements, 1u);
  llvm::Expected<std::vector<float>> empty = st->readF32("empty");
  ASSERT_TRUE(bool(empty));
  EXPECT_TRUE(empty->empty());
}

TEST_F(SafeTensorsTest, BF16IsTheUpperHalfOfF32) {
  std::vector<uint16_t> bits = {0x3f80, 0xc040, 0x7f80, 0xff80, 0x7fc0,
                                0x0001, 0x8000, 0x4049};
  std::string path = file("b.safetensors");
  writeSafetensors(path, {{"b", "BF16", {8}, u16Bytes(bits)}});
  llvm::Expected<SafeTensorsFile> st = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(st)) << llvm::toString(st.takeError());
  llvm::Expected<std::vector<float>> read = st->readF32("b");
  ASSERT_TRUE(bool(read));
  EXPECT_EQ((*read)[0], 1.0f);
  EXPECT_EQ((*read)[1], -3.0f);
  EXPECT_EQ((*read)[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ((*read)[3], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan((*read)[4]));
  EXPECT_EQ((*read)[5], std::ldexp(1.0f, -133)); // smallest bf16 subnormal
  EXPECT_TRUE(std::signbit((*read)[6]) && (*read)[6] == 0.0f);
  EXPECT_EQ((*read)[7], 3.140625f);
}

TEST_F(SafeTensorsTest, F16SpecialValues) {
  std::vector<uint16_t> bits = {0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400,
                                0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000};
  std::string path = file("h.safetensors");
  writeSafetensors(path, {{"h", "F16", {2, 5}, u16Bytes(bits)}});
  llvm::Expected<SafeTensorsFile> st = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(st)) << llvm::toString(st.takeError());
  llvm::Expected<std::vector<float>> read = st->readF32("h");
  ASSERT_TRUE(bool(read));
  const std::vector<float> &v = *read;
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], std::ldexp(1.0f, -24));        // smallest subnormal
  EXPECT_EQ(v[3], std::ldexp(1023.0f, -24));     // largest subnormal
  EXPECT_EQ(v[4], std::ldexp(1.0f, -14));        // smallest normal
  EXPECT_EQ(v[5], 65504.0f);                     // largest finite
  EXPECT_EQ(v[6], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[7], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(v[8]));
  EXPECT_TRUE(std::signbit(v[9]) && v[9] == 0.0f);
}

// Every half value against the textbook formula, computed independently with
// ldexp: (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024 when e = 0.
TEST(F16Conversion, AllValuesMatchTheDefinition) {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = uint16_t(i);
  std::vector<float> got = convertToF32(TensorDType::F16, u16Bytes(all));
  ASSERT_EQ(got.size(), all.size());
  for (uint32_t h = 0; h < 65536; ++h) {
    int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double magnitude;
    if (exponent == 0x1f) {
      if (mantissa) {
        EXPECT_TRUE(std::isnan(got[h])) << h;
        continue;
      }
      magnitude = std::numeric_limits<double>::infinity();
    } else if (exponent == 0) {
      magnitude = std::ldexp(double(mantissa), -24);
    } else {
      magnitude = std::ldexp(1024.0 + mantissa, exponent - 25);
    }
    double expected = sign ? -magnitude : magnitude;
    ASSERT_EQ(double(got[h]), expected) << "half bits " << h;
    ASSERT_EQ(std::signbit(got[h]), bool(sign)) << h;
  }
}

//===----------------------------------------------------------------------===//
// Malformed files: each names the file, and the tensor where there is one
//===----------------------------------------------------------------------===//

TEST_F(SafeTensorsTest, MissingAndShortFiles) {
  std::string missing = file("nope.safetensors");
  std::string message = openError(missing);
  EXPECT_HAS(message, missing);
  EXPECT_HAS(message, "cannot open");

  std::string shortFile = file("short.safetensors");
  writeBytes(shortFile, "abc");
  message = openError(shortFile);
  EXPECT_HAS(message, shortFile);
  EXPECT_HAS(message, "too short");

  EXPECT_HAS(openError(dir), "not a regular file");
}

TEST_F(SafeTensorsTest, HeaderLength) {
  std::string path = file("len.safetensors");
  writeBytes(path, frame("{}", "", 200'000'000));
  EXPECT_HAS(openError(path), "exceeds the limit");

  writeBytes(path, frame("{}", "", ~uint64_t(0)));
  EXPECT_HAS(openError(path), "exceeds the limit");

  // A header cut off by truncation: the length says more than the file has.
  writeBytes(path, frame("{\"a\":", "", 1000));
  std::string message = openError(path);
  EXPECT_HAS(message, path);
  EXPECT_HAS(message, "past the end");
}

TEST_F(SafeTensorsTest, HeaderJson) {
  std::string path = file("json.safetensors");
  writeRaw(path, "[1]");
  EXPECT_HAS(openError(path), "does not start with '{'");
  writeRaw(path, "");
  EXPECT_HAS(openError(path), "does not start with '{'");
  writeRaw(path, "{\"w\": {\"dtype\": ");
  EXPECT_HAS(openError(path), "not valid JSON");
  writeRaw(path, "{\"w\xff\": 1}");
  EXPECT_HAS(openError(path), "not valid JSON");
  // Deep nesting is refused before the recursive parser sees it.
  writeRaw(path, "{\"w\":" + std::string(100000, '[') +
                     std::string(100000, ']') + "}");
  EXPECT_HAS(openError(path), "nests deeper");
  // Brackets inside strings do not count.
  writeRaw(path, "{\"__metadata__\":{\"k\":\"" + std::string(1000, '[') +
                     "\\\"\"}}");
  EXPECT_EQ(openError(path), "");
  // An empty header is a valid file with no tensors.
  writeRaw(path, "{}   ");
  EXPECT_EQ(openError(path), "");
}

TEST_F(SafeTensorsTest, Metadata) {
  std::string path = file("meta.safetensors");
  writeRaw(path, "{\"__metadata__\":{\"k\":1}}");
  EXPECT_HAS(openError(path), "'__metadata__' entry 'k' is not a string");
  writeRaw(path, "{\"__metadata__\":[]}");
  EXPECT_HAS(openError(path), "'__metadata__' is not an object");
}

TEST_F(SafeTensorsTest, EntryFields) {
  const std::string offsets = "\"data_offsets\":[0,8]";
  std::string message = entryError("{\"shape\":[2]," + offsets + "}", 8);
  EXPECT_HAS(message, file("entry.safetensors"));
  EXPECT_HAS(message, "tensor 'w'");
  EXPECT_HAS(message, "missing 'dtype'");
  EXPECT_HAS(entryError("{\"dtype\":\"F32\"," + offsets + "}", 8),
             "missing 'shape'");
  EXPECT_HAS(entryError("{\"dtype\":\"F32\",\"shape\":[2]}", 8),
             "missing 'data_offsets'");
  EXPECT_HAS(entryError("3", 0), "not a JSON object");
  EXPECT_HAS(entryError("{\"dtype\":4,\"shape\":[2]," + offsets + "}", 8),
             "'dtype' is not a string");
  EXPECT_HAS(entryError("{\"dtype\":\"F32\",\"shape\":2," + offsets + "}", 8),
             "'shape' is not an array");
}

TEST_F(SafeTensorsTest, DTypes) {
  std::string message =
      entryError("{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}", 8);
  EXPECT_HAS(message, "tensor 'w'");
  EXPECT_HAS(message, "unsupported dtype I64");
  EXPECT_HAS(
      entryError("{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}",
                 1),
      "unsupported dtype F8_E4M3");
  EXPECT_HAS(
      entryError("{\"dtype\":\"Q4_K\",\"shape\":[1],\"data_offsets\":[0,1]}",
                 1),
      "unknown dtype 'Q4_K'");
}

TEST_F(SafeTensorsTest, Shapes) {
  auto withShape = [&](const std::string &shape) {
    return entryError("{\"dtype\":\"F32\",\"shape\":" + shape +
                          ",\"data_offsets\":[0,8]}",
                      8);
  };
  EXPECT_HAS(withShape("[-2]"), "negative dimension -2");
  EXPECT_HAS(withShape("[2.5]"), "other than an integer");
  EXPECT_HAS(withShape("[2.0]"), "other than an integer");
  EXPECT_HAS(withShape("[\"2\"]"), "other than an integer");
  EXPECT_HAS(withShape("[18446744073709551615]"), "dimension too large");
  EXPECT_HAS(withShape("[4294967296,4294967296]"), "overflows 64 bits");
  EXPECT_HAS(withShape("[99999999999999999999999]"), "other than an integer");
}

TEST_F(SafeTensorsTest, Offsets) {
  auto withOffsets = [&](const std::string &offsets, size_t dataSize) {
    return entryError("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" +
                          offsets + "}",
                      dataSize);
  };
  EXPECT_HAS(withOffsets("[0]", 8), "not a pair");
  EXPECT_HAS(withOffsets("[0,-8]", 8), "not a pair");
  EXPECT_HAS(withOffsets("[8,0]", 8), "begin 8 is after end 0");
  std::string message = withOffsets("[0,8]", 4);
  EXPECT_HAS(message, "tensor 'w'");
  EXPECT_HAS(message, "past the data section of 4 bytes");
  EXPECT_HAS(withOffsets("[0,12]", 12), "span 12 bytes but shape [2] of F32 "
                                        "needs 8");
  EXPECT_HAS(withOffsets("[0,18446744073709551615]", 8), "past the data");
}

TEST_F(SafeTensorsTest, TruncatedData) {
  std::string path = file("t.safetensors");
  writeSafetensors(path, {{"a", "F32", {4}, f32Bytes({1, 2, 3, 4})},
                          {"b", "F32", {4}, f32Bytes({1, 2, 3, 4})}});
  uint64_t size = 0;
  ASSERT_FALSE(llvm::sys::fs::file_size(path, size));
  ASSERT_EQ(::truncate(path.c_str(), off_t(size - 3)), 0);
  std::string message = openError(path);
  EXPECT_HAS(message, "tensor 'b'");
  EXPECT_HAS(message, "file truncated?");
}

TEST_F(SafeTensorsTest, LayoutOfTheDataSection) {
  std::string path = file("layout.safetensors");
  auto entry = [](const std::string &name, int begin, int end) {
    return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" +
           std::to_string((end - begin) / 4) + "],\"data_offsets\":[" +
           std::to_string(begin) + "," + std::to_string(end) + "]}";
  };
  writeRaw(path, "{" + entry("a", 0, 8) + "," + entry("b", 4, 12) + "}",
           std::string(12, '\0'));
  std::string message = openError(path);
  EXPECT_HAS(message, "tensor 'b'");
  EXPECT_HAS(message, "overlap tensor 'a'");

  writeRaw(path, "{" + entry("a", 0, 4) + "," + entry("b", 8, 12) + "}",
           std::string(12, '\0'));
  message = openError(path);
  EXPECT_HAS(message, "tensor 'b'");
  EXPECT_HAS(message, "hole: bytes [4, 8)");

  writeRaw(path, "{" + entry("a", 0, 4) + "}", std::string(12, '\0'));
  EXPECT_HAS(openError(path), "trailing bytes");

  // The same name twice: refused either way (llvm::json rejects duplicate
  // keys; were one dropped, its bytes would be a hole).
  writeRaw(path, "{" + entry("a", 0, 4) + "," + entry("a", 4, 8) + "}",
           std::string(8, '\0'));
  EXPECT_HAS(openError(path), path);
  EXPECT_NE(openError(path), "");

  // Two tensors on the same bytes.
  writeRaw(path, "{" + entry("a", 0, 4) + "," + entry("b", 0, 4) + "}",
           std::string(4, '\0'));
  EXPECT_HAS(openError(path), "overlap");
}

TEST_F(SafeTensorsTest, TensorNotFound) {
  std::string path = file("nf.safetensors");
  writeSafetensors(path, {{"a", "F32", {1}, f32Bytes({1})}});
  llvm::Expected<SafeTensorsFile> st = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(st));
  EXPECT_EQ(st->find("b"), nullptr);
  llvm::Expected<const TensorInfo &> info = st->get("b");
  ASSERT_FALSE(bool(info));
  std::string message = llvm::toString(info.takeError());
  EXPECT_HAS(message, path);
  EXPECT_HAS(message, "tensor 'b': not found");
  llvm::Expected<std::vector<float>> read = st->readF32("b");
  ASSERT_FALSE(bool(read));
  EXPECT_HAS(llvm::toString(read.takeError()), "tensor 'b': not found");
}

// Random byte flips and truncations of a valid file (fixed seed, so a
// failure reproduces): opening either succeeds, and then every tensor reads,
// or fails with a message naming the file. Crashes and hangs are the bugs
// this looks for; sanitizer builds make it stricter.
TEST_F(SafeTensorsTest, MutatedFilesNeverCrash) {
  std::string valid = file("valid.safetensors");
  writeSafetensors(valid, {{"a", "F32", {2, 2}, f32Bytes({1, 2, 3, 4})},
                           {"b", "F16", {3}, u16Bytes({1, 2, 3})},
                           {"c", "BF16", {1}, u16Bytes({0x3f80})}},
                   R"({"k":"v"})");
  std::ifstream in(valid, std::ios::binary);
  std::string original((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  std::mt19937 random(12345);
  std::string path = file("mutated.safetensors");
  int opened = 0;
  for (int iteration = 0; iteration < 500; ++iteration) {
    std::string bytes = original;
    int flips = 1 + int(random() % 4);
    for (int i = 0; i < flips; ++i)
      bytes[random() % bytes.size()] = char(random() & 0xff);
    if (random() % 4 == 0)
      bytes.resize(random() % bytes.size());
    writeBytes(path, bytes);
    llvm::Expected<SafeTensorsFile> st = SafeTensorsFile::open(path);
    if (!st) {
      EXPECT_HAS(llvm::toString(st.takeError()), path);
      continue;
    }
    ++opened;
    for (const TensorInfo &info : st->tensors()) {
      llvm::Expected<std::vector<float>> values = st->readF32(info.name);
      ASSERT_TRUE(bool(values));
      EXPECT_EQ(values->size(), info.numElements);
    }
  }
  // Flips inside tensor data keep the file valid: both paths were exercised.
  EXPECT_GT(opened, 0);
  EXPECT_LT(opened, 500);
}

//===----------------------------------------------------------------------===//
// Folders and sharded checkpoints
//===----------------------------------------------------------------------===//

using CheckpointTest = TempDir;

TEST_F(CheckpointTest, SingleFileFolder) {
  writeSafetensors(file("model.safetensors"),
                   {{"x", "BF16", {2}, u16Bytes({0x3f80, 0x4000})}});
  llvm::Expected<Checkpoint> ckpt = Checkpoint::openFolder(dir);
  ASSERT_TRUE(bool(ckpt)) << llvm::toString(ckpt.takeError());
  EXPECT_EQ(ckpt->names(), std::vector<std::string>{"x"});
  llvm::Expected<std::vector<float>> x = ckpt->readF32("x");
  ASSERT_TRUE(bool(x));
  EXPECT_EQ(*x, (std::vector<float>{1.0f, 2.0f}));
  llvm::Expected<std::vector<float>> y = ckpt->readF32("y");
  ASSERT_FALSE(bool(y));
  EXPECT_HAS(llvm::toString(y.takeError()), "tensor 'y': not found");
}

TEST_F(CheckpointTest, ShardedFolder) {
  writeSafetensors(file("model-00001-of-00002.safetensors"),
                   {{"a", "F32", {1}, f32Bytes({1.0f})},
                    {"b", "F16", {1}, u16Bytes({0x4000})}});
  writeSafetensors(file("model-00002-of-00002.safetensors"),
                   {{"c", "F32", {2}, f32Bytes({3.0f, 4.0f})}});
  writeBytes(file("model.safetensors.index.json"),
             R"({"metadata":{"total_size":16},"weight_map":{
                 "a":"model-00001-of-00002.safetensors",
                 "b":"model-00001-of-00002.safetensors",
                 "c":"model-00002-of-00002.safetensors"}})");
  llvm::Expected<Checkpoint> ckpt = Checkpoint::openFolder(dir);
  ASSERT_TRUE(bool(ckpt)) << llvm::toString(ckpt.takeError());
  EXPECT_EQ(ckpt->files().size(), 2u);
  EXPECT_EQ(ckpt->names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*ckpt->readF32("b"), std::vector<float>{2.0f});
  EXPECT_EQ(*ckpt->readF32("c"), (std::vector<float>{3.0f, 4.0f}));
  const Checkpoint::Entry *c = ckpt->find("c");
  ASSERT_TRUE(c);
  EXPECT_HAS(c->file->path().str(), "model-00002-of-00002.safetensors");
}

TEST_F(CheckpointTest, IndexErrors) {
  std::string index = file("model.safetensors.index.json");
  auto indexError = [&](const std::string &json) {
    writeBytes(index, json);
    llvm::Expected<Checkpoint> ckpt = Checkpoint::openFolder(dir);
    return ckpt ? std::string() : llvm::toString(ckpt.takeError());
  };
  writeSafetensors(file("s1.safetensors"),
                   {{"a", "F32", {1}, f32Bytes({1.0f})},
                    {"b", "F32", {1}, f32Bytes({2.0f})}});

  EXPECT_HAS(indexError("{"), "not valid JSON");
  EXPECT_HAS(indexError("{\"weight_map\":[]}"), "missing 'weight_map'");
  EXPECT_HAS(indexError("{\"weight_map\":{}}"), "'weight_map' is empty");
  EXPECT_HAS(indexError("{\"weight_map\":{\"a\":3}}"),
             "tensor 'a': weight_map value is not a string");
  EXPECT_HAS(indexError("{\"weight_map\":{\"a\":\"../s1.safetensors\"}}"),
             "is not a file name in the index's folder");
  std::string message =
      indexError("{\"weight_map\":{\"a\":\"s2.safetensors\"}}");
  EXPECT_HAS(message, "s2.safetensors");
  EXPECT_HAS(message, "cannot open");
  message = indexError("{\"weight_map\":{\"a\":\"s1.safetensors\","
                       "\"b\":\"s1.safetensors\",\"z\":\"s1.safetensors\"}}");
  EXPECT_HAS(message, index);
  EXPECT_HAS(message, "tensor 'z': listed in file 's1.safetensors'");
  EXPECT_HAS(indexError("{\"weight_map\":{\"a\":\"s1.safetensors\"}}"),
             "tensor 'b': present in file 's1.safetensors' but the weight_map");
  EXPECT_EQ(indexError("{\"weight_map\":{\"a\":\"s1.safetensors\","
                       "\"b\":\"s1.safetensors\"}}"),
            "");
}

TEST_F(CheckpointTest, EmptyFolder) {
  llvm::Expected<Checkpoint> ckpt = Checkpoint::openFolder(dir);
  ASSERT_FALSE(bool(ckpt));
  std::string message = llvm::toString(ckpt.takeError());
  EXPECT_HAS(message, dir);
  EXPECT_HAS(message, "neither model.safetensors nor");
}

//===----------------------------------------------------------------------===//
// config.json
//===----------------------------------------------------------------------===//

/// Parses `json` and returns its error message ("" when it parsed).
std::string configError(const std::string &json) {
  llvm::Expected<HFConfig> config = parseHFConfig(json, "cfg/config.json");
  return config ? std::string() : llvm::toString(config.takeError());
}

const char *const kMamba130m = R"({
  "architectures": ["MambaForCausalLM"], "model_type": "mamba",
  "hidden_size": 768, "state_size": 16, "num_hidden_layers": 24,
  "vocab_size": 50280, "expand": 2, "conv_kernel": 4, "use_bias": false,
  "use_conv_bias": true, "time_step_rank": 48, "layer_norm_epsilon": 1e-05,
  "residual_in_fp32": true, "pad_vocab_size_multiple": 8,
  "torch_dtype": "float32"})";

TEST(HFConfigTest, Mamba) {
  llvm::Expected<HFConfig> config = parseHFConfig(kMamba130m, "config.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->modelType, ModelType::Mamba);
  EXPECT_EQ(config->hiddenSize, 768);
  EXPECT_EQ(config->intermediateSize, 1536);
  EXPECT_EQ(config->timeStepRank, 48);
  EXPECT_EQ(config->numHiddenLayers, 24);
  EXPECT_EQ(config->padVocabSizeMultiple, std::optional<int64_t>(8));
  EXPECT_EQ(config->inProjDim(), 3072);
  EXPECT_EQ(config->convDim(), 1536);
  EXPECT_TRUE(config->tieWordEmbeddings);
}

TEST(HFConfigTest, MambaDefaults) {
  llvm::Expected<HFConfig> config = parseHFConfig(
      R"({"model_type":"mamba","hidden_size":40,"state_size":4,
          "num_hidden_layers":1,"vocab_size":10,"time_step_rank":"auto"})",
      "config.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->expand, 2.0);
  EXPECT_EQ(config->intermediateSize, 80);
  EXPECT_EQ(config->convKernel, 4);
  EXPECT_EQ(config->timeStepRank, 3); // ceil(40 / 16)
  EXPECT_FALSE(config->useBias);
  EXPECT_TRUE(config->useConvBias);
  EXPECT_TRUE(config->residualInFp32);
  EXPECT_TRUE(config->tieWordEmbeddings);
  EXPECT_EQ(config->layerNormEpsilon, 1e-5);
  EXPECT_FALSE(config->padVocabSizeMultiple.has_value());
}

// The sizes of mistralai/Mamba-Codestral-7B-v0.1, whose config saves
// time_step_limit with Python's bare Infinity.
TEST(HFConfigTest, Mamba2) {
  llvm::Expected<HFConfig> config = parseHFConfig(R"({
    "model_type": "mamba2", "hidden_size": 4096, "state_size": 128,
    "num_hidden_layers": 64, "vocab_size": 32768, "num_heads": 128,
    "head_dim": 64, "n_groups": 8, "expand": 2, "conv_kernel": 4,
    "chunk_size": 256, "use_bias": false, "use_conv_bias": true,
    "rms_norm": true, "norm_before_gate": false, "time_step_rank": 256,
    "time_step_limit": [0.0, Infinity], "tie_word_embeddings": false,
    "layer_norm_epsilon": 1e-05})",
                                                  "config.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->modelType, ModelType::Mamba2);
  EXPECT_EQ(config->intermediateSize, 8192);
  EXPECT_EQ(config->convDim(), 8192 + 2 * 8 * 128);
  EXPECT_EQ(config->inProjDim(), 2 * 8192 + 2 * 8 * 128 + 128);
  EXPECT_EQ(config->timeStepLimitLow, 0.0);
  EXPECT_EQ(config->timeStepLimitHigh, std::numeric_limits<double>::infinity());
  EXPECT_FALSE(config->tieWordEmbeddings);
}

// transformers 5 saves non-finite floats as {"__float__": "Infinity"}.
TEST(HFConfigTest, TaggedNonFiniteFloats) {
  const char *base = R"({"model_type":"mamba2","hidden_size":64,"state_size":16,
      "num_hidden_layers":2,"vocab_size":100,"num_heads":16,"head_dim":8,
      "time_step_limit": )";
  llvm::Expected<HFConfig> config = parseHFConfig(
      std::string(base) + R"([0.0, {"__float__": "Infinity"}]})", "config.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->timeStepLimitHigh, std::numeric_limits<double>::infinity());
  for (const char *bad : {R"([0.0, {"__float__": "NaN"}])",
                          R"([{"__float__": "-Infinity"}, 1.0])",
                          R"([0.0, {"__float__": "Huge"}])",
                          R"([0.0, {"__float__": "Infinity", "x": 1}])"}) {
    llvm::Expected<HFConfig> refused =
        parseHFConfig(std::string(base) + bad + "}", "config.json");
    ASSERT_FALSE(bool(refused)) << bad;
    EXPECT_NE(llvm::toString(refused.takeError()).find("time_step_limit"),
              std::string::npos)
        << bad;
  }
}

TEST(HFConfigTest, Mamba2Defaults) {
  llvm::Expected<HFConfig> config = parseHFConfig(
      R"({"model_type":"mamba2","hidden_size":64,"state_size":16,
          "num_hidden_layers":2,"vocab_size":100,"num_heads":16,
          "head_dim":8})",
      "config.json");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->nGroups, 8);
  EXPECT_EQ(config->chunkSize, 256);
  EXPECT_TRUE(config->rmsNorm);
  EXPECT_FALSE(config->normBeforeGate);
  EXPECT_FALSE(config->tieWordEmbeddings);
  EXPECT_EQ(config->timeStepLimitLow, 0.0);
  EXPECT_TRUE(std::isinf(config->timeStepLimitHigh));
}

// Random edits of a real config: parsing either succeeds or fails with a
// message naming the file, and never crashes.
TEST(HFConfigTest, MutatedConfigsNeverCrash) {
  const std::string original = kMamba130m;
  const char alphabet[] = "{}[]\":,-0123456789eE.+ aInfitynul\\\xff";
  std::mt19937 random(54321);
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::string text = original;
    int edits = 1 + int(random() % 4);
    for (int i = 0; i < edits; ++i)
      text[random() % text.size()] =
          alphabet[random() % (sizeof alphabet - 1)];
    llvm::Expected<HFConfig> config = parseHFConfig(text, "fuzz.json");
    if (!config) {
      EXPECT_HAS(llvm::toString(config.takeError()), "fuzz.json: ");
    }
  }
}

TEST(HFConfigTest, ModelTypeErrors) {
  std::string message = configError(R"({"hidden_size": 4})");
  EXPECT_HAS(message, "cfg/config.json");
  EXPECT_HAS(message, "field 'model_type': missing");
  EXPECT_HAS(configError(R"({"d_model": 768, "n_layer": 24})"),
             "mamba_ssm config");
  EXPECT_HAS(configError(R"({"model_type": "llama"})"),
             "expected \"mamba\" or \"mamba2\", not \"llama\"");
  EXPECT_HAS(configError(R"({"model_type": 2})"), "not a non-string");
}

TEST(HFConfigTest, JsonErrors) {
  EXPECT_HAS(configError("{"), "cfg/config.json: not valid JSON");
  EXPECT_HAS(configError("[]"), "not a JSON object");
  EXPECT_HAS(configError("{\"model_type\": \"mamba\xff\"}"), "not valid JSON");
  EXPECT_HAS(configError(R"({"model_type": "mamba", "x": NaN})"),
             "not valid JSON");
  EXPECT_HAS(configError("{\"a\":" + std::string(50000, '[')),
             "nests deeper");
  llvm::Expected<HFConfig> missing = loadHFConfig("/nonexistent/config.json");
  ASSERT_FALSE(bool(missing));
  EXPECT_HAS(llvm::toString(missing.takeError()),
             "/nonexistent/config.json: cannot open");
}

TEST(HFConfigTest, DerivedSizesThatOverflow) {
  // Each field is within its own bound, but conv_dim = I + 2 * G * N is
  // 2^31 + 2^63: it would wrap in int64 (and print negative shapes).
  EXPECT_HAS(configError(R"({"model_type": "mamba2", "hidden_size": 1073741824,
      "state_size": 2147483648, "num_hidden_layers": 1, "vocab_size": 1,
      "expand": 2, "num_heads": 2147483648, "head_dim": 1,
      "n_groups": 2147483648})"),
             "more than 2^40 parameters");
  // A plausible layer shape, an implausible number of layers.
  EXPECT_HAS(configError(R"({"model_type": "mamba", "hidden_size": 768,
      "state_size": 16, "num_hidden_layers": 2000000000, "vocab_size": 50280})"),
             "field 'num_hidden_layers': the config describes more than 2^40");
}

TEST(HFConfigTest, FieldErrors) {
  const std::string base = R"("model_type":"mamba","state_size":4,
      "num_hidden_layers":1,"vocab_size":10)";
  auto with = [&](const std::string &fields) {
    return configError("{" + base + "," + fields + "}");
  };
  EXPECT_HAS(configError("{" + base + "}"),
             "field 'hidden_size': missing (required");
  EXPECT_HAS(with(R"("hidden_size":"768")"),
             "field 'hidden_size': must be a positive integer");
  EXPECT_HAS(with(R"("hidden_size":0)"), "must be a positive integer, not 0");
  EXPECT_HAS(with(R"("hidden_size":-8)"), "not -8");
  EXPECT_HAS(with(R"("hidden_size":1.5)"), "must be a positive integer");
  EXPECT_HAS(with(R"("hidden_size":Infinity)"), "must be a positive integer");
  EXPECT_HAS(with(R"("hidden_size":1e300)"), "must be a positive integer");
  EXPECT_HAS(with(R"("hidden_size":4294967296)"), "implausibly large");
  const std::string sized = R"("hidden_size":16,)";
  EXPECT_HAS(with(sized + R"("use_bias":"false")"),
             "field 'use_bias': must be true or false");
  EXPECT_HAS(with(sized + R"("expand":0)"),
             "field 'expand': must be a finite positive number");
  EXPECT_HAS(with(sized + R"("expand":0.01)"),
             "field 'expand': gives an intermediate size of 0 channels");
  EXPECT_HAS(with(sized + R"("layer_norm_epsilon":-1)"),
             "field 'layer_norm_epsilon'");
  EXPECT_HAS(with(sized + R"("conv_kernel":0)"), "field 'conv_kernel'");
  EXPECT_HAS(with(sized + R"("time_step_rank":"big")"),
             "field 'time_step_rank': must be \"auto\" or a positive integer");
  EXPECT_HAS(with(sized + R"("time_step_rank":0)"), "field 'time_step_rank'");
  EXPECT_HAS(with(sized + R"("pad_vocab_size_multiple":true)"),
             "field 'pad_vocab_size_multiple'");
  EXPECT_HAS(with(sized + R"("tie_word_embeddings":1)"),
             "field 'tie_word_embeddings'");
  // A string "Infinity" is not a number token and stays a string.
  EXPECT_HAS(with(sized + R"("time_step_rank":"Infinity")"),
             "not \"Infinity\"");
  EXPECT_EQ(with(sized + R"("expand":1.5)"), "");
}

TEST(HFConfigTest, Mamba2Errors) {
  const std::string base = R"("model_type":"mamba2","hidden_size":8,
      "state_size":4,"num_hidden_layers":1,"vocab_size":10)";
  auto with = [&](const std::string &fields) {
    return configError("{" + base + "," + fields + "}");
  };
  EXPECT_HAS(with(R"("head_dim":4)"), "field 'num_heads': missing");
  EXPECT_HAS(with(R"("num_heads":4)"), "field 'head_dim': missing");
  std::string message = with(R"("num_heads":4,"head_dim":2)");
  EXPECT_HAS(message, "cfg/config.json: field 'num_heads'");
  EXPECT_HAS(message, "4 * 2 must equal intermediate_size = int(expand * "
                      "hidden_size) = 16");
  const std::string heads = R"("num_heads":4,"head_dim":4,)";
  EXPECT_HAS(with(heads + R"("n_groups":3)"),
             "field 'n_groups': 3 groups do not divide num_heads = 4");
  EXPECT_HAS(with(heads + R"("n_groups":0)"), "field 'n_groups'");
  EXPECT_HAS(with(heads + R"("chunk_size":-1)"), "field 'chunk_size'");
  EXPECT_HAS(with(heads + R"("time_step_limit":[0.0])"),
             "field 'time_step_limit': must be a pair");
  EXPECT_HAS(with(heads + R"("time_step_limit":"none")"),
             "field 'time_step_limit': must be a pair");
  EXPECT_HAS(with(heads + R"("time_step_limit":[1.0, 0.5])"),
             "needs 0 <= low <= high, got [1, 0.5]");
  EXPECT_HAS(with(heads + R"("time_step_limit":[-Infinity, 0.5])"),
             "got [-inf, 0.5]");
  EXPECT_HAS(with(heads + R"("rms_norm":null)"), "field 'rms_norm'");
  EXPECT_HAS(with(heads + R"("norm_before_gate":"no")"),
             "field 'norm_before_gate'");
  EXPECT_EQ(with(heads + R"("n_groups":2,"time_step_limit":[0.001,0.1])"),
            "");
}

//===----------------------------------------------------------------------===//
// Model descriptions
//===----------------------------------------------------------------------===//

HFConfig parseOrDie(const std::string &json) {
  llvm::Expected<HFConfig> config = parseHFConfig(json, "config.json");
  EXPECT_TRUE(bool(config));
  if (!config) {
    llvm::consumeError(config.takeError());
    return HFConfig();
  }
  return *config;
}

/// hidden 4, state 2, 2 layers, vocab 8, conv 3: intermediate 8, rank 1.
const char *const kTinyMamba = R"({"model_type":"mamba","hidden_size":4,
    "state_size":2,"num_hidden_layers":2,"vocab_size":8,"conv_kernel":3})";

/// hidden 4 -> intermediate 8 = 4 heads x 2; 2 groups of state 3:
/// conv_dim 8 + 2*2*3 = 20, in_proj 8 + 20 + 4 = 32.
const char *const kTinyMamba2 = R"({"model_type":"mamba2","hidden_size":4,
    "state_size":3,"num_hidden_layers":2,"vocab_size":8,"num_heads":4,
    "head_dim":2,"n_groups":2,"conv_kernel":4})";

std::vector<int64_t> shapeOf(const ModelDescription &model,
                             const std::string &name) {
  const ExpectedTensor *tensor = model.find(name);
  return tensor ? tensor->shape : std::vector<int64_t>{-1};
}

TEST(ModelDescriptionTest, MambaTable) {
  ModelDescription model = ModelDescription::fromConfig(parseOrDie(kTinyMamba));
  // 10 per layer (no in/out_proj biases by default), embedding and final
  // norm; lm_head is tied.
  EXPECT_EQ(model.tensors.size(), 2u * 10 + 2);
  using Shape = std::vector<int64_t>;
  EXPECT_EQ(shapeOf(model, "backbone.embeddings.weight"), (Shape{8, 4}));
  const std::string l1 = "backbone.layers.1.";
  EXPECT_EQ(shapeOf(model, l1 + "norm.weight"), (Shape{4}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.in_proj.weight"), (Shape{16, 4}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.conv1d.weight"), (Shape{8, 1, 3}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.conv1d.bias"), (Shape{8}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.x_proj.weight"), (Shape{1 + 4, 8}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.dt_proj.weight"), (Shape{8, 1}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.dt_proj.bias"), (Shape{8}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.A_log"), (Shape{8, 2}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.D"), (Shape{8}));
  EXPECT_EQ(shapeOf(model, l1 + "mixer.out_proj.weight"), (Shape{4, 8}));
  EXPECT_EQ(shapeOf(model, "backbone.norm_f.weight"), (Shape{4}));
  EXPECT_EQ(model.find("lm_head.weight"), nullptr);
  EXPECT_EQ(model.find("backbone.layers.2.norm.weight"), nullptr);

  HFConfig biased = parseOrDie(kTinyMamba);
  biased.useBias = true;
  biased.useConvBias = false;
  biased.tieWordEmbeddings = false;
  ModelDescription withBias = ModelDescription::fromConfig(biased);
  EXPECT_EQ(shapeOf(withBias, l1 + "mixer.in_proj.bias"), (Shape{16}));
  EXPECT_EQ(shapeOf(withBias, l1 + "mixer.out_proj.bias"), (Shape{4}));
  EXPECT_EQ(withBias.find(l1 + "mixer.conv1d.bias"), nullptr);
  EXPECT_EQ(shapeOf(withBias, "lm_head.weight"), (Shape{8, 4}));
}

TEST(ModelDescriptionTest, Mamba2Table) {
  ModelDescription model =
      ModelDescription::fromConfig(parseOrDie(kTinyMamba2));
  // 9 per layer, embedding, final norm and the untied lm_head.
  EXPECT_EQ(model.tensors.size(), 2u * 9 + 3);
  using Shape = std::vector<int64_t>;
  const std::string l0 = "backbone.layers.0.";
  EXPECT_EQ(shapeOf(model, l0 + "norm.weight"), (Shape{4}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.in_proj.weight"), (Shape{32, 4}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.conv1d.weight"), (Shape{20, 1, 4}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.conv1d.bias"), (Shape{20}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.dt_bias"), (Shape{4}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.A_log"), (Shape{4}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.D"), (Shape{4}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.norm.weight"), (Shape{8}));
  EXPECT_EQ(shapeOf(model, l0 + "mixer.out_proj.weight"), (Shape{4, 8}));
  EXPECT_EQ(shapeOf(model, "lm_head.weight"), (Shape{8, 4}));
  EXPECT_EQ(model.find(l0 + "mixer.x_proj.weight"), nullptr);
}

class ModelCheckTest : public TempDir {
protected:
  /// Writes model.safetensors with every tensor of `model` (zeros, in BF16
  /// to exercise a non-f32 dtype), after `edit` changed the list.
  void writeCheckpoint(const ModelDescription &model,
                       const std::function<void(std::vector<Spec> &)> &edit =
                           [](std::vector<Spec> &) {}) {
    std::vector<Spec> specs;
    for (const ExpectedTensor &tensor : model.tensors)
      specs.push_back({tensor.name, "BF16", tensor.shape, {}});
    edit(specs);
    for (Spec &spec : specs) {
      size_t count = 1;
      for (int64_t dim : spec.shape)
        count *= size_t(dim);
      spec.data.assign(count * (spec.dtype == "F32" ? 4 : 2), 0);
    }
    writeSafetensors(file("model.safetensors"), specs);
  }

  /// Opens the folder and checks it: the error message, or "" and warnings.
  std::string check(const ModelDescription &model,
                    std::vector<std::string> *warnings = nullptr) {
    llvm::Expected<Checkpoint> ckpt = Checkpoint::openFolder(dir);
    if (!ckpt)
      return "open: " + llvm::toString(ckpt.takeError());
    llvm::Expected<CheckpointReport> report = checkCheckpoint(model, *ckpt);
    if (!report)
      return llvm::toString(report.takeError());
    if (warnings)
      *warnings = report->warnings;
    return "";
  }
};

TEST_F(ModelCheckTest, CompleteCheckpointsPass) {
  for (const char *json : {kTinyMamba, kTinyMamba2}) {
    ModelDescription model = ModelDescription::fromConfig(parseOrDie(json));
    writeCheckpoint(model);
    std::vector<std::string> warnings{"stale"};
    EXPECT_EQ(check(model, &warnings), "") << json;
    EXPECT_TRUE(warnings.empty());
  }
}

TEST_F(ModelCheckTest, MissingAndMisshapedTensors) {
  ModelDescription model = ModelDescription::fromConfig(parseOrDie(kTinyMamba2));
  writeCheckpoint(model, [](std::vector<Spec> &specs) {
    specs.erase(std::remove_if(specs.begin(), specs.end(),
                               [](const Spec &s) {
                                 return s.name ==
                                        "backbone.layers.1.mixer.dt_bias";
                               }),
                specs.end());
    for (Spec &spec : specs)
      if (spec.name == "backbone.layers.0.mixer.conv1d.weight")
        spec.shape = {20, 4};
  });
  std::string message = check(model);
  EXPECT_HAS(message, "model.safetensors: 2 tensor(s) do not match the "
                      "mamba2 config");
  EXPECT_HAS(message,
             "tensor 'backbone.layers.1.mixer.dt_bias': missing (expected [4])");
  EXPECT_HAS(message, "tensor 'backbone.layers.0.mixer.conv1d.weight' in ");
  EXPECT_HAS(message, ": shape [20, 4], expected [20, 1, 4]");
}

TEST_F(ModelCheckTest, ManyProblemsAreCut) {
  // A checkpoint of the wrong family: every Mamba-2 tensor is misshaped or
  // missing, and the Mamba-1 ones are extra.
  HFConfig mamba = parseOrDie(kTinyMamba), mamba2 = parseOrDie(kTinyMamba2);
  mamba.numHiddenLayers = mamba2.numHiddenLayers = 3;
  writeCheckpoint(ModelDescription::fromConfig(mamba));
  std::string message = check(ModelDescription::fromConfig(mamba2));
  // 7 per layer and the head.
  EXPECT_HAS(message, "22 tensor(s) do not match the mamba2 config");
  EXPECT_HAS(message, "\n  ... and 2 more");
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 21);
}

TEST_F(ModelCheckTest, ExtraTensorsAreWarnings) {
  ModelDescription model = ModelDescription::fromConfig(parseOrDie(kTinyMamba));
  writeCheckpoint(model, [](std::vector<Spec> &specs) {
    specs.push_back({"backbone.layers.0.mixer.rotary.inv_freq", "F32", {2}, {}});
  });
  std::vector<std::string> warnings;
  EXPECT_EQ(check(model, &warnings), "");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_HAS(warnings[0], "tensor 'backbone.layers.0.mixer.rotary.inv_freq'");
  EXPECT_HAS(warnings[0], "not used by a mamba model");
}

TEST_F(ModelCheckTest, TiedHead) {
  // Tied (Mamba's default): a stored head that fits is a warning...
  ModelDescription model = ModelDescription::fromConfig(parseOrDie(kTinyMamba));
  writeCheckpoint(model, [](std::vector<Spec> &specs) {
    specs.push_back({"lm_head.weight", "BF16", {8, 4}, {}});
  });
  std::vector<std::string> warnings;
  EXPECT_EQ(check(model, &warnings), "");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_HAS(warnings[0], "tie_word_embeddings is true");
  // ... and one that does not fit is an error.
  writeCheckpoint(model, [](std::vector<Spec> &specs) {
    specs.push_back({"lm_head.weight", "BF16", {9, 4}, {}});
  });
  EXPECT_HAS(check(model), "'lm_head.weight' in ");
  EXPECT_HAS(check(model), "shape [9, 4], expected [8, 4]");
}

TEST_F(ModelCheckTest, UntiedHeadIsRequired) {
  ModelDescription model =
      ModelDescription::fromConfig(parseOrDie(kTinyMamba2));
  writeCheckpoint(model, [](std::vector<Spec> &specs) { specs.pop_back(); });
  EXPECT_HAS(check(model), "tensor 'lm_head.weight': missing (expected [8, 4])");
}

} // namespace
