//===- CPU.h - From the LLVM dialect to CPU code ----------------*- C++ -*-===//
//
// Part of ssmc. Translation of a module in the LLVM dialect to LLVM IR for a
// chosen CPU, LLVM's optimization pipeline, and emission of assembly or
// object code. Target details (triple, CPU, features) stay behind these
// options so AArch64 is a flag away.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CPU_H
#define SSM_TARGET_CPU_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace mlir::ssm {

/// What to generate code for.
struct CPUTargetOptions {
  /// Target triple; empty means the host's.
  std::string triple;
  /// CPU name as LLVM spells it (x86-64-v3, znver4, ...); "native" means the
  /// host CPU with its detected features.
  std::string cpu = "native";
  /// Extra feature string (+avx512f,...), appended to the CPU's.
  std::string features;
  /// LLVM optimization level, 0 to 3.
  unsigned optLevel = 3;
  /// Let LLVM vectorize libm calls (expf, log1pf) through glibc's vector
  /// math library, libmvec, on x86-64 Linux targets. Code compiled so needs
  /// `-lmvec` at link time (shared libraries from ssmc carry it).
  bool vectorMath = true;
};

/// True when `options` ask for libmvec and the target can use it.
/// Whether `machine` scales by a power of two in one instruction
/// (AVX-512's vscalefps, what llvm.ldexp becomes there): ssm-inline-math's
/// `scale-exponent` pays off. Elsewhere ldexp is a libm call.
bool scalesExponentCheaply(const llvm::TargetMachine &machine);

bool usesVectorMath(const CPUTargetOptions &options,
                    const llvm::TargetMachine &machine);

/// Creates the target machine, or returns null and sets `error`.
std::unique_ptr<llvm::TargetMachine>
createCPUTargetMachine(const CPUTargetOptions &options, std::string &error);

/// Translates `module` (LLVM dialect only) to LLVM IR with the machine's
/// triple and data layout set, and runs LLVM's optimization pipeline.
/// Returns null after emitting a diagnostic on `module`.
std::unique_ptr<llvm::Module> translateAndOptimize(
    ModuleOp module, llvm::LLVMContext &context, llvm::TargetMachine &machine,
    const CPUTargetOptions &options);

/// Writes `module` as assembly or object code to `os`; false on failure.
bool emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                     llvm::CodeGenFileType kind, llvm::raw_pwrite_stream &os,
                     std::string &error);

} // namespace mlir::ssm

#endif // SSM_TARGET_CPU_H
