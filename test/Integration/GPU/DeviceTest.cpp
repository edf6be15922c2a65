//===- DeviceTest.cpp - The GPU kernels run on a GPU ----------------------===//
//
// Part of ssmc. The end-to-end check of the CUDA target: kernels that ssmc
// compiled ahead of time (`--target=cuda --emit=shared`, one library per
// architecture, see CMakeLists.txt) are called through their C interface on
// device buffers, and what they write is compared with the reference
// evaluator. The program links nothing heavier than libssm_runtime, which
// opens the CUDA driver at run time, so it and its kernel libraries can be
// copied to a GPU machine that has no LLVM (docs/gpu.md, "Running on a GPU").
//
// One program, three uses:
//   --print-mlir  prints the test kernels as one MLIR module; the build
//                 compiles that module with ssmc (the cases live only here);
//   (default)     runs the cases; without a usable CUDA device it prints why
//                 and exits with kSkipCode, which ctest reports as skipped;
//   --dry-run     runs everything up to the comparison, with the runtime's
//                 fake driver (SSM_CUDA_DRIVER=.../libssm-fake-cuda.so):
//                 checks that each entry point launches its kernels and that
//                 buffers go to the device and back, then skips the
//                 comparison, since the fake runs no PTX. Without --dry-run
//                 the fake fails every comparison: write-only outputs start
//                 as NaN and a NaN never passes.
//
// Tolerances are those of the CPU numerics tests: 2e-5 of the largest
// expected magnitude for f32 storage; for f16/bf16 one rounding of the
// result to the storage type on top of it.
//
//===----------------------------------------------------------------------===//

#include "../../Support/Compare.h"
#include "../../Support/DeviceKernels.h"
#include "../../Support/RandomTensor.h"
#include "../../Support/Storage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>

using namespace ssm;
using namespace ssm::test;

namespace {

/// The exit status that means "no GPU here" (ctest's SKIP_RETURN_CODE).
constexpr int kSkipCode = 77;

bool gDryRun = false;
/// "sm_80", "sm_90" or "sm_90a": the library variant for the device found
/// (or chosen with $SSM_GPU_ARCH).
std::string gArch;
/// Kernels launched since the last clear (only recorded under the fake).
std::vector<std::string> gLaunched;

//===----------------------------------------------------------------------===//
// A test kernel: its MLIR, operands and expected values
//===----------------------------------------------------------------------===//

/// One argument of an entry point.
struct Operand {
  ref::Tensor value;          // A float operand, already rounded to storage.
  std::vector<int64_t> ints;  // An i64 operand (seq_idx, cu_seqlens).
  Storage storage = Storage::F32;
  bool isIndex = false;
  /// Written in place by the call (a state, a y buffer): compared after it.
  std::optional<ref::Tensor> expected;
  /// Write-only: uploaded as NaN, so an untouched buffer fails.
  bool poison = false;
};

/// A result the entry point returns in a device buffer it allocated.
struct Result {
  ref::Tensor expected;
  Storage storage;
  /// Computed by the chunked SSD on tensor cores (f16 operands).
  bool tensorCores = false;
};

/// An entry point of a kernel library and what calling it must produce.
struct Kernel {
  std::string library;  // libNAME.<arch>.so next to this program
  std::string function; // called as _mlir_ciface_<function>
  std::vector<std::string> kernels; // the launches it makes
  std::vector<Operand> operands;
  std::vector<Result> results;
  std::string mlir; // its source (empty for the examples)
};

/// Builds a generated test kernel: operands in parameter order, with their
/// SSA names and types for the function's text.
class Builder {
public:
  Builder(Kernel &kernel, Storage s) : kernel(kernel), storage(s) {}

  std::string ty(const std::vector<int64_t> &shape) const {
    return type(shape, elementName(storage));
  }
  /// A read-only float operand.
  std::string in(const ref::Tensor &t) {
    Operand o;
    o.value = t;
    return add(std::move(o), ty(t.shape));
  }
  /// An i64 operand.
  std::string indices(std::vector<int64_t> shape, std::vector<int64_t> v) {
    Operand o;
    o.value = ref::Tensor(shape);
    o.ints = std::move(v);
    o.isIndex = true;
    return add(std::move(o), type(shape, "i64"));
  }
  /// An operand the call overwrites with `expected` (in place when `value`
  /// is an input, like a state; write-only when `poison`).
  std::string inout(const ref::Tensor &value, const ref::Tensor &expected,
                    bool poison) {
    Operand o;
    o.value = value;
    o.expected = expected;
    o.poison = poison;
    return add(std::move(o), ty(value.shape));
  }
  std::string params() const { return text; }

private:
  std::string add(Operand o, const std::string &type) {
    o.storage = storage;
    kernel.operands.push_back(std::move(o));
    std::string name = "%a" + std::to_string(kernel.operands.size() - 1);
    text += (text.empty() ? "" : ", ") + name + ": " + type;
    return name;
  }
  Kernel &kernel;
  Storage storage;
  std::string text;
};

/// `function` returning `results` (two tensors) from the op text `op`.
std::string twoResultFunction(const std::string &function, const Builder &b,
                              const std::string &op, const std::string &types,
                              const std::string &r0, const std::string &r1) {
  std::string results = r0 + ", " + r1;
  return "func.func @" + function + "(" + b.params() + ") -> (" + results +
         ") {\n  %r0, %r1 = " + op + " : (" + types + ") -> (" + results +
         ")\n  return %r0, %r1 : " + results + "\n}\n";
}

//===----------------------------------------------------------------------===//
// The cases. Each list is one test suite; add a line to add a case.
//===----------------------------------------------------------------------===//

/// ssm.state_update. Mamba-1 when P == 0 (state [B, H, N]), else Mamba-2
/// (state [B, H, P, N]).
struct UpdateCase {
  const char *name;
  int64_t B, H, P, N, G;
  Storage storage;
  enum { NoD, DPerHead, DPerChannel } d;
  bool z, bias, softplus, limit;
};

// N = 64, 128: the register path (N a multiple of 32, at most 256); 5, 40:
// the loop path; row counts leaving the last block of 4 warps partly idle.
const UpdateCase kUpdateCases[] = {
    {"m2_f32_all", 3, 6, 3, 64, 3, Storage::F32, UpdateCase::DPerChannel, true, true, true, true},
    {"m2_f32_n128_bare", 2, 2, 5, 128, 1, Storage::F32, UpdateCase::NoD, false, false, false, false},
    {"m2_f32_loop", 2, 4, 3, 40, 2, Storage::F32, UpdateCase::DPerHead, true, false, true, true},
    {"m2_bf16_all", 3, 6, 3, 64, 3, Storage::BF16, UpdateCase::DPerChannel, true, true, true, true},
    {"m2_f16_dz", 2, 4, 3, 128, 1, Storage::F16, UpdateCase::DPerHead, true, false, false, false},
    {"m1_f32_all", 3, 6, 0, 32, 3, Storage::F32, UpdateCase::DPerHead, true, true, true, true},
    {"m1_f32_loop_bare", 2, 17, 0, 5, 1, Storage::F32, UpdateCase::NoD, false, false, false, false},
    {"m1_f16_all", 2, 17, 0, 16, 1, Storage::F16, UpdateCase::DPerHead, true, true, true, true},
    {"m1_bf16_z", 2, 8, 0, 16, 1, Storage::BF16, UpdateCase::NoD, true, false, true, false},
};

Kernel stateUpdateKernel(const UpdateCase &c) {
  Storage s = c.storage;
  bool mamba2 = c.P > 0;
  std::mt19937_64 rng(c.H * 7 + c.N + c.B);
  ref::StateUpdateArgs a = randomStateUpdateOperands(
      mamba2, c.d == UpdateCase::DPerChannel, c.B, c.H, c.P, c.N, c.G, rng, s);
  if (c.d == UpdateCase::NoD)
    a.D.reset();
  if (!c.z)
    a.z.reset();
  if (!c.bias)
    a.dtBias.reset();
  a.dtSoftplus = c.softplus;
  if (!c.limit)
    a.dtLimit.reset();
  ref::StateUpdateResult expected = ref::stateUpdate(a);

  Kernel k;
  k.library = "ssm_gpu_test_kernels";
  k.function = std::string("update_") + c.name;
  k.kernels = {k.function + "_state_update"};
  Builder b(k, s);
  std::string ins = b.in(a.x) + ", " + b.in(a.dt) + ", " + b.in(a.A) + ", " +
                    b.in(a.B) + ", " + b.in(a.C);
  std::string insTypes = b.ty(a.x.shape) + ", " + b.ty(a.dt.shape) + ", " +
                         b.ty(a.A.shape) + ", " + b.ty(a.B.shape) + ", " +
                         b.ty(a.C.shape);
  std::string op = "ssm.state_update ins(" + ins + " : " + insTypes + ")";
  auto optional = [&](const char *keyword,
                      const std::optional<ref::Tensor> &t) {
    if (t)
      op += std::string(" ") + keyword + "(" + b.in(*t) + " : " +
            b.ty(t->shape) + ")";
  };
  optional("skip", a.D);
  optional("gate", a.z);
  optional("dt_bias", a.dtBias);
  if (c.softplus)
    op += " dt_softplus";
  if (c.limit)
    op += " dt_limit [0.01, 0.5]";
  std::string state = b.inout(a.state, expected.newState, false);
  std::string y = b.inout(ref::Tensor(a.x.shape), expected.y, true);
  std::string outTypes = b.ty(a.state.shape) + ", " + b.ty(a.x.shape);
  op += " outs(" + state + ", " + y + " : " + outTypes + ")";
  k.mlir = "func.func @" + k.function + "(" + b.params() + ") -> (" +
           outTypes + ") {\n  %n, %o = " + op + "\n  return %n, %o : " +
           outTypes + "\n}\n";
  return k;
}

/// ssm.causal_conv1d: x [B, C, L], weight [C, W].
struct ConvCase {
  const char *name;
  int64_t B, C, L, W;
  bool bias, state, silu;
  Storage storage;
};

// Widths 2 to 4; L < W - 1 (the final state then comes partly from the
// initial one, or from zeros without one); channel counts leaving the last
// block of 256 threads partly idle.
const ConvCase kConvCases[] = {
    {"w4_all", 2, 37, 19, 4, true, true, true, Storage::F32},
    {"w2_bare", 1, 8, 9, 2, false, false, false, Storage::F32},
    {"w3_state_silu", 2, 9, 11, 3, false, true, true, Storage::F32},
    {"w4_short_state", 3, 5, 2, 4, true, true, false, Storage::F32},
    {"w4_short_nostate", 1, 4, 1, 4, true, false, true, Storage::F32},
    {"w4_bf16_all", 2, 37, 19, 4, true, true, true, Storage::BF16},
    {"w3_f16_bias_silu", 2, 300, 7, 3, true, false, true, Storage::F16},
};

Kernel convKernel(const ConvCase &c) {
  Storage s = c.storage;
  std::mt19937_64 rng(c.C * 3 + c.L + c.W);
  ref::CausalConv1dArgs a = randomConvOperands(c.B, c.C, c.L, c.W, c.bias, c.state,
                                                 c.silu, rng, s);
  ref::CausalConv1dResult expected = ref::causalConv1d(a);

  Kernel k;
  k.library = "ssm_gpu_test_kernels";
  k.function = std::string("conv_") + c.name;
  k.kernels = {k.function + "_causal_conv1d"};
  Builder b(k, s);
  std::string op = "ssm.causal_conv1d " + b.in(a.x) + ", " + b.in(a.weight);
  std::string types = b.ty(a.x.shape) + ", " + b.ty(a.weight.shape);
  if (a.bias) {
    op += " bias(" + b.in(*a.bias) + ")";
    types += ", " + b.ty(a.bias->shape);
  }
  if (a.initState) {
    op += " init_state(" + b.in(*a.initState) + ")";
    types += ", " + b.ty(a.initState->shape);
  }
  if (c.silu)
    op += " silu";
  k.results = {{expected.out, s}, {expected.finalState, s}};
  k.mlir = twoResultFunction(k.function, b, op, types,
                             b.ty(expected.out.shape),
                             b.ty(expected.finalState.shape));
  return k;
}

/// ssm.selective_scan (mamba_ssm layout): u [B, D, L]; B, C [B, G, N, L]
/// when selective, else [D, N]. Within the lowering's limits (docs/gpu.md):
/// N <= 32, Mamba discretization.
struct ScanCase {
  const char *name;
  int64_t B, D, L, N, G;
  bool selective, optional, init;
  Storage storage;
};

const ScanCase kScanCases[] = {
    {"selective_groups", 2, 6, 23, 16, 3, true, true, true, Storage::F32},
    {"fixed_n32", 1, 5, 9, 32, 1, false, false, true, Storage::F32},
    {"many_channels", 2, 130, 7, 4, 1, true, true, false, Storage::F32},
    {"bf16", 2, 6, 23, 16, 3, true, true, true, Storage::BF16},
    {"f16_bare", 1, 40, 17, 16, 1, true, false, false, Storage::F16},
};

Kernel scanKernel(const ScanCase &c) {
  Storage s = c.storage;
  std::mt19937_64 rng(c.D * 11 + c.L + c.N);
  ref::SelectiveScanArgs a;
  a.u = stored({c.B, c.D, c.L}, rng, s);
  // Without softplus a delta must be positive.
  a.delta = c.optional ? stored({c.B, c.D, c.L}, rng, s, -2.0, 0.5)
                       : stored({c.B, c.D, c.L}, rng, s, 0.01, 0.5);
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
  ref::SelectiveScanResult expected = ref::selectiveScan(a);

  Kernel k;
  k.library = "ssm_gpu_test_kernels";
  k.function = std::string("scan_") + c.name;
  k.kernels = {k.function + "_selective_scan"};
  Builder b(k, s);
  std::string op = "ssm.selective_scan " + b.in(a.u) + ", " + b.in(a.delta) +
                   ", " + b.in(a.A) + ", " + b.in(a.B) + ", " + b.in(a.C);
  std::string types = b.ty(a.u.shape) + ", " + b.ty(a.delta.shape) + ", " +
                      b.ty(a.A.shape) + ", " + b.ty(a.B.shape) + ", " +
                      b.ty(a.C.shape);
  auto optional = [&](const char *keyword,
                      const std::optional<ref::Tensor> &t) {
    if (!t)
      return;
    op += std::string(" ") + keyword + "(" + b.in(*t) + ")";
    types += ", " + b.ty(t->shape);
  };
  optional("skip", a.D);
  optional("gate", a.z);
  optional("delta_bias", a.deltaBias);
  optional("init", a.init);
  if (a.deltaSoftplus)
    op += " delta_softplus";
  k.results = {{expected.y, s}, {expected.finalState, s}};
  k.mlir = twoResultFunction(k.function, b, op, types, b.ty(expected.y.shape),
                             b.ty(expected.finalState.shape));
  return k;
}

/// ssm.ssd: x [B, L, H, P]; B, C [B, L, G, N], in the recurrent or the
/// chunked (tensor-core) kernel (docs/gpu.md).
enum class Packing { None, SeqIdx, CuSeqlens };

struct SSDCase {
  const char *name;
  int64_t B, L, H, P, G, N;
  Packing packing;
  bool options; // D, z, dt bias, softplus, dt_limit, init
  Storage storage;
  /// chunk_size of an `algorithm chunked` op (the tensor-core kernel), or 0
  /// for `algorithm recurrent`.
  int64_t chunk = 0;
  /// A in [-0.02, -0.005], so that the states passed between chunks and
  /// spans of 256 steps weigh in y (with the usual A, e^-80 is left).
  bool slowDecay = false;
};

const SSDCase kSSDCases[] = {
    {"plain", 2, 13, 3, 5, 3, 64, Packing::None, true, Storage::F32},
    {"odd_n", 2, 9, 2, 3, 1, 40, Packing::None, true, Storage::F32},
    {"bare_n128", 1, 17, 2, 8, 1, 128, Packing::None, false, Storage::F32},
    {"seq_idx", 2, 11, 2, 4, 2, 32, Packing::SeqIdx, true, Storage::F32},
    {"cu_seqlens", 1, 10, 2, 3, 1, 16, Packing::CuSeqlens, true, Storage::F32},
    {"bf16", 2, 13, 3, 5, 3, 64, Packing::None, true, Storage::BF16},
    {"f16", 1, 12, 2, 4, 1, 32, Packing::None, true, Storage::F16},
    // The chunked kernel on tensor cores: partial last chunks, two channel
    // tiles, groups, both chunk lengths, bf16 storage.
    {"chunked", 2, 70, 2, 32, 1, 64, Packing::None, true, Storage::F32, 32},
    {"chunked_q64_groups", 1, 150, 4, 16, 2, 32, Packing::None, true,
     Storage::F32, 64},
    {"chunked_n128", 1, 300, 2, 64, 1, 128, Packing::None, true, Storage::F32,
     256},
    {"chunked_bf16", 2, 45, 2, 16, 2, 64, Packing::None, true, Storage::BF16,
     32},
    // Shapes of the wgmma kernel (P a multiple of 64) for sm_90a; the
    // mma.sync kernel elsewhere. Two channel tiles, groups, bf16, N = 256.
    {"wgmma_n64", 2, 200, 2, 64, 1, 64, Packing::None, true, Storage::F32, 256},
    {"wgmma_bf16_p128", 1, 150, 2, 128, 2, 128, Packing::None, true,
     Storage::BF16, 64},
    {"wgmma_n256", 1, 100, 1, 64, 1, 256, Packing::None, false, Storage::F32,
     256},
    // Packed sequences (4 steps, none, 146) in both chunked kernels.
    {"chunked_cu_seqlens", 1, 150, 2, 16, 1, 32, Packing::CuSeqlens, true,
     Storage::F32, 64},
    {"wgmma_cu_seqlens", 1, 150, 2, 64, 2, 64, Packing::CuSeqlens, true,
     Storage::F32, 64},
    // seq_idx: sequences change inside the first chunk, at the second's
    // first step and inside the second.
    {"chunked_seq_idx", 2, 150, 2, 16, 1, 32, Packing::SeqIdx, true,
     Storage::F32, 64},
    {"wgmma_seq_idx", 2, 130, 1, 64, 1, 64, Packing::SeqIdx, true, Storage::F32,
     64},
    // Grids of 264 blocks or more walk their chunks in one kernel (every
    // other chunked case runs them in parallel): mma.sync, and wgmma on
    // sm_90a.
    {"chunked_walk", 2, 80, 136, 16, 1, 32, Packing::None, true, Storage::F32,
     64},
    {"wgmma_walk", 2, 80, 132, 64, 1, 64, Packing::None, true, Storage::F32,
     64},
    // Several spans of 256 steps (the parallel form's unit), slow decays.
    {"chunked_long", 1, 600, 2, 16, 1, 32, Packing::None, true, Storage::F32,
     64, true},
    {"chunked_long_seq_idx", 1, 600, 1, 16, 1, 32, Packing::SeqIdx, true,
     Storage::F32, 32, true},
    {"wgmma_long", 1, 530, 1, 64, 1, 64, Packing::None, true, Storage::F32, 64,
     true},
};

/// The kernels a chunked ssd of `function` launches, by the rules of
/// LowerSSDChunked.cpp: for sm_90a the wgmma kernel where the op fits it
/// (P a multiple of 64, N of 16 and at most 256, chunks of 64 allowed),
/// else the mma.sync one; spans of 256 steps in parallel (states,
/// passing, outputs) unless the sequences are packed, the static length
/// is one span, or the static batch x heads x channel tiles make 264
/// blocks or more. `batch` and `length` are 0 when dynamic.
std::vector<std::string> chunkedSSDKernels(const std::string &function,
                                           int64_t batch, int64_t length,
                                           int64_t h, int64_t p, int64_t n,
                                           int64_t chunk, bool packed) {
  bool wgmma = gArch == "sm_90a" && p % 64 == 0 && n % 16 == 0 && n <= 256 &&
               chunk >= 64;
  int64_t channels = wgmma ? 64 : 16;
  bool parallel = !packed && (length == 0 || length > 256) &&
                  (batch == 0 || batch * h * (p / channels) < 264);
  std::string walk = function + (wgmma ? "_ssd_wgmma" : "_ssd");
  if (!parallel)
    return {walk};
  return {walk + "_states", function + "_ssd_passing", walk + "_outputs"};
}

Kernel ssdKernel(const SSDCase &c) {
  Storage s = c.storage;
  std::mt19937_64 rng(c.H * 13 + c.L + c.N);
  ref::SSDArgs a =
      randomSSDOperands(c.B, c.L, c.H, c.P, c.G, c.N, /*perChannelD=*/c.P > 4, rng);
  if (c.slowDecay)
    a.A = stored({c.H}, rng, Storage::F32, -0.02, -0.005);
  for (ref::Tensor *t : {&a.x, &a.dt, &a.A, &a.B, &a.C, &*a.D})
    *t = roundTo(*t, s);
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
  if (c.options) {
    a.z = stored({c.B, c.L, c.H, c.P}, rng, s);
    a.dtBias = stored({c.H}, rng, s, -0.5, 0.5);
    a.dtSoftplus = true;
    a.dtLimit = std::make_pair(0.0, 0.8);
    a.init = stored({rows, c.H, c.P, c.N}, rng, s);
  } else {
    // Without softplus a step must stay positive.
    a.D.reset();
    a.dt = stored({c.B, c.L, c.H}, rng, s, 0.01, 0.5);
  }
  ref::SSDResult expected = ref::ssd(a);

  Kernel k;
  k.library = "ssm_gpu_test_kernels";
  k.function = std::string("ssd_") + c.name;
  k.kernels = c.chunk
                  ? chunkedSSDKernels(k.function, c.B, c.L, c.H, c.P, c.N,
                                      c.chunk, c.packing == Packing::CuSeqlens)
                  : std::vector<std::string>{k.function + "_ssd"};
  Builder b(k, s);
  std::string op = "ssm.ssd " + b.in(a.x) + ", " + b.in(a.dt) + ", " +
                   b.in(a.A) + ", " + b.in(a.B) + ", " + b.in(a.C);
  std::string types = b.ty(a.x.shape) + ", " + b.ty(a.dt.shape) + ", " +
                      b.ty(a.A.shape) + ", " + b.ty(a.B.shape) + ", " +
                      b.ty(a.C.shape);
  auto optional = [&](const char *keyword,
                      const std::optional<ref::Tensor> &t) {
    if (!t)
      return;
    op += std::string(" ") + keyword + "(" + b.in(*t) + ")";
    types += ", " + b.ty(t->shape);
  };
  optional("skip", a.D);
  optional("gate", a.z);
  optional("dt_bias", a.dtBias);
  optional("init", a.init);
  if (a.seqIdx) {
    op += " seq_idx(" + b.indices({c.B, c.L}, *a.seqIdx) + ")";
    types += ", " + type({c.B, c.L}, "i64");
  }
  if (a.cuSeqlens) {
    op += " cu_seqlens(" + b.indices({4}, offsets) + ")";
    types += ", " + type({4}, "i64");
  }
  if (a.dtSoftplus)
    op += " dt_softplus";
  if (a.dtLimit)
    op += " dt_limit [0.0, 0.8]";
  op += c.chunk ? " algorithm chunked {chunk_size = " + std::to_string(c.chunk) +
                      " : i64}"
                : std::string(" algorithm recurrent");
  bool tensorCores = c.chunk != 0;
  k.results = {{expected.y, s, tensorCores}, {expected.finalState, s, tensorCores}};
  k.mlir = twoResultFunction(k.function, b, op, types, b.ty(expected.y.shape),
                             b.ty(expected.finalState.shape));
  return k;
}

/// Two chained convolutions: the first one's output is a device temporary
/// that the call frees (ssm-free-device-temporaries); the second is checked.
Kernel chainKernel() {
  const int64_t B = 2, C = 96, L = 40, W = 4;
  Storage s = Storage::F32;
  std::mt19937_64 rng(5);
  ref::CausalConv1dArgs first = randomConvOperands(B, C, L, W, true, false,
                                                   true, rng, s);
  ref::CausalConv1dArgs second = first;
  second.x = ref::causalConv1d(first).out;
  second.bias.reset();
  second.silu = false;
  ref::CausalConv1dResult expected = ref::causalConv1d(second);

  Kernel k;
  k.library = "ssm_gpu_test_kernels";
  k.function = "chain_conv";
  k.kernels = {"chain_conv_causal_conv1d", "chain_conv_causal_conv1d_0"};
  Builder b(k, s);
  std::string x = b.in(first.x), w = b.in(first.weight), bias = b.in(*first.bias);
  std::string t3 = b.ty({B, C, L}), tw = b.ty({C, W}), tb = b.ty({C});
  k.results = {{expected.out, s}};
  k.mlir = "func.func @chain_conv(" + b.params() + ") -> " + t3 + " {\n" +
           "  %a = ssm.causal_conv1d " + x + ", " + w + " bias(" + bias +
           ") silu : (" + t3 + ", " + tw + ", " + tb + ") -> " + t3 + "\n" +
           "  %r = ssm.causal_conv1d %a, " + w + " : (" + t3 + ", " + tw +
           ") -> " + t3 + "\n  return %r : " + t3 + "\n}\n";
  return k;
}

/// All generated kernels, as one module (--print-mlir).
std::string testModule() {
  std::string module =
      "// Generated by ssm-gpu-device-tests --print-mlir: the GPU test "
      "kernels.\n";
  for (const UpdateCase &c : kUpdateCases)
    module += stateUpdateKernel(c).mlir;
  for (const ConvCase &c : kConvCases)
    module += convKernel(c).mlir;
  for (const ScanCase &c : kScanCases)
    module += scanKernel(c).mlir;
  for (const SSDCase &c : kSSDCases)
    module += ssdKernel(c).mlir;
  module += chainKernel().mlir;
  return module;
}

//===----------------------------------------------------------------------===//
// The examples (examples/*.mlir), at their model's shapes
//===----------------------------------------------------------------------===//

constexpr int64_t kM1Channels = 1536, kM1State = 16;

/// mamba1_scan.mlir @scan: B = 2, L = 37.
Kernel mamba1Scan() {
  const int64_t B = 2, D = kM1Channels, L = 37, N = kM1State;
  std::mt19937_64 rng(1);
  Storage s = Storage::F32;
  ref::SelectiveScanArgs a;
  a.u = stored({B, D, L}, rng, s);
  a.delta = stored({B, D, L}, rng, s, -2.0, 0.5);
  a.A = stored({D, N}, rng, s, -1.5, -0.1);
  a.B = stored({B, 1, N, L}, rng, s);
  a.C = stored({B, 1, N, L}, rng, s);
  a.D = stored({D}, rng, s);
  a.z = stored({B, D, L}, rng, s);
  a.deltaBias = stored({D}, rng, s, -0.5, 0.5);
  a.deltaSoftplus = true;
  ref::SelectiveScanResult expected = ref::selectiveScan(a);
  Kernel k{"mamba1_scan", "scan", {"scan_selective_scan"}, {}, {}, ""};
  Builder b(k, s);
  for (const ref::Tensor *t : {&a.u, &a.delta, &a.A, &a.B, &a.C, &*a.D,
                               &*a.z, &*a.deltaBias})
    b.in(*t);
  k.results = {{expected.y, s}, {expected.finalState, s}};
  return k;
}

/// mamba1_scan.mlir @step: B = 3, the state updated in place.
Kernel mamba1Step() {
  const int64_t B = 3, D = kM1Channels, N = kM1State;
  std::mt19937_64 rng(2);
  Storage s = Storage::F32;
  ref::StateUpdateArgs a;
  a.state = stored({B, D, N}, rng, s);
  a.x = stored({B, D}, rng, s);
  a.dt = stored({B, D}, rng, s, -2.0, 0.5);
  a.A = stored({D, N}, rng, s, -1.5, -0.1);
  a.B = stored({B, 1, N}, rng, s);
  a.C = stored({B, 1, N}, rng, s);
  a.D = stored({D}, rng, s);
  a.z = stored({B, D}, rng, s);
  a.dtBias = stored({D}, rng, s, -0.5, 0.5);
  a.dtSoftplus = true;
  ref::StateUpdateResult expected = ref::stateUpdate(a);
  Kernel k{"mamba1_scan", "step", {"step_state_update"}, {}, {}, ""};
  Builder b(k, s);
  for (const ref::Tensor *t :
       {&a.x, &a.dt, &a.A, &a.B, &a.C, &*a.D, &*a.z, &*a.dtBias})
    b.in(*t);
  b.inout(a.state, expected.newState, false);
  b.inout(ref::Tensor({B, D}), expected.y, true);
  return k;
}

constexpr int64_t kM2Heads = 24, kM2HeadDim = 64, kM2State = 128,
                  kM2ConvChannels = 1792, kM2Width = 4;

/// mamba2_block.mlir @prefill: B = 2, L = 21; the convolution and the SSD
/// take independent inputs and are checked separately.
Kernel mamba2Prefill() {
  const int64_t B = 2, L = 21, H = kM2Heads, P = kM2HeadDim, N = kM2State;
  std::mt19937_64 rng(3);
  Storage s = Storage::F32;
  ref::CausalConv1dArgs conv;
  conv.x = stored({B, kM2ConvChannels, L}, rng, s);
  conv.weight = stored({kM2ConvChannels, kM2Width}, rng, s);
  conv.bias = stored({kM2ConvChannels}, rng, s);
  conv.silu = true;
  ref::CausalConv1dResult convExpected = ref::causalConv1d(conv);
  ref::SSDArgs a = randomSSDOperands(B, L, H, P, 1, N, false, rng);
  a.dtBias = stored({H}, rng, s, -0.5, 0.5);
  a.z = stored({B, L, H, P}, rng, s);
  a.dtSoftplus = true;
  for (ref::Tensor *t : {&a.x, &a.dt, &a.A, &a.B, &a.C, &*a.D})
    *t = roundTo(*t, s);
  ref::SSDResult expected = ref::ssd(a);
  Kernel k{"mamba2_block", "prefill", {"prefill_causal_conv1d"}, {}, {}, ""};
  // The SSD's batch and length are dynamic, its chunk_size the default.
  for (std::string &name :
       chunkedSSDKernels("prefill", 0, 0, H, P, N, 256, false))
    k.kernels.push_back(name);
  Builder b(k, s);
  for (const ref::Tensor *t :
       {&conv.x, &conv.weight, &*conv.bias, &a.x, &a.dt, &a.A, &a.B, &a.C,
        &*a.D, &*a.dtBias, &*a.z})
    b.in(*t);
  // The example's SSD has a dynamic length: it takes the chunked kernel.
  k.results = {{convExpected.out, s},
               {convExpected.finalState, s},
               {expected.y, s, true},
               {expected.finalState, s, true}};
  return k;
}

/// mamba2_block.mlir @decode: B = 3, the state updated in place.
Kernel mamba2Decode() {
  const int64_t B = 3, H = kM2Heads, P = kM2HeadDim, N = kM2State;
  std::mt19937_64 rng(4);
  Storage s = Storage::F32;
  ref::StateUpdateArgs a;
  a.state = stored({B, H, P, N}, rng, s);
  a.x = stored({B, H, P}, rng, s);
  a.dt = stored({B, H}, rng, s, -2.0, 0.5);
  a.A = stored({H}, rng, s, -1.5, -0.1);
  a.B = stored({B, 1, N}, rng, s);
  a.C = stored({B, 1, N}, rng, s);
  a.D = stored({H}, rng, s);
  a.dtBias = stored({H}, rng, s, -0.5, 0.5);
  a.z = stored({B, H, P}, rng, s);
  a.dtSoftplus = true;
  ref::StateUpdateResult expected = ref::stateUpdate(a);
  Kernel k{"mamba2_block", "decode", {"decode_state_update"}, {}, {}, ""};
  Builder b(k, s);
  for (const ref::Tensor *t :
       {&a.x, &a.dt, &a.A, &a.B, &a.C, &*a.D, &*a.dtBias, &*a.z})
    b.in(*t);
  b.inout(a.state, expected.newState, false);
  b.inout(ref::Tensor({B, H, P}), expected.y, true);
  return k;
}

//===----------------------------------------------------------------------===//
// Running a kernel on the device
//===----------------------------------------------------------------------===//

std::vector<unsigned char> encode(const Operand &o) {
  if (o.isIndex) {
    std::vector<unsigned char> bytes(o.ints.size() * sizeof(int64_t));
    std::memcpy(bytes.data(), o.ints.data(), bytes.size());
    return bytes;
  }
  size_t size = elementSize(o.storage);
  std::vector<unsigned char> bytes(o.value.data.size() * size);
  for (size_t i = 0; i < o.value.data.size(); ++i) {
    double v = o.poison ? std::numeric_limits<double>::quiet_NaN()
                        : o.value.data[i];
    unsigned char *p = bytes.data() + i * size;
    float f = static_cast<float>(v);
    uint16_t h;
    switch (o.storage) {
    case Storage::F32:
      std::memcpy(p, &f, 4);
      break;
    case Storage::F64:
      std::memcpy(p, &v, 8);
      break;
    case Storage::F16:
      h = doubleToF16(v);
      std::memcpy(p, &h, 2);
      break;
    case Storage::BF16:
      h = floatToBF16(f);
      std::memcpy(p, &h, 2);
      break;
    }
  }
  return bytes;
}

std::vector<double> decode(const std::vector<unsigned char> &bytes,
                           Storage s) {
  size_t size = elementSize(s);
  std::vector<double> values(bytes.size() / size);
  for (size_t i = 0; i < values.size(); ++i) {
    const unsigned char *p = bytes.data() + i * size;
    float f;
    double d;
    uint16_t h;
    switch (s) {
    case Storage::F32:
      std::memcpy(&f, p, 4);
      values[i] = f;
      break;
    case Storage::F64:
      std::memcpy(&d, p, 8);
      values[i] = d;
      break;
    case Storage::F16:
      std::memcpy(&h, p, 2);
      values[i] = f16ToDouble(h);
      break;
    case Storage::BF16:
      std::memcpy(&h, p, 2);
      values[i] = bf16ToFloat(h);
      break;
    }
  }
  return values;
}

/// max |got - expected| / max |expected|; infinite when only one is NaN.
double relativeError(const std::vector<double> &got, const ref::Tensor &want) {
  double err = 0.0, scale = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = ssm::test::gap(err, got[i], want.data[i]);
    scale = std::max(scale, std::fabs(want.data[i]));
  }
  return err / std::max(scale, 1e-30);
}

/// A device allocation freed on scope exit.
struct DeviceBuffer {
  ssm_cuda_ptr_t ptr = 0;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer(DeviceBuffer &&o) noexcept : ptr(o.ptr) { o.ptr = 0; }
  ~DeviceBuffer() { ssm_cuda_free(0, ptr); }
};

void *library(const std::string &name) {
  static std::map<std::string, void *> loaded;
  void *&handle = loaded[name];
  std::string error;
  if (!handle && !(handle = openKernelLibrary(name, gArch, error)))
    ADD_FAILURE() << error;
  return handle;
}

std::vector<unsigned char> copyBack(ssm_cuda_ptr_t ptr, size_t bytes) {
  std::vector<unsigned char> host(bytes);
  EXPECT_EQ(ssm_cuda_copy_to_host(0, host.data(), ptr, bytes), SSM_OK)
      << ssm_last_error();
  return host;
}

size_t byteSize(const std::vector<int64_t> &shape, Storage s) {
  size_t n = elementSize(s);
  for (int64_t d : shape)
    n *= static_cast<size_t>(d);
  return n;
}

void checkValues(const char *what, size_t index,
                 const std::vector<unsigned char> &bytes,
                 const ref::Tensor &expected, Storage s, bool tensorCores = false) {
  double error = relativeError(decode(bytes, s), expected);
  EXPECT_LT(error, tensorCores ? tensorCoreTolerance(s) : kernelTolerance(s))
      << what << " " << index << " (" << elementName(s)
      << "): relative error " << error;
}

/// Uploads the operands, calls the entry point, copies what it wrote back
/// and compares it with the reference (or, in a dry run, checks the
/// launches and stops before comparing).
void run(const Kernel &k) {
  void *handle = library(k.library);
  ASSERT_NE(handle, nullptr);
  std::string symbol = "_mlir_ciface_" + k.function;
  void *function = dlsym(handle, symbol.c_str());
  ASSERT_NE(function, nullptr) << symbol << ": " << dlerror();

  std::vector<DeviceBuffer> buffers(k.operands.size());
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < k.operands.size(); ++i) {
    const Operand &o = k.operands[i];
    std::vector<unsigned char> bytes = encode(o);
    ASSERT_EQ(ssm_cuda_alloc(0, bytes.size(), &buffers[i].ptr), SSM_OK)
        << ssm_last_error();
    ASSERT_EQ(ssm_cuda_copy_to_device(0, buffers[i].ptr, bytes.data(),
                                      bytes.size()),
              SSM_OK)
        << ssm_last_error();
    descriptors.push_back(descriptor(buffers[i].ptr, o.value.shape));
  }
  // Results come back in one struct of descriptors, passed first.
  size_t resultWords = 0;
  for (const Result &r : k.results)
    resultWords += 3 + 2 * r.expected.shape.size();
  std::vector<int64_t> results(resultWords, 0);
  std::vector<void *> args;
  if (!k.results.empty())
    args.push_back(results.data());
  for (std::vector<int64_t> &d : descriptors)
    args.push_back(d.data());

  gLaunched.clear();
  ASSERT_TRUE(callEntryPoint(function, args)) << "raise kMaxEntryPointArgs";
  ASSERT_EQ(ssm_cuda_synchronize(0), SSM_OK) << ssm_last_error();

  std::vector<std::vector<unsigned char>> written, returned;
  for (size_t i = 0; i < k.operands.size(); ++i)
    if (k.operands[i].expected)
      written.push_back(copyBack(buffers[i].ptr,
                                 byteSize(k.operands[i].value.shape,
                                          k.operands[i].storage)));
  const int64_t *word = results.data();
  for (const Result &r : k.results) {
    size_t rank = r.expected.shape.size();
    DeviceBuffer allocated;
    allocated.ptr = static_cast<ssm_cuda_ptr_t>(word[0]);
    std::vector<int64_t> sizes(word + 3, word + 3 + rank);
    EXPECT_EQ(sizes, r.expected.shape) << "result " << returned.size();
    EXPECT_EQ(word[2], 0) << "result offset";
    size_t bytes = byteSize(r.expected.shape, r.storage);
    returned.push_back(bytes ? copyBack(static_cast<ssm_cuda_ptr_t>(word[1]),
                                        bytes)
                             : std::vector<unsigned char>());
    word += 3 + 2 * rank;
  }

  if (gDryRun) {
    for (const std::string &kernel : k.kernels)
      EXPECT_NE(std::find(gLaunched.begin(), gLaunched.end(), kernel),
                gLaunched.end())
          << "kernel " << kernel << " was not launched";
    EXPECT_EQ(gLaunched.size(), k.kernels.size());
    GTEST_SKIP() << "dry run: " << gLaunched.size() << " launch(es), "
                 << k.operands.size() << " operands up and "
                 << written.size() + returned.size()
                 << " outputs back; no comparison (the fake runs no PTX)";
  }
  size_t w = 0;
  for (const Operand &o : k.operands)
    if (o.expected) {
      checkValues("written operand", w, written[w], *o.expected, o.storage);
      ++w;
    }
  for (size_t i = 0; i < k.results.size(); ++i)
    checkValues("result", i, returned[i], k.results[i].expected,
                k.results[i].storage, k.results[i].tensorCores);
}

//===----------------------------------------------------------------------===//
// The suites
//===----------------------------------------------------------------------===//

template <typename Case> std::string caseName(const ::testing::TestParamInfo<Case> &i) {
  return i.param.name;
}

// gtest prints a failing case's parameter: by name, not as bytes.
void PrintTo(const UpdateCase &c, std::ostream *os) { *os << c.name; }
void PrintTo(const ConvCase &c, std::ostream *os) { *os << c.name; }
void PrintTo(const ScanCase &c, std::ostream *os) { *os << c.name; }
void PrintTo(const SSDCase &c, std::ostream *os) { *os << c.name; }

class StateUpdate : public ::testing::TestWithParam<UpdateCase> {};
TEST_P(StateUpdate, MatchesReference) { run(stateUpdateKernel(GetParam())); }
INSTANTIATE_TEST_SUITE_P(Cases, StateUpdate, ::testing::ValuesIn(kUpdateCases),
                         caseName<UpdateCase>);

class CausalConv1d : public ::testing::TestWithParam<ConvCase> {};
TEST_P(CausalConv1d, MatchesReference) { run(convKernel(GetParam())); }
INSTANTIATE_TEST_SUITE_P(Cases, CausalConv1d, ::testing::ValuesIn(kConvCases),
                         caseName<ConvCase>);

class SelectiveScan : public ::testing::TestWithParam<ScanCase> {};
TEST_P(SelectiveScan, MatchesReference) { run(scanKernel(GetParam())); }
INSTANTIATE_TEST_SUITE_P(Cases, SelectiveScan, ::testing::ValuesIn(kScanCases),
                         caseName<ScanCase>);

class SSD : public ::testing::TestWithParam<SSDCase> {};
TEST_P(SSD, MatchesReference) { run(ssdKernel(GetParam())); }
INSTANTIATE_TEST_SUITE_P(Cases, SSD, ::testing::ValuesIn(kSSDCases),
                         caseName<SSDCase>);

TEST(Chains, ConvolutionThroughADeviceTemporary) { run(chainKernel()); }

TEST(Examples, Mamba1Scan) { run(mamba1Scan()); }
TEST(Examples, Mamba1Step) { run(mamba1Step()); }
TEST(Examples, Mamba2Prefill) { run(mamba2Prefill()); }
TEST(Examples, Mamba2Decode) { run(mamba2Decode()); }

/// The fake driver's launch hook (runtime/tests/fake_cuda.c).
void recordLaunch(const char *name, const unsigned *, const unsigned *,
                  void **) {
  gLaunched.push_back(name);
}

/// Installs recordLaunch in the fake driver; false if it is not loaded.
bool hookFakeDriver() {
  const char *driver = getenv("SSM_CUDA_DRIVER");
  void *fake = driver ? dlopen(driver, RTLD_NOW | RTLD_NOLOAD) : nullptr;
  using Hook = void (*)(const char *, const unsigned *, const unsigned *,
                        void **);
  auto set = fake ? reinterpret_cast<void (*)(Hook)>(
                        dlsym(fake, "fake_cuda_set_kernel"))
                  : nullptr;
  if (set)
    set(recordLaunch);
  return set != nullptr;
}

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--print-mlir") {
      std::cout << testModule();
      return 0;
    }
    if (arg == "--dry-run") {
      gDryRun = true;
    } else {
      std::cerr << "unknown argument " << arg
                << " (--print-mlir, --dry-run, or gtest flags)\n";
      return 2;
    }
  }
  if (ssm_cuda_status() != SSM_OK) {
    std::cout << "SKIPPED: no usable CUDA device: " << ssm_last_error()
              << std::endl;
    return kSkipCode;
  }
  if (gDryRun && !hookFakeDriver()) {
    std::cerr << "--dry-run needs SSM_CUDA_DRIVER set to the runtime's fake "
                 "driver (build/lib/libssm-fake-cuda.so)\n";
    return 2;
  }
  int32_t major = 0, minor = 0;
  if (ssm_cuda_compute_capability(0, &major, &minor) != SSM_OK) {
    std::cerr << ssm_last_error() << "\n";
    return 1;
  }
  std::string error;
  gArch = kernelArch(major, error);
  if (gArch.empty()) {
    std::cout << "SKIPPED: " << error << std::endl;
    return kSkipCode;
  }
  std::cout << "device 0: compute capability " << major << "." << minor
            << ", kernels for " << gArch << (gDryRun ? " (dry run)" : "")
            << std::endl;
  int status = RUN_ALL_TESTS();
  ssm_cuda_shutdown();
  return status;
}
