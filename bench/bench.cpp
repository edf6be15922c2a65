//===- bench.cpp - CPU benchmarks of ssmc-compiled kernels ----------------===//
//
// Part of ssmc. Times the headline cases of shared/PERFORMANCE.md (with the
// targets of issue 14 where they are stricter), compiled
// by ssmc into bench_kernels.o, and reports each against ceilings this
// program measures itself on the same machine (a STREAM-style triad for
// memory bandwidth, in DRAM and in cache, and an FMA loop for compute), so
// the fractions mean the same on another machine. Medians of repeated runs.
// Outputs are buffers allocated once (the kernels are compiled with
// --caller-outputs), so no call pays for an allocation. Performance is
// reported, never asserted.
//
//===----------------------------------------------------------------------===//

#include "bench_kernels.h"
#include "ssm/runtime.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <alloca.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Median wall time in seconds of `runs` calls of `f` after one warm-up.
double median(int runs, const std::function<void()> &f) {
  f();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    f();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// A dense f32 buffer with pseudo-random contents and its descriptor.
struct Buffer {
  std::vector<float> data;
  std::vector<int64_t> shape;
  Buffer(std::vector<int64_t> s, float lo, float hi, uint64_t seed)
      : shape(std::move(s)) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    data.resize(n);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float &v : data)
      v = dist(rng);
  }
  size_t bytes() const { return data.size() * sizeof(float); }
  template <typename Desc> Desc view() {
    Desc d;
    d.allocated = d.aligned = data.data();
    d.offset = 0;
    constexpr size_t rank = sizeof(d.sizes) / sizeof(d.sizes[0]);
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      d.sizes[i] = shape[i];
      d.strides[i] = stride;
      stride *= shape[i];
    }
    return d;
  }
};

/// Runs f(lo, hi) over [0, n) on the runtime's pool (the thread count set
/// with ssm_set_num_threads), as the compiled kernels do.
void parallelFor(int64_t n, const std::function<void(int64_t, int64_t)> &f) {
  auto body = [](void *ctx, int64_t lo, int64_t hi) {
    (*static_cast<const std::function<void(int64_t, int64_t)> *>(ctx))(lo, hi);
  };
  if (ssm_parallel_for(0, n, 1, body, const_cast<void *>(static_cast<const void *>(&f))) !=
      SSM_OK) {
    std::fprintf(stderr, "ssm_parallel_for: %s\n", ssm_last_error());
    std::exit(1);
  }
}

/// a[i] = b[i] + s * c[i] on all threads: bytes counted as 3 arrays (the
/// STREAM convention, no write-allocate).
double triadGBs(size_t n) {
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  const float s = 3.0f;
  int reps = std::max<size_t>(1, (size_t(1) << 26) / n);
  double t = median(5, [&] {
    parallelFor(int64_t(n), [&](int64_t lo, int64_t hi) {
      for (int r = 0; r < reps; ++r) {
        float *__restrict pa = a.data();
        const float *__restrict pb = b.data();
        const float *__restrict pc = c.data();
        for (int64_t i = lo; i < hi; ++i)
          pa[i] = pb[i] + s * pc[i];
        asm volatile("" : : "r"(pa) : "memory");
      }
    });
  });
  return 3.0 * n * sizeof(float) * reps / t / 1e9;
}

/// Peak f32 FMA throughput of all threads: 12 independent vector
/// accumulators per thread (enough to cover FMA latency times issue width),
/// written with intrinsics so the compiler can neither fold nor spill them.
double fmaGFlops(int threads) {
#if defined(__AVX512F__)
  using V = __m512;
  constexpr int lanes = 16;
  auto splat = [](float v) { return _mm512_set1_ps(v); };
  auto fma = [](V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); };
  auto add = [](V a, V b) { return _mm512_add_ps(a, b); };
  auto first = [](V a) { return _mm512_cvtss_f32(a); };
#elif defined(__FMA__)
  using V = __m256;
  constexpr int lanes = 8;
  auto splat = [](float v) { return _mm256_set1_ps(v); };
  auto fma = [](V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); };
  auto add = [](V a, V b) { return _mm256_add_ps(a, b); };
  auto first = [](V a) { return _mm256_cvtss_f32(a); };
#else
  using V = float;
  constexpr int lanes = 1;
  auto splat = [](float v) { return v; };
  auto fma = [](V a, V b, V c) { return a * b + c; };
  auto add = [](V a, V b) { return a + b; };
  auto first = [](V a) { return a; };
#endif
  const long iters = 10'000'000;
  constexpr int kAcc = 12;
  volatile float seed = 1e-7f; // unknown to the compiler
  std::vector<float> sinks(threads, 0.0f);
  double t = median(3, [&] {
    parallelFor(threads, [&](int64_t lo, int64_t hi) {
      for (int64_t w = lo; w < hi; ++w) {
        V x = splat(1.0f - seed), y = splat(seed);
        V a[kAcc];
        for (int k = 0; k < kAcc; ++k)
          a[k] = splat(seed * (k + 1));
        for (long i = 0; i < iters; ++i)
          for (int k = 0; k < kAcc; ++k)
            a[k] = fma(a[k], x, y);
        V total = a[0];
        for (int k = 1; k < kAcc; ++k)
          total = add(total, a[k]);
        sinks[w] += first(total);
      }
    });
  });
  asm volatile("" : : "r"(sinks.data()) : "memory");
  return 2.0 * lanes * kAcc * iters * threads / t / 1e9;
}

/// Calls `run` with the stack pointer `offset` bytes lower than it would
/// be: a kernel whose spills straddle cache lines at some alignments (as
/// the scan's did around library calls) runs at two speeds depending on
/// its caller's frame.
__attribute__((noinline)) void callAtOffset(size_t offset, const std::function<void()> &run) {
  volatile char *pad = static_cast<char *>(alloca(offset + 1));
  pad[0] = 0;
  run();
  asm volatile("" : : "r"(pad) : "memory");
}

/// This machine's limits for a thread count, measured here.
struct Ceilings {
  double dram, l3, peak;
};

/// A benchmark case: `run` calls the kernel once; `rate` describes a median
/// time against the ceilings.
struct Case {
  std::string name;
  std::function<void()> run;
  std::function<std::string(double, const Ceilings &)> rate;
  std::string target;
};

} // namespace

int main(int argc, char **argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  if (runs < 1) {
    std::fprintf(stderr, "usage: %s [runs >= 1]\n", argv[0]);
    return 1;
  }
  const int threadCounts[] = {1, 2};
  std::printf("ssmc CPU benchmark: f32, median of %d runs, on 1 and 2 threads of "
              "libssm_runtime's pool\n\n",
              runs);

  std::vector<Case> cases;
  char buf[160];
  // Inputs live as long as the cases that read them.
  std::vector<std::unique_ptr<Buffer>> keep;
  auto buffer = [&](std::vector<int64_t> shape, float lo, float hi, uint64_t seed) {
    keep.push_back(std::make_unique<Buffer>(std::move(shape), lo, hi, seed));
    return keep.back().get();
  };
  {
    // Mamba-1 selective scan, B=1, D=1536, N=16, L=512.
    const int64_t D = 1536, L = 512, N = 16;
    Buffer *u = buffer({1, D, L}, -1, 1, 1), *delta = buffer({1, D, L}, -2, 0.5f, 2),
           *A = buffer({D, N}, -1.5f, -0.1f, 3), *B = buffer({1, 1, N, L}, -1, 1, 4),
           *C = buffer({1, 1, N, L}, -1, 1, 5), *Dk = buffer({D}, -1, 1, 6),
           *z = buffer({1, D, L}, -1, 1, 7), *db = buffer({D}, -0.5f, 0.5f, 8),
           *y = buffer({1, D, L}, 0, 0, 9);
    double elems = double(D) * L * N;
    cases.push_back(
        {"mamba1 selective scan D=1536 N=16 L=512",
         [=] {
           auto du = u->view<ssmc_memref_3d_f32>(), ddelta = delta->view<ssmc_memref_3d_f32>(),
                dz = z->view<ssmc_memref_3d_f32>();
           auto dA = A->view<ssmc_memref_2d_f32>();
           auto dB = B->view<ssmc_memref_4d_f32>(), dC = C->view<ssmc_memref_4d_f32>();
           auto dD = Dk->view<ssmc_memref_1d_f32>(), ddb = db->view<ssmc_memref_1d_f32>();
           auto dy = y->view<ssmc_memref_3d_f32>();
           _mlir_ciface_selective_scan(&du, &ddelta, &dA, &dB, &dC, &dD, &dz, &ddb, &dy);
         },
         [&buf, elems](double t, const Ceilings &) {
           std::snprintf(buf, sizeof buf, "%.2f ns/(d,t,n)", t / elems * 1e9);
           return std::string(buf);
         },
         "<= 0.5 ns (1 thread)"});
  }
  // Mamba-2 SSD, H=48, P=64, N=128: `chunk` is 0 for the recurrent form.
  using SSDKernel = void (*)(ssmc_memref_4d_f32 *, ssmc_memref_3d_f32 *,
                             ssmc_memref_1d_f32 *, ssmc_memref_4d_f32 *,
                             ssmc_memref_4d_f32 *, ssmc_memref_1d_f32 *,
                             ssmc_memref_1d_f32 *, ssmc_memref_4d_f32 *);
  auto ssd = [&](const char *name, SSDKernel kernel, int64_t L, int64_t chunk,
                 const char *target) {
    const int64_t H = 48, P = 64, N = 128;
    Buffer *x = buffer({1, L, H, P}, -1, 1, 11), *dt = buffer({1, L, H}, -2, 0.5f, 12),
           *A = buffer({H}, -1.5f, -0.1f, 13), *B = buffer({1, L, 1, N}, -1, 1, 14),
           *C = buffer({1, L, 1, N}, -1, 1, 15), *Dk = buffer({H}, -1, 1, 16),
           *db = buffer({H}, -0.5f, 0.5f, 17), *y = buffer({1, L, H, P}, 0, 0, 18);
    double elems = double(H) * P * N * L;
    // Flops of the form that runs, per head and step: the recurrence does a
    // state FMA and an output FMA per (p, n); the chunked form two FMA
    // passes over the state (C·h and the update), the intra-chunk dot
    // products and updates ((q + 1)·(N + P) on average, the dot products
    // C_i·B_j once for the 4 heads of a work item, which share the group's
    // B and C) and one decay of the state per chunk.
    double perStep = 4.0 * P * N;
    if (chunk > 0)
      perStep += double(chunk + 1) * (N / 4.0 + P) + double(P) * N / chunk;
    double flops = perStep * H * L;
    cases.push_back(
        {name,
         [=] {
           auto dx = x->view<ssmc_memref_4d_f32>(), dB = B->view<ssmc_memref_4d_f32>(),
                dC = C->view<ssmc_memref_4d_f32>();
           auto ddt = dt->view<ssmc_memref_3d_f32>();
           auto dA = A->view<ssmc_memref_1d_f32>(), dD = Dk->view<ssmc_memref_1d_f32>(),
                ddb = db->view<ssmc_memref_1d_f32>();
           auto dy = y->view<ssmc_memref_4d_f32>();
           kernel(&dx, &ddt, &dA, &dB, &dC, &dD, &ddb, &dy);
         },
         [&buf, elems, flops](double t, const Ceilings &c) {
           std::snprintf(buf, sizeof buf, "%.3f ns/(h,p,n,t) %.0f%% FMA", t / elems * 1e9,
                         100 * flops / t / 1e9 / c.peak);
           return std::string(buf);
         },
         target});
  };
  ssd("mamba2 ssd H=48 P=64 N=128 L=512", _mlir_ciface_ssd, 512, 0, "<= 0.045 ns");
  ssd("  chunked (Q=16)", _mlir_ciface_ssd_chunked, 512, 16, "<= 0.045 ns");
  ssd("mamba2 ssd L=4096", _mlir_ciface_ssd_long, 4096, 0, "<= 0.045 ns");
  ssd("  chunked (Q=16)", _mlir_ciface_ssd_chunked_long, 4096, 16, ">= 60% FMA");
  {
    // Mamba-2 decode, batch 32, H=80, P=64, N=128: state in DRAM.
    const int64_t Bt = 32, H = 80, P = 64, N = 128;
    Buffer *x = buffer({Bt, H, P}, -1, 1, 21), *dt = buffer({Bt, H}, -2, 0.5f, 22),
           *A = buffer({H}, -1.5f, -0.1f, 23), *B = buffer({Bt, 1, N}, -1, 1, 24),
           *C = buffer({Bt, 1, N}, -1, 1, 25), *Dk = buffer({H}, -1, 1, 26),
           *db = buffer({H}, -0.5f, 0.5f, 27), *state = buffer({Bt, H, P, N}, -1, 1, 28),
           *y = buffer({Bt, H, P}, 0, 0, 29);
    double bytes = 2.0 * state->bytes();
    cases.push_back(
        {"mamba2 decode B=32 H=80 P=64 N=128",
         [=] {
           auto dx = x->view<ssmc_memref_3d_f32>(), dB = B->view<ssmc_memref_3d_f32>(),
                dC = C->view<ssmc_memref_3d_f32>(), dy = y->view<ssmc_memref_3d_f32>();
           auto ddt = dt->view<ssmc_memref_2d_f32>();
           auto dA = A->view<ssmc_memref_1d_f32>(), dD = Dk->view<ssmc_memref_1d_f32>(),
                ddb = db->view<ssmc_memref_1d_f32>();
           auto ds = state->view<ssmc_memref_4d_f32>();
           _mlir_ciface_decode(&dx, &ddt, &dA, &dB, &dC, &dD, &ddb, &ds, &dy);
         },
         [&buf, bytes](double t, const Ceilings &c) {
           double gbs = bytes / t / 1e9;
           std::snprintf(buf, sizeof buf, "%.1f GB/s %.0f%% triad", gbs, 100 * gbs / c.dram);
           return std::string(buf);
         },
         ">= 85% of triad"});
  }
  {
    // Causal conv1d, D=1536, W=4, L=512, bias and SiLU.
    const int64_t D = 1536, L = 512;
    Buffer *x = buffer({1, D, L}, -1, 1, 31), *w = buffer({D, 4}, -0.5f, 0.5f, 32),
           *b = buffer({D}, -0.1f, 0.1f, 33), *o = buffer({1, D, L}, 0, 0, 34);
    double bytes = 2.0 * x->bytes();
    cases.push_back(
        {"causal conv1d D=1536 W=4 L=512",
         [=] {
           auto dx = x->view<ssmc_memref_3d_f32>();
           auto dw = w->view<ssmc_memref_2d_f32>();
           auto db = b->view<ssmc_memref_1d_f32>();
           auto dout = o->view<ssmc_memref_3d_f32>();
           _mlir_ciface_conv(&dx, &dw, &db, &dout);
         },
         [&buf, bytes](double t, const Ceilings &c) {
           double gbs = bytes / t / 1e9;
           std::snprintf(buf, sizeof buf, "%.1f GB/s %.0f%% L3 triad", gbs, 100 * gbs / c.l3);
           return std::string(buf);
         },
         ">= 50% of L3 triad"});
  }

  // seconds[t][case]
  std::vector<Ceilings> ceilings;
  std::vector<std::vector<double>> seconds;
  for (int threads : threadCounts) {
    if (ssm_set_num_threads(threads) != SSM_OK) {
      std::fprintf(stderr, "ssm_set_num_threads(%d): %s\n", threads, ssm_last_error());
      return 1;
    }
    // The last-level cache's triad over 3 x 2 MiB: the working set of the
    // convolution (x and its output, 3 MiB each), past L2 on machines of
    // this kind (1-2 MiB per core) and well within their L3.
    ceilings.push_back({triadGBs(size_t(1) << 24),   // 3 x 64 MiB: DRAM
                        triadGBs(size_t(1) << 19),   // 3 x 2 MiB: L3
                        fmaGFlops(threads)});
    std::printf("ceilings, %d thread%s: triad DRAM %.1f GB/s, triad L3 %.1f GB/s, "
                "FMA %.1f GFLOP/s\n",
                threads, threads > 1 ? "s" : "", ceilings.back().dram,
                ceilings.back().l3, ceilings.back().peak);
    seconds.emplace_back();
    for (const Case &c : cases)
      seconds.back().push_back(median(runs, c.run));
  }

  std::printf("\n%-40s %-38s %-38s %s\n", "case", "1 thread: median, rate",
              "2 threads: median, rate", "target");
  for (size_t i = 0; i < cases.size(); ++i) {
    std::printf("%-40s", cases[i].name.c_str());
    for (size_t t = 0; t < seconds.size(); ++t) {
      std::printf(" %8.3f ms  %-26s", seconds[t][i] * 1e3,
                  cases[i].rate(seconds[t][i], ceilings[t]).c_str());
    }
    std::printf(" %s\n", cases[i].target.c_str());
  }

  // The first case (the scan) on one thread from 8 caller stack offsets.
  if (ssm_set_num_threads(1) != SSM_OK) {
    std::fprintf(stderr, "ssm_set_num_threads(1): %s\n", ssm_last_error());
    return 1;
  }
  double fastest = 0, slowest = 0;
  for (size_t offset = 0; offset < 64; offset += 8) {
    double t = median(runs, [&] { callAtOffset(offset, cases[0].run); });
    fastest = offset == 0 ? t : std::min(fastest, t);
    slowest = std::max(slowest, t);
  }
  std::printf("\n%s, 1 thread, 8 caller stack offsets (0-56 bytes): %.3f-%.3f ms, "
              "max/min %.3f (target <= 1.1)\n",
              cases[0].name.c_str(), fastest * 1e3, slowest * 1e3, slowest / fastest);
  return 0;
}
