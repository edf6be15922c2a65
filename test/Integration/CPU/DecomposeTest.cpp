//===- DecomposeTest.cpp - Execute the decomposed ops against the reference ===//
//
// Part of ssmc. Compiles model-level ssm ops through ssm-decompose and
// convert-ssm-to-scf, then upstream bufferization and the LLVM lowering,
// runs them with MLIR's JIT and compares every output with the reference
// evaluator. This is the numeric check of the semantic definition in IR.
//
// Tolerance: kernels compute in f32, the reference in f64. Inputs are O(1)
// and the recurrences contract (|Abar| < 1), so each output carries the f32
// rounding of O(L·N) accumulated terms and of libm's f32 exp/expm1/log1p
// (~1 ulp each): observed errors are ~1e-6 relative. The bound 2e-5 of the
// largest magnitude leaves margin while any semantic slip (a wrong group,
// a missing bias, an off-by-one in time) is O(1e-1) and fails.
//
//===----------------------------------------------------------------------===//

#include "ssm/InitAll.h"
#include "ssm/Reference/Reference.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace mlir;
namespace ref = ::ssm::ref;

namespace {

constexpr double kTolerance = 2e-5;

/// A host buffer and the MLIR memref descriptor that points at it:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}, all 8 bytes.
struct Buffer {
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
  std::vector<int64_t> descriptor;
  void *descriptorPtr = nullptr;

  Buffer(std::vector<int64_t> s, size_t elementSize) : shape(std::move(s)) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    bytes.assign(static_cast<size_t>(n) * elementSize + 64, 0);
    descriptor.assign(3 + 2 * shape.size(), 0);
    int64_t ptr = reinterpret_cast<int64_t>(bytes.data());
    descriptor[0] = descriptor[1] = ptr;
    int64_t stride = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      descriptor[3 + i] = shape[i];
      descriptor[3 + shape.size() + i] = stride;
      stride *= shape[i];
    }
    descriptorPtr = descriptor.data();
  }
  template <typename T> T *data() { return reinterpret_cast<T *>(bytes.data()); }
};

Buffer fromTensor(const ref::Tensor &t) {
  Buffer b(t.shape, sizeof(float));
  for (size_t i = 0; i < t.data.size(); ++i)
    b.data<float>()[i] = static_cast<float>(t.data[i]);
  return b;
}

template <typename T> Buffer fromInts(std::vector<int64_t> shape, const std::vector<int64_t> &v) {
  Buffer b(std::move(shape), sizeof(T));
  for (size_t i = 0; i < v.size(); ++i)
    b.data<T>()[i] = static_cast<T>(v[i]);
  return b;
}

/// `tensor<AxBxf32>` (or `?` for each dim when dynamic).
std::string type(const std::vector<int64_t> &shape, const char *element = "f32",
                 bool dynamic = false) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (dynamic ? std::string("?") : std::to_string(d)) + "x";
  return s + element + ">";
}

std::string memrefOf(const std::string &tensorType) {
  return "memref" + tensorType.substr(6);
}

ref::Tensor random(std::vector<int64_t> shape, std::mt19937_64 &rng,
                   double lo = -1.0, double hi = 1.0) {
  ref::Tensor t(std::move(shape));
  std::uniform_real_distribution<double> dist(lo, hi);
  for (double &v : t.data)
    v = dist(rng);
  return t;
}

/// Compiles `source` (a module with one function `@kernel` whose last
/// `numOutputs` arguments are memrefs it writes) and runs it on `buffers`.
class Jit {
public:
  Jit() {
    static bool once = [] {
      registerAllPasses();
      mlir::ssm::registerAllPasses();
      return true;
    }();
    (void)once;
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    mlir::ssm::registerAllDialects(registry);
    registerBuiltinDialectTranslation(registry);
    registerLLVMDialectTranslation(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Returns an empty string on success, else what went wrong.
  std::string run(const std::string &source, std::vector<Buffer *> buffers) {
    std::string diagnostics;
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
      os << d << "\n";
      return success();
    });
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
    if (!module)
      return "parse failed: " + diagnostics + "\n" + source;
    PassManager pm(&context, ModuleOp::getOperationName());
    if (failed(parsePassPipeline(
            "func.func(ssm-decompose, convert-ssm-to-scf), canonicalize, "
            "one-shot-bufferize{bufferize-function-boundaries}, "
            "func.func(convert-linalg-to-loops), expand-strided-metadata, "
            "lower-affine, convert-math-to-libm, convert-scf-to-cf, "
            "convert-to-llvm, reconcile-unrealized-casts",
            pm)))
      return "bad pipeline";
    if (failed(pm.run(*module)))
      return "lowering failed: " + diagnostics;
    ExecutionEngineOptions options;
    options.transformer = makeOptimizingTransformer(2, 0, nullptr);
    // Bufferization's copies lower to calls of memrefCopy from MLIR's C
    // runner utilities.
    llvm::StringRef libs[] = {SSM_C_RUNNER_UTILS};
    options.sharedLibPaths = libs;
    auto engine = ExecutionEngine::create(*module, options);
    if (!engine)
      return "JIT failed: " + llvm::toString(engine.takeError());
    std::vector<void *> args;
    for (Buffer *b : buffers)
      args.push_back(&b->descriptorPtr);
    if (llvm::Error e = (*engine)->invokePacked("_mlir_ciface_kernel", args))
      return "call failed: " + llvm::toString(std::move(e));
    return "";
  }

private:
  MLIRContext context;
};

/// max |kernel - reference| / max(1, max |reference|).
double relativeError(Buffer &kernel, const ref::Tensor &expected) {
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    diff = std::max(diff, std::abs(kernel.data<float>()[i] - expected.data[i]));
    scale = std::max(scale, std::abs(expected.data[i]));
  }
  return diff / scale;
}

/// Builds "func.func @kernel(ins..., outs...)" around one op whose results
/// are written into the trailing memref arguments.
std::string kernel(const std::vector<std::string> &inputTypes,
                   const std::vector<std::string> &outputTypes,
                   const std::string &opText) {
  std::string s = "func.func @kernel(";
  for (size_t i = 0; i < inputTypes.size(); ++i)
    s += "%a" + std::to_string(i) + ": " + inputTypes[i] + ", ";
  for (size_t i = 0; i < outputTypes.size(); ++i)
    s += "%o" + std::to_string(i) + ": " + memrefOf(outputTypes[i]) +
         (i + 1 < outputTypes.size() ? ", " : "");
  s += ") attributes {llvm.emit_c_interface} {\n";
  s += opText + "\n";
  for (size_t i = 0; i < outputTypes.size(); ++i)
    s += "  bufferization.materialize_in_destination %r#" + std::to_string(i) +
         " in restrict writable %o" + std::to_string(i) + " : (" +
         outputTypes[i] + ", " + memrefOf(outputTypes[i]) + ") -> ()\n";
  return s + "  return\n}\n";
}

std::string join(const std::vector<std::string> &v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + v[i];
  return s;
}

} // namespace

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

struct SelectiveCase {
  const char *method;
  ref::Discretization rule;
  int64_t B, D, L, N, G;
  bool fixedBC;
  // Dynamic shapes compile, but MLIR 22.1's expand-strided-metadata crashes
  // on a memref.expand_shape with dynamic output sizes, which ssm-decompose
  // emits for dynamic channel counts; this knob turns on once that is
  // worked around (see docs/design.md).
  bool dynamic;
};

class SelectiveScanTest : public ::testing::TestWithParam<SelectiveCase> {};

TEST_P(SelectiveScanTest, MatchesReference) {
  const SelectiveCase &c = GetParam();
  std::mt19937_64 rng(c.B * 131 + c.L);
  ref::SelectiveScanArgs a;
  a.u = random({c.B, c.D, c.L}, rng);
  a.delta = random({c.B, c.D, c.L}, rng, -2.0, 0.5);
  a.A = random({c.D, c.N}, rng, -1.5, -0.1);
  a.B = c.fixedBC ? random({c.D, c.N}, rng) : random({c.B, c.G, c.N, c.L}, rng);
  a.C = c.fixedBC ? random({c.D, c.N}, rng) : random({c.B, c.G, c.N, c.L}, rng);
  a.D = random({c.D}, rng);
  a.z = random({c.B, c.D, c.L}, rng);
  a.deltaBias = random({c.D}, rng, -0.5, 0.5);
  a.init = random({c.B, c.D, c.N}, rng);
  a.deltaSoftplus = true;
  a.method = c.rule;
  ref::SelectiveScanResult expected = ref::selectiveScan(a);

  std::vector<std::string> in;
  for (const ref::Tensor *t : {&a.u, &a.delta, &a.A, &a.B, &a.C, &*a.D, &*a.z,
                               &*a.deltaBias, &*a.init})
    in.push_back(type(t->shape, "f32", c.dynamic));
  std::vector<std::string> out{type({c.B, c.D, c.L}, "f32", c.dynamic),
                               type({c.B, c.D, c.N}, "f32", c.dynamic)};
  std::string op = std::string("  %r:2 = ssm.selective_scan %a0, %a1, %a2, %a3, %a4 ") +
                   "skip(%a5) gate(%a6) delta_bias(%a7) init(%a8) delta_softplus method " +
                   c.method + " : (" + join(in) + ") -> (" + join(out) + ")";

  std::vector<Buffer> buffers;
  for (const ref::Tensor *t : {&a.u, &a.delta, &a.A, &a.B, &a.C, &*a.D, &*a.z,
                               &*a.deltaBias, &*a.init})
    buffers.push_back(fromTensor(*t));
  buffers.emplace_back(expected.y.shape, sizeof(float));
  buffers.emplace_back(expected.finalState.shape, sizeof(float));
  std::vector<Buffer *> ptrs;
  for (Buffer &b : buffers)
    ptrs.push_back(&b);

  Jit jit;
  ASSERT_EQ(jit.run(kernel(in, out, op), ptrs), "");
  EXPECT_LT(relativeError(buffers[9], expected.y), kTolerance);
  EXPECT_LT(relativeError(buffers[10], expected.finalState), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SelectiveScanTest,
    ::testing::Values(
        SelectiveCase{"mamba", ref::Discretization::Mamba, 2, 6, 37, 3, 2, false, false},
        SelectiveCase{"zoh", ref::Discretization::ZOH, 1, 4, 19, 5, 1, false, false},
        SelectiveCase{"bilinear", ref::Discretization::Bilinear, 2, 4, 9, 2, 4, false, false},
        SelectiveCase{"euler", ref::Discretization::Euler, 1, 3, 1, 4, 1, true, false}),
    [](const auto &info) {
      return std::string(info.param.method) + "_L" + std::to_string(info.param.L) +
             (info.param.fixedBC ? "_fixedBC" : "") +
             (info.param.dynamic ? "_dynamic" : "");
    });

//===----------------------------------------------------------------------===//
// ssd
//===----------------------------------------------------------------------===//

enum class Packing { None, SeqIdx, CuSeqlens };

struct SSDCase {
  const char *name;
  int64_t B, L, H, P, G, N;
  bool perChannelD;
  Packing packing;
};

class SSDTest : public ::testing::TestWithParam<SSDCase> {};

TEST_P(SSDTest, MatchesReference) {
  const SSDCase &c = GetParam();
  std::mt19937_64 rng(c.L * 7 + c.H);
  ref::SSDArgs a;
  a.x = random({c.B, c.L, c.H, c.P}, rng);
  a.dt = random({c.B, c.L, c.H}, rng, -2.0, 0.5);
  a.A = random({c.H}, rng, -1.5, -0.1);
  a.B = random({c.B, c.L, c.G, c.N}, rng);
  a.C = random({c.B, c.L, c.G, c.N}, rng);
  a.D = c.perChannelD ? random({c.H, c.P}, rng) : random({c.H}, rng);
  a.z = random({c.B, c.L, c.H, c.P}, rng);
  a.dtBias = random({c.H}, rng, -0.5, 0.5);
  a.dtSoftplus = true;
  a.dtLimit = std::make_pair(0.05, 0.6);
  bool states = c.packing != Packing::CuSeqlens;
  if (states)
    a.init = random({c.B, c.H, c.P, c.N}, rng);
  std::vector<int64_t> packing;
  if (c.packing == Packing::SeqIdx) {
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = 0; t < c.L; ++t)
        packing.push_back(t < c.L / 3 ? 0 : t < c.L / 2 ? 4 : 9);
    a.seqIdx = packing;
  } else if (c.packing == Packing::CuSeqlens) {
    packing = {0, c.L / 4, c.L / 4, c.L - 2, c.L};
    a.cuSeqlens = packing;
  }
  ref::SSDResult expected = ref::ssd(a);

  std::vector<const ref::Tensor *> inputs{&a.x, &a.dt, &a.A, &a.B, &a.C, &*a.D,
                                          &*a.z, &*a.dtBias};
  if (states)
    inputs.push_back(&*a.init);
  std::vector<std::string> in;
  std::vector<Buffer> buffers;
  for (const ref::Tensor *t : inputs) {
    in.push_back(type(t->shape));
    buffers.push_back(fromTensor(*t));
  }
  std::string packOperand;
  if (c.packing == Packing::SeqIdx) {
    in.push_back(type({c.B, c.L}, "i32"));
    buffers.push_back(fromInts<int32_t>({c.B, c.L}, packing));
    packOperand = "seq_idx(%a" + std::to_string(in.size() - 1) + ") ";
  } else if (c.packing == Packing::CuSeqlens) {
    in.push_back(type({static_cast<int64_t>(packing.size())}, "i64"));
    buffers.push_back(fromInts<int64_t>({static_cast<int64_t>(packing.size())}, packing));
    packOperand = "cu_seqlens(%a" + std::to_string(in.size() - 1) + ") ";
  }
  std::vector<std::string> out{type(expected.y.shape)};
  if (states)
    out.push_back(type(expected.finalState.shape));
  std::string op = "  %r:" + std::to_string(out.size()) +
                   " = ssm.ssd %a0, %a1, %a2, %a3, %a4 skip(%a5) gate(%a6) dt_bias(%a7) " +
                   (states ? "init(%a8) " : "") + packOperand +
                   "dt_softplus dt_limit [0.05, 0.6] : (" + join(in) + ") -> (" +
                   join(out) + ")";
  size_t firstOut = buffers.size();
  buffers.emplace_back(expected.y.shape, sizeof(float));
  if (states)
    buffers.emplace_back(expected.finalState.shape, sizeof(float));
  std::vector<Buffer *> ptrs;
  for (Buffer &b : buffers)
    ptrs.push_back(&b);

  Jit jit;
  ASSERT_EQ(jit.run(kernel(in, out, op), ptrs), "");
  EXPECT_LT(relativeError(buffers[firstOut], expected.y), kTolerance);
  if (states) {
    EXPECT_LT(relativeError(buffers[firstOut + 1], expected.finalState), kTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SSDTest,
    ::testing::Values(SSDCase{"groups", 2, 21, 4, 3, 2, 5, false, Packing::None},
                      SSDCase{"perChannelD", 1, 16, 2, 4, 1, 8, true, Packing::None},
                      SSDCase{"seqIdx", 2, 18, 2, 2, 1, 3, false, Packing::SeqIdx},
                      SSDCase{"cuSeqlens", 1, 20, 4, 2, 2, 3, true, Packing::CuSeqlens}),
    [](const auto &info) { return std::string(info.param.name); });
