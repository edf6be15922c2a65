//===- CudaTest.cpp - The CUDA driver loader, without a GPU ---------------===//
//
// Part of ssmc. Two kinds of tests:
//  - CudaFake: the loader against fake_cuda.c, a driver stand-in in host
//    memory (SSM_CUDA_DRIVER points at it for this whole process, with two
//    fake devices). They check symbol resolution, context handling, the
//    module cache, error mapping and messages, and run a "kernel" (a host
//    function the fake calls) end to end. Each test ends with
//    ssm_cuda_shutdown, so that nothing leaks between tests.
//  - CudaUnavailableDeathTest: the driver is resolved once per process, so
//    each failure scenario (no driver file, the default libcuda.so.1 that
//    this machine lacks, a driver without a _v2 symbol, a driver without
//    devices) runs in a fresh process (gtest's "threadsafe" death tests
//    re-execute this program) with its own SSM_CUDA_DRIVER, and exits 0 only
//    if every check passed (failures are printed on stderr).
//    CudaOldDriverDeathTest does the same with a driver that lacks an
//    optional entry point (cuFuncSetAttribute).
//
//===----------------------------------------------------------------------===//

#include "ssm/runtime_cuda.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <thread>
#include <vector>

// The driver's handle types, as cuda.h names them: calls through dlsym must
// use the functions' own types (UBSan's -fsanitize=function checks them).
struct CUctx_st;
struct CUstream_st;

namespace {

// The fake driver's test hooks, reached through the copy the runtime loaded.
using KernelFn = void (*)(const char *, const unsigned *, const unsigned *,
                          void **);
struct Fake {
  int (*counter)(const char *) = nullptr;
  void (*setKernel)(KernelFn) = nullptr;
  void *(*lastLaunchStream)() = nullptr;
  int (*streamAlive)(void *) = nullptr;
};

Fake fake() {
  Fake hooks;
  void *handle = dlopen(SSM_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_NOLOAD);
  if (!handle)
    return hooks;
  hooks.counter = reinterpret_cast<int (*)(const char *)>(
      dlsym(handle, "fake_cuda_counter"));
  hooks.setKernel = reinterpret_cast<void (*)(KernelFn)>(
      dlsym(handle, "fake_cuda_set_kernel"));
  hooks.lastLaunchStream = reinterpret_cast<void *(*)()>(
      dlsym(handle, "fake_cuda_last_launch_stream"));
  hooks.streamAlive = reinterpret_cast<int (*)(void *)>(
      dlsym(handle, "fake_cuda_stream_alive"));
  dlclose(handle); // Drops only the reference NOLOAD added.
  return hooks;
}

class CudaFake : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    setenv("SSM_CUDA_DRIVER", SSM_FAKE_CUDA_DRIVER, 1);
    setenv("FAKE_CUDA_DEVICES", "2", 1);
  }
  void SetUp() override {
    ASSERT_EQ(ssm_cuda_status(), SSM_OK) << ssm_last_error();
    hooks = fake();
    ASSERT_NE(hooks.counter, nullptr);
    ASSERT_NE(hooks.setKernel, nullptr);
    ASSERT_NE(hooks.lastLaunchStream, nullptr);
    ASSERT_NE(hooks.streamAlive, nullptr);
  }
  void TearDown() override {
    unsetenv("FAKE_CUDA_FAIL");
    hooks.setKernel(nullptr);
    EXPECT_EQ(ssm_cuda_shutdown(), SSM_OK) << ssm_last_error();
    EXPECT_EQ(hooks.counter("live_modules"), 0);
    EXPECT_EQ(hooks.counter("retained"), 0);
    EXPECT_EQ(hooks.counter("live_allocations"), 0);
    EXPECT_EQ(hooks.counter("live_streams"), 0);
    // The plain (old-ABI) names must never be called.
    EXPECT_EQ(hooks.counter("old_abi_calls"), 0);
  }
  int count(const char *name) { return hooks.counter(name); }
  Fake hooks;
};

// A module with two kernels, deliberately not NUL-terminated at its size.
const char kPtx[] = ".version 8.0\n.target sm_90\n"
                    ".visible .entry vector_add(.param .u64 a)\n{ ret; }\n"
                    ".visible .entry scale(.param .u64 a)\n{ ret; }\n";
const size_t kPtxSize = sizeof kPtx - 1;

TEST_F(CudaFake, DevicesAndComputeCapability) {
  int32_t count = -1;
  ASSERT_EQ(ssm_cuda_device_count(&count), SSM_OK);
  EXPECT_EQ(count, 2);
  int32_t major = -1, minor = -1;
  ASSERT_EQ(ssm_cuda_compute_capability(0, &major, &minor), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(major, 9);
  EXPECT_EQ(minor, 0);
  ASSERT_EQ(ssm_cuda_compute_capability(1, &major, &minor), SSM_OK);
  EXPECT_EQ(minor, 1); // The device's handle, not just its ordinal, is used.

  EXPECT_EQ(ssm_cuda_compute_capability(2, &major, &minor),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_compute_capability: device 2 is not in 0..1");
  EXPECT_EQ(major, 0);
  EXPECT_EQ(ssm_cuda_compute_capability(-1, &major, &minor),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_cuda_compute_capability(0, nullptr, &minor),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_compute_capability: out_major is null");
  EXPECT_EQ(ssm_cuda_device_count(nullptr), SSM_ERROR_INVALID_ARGUMENT);
}

TEST_F(CudaFake, MemoryRoundTrip) {
  std::vector<float> host(256), back(256, -1.0f);
  for (size_t i = 0; i < host.size(); ++i)
    host[i] = 0.5f * static_cast<float>(i);
  size_t bytes = host.size() * sizeof(float);
  for (int32_t device : {0, 1}) {
    ssm_cuda_ptr_t buffer = 0;
    ASSERT_EQ(ssm_cuda_alloc(device, bytes, &buffer), SSM_OK)
        << ssm_last_error();
    ASSERT_NE(buffer, 0u);
    ASSERT_EQ(ssm_cuda_copy_to_device(device, buffer, host.data(), bytes),
              SSM_OK)
        << ssm_last_error();
    ASSERT_EQ(ssm_cuda_copy_to_host(device, back.data(), buffer, bytes), SSM_OK)
        << ssm_last_error();
    EXPECT_EQ(host, back);
    EXPECT_EQ(ssm_cuda_synchronize(device), SSM_OK);
    // The buffer belongs to its device's context: the other one's copy is
    // refused by the driver (INVALID_VALUE, an invalid argument).
    EXPECT_EQ(ssm_cuda_copy_to_host(1 - device, back.data(), buffer, bytes),
              SSM_ERROR_INVALID_ARGUMENT);
    EXPECT_STREQ(ssm_last_error(),
                 "ssm_cuda_copy_to_host: cuMemcpyDtoH_v2 failed: invalid "
                 "argument (CUDA_ERROR_INVALID_VALUE)");
    // Past the end of the allocation.
    EXPECT_EQ(ssm_cuda_copy_to_device(device, buffer + 4, host.data(), bytes),
              SSM_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(ssm_cuda_free(device, buffer), SSM_OK) << ssm_last_error();
  }
  EXPECT_EQ(count("live_allocations"), 0);
}

TEST_F(CudaFake, MemoryArgumentChecks) {
  ssm_cuda_ptr_t buffer = 123;
  EXPECT_EQ(ssm_cuda_alloc(0, 0, &buffer), SSM_OK);
  EXPECT_EQ(buffer, 0u); // Nothing allocated.
  EXPECT_EQ(count("live_allocations"), 0);
  EXPECT_EQ(ssm_cuda_free(0, 0), SSM_OK);
  EXPECT_EQ(ssm_cuda_alloc(0, 16, nullptr), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_cuda_alloc: out_ptr is null");
  EXPECT_EQ(ssm_cuda_alloc(5, 16, &buffer), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_cuda_alloc: device 5 is not in 0..1");

  ASSERT_EQ(ssm_cuda_alloc(0, 16, &buffer), SSM_OK);
  char host[16] = {};
  EXPECT_EQ(ssm_cuda_copy_to_device(0, buffer, nullptr, 16),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_copy_to_device: src is null with 16 bytes to copy");
  EXPECT_EQ(ssm_cuda_copy_to_host(0, host, 0, 16), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_copy_to_host: src is 0 with 16 bytes to copy");
  EXPECT_EQ(ssm_cuda_copy_to_host(0, nullptr, 0, 0), SSM_OK);
  EXPECT_EQ(ssm_cuda_free(0, buffer), SSM_OK);
}

// Driver error codes become runtime statuses; the message names the runtime
// function, the driver entry point (its _v2 name), cuGetErrorString's text
// and the code's name.
TEST_F(CudaFake, DriverErrorsAreMapped) {
  struct Case {
    const char *fail;
    ssm_status_t status;
    const char *message;
    bool releaseContextsFirst = false;
  } cases[] = {
      {"cuMemAlloc_v2=2", SSM_ERROR_OUT_OF_MEMORY,
       "ssm_cuda_alloc: cuMemAlloc_v2 failed: out of memory "
       "(CUDA_ERROR_OUT_OF_MEMORY)"},
      {"cuMemAlloc_v2=700", SSM_ERROR_INTERNAL,
       "ssm_cuda_alloc: cuMemAlloc_v2 failed: an illegal memory access was "
       "encountered (CUDA_ERROR_ILLEGAL_ADDRESS)"},
      {"cuMemAlloc_v2=801", SSM_ERROR_UNAVAILABLE,
       "ssm_cuda_alloc: cuMemAlloc_v2 failed: operation not supported "
       "(CUDA_ERROR_NOT_SUPPORTED)"},
      {"cuMemAlloc_v2=400", SSM_ERROR_INVALID_ARGUMENT,
       "ssm_cuda_alloc: cuMemAlloc_v2 failed: invalid resource handle "
       "(CUDA_ERROR_INVALID_HANDLE)"},
      // A code cuGetErrorString does not know.
      {"cuMemAlloc_v2=12345", SSM_ERROR_INTERNAL,
       "ssm_cuda_alloc: cuMemAlloc_v2 failed: unknown error (CUDA error "
       "12345)"},
      // Retaining the primary context happens inside any call.
      // The primary context is retained by the first call after shutdown.
      {"cuDevicePrimaryCtxRetain=2", SSM_ERROR_OUT_OF_MEMORY,
       "ssm_cuda_alloc: cuDevicePrimaryCtxRetain failed: out of memory "
       "(CUDA_ERROR_OUT_OF_MEMORY)",
       true},
      {"cuCtxSetCurrent=201", SSM_ERROR_INVALID_ARGUMENT,
       "ssm_cuda_alloc: cuCtxSetCurrent failed: invalid device context "
       "(CUDA_ERROR_INVALID_CONTEXT)"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.fail);
    if (c.releaseContextsFirst) {
      ASSERT_EQ(ssm_cuda_shutdown(), SSM_OK);
    }
    setenv("FAKE_CUDA_FAIL", c.fail, 1);
    ssm_cuda_ptr_t buffer = 99;
    EXPECT_EQ(ssm_cuda_alloc(0, 64, &buffer), c.status);
    EXPECT_STREQ(ssm_last_error(), c.message);
    EXPECT_EQ(buffer, 0u);
    unsetenv("FAKE_CUDA_FAIL");
  }
  // Every entry point reports under its own name.
  ssm_cuda_ptr_t buffer = 0;
  ASSERT_EQ(ssm_cuda_alloc(0, 64, &buffer), SSM_OK);
  char host[64];
  setenv("FAKE_CUDA_FAIL", "cuMemcpyHtoD_v2=700,cuMemFree_v2=1", 1);
  EXPECT_EQ(ssm_cuda_copy_to_device(0, buffer, host, 64), SSM_ERROR_INTERNAL);
  EXPECT_NE(std::string(ssm_last_error()).find("cuMemcpyHtoD_v2 failed"),
            std::string::npos);
  EXPECT_EQ(ssm_cuda_free(0, buffer), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_cuda_free: cuMemFree_v2 failed: invalid "
                                 "argument (CUDA_ERROR_INVALID_VALUE)");
  setenv("FAKE_CUDA_FAIL", "cuCtxSynchronize=700", 1);
  EXPECT_EQ(ssm_cuda_synchronize(1), SSM_ERROR_INTERNAL);
  unsetenv("FAKE_CUDA_FAIL");
  EXPECT_EQ(ssm_cuda_free(0, buffer), SSM_OK);
}

TEST_F(CudaFake, ModulesAreCachedPerContextAndContent) {
  int loads = count("loads");
  ssm_cuda_module_t first = nullptr, again = nullptr, copy = nullptr;
  ASSERT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize, &first), SSM_OK)
      << ssm_last_error();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(count("loads"), loads + 1);
  // The same pointer, or the same bytes elsewhere, give the same module
  // without asking the driver.
  ASSERT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize, &again), SSM_OK);
  EXPECT_EQ(again, first);
  std::string elsewhere(kPtx, kPtxSize);
  ASSERT_EQ(ssm_cuda_module_load(0, elsewhere.data(), elsewhere.size(), &copy),
            SSM_OK);
  EXPECT_EQ(copy, first);
  EXPECT_EQ(count("loads"), loads + 1);
  // Other bytes (even one), or another device's context: another module.
  std::string changed = elsewhere;
  changed[changed.size() - 2] = ' ';
  ssm_cuda_module_t other = nullptr, onDevice1 = nullptr, prefix = nullptr;
  ASSERT_EQ(ssm_cuda_module_load(0, changed.data(), changed.size(), &other),
            SSM_OK);
  EXPECT_NE(other, first);
  ASSERT_EQ(ssm_cuda_module_load(1, kPtx, kPtxSize, &onDevice1), SSM_OK);
  EXPECT_NE(onDevice1, first);
  // A prefix of the same image is a different image.
  ASSERT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize - 1, &prefix), SSM_OK);
  EXPECT_NE(prefix, first);
  EXPECT_EQ(count("loads"), loads + 4);

  // Functions: found by name, the same handle each time.
  ssm_cuda_function_t add = nullptr, addAgain = nullptr, scale = nullptr;
  int lookups = count("lookups");
  ASSERT_EQ(ssm_cuda_module_get_function(first, "vector_add", &add), SSM_OK)
      << ssm_last_error();
  ASSERT_EQ(ssm_cuda_module_get_function(first, "vector_add", &addAgain),
            SSM_OK);
  EXPECT_EQ(add, addAgain);
  ASSERT_EQ(ssm_cuda_module_get_function(first, "scale", &scale), SSM_OK);
  EXPECT_NE(scale, add);
  EXPECT_EQ(count("lookups"), lookups + 2);

  ssm_cuda_function_t missing = add;
  EXPECT_EQ(ssm_cuda_module_get_function(first, "vector", &missing),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(missing, nullptr);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_module_get_function: cuModuleGetFunction failed: "
               "named symbol not found (CUDA_ERROR_NOT_FOUND): no kernel "
               "'vector' in the module");

  // After shutdown the cache is empty and the driver loads again.
  ASSERT_EQ(ssm_cuda_shutdown(), SSM_OK) << ssm_last_error();
  EXPECT_EQ(count("live_modules"), 0);
  EXPECT_EQ(count("retained"), 0);
  ssm_cuda_module_t reloaded = nullptr;
  ASSERT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize, &reloaded), SSM_OK);
  EXPECT_EQ(count("loads"), loads + 5);
  EXPECT_EQ(count("live_modules"), 1);
}

TEST_F(CudaFake, ModuleLoadErrors) {
  ssm_cuda_module_t module = reinterpret_cast<ssm_cuda_module_t>(1);
  EXPECT_EQ(ssm_cuda_module_load(0, nullptr, 10, &module),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(module, nullptr);
  EXPECT_STREQ(ssm_last_error(), "ssm_cuda_module_load: image is null");
  EXPECT_EQ(ssm_cuda_module_load(0, kPtx, 0, &module),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_cuda_module_load: size is 0");
  EXPECT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize, nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_cuda_module_load(2, kPtx, kPtxSize, &module),
            SSM_ERROR_INVALID_ARGUMENT);
  // The JIT's error log ends up in the message.
  const char bad[] = "BAD ptx";
  EXPECT_EQ(ssm_cuda_module_load(0, bad, sizeof bad - 1, &module),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_module_load: cuModuleLoadDataEx failed: a PTX JIT "
               "compilation failed (CUDA_ERROR_INVALID_PTX): ptxas fatal   : "
               "Unexpected token 'BAD'");
  // A failed load is not cached.
  EXPECT_EQ(ssm_cuda_module_load(0, bad, sizeof bad - 1, &module),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(count("live_modules"), 0);
  EXPECT_EQ(ssm_cuda_module_get_function(nullptr, "f", nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_module_get_function: module is null");
}

TEST_F(CudaFake, ConcurrentLoadsShareOneModule) {
  int loads = count("loads");
  std::vector<std::thread> threads;
  std::vector<ssm_cuda_module_t> modules(8);
  std::atomic<int> failures{0};
  for (size_t i = 0; i < modules.size(); ++i)
    threads.emplace_back([&, i] {
      ssm_cuda_function_t f = nullptr;
      if (ssm_cuda_module_load(0, kPtx, kPtxSize, &modules[i]) != SSM_OK ||
          ssm_cuda_module_get_function(modules[i], "scale", &f) != SSM_OK)
        ++failures;
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  for (ssm_cuda_module_t m : modules)
    EXPECT_EQ(m, modules[0]);
  EXPECT_EQ(count("loads"), loads + 1);
}

// vector_add(a, b, c, n): c = a + b, run by the fake on the host.
void hostVectorAdd(const char *name, const unsigned *grid,
                   const unsigned *block, void **args) {
  if (std::strcmp(name, "vector_add") != 0)
    return;
  auto *a = *static_cast<float **>(args[0]);
  auto *b = *static_cast<float **>(args[1]);
  auto *c = *static_cast<float **>(args[2]);
  int n = *static_cast<int *>(args[3]);
  // Every "thread" of the grid does its element, as the kernel would.
  for (unsigned blockIdx = 0; blockIdx < grid[0]; ++blockIdx)
    for (unsigned threadIdx = 0; threadIdx < block[0]; ++threadIdx) {
      int i = static_cast<int>(blockIdx * block[0] + threadIdx);
      if (i < n)
        c[i] = a[i] + b[i];
    }
}

TEST_F(CudaFake, LaunchRunsTheKernelOnDeviceBuffers) {
  hooks.setKernel(hostVectorAdd);
  const int n = 1000;
  std::vector<float> a(n), b(n), c(n, 0.0f);
  for (int i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 2.0f * static_cast<float>(i);
  }
  size_t bytes = n * sizeof(float);
  ssm_cuda_ptr_t da = 0, db = 0, dc = 0;
  ASSERT_EQ(ssm_cuda_alloc(0, bytes, &da), SSM_OK);
  ASSERT_EQ(ssm_cuda_alloc(0, bytes, &db), SSM_OK);
  ASSERT_EQ(ssm_cuda_alloc(0, bytes, &dc), SSM_OK);
  ASSERT_EQ(ssm_cuda_copy_to_device(0, da, a.data(), bytes), SSM_OK);
  ASSERT_EQ(ssm_cuda_copy_to_device(0, db, b.data(), bytes), SSM_OK);

  ssm_cuda_module_t module = nullptr;
  ssm_cuda_function_t add = nullptr;
  ASSERT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize, &module), SSM_OK);
  ASSERT_EQ(ssm_cuda_module_get_function(module, "vector_add", &add), SSM_OK);
  ssm_cuda_stream_t stream = nullptr;
  ASSERT_EQ(ssm_cuda_stream_create(0, &stream), SSM_OK) << ssm_last_error();
  int launches = count("launches");
  int nArg = n;
  void *args[] = {&da, &db, &dc, &nArg};
  ASSERT_EQ(
      ssm_cuda_launch(add, (n + 255) / 256, 1, 1, 256, 1, 1, 0, stream, args),
      SSM_OK)
      << ssm_last_error();
  ASSERT_EQ(ssm_cuda_stream_synchronize(stream), SSM_OK);
  ASSERT_EQ(ssm_cuda_copy_to_host(0, c.data(), dc, bytes), SSM_OK);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(c[i], 3.0f * static_cast<float>(i)) << i;
  // The default stream works too (the function's context is made current).
  ASSERT_EQ(ssm_cuda_launch(add, 4, 1, 1, 256, 1, 1, 0, nullptr, args), SSM_OK)
      << ssm_last_error();
  EXPECT_EQ(count("launches"), launches + 2);

  // Launch checks.
  EXPECT_EQ(ssm_cuda_launch(add, 0, 1, 1, 256, 1, 1, 0, nullptr, args),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_launch: kernel 'vector_add': empty launch, grid "
               "0x1x1, block 256x1x1");
  EXPECT_EQ(ssm_cuda_launch(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, args),
            SSM_ERROR_INVALID_ARGUMENT);
  ssm_cuda_stream_t other = nullptr;
  ASSERT_EQ(ssm_cuda_stream_create(1, &other), SSM_OK);
  EXPECT_EQ(ssm_cuda_launch(add, 1, 1, 1, 1, 1, 1, 0, other, args),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_launch: kernel 'vector_add' is on device 0 but the "
               "stream is on device 1");
  // The driver's resource limit becomes SSM_ERROR_OUT_OF_RANGE.
  EXPECT_EQ(ssm_cuda_launch(add, 1, 1, 1, 2048, 1, 1, 0, nullptr, args),
            SSM_ERROR_OUT_OF_RANGE);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_launch: cuLaunchKernel failed: too many resources "
               "requested for launch (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES): "
               "kernel 'vector_add'");
  EXPECT_EQ(count("launches"), launches + 2);

  EXPECT_EQ(ssm_cuda_stream_synchronize(nullptr), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_cuda_stream_destroy(other), SSM_OK);
  EXPECT_EQ(ssm_cuda_stream_destroy(stream), SSM_OK);
  EXPECT_EQ(ssm_cuda_stream_destroy(nullptr), SSM_OK);
  for (ssm_cuda_ptr_t p : {da, db, dc})
    EXPECT_EQ(ssm_cuda_free(0, p), SSM_OK);
}

// Above 48 KiB of dynamic shared memory the driver refuses a launch unless
// the function's limit was raised (cuFuncSetAttribute, which the fake
// counts); the runtime raises it once per function, and again only for a
// larger size.
TEST_F(CudaFake, LargeDynamicSharedMemoryRaisesTheLimitOnce) {
  ssm_cuda_module_t module = nullptr;
  ssm_cuda_function_t add = nullptr, scale = nullptr;
  ASSERT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize, &module), SSM_OK);
  ASSERT_EQ(ssm_cuda_module_get_function(module, "vector_add", &add), SSM_OK);
  ASSERT_EQ(ssm_cuda_module_get_function(module, "scale", &scale), SSM_OK);
  int launches = count("launches"), sets = count("attribute_sets");
  auto launch = [](ssm_cuda_function_t f, uint32_t shared) {
    return ssm_cuda_launch(f, 1, 1, 1, 128, 1, 1, shared, nullptr, nullptr);
  };
  ASSERT_EQ(launch(add, 48 * 1024), SSM_OK) << ssm_last_error();
  EXPECT_EQ(count("attribute_sets"), sets);
  ASSERT_EQ(launch(add, 100 * 1024), SSM_OK) << ssm_last_error();
  EXPECT_EQ(count("attribute_sets"), sets + 1);
  ASSERT_EQ(launch(add, 100 * 1024), SSM_OK) << ssm_last_error();
  ASSERT_EQ(launch(add, 64 * 1024), SSM_OK) << ssm_last_error();
  EXPECT_EQ(count("attribute_sets"), sets + 1);
  // The grant belongs to the function.
  ASSERT_EQ(launch(scale, 100 * 1024), SSM_OK) << ssm_last_error();
  EXPECT_EQ(count("attribute_sets"), sets + 2);
  // Up to the hardware's maximum, 227 KiB on an H100.
  ASSERT_EQ(launch(add, 227 * 1024), SSM_OK) << ssm_last_error();
  EXPECT_EQ(count("attribute_sets"), sets + 3);
  EXPECT_EQ(count("launches"), launches + 6);

  // Beyond it the driver refuses the attribute; the message names the
  // kernel and the size.
  EXPECT_EQ(launch(add, 227 * 1024 + 1), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_launch: cuFuncSetAttribute failed: invalid argument "
               "(CUDA_ERROR_INVALID_VALUE): kernel 'vector_add': 232449 bytes "
               "of dynamic shared memory");
  // A size the driver's int cannot hold is refused the same way.
  EXPECT_EQ(launch(add, 0x80000000u), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_launch: cuFuncSetAttribute failed: invalid argument "
               "(CUDA_ERROR_INVALID_VALUE): kernel 'vector_add': 2147483648 "
               "bytes of dynamic shared memory");
  // A driver error surfaces under its name, and nothing is remembered.
  setenv("FAKE_CUDA_FAIL", "cuFuncSetAttribute=801", 1);
  EXPECT_EQ(launch(scale, 150 * 1024), SSM_ERROR_UNAVAILABLE);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_launch: cuFuncSetAttribute failed: operation not "
               "supported (CUDA_ERROR_NOT_SUPPORTED): kernel 'scale': 153600 "
               "bytes of dynamic shared memory");
  // Launches within the grants need no call, so the failure does not reach
  // them.
  EXPECT_EQ(launch(scale, 100 * 1024), SSM_OK) << ssm_last_error();
  EXPECT_EQ(launch(add, 227 * 1024), SSM_OK) << ssm_last_error();
  unsetenv("FAKE_CUDA_FAIL");
  EXPECT_EQ(count("launches"), launches + 8);
  ASSERT_EQ(launch(scale, 150 * 1024), SSM_OK) << ssm_last_error();
  EXPECT_EQ(count("attribute_sets"), sets + 4);
}

// Threads launching the same function share its grant: one raise in all.
TEST_F(CudaFake, DynamicSharedMemoryGrantIsSharedBetweenThreads) {
  ssm_cuda_module_t module = nullptr;
  ssm_cuda_function_t add = nullptr;
  ASSERT_EQ(ssm_cuda_module_load(1, kPtx, kPtxSize, &module), SSM_OK);
  ASSERT_EQ(ssm_cuda_module_get_function(module, "vector_add", &add), SSM_OK);
  int launches = count("launches"), sets = count("attribute_sets");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i)
        if (ssm_cuda_launch(add, 1, 1, 1, 32, 1, 1, 160 * 1024, nullptr,
                            nullptr) != SSM_OK)
          ++failures;
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count("launches"), launches + 160);
  EXPECT_EQ(count("attribute_sets"), sets + 1);
}

// The mgpu* functions that MLIR's gpu-to-llvm host code calls (what
// `ssmc --target=cuda` links against): the same vector addition through
// them, from PTX text, with the sizes as 64-bit index values.
extern "C" {
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gx, intptr_t gy, intptr_t gz,
                      intptr_t bx, intptr_t by, intptr_t bz, int32_t smem,
                      void *stream, void **params, void **extra, size_t count);
void *mgpuStreamCreate(void);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamDestroy(void *stream);
void *mgpuMemAlloc(uint64_t bytes, void *stream, bool hostShared);
void mgpuMemFree(void *ptr, void *stream);
}

TEST_F(CudaFake, MlirLaunchABI) {
  hooks.setKernel(hostVectorAdd);
  const int n = 300;
  std::vector<float> a(n), b(n), c(n, 0.0f);
  for (int i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 0.5f * static_cast<float>(i);
  }
  size_t bytes = n * sizeof(float);
  void *stream = mgpuStreamCreate();
  void *da = mgpuMemAlloc(bytes, stream, false);
  void *db = mgpuMemAlloc(bytes, stream, false);
  void *dc = mgpuMemAlloc(bytes, stream, false);
  ASSERT_EQ(ssm_cuda_copy_to_device(0, (ssm_cuda_ptr_t)(uintptr_t)da, a.data(), bytes), SSM_OK);
  ASSERT_EQ(ssm_cuda_copy_to_device(0, (ssm_cuda_ptr_t)(uintptr_t)db, b.data(), bytes), SSM_OK);
  // Generated code passes NUL-terminated PTX.
  std::string ptx(kPtx, kPtxSize);
  void *module = mgpuModuleLoadJIT(ptx.data(), 2);
  ASSERT_NE(module, nullptr) << ssm_last_error();
  void *add = mgpuModuleGetFunction(module, "vector_add");
  int launches = count("launches");
  int nArg = n;
  void *args[] = {&da, &db, &dc, &nArg};
  mgpuLaunchKernel(add, (n + 127) / 128, 1, 1, 128, 1, 1, 0, stream, args, nullptr, 4);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(count("launches"), launches + 1);
  // The shared memory size reaches the launch, limit raised included.
  int sets = count("attribute_sets");
  mgpuLaunchKernel(add, (n + 127) / 128, 1, 1, 128, 1, 1, 96 * 1024, stream,
                   args, nullptr, 4);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(count("launches"), launches + 2);
  EXPECT_EQ(count("attribute_sets"), sets + 1);
  ASSERT_EQ(ssm_cuda_copy_to_host(0, c.data(), (ssm_cuda_ptr_t)(uintptr_t)dc, bytes), SSM_OK);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(c[i], 1.5f * static_cast<float>(i)) << i;
  // A second load of the same image is the cached module.
  EXPECT_EQ(mgpuModuleLoadJIT(ptx.data(), 2), module);
  mgpuModuleUnload(module);
  mgpuStreamDestroy(stream);
  for (void *p : {da, db, dc})
    mgpuMemFree(p, nullptr);

  // A grid of no blocks (an empty batch or sequence) launches nothing.
  launches = count("launches");
  mgpuLaunchKernel(add, 0, 1, 1, 128, 1, 1, 0, nullptr, args, nullptr, 4);
  mgpuLaunchKernel(add, 3, 1, 0, 128, 1, 1, 0, nullptr, args, nullptr, 4);
  EXPECT_EQ(count("launches"), launches);

  // Generated code has no error channel: failures stop the program, named.
  EXPECT_DEATH(mgpuLaunchKernel(add, 1, 1, 1, 0, 1, 1, 0, nullptr, args, nullptr, 4),
               "ssm runtime: mgpuLaunchKernel: launch size 0 \\(block x\\) is outside");
  EXPECT_DEATH(mgpuLaunchKernel(add, 0, 1, 1, 0, 1, 1, 0, nullptr, args, nullptr, 4),
               "launch size 0 \\(block x\\)");
  EXPECT_DEATH(mgpuLaunchKernel(add, -1, 1, 1, 128, 1, 1, 0, nullptr, args, nullptr, 4),
               "launch size -1 \\(grid x\\)");
  EXPECT_DEATH(mgpuLaunchKernel(add, int64_t(1) << 32, 1, 1, 128, 1, 1, 0, nullptr,
                                args, nullptr, 4),
               "launch size 4294967296 \\(grid x\\)");
  EXPECT_DEATH(mgpuModuleGetFunction(module, "missing"), "ssm runtime: .*missing");
  EXPECT_DEATH(mgpuModuleGetFunction(nullptr, "vector_add"),
               "ssm runtime: mgpuModuleGetFunction: kernel 'vector_add': its "
               "module was not loaded");
  EXPECT_DEATH(mgpuMemAlloc(16, nullptr, true), "host-shared");
}

// A CUstream of device 0's primary context, created and destroyed through
// the driver API directly, as an application (PyTorch) owns its streams.
class AppStream {
public:
  AppStream() {
    void *handle = dlopen(SSM_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_NOLOAD);
    if (!handle)
      return;
    auto deviceGet =
        reinterpret_cast<int (*)(int *, int)>(dlsym(handle, "cuDeviceGet"));
    auto retain = reinterpret_cast<int (*)(CUctx_st **, int)>(
        dlsym(handle, "cuDevicePrimaryCtxRetain"));
    auto setCurrent =
        reinterpret_cast<int (*)(CUctx_st *)>(dlsym(handle, "cuCtxSetCurrent"));
    auto create = reinterpret_cast<int (*)(CUstream_st **, unsigned)>(
        dlsym(handle, "cuStreamCreate"));
    destroy_ = reinterpret_cast<int (*)(CUstream_st *)>(
        dlsym(handle, "cuStreamDestroy_v2"));
    release_ = reinterpret_cast<int (*)(int)>(
        dlsym(handle, "cuDevicePrimaryCtxRelease_v2"));
    dlclose(handle); // Drops only the reference NOLOAD added.
    CUctx_st *context = nullptr;
    if (deviceGet(&device_, 0) == 0 && retain(&context, device_) == 0) {
      retained_ = true;
      if (setCurrent(context) == 0)
        create(&stream_, 0);
    }
  }
  ~AppStream() {
    if (stream_)
      destroy_(stream_);
    if (retained_)
      release_(device_);
  }
  void *get() const { return stream_; }

private:
  int (*destroy_)(CUstream_st *) = nullptr;
  int (*release_)(int) = nullptr;
  int device_ = -1;
  bool retained_ = false;
  CUstream_st *stream_ = nullptr;
};

// With a call stream set, generated code (the mgpu* sequence below is what
// it calls) launches on that stream, neither waits for it nor destroys it;
// other threads, and this one once it is unset, get streams of their own.
TEST_F(CudaFake, CallStreamRunsGeneratedCodeOnTheCallersStream) {
  hooks.setKernel(hostVectorAdd);
  AppStream app;
  ASSERT_NE(app.get(), nullptr);
  int appStreams = count("live_streams");
  ssm_cuda_stream_t wrapped = nullptr;
  ASSERT_EQ(ssm_cuda_stream_wrap(0, app.get(), &wrapped), SSM_OK)
      << ssm_last_error();
  ASSERT_NE(wrapped, nullptr);
  EXPECT_EQ(ssm_cuda_call_stream(), nullptr);
  ASSERT_EQ(ssm_cuda_set_call_stream(wrapped), SSM_OK) << ssm_last_error();
  EXPECT_EQ(ssm_cuda_call_stream(), wrapped);

  const int n = 200;
  std::vector<float> a(n), c(n, 0.0f);
  for (int i = 0; i < n; ++i)
    a[i] = static_cast<float>(i);
  size_t bytes = n * sizeof(float);
  std::string ptx(kPtx, kPtxSize);
  void *add =
      mgpuModuleGetFunction(mgpuModuleLoadJIT(ptx.data(), 2), "vector_add");
  int nArg = n;
  int syncs = count("stream_synchronizations");
  // A call without temporaries: nothing waits.
  void *stream = mgpuStreamCreate();
  EXPECT_EQ(stream, wrapped);
  EXPECT_EQ(count("live_streams"), appStreams);
  void *da = mgpuMemAlloc(bytes, stream, false);
  void *dc = mgpuMemAlloc(bytes, stream, false);
  ASSERT_EQ(ssm_cuda_copy_to_device(0, (ssm_cuda_ptr_t)(uintptr_t)da, a.data(),
                                    bytes),
            SSM_OK);
  void *args[] = {&da, &da, &dc, &nArg};
  mgpuLaunchKernel(add, (n + 127) / 128, 1, 1, 128, 1, 1, 0, stream, args,
                   nullptr, 4);
  EXPECT_EQ(hooks.lastLaunchStream(), app.get());
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(count("stream_synchronizations"), syncs);
  EXPECT_TRUE(hooks.streamAlive(app.get()));
  EXPECT_EQ(count("live_streams"), appStreams);
  // The caller orders its reads after the call on its own stream.
  ASSERT_EQ(ssm_cuda_stream_synchronize(wrapped), SSM_OK) << ssm_last_error();
  ASSERT_EQ(
      ssm_cuda_copy_to_host(0, c.data(), (ssm_cuda_ptr_t)(uintptr_t)dc, bytes),
      SSM_OK);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(c[i], 2.0f * static_cast<float>(i)) << i;

  // Another thread has no call stream: its call gets a stream of its own.
  void *otherLaunchStream = nullptr;
  ssm_cuda_stream_t otherCallStream = wrapped;
  std::thread([&] {
    otherCallStream = ssm_cuda_call_stream();
    void *own = mgpuStreamCreate();
    mgpuLaunchKernel(add, 1, 1, 1, 128, 1, 1, 0, own, args, nullptr, 4);
    otherLaunchStream = hooks.lastLaunchStream();
    mgpuStreamSynchronize(own);
    mgpuStreamDestroy(own);
  }).join();
  EXPECT_EQ(otherCallStream, nullptr);
  EXPECT_NE(otherLaunchStream, nullptr);
  EXPECT_NE(otherLaunchStream, app.get());
  EXPECT_FALSE(hooks.streamAlive(otherLaunchStream));
  EXPECT_EQ(ssm_cuda_call_stream(), wrapped);

  // Unset, this thread's calls have streams of their own again.
  ASSERT_EQ(ssm_cuda_set_call_stream(nullptr), SSM_OK);
  EXPECT_EQ(ssm_cuda_call_stream(), nullptr);
  stream = mgpuStreamCreate();
  EXPECT_NE(stream, wrapped);
  EXPECT_EQ(count("live_streams"), appStreams + 1);
  mgpuLaunchKernel(add, 1, 1, 1, 128, 1, 1, 0, stream, args, nullptr, 4);
  EXPECT_NE(hooks.lastLaunchStream(), app.get());
  syncs = count("stream_synchronizations");
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(count("stream_synchronizations"), syncs + 1);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(count("live_streams"), appStreams);

  // Freeing a temporary on the call stream waits for it, so that it follows its
  // readers.
  syncs = count("stream_synchronizations");
  mgpuMemFree(da, wrapped);
  EXPECT_EQ(count("stream_synchronizations"), syncs + 1);
  EXPECT_TRUE(hooks.streamAlive(app.get()));

  // Destroying the wrapper leaves the application's stream working.
  EXPECT_EQ(ssm_cuda_stream_destroy(wrapped), SSM_OK) << ssm_last_error();
  EXPECT_TRUE(hooks.streamAlive(app.get()));
  EXPECT_EQ(count("live_streams"), appStreams);
  mgpuMemFree(dc, nullptr);
}

// Null wraps the default stream, which a call stream may be too.
TEST_F(CudaFake, CallStreamMayBeTheDefaultStream) {
  ssm_cuda_stream_t wrapped = nullptr;
  ASSERT_EQ(ssm_cuda_stream_wrap(0, nullptr, &wrapped), SSM_OK)
      << ssm_last_error();
  ASSERT_NE(wrapped, nullptr);
  ASSERT_EQ(ssm_cuda_set_call_stream(wrapped), SSM_OK);
  std::string ptx(kPtx, kPtxSize);
  void *add = mgpuModuleGetFunction(mgpuModuleLoadJIT(ptx.data(), 2), "scale");
  int streams = count("live_streams");
  void *stream = mgpuStreamCreate();
  EXPECT_EQ(stream, wrapped);
  ssm_cuda_ptr_t buffer = 0;
  void *args[] = {&buffer};
  int launches = count("launches");
  mgpuLaunchKernel(add, 1, 1, 1, 32, 1, 1, 0, stream, args, nullptr, 1);
  EXPECT_EQ(count("launches"), launches + 1);
  EXPECT_EQ(hooks.lastLaunchStream(), nullptr);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(count("live_streams"), streams);
  EXPECT_EQ(ssm_cuda_stream_synchronize(wrapped), SSM_OK) << ssm_last_error();
  EXPECT_EQ(ssm_cuda_set_call_stream(nullptr), SSM_OK);
  EXPECT_EQ(ssm_cuda_stream_destroy(wrapped), SSM_OK);
}

TEST_F(CudaFake, CallStreamErrors) {
  AppStream app;
  ASSERT_NE(app.get(), nullptr);
  ssm_cuda_stream_t wrapped = reinterpret_cast<ssm_cuda_stream_t>(1);
  EXPECT_EQ(ssm_cuda_stream_wrap(2, app.get(), &wrapped),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_stream_wrap: device 2 is not in 0..1");
  EXPECT_EQ(wrapped, nullptr);
  EXPECT_EQ(ssm_cuda_stream_wrap(-1, app.get(), &wrapped),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ssm_cuda_stream_wrap(0, app.get(), nullptr),
            SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(), "ssm_cuda_stream_wrap: out_stream is null");

  // Generated code runs on device 0: streams of other devices are refused,
  // and the setting stays as it was.
  ssm_cuda_stream_t mine = nullptr, other = nullptr;
  ASSERT_EQ(ssm_cuda_stream_wrap(0, app.get(), &mine), SSM_OK);
  ASSERT_EQ(ssm_cuda_stream_create(1, &other), SSM_OK);
  ASSERT_EQ(ssm_cuda_set_call_stream(mine), SSM_OK);
  EXPECT_EQ(ssm_cuda_set_call_stream(other), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_set_call_stream: the stream is on device 1, but "
               "generated code runs on device 0");
  EXPECT_EQ(ssm_cuda_call_stream(), mine);
  // A stream the runtime created is accepted as well.
  ssm_cuda_stream_t created = nullptr;
  ASSERT_EQ(ssm_cuda_stream_create(0, &created), SSM_OK);
  EXPECT_EQ(ssm_cuda_set_call_stream(created), SSM_OK);
  EXPECT_EQ(mgpuStreamCreate(), created);
  EXPECT_EQ(ssm_cuda_set_call_stream(nullptr), SSM_OK);
  EXPECT_EQ(ssm_cuda_call_stream(), nullptr);
  EXPECT_EQ(ssm_cuda_stream_destroy(created), SSM_OK);
  EXPECT_EQ(ssm_cuda_stream_destroy(other), SSM_OK);
  EXPECT_EQ(ssm_cuda_stream_destroy(mine), SSM_OK);
  EXPECT_TRUE(hooks.streamAlive(app.get()));
}

TEST_F(CudaFake, StreamErrors) {
  EXPECT_EQ(ssm_cuda_stream_create(0, nullptr), SSM_ERROR_INVALID_ARGUMENT);
  ssm_cuda_stream_t stream = reinterpret_cast<ssm_cuda_stream_t>(1);
  setenv("FAKE_CUDA_FAIL", "cuStreamCreate=2", 1);
  EXPECT_EQ(ssm_cuda_stream_create(0, &stream), SSM_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(stream, nullptr);
  unsetenv("FAKE_CUDA_FAIL");
  ASSERT_EQ(ssm_cuda_stream_create(1, &stream), SSM_OK);
  // A failing destroy still frees the handle (valgrind checks that).
  setenv("FAKE_CUDA_FAIL", "cuStreamDestroy_v2=700", 1);
  EXPECT_EQ(ssm_cuda_stream_destroy(stream), SSM_ERROR_INTERNAL);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_stream_destroy: cuStreamDestroy_v2 failed: an "
               "illegal memory access was encountered "
               "(CUDA_ERROR_ILLEGAL_ADDRESS)");
  unsetenv("FAKE_CUDA_FAIL");
}

TEST_F(CudaFake, ShutdownReportsTheFirstFailureAndReleasesTheRest) {
  ssm_cuda_module_t module = nullptr;
  ASSERT_EQ(ssm_cuda_module_load(0, kPtx, kPtxSize, &module), SSM_OK);
  ASSERT_EQ(ssm_cuda_module_load(1, kPtx, kPtxSize, &module), SSM_OK);
  setenv("FAKE_CUDA_FAIL", "cuModuleUnload=400", 1);
  EXPECT_EQ(ssm_cuda_shutdown(), SSM_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(ssm_last_error(),
               "ssm_cuda_shutdown: cuModuleUnload failed: invalid resource "
               "handle (CUDA_ERROR_INVALID_HANDLE)");
  unsetenv("FAKE_CUDA_FAIL");
  // The contexts were still released, which took the modules with them.
  EXPECT_EQ(count("retained"), 0);
  EXPECT_EQ(count("live_modules"), 0);
}

//===----------------------------------------------------------------------===//
// Without a usable driver (each in a fresh process)
//===----------------------------------------------------------------------===//

int g_failures = 0;

#define CHILD_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n",       \
                   __FILE__, __LINE__, #cond, ssm_last_error());               \
      ++g_failures;                                                            \
    }                                                                          \
  } while (0)

bool contains(const char *text, const std::string &part) {
  return std::string(text).find(part) != std::string::npos;
}

// Every entry point fails with SSM_ERROR_UNAVAILABLE and a message that
// names it and contains `reason`; frees of nothing and shutdown succeed; the
// CPU side of the runtime works. Returns the number of failed checks.
int checkUnavailable(const std::string &reason) {
  auto unavailable = [&](ssm_status_t status, const char *fn) {
    CHILD_CHECK(status == SSM_ERROR_UNAVAILABLE);
    CHILD_CHECK(
        contains(ssm_last_error(), std::string(fn) + ": CUDA unavailable: "));
    CHILD_CHECK(contains(ssm_last_error(), reason));
  };
  unavailable(ssm_cuda_status(), "ssm_cuda_status");
  int32_t count = 7, major = 7, minor = 7;
  unavailable(ssm_cuda_device_count(&count), "ssm_cuda_device_count");
  CHILD_CHECK(count == 0);
  unavailable(ssm_cuda_compute_capability(0, &major, &minor),
              "ssm_cuda_compute_capability");
  CHILD_CHECK(major == 0 && minor == 0);
  ssm_cuda_ptr_t buffer = 7;
  unavailable(ssm_cuda_alloc(0, 16, &buffer), "ssm_cuda_alloc");
  CHILD_CHECK(buffer == 0);
  char host[16] = {};
  unavailable(ssm_cuda_free(0, 0x1000), "ssm_cuda_free");
  unavailable(ssm_cuda_copy_to_device(0, 0x1000, host, 16),
              "ssm_cuda_copy_to_device");
  unavailable(ssm_cuda_copy_to_host(0, host, 0x1000, 16),
              "ssm_cuda_copy_to_host");
  unavailable(ssm_cuda_synchronize(0), "ssm_cuda_synchronize");
  ssm_cuda_stream_t stream = reinterpret_cast<ssm_cuda_stream_t>(1);
  unavailable(ssm_cuda_stream_create(0, &stream), "ssm_cuda_stream_create");
  CHILD_CHECK(stream == nullptr);
  ssm_cuda_module_t module = reinterpret_cast<ssm_cuda_module_t>(1);
  unavailable(ssm_cuda_module_load(0, kPtx, kPtxSize, &module),
              "ssm_cuda_module_load");
  CHILD_CHECK(module == nullptr);
  ssm_cuda_function_t function = reinterpret_cast<ssm_cuda_function_t>(1);
  unavailable(ssm_cuda_module_get_function(module, "f", &function),
              "ssm_cuda_module_get_function");
  CHILD_CHECK(function == nullptr);
  unavailable(ssm_cuda_launch(function, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr),
              "ssm_cuda_launch");
  unavailable(ssm_cuda_stream_synchronize(stream),
              "ssm_cuda_stream_synchronize");
  ssm_cuda_stream_t wrapped = reinterpret_cast<ssm_cuda_stream_t>(1);
  unavailable(ssm_cuda_stream_wrap(0, nullptr, &wrapped),
              "ssm_cuda_stream_wrap");
  CHILD_CHECK(wrapped == nullptr);
  CHILD_CHECK(ssm_cuda_set_call_stream(nullptr) == SSM_OK);
  CHILD_CHECK(ssm_cuda_call_stream() == nullptr);
  CHILD_CHECK(ssm_cuda_free(0, 0) == SSM_OK);
  CHILD_CHECK(ssm_cuda_stream_destroy(nullptr) == SSM_OK);
  CHILD_CHECK(ssm_cuda_shutdown() == SSM_OK);

  // The CPU side is unaffected.
  std::vector<int> values(64, 0);
  CHILD_CHECK(ssm_set_num_threads(2) == SSM_OK);
  CHILD_CHECK(ssm_parallel_for(
                  0, 64, 1,
                  [](void *ctx, int64_t lo, int64_t hi) {
                    for (int64_t i = lo; i < hi; ++i)
                      static_cast<int *>(ctx)[i] += 1;
                  },
                  values.data()) == SSM_OK);
  for (int v : values)
    CHILD_CHECK(v == 1);
  void *memory = nullptr;
  CHILD_CHECK(ssm_buffer_alloc(64, 0, &memory) == SSM_OK);
  ssm_buffer_free(memory);
  CHILD_CHECK(ssm_runtime_shutdown() == SSM_OK);
  return g_failures;
}

// Ends a death-test child: status 0 only if no check failed.
[[noreturn]] void finish(int failures) { std::exit(failures == 0 ? 0 : 1); }

class CudaUnavailableDeathTest : public ::testing::Test {
protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    unsetenv("FAKE_CUDA_FAIL");
    unsetenv("FAKE_CUDA_DEVICES");
  }
};

TEST_F(CudaUnavailableDeathTest, NoDriverFile) {
  EXPECT_EXIT(
      {
        setenv("SSM_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
        finish(checkUnavailable(
            "cannot load SSM_CUDA_DRIVER=/nonexistent/libcuda.so.1 "
            "(/nonexistent/libcuda.so.1: cannot open shared object file"));
      },
      ::testing::ExitedWithCode(0), "");
}

// This machine has no libcuda.so.1; on one with a driver the loader must
// either work or say why, naming the library.
TEST_F(CudaUnavailableDeathTest, DefaultDriver) {
  EXPECT_EXIT(
      {
        unsetenv("SSM_CUDA_DRIVER");
        void *probe = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        if (probe) {
          ssm_status_t status = ssm_cuda_status();
          CHILD_CHECK(status == SSM_OK ||
                      (status == SSM_ERROR_UNAVAILABLE &&
                       contains(ssm_last_error(), "CUDA unavailable: ")));
          finish(g_failures);
        }
        finish(checkUnavailable("cannot load libcuda.so.1 (libcuda.so.1: "
                                "cannot open shared object file"));
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(CudaUnavailableDeathTest, DriverWithoutAV2Symbol) {
  EXPECT_EXIT(
      {
        setenv("SSM_CUDA_DRIVER", SSM_FAKE_CUDA_DRIVER_WITHOUT_V2, 1);
        finish(checkUnavailable(std::string(SSM_FAKE_CUDA_DRIVER_WITHOUT_V2) +
                                " has no cuMemAlloc_v2 (driver older than "
                                "the runtime needs)"));
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(CudaUnavailableDeathTest, DriverWithoutDevices) {
  EXPECT_EXIT(
      {
        setenv("SSM_CUDA_DRIVER", SSM_FAKE_CUDA_DRIVER, 1);
        setenv("FAKE_CUDA_DEVICES", "0", 1);
        finish(checkUnavailable("cuInit failed: no CUDA-capable device is "
                                "detected (CUDA_ERROR_NO_DEVICE)"));
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(CudaUnavailableDeathTest, DriverWhoseInitFails) {
  EXPECT_EXIT(
      {
        setenv("SSM_CUDA_DRIVER", SSM_FAKE_CUDA_DRIVER, 1);
        setenv("FAKE_CUDA_FAIL", "cuDeviceGetCount=3", 1);
        finish(checkUnavailable("cuDeviceGetCount failed: initialization "
                                "error (CUDA_ERROR_NOT_INITIALIZED)"));
      },
      ::testing::ExitedWithCode(0), "");
}

// A driver without cuFuncSetAttribute (older than CUDA 9) stays usable;
// only launches above 48 KiB of dynamic shared memory fail, saying why.
using CudaOldDriverDeathTest = CudaUnavailableDeathTest;

TEST_F(CudaOldDriverDeathTest, DriverWithoutFuncSetAttribute) {
  EXPECT_EXIT(
      {
        setenv("SSM_CUDA_DRIVER",
               SSM_FAKE_CUDA_DRIVER_WITHOUT_FUNC_SET_ATTRIBUTE, 1);
        CHILD_CHECK(ssm_cuda_status() == SSM_OK);
        ssm_cuda_module_t module = nullptr;
        ssm_cuda_function_t add = nullptr;
        CHILD_CHECK(ssm_cuda_module_load(0, kPtx, kPtxSize, &module) == SSM_OK);
        CHILD_CHECK(ssm_cuda_module_get_function(module, "vector_add", &add) ==
                    SSM_OK);
        CHILD_CHECK(ssm_cuda_launch(add, 1, 1, 1, 128, 1, 1, 48 * 1024, nullptr,
                                    nullptr) == SSM_OK);
        CHILD_CHECK(ssm_cuda_launch(add, 1, 1, 1, 128, 1, 1, 64 * 1024, nullptr,
                                    nullptr) == SSM_ERROR_UNIMPLEMENTED);
        CHILD_CHECK(std::string(ssm_last_error()) ==
                    "ssm_cuda_launch: kernel 'vector_add': 65536 bytes of "
                    "dynamic shared memory (over 49152) need "
                    "cuFuncSetAttribute, which the driver lacks");
        CHILD_CHECK(ssm_cuda_shutdown() == SSM_OK);
        finish(g_failures);
      },
      ::testing::ExitedWithCode(0), "");
}

} // namespace
