//===- JitHarness.h - Run one ssm op through the CPU pipeline ---*- C++ -*-===//
//
// Part of ssmc. The harness shared by the CPU execution tests: host buffers
// with MLIR memref descriptors, a JIT that compiles a module through the
// driver's CPU pipelines, and a builder for a one-op `@kernel` function whose
// inputs and outputs are host buffers. Float tensors may be stored as f32,
// f16 or bf16 (test/Support/Storage.h).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_INTEGRATION_CPU_JITHARNESS_H
#define SSM_TEST_INTEGRATION_CPU_JITHARNESS_H

#include "../../Support/Compare.h"
#include "../../Support/Jit.h"
#include "../../Support/Storage.h"
#include "ssm/InitAll.h"
#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Reference/Reference.h"
#include "ssm/runtime.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace ssm::test {

/// The kernels run their outer loops on the runtime's thread pool (which
/// the JIT finds in this process). Two threads, whatever the machine, so
/// that every test crosses a partition boundary where it has two or more
/// work items. Inline: one registration per test program.
struct TwoThreads : ::testing::Environment {
  void SetUp() override { ASSERT_EQ(ssm_set_num_threads(2), SSM_OK); }
};
[[maybe_unused]] inline ::testing::Environment *const kTwoThreads =
    ::testing::AddGlobalTestEnvironment(new TwoThreads);

/// A host buffer and the MLIR memref descriptor that points at it:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}, all 8 bytes.
struct Buffer {
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
  std::vector<int64_t> descriptor;
  void *descriptorPtr = nullptr;
  Storage storage = Storage::F32;

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
  // The descriptor points into `bytes` and at itself: copies would dangle.
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  Buffer(Buffer &&) = default;

  template <typename T> T *data() { return reinterpret_cast<T *>(bytes.data()); }

  /// Element `i` of a float buffer as a double.
  double value(size_t i) {
    switch (storage) {
    case Storage::F32:
      return data<float>()[i];
    case Storage::F64:
      return data<double>()[i];
    case Storage::F16:
      return f16ToDouble(data<uint16_t>()[i]);
    case Storage::BF16:
      return bf16ToFloat(data<uint16_t>()[i]);
    }
    return 0.0;
  }
};

/// A float buffer holding `t` rounded to `s`.
inline Buffer fromTensor(const ref::Tensor &t, Storage s = Storage::F32) {
  Buffer b(t.shape, elementSize(s));
  b.storage = s;
  for (size_t i = 0; i < t.data.size(); ++i) {
    switch (s) {
    case Storage::F32:
      b.data<float>()[i] = static_cast<float>(t.data[i]);
      break;
    case Storage::F64:
      b.data<double>()[i] = t.data[i];
      break;
    case Storage::F16:
      b.data<uint16_t>()[i] = doubleToF16(t.data[i]);
      break;
    case Storage::BF16:
      b.data<uint16_t>()[i] = floatToBF16(static_cast<float>(t.data[i]));
      break;
    }
  }
  return b;
}

template <typename T>
Buffer fromInts(std::vector<int64_t> shape, const std::vector<int64_t> &v) {
  Buffer b(std::move(shape), sizeof(T));
  for (size_t i = 0; i < v.size(); ++i)
    b.data<T>()[i] = static_cast<T>(v[i]);
  return b;
}

inline std::string memrefOf(const std::string &tensorType) {
  return "memref" + tensorType.substr(6);
}

/// Compiles `source` (a module with one function `@kernel` whose last
/// arguments are memrefs it writes) and runs it on `buffers`.
class Jit {
public:
  Jit() {
    static bool once = [] {
      mlir::ssm::registerAllPasses();
      return true;
    }();
    (void)once;
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    mlir::DialectRegistry registry;
    mlir::ssm::registerAllDialects(registry);
    mlir::registerBuiltinDialectTranslation(registry);
    mlir::registerLLVMDialectTranslation(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Returns an empty string on success, else what went wrong.
  std::string run(const std::string &source, std::vector<Buffer *> buffers,
                  bool decomposeFirst) {
    using namespace mlir;
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
    // Optionally force the semantic definition (ssm-decompose) ahead of the
    // direct lowerings, so both paths are checked against the reference.
    if (decomposeFirst && failed(parsePassPipeline("func.func(ssm-decompose)", pm)))
      return "bad pipeline";
    // The driver's pipelines, so that the tests check what ssmc compiles.
    mlir::ssm::buildCPUBufferizePipeline(pm);
    mlir::ssm::buildCPULowerToLLVMPipeline(pm);
    if (failed(pm.run(*module)))
      return "lowering failed: " + diagnostics;
    auto engine = createOptimizedJit(*module);
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
  mlir::MLIRContext context;
};

/// max |kernel - reference| / max(1, max |reference|).
inline double relativeError(Buffer &kernel, const ref::Tensor &expected) {
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    diff = gap(diff, kernel.value(i), expected.data[i]);
    scale = std::max(scale, std::abs(expected.data[i]));
  }
  return diff / scale;
}

/// One kernel invocation: float (or integer) inputs, float outputs, and the
/// op text that computes `%r` with one result per output. Float tensors are
/// stored as `storage` unless an input or output says otherwise.
class KernelCall {
public:
  explicit KernelCall(Storage storage = Storage::F32) : storage(storage) {}

  /// Adds a float input, stored as `as` when given; returns its SSA name.
  std::string input(const ref::Tensor &t, bool dynamic = false,
                    std::optional<Storage> as = std::nullopt) {
    Storage s = as.value_or(storage);
    types.push_back(type(t.shape, elementName(s), dynamic));
    buffers.push_back(fromTensor(t, s));
    return "%a" + std::to_string(types.size() - 1);
  }
  /// Adds an integer input of element type `element` (i1, i32 or i64).
  template <typename T>
  std::string intInput(std::vector<int64_t> shape, const std::vector<int64_t> &v,
                       const char *element) {
    types.push_back(type(shape, element));
    buffers.push_back(fromInts<T>(shape, v));
    return "%a" + std::to_string(types.size() - 1);
  }
  /// Adds a float output of `shape`, stored as `as` when given.
  void output(const std::vector<int64_t> &shape, bool dynamic = false,
              std::optional<Storage> as = std::nullopt) {
    Storage s = as.value_or(storage);
    outputs.push_back(type(shape, elementName(s), dynamic));
    outputBuffers.emplace_back(shape, elementSize(s));
    outputBuffers.back().storage = s;
  }
  /// The IR type of a float tensor of `shape` in this call's storage.
  std::string floatType(const std::vector<int64_t> &shape) const {
    return type(shape, elementName(storage));
  }
  /// "(inputs) -> (outputs)", the op's functional type.
  std::string signature() const {
    return "(" + join(types) + ") -> (" + join(outputs) + ")";
  }
  /// "%r:K = ", the op's results.
  std::string results() const {
    return "%r:" + std::to_string(outputs.size()) + " = ";
  }
  /// Compiles and runs `op`; returns "" or what went wrong.
  std::string run(const std::string &op, bool decomposeFirst = false) {
    std::string s = "func.func @kernel(";
    for (size_t i = 0; i < types.size(); ++i)
      s += "%a" + std::to_string(i) + ": " + types[i] + ", ";
    for (size_t i = 0; i < outputs.size(); ++i)
      s += "%o" + std::to_string(i) + ": " + memrefOf(outputs[i]) +
           (i + 1 < outputs.size() ? ", " : "");
    s += ") attributes {llvm.emit_c_interface} {\n  " + op + "\n";
    for (size_t i = 0; i < outputs.size(); ++i)
      s += "  bufferization.materialize_in_destination %r#" + std::to_string(i) +
           " in restrict writable %o" + std::to_string(i) + " : (" + outputs[i] +
           ", " + memrefOf(outputs[i]) + ") -> ()\n";
    s += "  return\n}\n";
    std::vector<Buffer *> all;
    for (Buffer &b : buffers)
      all.push_back(&b);
    for (Buffer &b : outputBuffers)
      all.push_back(&b);
    Jit jit;
    return jit.run(s, all, decomposeFirst);
  }
  /// The i-th output after run().
  Buffer &result(size_t i) { return outputBuffers[i]; }

private:
  static std::string join(const std::vector<std::string> &v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i)
      s += (i ? ", " : "") + v[i];
    return s;
  }
  Storage storage;
  std::vector<std::string> types, outputs;
  std::vector<Buffer> buffers, outputBuffers;
};

/// Adds the operands and results of a `ssm.state_update` on `a` to `k`
/// (state and y as the two outputs) and returns the op's text. The state
/// update is the one op whose custom syntax lists types per operand group.
inline std::string stateUpdateOp(KernelCall &k, const ref::StateUpdateArgs &a) {
  auto ty = [&](const ref::Tensor &t) { return k.floatType(t.shape); };
  std::string op = "ssm.state_update ins(" + k.input(a.x) + ", " + k.input(a.dt) +
                   ", " + k.input(a.A) + ", " + k.input(a.B) + ", " + k.input(a.C) +
                   " : " + ty(a.x) + ", " + ty(a.dt) + ", " + ty(a.A) + ", " +
                   ty(a.B) + ", " + ty(a.C) + ")";
  if (a.D)
    op += " skip(" + k.input(*a.D) + " : " + ty(*a.D) + ")";
  if (a.z)
    op += " gate(" + k.input(*a.z) + " : " + ty(*a.z) + ")";
  if (a.dtBias)
    op += " dt_bias(" + k.input(*a.dtBias) + " : " + ty(*a.dtBias) + ")";
  if (a.dtSoftplus)
    op += " dt_softplus";
  if (a.dtLimit)
    op += " dt_limit [" + std::to_string(a.dtLimit->first) + ", " +
          std::to_string(a.dtLimit->second) + "]";
  // y's destination only supplies its shape and buffer.
  std::string state = k.input(a.state), y0 = k.input(ref::Tensor(a.x.shape));
  op += " outs(" + state + ", " + y0 + " : " + ty(a.state) + ", " + ty(a.x) + ")";
  k.output(a.state.shape);
  k.output(a.x.shape);
  return k.results() + op;
}

} // namespace ssm::test

#endif // SSM_TEST_INTEGRATION_CPU_JITHARNESS_H
