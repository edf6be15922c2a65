//===- JitHarness.h - Pipelines and JIT for execution tests -*- C++ -*-===//
//
// Part of ssmc. Shared by the CPU execution tests: host buffers with their
// memref descriptors, a JIT that compiles a module through the driver's
// pipelines, and KernelCall, which wraps one op in a C-callable function.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_INTEGRATION_CPU_JITHARNESS_H
#define SSM_TEST_INTEGRATION_CPU_JITHARNESS_H

#include "ssm/InitAll.h"
#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Reference/Reference.h"

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

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ssm::test {

using namespace mlir;
namespace ref = ::ssm::ref;

/// The float storage types the tests exercise.
enum class Element { F32, F64, F16, BF16 };

/// The MLIR spelling of `e`.
inline const char *nameOf(Element e) {
  switch (e) {
  case Element::F32:
    return "f32";
  case Element::F64:
    return "f64";
  case Element::F16:
    return "f16";
  case Element::BF16:
    return "bf16";
  }
  return "?";
}

inline size_t sizeOf(Element e) {
  return e == Element::F64 ? 8 : e == Element::F32 ? 4 : 2;
}

/// The 16 bits of bf16 nearest to `v` (ties to even), from its f32 bits.
inline uint16_t toBF16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

inline float fromBF16(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

/// A host buffer and the MLIR memref descriptor that points at it:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}, all 8 bytes.
struct Buffer {
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
  std::vector<int64_t> descriptor;
  void *descriptorPtr = nullptr;
  /// How float contents are stored (integer buffers ignore it).
  Element element = Element::F32;

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

  /// Element `i`, read in its storage type.
  double get(size_t i) {
    switch (element) {
    case Element::F32:
      return data<float>()[i];
    case Element::F64:
      return data<double>()[i];
    case Element::F16:
      return static_cast<double>(data<_Float16>()[i]);
    case Element::BF16:
      return fromBF16(data<uint16_t>()[i]);
    }
    return 0.0;
  }
  /// Stores `v` rounded to the storage type.
  void set(size_t i, double v) {
    switch (element) {
    case Element::F32:
      data<float>()[i] = static_cast<float>(v);
      break;
    case Element::F64:
      data<double>()[i] = v;
      break;
    case Element::F16:
      data<_Float16>()[i] = static_cast<_Float16>(static_cast<float>(v));
      break;
    case Element::BF16:
      data<uint16_t>()[i] = toBF16(static_cast<float>(v));
      break;
    }
  }
};

inline Buffer fromTensor(const ref::Tensor &t, Element element = Element::F32) {
  Buffer b(t.shape, sizeOf(element));
  b.element = element;
  for (size_t i = 0; i < t.data.size(); ++i)
    b.set(i, t.data[i]);
  return b;
}

/// `t` with every element rounded to `element`: what a kernel reading `t`
/// stored as `element` sees, so the reference can be given the same inputs.
inline ref::Tensor roundedTo(ref::Tensor t, Element element) {
  Buffer b = fromTensor(t, element);
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = b.get(i);
  return t;
}

template <typename T> Buffer fromInts(std::vector<int64_t> shape, const std::vector<int64_t> &v) {
  Buffer b(std::move(shape), sizeof(T));
  for (size_t i = 0; i < v.size(); ++i)
    b.data<T>()[i] = static_cast<T>(v[i]);
  return b;
}

/// `tensor<AxBxf32>` (or `?` for each dim when dynamic).
inline std::string type(const std::vector<int64_t> &shape, const char *element = "f32",
                 bool dynamic = false) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (dynamic ? std::string("?") : std::to_string(d)) + "x";
  return s + element + ">";
}

inline std::string memrefOf(const std::string &tensorType) {
  return "memref" + tensorType.substr(6);
}

/// Compiles `source` (a module with one function `@kernel` whose last
/// `numOutputs` arguments are memrefs it writes) and runs it on `buffers`.
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
    DialectRegistry registry;
    mlir::ssm::registerAllDialects(registry);
    registerBuiltinDialectTranslation(registry);
    registerLLVMDialectTranslation(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Returns an empty string on success, else what went wrong.
  std::string run(const std::string &source, std::vector<Buffer *> buffers,
                  bool decomposeFirst) {
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
    // The driver's pipelines, so that this test checks what ssmc compiles.
    mlir::ssm::buildCPUBufferizePipeline(pm);
    mlir::ssm::buildCPULowerToLLVMPipeline(pm);
    if (failed(pm.run(*module)))
      return "lowering failed: " + diagnostics;
    ExecutionEngineOptions options;
    options.transformer = makeOptimizingTransformer(2, 0, nullptr);
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
inline double relativeError(Buffer &kernel, const ref::Tensor &expected) {
  double diff = 0.0, scale = 1.0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    diff = std::max(diff, std::abs(kernel.get(i) - expected.data[i]));
    scale = std::max(scale, std::abs(expected.data[i]));
  }
  return diff / scale;
}

/// One kernel invocation: float (f32 unless stated) or integer inputs,
/// float outputs, and the op text that computes `%r` with one result per
/// output.
class KernelCall {
public:
  /// Adds a float input stored as `element`; returns its SSA name.
  std::string input(const ref::Tensor &t, bool dynamic = false,
                    Element element = Element::F32) {
    types.push_back(type(t.shape, nameOf(element), dynamic));
    buffers.push_back(fromTensor(t, element));
    return "%a" + std::to_string(types.size() - 1);
  }
  /// Adds an integer input of element type `element` (i32 or i64).
  template <typename T>
  std::string intInput(std::vector<int64_t> shape, const std::vector<int64_t> &v,
                       const char *element) {
    types.push_back(type(shape, element));
    buffers.push_back(fromInts<T>(shape, v));
    return "%a" + std::to_string(types.size() - 1);
  }
  /// Adds a float output of `shape` stored as `element`.
  void output(const std::vector<int64_t> &shape, bool dynamic = false,
              Element element = Element::F32) {
    outputs.push_back(type(shape, nameOf(element), dynamic));
    outputBuffers.emplace_back(shape, sizeOf(element));
    outputBuffers.back().element = element;
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
  std::vector<std::string> types, outputs;
  std::vector<Buffer> buffers, outputBuffers;
};

} // namespace ssm::test

#endif // SSM_TEST_INTEGRATION_CPU_JITHARNESS_H
