//===- InitAll.h - Register everything ssmc provides ------------*- C++ -*-===//
//
// Part of ssmc. One place that tools call to register the ssm dialect, the
// upstream dialects its pipelines produce, and the ssm passes, so that
// ssm-opt and the driver always see the same world.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_INITALL_H
#define SSM_INITALL_H

namespace mlir {
class DialectRegistry;
namespace ssm {

/// Inserts the ssm dialect and every dialect ssm passes create or consume,
/// with the translations to LLVM IR of those that reach it (host code and
/// the GPU kernels that gpu-module-to-binary compiles).
void registerAllDialects(DialectRegistry &registry);

/// Registers the ssm passes (and the upstream ones ssm-opt exposes).
void registerAllPasses();

} // namespace ssm
} // namespace mlir

#endif // SSM_INITALL_H
