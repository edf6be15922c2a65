//===- BufferTest.cpp - Aligned host buffers ------------------------------===//
//
// Part of ssmc.
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSM_TEST_SANITIZER_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SSM_TEST_SANITIZER_ALLOCATOR 1
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SSM_TEST_SANITIZER_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SSM_TEST_SANITIZER_ALLOCATOR 1
#endif

namespace {

TEST(Buffer, HonorsEveryPowerOfTwoAlignment) {
  for (size_t alignment = 1; alignment <= 8192; alignment *= 2) {
    for (size_t bytes : {size_t(1), size_t(7), size_t(64), size_t(1000)}) {
      void *p = nullptr;
      ASSERT_EQ(ssm_buffer_alloc(bytes, alignment, &p), SSM_OK)
          << bytes << " " << alignment << ": " << ssm_last_error();
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % sizeof(void *), 0u);
      std::memset(p, 0xab, bytes); // The whole range is writable.
      ssm_buffer_free(p);
    }
  }
}

TEST(Buffer, ZeroAlignmentMeansTheDefault) {
  for (int i = 0; i < 16; ++i) {
    void *p = nullptr;
    ASSERT_EQ(ssm_buffer_alloc(24 + i, 0, &p), SSM_OK);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % SSM_DEFAULT_ALIGNMENT, 0u);
    ssm_buffer_free(p);
  }
  EXPECT_EQ(SSM_DEFAULT_ALIGNMENT, 64);
}

TEST(Buffer, ZeroBytesGivesDistinctPointers) {
  void *a = nullptr, *b = nullptr;
  ASSERT_EQ(ssm_buffer_alloc(0, 0, &a), SSM_OK);
  ASSERT_EQ(ssm_buffer_alloc(0, 0, &b), SSM_OK);
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_NE(a, b);
  ssm_buffer_free(a);
  ssm_buffer_free(b);
}

TEST(Buffer, RejectsNonPowerOfTwoAlignment) {
  for (size_t alignment : {size_t(3), size_t(6), size_t(48), size_t(65),
                           size_t(100), SIZE_MAX}) {
    void *p = reinterpret_cast<void *>(0x1234);
    EXPECT_EQ(ssm_buffer_alloc(16, alignment, &p), SSM_ERROR_INVALID_ARGUMENT)
        << alignment;
    EXPECT_EQ(p, nullptr);
    EXPECT_NE(std::string(ssm_last_error()).find("not a power of two"),
              std::string::npos)
        << ssm_last_error();
  }
}

TEST(Buffer, RejectsNullOut) {
  EXPECT_EQ(ssm_buffer_alloc(16, 64, nullptr), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_buffer_alloc: out is null");
}

TEST(Buffer, RejectsSizesBeyondTheLargestObject) {
  void *p = reinterpret_cast<void *>(0x1234);
  EXPECT_EQ(ssm_buffer_alloc(SIZE_MAX, 64, &p), SSM_ERROR_OUT_OF_RANGE);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(ssm_buffer_alloc(static_cast<size_t>(PTRDIFF_MAX) - 10, 64, &p),
            SSM_ERROR_OUT_OF_RANGE);
  // The largest power of two is a valid alignment but no object can have it.
  EXPECT_EQ(ssm_buffer_alloc(1, (SIZE_MAX >> 1) + 1, &p),
            SSM_ERROR_OUT_OF_RANGE);
  EXPECT_EQ(p, nullptr);
}

// ASan and TSan abort on impossible requests by default.
#ifndef SSM_TEST_SANITIZER_ALLOCATOR
TEST(Buffer, ReportsOutOfMemory) {
  void *p = reinterpret_cast<void *>(0x1234);
  EXPECT_EQ(ssm_buffer_alloc(size_t(1) << 62, 64, &p), SSM_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(p, nullptr);
  EXPECT_NE(std::string(ssm_last_error()).find("cannot allocate"),
            std::string::npos);
}
#endif

TEST(Buffer, FreeIgnoresNull) { ssm_buffer_free(nullptr); }

} // namespace
