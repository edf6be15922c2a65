//===- WeightsTest.cpp - Weights files: open, refuse, close ---------------===//
//
// Part of ssmc. ssm_weights_open on good and bad files, FIFOs refused
// without blocking, and a second close reported instead of freeing twice.
//
//===----------------------------------------------------------------------===//

#include "ssm/model_abi.h"
#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

/// A weights file of `floats` floats 0, 1, 2, ... with layout hash `hash`,
/// in the test's temporary directory; removed by the destructor.
struct WeightsFile {
  std::string path;
  WeightsFile(const char *name, uint64_t floats, uint64_t hash) {
    path = ::testing::TempDir() + name;
    std::vector<unsigned char> header(SSM_WEIGHTS_HEADER_BYTES, 0);
    std::memcpy(header.data(), SSM_WEIGHTS_MAGIC, SSM_WEIGHTS_MAGIC_BYTES);
    std::memcpy(header.data() + SSM_WEIGHTS_FLOAT_COUNT_OFFSET, &floats, 8);
    std::memcpy(header.data() + SSM_WEIGHTS_LAYOUT_HASH_OFFSET, &hash, 8);
    FILE *file = std::fopen(path.c_str(), "wb");
    std::fwrite(header.data(), 1, header.size(), file);
    for (uint64_t i = 0; i < floats; ++i) {
      float value = float(i);
      std::fwrite(&value, sizeof value, 1, file);
    }
    std::fclose(file);
  }
  ~WeightsFile() { unlink(path.c_str()); }
};

TEST(WeightsTest, OpensReadsAndClosesOnce) {
  WeightsFile file("weights-ok", 8, 42);
  ssm_weights_t *weights = nullptr;
  ASSERT_EQ(ssm_weights_open(file.path.c_str(), 8, 42, &weights), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(ssm_weights_data(weights)[7], 7.0f);
  EXPECT_EQ(ssm_weights_close(weights), SSM_OK);
  // The handle is gone: a second close is an error, not a double free.
  EXPECT_EQ(ssm_weights_close(weights), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(ssm_last_error(), "not an open weights handle"), nullptr)
      << ssm_last_error();
  EXPECT_EQ(ssm_weights_close(nullptr), SSM_OK);
}

TEST(WeightsTest, ClosesHandlesInAnyOrder) {
  WeightsFile file("weights-order", 4, 1);
  ssm_weights_t *a = nullptr, *b = nullptr, *c = nullptr;
  ASSERT_EQ(ssm_weights_open(file.path.c_str(), 4, 1, &a), SSM_OK);
  ASSERT_EQ(ssm_weights_open(file.path.c_str(), 4, 1, &b), SSM_OK);
  ASSERT_EQ(ssm_weights_open(file.path.c_str(), 4, 1, &c), SSM_OK);
  EXPECT_EQ(ssm_weights_close(b), SSM_OK);
  EXPECT_EQ(ssm_weights_close(a), SSM_OK);
  EXPECT_EQ(ssm_weights_close(b), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_weights_close(c), SSM_OK);
}

TEST(WeightsTest, RefusesMismatchesNamingBothValues) {
  WeightsFile file("weights-mismatch", 8, 42);
  ssm_weights_t *weights = nullptr;
  EXPECT_EQ(ssm_weights_open(file.path.c_str(), 9, 42, &weights),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(weights, nullptr);
  EXPECT_NE(std::strstr(ssm_last_error(), "holds 8 floats, the model expects 9"),
            nullptr)
      << ssm_last_error();
  EXPECT_EQ(ssm_weights_open(file.path.c_str(), 8, 43, &weights),
            SSM_ERROR_INVALID_ARGUMENT);
}

TEST(WeightsTest, RefusesAFifoWithoutWaitingForAWriter) {
  std::string path = ::testing::TempDir() + "weights-fifo";
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  ssm_weights_t *weights = nullptr;
  EXPECT_EQ(ssm_weights_open(path.c_str(), 1, 1, &weights),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(ssm_last_error(), "is not a regular file"), nullptr)
      << ssm_last_error();
  unlink(path.c_str());
}

} // namespace
