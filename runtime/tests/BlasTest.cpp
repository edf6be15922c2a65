//===- BlasTest.cpp - ssm_sgemm through the run-time-loaded CBLAS ---------===//
//
// Part of ssmc. Needs a CBLAS on the machine (scripts/setup.sh installs
// OpenBLAS); ctest also runs these tests against the reference BLAS through
// SSM_BLAS. The failure path, with no BLAS, is BlasMissingTest.cpp.
//
// Products are compared with a double-precision loop. Tolerance: each
// element is a sum of k float products; a float GEMM's error is bounded by
// about k * eps * sum|a_ip * b_pj| (eps = 2^-24 per rounding, blocked sums
// do better). We allow 4 * k * eps * sum|a_ip b_pj| + 1e-6, which every
// correct summation order meets and a wrong index or stride misses by far.
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Shape {
  int trans_b;
  int64_t m, n, k;
  int64_t lda_pad, ldb_pad, ldc_pad; // Added to the smallest stride.
  float beta;
};

std::string describe(const Shape &s) {
  return "trans_b=" + std::to_string(s.trans_b) + " m=" + std::to_string(s.m) +
         " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) +
         " pads=" + std::to_string(s.lda_pad) + "," +
         std::to_string(s.ldb_pad) + "," + std::to_string(s.ldc_pad) +
         " beta=" + std::to_string(s.beta);
}

// Runs one product through ssm_sgemm (or ssm_kernel_sgemm) and compares
// every element of C, padding included, with the reference.
void checkProduct(const Shape &s, bool kernel) {
  SCOPED_TRACE(describe(s));
  std::mt19937 rng(static_cast<unsigned>(s.m * 131 + s.n * 17 + s.k));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  int64_t lda = std::max<int64_t>(1, s.k) + s.lda_pad;
  int64_t bRows = s.trans_b ? s.n : s.k, bCols = s.trans_b ? s.k : s.n;
  int64_t ldb = std::max<int64_t>(1, bCols) + s.ldb_pad;
  int64_t ldc = std::max<int64_t>(1, s.n) + s.ldc_pad;
  std::vector<float> a(static_cast<size_t>(s.m * lda));
  std::vector<float> b(static_cast<size_t>(bRows * ldb));
  std::vector<float> c(static_cast<size_t>(s.m * ldc));
  for (float &x : a)
    x = dist(rng);
  for (float &x : b)
    x = dist(rng);
  for (float &x : c)
    x = dist(rng);
  // Padding must survive; with beta == 0, C's old values must not leak in.
  std::vector<float> before = c;
  if (s.beta == 0.0f)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j)
        c[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();

  if (kernel) {
    ssm_kernel_sgemm(s.trans_b, s.m, s.n, s.k, a.data(), lda, b.data(), ldb,
                     s.beta, c.data(), ldc);
  } else {
    ASSERT_EQ(ssm_sgemm(s.trans_b, s.m, s.n, s.k, a.data(), lda, b.data(), ldb,
                        s.beta, c.data(), ldc),
              SSM_OK)
        << ssm_last_error();
  }

  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      float got = c[i * ldc + j];
      if (j >= s.n) {
        ASSERT_EQ(got, before[i * ldc + j]) << "padding at " << i << "," << j;
        continue;
      }
      double sum = 0, magnitude = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        double bv = s.trans_b ? b[j * ldb + p] : b[p * ldb + j];
        double term = static_cast<double>(a[i * lda + p]) * bv;
        sum += term;
        magnitude += std::fabs(term);
      }
      double old = s.beta == 0.0f ? 0.0 : before[i * ldc + j];
      double want = sum + static_cast<double>(s.beta) * old;
      double tolerance =
          4.0 * static_cast<double>(s.k) * std::ldexp(1.0, -24) * magnitude +
          1e-6;
      ASSERT_NEAR(got, want, tolerance) << "at " << i << "," << j;
    }
  }
}

TEST(Blas, LoadsALibrary) {
  ASSERT_EQ(ssm_blas_status(), SSM_OK) << ssm_last_error();
  const char *library = ssm_blas_library();
  ASSERT_NE(library, nullptr);
  EXPECT_NE(std::string(library), "");
  // ctest's run with SSM_BLAS checks that the library asked for is used.
  if (const char *expected = std::getenv("SSM_TEST_EXPECT_BLAS")) {
    EXPECT_STREQ(library, expected);
  }
  // The same answer every time.
  EXPECT_EQ(ssm_blas_library(), library);
  EXPECT_EQ(ssm_blas_status(), SSM_OK);
}

TEST(Blas, MatchesDoublePrecisionReference) {
  const std::vector<Shape> shapes = {
      // Plain, both layouts of B, beta 0 and 1.
      {0, 7, 5, 3, 0, 0, 0, 0.0f},
      {1, 7, 5, 3, 0, 0, 0, 0.0f},
      {0, 7, 5, 3, 0, 0, 0, 1.0f},
      {1, 7, 5, 3, 0, 0, 0, 1.0f},
      {0, 33, 65, 129, 0, 0, 0, 0.5f},
      {1, 64, 48, 256, 0, 0, 0, -2.0f},
      // Strides larger than the rows.
      {0, 9, 11, 13, 4, 3, 2, 1.0f},
      {1, 9, 11, 13, 4, 3, 2, 0.0f},
      {1, 16, 24, 40, 1, 7, 5, 1.0f},
      // GEMV shapes (sent to cblas_sgemv): one row of A (decoding one
      // token) or one column of C, both layouts of B, beta 0, 1 and other.
      {1, 1, 300, 96, 0, 0, 0, 0.0f},
      {0, 1, 300, 96, 2, 1, 0, 1.0f},
      {1, 300, 1, 96, 0, 0, 3, 1.0f},
      {0, 300, 1, 96, 0, 4, 0, 0.0f},
      {0, 1, 1, 1000, 0, 0, 0, 1.0f},
      {1, 1, 50, 20, 0, 0, 0, -0.5f},
      {0, 40, 1, 20, 1, 2, 3, 2.0f},
      // k = 0: C = beta * C, with beta 0, 1 and other.
      {0, 4, 6, 0, 0, 0, 0, 0.0f},
      {1, 4, 6, 0, 0, 0, 1, 1.0f},
      {0, 4, 6, 0, 2, 0, 3, 3.0f},
      // A size large enough for a multithreaded BLAS to split.
      {1, 256, 512, 384, 0, 0, 0, 0.0f},
  };
  for (const Shape &s : shapes)
    checkProduct(s, /*kernel=*/false);
}

TEST(Blas, KernelEntryPointComputesTheSame) {
  checkProduct({1, 5, 7, 9, 1, 2, 3, 1.0f}, /*kernel=*/true);
  checkProduct({0, 5, 7, 9, 0, 0, 0, 0.0f}, /*kernel=*/true);
}

// Application threads may call products at the same time.
TEST(Blas, ConcurrentCallersGetTheirOwnResults) {
  constexpr int kThreads = 4, kM = 16, kN = 24, kK = 32;
  std::vector<std::vector<float>> results(kThreads);
  std::vector<std::thread> threads;
  std::vector<float> b(kN * kK);
  for (int i = 0; i < kN * kK; ++i)
    b[i] = static_cast<float>(i % 7) - 3.0f;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> a(kM * kK, static_cast<float>(t + 1));
      std::vector<float> &c = results[t];
      c.assign(kM * kN, 0.0f);
      for (int repeat = 0; repeat < 50; ++repeat)
        if (ssm_sgemm(1, kM, kN, kK, a.data(), kK, b.data(), kK, 0.0f, c.data(),
                      kN) != SSM_OK)
          c.assign(kM * kN, -1.0f);
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kM; ++i)
      for (int j = 0; j < kN; ++j) {
        float want = 0;
        for (int p = 0; p < kK; ++p)
          want += static_cast<float>(t + 1) * b[j * kK + p];
        ASSERT_EQ(results[t][i * kN + j], want) << t << " " << i << " " << j;
      }
}

TEST(Blas, EmptyProductsTouchNothing) {
  float b[12] = {}, c[4] = {1, 2, 3, 4};
  // m == 0 or n == 0: nothing to compute. Only matrices without elements
  // may be null (here A and C, then B and C).
  EXPECT_EQ(ssm_sgemm(0, 0, 4, 3, nullptr, 3, b, 4, 0.0f, nullptr, 4), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(ssm_sgemm(1, 2, 0, 3, b, 3, nullptr, 3, 0.0f, c, 1), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(c[0], 1);
  EXPECT_EQ(c[1], 2);
  // k == 0 with null A and B: C = beta * C.
  EXPECT_EQ(ssm_sgemm(0, 2, 2, 0, nullptr, 1, nullptr, 2, 2.0f, c, 2), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(c[0], 2);
  EXPECT_EQ(c[3], 8);
}

// Every rejected argument: the status, and a message naming the argument.
TEST(Blas, RejectsBadArguments) {
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  const float *A = a.data(), *B = b.data();
  float *C = c.data();
  struct Case {
    const char *what;
    ssm_status_t status;
    int trans_b;
    int64_t m, n, k, lda, ldb, ldc;
    const float *a, *b;
    float *c;
  } cases[] = {
      {"trans_b", SSM_ERROR_INVALID_ARGUMENT, 2, 2, 2, 2, 2, 2, 2, A, B, C},
      {"trans_b", SSM_ERROR_INVALID_ARGUMENT, -1, 2, 2, 2, 2, 2, 2, A, B, C},
      {"negative m", SSM_ERROR_INVALID_ARGUMENT, 0, -1, 2, 2, 2, 2, 2, A, B, C},
      {"negative n", SSM_ERROR_INVALID_ARGUMENT, 0, 2, -1, 2, 2, 2, 2, A, B, C},
      {"negative k", SSM_ERROR_INVALID_ARGUMENT, 0, 2, 2, -3, 2, 2, 2, A, B, C},
      {"lda 2 is less", SSM_ERROR_INVALID_ARGUMENT, 0, 2, 2, 3, 2, 2, 2, A, B,
       C},
      {"lda 0 is less", SSM_ERROR_INVALID_ARGUMENT, 0, 2, 2, 0, 0, 2, 2, A, B,
       C},
      // Without trans_b B is k x n: ldb >= n.
      {"ldb 3 is less", SSM_ERROR_INVALID_ARGUMENT, 0, 2, 4, 2, 2, 3, 4, A, B,
       C},
      // With trans_b B is n x k: ldb >= k.
      {"ldb 2 is less", SSM_ERROR_INVALID_ARGUMENT, 1, 2, 2, 3, 3, 2, 2, A, B,
       C},
      {"ldc 1 is less", SSM_ERROR_INVALID_ARGUMENT, 1, 2, 2, 2, 2, 2, 1, A, B,
       C},
      {"ldc -5 is less", SSM_ERROR_INVALID_ARGUMENT, 1, 0, 0, 0, 1, 1, -5,
       nullptr, nullptr, nullptr},
      {"a is null", SSM_ERROR_INVALID_ARGUMENT, 0, 2, 2, 2, 2, 2, 2, nullptr, B,
       C},
      {"b is null", SSM_ERROR_INVALID_ARGUMENT, 1, 2, 2, 2, 2, 2, 2, A, nullptr,
       C},
      {"c is null", SSM_ERROR_INVALID_ARGUMENT, 0, 2, 2, 2, 2, 2, 2, A, B,
       nullptr},
      // C has elements even when k == 0.
      {"c is null", SSM_ERROR_INVALID_ARGUMENT, 0, 2, 2, 0, 1, 2, 2, nullptr,
       nullptr, nullptr},
      // Leading dimensions beyond the BLAS's int.
      {"lda 2147483648 exceeds", SSM_ERROR_OUT_OF_RANGE, 0, 1, 1, 1,
       int64_t{INT_MAX} + 1, 1, 1, A, B, C},
      {"ldb 2147483648 exceeds", SSM_ERROR_OUT_OF_RANGE, 1, 1, 1, 1, 1,
       int64_t{INT_MAX} + 1, 1, A, B, C},
      {"ldc 4294967296 exceeds", SSM_ERROR_OUT_OF_RANGE, 0, 1, 1, 1, 1, 1,
       int64_t{1} << 32, A, B, C},
      // An extent past the address space: huge m with a large stride.
      {"a spans more than the address space", SSM_ERROR_OUT_OF_RANGE, 0,
       int64_t{1} << 40, 1, 1, int64_t{1} << 30, 1, 1, A, B, C},
      {"c spans more than the address space", SSM_ERROR_OUT_OF_RANGE, 0,
       int64_t{1} << 40, 1, 1, 1, 1, int64_t{1} << 30, A, B, C},
      {"b spans more than the address space", SSM_ERROR_OUT_OF_RANGE, 1, 1,
       INT_MAX, 1, 1, INT_MAX, INT_MAX, A, B, C},
  };
  for (const Case &t : cases) {
    SCOPED_TRACE(t.what);
    for (float &x : c)
      x = 7.0f;
    ssm_clear_error();
    EXPECT_EQ(ssm_sgemm(t.trans_b, t.m, t.n, t.k, t.a, t.lda, t.b, t.ldb, 0.0f,
                        t.c, t.ldc),
              t.status);
    std::string message = ssm_last_error();
    EXPECT_EQ(message.rfind("ssm_sgemm: ", 0), 0u) << message;
    EXPECT_NE(message.find(t.what), std::string::npos) << message;
    for (float x : c)
      ASSERT_EQ(x, 7.0f) << "C written by a failing call";
  }
}

TEST(Blas, MessagesShowTheValues) {
  float x = 0;
  EXPECT_EQ(ssm_sgemm(0, 3, 4, 5, &x, 2, &x, 4, 0.0f, &x, 4),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_sgemm: lda 2 is less than max(1, 5), the length of a row");
  EXPECT_EQ(ssm_sgemm(0, 3, 4, -7, &x, 2, &x, 4, 0.0f, &x, 4),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_sgemm: negative k (-7)");
}

TEST(BlasDeathTest, KernelAbortsWithTheMessage) {
  // The BLAS may have started threads; re-executing is safer than forking.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  float x = 0;
  EXPECT_DEATH(ssm_kernel_sgemm(0, 2, 2, 2, nullptr, 2, &x, 2, 0.0f, &x, 2),
               "^ssm runtime: ssm_kernel_sgemm: a is null but has 2 x 2 "
               "elements\n");
  EXPECT_DEATH(ssm_kernel_sgemm(3, 2, 2, 2, &x, 2, &x, 2, 0.0f, &x, 2),
               "ssm runtime: ssm_kernel_sgemm: trans_b must be 0 or 1, got 3");
}

// On a CPU with AVX-512, OpenBLAS is asked for its AVX-512 (SkylakeX)
// kernels, unless the user chose a core type; the choice is visible in the
// environment, which OpenBLAS read when it was loaded.
TEST(Blas, AsksOpenBLASForItsAVX512Kernels) {
  const char *before = std::getenv("OPENBLAS_CORETYPE");
  std::string given = before ? before : "";
  ASSERT_EQ(ssm_blas_status(), SSM_OK) << ssm_last_error();
  const char *after = std::getenv("OPENBLAS_CORETYPE");
  if (const char *expected = std::getenv("SSM_TEST_EXPECT_CORETYPE")) {
    ASSERT_NE(after, nullptr);
    EXPECT_STREQ(after, expected);
  }
#if defined(__x86_64__)
  bool avx512 = __builtin_cpu_supports("avx512f") &&
                __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512dq") &&
                __builtin_cpu_supports("avx512vl");
  if (!given.empty()) {
    EXPECT_EQ(std::string(after ? after : ""), given) << "the user's choice";
  } else if (avx512) {
    EXPECT_STREQ(after, "SkylakeX");
  } else {
    EXPECT_EQ(after, nullptr);
  }
#endif
}

// OpenBLAS is asked for one thread before it is loaded (it would start one
// per core, spinning before they sleep), unless the user set a count.
TEST(Blas, AsksOpenBLASForOneThread) {
  const char *before = std::getenv("OPENBLAS_NUM_THREADS");
  std::string given = before ? before : "";
  ASSERT_EQ(ssm_blas_status(), SSM_OK) << ssm_last_error();
  const char *after = std::getenv("OPENBLAS_NUM_THREADS");
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(std::string(after), given.empty() ? "1" : given);
}

// OpenBLAS runs single-threaded (the runtime's pool splits wide products
// by columns); the split products agree with the reference on every thread
// count, wide and narrow, both layouts of B, padded strides, one row.
TEST(Blas, WideProductsSplitOverThePool) {
  ASSERT_EQ(ssm_blas_status(), SSM_OK) << ssm_last_error();
  // The runtime opened the library RTLD_LOCAL; RTLD_NOLOAD finds that copy.
  void *handle = dlopen(ssm_blas_library(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto get =
      reinterpret_cast<int (*)()>(dlsym(handle, "openblas_get_num_threads"));
  if (std::string(ssm_blas_library()).find("openblas") != std::string::npos) {
    ASSERT_NE(get, nullptr) << "OpenBLAS without openblas_get_num_threads";
    EXPECT_EQ(get(), 1);
  }
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE("threads=" + std::to_string(threads));
    ASSERT_EQ(ssm_set_num_threads(threads), SSM_OK);
    for (const Shape &shape : {Shape{1, 7, 300, 33, 0, 0, 0, 0.0f},
                               Shape{0, 5, 257, 19, 3, 2, 1, 1.0f},
                               Shape{1, 1, 500, 64, 0, 4, 0, 0.0f},
                               Shape{1, 3, 127, 8, 0, 0, 0, 0.5f}})
      checkProduct(shape, /*kernel=*/false);
    if (get) {
      EXPECT_EQ(get(), 1);
    }
  }
  ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK);
  dlclose(handle);
}

} // namespace
