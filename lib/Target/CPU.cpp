//===- CPU.cpp - From the LLVM dialect to CPU code ------------------------===//
//
// Part of ssmc. See include/ssm/Target/CPU.h. The triple and data layout
// are set on the module before LLVM optimizes it: without them LLVM's
// vectorizers assume no vector unit and do nothing.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU.h"

#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/IR/SystemLibraries.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;

std::unique_ptr<llvm::TargetMachine>
ssm::createCPUTargetMachine(const CPUTargetOptions &options, std::string &error) {
  // Once per process: compilations on several threads (the C API's
  // sessions) would otherwise register the targets concurrently.
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
  llvm::Triple triple(options.triple.empty() ? llvm::sys::getDefaultTargetTriple()
                                             : options.triple);
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpu = options.cpu;
  std::string features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(feature.second ? "+" : "-") + feature.first().str();
  }
  if (!options.features.empty())
    features += (features.empty() ? "" : ",") + options.features;
  llvm::CodeGenOptLevel level = options.optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                        : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, level));
  if (!machine)
    error = "cannot create a target machine for " + triple.str() + " / " + cpu;
  else if (!machine->getMCSubtargetInfo()->isCPUStringValid(cpu))
    error = "unknown CPU '" + cpu + "' for " + triple.str();
  return error.empty() ? std::move(machine) : nullptr;
}

bool ssm::scalesExponentCheaply(const llvm::TargetMachine &machine) {
  return machine.getTargetTriple().getArch() == llvm::Triple::x86_64 &&
         machine.getMCSubtargetInfo()->checkFeatures("+avx512f");
}

bool ssm::usesVectorMath(const CPUTargetOptions &options,
                         const llvm::TargetMachine &machine) {
  const llvm::Triple &triple = machine.getTargetTriple();
  return options.vectorMath && triple.getArch() == llvm::Triple::x86_64 &&
         triple.isOSLinux() && triple.isGNUEnvironment();
}

/// LLVM's default optimization pipeline at `optLevel` for `machine`, with
/// the target library info told about libmvec when `vectorMath` (so loops
/// calling expf vectorize into calls of its vector variants). MLIR's
/// makeOptimizingTransformer offers no hook for the library info, hence a
/// pass builder of our own.
static void optimize(llvm::Module &module, llvm::TargetMachine &machine,
                     unsigned optLevel, bool vectorMath) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = optLevel > 1;
  tuning.SLPVectorization = optLevel > 1;
  llvm::PassBuilder builder(&machine, tuning);
  llvm::TargetLibraryInfoImpl libraryInfo(machine.getTargetTriple());
  if (vectorMath) {
    libraryInfo.addVectorizableFunctionsFromVecLib(llvm::VectorLibrary::LIBMVEC,
                                                   machine.getTargetTriple());
    // glibc 2.35 added log1pf and expm1f to libmvec; LLVM's table predates
    // them. Softplus and the ZOH discretization call them once per element.
    auto fixed = [](unsigned n) { return llvm::ElementCount::getFixed(n); };
    libraryInfo.addVectorizableFunctions({
        {"log1pf", "_ZGVbN4v_log1pf", fixed(4), false, "_ZGV_LLVM_N4v", {}},
        {"log1pf", "_ZGVdN8v_log1pf", fixed(8), false, "_ZGV_LLVM_N8v", {}},
        {"expm1f", "_ZGVbN4v_expm1f", fixed(4), false, "_ZGV_LLVM_N4v", {}},
        {"expm1f", "_ZGVdN8v_expm1f", fixed(8), false, "_ZGV_LLVM_N8v", {}},
        // AVX-512 variants, which LLVM's table lacks for every function.
        {"expf", "_ZGVeN16v_expf", fixed(16), false, "_ZGV_LLVM_N16v", {}},
        {"llvm.exp.f32", "_ZGVeN16v_expf", fixed(16), false, "_ZGV_LLVM_N16v", {}},
        {"log1pf", "_ZGVeN16v_log1pf", fixed(16), false, "_ZGV_LLVM_N16v", {}},
        {"expm1f", "_ZGVeN16v_expm1f", fixed(16), false, "_ZGV_LLVM_N16v", {}},
    });
  }
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(libraryInfo); });
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager passes =
      optLevel == 0 ? builder.buildO0DefaultPipeline(level)
                    : builder.buildPerModuleDefaultPipeline(level);
  passes.run(module, mam);
}

std::unique_ptr<llvm::Module>
ssm::translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                          llvm::TargetMachine &machine,
                          const CPUTargetOptions &options) {

  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule) {
    module.emitError("cannot translate the module to LLVM IR");
    return nullptr;
  }
  llvmModule->setTargetTriple(machine.getTargetTriple());
  llvmModule->setDataLayout(machine.createDataLayout());
  // Record the CPU on every function so that emitted IR says what it was
  // optimized for and any later tool compiles it the same way.
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", machine.getTargetCPU());
    if (!machine.getTargetFeatureString().empty())
      f.addFnAttr("target-features", machine.getTargetFeatureString());
    // LLVM prefers 256-bit vectors on AVX-512 CPUs by default (clock
    // throttling on early parts); the scan loops are bound by vector math
    // calls and FMAs, where twice the width wins on current CPUs.
    if (machine.getTargetTriple().isX86() &&
        machine.getMCSubtargetInfo()->checkFeatures("+avx512f"))
      f.addFnAttr("prefer-vector-width", "512");
  }
  optimize(*llvmModule, machine, options.optLevel,
           usesVectorMath(options, machine));
  return llvmModule;
}

bool ssm::emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                          llvm::CodeGenFileType kind, llvm::raw_pwrite_stream &os,
                          std::string &error) {
  // Object writers seek back to patch headers, which a pipe or a terminal
  // cannot (LLVM stops the program there): the code goes to memory first,
  // then to `os`, whatever it is.
  llvm::SmallVector<char, 0> code;
  llvm::raw_svector_ostream buffer(code);
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, buffer, nullptr, kind)) {
    error = "the target cannot emit this file type";
    return false;
  }
  pm.run(module);
  os.write(code.data(), code.size());
  return true;
}
