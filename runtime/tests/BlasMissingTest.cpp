//===- BlasMissingTest.cpp - The runtime without a usable CBLAS -----------===//
//
// Part of ssmc. A program of its own, because the BLAS is resolved once per
// process: ctest runs it with SSM_BLAS naming a library that does not exist
// and again with one that exists but exports no cblas_sgemm, and passes in
// SSM_TEST_BLAS_REASON the text the message must give as the reason. Both
// variables are required; without them every test fails (none is skipped).
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

std::string requiredEnv(const char *name) {
  const char *value = std::getenv(name);
  if (!value || !*value)
    ADD_FAILURE() << name << " must be set (ctest sets it)";
  return value ? value : "";
}

TEST(BlasMissing, StatusNamesTheLibraryAndTheReason) {
  std::string chosen = requiredEnv("SSM_BLAS");
  std::string reason = requiredEnv("SSM_TEST_BLAS_REASON");
  ASSERT_EQ(ssm_blas_status(), SSM_ERROR_UNAVAILABLE);
  std::string message = ssm_last_error();
  EXPECT_EQ(message.rfind("ssm_blas_status: no CBLAS library: tried SSM_BLAS=" +
                              chosen + " (",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(reason), std::string::npos) << message;
  EXPECT_NE(message.find("unset SSM_BLAS to use libopenblas.so.0 or "
                         "libblas.so.3"),
            std::string::npos)
      << message;
  EXPECT_EQ(ssm_blas_library(), nullptr);
  // The outcome is kept: asking again gives the same answer.
  ssm_clear_error();
  EXPECT_EQ(ssm_blas_status(), SSM_ERROR_UNAVAILABLE);
  EXPECT_EQ(message, ssm_last_error());
}

TEST(BlasMissing, ProductsNeedingTheBlasFailCleanly) {
  std::string reason = requiredEnv("SSM_TEST_BLAS_REASON");
  float a[4] = {1, 2, 3, 4}, c[4] = {9, 9, 9, 9};
  EXPECT_EQ(ssm_sgemm(0, 2, 2, 2, a, 2, a, 2, 0.0f, c, 2),
            SSM_ERROR_UNAVAILABLE);
  std::string message = ssm_last_error();
  EXPECT_EQ(message.rfind("ssm_sgemm: no CBLAS library: tried SSM_BLAS=", 0),
            0u)
      << message;
  EXPECT_NE(message.find(reason), std::string::npos) << message;
  EXPECT_EQ(c[0], 9.0f) << "C written by a failing call";
  // Argument errors are still reported as such, before the BLAS is needed.
  EXPECT_EQ(ssm_sgemm(0, 2, 2, 2, nullptr, 2, a, 2, 0.0f, c, 2),
            SSM_ERROR_INVALID_ARGUMENT);
  // Products that need no BLAS still work.
  EXPECT_EQ(ssm_sgemm(0, 0, 2, 2, nullptr, 2, a, 2, 0.0f, nullptr, 2), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(ssm_sgemm(1, 2, 2, 0, nullptr, 1, nullptr, 1, 0.5f, c, 2), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(c[3], 4.5f);
}

TEST(BlasMissingDeathTest, KernelPrintsTheMessageAndAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  float a[4] = {1, 2, 3, 4}, c[4];
  EXPECT_DEATH(ssm_kernel_sgemm(1, 2, 2, 2, a, 2, a, 2, 0.0f, c, 2),
               "^ssm runtime: ssm_kernel_sgemm: no CBLAS library: tried "
               "SSM_BLAS=");
}

// Nothing else in the runtime depends on the BLAS.
void addOne(void *ctx, int64_t lo, int64_t hi) {
  auto *values = static_cast<int *>(ctx);
  for (int64_t i = lo; i < hi; ++i)
    values[i] += 1;
}

TEST(BlasMissing, RestOfTheRuntimeWorks) {
  EXPECT_EQ(ssm_blas_status(), SSM_ERROR_UNAVAILABLE);
  ASSERT_EQ(ssm_set_num_threads(2), SSM_OK) << ssm_last_error();
  int values[100] = {};
  ASSERT_EQ(ssm_parallel_for(0, 100, 1, addOne, values), SSM_OK);
  for (int v : values)
    EXPECT_EQ(v, 1);
  void *buffer = nullptr;
  ASSERT_EQ(ssm_buffer_alloc(256, 0, &buffer), SSM_OK);
  ssm_buffer_free(buffer);
  int64_t shape[2] = {3, 4};
  ssm_tensor_t t;
  EXPECT_EQ(ssm_tensor_init_contiguous(&t, values, SSM_DTYPE_I32, 2, shape),
            SSM_OK);
  EXPECT_EQ(ssm_runtime_shutdown(), SSM_OK);
}

} // namespace
