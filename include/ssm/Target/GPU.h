//===- GPU.h - Kernels out of a module lowered for the GPU ------*- C++ -*-===//
//
// Part of ssmc. After ssm-gpu-to-nvvm, the kernels are gpu.binary ops whose
// objects hold PTX text; this is where they leave the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_GPU_H
#define SSM_TARGET_GPU_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::ssm {

/// Fails, with an error at each, if a host function of the bufferized
/// module allocates a host buffer (kernels cannot use host memory: every
/// buffer comes from the caller, like the `outs` of ssm.state_update, or is
/// a device allocation), or allocates a device buffer it does not return
/// (nothing would free it).
LogicalResult checkDeviceBuffers(ModuleOp module);

/// Writes the PTX of the module's kernels to `os`: the assembly object of
/// its one gpu.binary (ssm-gpu-to-nvvm puts every kernel into one
/// gpu.module for one target). Fails, with a diagnostic on the module, when
/// there is no such binary (no op was lowered to a kernel), when there are
/// several, when it holds other than one assembly object, or when the PTX
/// calls a function it does not define.
LogicalResult writePTX(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::ssm

#endif // SSM_TARGET_GPU_H
