//===- CheckInput.cpp - Refuse IR the lowerings cannot take safely --------===//
//
// Part of ssmc. See the pass description in Passes.td. Each rule here stands
// for a crash or a silent misbehaviour of a later pass found by fuzzing
// (docs/security.md): the IR is valid, but the compiler would not survive
// it, so it is refused with a location instead.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/CheckInput.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMCHECKINPUTPASS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// Prefixes of symbols that the runtime, MLIR's C interface, the vector
/// math library and the C implementation own.
constexpr StringLiteral kReservedPrefixes[] = {"ssm_", "mgpu", "_mlir_", "__",
                                               "_ZGV"};

/// C's math functions (each also with the suffixes f and l) and the memory
/// and process functions that lowered code calls.
constexpr StringLiteral kMathNames[] = {
    "acos",  "acosh", "asin",  "asinh",     "atan",   "atan2", "atanh",
    "cbrt",  "ceil",  "copysign", "cos",    "cosh",   "erf",   "erfc",
    "exp",   "exp10", "exp2",  "expm1",     "fabs",   "fdim",  "floor",
    "fma",   "fmax",  "fmin",  "fmod",      "frexp",  "hypot", "ilogb",
    "ldexp", "lgamma", "llrint", "llround", "log",    "log10", "log1p",
    "log2",  "logb",  "lrint", "lround",    "modf",   "nan",   "nearbyint",
    "nextafter", "pow", "remainder", "remquo", "rint", "round", "roundeven",
    "scalbn", "sin",  "sincos", "sinh",     "sqrt",   "tan",   "tanh",
    "tgamma", "trunc"};
constexpr StringLiteral kLibcNames[] = {
    "malloc", "calloc",  "realloc", "free",   "aligned_alloc", "posix_memalign",
    "memcpy", "memmove", "memset",  "memcmp", "abort",         "puts",
    "printf", "memrefCopy"};

const llvm::StringSet<> &reservedNames() {
  static const llvm::StringSet<> names = [] {
    llvm::StringSet<> set;
    for (StringRef name : kMathNames)
      for (StringRef suffix : {"", "f", "l"})
        set.insert((name + suffix).str());
    for (StringRef name : kLibcNames)
      set.insert(name);
    return set;
  }();
  return names;
}

/// Why `name` may not name a function of the input, or empty.
std::string whyReserved(StringRef name) {
  if (reservedNames().contains(name))
    return "it is the C library's (generated code calls it)";
  for (StringRef prefix : kReservedPrefixes)
    if (name.starts_with(prefix))
      return ("names starting with '" + prefix +
              "' belong to the runtime and the code generator")
          .str();
  return "";
}

/// Reports a constant index of a dim op outside [0, rank).
template <typename DimOp>
LogicalResult checkDimIndex(DimOp op) {
  llvm::APInt index;
  if (!matchPattern(op.getIndex(), m_ConstantInt(&index)))
    return success();
  auto type = dyn_cast<ShapedType>(op.getSource().getType());
  if (!type || !type.hasRank())
    return success();
  int64_t value = index.getSExtValue();
  if (value >= 0 && value < type.getRank())
    return success();
  return op.emitOpError("index ")
         << value << " is outside the " << type.getRank()
         << " dimensions of its operand";
}

struct SSMCheckInputPass
    : ssm::impl::SSMCheckInputPassBase<SSMCheckInputPass> {
  void runOnOperation() override {
    bool failed = false;
    getOperation()->walk([&](Operation *op) {
      if (auto func = dyn_cast<func::FuncOp>(op)) {
        std::string why = whyReserved(func.getSymName());
        if (!why.empty()) {
          func.emitError("function name '")
              << func.getSymName() << "' is reserved: " << why
              << "; rename the function";
          failed = true;
        }
      } else if (auto dim = dyn_cast<tensor::DimOp>(op)) {
        failed |= mlir::failed(checkDimIndex(dim));
      } else if (auto dim = dyn_cast<memref::DimOp>(op)) {
        failed |= mlir::failed(checkDimIndex(dim));
      }
    });
    if (failed)
      signalPassFailure();
  }
};

} // namespace
