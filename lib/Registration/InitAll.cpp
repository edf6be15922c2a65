//===- InitAll.cpp - Register everything ssmc provides --------------------===//
//
// Part of ssmc. See include/ssm/InitAll.h. ssm pipelines run upstream
// passes (bufferization, loop and LLVM lowering) that need their dialects'
// interface models, so the tools register all of upstream MLIR alongside the
// ssm dialect: a pipeline printed by one tool runs in the other.
//
//===----------------------------------------------------------------------===//

#include "ssm/InitAll.h"

#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

void mlir::ssm::registerAllDialects(DialectRegistry &registry) {
  registry.insert<SSMDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registerBufferizableOpInterfaceExternalModels(registry);
  // Translations to LLVM IR: the driver's for CPU code, and those
  // gpu-module-to-binary needs to turn kernels into PTX, in either tool.
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  // gpu.binary -> a global with the PTX, loaded by a constructor through
  // mgpuModuleLoadJIT (#gpu.select_object).
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  registerNVVMDialectTranslation(registry);
}

void mlir::ssm::registerAllPasses() {
  mlir::registerAllPasses();
  registerSSMTransformsPasses();
  registerSSMConversionPasses();
  registerPipelines();
}
