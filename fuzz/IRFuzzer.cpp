//===- IRFuzzer.cpp - Fuzzing the parser, verifiers and ssm lowerings -----===//
//
// Part of ssmc. Any text as IR, the way ssmc and ssm-opt take it first: the
// nesting bound, parsing and verification, then the ssm passes that open
// every pipeline (ssm-check-input, the run-time shape checks), the core op,
// its configuration for each target and the ssm lowerings themselves: to
// work items and loops for the CPU, to kernels for the GPU (sm_90a, the
// wgmma path), and the semantic definition (ssm-decompose) to loops, each
// followed by the verifier. One context lives across inputs, so this runs thousands of
// inputs a second; ssm-fuzz-compile covers the rest of the flow (upstream
// bufferization, LLVM) at a second or so per input.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"
#include "ssm/InitAll.h"
#include "ssm/Support/Nesting.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {

MLIRContext &context() {
  static MLIRContext *instance = [] {
    DialectRegistry registry;
    ssm::registerAllDialects(registry);
    auto *context = new MLIRContext(registry);
    // One thread: a fuzzer's executions must be deterministic and cheap.
    context->disableMultithreading();
    context->loadAllAvailableDialects();
    // Diagnostics are the expected answer to bad input; printing them all
    // would only slow the fuzzer down.
    context->getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
    return context;
  }();
  return *instance;
}

enum class Path { CPU, GPU, Decomposed };

void lower(ModuleOp module, Path path) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  pm.addPass(ssm::createSSMCheckInputPass());
  OpPassManager &funcs = pm.nest<func::FuncOp>();
  funcs.addPass(ssm::createSSMInsertShapeChecksPass());
  switch (path) {
  case Path::CPU:
    funcs.addPass(ssm::createSSMToRecurrencePass());
    funcs.addPass(ssm::createSSMSelectAlgorithmPass());
    funcs.addPass(ssm::createSSMTileRecurrencesPass());
    funcs.addPass(ssm::createConvertSSMToSCFPass());
    break;
  case Path::GPU:
    funcs.addPass(ssm::createSSMToRecurrencePass());
    funcs.addPass(ssm::createSSMSelectGPUAlgorithmPass({ssm::GPUChip::sm_90a}));
    pm.addPass(ssm::createConvertSSMToGPUPass({ssm::GPUChip::sm_90a}));
    break;
  case Path::Decomposed:
    funcs.addPass(ssm::createSSMDecomposePass());
    funcs.addPass(ssm::createConvertSSMToSCFPass());
    break;
  }
  (void)pm.run(module);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // MLIR's lexer reads up to a terminating NUL, as files and ssmc's
  // buffers have: a std::string gives the fuzzer's bytes one.
  std::string text(reinterpret_cast<const char *>(data), size);
  if (ssm::findExcessiveNesting(text) || ssm::findMalformedDimensionList(text))
    return 0;
  MLIRContext &ctx = context();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module)
    return 0;
  llvm::raw_null_ostream sink;
  module->print(sink);
  for (Path path : {Path::GPU, Path::Decomposed}) {
    OwningOpRef<ModuleOp> copy(cast<ModuleOp>((*module)->clone()));
    lower(*copy, path);
  }
  lower(*module, Path::CPU);
  return 0;
}
