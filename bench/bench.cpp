//===- bench.cpp - CPU benchmarks of ssmc-compiled kernels ----------------===//
//
// Part of ssmc. Times the headline cases of shared/PERFORMANCE.md, compiled
// by ssmc into bench_kernels.o, and reports each against ceilings this
// program measures itself on the same machine (a STREAM-style triad for
// memory bandwidth, in DRAM and in cache, and an FMA loop for compute), so
// the fractions mean the same on another machine. Medians of repeated runs.
// Performance is reported, never asserted.
//
//===----------------------------------------------------------------------===//

#include "bench_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
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

/// a[i] = b[i] + s * c[i]: bytes counted as 3 arrays (no write-allocate).
double triadGBs(size_t n) {
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  const float s = 3.0f;
  int reps = std::max<size_t>(1, (size_t(1) << 26) / n);
  double t = median(5, [&] {
    for (int r = 0; r < reps; ++r) {
      float *__restrict pa = a.data();
      const float *__restrict pb = b.data();
      const float *__restrict pc = c.data();
      for (size_t i = 0; i < n; ++i)
        pa[i] = pb[i] + s * pc[i];
      asm volatile("" : : "r"(pa) : "memory");
    }
  });
  return 3.0 * n * sizeof(float) * reps / t / 1e9;
}

/// Peak f32 FMA throughput of one core: 12 independent vector accumulators
/// (enough to cover FMA latency times issue width), written with intrinsics
/// so the compiler can neither fold nor spill them.
double fmaGFlops() {
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
  float sink = 0.0f;
  double t = median(3, [&] {
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
    sink += first(total);
  });
  asm volatile("" : : "r"(&sink) : "memory");
  return 2.0 * lanes * kAcc * iters / t / 1e9;
}

struct Row {
  std::string name;
  double seconds;
  std::string rate, ceiling, target;
};

} // namespace

int main(int argc, char **argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  if (runs < 1) {
    std::fprintf(stderr, "usage: %s [runs >= 1]\n", argv[0]);
    return 1;
  }
  std::printf("ssmc CPU benchmark: one thread, f32, median of %d runs\n\n", runs);
  double dram = triadGBs(size_t(1) << 24);  // 3 x 64 MiB: DRAM
  double cache = triadGBs(size_t(1) << 14); // 3 x 64 KiB: L1/L2
  double peak = fmaGFlops();
  std::printf("ceilings measured here: triad DRAM %.1f GB/s, triad cache %.1f "
              "GB/s, FMA %.1f GFLOP/s\n\n",
              dram, cache, peak);

  std::vector<Row> rows;
  char buf[160];
  {
    // Mamba-1 selective scan, B=1, D=1536, N=16, L=512.
    const int64_t D = 1536, L = 512, N = 16;
    Buffer u({1, D, L}, -1, 1, 1), delta({1, D, L}, -2, 0.5f, 2), A({D, N}, -1.5f, -0.1f, 3),
        B({1, 1, N, L}, -1, 1, 4), C({1, 1, N, L}, -1, 1, 5), Dk({D}, -1, 1, 6),
        z({1, D, L}, -1, 1, 7), db({D}, -0.5f, 0.5f, 8);
    auto du = u.view<ssmc_memref_3d_f32>(), ddelta = delta.view<ssmc_memref_3d_f32>(),
         dz = z.view<ssmc_memref_3d_f32>();
    auto dA = A.view<ssmc_memref_2d_f32>();
    auto dB = B.view<ssmc_memref_4d_f32>(), dC = C.view<ssmc_memref_4d_f32>();
    auto dD = Dk.view<ssmc_memref_1d_f32>(), ddb = db.view<ssmc_memref_1d_f32>();
    double t = median(runs, [&] {
      ssmc_memref_3d_f32 y;
      _mlir_ciface_selective_scan(&y, &du, &ddelta, &dA, &dB, &dC, &dD, &dz, &ddb);
      std::free(y.allocated);
    });
    double elems = double(D) * L * N;
    std::snprintf(buf, sizeof buf, "%.2f ns / (d,t,n)", t / elems * 1e9);
    rows.push_back({"mamba1 selective scan D=1536 N=16 L=512", t, buf,
                    "floor ~0.35-0.4 ns (exp-bound)", "<= 0.6 ns"});
  }
  // Mamba-2 SSD, H=48, P=64, N=128: `chunk` is 0 for the recurrent form.
  using SSDKernel = void (*)(ssmc_memref_4d_f32 *, ssmc_memref_4d_f32 *,
                             ssmc_memref_3d_f32 *, ssmc_memref_1d_f32 *,
                             ssmc_memref_4d_f32 *, ssmc_memref_4d_f32 *,
                             ssmc_memref_1d_f32 *, ssmc_memref_1d_f32 *);
  auto ssd = [&](const char *name, SSDKernel kernel, int64_t L, int64_t chunk,
                 const char *target) {
    const int64_t H = 48, P = 64, N = 128;
    Buffer x({1, L, H, P}, -1, 1, 11), dt({1, L, H}, -2, 0.5f, 12), A({H}, -1.5f, -0.1f, 13),
        B({1, L, 1, N}, -1, 1, 14), C({1, L, 1, N}, -1, 1, 15), Dk({H}, -1, 1, 16),
        db({H}, -0.5f, 0.5f, 17);
    auto dx = x.view<ssmc_memref_4d_f32>(), dB = B.view<ssmc_memref_4d_f32>(),
         dC = C.view<ssmc_memref_4d_f32>();
    auto ddt = dt.view<ssmc_memref_3d_f32>();
    auto dA = A.view<ssmc_memref_1d_f32>(), dD = Dk.view<ssmc_memref_1d_f32>(),
         ddb = db.view<ssmc_memref_1d_f32>();
    double t = median(runs, [&] {
      ssmc_memref_4d_f32 y;
      kernel(&y, &dx, &ddt, &dA, &dB, &dC, &dD, &ddb);
      std::free(y.allocated);
    });
    double elems = double(H) * P * N * L;
    // Flops of the form that ran, per head and step: the recurrence does a
    // state FMA and an output FMA per (p, n); the chunked form two FMA
    // passes over the state (C·h and the update), the intra-chunk dot
    // products and updates ((q + 1)·(N + P) on average) and one decay of
    // the state per chunk.
    double perStep = 4.0 * P * N;
    if (chunk > 0)
      perStep += double(chunk + 1) * (N + P) + double(P) * N / chunk;
    double gflops = perStep * H * L / t / 1e9;
    std::snprintf(buf, sizeof buf, "%.3f ns / (h,p,n,t), %.1f GFLOP/s = %.1f%% FMA",
                  t / elems * 1e9, gflops, 100 * gflops / peak);
    rows.push_back({name, t, buf, "FMA peak", target});
  };
  ssd("mamba2 ssd H=48 P=64 N=128 L=512", _mlir_ciface_ssd, 512, 0,
      "<= 0.06 ns (>= 60% FMA)");
  ssd("  chunked (Q=16)", _mlir_ciface_ssd_chunked, 512, 16, "<= 0.06 ns");
  ssd("mamba2 ssd L=4096", _mlir_ciface_ssd_long, 4096, 0, "<= 0.06 ns");
  ssd("  chunked (Q=16)", _mlir_ciface_ssd_chunked_long, 4096, 16, "<= 0.06 ns");
  {
    // Mamba-2 decode, batch 32, H=80, P=64, N=128: state in DRAM.
    const int64_t Bt = 32, H = 80, P = 64, N = 128;
    Buffer x({Bt, H, P}, -1, 1, 21), dt({Bt, H}, -2, 0.5f, 22), A({H}, -1.5f, -0.1f, 23),
        B({Bt, 1, N}, -1, 1, 24), C({Bt, 1, N}, -1, 1, 25), Dk({H}, -1, 1, 26),
        db({H}, -0.5f, 0.5f, 27), state({Bt, H, P, N}, -1, 1, 28), y({Bt, H, P}, 0, 0, 29);
    auto dx = x.view<ssmc_memref_3d_f32>(), dB = B.view<ssmc_memref_3d_f32>(),
         dC = C.view<ssmc_memref_3d_f32>(), dy = y.view<ssmc_memref_3d_f32>();
    auto ddt = dt.view<ssmc_memref_2d_f32>();
    auto dA = A.view<ssmc_memref_1d_f32>(), dD = Dk.view<ssmc_memref_1d_f32>(),
         ddb = db.view<ssmc_memref_1d_f32>();
    auto ds = state.view<ssmc_memref_4d_f32>();
    double t = median(runs, [&] {
      _mlir_ciface_decode(&dx, &ddt, &dA, &dB, &dC, &dD, &ddb, &ds, &dy);
    });
    double gbs = 2.0 * state.bytes() / t / 1e9;
    std::snprintf(buf, sizeof buf, "%.1f GB/s = %.0f%% of triad", gbs, 100 * gbs / dram);
    rows.push_back({"mamba2 decode B=32 H=80 P=64 N=128", t, buf, "DRAM triad",
                    ">= 85% of triad"});
  }
  {
    // Causal conv1d, D=1536, W=4, L=512, bias and SiLU.
    const int64_t D = 1536, L = 512;
    Buffer x({1, D, L}, -1, 1, 31), w({D, 4}, -0.5f, 0.5f, 32), b({D}, -0.1f, 0.1f, 33);
    auto dx = x.view<ssmc_memref_3d_f32>();
    auto dw = w.view<ssmc_memref_2d_f32>();
    auto db = b.view<ssmc_memref_1d_f32>();
    double t = median(runs, [&] {
      ssmc_memref_3d_f32 o;
      _mlir_ciface_conv(&o, &dx, &dw, &db);
      std::free(o.allocated);
    });
    double gbs = 2.0 * x.bytes() / t / 1e9;
    std::snprintf(buf, sizeof buf, "%.1f GB/s = %.0f%% of cache triad", gbs,
                  100 * gbs / cache);
    rows.push_back({"causal conv1d D=1536 W=4 L=512", t, buf, "cache triad",
                    ">= 70% of cache bw"});
  }

  std::printf("%-42s %12s  %-48s %s\n", "case", "median", "rate (fraction of ceiling)",
              "target");
  for (const Row &r : rows)
    std::printf("%-42s %9.3f ms  %-48s %s\n", r.name.c_str(), r.seconds * 1e3,
                r.rate.c_str(), r.target.c_str());
  return 0;
}
