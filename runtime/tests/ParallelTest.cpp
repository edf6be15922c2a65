//===- ParallelTest.cpp - The thread pool and ssm_parallel_for ------------===//
//
// Part of ssmc. Every test leaves the runtime as it found it by calling
// ssm_runtime_shutdown, so the thread count is re-resolved for the next.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <dirent.h>
#include <mutex>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SSM_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SSM_TEST_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSM_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SSM_TEST_ASAN 1
#endif

namespace {

using Chunk = std::pair<int64_t, int64_t>;

// The documented partition rule, written out independently of the runtime.
std::vector<Chunk> documentedChunks(int64_t begin, int64_t end, int64_t grain,
                                    int64_t threads) {
  std::vector<Chunk> chunks;
  if (begin >= end)
    return chunks;
  int64_t n = end - begin;
  int64_t g = std::max<int64_t>(grain, 1);
  int64_t count = std::min<int64_t>(threads, std::max<int64_t>(1, n / g));
  int64_t lo = begin;
  for (int64_t i = 0; i < count; ++i) {
    int64_t size = n / count + (i < n % count ? 1 : 0);
    chunks.push_back({lo, lo + size});
    lo += size;
  }
  return chunks;
}

// Counts how often each index ran and records the chunks.
struct Recorder {
  int64_t begin = 0;
  std::vector<std::atomic<int>> hits;
  std::mutex mu;
  std::vector<Chunk> chunks;
  std::set<std::thread::id> threads;

  Recorder(int64_t begin, int64_t n) : begin(begin), hits(n) {
    for (auto &h : hits)
      h.store(0);
  }

  static void body(void *ctx, int64_t lo, int64_t hi) {
    auto *self = static_cast<Recorder *>(ctx);
    for (int64_t i = lo; i < hi; ++i)
      self->hits[i - self->begin].fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(self->mu);
    self->chunks.push_back({lo, hi});
    self->threads.insert(std::this_thread::get_id());
  }

  std::vector<Chunk> sortedChunks() {
    std::vector<Chunk> sorted = chunks;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }
};

int countProcessThreads() {
  DIR *dir = opendir("/proc/self/task");
  if (!dir)
    return -1;
  int count = 0;
  while (dirent *entry = readdir(dir))
    if (entry->d_name[0] != '.')
      ++count;
  closedir(dir);
  return count;
}

// A joined thread can linger in /proc for a moment after pthread_join
// returns (the kernel wakes the joiner before it reaps the task); poll.
int settledProcessThreads(int expected) {
  int count = countProcessThreads();
  for (int i = 0; i < 200 && count != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    count = countProcessThreads();
  }
  return count;
}

class Parallel : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK); }
  void TearDown() override {
    EXPECT_EQ(ssm_runtime_shutdown(), SSM_OK);
    unsetenv("SSM_NUM_THREADS");
  }
};

TEST_F(Parallel, CoversEveryIndexExactlyOnce) {
  const int32_t thread_counts[] = {1, 2, 3, 4, 7, 16};
  const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 100, 1000, 4097};
  const int64_t grains[] = {0, 1, 2, 3, 7, 64, 1000, INT64_MAX};
  const int64_t begins[] = {0, -5, int64_t(1) << 40};
  for (int32_t threads : thread_counts) {
    ASSERT_EQ(ssm_set_num_threads(threads), SSM_OK);
    for (int64_t n : sizes)
      for (int64_t grain : grains)
        for (int64_t begin : begins) {
          Recorder r(begin, n);
          ASSERT_EQ(ssm_parallel_for(begin, begin + n, grain, Recorder::body,
                                     &r),
                    SSM_OK);
          SCOPED_TRACE(::testing::Message()
                       << "threads " << threads << " n " << n << " grain "
                       << grain << " begin " << begin);
          for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ(r.hits[i].load(), 1) << "index " << i;
          std::vector<Chunk> chunks = r.sortedChunks();
          ASSERT_EQ(chunks, documentedChunks(begin, begin + n, grain, threads));
          ASSERT_LE((int64_t)chunks.size(), threads);
          if (chunks.size() > 1) {
            for (const Chunk &c : chunks)
              ASSERT_GE(c.second - c.first, std::max<int64_t>(grain, 1));
          }
        }
  }
}

TEST_F(Parallel, PartitionMatchesTheDocumentedRule) {
  for (int32_t threads : {1, 2, 5, 64})
    for (int64_t n : {1, 2, 9, 10, 11, 1000003})
      for (int64_t grain : {1, 2, 3, 100, 1000000}) {
        std::vector<Chunk> expected = documentedChunks(0, n, grain, threads);
        int64_t count = ssm_internal_num_chunks(n, grain, threads);
        ASSERT_EQ(count, (int64_t)expected.size());
        for (int64_t i = 0; i < count; ++i) {
          int64_t offset, size;
          ssm_internal_chunk(n, count, i, &offset, &size);
          ASSERT_EQ(Chunk(offset, offset + size), expected[i]);
        }
      }
}

TEST_F(Parallel, PartitionIsDeterministic) {
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  std::vector<Chunk> first;
  for (int run = 0; run < 20; ++run) {
    Recorder r(0, 1001);
    ASSERT_EQ(ssm_parallel_for(0, 1001, 10, Recorder::body, &r), SSM_OK);
    if (run == 0)
      first = r.sortedChunks();
    else
      ASSERT_EQ(r.sortedChunks(), first) << "run " << run;
  }
  std::vector<Chunk> expected = {{0, 251}, {251, 501}, {501, 751}, {751, 1001}};
  EXPECT_EQ(first, expected);
}

// A floating-point reduction that combines per-chunk partial sums in chunk
// order gives bitwise identical results on every run.
struct Reduction {
  std::vector<double> values;
  std::mutex mu;
  std::vector<std::pair<int64_t, double>> partials;
  static void body(void *ctx, int64_t lo, int64_t hi) {
    auto *self = static_cast<Reduction *>(ctx);
    double sum = 0;
    for (int64_t i = lo; i < hi; ++i)
      sum += self->values[i];
    std::lock_guard<std::mutex> lock(self->mu);
    self->partials.push_back({lo, sum});
  }
};

TEST_F(Parallel, ChunkedReductionsAreReproducible) {
  ASSERT_EQ(ssm_set_num_threads(3), SSM_OK);
  Reduction red;
  for (int i = 0; i < 100000; ++i)
    red.values.push_back(1.0 / (1.0 + i) * (i % 7 == 0 ? -1e3 : 1.0));
  double first = 0;
  for (int run = 0; run < 10; ++run) {
    red.partials.clear();
    ASSERT_EQ(ssm_parallel_for(0, (int64_t)red.values.size(), 1000,
                               Reduction::body, &red),
              SSM_OK);
    std::sort(red.partials.begin(), red.partials.end());
    double total = 0;
    for (auto &p : red.partials)
      total += p.second;
    if (run == 0)
      first = total;
    else
      ASSERT_EQ(total, first); // Bitwise, not approximately.
  }
}

TEST_F(Parallel, RunsOnSeveralThreads) {
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  Recorder r(0, 4);
  auto slow = [](void *ctx, int64_t lo, int64_t hi) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    Recorder::body(ctx, lo, hi);
  };
  ASSERT_EQ(ssm_parallel_for(0, 4, 1, slow, &r), SSM_OK);
  EXPECT_EQ(r.chunks.size(), 4u);
  EXPECT_GE(r.threads.size(), 2u);
  EXPECT_EQ(ssm_internal_live_workers(), 3);
}

TEST_F(Parallel, PlainWritesAreVisibleToTheCaller) {
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  for (int run = 0; run < 50; ++run) {
    std::vector<int64_t> out(10000, -1);
    auto body = [](void *ctx, int64_t lo, int64_t hi) {
      auto *v = static_cast<std::vector<int64_t> *>(ctx);
      for (int64_t i = lo; i < hi; ++i)
        (*v)[i] = i * 3;
    };
    ASSERT_EQ(ssm_parallel_for(0, 10000, 16, body, &out), SSM_OK);
    for (int64_t i = 0; i < 10000; ++i)
      ASSERT_EQ(out[i], i * 3);
  }
}

void mustNotRun(void *, int64_t, int64_t) { ADD_FAILURE() << "body ran"; }

TEST_F(Parallel, ArgumentErrors) {
  EXPECT_EQ(ssm_parallel_for(0, 10, 1, nullptr, nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_parallel_for: body is null");
  // The body is checked even when the range is empty.
  EXPECT_EQ(ssm_parallel_for(5, 5, 1, nullptr, nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_parallel_for(0, 10, -1, mustNotRun, nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_parallel_for: negative grain -1");
  EXPECT_EQ(ssm_parallel_for(INT64_MIN, INT64_MAX, 1, mustNotRun, nullptr),
            SSM_ERROR_OUT_OF_RANGE);
  EXPECT_EQ(ssm_parallel_for(-1, INT64_MAX, 1, mustNotRun, nullptr),
            SSM_ERROR_OUT_OF_RANGE);
  // Empty and reversed ranges succeed without running anything.
  EXPECT_EQ(ssm_parallel_for(0, 0, 1, mustNotRun, nullptr), SSM_OK);
  EXPECT_EQ(ssm_parallel_for(10, 3, 1, mustNotRun, nullptr), SSM_OK);
  EXPECT_EQ(ssm_parallel_for(INT64_MAX, INT64_MIN, 1, mustNotRun, nullptr),
            SSM_OK);
}

TEST_F(Parallel, RangesAtTheEdgeOfInt64) {
  ASSERT_EQ(ssm_set_num_threads(3), SSM_OK);
  Recorder top(INT64_MAX - 10, 10);
  ASSERT_EQ(ssm_parallel_for(INT64_MAX - 10, INT64_MAX, 1, Recorder::body,
                             &top),
            SSM_OK);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(top.hits[i].load(), 1);
  Recorder bottom(INT64_MIN, 10);
  ASSERT_EQ(ssm_parallel_for(INT64_MIN, INT64_MIN + 10, 1, Recorder::body,
                             &bottom),
            SSM_OK);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(bottom.hits[i].load(), 1);
}

struct Nested {
  static constexpr int64_t kOuter = 8, kInner = 100;
  std::atomic<int> hits[kOuter][kInner];
  std::atomic<int> inner_on_other_thread{0};
  std::atomic<int> busy_status{0};
};

struct InnerCtx {
  Nested *nested;
  int64_t row;
  std::thread::id owner;
};

void innerBody(void *ctx, int64_t lo, int64_t hi) {
  auto *inner = static_cast<InnerCtx *>(ctx);
  if (std::this_thread::get_id() != inner->owner)
    inner->nested->inner_on_other_thread.fetch_add(1);
  for (int64_t i = lo; i < hi; ++i)
    inner->nested->hits[inner->row][i].fetch_add(1);
}

void outerBody(void *ctx, int64_t lo, int64_t hi) {
  auto *nested = static_cast<Nested *>(ctx);
  for (int64_t row = lo; row < hi; ++row) {
    InnerCtx inner{nested, row, std::this_thread::get_id()};
    if (ssm_parallel_for(0, Nested::kInner, 1, innerBody, &inner) != SSM_OK)
      nested->busy_status.store(-1);
  }
  // Reconfiguring from inside a body is refused, not deadlocked.
  if (ssm_set_num_threads(2) == SSM_ERROR_BUSY &&
      ssm_runtime_shutdown() == SSM_ERROR_BUSY)
    nested->busy_status.fetch_add(1);
}

TEST_F(Parallel, NestedLoopsRunSeriallyWithoutDeadlock) {
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  auto nested = std::make_unique<Nested>();
  for (auto &row : nested->hits)
    for (auto &h : row)
      h.store(0);
  ASSERT_EQ(ssm_parallel_for(0, Nested::kOuter, 1, outerBody, nested.get()),
            SSM_OK);
  for (auto &row : nested->hits)
    for (auto &h : row)
      ASSERT_EQ(h.load(), 1);
  EXPECT_EQ(nested->inner_on_other_thread.load(), 0);
  EXPECT_EQ(nested->busy_status.load(), 4); // One per outer chunk.
  EXPECT_EQ(ssm_get_num_threads(), 4);
}

TEST_F(Parallel, ConcurrentCallersFromApplicationThreads) {
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  constexpr int kCallers = 4, kCalls = 200;
  constexpr int64_t kN = 1000;
  std::vector<std::unique_ptr<Recorder>> recorders;
  for (int c = 0; c < kCallers; ++c)
    recorders.push_back(std::make_unique<Recorder>(0, kN));
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (int k = 0; k < kCalls; ++k)
        if (ssm_parallel_for(0, kN, 1 + k % 50, Recorder::body,
                             recorders[c].get()) != SSM_OK)
          failures.fetch_add(1);
    });
  // Meanwhile, another thread reconfigures the pool.
  std::thread reconfigure([&] {
    for (int k = 0; k < 20 && !done.load(); ++k) {
      if (ssm_set_num_threads(k % 2 ? 2 : 4) != SSM_OK)
        failures.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (auto &t : callers)
    t.join();
  done.store(true);
  reconfigure.join();
  EXPECT_EQ(failures.load(), 0);
  for (int c = 0; c < kCallers; ++c)
    for (int64_t i = 0; i < kN; ++i)
      ASSERT_EQ(recorders[c]->hits[i].load(), kCalls)
          << "caller " << c << " index " << i;
}

TEST_F(Parallel, SetAndGetNumThreads) {
  ASSERT_EQ(ssm_set_num_threads(3), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), 3);
  for (int32_t bad : {0, -1, INT32_MIN, SSM_MAX_THREADS + 1, INT32_MAX}) {
    EXPECT_EQ(ssm_set_num_threads(bad), SSM_ERROR_INVALID_ARGUMENT) << bad;
    EXPECT_EQ(ssm_get_num_threads(), 3);
  }
  EXPECT_EQ(std::string(ssm_last_error()),
            "ssm_set_num_threads: 2147483647 is outside 1..1024");
  ASSERT_EQ(ssm_set_num_threads(SSM_MAX_THREADS), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), SSM_MAX_THREADS);
  ASSERT_EQ(ssm_set_num_threads(1), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), 1);
}

TEST_F(Parallel, ThreadCountChangesRestartTheWorkers) {
  // Sanitizers may add threads of their own, so compare counts before and
  // after rather than with absolute numbers.
  EXPECT_EQ(ssm_internal_live_workers(), 0);
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  EXPECT_EQ(ssm_internal_live_workers(), 0); // Started lazily.
  Recorder r(0, 100);
  ASSERT_EQ(ssm_parallel_for(0, 100, 1, Recorder::body, &r), SSM_OK);
  EXPECT_EQ(ssm_internal_live_workers(), 3);
  int with_pool = countProcessThreads();
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK); // Same count: kept.
  EXPECT_EQ(ssm_internal_live_workers(), 3);
  ASSERT_EQ(ssm_set_num_threads(2), SSM_OK);
  EXPECT_EQ(ssm_internal_live_workers(), 0);
  EXPECT_EQ(settledProcessThreads(with_pool - 3), with_pool - 3);
  Recorder r2(0, 100);
  ASSERT_EQ(ssm_parallel_for(0, 100, 1, Recorder::body, &r2), SSM_OK);
  EXPECT_EQ(ssm_internal_live_workers(), 1);
  EXPECT_EQ(settledProcessThreads(with_pool - 2), with_pool - 2);
  ASSERT_EQ(ssm_set_num_threads(1), SSM_OK);
  Recorder r3(0, 100);
  ASSERT_EQ(ssm_parallel_for(0, 100, 1, Recorder::body, &r3), SSM_OK);
  EXPECT_EQ(ssm_internal_live_workers(), 0);
  EXPECT_EQ(r3.chunks.size(), 1u);
  ASSERT_EQ(ssm_set_num_threads(3), SSM_OK);
  ASSERT_EQ(ssm_parallel_for(0, 100, 1, Recorder::body, &r3), SSM_OK);
  EXPECT_EQ(ssm_internal_live_workers(), 2);
  ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK);
  EXPECT_EQ(ssm_internal_live_workers(), 0);
  EXPECT_EQ(settledProcessThreads(with_pool - 3), with_pool - 3);
}

TEST_F(Parallel, IdleWorkersSleep) {
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  Recorder r(0, 64);
  ASSERT_EQ(ssm_parallel_for(0, 64, 1, Recorder::body, &r), SSM_OK);
  ASSERT_EQ(ssm_internal_live_workers(), 3);
  // Let the workers finish their short spin, then measure the CPU time the
  // whole process uses while the pool is idle.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  timespec start, stop;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &stop);
  double cpu = (stop.tv_sec - start.tv_sec) + 1e-9 * (stop.tv_nsec - start.tv_nsec);
  // Three spinning workers would burn about 0.9 s here.
  EXPECT_LT(cpu, 0.1);
}

TEST(ParseNumThreads, AcceptsOnlyPositiveIntegersInRange) {
  EXPECT_EQ(ssm_internal_parse_num_threads("1"), 1);
  EXPECT_EQ(ssm_internal_parse_num_threads("8"), 8);
  EXPECT_EQ(ssm_internal_parse_num_threads(" 12\n"), 12);
  EXPECT_EQ(ssm_internal_parse_num_threads("007"), 7);
  EXPECT_EQ(ssm_internal_parse_num_threads("1024"), SSM_MAX_THREADS);
  for (const char *bad : {"", " ", "0", "-1", "+4", "4x", "x4", "4 4", "1.5",
                          "1025", "99999999999999999999999", "0x10", "\t"})
    EXPECT_EQ(ssm_internal_parse_num_threads(bad), 0) << "'" << bad << "'";
  EXPECT_EQ(ssm_internal_parse_num_threads(nullptr), 0);
}

TEST_F(Parallel, NumThreadsComesFromTheEnvironment) {
  int32_t cpus = ssm_internal_cpu_count();
  ASSERT_GE(cpus, 1);
  unsetenv("SSM_NUM_THREADS");
  ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), cpus);

  setenv("SSM_NUM_THREADS", "3", 1);
  ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), 3);
  // Read once: changing the variable later has no effect...
  setenv("SSM_NUM_THREADS", "5", 1);
  EXPECT_EQ(ssm_get_num_threads(), 3);
  // ...until the runtime is shut down.
  ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), 5);
  // An explicit setting wins over the environment.
  ASSERT_EQ(ssm_set_num_threads(2), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), 2);

  for (const char *bad : {"0", "-3", "abc", "2.5", "100000", ""}) {
    setenv("SSM_NUM_THREADS", bad, 1);
    ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK);
    EXPECT_EQ(ssm_get_num_threads(), cpus) << "'" << bad << "'";
  }
  setenv("SSM_NUM_THREADS", " 6 ", 1);
  ASSERT_EQ(ssm_runtime_shutdown(), SSM_OK);
  EXPECT_EQ(ssm_get_num_threads(), 6);
}

TEST_F(Parallel, PinnedWorkersStillCoverEverything) {
  setenv("SSM_PIN_THREADS", "1", 1);
  ASSERT_EQ(ssm_set_num_threads(3), SSM_OK);
  Recorder r(0, 333);
  ASSERT_EQ(ssm_parallel_for(0, 333, 1, Recorder::body, &r), SSM_OK);
  unsetenv("SSM_PIN_THREADS");
  for (int64_t i = 0; i < 333; ++i)
    ASSERT_EQ(r.hits[i].load(), 1);
}

// TSan does not support starting threads after a multi-threaded fork, and
// the ASan of clang 14 can deadlock in its allocator in such a child.
#if !defined(SSM_TEST_TSAN) && !defined(SSM_TEST_ASAN)
TEST_F(Parallel, ForkedChildStartsAFreshPool) {
  ASSERT_EQ(ssm_set_num_threads(4), SSM_OK);
  Recorder r(0, 100);
  ASSERT_EQ(ssm_parallel_for(0, 100, 1, Recorder::body, &r), SSM_OK);
  ASSERT_EQ(ssm_internal_live_workers(), 3);
  pid_t pid = fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    alarm(20); // A hang in the child ends as SIGALRM.
    int code = 0;
    if (ssm_internal_live_workers() != 0)
      code = 2;
    std::vector<int> hits(1000, 0);
    auto body = [](void *ctx, int64_t lo, int64_t hi) {
      auto *h = static_cast<std::vector<int> *>(ctx);
      for (int64_t i = lo; i < hi; ++i)
        (*h)[i] += 1;
    };
    if (ssm_parallel_for(0, 1000, 1, body, &hits) != SSM_OK)
      code = 3;
    for (int v : hits)
      if (v != 1)
        code = 4;
    if (ssm_internal_live_workers() != 3)
      code = 5;
    if (ssm_runtime_shutdown() != SSM_OK)
      code = 6;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died with signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's pool is untouched.
  EXPECT_EQ(ssm_internal_live_workers(), 3);
  Recorder again(0, 100);
  ASSERT_EQ(ssm_parallel_for(0, 100, 1, Recorder::body, &again), SSM_OK);
  for (int64_t i = 0; i < 100; ++i)
    ASSERT_EQ(again.hits[i].load(), 1);
}
#endif

} // namespace
