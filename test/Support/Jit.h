//===- Jit.h - JIT-compiling lowered test modules ---------------*- C++ -*-===//
//
// Part of ssmc's tests. The execution tests (CPU kernels, emulated GPU
// kernels) JIT the LLVM dialect at -O2 the same way; this is that way.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_SUPPORT_JIT_H
#define SSM_TEST_SUPPORT_JIT_H

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <memory>

namespace ssm::test {

/// An execution engine for `module` (in the LLVM dialect), optimized at -O2.
inline llvm::Expected<std::unique_ptr<mlir::ExecutionEngine>>
createOptimizedJit(mlir::ModuleOp module) {
  // ExecutionEngineOptions::transformer is a function_ref: the function it
  // refers to must outlive create() (a temporary would dangle; ASan finds
  // it).
  std::function<llvm::Error(llvm::Module *)> optimize =
      mlir::makeOptimizingTransformer(2, 0, nullptr);
  mlir::ExecutionEngineOptions options;
  options.transformer = optimize;
  // The perf listener writes a directory under /tmp/.debug per module:
  // thousands over a test run, kept after it.
  options.enablePerfNotificationListener = false;
  return mlir::ExecutionEngine::create(module, options);
}

} // namespace ssm::test

#endif // SSM_TEST_SUPPORT_JIT_H
