//===- GPUToEmulator.h - GPU kernels as host code for the emulator -*- C++ -*-===//
//
// Part of ssmc's tests. The IR half of the SIMT emulator that runs
// convert-ssm-to-gpu's kernels on the CPU (test/Integration/GPU): a
// rewrite that turns the gpu.module's kernels into host functions calling
// `ssm_emu_*` (thread and block ids, shuffles, barriers, tensor-core
// products, shared-memory accesses for the racecheck). Registered in
// ssm-opt as `test-ssm-gpu-to-emulator`, so lit can check what the
// emulator runs.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_LIB_TRANSFORMS_GPUTOEMULATOR_H
#define SSM_TEST_LIB_TRANSFORMS_GPUTOEMULATOR_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>

namespace mlir::ssm::test {

/// The emulated shared memory, one arena for every block (they run one
/// after another): 256 KiB, so that the 18 address bits a wgmma matrix
/// descriptor keeps (PTX ISA, "Matrix Descriptor Format") locate an operand
/// inside it.
constexpr int64_t kEmulatorArenaBytes = int64_t(1) << 18;

/// Replaces the gpu.func kernels of `module`'s one gpu.module by host
/// functions of the same names and signatures that call the emulator,
/// declares the emulator's functions and its arena (`ssm_emu_arena`), and
/// removes the host functions that launched the kernels.
/// Fails on GPU operations the emulator does not model.
LogicalResult moveKernelsToHost(ModuleOp module);

/// Registers the test passes with MLIR's pass registry.
void registerTestPasses();

} // namespace mlir::ssm::test

#endif // SSM_TEST_LIB_TRANSFORMS_GPUTOEMULATOR_H
