//===- StatusTest.cpp - Status codes, error messages, versions ------------===//
//
// Part of ssmc.
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <thread>

namespace {

TEST(Status, StringsAreDistinctAndStable) {
  EXPECT_STREQ(ssm_status_string(SSM_OK), "ok");
  EXPECT_STREQ(ssm_status_string(SSM_ERROR_INVALID_ARGUMENT),
               "invalid argument");
  EXPECT_STREQ(ssm_status_string(SSM_ERROR_OUT_OF_MEMORY), "out of memory");
  EXPECT_STREQ(ssm_status_string(SSM_ERROR_UNAVAILABLE), "unavailable");
  EXPECT_STREQ(ssm_status_string(SSM_ERROR_INTERNAL), "internal error");
  EXPECT_STREQ(ssm_status_string(SSM_ERROR_OUT_OF_RANGE), "out of range");
  EXPECT_STREQ(ssm_status_string(SSM_ERROR_BUSY), "busy");
  EXPECT_STREQ(ssm_status_string(SSM_ERROR_UNIMPLEMENTED), "unimplemented");
  std::set<std::string> seen;
  for (int s = SSM_OK; s <= SSM_ERROR_UNIMPLEMENTED; ++s)
    EXPECT_TRUE(seen.insert(ssm_status_string((ssm_status_t)s)).second) << s;
}

TEST(Status, ValuesArePartOfTheAbi) {
  EXPECT_EQ(SSM_OK, 0);
  EXPECT_EQ(SSM_ERROR_INVALID_ARGUMENT, 1);
  EXPECT_EQ(SSM_ERROR_OUT_OF_MEMORY, 2);
  EXPECT_EQ(SSM_ERROR_UNAVAILABLE, 3);
  EXPECT_EQ(SSM_ERROR_INTERNAL, 4);
  EXPECT_EQ(SSM_ERROR_OUT_OF_RANGE, 5);
  EXPECT_EQ(SSM_ERROR_BUSY, 6);
  EXPECT_EQ(SSM_ERROR_UNIMPLEMENTED, 7);
}

TEST(Status, UnknownValues) {
  EXPECT_STREQ(ssm_status_string((ssm_status_t)-1), "unknown status");
  EXPECT_STREQ(ssm_status_string((ssm_status_t)1000), "unknown status");
}

TEST(Error, SetErrorFormatsAndReturnsTheStatus) {
  EXPECT_EQ(ssm_set_error(SSM_ERROR_UNAVAILABLE, "no driver for %s (%d)",
                          "cuda", 12),
            SSM_ERROR_UNAVAILABLE);
  EXPECT_STREQ(ssm_last_error(), "no driver for cuda (12)");
}

TEST(Error, OkClearsAndNullFormatUsesTheStatusString) {
  ssm_set_error(SSM_ERROR_INTERNAL, "boom");
  EXPECT_EQ(ssm_set_error(SSM_OK, "ignored %d", 1), SSM_OK);
  EXPECT_STREQ(ssm_last_error(), "");
  EXPECT_EQ(ssm_set_error(SSM_ERROR_BUSY, nullptr), SSM_ERROR_BUSY);
  EXPECT_STREQ(ssm_last_error(), "busy");
  ssm_clear_error();
  EXPECT_STREQ(ssm_last_error(), "");
}

TEST(Error, LongMessagesAreTruncatedSafely) {
  std::string long_text(5000, 'x');
  ssm_set_error(SSM_ERROR_INTERNAL, "%s", long_text.c_str());
  size_t length = std::strlen(ssm_last_error());
  EXPECT_GE(length, 255u);
  EXPECT_LT(length, long_text.size());
  EXPECT_EQ(std::string(ssm_last_error()), long_text.substr(0, length));
}

TEST(Error, MessageMayQuoteItself) {
  ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "inner problem");
  ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "outer: %s", ssm_last_error());
  EXPECT_STREQ(ssm_last_error(), "outer: inner problem");
}

TEST(Error, MessagesAreThreadLocal) {
  ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "main thread");
  std::string other_before, other_after;
  std::thread t([&] {
    other_before = ssm_last_error();
    ssm_set_error(SSM_ERROR_INTERNAL, "worker thread");
    other_after = ssm_last_error();
  });
  t.join();
  EXPECT_EQ(other_before, "");
  EXPECT_EQ(other_after, "worker thread");
  EXPECT_STREQ(ssm_last_error(), "main thread");
}

TEST(Error, SuccessLeavesTheMessage) {
  ssm_set_error(SSM_ERROR_INTERNAL, "sticky");
  EXPECT_EQ(ssm_dtype_size(SSM_DTYPE_F32), 4u);
  int64_t shape[1] = {3};
  ssm_tensor_t t;
  ASSERT_EQ(ssm_tensor_init_contiguous(&t, nullptr, SSM_DTYPE_F32, 1, shape),
            SSM_OK);
  EXPECT_STREQ(ssm_last_error(), "sticky");
}

TEST(Version, MatchesTheHeader) {
  std::string expected = std::to_string(SSM_RUNTIME_VERSION_MAJOR) + "." +
                         std::to_string(SSM_RUNTIME_VERSION_MINOR) + "." +
                         std::to_string(SSM_RUNTIME_VERSION_PATCH);
  EXPECT_EQ(expected, "0.1.0");
  EXPECT_STREQ(ssm_runtime_version(), expected.c_str());
  EXPECT_EQ(ssm_runtime_abi_version(), (uint32_t)SSM_RUNTIME_ABI_VERSION);
}

} // namespace
