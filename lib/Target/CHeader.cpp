//===- CHeader.cpp - The C header of a compiled module --------------------===//
//
// Part of ssmc. See include/ssm/Target/CHeader.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CHeader.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"

using namespace mlir;

namespace {

/// The interface's name of an element type (the descriptor names' suffix).
std::optional<StringRef> dtypeOf(Type t) {
  if (t.isF32())
    return StringRef("f32");
  if (t.isF64())
    return StringRef("f64");
  if (t.isF16())
    return StringRef("f16");
  if (t.isBF16())
    return StringRef("bf16");
  if (t.isInteger(1))
    return StringRef("i1");
  if (t.isInteger(32))
    return StringRef("i32");
  if (t.isInteger(64) || t.isIndex())
    return StringRef("i64");
  return std::nullopt;
}

/// The C type of an element: f16 and bf16 are raw 16-bit patterns.
StringRef cElement(StringRef dtype) {
  return llvm::StringSwitch<StringRef>(dtype)
      .Case("f32", "float")
      .Case("f64", "double")
      .Cases({"f16", "bf16"}, "uint16_t")
      .Case("i1", "bool")
      .Case("i32", "int32_t")
      .Default("int64_t");
}

std::string descriptorName(const ssm::InterfaceBuffer &t) {
  return "ssmc_memref_" + std::to_string(t.shape.size()) + "d_" + t.dtype;
}

std::string shapeOf(const ssm::InterfaceBuffer &t) {
  std::string s = "[";
  for (auto [i, size] : llvm::enumerate(t.shape))
    s += (i ? ", " : "") + (size < 0 ? std::string("?") : std::to_string(size));
  return s + "]";
}

ssm::InterfaceBuffer bufferOf(MemRefType t) {
  ssm::InterfaceBuffer buffer{dtypeOf(t.getElementType())->str(), {}};
  for (int64_t size : t.getShape())
    buffer.shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  return buffer;
}

/// Whether `name` can name a parameter or a struct field in a header that C
/// and C++ compilers both read.
bool isUsableCName(StringRef name) {
  // The keywords of C23 and C++23 (alternative operator spellings included)
  // and the macros of <stdbool.h>.
  static const llvm::StringSet<> reserved = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand",
      "bitor", "bool", "break", "case", "catch", "char", "class", "co_await",
      "co_return", "co_yield", "compl", "concept", "const", "const_cast",
      "consteval", "constexpr", "constinit", "continue", "decltype",
      "default", "delete", "do", "double", "dynamic_cast", "else", "enum",
      "explicit", "export", "extern", "false", "float", "for", "friend",
      "goto", "if", "inline", "int", "long", "mutable", "namespace", "new",
      "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq",
      "private", "protected", "public", "register", "reinterpret_cast",
      "requires", "restrict", "return", "short", "signed", "sizeof",
      "static", "static_assert", "static_cast", "struct", "switch",
      "template", "this", "thread_local", "throw", "true", "try", "typedef",
      "typeid", "typename", "typeof", "typeof_unqual", "union", "unsigned",
      "using", "virtual", "void", "volatile", "while", "xor", "xor_eq"};
  // A leading underscore is reserved to the implementation and a `_t`
  // ending to types (POSIX; the header's int64_t, ...); `ssmc_` names the
  // descriptor types, which a parameter of that name would hide from the
  // parameters after it.
  return !name.empty() && llvm::isAlpha(name.front()) &&
         llvm::all_of(name,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; }) &&
         !name.ends_with("_t") && !name.starts_with("ssmc_") &&
         !reserved.contains(name);
}

/// The header's names for `count` arguments or results: `given(i)` (the
/// `ssm.name` attribute) where it is usable in C, not `reserved` and given
/// to no other of them, else `prefix` and the position. A name of the
/// fallback's form (`arg2` for the arguments) stays only at its own
/// position, so that no fallback repeats it.
SmallVector<std::string> cNames(unsigned count, StringRef prefix,
                                ArrayRef<StringRef> reserved,
                                function_ref<StringAttr(unsigned)> given) {
  SmallVector<StringRef> names(count);
  llvm::StringMap<unsigned> uses;
  for (unsigned i = 0; i < count; ++i) {
    if (StringAttr name = given(i))
      names[i] = name.getValue();
    ++uses[names[i]];
  }
  SmallVector<std::string> result;
  for (auto [i, name] : llvm::enumerate(names)) {
    std::string fallback = (prefix + Twine(i)).str();
    StringRef number = name;
    bool fallbackForm = number.consume_front(prefix) && !number.empty() &&
                        llvm::all_of(number, llvm::isDigit);
    bool keep = isUsableCName(name) && uses[name] == 1 &&
                !llvm::is_contained(reserved, name) &&
                (!fallbackForm || name == fallback);
    result.push_back(keep ? name.str() : fallback);
  }
  return result;
}

} // namespace

FailureOr<ssm::ModuleInterface>
ssm::describeInterface(ModuleOp module, HeaderRuntime runtime,
                       bool statusChecks) {
  ModuleInterface interface;
  interface.runtime = runtime;
  interface.statusChecks = statusChecks;
  for (auto global : module.getOps<memref::GlobalOp>()) {
    MemRefType t = global.getType();
    std::optional<StringRef> dtype = dtypeOf(t.getElementType());
    if (global.isPrivate() || !global.getConstant() || t.getRank() != 1 ||
        !t.hasStaticShape() || !dtype)
      continue;
    interface.tables.push_back(
        {global.getSymName().str(), dtype->str(), t.getDimSize(0)});
  }
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                           func.getResultTypes())) {
      auto memref = dyn_cast<MemRefType>(t);
      if (!memref || !memref.getLayout().isIdentity() ||
          !dtypeOf(memref.getElementType()))
        return func.emitError("cannot express type ")
               << t << " in the C header (identity-layout memrefs of "
                  "f16/bf16/f32/f64/i1/i32/i64 only)";
    }
    InterfaceFunction entry;
    entry.name = func.getSymName().str();
    // `result` and `results` name the parameter that returns the results.
    SmallVector<std::string> argNames =
        cNames(func.getNumArguments(), "arg", {"result", "results"},
               [&](unsigned i) {
                 return func.getArgAttrOfType<StringAttr>(i, kNameAttrName);
               });
    SmallVector<std::string> resultNames =
        cNames(func.getNumResults(), "r", {}, [&](unsigned i) {
          return func.getResultAttrOfType<StringAttr>(i, kNameAttrName);
        });
    for (auto [t, name] : llvm::zip(func.getResultTypes(), resultNames))
      entry.results.push_back({name, bufferOf(cast<MemRefType>(t)),
                               ArgumentRole::Output});
    for (auto [i, t] : llvm::enumerate(func.getArgumentTypes()))
      entry.arguments.push_back(
          {argNames[i], bufferOf(cast<MemRefType>(t)),
           func.getArgAttr(i, "ssm.output")     ? ArgumentRole::Output
           : func.getArgAttr(i, "ssm.in_place") ? ArgumentRole::InPlace
                                                : ArgumentRole::Input});
    interface.functions.push_back(std::move(entry));
  }
  return interface;
}

void ssm::printCHeader(const ModuleInterface &interface, StringRef guard,
                       llvm::raw_ostream &os) {
  HeaderRuntime runtime = interface.runtime;
  os << "/* Generated by ssmc. Do not edit. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdbool.h>\n#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "/* A buffer descriptor (MLIR's memref descriptor). Buffers are dense\n"
     << " * and row-major: set `allocated` and `aligned` to the first element,\n"
     << " * `offset` to 0, `sizes` to the shape and `strides` to the row-major\n"
     << " * strides (in elements). Results are allocated by the kernels; read\n"
     << " * them at aligned + offset"
     << (runtime == HeaderRuntime::CUDA ? " (release: see below)"
                                        : " and release them with\n * free(result.allocated)")
     << ". f16 and bf16 are raw 16-bit patterns. */\n";
  if (runtime == HeaderRuntime::ThreadPool)
    os << "\n/* The kernels run their work on libssm_runtime's thread pool: link\n"
       << " * with -lssm_runtime. The thread count comes from SSM_NUM_THREADS or\n"
       << " * ssm_set_num_threads (ssm/runtime.h); calls from several threads are\n"
       << " * safe. */\n";
  if (runtime == HeaderRuntime::CUDA)
    os << "\n/* GPU code: every buffer, arguments and results alike, is in the\n"
       << " * memory of CUDA device 0 (ssm_cuda_alloc, ssm_cuda_copy_to_device in\n"
       << " * ssm/runtime_cuda.h); `allocated` and `aligned` hold device addresses.\n"
       << " * Results are allocated on the device: release them with\n"
       << " * ssm_cuda_free(0, (ssm_cuda_ptr_t)result.allocated). A call returns\n"
       << " * when its kernels have finished. Link with -lssm_runtime, which opens\n"
       << " * the CUDA driver at run time; without one, a call stops the program\n"
       << " * with a message. */\n";
  if (interface.statusChecks)
    // Guarded: every library compiled so defines the same function.
    os << "\n#ifndef SSM_LAST_ERROR_DECLARED\n#define SSM_LAST_ERROR_DECLARED\n"
       << "/* libssm_runtime's (ssm/runtime.h). A call whose buffers fail a\n"
       << " * run-time check (sizes that disagree with the signature or with\n"
       << " * each other) returns before it writes anything and leaves the\n"
       << " * check's message here, for the calling thread; every call clears\n"
       << " * it first, so \"\" after a call means that it succeeded. Results\n"
       << " * it returns then are empty (size 0 where a size is dynamic) and\n"
       << " * are freed as after any call. */\n"
       << "const char *ssm_last_error(void);\n#endif\n";
  // Descriptor structs, deduplicated by rank and element type.
  llvm::StringSet<> emitted;
  for (const InterfaceFunction &func : interface.functions)
    for (const InterfaceValue &value :
         llvm::concat<const InterfaceValue>(func.results, func.arguments)) {
      std::string name = descriptorName(value.type);
      if (!emitted.insert(name).second)
        continue;
      StringRef element = cElement(value.type.dtype);
      size_t rank = value.type.shape.size();
      // Guarded one by one: every header ssmc writes defines the
      // descriptors it needs, and one C file may include several such
      // headers.
      std::string guard = llvm::StringRef(name).upper() + "_DEFINED";
      os << "#ifndef " << guard << "\n#define " << guard << "\n";
      os << "typedef struct " << name << " {\n  " << element
         << " *allocated;\n  " << element << " *aligned;\n  int64_t offset;\n";
      if (rank > 0)
        os << "  int64_t sizes[" << rank << "];\n  int64_t strides[" << rank
           << "];\n";
      os << "} " << name << ";\n#endif\n\n";
    }

  for (const InterfaceTable &table : interface.tables)
    os << "extern const " << cElement(table.dtype) << " " << table.name << "["
       << table.size << "];\n\n";

  for (const InterfaceFunction &func : interface.functions) {
    const std::string &name = func.name;
    size_t numResults = func.results.size();
    if (numResults > 1) {
      os << "/* The results of " << name << ", in order. */\ntypedef struct "
         << name << "_results {\n";
      for (const InterfaceValue &result : func.results)
        os << "  " << descriptorName(result.type) << " " << result.name
           << ";\n";
      os << "} " << name << "_results;\n\n";
    }
    os << "/* " << name << "\n";
    if (numResults)
      os << " *   result: returned through the first pointer; the kernel "
            "allocates each\n *           buffer and the caller frees "
            "`allocated`\n";
    for (const InterfaceValue &result : func.results)
      os << " *     " << result.name << ": " << result.type.dtype << " "
         << shapeOf(result.type) << "\n";
    for (const InterfaceValue &arg : func.arguments)
      os << " *   " << arg.name << ": " << arg.type.dtype << " "
         << shapeOf(arg.type)
         << (arg.role == ArgumentRole::Output
                 ? "  (output: written by the call)"
             : arg.role == ArgumentRole::InPlace ? "  (updated in place)"
                                                 : "  (read only)")
         << "\n";
    os << " * Shapes with `?` are read from the descriptors; every other "
          "size must match. */\n";
    os << "void _mlir_ciface_" << name << "(";
    SmallVector<std::string> params;
    if (numResults == 1)
      params.push_back(descriptorName(func.results[0].type) + " *result");
    else if (numResults > 1)
      params.push_back(name + "_results *results");
    for (const InterfaceValue &arg : func.arguments)
      params.push_back(descriptorName(arg.type) + " *" + arg.name);
    os << (params.empty() ? std::string("void") : llvm::join(params, ", "))
       << ");\n\n";
  }
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
}

void ssm::printInterfaceJSON(const ModuleInterface &interface,
                             llvm::raw_ostream &os) {
  auto buffer = [](llvm::json::OStream &j, const InterfaceValue &value) {
    j.attribute("name", value.name);
    j.attribute("dtype", value.type.dtype);
    j.attributeArray("shape", [&] {
      for (int64_t size : value.type.shape)
        size < 0 ? j.value(nullptr) : j.value(size);
    });
  };
  llvm::json::OStream j(os, 1);
  j.object([&] {
    j.attribute("format", 1);
    j.attribute("runtime", interface.runtime == HeaderRuntime::CUDA ? "cuda"
                           : interface.runtime == HeaderRuntime::ThreadPool
                               ? "threads"
                               : "none");
    j.attribute("status_checks", interface.statusChecks);
    j.attributeArray("tables", [&] {
      for (const InterfaceTable &table : interface.tables)
        j.object([&] {
          j.attribute("name", table.name);
          j.attribute("dtype", table.dtype);
          j.attribute("size", table.size);
        });
    });
    j.attributeArray("functions", [&] {
      for (const InterfaceFunction &func : interface.functions)
        j.object([&] {
          j.attribute("name", func.name);
          j.attribute("symbol", "_mlir_ciface_" + func.name);
          j.attributeArray("results", [&] {
            for (const InterfaceValue &result : func.results)
              j.object([&] { buffer(j, result); });
          });
          j.attributeArray("arguments", [&] {
            for (const InterfaceValue &arg : func.arguments)
              j.object([&] {
                buffer(j, arg);
                j.attribute("role", arg.role == ArgumentRole::Output ? "output"
                                    : arg.role == ArgumentRole::InPlace
                                        ? "in_place"
                                        : "input");
              });
          });
        });
    });
  });
  os << "\n";
}
