//===- gpu_bench.cpp - GPU benchmarks of ssmc-compiled kernels ------------===//
//
// Part of ssmc. Times the headline GPU cases of shared/PERFORMANCE.md
// (gpu_bench_kernels.mlir, compiled by ssmc --target=cuda --emit=shared for
// sm_80 and sm_90) on device buffers, and reports each against the minimum
// bytes it must move and the H100 ceilings of PERFORMANCE.md. Medians of
// repeated runs; performance is reported, never asserted. Without a usable
// CUDA device it says why and exits with 0 (scripts/bench-gpu.sh).
//
// What a time includes: the wall time of one call of the entry point, which
// launches on a stream of its own and waits for it, and allocates its
// results on the device (the generated API hands them to the caller). The
// "alloc" column times ssm_cuda_alloc + free of the same result bytes, so
// the kernel's share can be told apart; results are freed outside the timed
// region.
//
//===----------------------------------------------------------------------===//

#include "../test/Support/DeviceKernels.h"
#include "../test/Support/Storage.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace ssm::test;

namespace {

using Clock = std::chrono::steady_clock;

// H100 SXM ceilings of shared/PERFORMANCE.md.
constexpr double kCopyBytesPerSecond = 3.0e12;  // measured device copy
constexpr double kExpsPerSecond = 3.9e12;       // exp throughput
constexpr double kF32FlopsPerSecond = 67e12;    // fp32 FMA peak

/// An operand: shape, storage and the range of its random values.
struct Operand {
  std::vector<int64_t> shape;
  Storage storage;
  double lo = -1.0, hi = 1.0;
};

/// A benchmark case: an entry point of the kernel library and the minimum
/// work it must do (bytes to and from HBM, FLOPs, exponentials).
struct Case {
  const char *name, *shape, *function;
  std::vector<Operand> operands;
  std::vector<Operand> results;
  double bytes, flops, exps;
  const char *formula;
};

int64_t elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

size_t bytesOf(const Operand &o) {
  return static_cast<size_t>(elements(o.shape)) * elementSize(o.storage);
}

std::vector<Case> cases() {
  const Storage F = Storage::F32, H = Storage::BF16;
  std::vector<Case> list;
  {
    const double B = 64, Hd = 64, P = 64, N = 128;
    list.push_back(
        {"decode (Mamba-2)", "B=64 H=64 P=64 N=128 f32", "decode",
         {{{64, 64, 64}, F},
          {{64, 64}, F, -2.0, 0.5},
          {{64}, F, -1.5, -0.1},
          {{64, 1, 128}, F},
          {{64, 1, 128}, F},
          {{64}, F},
          {{64, 64, 64}, F},
          {{64}, F, -0.5, 0.5},
          {{64, 64, 64, 128}, F},
          {{64, 64, 64}, F}},
         {},
         4 * (2 * B * Hd * P * N + 3 * B * Hd * P + 2 * B * N),
         4 * B * Hd * P * N, B * Hd,
         "bytes 4(2BHPN + 3BHP + 2BN); flops 4BHPN; exps BH"});
  }
  {
    const double B = 8, D = 2048, L = 2048, W = 4;
    list.push_back(
        {"causal_conv1d", "B=8 D=2048 L=2048 W=4 bf16", "conv",
         {{{8, 2048, 2048}, H}, {{2048, 4}, H}, {{2048}, H}},
         {{{8, 2048, 2048}, H}, {{8, 2048, 3}, H}},
         2 * (2 * B * D * L + B * D * (W - 1)), 2 * B * D * L * W, B * D * L,
         "bytes 2(2BDL + BD(W-1)); flops 2BDLW; exps BDL (SiLU)"});
  }
  {
    const double B = 8, D = 2048, L = 2048, N = 16;
    list.push_back(
        {"selective_scan (Mamba-1)", "B=8 D=2048 L=2048 N=16 bf16", "selective_scan",
         {{{8, 2048, 2048}, H},
          {{8, 2048, 2048}, H, -2.0, 0.5},
          {{2048, 16}, H, -1.5, -0.1},
          {{8, 1, 16, 2048}, H},
          {{8, 1, 16, 2048}, H},
          {{2048}, H},
          {{8, 2048, 2048}, H},
          {{2048}, H, -0.5, 0.5}},
         {{{8, 2048, 2048}, H}, {{8, 2048, 16}, H}},
         2 * (4 * B * D * L + 2 * B * N * L + B * D * N), 5 * B * D * L * N,
         B * D * L * N, "bytes 2(4BDL + 2BNL + BDN); flops 5BDLN; exps BDLN"});
  }
  {
    const double B = 8, L = 4096, Hd = 64, P = 64, N = 128;
    list.push_back(
        {"ssd (Mamba-2)", "B=8 L=4096 H=64 P=64 N=128 bf16", "ssd",
         {{{8, 4096, 64, 64}, H},
          {{8, 4096, 64}, H, -2.0, 0.5},
          {{64}, H, -1.5, -0.1},
          {{8, 4096, 1, 128}, H},
          {{8, 4096, 1, 128}, H},
          {{64}, H},
          {{64}, H, -0.5, 0.5}},
         {{{8, 4096, 64, 64}, H}, {{8, 64, 64, 128}, H}},
         2 * (2 * B * L * Hd * P + 2 * B * L * N + B * L * Hd + B * Hd * P * N),
         5 * B * L * Hd * P * N, B * L * Hd,
         "bytes 2(2BLHP + 2BLN + BLH + BHPN); flops 5BLHPN (recurrence); "
         "exps BLH"});
  }
  {
    // One mamba2-130m prompt: spans in parallel (three kernels).
    const double B = 1, L = 4096, Hd = 24, P = 64, N = 128;
    list.push_back(
        {"ssd (Mamba-2, batch 1)", "B=1 L=4096 H=24 P=64 N=128 bf16", "ssd_b1",
         {{{1, 4096, 24, 64}, H},
          {{1, 4096, 24}, H, -2.0, 0.5},
          {{24}, H, -1.5, -0.1},
          {{1, 4096, 1, 128}, H},
          {{1, 4096, 1, 128}, H},
          {{24}, H},
          {{24}, H, -0.5, 0.5}},
         {{{1, 4096, 24, 64}, H}, {{1, 24, 64, 128}, H}},
         2 * (2 * B * L * Hd * P + 2 * B * L * N + B * L * Hd + B * Hd * P * N),
         5 * B * L * Hd * P * N, B * L * Hd,
         "as above"});
  }
  return list;
}

/// Median and minimum of `runs` timings by `once` (seconds), after one
/// warm-up; 3 runs when one takes longer than 0.2 s.
std::pair<double, double> timeIt(int runs, const std::function<double()> &once) {
  if (once() > 0.2)
    runs = std::min(runs, 3);
  std::vector<double> times;
  for (int i = 0; i < runs; ++i)
    times.push_back(once());
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times.front()};
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void die(const char *what) {
  std::fprintf(stderr, "%s: %s\n", what, ssm_last_error());
  std::exit(1);
}

std::vector<unsigned char> randomBytes(const Operand &o, std::mt19937_64 &rng) {
  std::uniform_real_distribution<float> dist(static_cast<float>(o.lo),
                                             static_cast<float>(o.hi));
  size_t n = static_cast<size_t>(elements(o.shape));
  std::vector<unsigned char> bytes(bytesOf(o));
  for (size_t i = 0; i < n; ++i) {
    float f = dist(rng);
    if (o.storage == Storage::BF16) {
      uint16_t h = floatToBF16(f);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(bytes.data() + 4 * i, &f, 4);
    }
  }
  return bytes;
}

} // namespace

int main(int argc, char **argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 10;
  if (runs < 1)
    runs = 1;
  if (ssm_cuda_status() != SSM_OK) {
    std::printf("GPU benchmarks skipped: no usable CUDA device: %s\n",
                ssm_last_error());
    return 0;
  }
  int32_t major = 0, minor = 0;
  if (ssm_cuda_compute_capability(0, &major, &minor) != SSM_OK)
    die("ssm_cuda_compute_capability");
  std::string error, arch = kernelArch(major, error);
  if (arch.empty()) {
    std::printf("GPU benchmarks skipped: %s\n", error.c_str());
    return 0;
  }
  void *library = openKernelLibrary("ssm_gpu_bench_kernels", arch, error);
  if (!library) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::printf("device 0: compute capability %d.%d, kernels for %s; median of "
              "%d runs (3 for calls over 0.2 s)\n",
              major, minor, arch.c_str(), runs);
  std::printf("ceilings (H100 SXM, shared/PERFORMANCE.md): HBM copy %.1f TB/s, "
              "exp %.1f T/s, fp32 %.0f TFLOP/s; an H200's HBM3e is ~4.8 TB/s "
              "spec\n\n",
              kCopyBytesPerSecond / 1e12, kExpsPerSecond / 1e12,
              kF32FlopsPerSecond / 1e12);
  std::printf("%-26s %-32s %10s %10s %9s %8s %8s %9s %10s %7s\n", "case",
              "shape", "median us", "min us", "alloc us", "GB/s", "%copy",
              "GFLOP/s", "bound us", "xbound");

  std::mt19937_64 rng(42);
  for (const Case &c : cases()) {
    void *function =
        dlsym(library, ("_mlir_ciface_" + std::string(c.function)).c_str());
    if (!function) {
      std::fprintf(stderr, "%s: %s\n", c.function, dlerror());
      return 1;
    }
    std::vector<ssm_cuda_ptr_t> buffers;
    std::vector<std::vector<int64_t>> descriptors;
    for (const Operand &o : c.operands) {
      std::vector<unsigned char> bytes = randomBytes(o, rng);
      ssm_cuda_ptr_t p = 0;
      if (ssm_cuda_alloc(0, bytes.size(), &p) != SSM_OK)
        die("ssm_cuda_alloc");
      if (ssm_cuda_copy_to_device(0, p, bytes.data(), bytes.size()) != SSM_OK)
        die("ssm_cuda_copy_to_device");
      buffers.push_back(p);
      descriptors.push_back(descriptor(p, o.shape));
    }
    size_t resultWords = 0, resultBytes = 0;
    for (const Operand &r : c.results) {
      resultWords += 3 + 2 * r.shape.size();
      resultBytes += bytesOf(r);
    }
    std::vector<int64_t> results(resultWords);
    std::vector<void *> args;
    if (!c.results.empty())
      args.push_back(results.data());
    for (std::vector<int64_t> &d : descriptors)
      args.push_back(d.data());
    // The results of each call are freed after its timed region.
    auto [median, fastest] = timeIt(runs, [&] {
      auto start = Clock::now();
      if (!callEntryPoint(function, args))
        die("too many arguments");
      double seconds = secondsSince(start);
      const int64_t *word = results.data();
      for (const Operand &r : c.results) {
        ssm_cuda_free(0, static_cast<ssm_cuda_ptr_t>(word[0]));
        word += 3 + 2 * r.shape.size();
      }
      return seconds;
    });
    if (ssm_cuda_synchronize(0) != SSM_OK)
      die("ssm_cuda_synchronize");
    double alloc = 0.0;
    if (resultBytes)
      alloc = timeIt(runs, [&] {
                auto start = Clock::now();
                for (const Operand &r : c.results) {
                  ssm_cuda_ptr_t p = 0;
                  if (ssm_cuda_alloc(0, bytesOf(r), &p) != SSM_OK)
                    die("ssm_cuda_alloc");
                  ssm_cuda_free(0, p);
                }
                return secondsSince(start);
              }).first;
    double bound = std::max({c.bytes / kCopyBytesPerSecond,
                             c.exps / kExpsPerSecond,
                             c.flops / kF32FlopsPerSecond});
    std::printf("%-26s %-32s %10.1f %10.1f %9.1f %8.0f %7.1f%% %9.0f %10.1f "
                "%7.2f\n",
                c.name, c.shape, median * 1e6, fastest * 1e6, alloc * 1e6,
                c.bytes / median / 1e9,
                100.0 * c.bytes / median / kCopyBytesPerSecond,
                c.flops / median / 1e9, bound * 1e6, median / bound);
    for (ssm_cuda_ptr_t p : buffers)
      ssm_cuda_free(0, p);
  }
  std::printf("\nminimum work per case (B, D, L, H, P, N as in the shape):\n");
  for (const Case &c : cases())
    std::printf("  %-26s %s: %.0f MB, %.1f GFLOP, %.2f G exp\n", c.name,
                c.formula, c.bytes / 1e6, c.flops / 1e9, c.exps / 1e9);
  std::printf("bound: the largest of bytes / HBM copy, exps / exp rate and "
              "flops / fp32 peak; xbound = median / bound; times include "
              "the results' device allocation (see alloc)\n");
  ssm_cuda_shutdown();
  return 0;
}
