//===- ssmc.cpp - The ssm compiler driver ---------------------------------===//
//
// Part of ssmc. Flag parsing only; the flow is in lib/Driver.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Configuration.h"
#include "ssm/Driver/Driver.h"
#include "ssm/InitAll.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"

#include <cstdlib>

using namespace llvm;
using mlir::ssm::CheckFailure;
using mlir::ssm::checkFailureValues;
using mlir::ssm::EmitKind;

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::ssm::registerAllPasses();

  cl::OptionCategory category("ssmc options");
  cl::opt<std::string> input(cl::Positional,
                             cl::desc("<input .mlir or model folder>"),
                             cl::init("-"), cl::cat(category));
  cl::opt<std::string> output("o", cl::desc("Output file ('-' for stdout)"),
                              cl::value_desc("file"), cl::init("-"),
                              cl::cat(category));
  cl::opt<EmitKind> emit(
      "emit", cl::desc("What to produce"), cl::init(EmitKind::Object),
      cl::values(
          clEnumValN(EmitKind::Imported, "imported",
                     "the ssm IR as read (for a model folder: the imported "
                     "model)"),
          clEnumValN(EmitKind::Bufferized, "bufferized",
                     "MLIR after bufferization (loops on memrefs)"),
          clEnumValN(EmitKind::LLVMDialect, "mlir", "MLIR in the LLVM dialect"),
          clEnumValN(EmitKind::LLVMIR, "llvm", "optimized LLVM IR"),
          clEnumValN(EmitKind::Assembly, "asm", "assembly"),
          clEnumValN(EmitKind::Object, "obj", "an object file (default)"),
          clEnumValN(EmitKind::Shared, "shared", "a shared library"),
          clEnumValN(EmitKind::PTX, "ptx",
                     "the kernels' PTX, one file for one --cuda-arch "
                     "(--target=cuda)")),
      cl::cat(category));
  cl::opt<mlir::ssm::TargetKind> targetKind(
      "target", cl::desc("Where the code runs"),
      cl::init(mlir::ssm::TargetKind::CPU),
      cl::values(clEnumValN(mlir::ssm::TargetKind::CPU, "cpu",
                            "the CPU (default; see --mcpu, --mtriple)"),
                 clEnumValN(mlir::ssm::TargetKind::CUDA, "cuda",
                            "NVIDIA GPUs: kernels as PTX (--emit=ptx) for "
                            "--cuda-arch, or host code with the PTX embedded "
                            "(--emit=obj|shared) that launches them through "
                            "libssm_runtime; ops without a GPU lowering are "
                            "errors")),
      cl::cat(category));
  cl::opt<mlir::ssm::GPUChip> cudaArch(
      "cuda-arch",
      cl::desc("GPU architecture of --target=cuda (one PTX per architecture; "
               "default sm_80)"),
      mlir::ssm::gpuChipValues(), cl::init(mlir::ssm::GPUChip::sm_80),
      cl::cat(category));
  cl::opt<std::string> cudaPath(
      "cuda-path",
      cl::desc("CUDA toolkit root, whose libdevice the kernels link (default: "
               "$CUDA_HOME, $CUDA_PATH, $CUDA_ROOT, else /usr/local/cuda)"),
      cl::value_desc("dir"), cl::cat(category));
  cl::opt<std::string> header(
      "header", cl::desc("Also write a C header declaring the entry points"),
      cl::value_desc("file"), cl::cat(category));
  cl::opt<std::string> weights(
      "weights",
      cl::desc("Model folders: where to write the weights file (default: "
               "the output with the extension .weights)"),
      cl::value_desc("file"), cl::cat(category));
  cl::opt<std::string> modelName(
      "model-name",
      cl::desc("Model folders: prefix of the entry points <name>_prefill, "
               "<name>_decode and of the table <name>_info (default: model)"),
      cl::init("model"), cl::cat(category));
  cl::opt<std::string> mcpu(
      "mcpu", cl::desc("Target CPU: native (default), x86-64-v3, znver4, ..."),
      cl::init("native"), cl::cat(category));
  cl::opt<std::string> mtriple("mtriple", cl::desc("Target triple (default: host)"),
                               cl::cat(category));
  cl::opt<std::string> mattr("mattr", cl::desc("Extra target features (+avx512f,...)"),
                             cl::cat(category));
  cl::opt<bool> inlineMath(
      "inline-math",
      cl::desc("Compute f32 exp, expm1, log and log1p with inline polynomials "
               "that vectorize with their loops, within 4 ulp of libm "
               "(default on); --inline-math=false calls libm"),
      cl::init(true), cl::cat(category));
  cl::opt<CheckFailure> checks(
      "checks",
      cl::desc("What a call does when its buffers fail a run-time size check "
               "(default abort)"),
      cl::init(CheckFailure::abort), checkFailureValues(), cl::cat(category));
  cl::opt<bool> vectorMath(
      "vector-math",
      cl::desc("Vectorize the libm calls left (f64, or f32 with "
               "--inline-math=false) through glibc's libmvec on x86-64 "
               "Linux (default on; objects then need -lmvec)"),
      cl::init(true), cl::cat(category));
  cl::opt<bool> parallel(
      "parallel",
      cl::desc("Run the kernels' parallel loops on libssm_runtime's thread "
               "pool (default on; the code then links against the runtime, "
               "and SSM_NUM_THREADS or ssm_set_num_threads sets the count). "
               "--parallel=false gives serial code with no runtime dependency"),
      cl::init(true), cl::cat(category));
  cl::opt<std::string> runtimeDir(
      "runtime-dir",
      cl::desc("Directory of libssm_runtime.so for --emit=shared (default: "
               "the lib/ directory next to ssmc's bin/)"),
      cl::value_desc("dir"), cl::cat(category));
  cl::opt<bool> callerOutputs(
      "caller-outputs",
      cl::desc("Entry points write each result into a buffer the caller "
               "passes (trailing arguments, named after the results) and "
               "return nothing, instead of allocating results the caller "
               "frees (CPU; a model folder's entry points always do)"),
      cl::init(false), cl::cat(category));
  cl::opt<mlir::ssm::SSDAlgorithmChoice> ssdAlgorithm(
      "ssd-algorithm",
      cl::desc("Form of ssm.ssd ops that have no 'algorithm' attribute"),
      cl::init(mlir::ssm::SSDAlgorithmChoice::automatic),
      cl::values(clEnumValN(mlir::ssm::SSDAlgorithmChoice::automatic, "auto",
                            "Choose per op and shape by the cost model "
                            "(ssm-select-algorithm)"),
                 clEnumValN(mlir::ssm::SSDAlgorithmChoice::recurrent,
                            "recurrent", "The recurrence, step by step"),
                 clEnumValN(mlir::ssm::SSDAlgorithmChoice::chunked, "chunked",
                            "Chunks of matmuls (state-space duality)")),
      cl::cat(category));
  cl::opt<mlir::ssm::SSDChunkOrder> gpuSSDChunks(
      "gpu-ssd-chunks",
      cl::desc("--target=cuda: how the chunked ssm.ssd covers a sequence's "
               "chunks (default auto)"),
      mlir::ssm::ssdChunkOrderValues(),
      cl::init(mlir::ssm::SSDChunkOrder::Automatic), cl::cat(category));
  cl::opt<unsigned> opt("O", cl::desc("Optimization level 0-3 (default 3)"),
                        cl::Prefix, cl::init(3), cl::cat(category));
  cl::opt<bool> printPipeline("print-pipeline",
                              cl::desc("Print the pass pipelines as they run"),
                              cl::cat(category));
  cl::opt<bool> printIR("print-ir-after-all",
                        cl::desc("Print the IR after every pass (stderr)"),
                        cl::cat(category));
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "ssmc: compile state-space-model IR (the ssm dialect), or a Hugging "
      "Face\nMamba / Mamba-2 model folder, to CPU code or GPU kernels\n\n"
      "  ssmc model.mlir -o model.o --header model.h\n"
      "  ssmc mamba-130m-hf/ --emit=shared -o libmamba.so --header mamba.h\n"
      "      (also writes libmamba.weights; run it with ssm-run libmamba.so)\n"
      "  ssmc model.mlir --emit=shared -o libmodel.so --header model.h\n"
      "  ssmc model.mlir --emit=llvm --mcpu=x86-64-v3\n"
      "  ssmc model.mlir --target=cuda --cuda-arch=sm_90 --emit=ptx -o "
      "model.ptx\n");
  if (opt > 3) {
    errs() << "ssmc: error: -O" << opt << " is not a level (0 to 3)\n";
    return 1;
  }

  auto identifierChar = [](char c) { return isAlnum(c) || c == '_'; };
  if (modelName.empty() || isDigit(modelName[0]) ||
      !llvm::all_of(modelName, identifierChar)) {
    errs() << "ssmc: error: --model-name='" << modelName
           << "' is not a C identifier\n";
    return 1;
  }

  mlir::ssm::DriverOptions options;
  options.input = input;
  options.output = output;
  options.header = header;
  options.weights = weights;
  options.modelName = modelName;
  options.emit = emit;
  options.targetKind = targetKind;
  options.gpu.chip = cudaArch;
  options.gpu.optLevel = opt;
  options.gpu.cudaPath = cudaPath;
  options.gpu.ssdChunks = gpuSSDChunks;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *value = std::getenv(variable);
        options.gpu.cudaPath.empty() && value && *value)
      options.gpu.cudaPath = value;
  if (options.gpu.cudaPath.empty())
    options.gpu.cudaPath = "/usr/local/cuda";
  options.target.cpu = mcpu;
  options.target.triple = mtriple;
  options.target.features = mattr;
  options.target.optLevel = opt;
  options.target.vectorMath = vectorMath;
  options.threads = parallel;
  options.inlineMath = inlineMath;
  options.checks = checks;
  options.runtimeDir = runtimeDir;
  if (runtimeDir.empty()) {
    // bin/ssmc -> lib/, in the build tree and in an installation alike.
    SmallString<256> dir(sys::path::parent_path(sys::path::parent_path(
        sys::fs::getMainExecutable(argv[0], (void *)&main))));
    sys::path::append(dir, "lib");
    options.runtimeDir = std::string(dir);
  }
  options.pipeline.ssdAlgorithm = ssdAlgorithm;
  options.pipeline.callerOutputs = callerOutputs;
  options.printPipeline = printPipeline;
  options.printIRAfterAll = printIR;
  return mlir::ssm::compile(options);
}
