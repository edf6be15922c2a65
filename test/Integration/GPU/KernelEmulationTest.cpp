//===- KernelEmulationTest.cpp - GPU kernels run on the CPU ---------------===//
//
// Part of ssmc. No GPU is needed: convert-ssm-to-gpu's kernels (the
// gpu.func bodies, exactly as the PTX path receives them) are moved into
// host functions (test-ssm-gpu-to-emulator, test/lib/Transforms) whose thread and block ids, warp shuffles, block
// barriers and tensor-core products (nvgpu.mma.sync, computed from the
// lanes' fragments in the layout of the PTX ISA; wgmma.mma_async, from
// its shared-memory descriptors) are calls into a small SIMT emulator
// below, and whose shared memory is one global arena, compiled with the
// CPU pipeline (every memory access checked against its buffer's bounds,
// every shared one by a racecheck) and run with one host thread per GPU
// thread of a block (blocks one after another). The results are compared with
// the reference evaluator at the tolerances of the CPU numerics tests (the
// chunked SSD: of its f16 products).
//
// What this checks: the work-item and lane mapping, the guards, the
// register and loop paths over the state, the warp sum, the fused
// discretization, skip and gate, f16/bf16 conversions, the mma fragments
// and the barriers between phases of the chunked SSD. What it does not:
// the host side's grid size (computed here by the same formula; the lit
// tests check the IR of it), PTX code generation, and the GPU's own exp
// and log1p (libdevice), which the CPU replaces with libm.
//
//===----------------------------------------------------------------------===//

#include "../../Support/Jit.h"
#include "../../Support/RandomTensor.h"
#include "../../Support/Trapezoid.h"
#include "JitHarness.h"
#include "ssm/Conversion/SSMToGPU.h"
#include "ssm/Transforms/Configuration.h"
#include "ssm/Transforms/ToRecurrence.h"
#include "Transforms/GPUToEmulator.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/Passes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

using namespace ssm;
using namespace ssm::test;

namespace {

//===----------------------------------------------------------------------===//
// The SIMT emulator
//===----------------------------------------------------------------------===//

constexpr int kWarpSize = 32;

/// A reusable barrier for the lanes of one warp.
class Barrier {
public:
  explicit Barrier(int count) : count(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    int generation = this->generation;
    if (++arrived == count) {
      arrived = 0;
      ++this->generation;
      released.notify_all();
      return;
    }
    released.wait(lock, [&] { return this->generation != generation; });
  }

private:
  std::mutex mutex;
  std::condition_variable released;
  int count, arrived = 0, generation = 0;
};

/// Where the lanes of a warp exchange values for a shuffle or an mma.
struct Warp {
  Barrier barrier{kWarpSize};
  float slots[kWarpSize];
  /// Each lane's fragments of nvgpu.mma.sync m16n8k16: A (8), B (4), C (4).
  float mma[kWarpSize][16];
};

thread_local int64_t threadId, blockId;
thread_local Warp *warp;
thread_local Barrier *blockBarrier;
/// The lane's part of the last mma's result.
thread_local float mmaResult[4];

/// The number of block barriers the thread has passed in its block: its
/// accesses to shared memory between two barriers share an epoch.
thread_local uint32_t barrierEpoch;

extern "C" void ssm_emu_barrier() {
  blockBarrier->wait();
  ++barrierEpoch;
}

extern "C" int64_t ssm_emu_thread_id() { return threadId; }
extern "C" int64_t ssm_emu_block_id() { return blockId; }

/// A shuffle over the whole warp: every lane publishes its value, all
/// wait, each reads that of lane `source(lane)`, all wait again before the
/// slots are reused.
template <typename Source>
float exchange(float value, int32_t width, Source source) {
  EXPECT_EQ(width, kWarpSize);
  int lane = static_cast<int>(threadId % kWarpSize);
  warp->slots[lane] = value;
  warp->barrier.wait();
  float partner = warp->slots[source(lane)];
  warp->barrier.wait();
  return partner;
}

extern "C" float ssm_emu_shuffle_xor_f32(float value, int32_t offset,
                                         int32_t width) {
  return exchange(value, width, [&](int lane) { return lane ^ offset; });
}

/// gpu.shuffle up: lanes below `offset` get their own value back (as
/// shfl.sync.up does).
extern "C" float ssm_emu_shuffle_up_f32(float value, int32_t offset,
                                        int32_t width) {
  return exchange(value, width, [&](int lane) {
    return lane >= offset ? lane - offset : lane;
  });
}

extern "C" float ssm_emu_shuffle_idx_f32(float value, int32_t offset,
                                         int32_t width) {
  EXPECT_TRUE(offset >= 0 && offset < kWarpSize);
  return exchange(value, width, [&](int) { return offset; });
}

/// Slot `slot` of the lane's operands of the coming mma (A 0..7, B 8..11,
/// C 12..15, in the order of the vectors' elements).
extern "C" void ssm_emu_mma_put(int32_t slot, float value) {
  warp->mma[threadId % kWarpSize][slot] = value;
}

/// mma.sync.aligned.m16n8k16.row.col.f32: D = A B + C over the warp, with
/// the fragments placed as the PTX ISA's "Matrix Fragments for
/// mma.m16n8k16" says: for lane l, g = l / 4 and c = 2 (l % 4), element i
/// of A is at row g + 8 ((i / 2) % 2), column c + i % 2 + 8 (i / 4); of B
/// at row c + i % 2 + 8 (i / 2), column g; of C and D at row
/// g + 8 (i / 2), column c + i % 2.
extern "C" void ssm_emu_mma() {
  warp->barrier.wait();
  float a[16][16], b[16][8], c[16][8];
  for (int l = 0; l < kWarpSize; ++l) {
    int g = l / 4, col = 2 * (l % 4);
    const float *f = warp->mma[l];
    for (int i = 0; i < 8; ++i)
      a[g + 8 * ((i / 2) % 2)][col + i % 2 + 8 * (i / 4)] = f[i];
    for (int i = 0; i < 4; ++i) {
      b[col + i % 2 + 8 * (i / 2)][g] = f[8 + i];
      c[g + 8 * (i / 2)][col + i % 2] = f[12 + i];
    }
  }
  int lane = static_cast<int>(threadId % kWarpSize);
  int g = lane / 4, col = 2 * (lane % 4);
  for (int i = 0; i < 4; ++i) {
    int row = g + 8 * (i / 2), n = col + i % 2;
    float sum = c[row][n];
    for (int k = 0; k < 16; ++k)
      sum += a[row][k] * b[k][n];
    mmaResult[i] = sum;
  }
  warp->barrier.wait();
}

extern "C" float ssm_emu_mma_get(int32_t slot) { return mmaResult[slot]; }

/// The shared memory of the kernels (GPUToEmulator.h).
constexpr int64_t kArenaBytes = mlir::ssm::test::kEmulatorArenaBytes;
/// The thread's accumulator fragment of the coming wgmma.
thread_local float wgmmaAccumulator[128];

/// The emulator's racecheck. All shared memory (workgroup attributions
/// and dynamic shared memory) lives in the arena; each 2-byte granule
/// remembers the last thread that wrote it and the one (or several) that
/// read it, with their epochs. Two accesses of one epoch by different
/// threads of which one writes are a race: a barrier is missing between
/// them. Blocks run one after another, each from a clear shadow.
///
/// It also checks the proxy rule of wgmma: the tensor cores read shared
/// memory through the async proxy, so a thread's ordinary writes must be
/// followed by its fence.proxy.async before wgmma reads them; a granule
/// remembers how many such fences its writer had made when it wrote.
class RaceCheck {
public:
  void reset(int64_t arena) {
    base = arena;
    for (Granule &g : shadow)
      g = Granule();
    for (std::atomic<uint32_t> &f : proxyFences)
      f = 0;
    std::lock_guard<std::mutex> lock(reportMutex);
    report.clear();
  }

  /// The calling thread's fence.proxy.async.
  void proxyFence() { ++proxyFences[static_cast<size_t>(threadId)]; }

  /// A read by wgmma (the async proxy) of the calling thread's warpgroup.
  void asyncRead(int64_t address, int64_t bytes) {
    access(address, bytes, /*write=*/false, /*async=*/true);
  }

  void access(int64_t address, int64_t bytes, bool write, bool async = false) {
    int64_t offset = address - base;
    if (offset < 0 || offset + bytes > kArenaBytes)
      return; // Not shared memory (the bounds are checked elsewhere).
    uint32_t thread = static_cast<uint32_t>(threadId);
    for (int64_t at = offset / 2; at < (offset + bytes + 1) / 2; ++at) {
      Granule &g = shadow[static_cast<size_t>(at)];
      std::lock_guard<std::mutex> lock(
          stripes[static_cast<size_t>(at) % stripes.size()]);
      bool written = g.writer != kNone && g.writeEpoch == barrierEpoch;
      if (write) {
        if (written && g.writer != thread)
          race(at, "write after write", g.writer);
        else if (g.readEpoch == barrierEpoch && g.reader != kNone &&
                 (g.reader != thread || g.readers > 1))
          race(at, "write after read", g.reader);
        g.writer = thread;
        g.writeEpoch = barrierEpoch;
        g.writerFences = proxyFences[thread];
      } else {
        if (written && g.writer != thread)
          race(at, "read after write", g.writer);
        if (async && g.writer != kNone &&
            proxyFences[g.writer] == g.writerFences)
          race(at, "wgmma read without fence.proxy.async after the write",
               g.writer);
        if (g.readEpoch != barrierEpoch || g.reader == kNone) {
          g.reader = thread;
          g.readers = 1;
          g.readEpoch = barrierEpoch;
        } else if (g.reader != thread) {
          ++g.readers;
        }
      }
    }
  }

  /// The first race found since the last reset, or "".
  std::string firstRace() {
    std::lock_guard<std::mutex> lock(reportMutex);
    return report;
  }

private:
  static constexpr uint32_t kNone = ~0u;
  struct Granule {
    uint32_t writer = kNone, writeEpoch = 0;
    uint32_t reader = kNone, readEpoch = 0, readers = 0;
    uint32_t writerFences = 0;
  };

  void race(int64_t granule, const char *kind, uint32_t other) {
    std::lock_guard<std::mutex> lock(reportMutex);
    if (report.empty())
      report = std::string(kind) + " in shared memory at byte " +
               std::to_string(2 * granule) + " of block " +
               std::to_string(blockId) + ": threads " + std::to_string(other) +
               " and " + std::to_string(threadId) + " between barriers " +
               std::to_string(barrierEpoch) + " and " +
               std::to_string(barrierEpoch + 1);
  }

  int64_t base = 0;
  std::vector<Granule> shadow = std::vector<Granule>(kArenaBytes / 2);
  std::array<std::mutex, 256> stripes;
  /// Per thread of the block.
  std::array<std::atomic<uint32_t>, 1024> proxyFences{};
  std::mutex reportMutex;
  std::string report;
};

RaceCheck raceCheck;

extern "C" void ssm_emu_shared_access(int64_t address, int32_t bytes,
                                      int32_t write) {
  raceCheck.access(address, bytes, write != 0);
}

extern "C" void ssm_emu_proxy_fence() { raceCheck.proxyFence(); }

extern "C" void ssm_emu_wgmma_put(int32_t slot, float value) {
  wgmmaAccumulator[slot] = value;
}
extern "C" float ssm_emu_wgmma_get(int32_t slot) {
  return wgmmaAccumulator[slot];
}

/// Element (row, k) of a K-major operand without swizzling, as the PTX ISA
/// describes its descriptor: bits 0-13 the start address, 16-29 the
/// leading byte offset (between core matrices adjacent along K), 32-45 the
/// stride byte offset (between core matrices adjacent along M or N), each
/// in 16-byte units; a core matrix is 8 rows of 16 contiguous bytes.
float wgmmaOperand(int64_t arena, uint64_t descriptor, int row, int k) {
  auto field = [&](int shift) {
    return static_cast<int64_t>((descriptor >> shift) & 0x3FFF) << 4;
  };
  EXPECT_EQ(descriptor >> 62, 0u) << "a swizzled layout";
  EXPECT_EQ((descriptor >> 49) & 7, 0u) << "a base offset";
  int64_t address = arena + field(0) + row / 8 * field(32) + k / 8 * field(16) +
                    row % 8 * 16 + k % 8 * 2;
  EXPECT_TRUE(address >= arena && address + 2 <= arena + kArenaBytes);
  raceCheck.asyncRead(address, 2);
  uint16_t bits;
  std::memcpy(&bits, reinterpret_cast<const void *>(address), 2);
  return static_cast<float>(f16ToDouble(bits));
}

/// wgmma.mma_async.sync.aligned.m64nNk16.f32.f16.f16 with both operands
/// K-major in shared memory (no transposes), D += A Bᵀ: the thread's part
/// of D, which warp w of the warpgroup holds for rows 16 w..16 w + 15 in
/// the layout of an mma.m16n8 accumulator per 8 columns (element i at row
/// 16 w + g + 8 ((i / 2) % 2), column 8 (i / 4) + c + i % 2). Each thread
/// computes its own elements from shared memory: no exchange needed.
extern "C" void ssm_emu_wgmma(int64_t arena, int64_t descriptorA,
                              int64_t descriptorB, int32_t n) {
  ASSERT_EQ(arena % kArenaBytes, 0) << "the arena is not aligned";
  int thread = static_cast<int>(threadId % 128);
  int w = thread / kWarpSize, lane = thread % kWarpSize;
  int g = lane / 4, c = 2 * (lane % 4);
  for (int i = 0; i < n / 2; ++i) {
    int row = 16 * w + g + 8 * ((i / 2) % 2), col = 8 * (i / 4) + c + i % 2;
    float sum = wgmmaAccumulator[i];
    for (int k = 0; k < 16; ++k)
      sum += wgmmaOperand(arena, static_cast<uint64_t>(descriptorA), row, k) *
             wgmmaOperand(arena, static_cast<uint64_t>(descriptorB), col, k);
    wgmmaAccumulator[i] = sum;
  }
}

/// One kernel launch: the kernel named `kernel` on `args` (in the kernel's
/// argument order) with `blocks` blocks of `blockSize` threads.
struct Launch {
  std::string kernel;
  int64_t blocks, blockSize;
  std::vector<Buffer *> args;
};

/// Compiles the kernels that the GPU pipeline's first passes (the core op
/// configured for `chip` with the chunk order `order`, then
/// convert-ssm-to-gpu) make of `source` and runs `launches` in order, as
/// the host code would. Returns "" or what went wrong.
std::string emulate(const std::string &source,
                    const std::vector<Launch> &launches,
                    mlir::ssm::GPUChip chip = mlir::ssm::GPUChip::sm_80,
                    mlir::ssm::SSDChunkOrder order =
                        mlir::ssm::SSDChunkOrder::Automatic) {
  using namespace mlir;
  DialectRegistry registry;
  mlir::ssm::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    os << d << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  if (!module)
    return "parse failed: " + diagnostics;
  PassManager toGPU(&context, ModuleOp::getOperationName());
  OpPassManager &funcs = toGPU.nest<func::FuncOp>();
  funcs.addPass(mlir::ssm::createSSMToRecurrencePass());
  funcs.addPass(mlir::ssm::createSSMSelectGPUAlgorithmPass({chip, order}));
  toGPU.addPass(mlir::ssm::createConvertSSMToGPUPass({chip}));
  if (failed(toGPU.run(*module)))
    return "convert-ssm-to-gpu failed: " + diagnostics;
  if (failed(mlir::ssm::test::moveKernelsToHost(*module)))
    return "unexpected GPU ops in the kernels";
  PassManager toLLVM(&context, ModuleOp::getOperationName());
  // Folds the mma fragments' vector.from_elements / vector.extract pairs,
  // leaving scalars for the CPU pipeline.
  toLLVM.addPass(createCanonicalizerPass());
  // Every load and store of the kernels is checked against its buffer's
  // bounds (the emulator's memcheck): an access out of bounds stops the
  // test with the op's location.
  toLLVM.addPass(createGenerateRuntimeVerificationPass());
  mlir::ssm::buildCPULowerToLLVMPipeline(toLLVM, {/*threads=*/false});
  if (failed(toLLVM.run(*module)))
    return "lowering failed: " + diagnostics;
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto engine = createOptimizedJit(*module);
  if (!engine)
    return "JIT failed: " + llvm::toString(engine.takeError());
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    // The CPU pipeline calls declared functions through their C-interface
    // names; with scalar arguments those have the plain C signature.
    auto add = [&](const std::string &name, auto *function) {
      for (const std::string &symbol : {name, "_mlir_ciface_" + name})
        symbols[interner(symbol)] = {llvm::orc::ExecutorAddr::fromPtr(function),
                                     llvm::JITSymbolFlags::Exported};
    };
    add("ssm_emu_thread_id", &ssm_emu_thread_id);
    add("ssm_emu_block_id", &ssm_emu_block_id);
    add("ssm_emu_shuffle_xor_f32", &ssm_emu_shuffle_xor_f32);
    add("ssm_emu_shuffle_up_f32", &ssm_emu_shuffle_up_f32);
    add("ssm_emu_shuffle_idx_f32", &ssm_emu_shuffle_idx_f32);
    add("ssm_emu_barrier", &ssm_emu_barrier);
    add("ssm_emu_mma_put", &ssm_emu_mma_put);
    add("ssm_emu_mma", &ssm_emu_mma);
    add("ssm_emu_mma_get", &ssm_emu_mma_get);
    add("ssm_emu_wgmma_put", &ssm_emu_wgmma_put);
    add("ssm_emu_wgmma", &ssm_emu_wgmma);
    add("ssm_emu_wgmma_get", &ssm_emu_wgmma_get);
    add("ssm_emu_shared_access", &ssm_emu_shared_access);
    add("ssm_emu_proxy_fence", &ssm_emu_proxy_fence);
    return symbols;
  });
  auto arenaAddress = (*engine)->lookup("ssm_emu_arena");
  if (!arenaAddress)
    return "no shared memory arena: " +
           llvm::toString(arenaAddress.takeError());
  auto arena = reinterpret_cast<int64_t>(*arenaAddress);
  for (const Launch &launch : launches) {
    auto function = (*engine)->lookupPacked("_mlir_ciface_" + launch.kernel);
    if (!function)
      return "no kernel " + launch.kernel + ": " +
             llvm::toString(function.takeError());
    std::vector<void *> packed;
    for (Buffer *arg : launch.args)
      packed.push_back(&arg->descriptorPtr);
    int64_t blockSize = launch.blockSize;
    for (int64_t b = 0; b < launch.blocks; ++b) {
      raceCheck.reset(arena);
      std::vector<Warp> warps(static_cast<size_t>(blockSize / kWarpSize));
      Barrier wholeBlock(static_cast<int>(blockSize));
      std::vector<std::thread> threads;
      for (int64_t t = 0; t < blockSize; ++t)
        threads.emplace_back([&, t] {
          threadId = t;
          blockId = b;
          warp = &warps[static_cast<size_t>(t / kWarpSize)];
          blockBarrier = &wholeBlock;
          (*function)(packed.data());
        });
      for (std::thread &thread : threads)
        thread.join();
      if (std::string race = raceCheck.firstRace(); !race.empty())
        return launch.kernel + ": " + race;
    }
  }
  return "";
}

/// emulate() of one launch.
std::string emulate(const std::string &source, const std::string &kernel,
                    int64_t blocks, int64_t blockSize,
                    const std::vector<Buffer *> &args) {
  return emulate(source, {{kernel, blocks, blockSize, args}});
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

//===----------------------------------------------------------------------===//
// ssm.state_update: one warp per row, 4 warps per block
//===----------------------------------------------------------------------===//

struct UpdateCase {
  const char *name;
  bool mamba2, perChannelD;
  int64_t B, H, P, N, G;
  Storage storage;
};

void PrintTo(const UpdateCase &c, std::ostream *os) { *os << c.name; }

class EmulatedStateUpdate : public ::testing::TestWithParam<UpdateCase> {};

TEST_P(EmulatedStateUpdate, MatchesReference) {
  const UpdateCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.H * 7 + c.N + c.B);
  ref::StateUpdateArgs a = randomStateUpdateOperands(
      c.mamba2, c.perChannelD, c.B, c.H, c.P, c.N, c.G, rng, s);
  ref::StateUpdateResult expected = ref::stateUpdate(a);

  const char *e = elementName(s);
  std::vector<Buffer> buffers;
  buffers.reserve(10);
  std::string params, types;
  auto add = [&](const ref::Tensor &t) {
    buffers.push_back(fromTensor(t, s));
    std::string name = "%a" + std::to_string(buffers.size() - 1);
    params += (params.empty() ? "" : ", ") + name + ": " + type(t.shape, e);
    return name;
  };
  std::string state = add(a.state), y = add(ref::Tensor(a.x.shape));
  std::string x = add(a.x), dt = add(a.dt), A = add(a.A), B = add(a.B),
              C = add(a.C), D = add(*a.D), z = add(*a.z), bias = add(*a.dtBias);
  auto ty = [&](const ref::Tensor &t) { return type(t.shape, e); };
  std::string source =
      "func.func @f(" + params + ") -> (" + ty(a.state) + ", " + ty(a.x) +
      ") {\n" + "  %n, %o = ssm.state_update ins(" + x + ", " + dt + ", " + A +
      ", " + B + ", " + C + " : " + ty(a.x) + ", " + ty(a.dt) + ", " + ty(a.A) +
      ", " + ty(a.B) + ", " + ty(a.C) + ") skip(" + D + " : " + ty(*a.D) +
      ") gate(" + z + " : " + ty(*a.z) + ") dt_bias(" + bias + " : " +
      ty(*a.dtBias) + ") dt_softplus dt_limit [0.01, 0.5] outs(" + state +
      ", " + y + " : " + ty(a.state) + ", " + ty(a.x) + ")\n" +
      "  return %n, %o : " + ty(a.state) + ", " + ty(a.x) + "\n}\n";
  std::vector<Buffer *> args;
  for (Buffer &b : buffers)
    args.push_back(&b);
  int64_t rows = c.B * c.H * (c.mamba2 ? c.P : 1);
  ASSERT_EQ(emulate(source, "f_state_update", ceilDiv(rows, 4), 128, args), "");
  EXPECT_LT(relativeError(buffers[0], expected.newState), kernelTolerance(s));
  EXPECT_LT(relativeError(buffers[1], expected.y), kernelTolerance(s));
}

// N = 64 and 128 take the register path (2 and 4 entries per lane), N = 5
// and 40 the loop (fewer entries than lanes; not a multiple of 32). Row
// counts that leave the last block partly idle.
INSTANTIATE_TEST_SUITE_P(
    Cases, EmulatedStateUpdate,
    ::testing::Values(
        UpdateCase{"mamba2_registers", true, true, 3, 6, 3, 64, 3,
                   Storage::F32},
        UpdateCase{"mamba2_n128", true, false, 2, 2, 5, 128, 1, Storage::F32},
        UpdateCase{"mamba2_loop", true, false, 2, 4, 3, 40, 2, Storage::F32},
        UpdateCase{"mamba1_loop", false, false, 2, 17, 1, 5, 1, Storage::F32},
        UpdateCase{"mamba1_registers", false, false, 3, 6, 1, 32, 3,
                   Storage::F32},
        UpdateCase{"mamba2_bf16", true, true, 3, 6, 3, 64, 3, Storage::BF16},
        UpdateCase{"mamba1_f16", false, false, 2, 17, 1, 5, 1, Storage::F16},
        UpdateCase{"mamba2_f16", true, false, 2, 4, 3, 128, 1, Storage::F16}),
    [](const ::testing::TestParamInfo<UpdateCase> &info) {
      return std::string(info.param.name);
    });

//===----------------------------------------------------------------------===//
// ssm.causal_conv1d: one thread per output, 256 per block
//===----------------------------------------------------------------------===//

/// The function parameters and buffers of one test kernel.
struct Params {
  Storage storage;
  std::vector<Buffer> buffers;
  std::string text;

  explicit Params(Storage s) : storage(s) { buffers.reserve(16); }
  /// Adds a parameter holding `t`; returns its SSA name.
  std::string add(const ref::Tensor &t) {
    buffers.push_back(fromTensor(t, storage));
    std::string name = "%a" + std::to_string(buffers.size() - 1);
    text += (text.empty() ? "" : ", ") + name + ": " + ty(t);
    return name;
  }
  /// Adds an i64 parameter of `shape` holding `values`.
  std::string addIndices(std::vector<int64_t> shape,
                         const std::vector<int64_t> &values) {
    return addInts<int64_t>(std::move(shape), values, "i64");
  }
  /// Adds an i1 parameter (a byte per element) of `shape`, true where
  /// `values` is non-zero.
  std::string addMask(std::vector<int64_t> shape, const std::vector<int64_t> &values) {
    return addInts<uint8_t>(std::move(shape), values, "i1");
  }
  template <typename T>
  std::string addInts(std::vector<int64_t> shape, const std::vector<int64_t> &values,
                      const char *element) {
    text += std::string(text.empty() ? "" : ", ") + "%a" +
            std::to_string(buffers.size()) + ": " + type(shape, element);
    buffers.push_back(fromInts<T>(std::move(shape), values));
    return "%a" + std::to_string(buffers.size() - 1);
  }
  std::string ty(const ref::Tensor &t) const {
    return type(t.shape, elementName(storage));
  }
  std::vector<Buffer *> pointers(std::vector<Buffer *> outputs) {
    for (Buffer &b : buffers)
      outputs.push_back(&b);
    return outputs;
  }
};

struct ConvCase {
  const char *name;
  int64_t B, C, L, W;
  bool bias, init, silu;
  Storage storage;
};

void PrintTo(const ConvCase &c, std::ostream *os) { *os << c.name; }

class EmulatedCausalConv1d : public ::testing::TestWithParam<ConvCase> {};

TEST_P(EmulatedCausalConv1d, MatchesReference) {
  const ConvCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.C * 3 + c.L + c.W);
  ref::CausalConv1dArgs a = randomConvOperands(c.B, c.C, c.L, c.W, c.bias, c.init,
                                                 c.silu, rng, s);
  ref::CausalConv1dResult expected = ref::causalConv1d(a);

  Params p(s);
  std::string x = p.add(a.x), w = p.add(a.weight);
  std::string op = "%out, %fs = ssm.causal_conv1d " + x + ", " + w;
  std::string types = p.ty(a.x) + ", " + p.ty(a.weight);
  if (a.bias) {
    op += " bias(" + p.add(*a.bias) + ")";
    types += ", " + p.ty(*a.bias);
  }
  if (a.initState) {
    op += " init_state(" + p.add(*a.initState) + ")";
    types += ", " + p.ty(*a.initState);
  }
  if (c.silu)
    op += " silu";
  std::string results = p.ty(expected.out) + ", " + p.ty(expected.finalState);
  std::string source = "func.func @f(" + p.text + ") -> (" + results +
                       ") {\n  " + op + " : (" + types + ") -> (" + results +
                       ")\n" + "  return %out, %fs : " + results + "\n}\n";
  Buffer out = fromTensor(ref::Tensor(expected.out.shape), s);
  Buffer finalState = fromTensor(ref::Tensor(expected.finalState.shape), s);
  int64_t items = c.B * c.C * std::max(c.L, c.W - 1);
  ASSERT_EQ(emulate(source, "f_causal_conv1d", ceilDiv(items, 256), 256,
                    p.pointers({&out, &finalState})),
            "");
  EXPECT_LT(relativeError(out, expected.out), kernelTolerance(s));
  EXPECT_LT(relativeError(finalState, expected.finalState), kernelTolerance(s));
}

// Sequences shorter than the carried history (the final state then comes
// partly from init_state), a width of 1 (no history), channel counts that
// leave the last block partly idle.
INSTANTIATE_TEST_SUITE_P(
    Cases, EmulatedCausalConv1d,
    ::testing::Values(
        ConvCase{"mamba_w4", 2, 37, 19, 4, true, true, true, Storage::F32},
        ConvCase{"short", 3, 5, 2, 4, true, true, false, Storage::F32},
        ConvCase{"no_state", 2, 9, 11, 3, false, false, true, Storage::F32},
        ConvCase{"width1", 1, 7, 5, 1, true, false, false, Storage::F32},
        ConvCase{"bf16", 2, 37, 19, 4, true, true, true, Storage::BF16},
        ConvCase{"f16", 2, 300, 7, 3, true, false, true, Storage::F16}),
    [](const ::testing::TestParamInfo<ConvCase> &info) {
      return std::string(info.param.name);
    });

//===----------------------------------------------------------------------===//
// ssm.selective_scan: a warp per (batch, channel), 4 per block, a warp
// scan over chunks of time
//===----------------------------------------------------------------------===//

struct ScanCase {
  const char *name;
  int64_t B, D, L, N, G;
  bool selective, optional, init;
  Storage storage;
  ref::Discretization method = ref::Discretization::Mamba;
};

void PrintTo(const ScanCase &c, std::ostream *os) { *os << c.name; }

class EmulatedSelectiveScan : public ::testing::TestWithParam<ScanCase> {};

TEST_P(EmulatedSelectiveScan, MatchesReference) {
  const ScanCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.D * 11 + c.L + c.N);
  ref::SelectiveScanArgs a;
  a.u = stored({c.B, c.D, c.L}, rng, s);
  a.delta = stored({c.B, c.D, c.L}, rng, s, -2.0, 0.5);
  a.A = stored({c.D, c.N}, rng, s, -1.5, -0.1);
  std::vector<int64_t> bcShape = c.selective
                                     ? std::vector<int64_t>{c.B, c.G, c.N, c.L}
                                     : std::vector<int64_t>{c.D, c.N};
  a.B = stored(bcShape, rng, s);
  a.C = stored(bcShape, rng, s);
  if (c.optional) {
    a.D = stored({c.D}, rng, s);
    a.z = stored({c.B, c.D, c.L}, rng, s);
    a.deltaBias = stored({c.D}, rng, s, -0.5, 0.5);
    a.deltaSoftplus = true;
  }
  if (c.init)
    a.init = stored({c.B, c.D, c.N}, rng, s);
  a.method = c.method;
  ref::SelectiveScanResult expected = ref::selectiveScan(a);

  Params p(s);
  // Buffers are the kernel's arguments in operand order: add them in order.
  std::string u = p.add(a.u), delta = p.add(a.delta), A = p.add(a.A),
              B = p.add(a.B), C = p.add(a.C);
  std::string op = "%y, %h = ssm.selective_scan " + u + ", " + delta + ", " +
                   A + ", " + B + ", " + C;
  std::string types = p.ty(a.u) + ", " + p.ty(a.delta) + ", " + p.ty(a.A) +
                      ", " + p.ty(a.B) + ", " + p.ty(a.C);
  auto optional = [&](const char *keyword,
                      const std::optional<ref::Tensor> &t) {
    if (!t)
      return;
    op += std::string(" ") + keyword + "(" + p.add(*t) + ")";
    types += ", " + p.ty(*t);
  };
  optional("skip", a.D);
  optional("gate", a.z);
  optional("delta_bias", a.deltaBias);
  optional("init", a.init);
  if (a.deltaSoftplus)
    op += " delta_softplus";
  switch (c.method) {
  case ref::Discretization::ZOH:
    op += " method zoh";
    break;
  case ref::Discretization::Bilinear:
    op += " method bilinear";
    break;
  case ref::Discretization::Euler:
    op += " method euler";
    break;
  case ref::Discretization::Mamba:
    break;
  }
  std::string results = p.ty(expected.y) + ", " + p.ty(expected.finalState);
  std::string source = "func.func @f(" + p.text + ") -> (" + results +
                       ") {\n  " + op + " : (" + types + ") -> (" + results +
                       ")\n" + "  return %y, %h : " + results + "\n}\n";
  Buffer y = fromTensor(ref::Tensor(expected.y.shape), s);
  Buffer finalState = fromTensor(ref::Tensor(expected.finalState.shape), s);
  ASSERT_EQ(emulate(source, "f_selective_scan", ceilDiv(c.B * c.D, 4), 128,
                    p.pointers({&y, &finalState})),
            "");
  EXPECT_LT(relativeError(y, expected.y), kernelTolerance(s));
  EXPECT_LT(relativeError(finalState, expected.finalState), kernelTolerance(s));
}

// A round is 256 steps (32 lanes of 8): L = 23 and 37 end inside the first
// round, 600 takes three with the last partial, 1 leaves all lanes but
// lane 0 with identity steps, 0 passes the initial state on. Groups (channel d reads group d / (D / G)),
// fixed B and C, N = 64 (two carried states per lane) and 40 (lanes past N
// in the second register), channel counts that leave warps of the last
// block idle, with and without an initial state; the four discretization
// rules. Without softplus δ may be negative and the state grow: only the
// one-step case goes without.
INSTANTIATE_TEST_SUITE_P(
    Cases, EmulatedSelectiveScan,
    ::testing::Values(
        ScanCase{"selective_groups", 2, 6, 23, 16, 3, true, true, true,
                 Storage::F32},
        ScanCase{"one_step", 1, 5, 1, 16, 1, true, false, true, Storage::F32},
        ScanCase{"empty", 1, 5, 0, 16, 1, true, true, true, Storage::F32},
        ScanCase{"three_rounds", 2, 3, 600, 16, 3, true, true, true,
                 Storage::F32},
        ScanCase{"fixed_n64", 1, 5, 300, 64, 1, false, true, true,
                 Storage::F32},
        ScanCase{"n40_no_init", 2, 2, 37, 40, 2, true, true, false,
                 Storage::F32},
        ScanCase{"many_channels", 2, 130, 7, 4, 1, true, true, true,
                 Storage::F32},
        ScanCase{"f16", 2, 5, 270, 16, 1, true, true, true, Storage::F16},
        ScanCase{"bf16", 2, 6, 23, 16, 3, true, true, true, Storage::BF16},
        ScanCase{"zoh", 2, 3, 300, 16, 1, true, true, true, Storage::F32,
                 ref::Discretization::ZOH},
        ScanCase{"bilinear", 2, 3, 40, 16, 3, true, true, true, Storage::F32,
                 ref::Discretization::Bilinear},
        ScanCase{"euler", 1, 5, 40, 32, 1, false, true, true, Storage::F32,
                 ref::Discretization::Euler}),
    [](const ::testing::TestParamInfo<ScanCase> &info) {
      return std::string(info.param.name);
    });

//===----------------------------------------------------------------------===//
// ssm.scan: the discretized recurrence, through the same recurrent form as
// the selective scan (a warp per (batch, channel))
//===----------------------------------------------------------------------===//

struct LinearScanCase {
  const char *name;
  int64_t B, D, L, N;
  bool timeVarying, skip, init, reset, reverse;
  Storage storage;
};

void PrintTo(const LinearScanCase &c, std::ostream *os) { *os << c.name; }

class EmulatedScan : public ::testing::TestWithParam<LinearScanCase> {};

TEST_P(EmulatedScan, MatchesReference) {
  const LinearScanCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.D * 7 + c.L * 3 + c.N);
  std::vector<int64_t> coefficients =
      c.timeVarying ? std::vector<int64_t>{c.B, c.L, c.D, c.N}
                    : std::vector<int64_t>{c.D, c.N};
  ref::ScanArgs a;
  a.x = stored({c.B, c.L, c.D}, rng, s);
  // |abar| < 1: the state stays bounded over long sequences.
  a.abar = stored(coefficients, rng, s, 0.5, 0.99);
  a.bbar = stored(coefficients, rng, s);
  a.c = stored(coefficients, rng, s);
  if (c.skip)
    a.d = stored({c.D}, rng, s);
  if (c.init)
    a.init = stored({c.B, c.D, c.N}, rng, s);
  std::vector<int64_t> resets;
  if (c.reset) {
    // Cuts at a few steps of each row (one at t = 0, which changes nothing).
    ref::Tensor cuts({c.B, c.L});
    for (int64_t i = 0; i < c.B * c.L; ++i) {
      resets.push_back(i % c.L == 0 || (i * 7 + 3) % 11 == 0);
      cuts.data[i] = static_cast<double>(resets.back());
    }
    a.reset = cuts;
  }
  a.reverse = c.reverse;
  ref::ScanResult expected = ref::scan(a);

  Params p(s);
  std::string x = p.add(a.x), abar = p.add(a.abar), bbar = p.add(a.bbar),
              cc = p.add(a.c);
  std::string op = std::string("%y, %h = ssm.scan ") +
                   (c.reverse ? "reverse " : "forward ") + x + ", " + abar + ", " +
                   bbar + ", " + cc;
  std::string types = p.ty(a.x) + ", " + p.ty(a.abar) + ", " + p.ty(a.bbar) +
                      ", " + p.ty(a.c);
  if (a.d) {
    op += " skip(" + p.add(*a.d) + ")";
    types += ", " + p.ty(*a.d);
  }
  if (a.init) {
    op += " init(" + p.add(*a.init) + ")";
    types += ", " + p.ty(*a.init);
  }
  if (a.reset) {
    op += " reset(" + p.addMask({c.B, c.L}, resets) + ")";
    types += ", " + type({c.B, c.L}, "i1");
  }
  std::string results = p.ty(expected.y) + ", " + p.ty(expected.finalState);
  std::string source = "func.func @f(" + p.text + ") -> (" + results + ") {\n  " + op +
                       " : (" + types + ") -> (" + results + ")\n  return %y, %h : " +
                       results + "\n}\n";
  Buffer y = fromTensor(ref::Tensor(expected.y.shape), s);
  Buffer finalState = fromTensor(ref::Tensor(expected.finalState.shape), s);
  ASSERT_EQ(emulate(source, "f_scan", ceilDiv(c.B * c.D, 4), 128,
                    p.pointers({&y, &finalState})),
            "");
  EXPECT_LT(relativeError(y, expected.y), kernelTolerance(s));
  EXPECT_LT(relativeError(finalState, expected.finalState), kernelTolerance(s));
}

// Time-varying and time-invariant coefficients, the skip, an initial state,
// resets, both directions; N = 40 leaves lanes past N in the second
// register; L = 300 takes two rounds of 256 steps; f16 storage.
INSTANTIATE_TEST_SUITE_P(
    Cases, EmulatedScan,
    ::testing::Values(
        LinearScanCase{"time_varying", 2, 5, 23, 16, true, true, true, false, false,
                       Storage::F32},
        LinearScanCase{"time_invariant", 1, 6, 300, 40, false, false, false, false,
                       false, Storage::F32},
        LinearScanCase{"reset", 2, 3, 37, 16, true, true, true, true, false,
                       Storage::F32},
        LinearScanCase{"reverse_reset", 2, 3, 37, 16, true, false, true, true, true,
                       Storage::F32},
        LinearScanCase{"f16", 1, 5, 40, 16, true, true, true, false, false,
                       Storage::F16}),
    [](const ::testing::TestParamInfo<LinearScanCase> &info) {
      return std::string(info.param.name);
    });

//===----------------------------------------------------------------------===//
// ssm.recurrence with two input terms, one read at the previous step (the
// trapezoidal rule of test/Support/Trapezoid.h): lanes over states (scalar
// transitions, segments, reverse) and lanes over time (a forward diagonal
// one, over two rounds of 256 steps, so a previous step crosses a round).
//===----------------------------------------------------------------------===//

/// The parameters of a trapezoid function: `tensors` added to `p` in
/// order, with their SSA names and types.
struct TrapezoidParams {
  std::vector<std::string> names, types;
  TrapezoidParams(Params &p, std::initializer_list<const ref::Tensor *> tensors) {
    for (const ref::Tensor *t : tensors) {
      names.push_back(p.add(*t));
      types.push_back(p.ty(*t));
    }
  }
  /// `@f` computing `op` (`%r:2 = …`) and returning its results, of the
  /// types of parameters `y` and `h`.
  std::string function(const Params &p, const std::string &op, size_t y,
                       size_t h) const {
    std::string results = types[y] + ", " + types[h];
    return "func.func @f(" + p.text + ") -> (" + results + ") {\n  " + op +
           "\n  return %r#0, %r#1 : " + results + "\n}\n";
  }
};

class EmulatedTrapezoid : public ::testing::TestWithParam<TrapezoidCase> {};

TEST_P(EmulatedTrapezoid, MatchesFormula) {
  const TrapezoidCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.L * 17 + c.N);
  TrapezoidArgs a = randomTrapezoid(c, rng, s);
  TrapezoidResult expected = trapezoidReference(c, a);

  Params p(s);
  ref::Tensor y0(a.x.shape);
  TrapezoidParams params(p, {&a.x, &a.Bm, &a.C, &a.dt, &a.A, &a.lam, &a.D, &y0, &a.h0});
  std::vector<std::string> &names = params.names, &types = params.types;
  std::vector<int64_t> segmentShape =
      c.segments == Segments::CuSeqlens ? std::vector<int64_t>{c.B + 1}
                                        : std::vector<int64_t>{c.B, c.L};
  if (c.segments == Segments::Reset) {
    names.push_back(p.addMask(segmentShape, a.segments));
    types.push_back(type(segmentShape, "i1"));
  } else if (c.segments != Segments::None) {
    names.push_back(p.addIndices(segmentShape, a.segments));
    types.push_back(type(segmentShape, "i64"));
  }
  std::string source = params.function(p, trapezoidOp(c, names, types), 7, 8);
  Buffer y = fromTensor(ref::Tensor(expected.y.shape), s);
  Buffer finalState = fromTensor(ref::Tensor(expected.h.shape), s);
  // The kernel's arguments: y, the final state, each input in operand
  // order (x and B twice), the initial state, the segments.
  std::vector<Buffer> &in = p.buffers;
  std::vector<Buffer *> args = {&y,     &finalState, &in[0], &in[0], &in[1], &in[1],
                                &in[2], &in[3],      &in[4], &in[5], &in[6], &in[8]};
  if (c.segments != Segments::None)
    args.push_back(&in[9]);
  ASSERT_EQ(emulate(source, "f_recurrence", ceilDiv(c.B * c.H * c.P, 4), 128, args), "");
  EXPECT_LT(relativeError(y, expected.y), kernelTolerance(s));
  EXPECT_LT(relativeError(finalState, expected.h), kernelTolerance(s));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EmulatedTrapezoid,
    ::testing::Values(
        TrapezoidCase{"scalar_seq_idx", 2, 41, 4, 2, 3, 40, false, false, Segments::SeqIdx,
                      true},
        TrapezoidCase{"lanes_over_time", 1, 300, 2, 1, 2, 16, true, false, Segments::None,
                      true},
        TrapezoidCase{"diagonal_reverse_reset", 2, 37, 2, 1, 3, 16, true, true,
                      Segments::Reset, true},
        TrapezoidCase{"packed", 3, 41, 2, 1, 4, 16, false, false, Segments::CuSeqlens,
                      true}),
    [](const ::testing::TestParamInfo<TrapezoidCase> &info) {
      return std::string(info.param.name);
    });

// The decode form's step of the same rule (a warp per state row, the state
// updated in place).
class EmulatedTrapezoidStep : public ::testing::TestWithParam<TrapezoidCase> {};

TEST_P(EmulatedTrapezoidStep, MatchesFormula) {
  const TrapezoidCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.P * 11 + c.N);
  TrapezoidStep a = randomTrapezoidStep(c, rng, s);
  TrapezoidResult expected = trapezoidStepReference(c, a);
  Params p(s);
  ref::Tensor y0(a.x.shape);
  TrapezoidParams params(
      p, {&a.x, &a.xp, &a.Bm, &a.Bp, &a.C, &a.dt, &a.A, &a.lam, &a.D, &y0, &a.h});
  std::string source =
      params.function(p, trapezoidStepOp(c, params.names, params.types), 9, 10);
  // In place: the state, y, then the inputs in operand order.
  std::vector<Buffer> &in = p.buffers;
  std::vector<Buffer *> args = {&in[10], &in[9]};
  for (size_t i = 0; i < 9; ++i)
    args.push_back(&in[i]);
  ASSERT_EQ(emulate(source, "f_recurrence", ceilDiv(c.B * c.H * c.P, 4), 128, args), "");
  EXPECT_LT(relativeError(in[9], expected.y), kernelTolerance(s));
  EXPECT_LT(relativeError(in[10], expected.h), kernelTolerance(s));
}

// N = 64: the register path; N = 40: the loop.
INSTANTIATE_TEST_SUITE_P(
    Cases, EmulatedTrapezoidStep,
    ::testing::Values(
        TrapezoidCase{"scalar_registers", 3, 1, 4, 2, 3, 64, false, false, Segments::None,
                      true},
        TrapezoidCase{"diagonal_loop", 2, 1, 3, 1, 2, 40, true, false, Segments::None,
                      true}),
    [](const ::testing::TestParamInfo<TrapezoidCase> &info) {
      return std::string(info.param.name);
    });

//===----------------------------------------------------------------------===//
// ssm.ssd (recurrent): one warp per (row, head, head channel), 4 per block
//===----------------------------------------------------------------------===//

enum class Packing { None, SeqIdx, CuSeqlens };

struct SSDCase {
  const char *name;
  int64_t B, L, H, P, G, N;
  Packing packing;
  Storage storage;
  /// chunk_size of an `algorithm chunked` op (the tensor-core kernel), or 0
  /// for the recurrent kernel.
  int64_t chunk = 0;
  /// Compiled for sm_90a: the chunked op takes the wgmma kernel.
  bool wgmma = false;
  /// A in [-0.02, -0.005]: a state keeps e^-2 or more of itself over 256
  /// steps, so what one chunk or span passes to the next shows in y (with
  /// the usual A, e^-80 of it is left).
  bool slowDecay = false;
};

void PrintTo(const SSDCase &c, std::ostream *os) { *os << c.name; }

class EmulatedSSD : public ::testing::TestWithParam<SSDCase> {};

TEST_P(EmulatedSSD, MatchesReference) {
  const SSDCase &c = GetParam();
  Storage s = c.storage;
  std::mt19937_64 rng(c.H * 13 + c.L + c.N);
  ref::SSDArgs a =
      randomSSDOperands(c.B, c.L, c.H, c.P, c.G, c.N, /*perChannelD=*/c.P > 4, rng);
  if (c.slowDecay)
    a.A = stored({c.H}, rng, Storage::F32, -0.02, -0.005);
  for (ref::Tensor *t : {&a.x, &a.dt, &a.A, &a.B, &a.C, &*a.D})
    *t = roundTo(*t, s);
  a.z = stored({c.B, c.L, c.H, c.P}, rng, s);
  a.dtBias = stored({c.H}, rng, s, -0.5, 0.5);
  a.dtSoftplus = true;
  a.dtLimit = std::make_pair(0.0, 0.8);
  int64_t rows = c.B;
  std::vector<int64_t> offsets;
  if (c.packing == Packing::SeqIdx) {
    // Sequences change at t = 3 and t = 7 of every row, and for the
    // chunked kernels at a chunk's first step (64) and inside a later
    // chunk, near its end (122), where the earlier steps still weigh.
    std::vector<int64_t> changes = {3, 7};
    if (c.chunk)
      changes.insert(changes.end(), {64, 122});
    std::vector<int64_t> seq;
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = 0; t < c.L; ++t)
        seq.push_back(std::count_if(changes.begin(), changes.end(),
                                    [&](int64_t at) { return at <= t; }));
    a.seqIdx = seq;
  } else if (c.packing == Packing::CuSeqlens) {
    // Three sequences, the middle one empty.
    offsets = {0, 4, 4, c.L};
    a.cuSeqlens = offsets;
    rows = 3;
  }
  a.init = stored({rows, c.H, c.P, c.N}, rng, s);
  ref::SSDResult expected = ref::ssd(a);

  Params p(s);
  // Buffers are the kernel's arguments in operand order: add them in order.
  std::string x = p.add(a.x), dt = p.add(a.dt), A = p.add(a.A), B = p.add(a.B),
              C = p.add(a.C), D = p.add(*a.D), z = p.add(*a.z),
              bias = p.add(*a.dtBias), init = p.add(*a.init);
  std::string types = p.ty(a.x) + ", " + p.ty(a.dt) + ", " + p.ty(a.A) + ", " +
                      p.ty(a.B) + ", " + p.ty(a.C) + ", " + p.ty(*a.D) + ", " +
                      p.ty(*a.z) + ", " + p.ty(*a.dtBias) + ", " + p.ty(*a.init);
  std::string op = "%y, %h = ssm.ssd " + x + ", " + dt + ", " + A + ", " + B +
                   ", " + C + " skip(" + D + ") gate(" + z + ") dt_bias(" +
                   bias + ") init(" + init + ")";
  if (a.seqIdx) {
    op += " seq_idx(" + p.addIndices({c.B, c.L}, *a.seqIdx) + ")";
    types += ", " + type({c.B, c.L}, "i64");
  }
  if (a.cuSeqlens) {
    op += " cu_seqlens(" + p.addIndices({4}, offsets) + ")";
    types += ", " + type({4}, "i64");
  }
  op += " dt_softplus dt_limit [0.0, 0.8]";
  if (c.chunk)
    op += " algorithm chunked {chunk_size = " + std::to_string(c.chunk) +
          " : i64}";
  std::string results = p.ty(expected.y) + ", " + p.ty(expected.finalState);
  std::string source = "func.func @f(" + p.text + ") -> (" + results +
                       ") {\n  " + op + " : (" + types + ") -> (" + results +
                       ")\n" + "  return %y, %h : " + results + "\n}\n";
  Buffer y = fromTensor(ref::Tensor(expected.y.shape), s);
  Buffer finalState = fromTensor(ref::Tensor(expected.finalState.shape), s);
  double bound = c.chunk ? tensorCoreTolerance(s) : kernelTolerance(s);
  if (!c.chunk) {
    ASSERT_EQ(emulate(source, "f_ssd", ceilDiv(rows * c.H * c.P, 4), 128,
                      p.pointers({&y, &finalState})),
              "");
    EXPECT_LT(relativeError(y, expected.y), bound);
    EXPECT_LT(relativeError(finalState, expected.finalState), bound);
    return;
  }
  // The chunked kernels run a block per (row, head, 16 head channels), or
  // 64 for wgmma; first walking each row's chunks in one kernel.
  mlir::ssm::GPUChip chip =
      c.wgmma ? mlir::ssm::GPUChip::sm_90a : mlir::ssm::GPUChip::sm_80;
  std::string kernel = c.wgmma ? "f_ssd_wgmma" : "f_ssd";
  int64_t tiles = c.P / (c.wgmma ? 64 : 16);
  ASSERT_EQ(emulate(source,
                    {{kernel, rows * c.H * tiles, 128,
                      p.pointers({&y, &finalState})}},
                    chip, mlir::ssm::SSDChunkOrder::Sequential),
            "");
  EXPECT_LT(relativeError(y, expected.y), bound);
  EXPECT_LT(relativeError(finalState, expected.finalState), bound);
  if (c.packing == Packing::CuSeqlens)
    return; // Packed sequences always walk their chunks.

  // Then spans of 256 steps in parallel: span states, state passing, span
  // outputs, through the per-span states and decays the host code would
  // allocate.
  int64_t spans = ceilDiv(c.L, 256);
  Buffer states =
      fromTensor(ref::Tensor({rows, spans, c.H, c.P, c.N}), Storage::F32);
  Buffer decays = fromTensor(ref::Tensor({rows, spans, c.H}), Storage::F32);
  Buffer y2 = fromTensor(ref::Tensor(expected.y.shape), s);
  Buffer final2 = fromTensor(ref::Tensor(expected.finalState.shape), s);
  std::vector<Buffer> &in = p.buffers; // x dt A B C D z bias init [seq_idx]
  // The span kernels read every input of the recurrence the ssd becomes.
  std::vector<Buffer *> chunkStates = {&states, &decays, &in[0], &in[1],
                                       &in[2],  &in[3],  &in[4], &in[5],
                                       &in[6],  &in[7]};
  std::vector<Buffer *> passing = {&states, &final2, &decays, &in[8]};
  std::vector<Buffer *> chunkOutputs = {&y2,    &states, &in[0], &in[1],
                                        &in[2], &in[3],  &in[4], &in[5],
                                        &in[6], &in[7]};
  if (c.packing == Packing::SeqIdx) {
    chunkStates.push_back(&in[9]);
    chunkOutputs.push_back(&in[9]);
  }
  int64_t chunkBlocks = rows * spans * c.H * tiles;
  ASSERT_EQ(emulate(source,
                    {{kernel + "_states", chunkBlocks, 128, chunkStates},
                     {"f_ssd_passing", ceilDiv(rows * c.H * c.P * c.N, 256),
                      256, passing},
                     {kernel + "_outputs", chunkBlocks, 128, chunkOutputs}},
                    chip, mlir::ssm::SSDChunkOrder::Parallel),
            "");
  EXPECT_LT(relativeError(y2, expected.y), bound);
  EXPECT_LT(relativeError(final2, expected.finalState), bound);
}

// N a multiple of 32 (every lane entry valid) or not (40: the second entry
// of lanes 8 and up is past N), groups, both packings, bf16.
INSTANTIATE_TEST_SUITE_P(
    Cases, EmulatedSSD,
    ::testing::Values(
        SSDCase{"plain", 2, 13, 3, 5, 3, 64, Packing::None, Storage::F32},
        SSDCase{"odd_n", 2, 9, 2, 3, 1, 40, Packing::None, Storage::F32},
        SSDCase{"seq_idx", 2, 11, 2, 4, 2, 32, Packing::SeqIdx, Storage::F32},
        SSDCase{"cu_seqlens", 1, 10, 2, 3, 1, 16, Packing::CuSeqlens,
                Storage::F32},
        SSDCase{"bf16", 2, 13, 3, 5, 3, 64, Packing::None, Storage::BF16},
        SSDCase{"f16", 1, 12, 2, 4, 1, 32, Packing::None, Storage::F16},
        // The chunked kernel: several chunks with a partial last one, two
        // channel tiles, groups, each chunk length, bf16 storage.
        SSDCase{"chunked", 2, 70, 2, 32, 1, 64, Packing::None, Storage::F32,
                32},
        SSDCase{"chunked_q64_groups", 1, 150, 4, 16, 2, 32, Packing::None,
                Storage::F32, 64, false, true},
        SSDCase{"chunked_n128", 1, 100, 1, 16, 1, 128, Packing::None,
                Storage::F32, 256},
        SSDCase{"chunked_bf16", 2, 45, 2, 16, 2, 64, Packing::None,
                Storage::BF16, 32},
        // The wgmma kernel (sm_90a): partial last chunk, groups, N from 32
        // to 128, two channel tiles, bf16.
        SSDCase{"wgmma", 2, 70, 2, 64, 1, 64, Packing::None, Storage::F32, 256,
                true},
        SSDCase{"wgmma_n128_groups", 1, 150, 4, 64, 2, 128, Packing::None,
                Storage::F32, 64, true, true},
        SSDCase{"wgmma_bf16_two_tiles", 1, 45, 2, 128, 2, 32, Packing::None,
                Storage::BF16, 128, true},
        // Packed sequences (4 steps, none, the rest) in both chunked
        // kernels: each sequence walks its own chunks from its own state.
        SSDCase{"chunked_cu_seqlens", 1, 150, 2, 16, 1, 32, Packing::CuSeqlens,
                Storage::F32, 64},
        SSDCase{"wgmma_cu_seqlens", 1, 150, 2, 64, 2, 64, Packing::CuSeqlens,
                Storage::F32, 64, true},
        // seq_idx in both chunked kernels: sequences change inside the
        // first chunk, at the second's first step and inside the second.
        SSDCase{"chunked_seq_idx", 2, 150, 2, 16, 1, 32, Packing::SeqIdx,
                Storage::F32, 64},
        SSDCase{"wgmma_seq_idx", 2, 130, 1, 64, 1, 64, Packing::SeqIdx,
                Storage::F32, 64, true},
        // An empty sequence: no chunk, the initial state passed on (the
        // chunk kernels of the parallel form get no blocks).
        SSDCase{"chunked_empty", 2, 0, 2, 16, 1, 32, Packing::None,
                Storage::F32, 64},
        // Several spans of 256 steps (the parallel form's unit), the last
        // partial, with slow decays so that the states passed between
        // chunks and spans weigh; with seq_idx, the first span cuts the
        // state (its decay is 0) and the others pass it on.
        SSDCase{"chunked_long", 1, 600, 2, 16, 1, 32, Packing::None,
                Storage::F32, 64, false, true},
        SSDCase{"chunked_long_seq_idx", 1, 600, 1, 16, 1, 32, Packing::SeqIdx,
                Storage::F32, 32, false, true},
        SSDCase{"wgmma_long", 1, 530, 1, 64, 1, 64, Packing::None, Storage::F32,
                64, true, true}),
    [](const ::testing::TestParamInfo<SSDCase> &info) {
      return std::string(info.param.name);
    });

} // namespace
