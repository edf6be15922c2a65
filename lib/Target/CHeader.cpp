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

using namespace mlir;

namespace {

/// The C element type and the suffix used in descriptor names.
std::optional<std::pair<const char *, const char *>> cElement(Type t) {
  if (t.isF32())
    return {{"float", "f32"}};
  if (t.isF64())
    return {{"double", "f64"}};
  if (t.isF16())
    return {{"uint16_t", "f16"}};
  if (t.isBF16())
    return {{"uint16_t", "bf16"}};
  if (t.isInteger(1))
    return {{"bool", "i1"}};
  if (t.isInteger(32))
    return {{"int32_t", "i32"}};
  if (t.isInteger(64) || t.isIndex())
    return {{"int64_t", "i64"}};
  return std::nullopt;
}

std::string descriptorName(MemRefType t) {
  return "ssmc_memref_" + std::to_string(t.getRank()) + "d_" +
         cElement(t.getElementType())->second;
}

std::string shapeOf(MemRefType t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.getRank(); ++i)
    s += (i ? ", " : "") + (t.isDynamicDim(i) ? std::string("?")
                                                : std::to_string(t.getDimSize(i)));
  return s + "]";
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

LogicalResult ssm::emitCHeader(ModuleOp module, StringRef guard,
                               HeaderRuntime runtime, bool statusChecks,
                               llvm::raw_ostream &os) {
  SmallVector<func::FuncOp> funcs;
  llvm::SetVector<MemRefType> descriptors;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                           func.getResultTypes())) {
      auto memref = dyn_cast<MemRefType>(t);
      if (!memref || !memref.getLayout().isIdentity() ||
          !cElement(memref.getElementType()))
        return func.emitError("cannot express type ")
               << t << " in the C header (identity-layout memrefs of "
                  "f16/bf16/f32/f64/i1/i32/i64 only)";
      descriptors.insert(memref);
    }
    funcs.push_back(func);
  }

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
  if (statusChecks)
    // Guarded: every library compiled so defines the same function.
    os << "\n#ifndef SSM_LAST_ERROR_DECLARED\n#define SSM_LAST_ERROR_DECLARED\n"
       << "/* libssm_runtime's (ssm/runtime.h). A call whose buffers fail a\n"
       << " * run-time check (sizes that disagree with the signature or with\n"
       << " * each other) returns before it writes anything and leaves the\n"
       << " * check's message here, for the calling thread; every call clears\n"
       << " * it first, so \"\" after a call means that it succeeded. */\n"
       << "const char *ssm_last_error(void);\n#endif\n";
  // Descriptor structs, deduplicated by rank and element type.
  llvm::StringSet<> emitted;
  for (MemRefType t : descriptors) {
    std::string name = descriptorName(t);
    if (!emitted.insert(name).second)
      continue;
    const char *element = cElement(t.getElementType())->first;
    // Guarded one by one: every header ssmc writes defines the descriptors
    // it needs, and one C file may include several such headers.
    std::string guard = llvm::StringRef(name).upper() + "_DEFINED";
    os << "#ifndef " << guard << "\n#define " << guard << "\n";
    os << "typedef struct " << name << " {\n  " << element << " *allocated;\n  "
       << element << " *aligned;\n  int64_t offset;\n";
    if (t.getRank() > 0)
      os << "  int64_t sizes[" << t.getRank() << "];\n  int64_t strides["
         << t.getRank() << "];\n";
    os << "} " << name << ";\n#endif\n\n";
  }

  // Public constant tables (a model's `<name>_info`).
  for (auto global : module.getOps<memref::GlobalOp>()) {
    MemRefType t = global.getType();
    auto element = cElement(t.getElementType());
    if (global.isPrivate() || !global.getConstant() || t.getRank() != 1 ||
        !t.hasStaticShape() || !element)
      continue;
    os << "extern const " << element->first << " " << global.getSymName() << "["
       << t.getDimSize(0) << "];\n\n";
  }

  for (func::FuncOp func : funcs) {
    std::string name = func.getSymName().str();
    unsigned numResults = func.getNumResults();
    // `result` and `results` name the parameter that returns the results.
    SmallVector<std::string> argNames =
        cNames(func.getNumArguments(), "arg", {"result", "results"},
               [&](unsigned i) {
                 return func.getArgAttrOfType<StringAttr>(i, kNameAttrName);
               });
    SmallVector<std::string> resultNames =
        cNames(numResults, "r", {}, [&](unsigned i) {
          return func.getResultAttrOfType<StringAttr>(i, kNameAttrName);
        });
    if (numResults > 1) {
      os << "/* The results of " << name << ", in order. */\ntypedef struct "
         << name << "_results {\n";
      for (auto [t, field] : llvm::zip(func.getResultTypes(), resultNames))
        os << "  " << descriptorName(cast<MemRefType>(t)) << " " << field
           << ";\n";
      os << "} " << name << "_results;\n\n";
    }
    os << "/* " << name << "\n";
    if (numResults)
      os << " *   result: returned through the first pointer; the kernel "
            "allocates each\n *           buffer and the caller frees "
            "`allocated`\n";
    for (auto [t, field] : llvm::zip(func.getResultTypes(), resultNames))
      os << " *     " << field << ": "
         << cElement(cast<MemRefType>(t).getElementType())->second << " "
         << shapeOf(cast<MemRefType>(t)) << "\n";
    for (auto [i, t] : llvm::enumerate(func.getArgumentTypes()))
      os << " *   " << argNames[i] << ": "
         << cElement(cast<MemRefType>(t).getElementType())->second << " "
         << shapeOf(cast<MemRefType>(t))
         << (func.getArgAttr(i, "ssm.output")     ? "  (output: written by the call)"
             : func.getArgAttr(i, "ssm.in_place") ? "  (updated in place)"
                                                  : "  (read only)")
         << "\n";
    os << " * Shapes with `?` are read from the descriptors; every other "
          "size must match. */\n";
    os << "void _mlir_ciface_" << name << "(";
    SmallVector<std::string> params;
    if (numResults == 1)
      params.push_back(descriptorName(cast<MemRefType>(func.getResultTypes()[0])) +
                       " *result");
    else if (numResults > 1)
      params.push_back(name + "_results *results");
    for (auto [t, arg] : llvm::zip(func.getArgumentTypes(), argNames))
      params.push_back(descriptorName(cast<MemRefType>(t)) + " *" + arg);
    os << (params.empty() ? std::string("void") : llvm::join(params, ", "))
       << ");\n\n";
  }
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return success();
}
