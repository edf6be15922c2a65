//===- Flags.cpp - ssmc's compilation flags -------------------------------===//
//
// Part of ssmc. The flags of a compilation, defined once: the ssmc tool
// passes its command line here, and the C API's ssmc_session_set_flags
// takes the same strings. They are MLIR pass options (an llvm::cl
// subcommand of their own), so parsing needs no global command line and
// gives llvm::cl's value checking and help.
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Driver.h"

#include "ssm/Transforms/Configuration.h"

#include "mlir/Pass/PassOptions.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::ssm;

namespace {

struct DriverFlags : mlir::detail::PassOptions {
  Option<EmitKind> emit{
      *this, "emit", llvm::cl::desc("What to produce"),
      llvm::cl::init(EmitKind::Object),
      llvm::cl::values(
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
                     "(--target=cuda)"))};
  Option<TargetKind> target{
      *this, "target", llvm::cl::desc("Where the code runs"),
      llvm::cl::init(TargetKind::CPU),
      llvm::cl::values(
          clEnumValN(TargetKind::CPU, "cpu",
                     "the CPU (default; see --mcpu, --mtriple)"),
          clEnumValN(TargetKind::CUDA, "cuda",
                     "NVIDIA GPUs: kernels as PTX (--emit=ptx) for "
                     "--cuda-arch, or host code with the PTX embedded "
                     "(--emit=obj|shared) that launches them through "
                     "libssm_runtime; ops without a GPU lowering are errors"))};
  Option<GPUChip> cudaArch{
      *this, "cuda-arch",
      llvm::cl::desc("GPU architecture of --target=cuda (one PTX per "
                     "architecture; default sm_80)"),
      llvm::cl::init(GPUChip::sm_80), gpuChipValues()};
  Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit root, whose libdevice the kernels link "
                     "(default: $CUDA_HOME, $CUDA_PATH, $CUDA_ROOT, else "
                     "/usr/local/cuda)"),
      llvm::cl::value_desc("dir")};
  Option<std::string> modelName{
      *this, "model-name",
      llvm::cl::desc("Model folders: prefix of the entry points "
                     "<name>_prefill, <name>_decode and of the table "
                     "<name>_info (default: model)"),
      llvm::cl::init("model")};
  Option<WeightType> weightType{
      *this, "weight-type",
      llvm::cl::desc("Model folders: how the large matrices (embeddings, "
                     "in_proj, x_proj, out_proj, lm_head) are stored and "
                     "read; the others stay f32"),
      llvm::cl::init(WeightType::Auto),
      llvm::cl::values(
          clEnumValN(WeightType::Auto, "auto",
                     "the checkpoint's type if it is bf16 or f16, else f32 "
                     "(default)"),
          clEnumValN(WeightType::F32, "f32", "32-bit floats"),
          clEnumValN(WeightType::BF16, "bf16",
                     "bfloat16. With AMX-BF16, products multiply them by "
                     "activations rounded to bf16 on the tile unit, as "
                     "llama.cpp does; SSM_BF16_A=f32 at run time keeps "
                     "activations in f32"),
          clEnumValN(WeightType::F16, "f16", "IEEE half precision"),
          clEnumValN(WeightType::Q8_0, "q8_0",
                     "8-bit integers with an f16 scale per 32 (GGUF's Q8_0; "
                     "matrices whose rows are not a multiple of 32 stay "
                     "f32). With AVX-512 VNNI, products multiply them by "
                     "activations rounded to 8 bits, as llama.cpp does; "
                     "SSM_Q8_0_A=f32 at run time keeps activations in f32"),
          clEnumValN(WeightType::Q4_0, "q4_0",
                     "4-bit integers with an f16 scale per 32 (GGUF's "
                     "Q4_0; likewise, SSM_Q4_0_A=f32)"))};
  Option<std::string> mcpu{
      *this, "mcpu",
      llvm::cl::desc("Target CPU: native (default), x86-64-v3, znver4, ..."),
      llvm::cl::init("native")};
  Option<std::string> mtriple{*this, "mtriple",
                              llvm::cl::desc("Target triple (default: host)")};
  Option<std::string> mattr{
      *this, "mattr", llvm::cl::desc("Extra target features (+avx512f,...)")};
  Option<bool> inlineMath{
      *this, "inline-math",
      llvm::cl::desc("Compute f32 exp, expm1, log and log1p with inline "
                     "polynomials that vectorize with their loops, within 4 "
                     "ulp of libm (default on); --inline-math=false calls "
                     "libm"),
      llvm::cl::init(true)};
  Option<CheckFailure> checks{
      *this, "checks",
      llvm::cl::desc("What a call does when its buffers fail a run-time "
                     "size check (default abort)"),
      llvm::cl::init(CheckFailure::abort), checkFailureValues()};
  Option<bool> vectorMath{
      *this, "vector-math",
      llvm::cl::desc("Vectorize the libm calls left (f64, or f32 with "
                     "--inline-math=false) through glibc's libmvec on x86-64 "
                     "Linux (default on; objects then need -lmvec)"),
      llvm::cl::init(true)};
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run the kernels' parallel loops on libssm_runtime's "
                     "thread pool (default on; the code then links against "
                     "the runtime, and SSM_NUM_THREADS or "
                     "ssm_set_num_threads sets the count). --parallel=false "
                     "gives serial code with no runtime dependency"),
      llvm::cl::init(true)};
  Option<std::string> runtimeDir{
      *this, "runtime-dir",
      llvm::cl::desc("Directory of libssm_runtime.so for --emit=shared "
                     "(default: the lib/ directory of the compiler)"),
      llvm::cl::value_desc("dir")};
  Option<std::string> soname{
      *this, "soname",
      llvm::cl::desc("--emit=shared: the name by which programs linked "
                     "against the library look for it (default: the output "
                     "file's name)"),
      llvm::cl::value_desc("name")};
  Option<bool> callerOutputs{
      *this, "caller-outputs",
      llvm::cl::desc("Entry points write each result into a buffer the "
                     "caller passes (trailing arguments, named after the "
                     "results) and return nothing, instead of allocating "
                     "results the caller frees (CPU; a model folder's entry "
                     "points always do)"),
      llvm::cl::init(false)};
  Option<SSDAlgorithmChoice> ssdAlgorithm{
      *this, "ssd-algorithm",
      llvm::cl::desc("Form of ssm.ssd ops that have no 'algorithm' attribute"),
      llvm::cl::init(SSDAlgorithmChoice::automatic), ssdAlgorithmValues()};
  Option<SSDChunkOrder> gpuSSDChunks{
      *this, "gpu-ssd-chunks",
      llvm::cl::desc("--target=cuda: how the chunked ssm.ssd covers a "
                     "sequence's chunks (default auto)"),
      ssdChunkOrderValues(), llvm::cl::init(SSDChunkOrder::Automatic)};
  Option<unsigned> optLevel{*this, "O",
                            llvm::cl::desc("Optimization level 0-3 (default 3)"),
                            llvm::cl::init(3)};
  Option<bool> printPipeline{
      *this, "print-pipeline",
      llvm::cl::desc("Print the pass pipelines as they run (stderr)"),
      llvm::cl::init(false)};
  Option<bool> printIR{*this, "print-ir-after-all",
                       llvm::cl::desc("Print the IR after every pass (stderr)"),
                       llvm::cl::init(false)};

  /// The values of the flags that take one of a list.
  llvm::StringMap<std::vector<std::string>> choices;

  DriverFlags() {
    // llvm::cl reports a bad value on stderr itself; checked first, it is
    // reported the way every other flag error is.
    auto names = [&](auto &option) {
      auto &parser = option.getParser();
      std::vector<std::string> &list = choices[option.ArgStr];
      for (unsigned i = 0, e = parser.getNumOptions(); i < e; ++i)
        list.push_back(parser.getOption(i).str());
    };
    names(emit);
    names(target);
    names(cudaArch);
    names(checks);
    names(ssdAlgorithm);
    names(gpuSSDChunks);
    for (auto *option : {&inlineMath, &vectorMath, &parallel, &callerOutputs,
                         &printPipeline, &printIR})
      choices[option->ArgStr] = {"true", "false", "1", "0",
                                 "TRUE", "FALSE", "True", "False"};
  }

  /// Why `value` is not one for the flag `name`; empty if it is.
  std::string checkValue(StringRef name, StringRef value) const {
    if (name == "O")
      return !value.empty() && llvm::all_of(value, llvm::isDigit)
                 ? ""
                 : "'" + value.str() + "' is not a number";
    auto found = choices.find(name);
    if (found == choices.end() || llvm::is_contained(found->second, value))
      return "";
    return "'" + value.str() + "' is not one of " +
           llvm::join(found->second, ", ");
  }

  bool defines(StringRef name) const { return OptionsMap.count(name); }
  /// Whether the flag `name` needs a value (all but the booleans).
  bool needsValue(StringRef name) const {
    auto found = OptionsMap.find(name);
    return found != OptionsMap.end() &&
           found->second->getValueExpectedFlag() == llvm::cl::ValueRequired;
  }
};

/// `key=value` as PassOptions::parseFromString reads one option: a value
/// with spaces or quotes goes in the quotes it does not contain.
std::string optionText(StringRef key, std::optional<StringRef> value) {
  if (!value)
    return key.str();
  char quote = value->contains('"') ? '\'' : '"';
  bool plain = !value->contains(' ') && !value->contains('"') &&
               !value->contains('\'') && !value->contains('{');
  return plain ? (key + "=" + *value).str()
               : (key + "=" + Twine(quote) + *value + Twine(quote)).str();
}

/// A flag's name and its value after `=`, if any: `--emit=shared`, `-O2`.
/// False for something that is not a flag.
bool splitFlag(StringRef flag, StringRef &key, std::optional<StringRef> &value) {
  StringRef body = flag;
  if (!body.consume_front("-") || body.empty())
    return false;
  body.consume_front("-");
  auto [name, rest] = body.split('=');
  key = name;
  value = std::nullopt;
  if (body.contains('='))
    value = rest;
  // -O2 is the compilers' spelling of -O=2.
  if (key.size() > 1 && key.front() == 'O' && !value &&
      llvm::all_of(key.drop_front(), llvm::isDigit)) {
    value = key.drop_front();
    key = "O";
  }
  return true;
}

} // namespace

bool ssm::driverFlagTakesNextArgument(StringRef flag) {
  StringRef key;
  std::optional<StringRef> value;
  return splitFlag(flag, key, value) && !value &&
         DriverFlags().needsValue(key);
}

LogicalResult ssm::parseDriverFlags(ArrayRef<std::string> flags,
                                    DriverOptions &options, std::string &error) {
  DriverFlags parsed;
  for (size_t i = 0; i < flags.size(); ++i) {
    StringRef flag = flags[i];
    StringRef key;
    std::optional<StringRef> given;
    if (!splitFlag(flag, key, given)) {
      error = "'" + flag.str() + "' is not a flag (flags start with - or --)";
      return failure();
    }
    if (!parsed.defines(key)) {
      error = "unknown flag '" + flag.str() + "' (ssmc --help lists them)";
      return failure();
    }
    // `--mcpu znver4`, as llvm::cl's command lines allow.
    if (!given && parsed.needsValue(key)) {
      if (i + 1 == flags.size()) {
        error = "'" + flag.str() + "' needs a value";
        return failure();
      }
      given = StringRef(flags[++i]);
    }
    if (given) {
      if (std::string reason = parsed.checkValue(key, *given); !reason.empty()) {
        error = "bad value in '" + flag.str() + "': " + reason;
        return failure();
      }
    }
    std::string message;
    llvm::raw_string_ostream os(message);
    if (failed(parsed.parseFromString(optionText(key, given), os))) {
      StringRef reason = StringRef(message).trim();
      // llvm::cl names its parser first; the flag says more.
      reason.consume_front("<Pass-Options-Parser>:");
      error = "bad value in '" + flag.str() + "': " + reason.trim().str();
      return failure();
    }
  }
  if (parsed.optLevel > 3) {
    error = "-O" + std::to_string(parsed.optLevel) + " is not a level (0 to 3)";
    return failure();
  }
  StringRef name = parsed.modelName;
  auto identifierChar = [](char c) { return llvm::isAlnum(c) || c == '_'; };
  if (name.empty() || llvm::isDigit(name.front()) ||
      !llvm::all_of(name, identifierChar)) {
    error = "--model-name='" + name.str() + "' is not a C identifier";
    return failure();
  }

  options = DriverOptions();
  options.modelName = parsed.modelName;
  options.weightType = parsed.weightType;
  options.emit = parsed.emit;
  options.targetKind = parsed.target;
  options.gpu.chip = parsed.cudaArch;
  options.gpu.optLevel = parsed.optLevel;
  options.gpu.cudaPath = parsed.cudaPath;
  options.gpu.ssdChunks = parsed.gpuSSDChunks;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *value = std::getenv(variable);
        options.gpu.cudaPath.empty() && value && *value)
      options.gpu.cudaPath = value;
  if (options.gpu.cudaPath.empty())
    options.gpu.cudaPath = "/usr/local/cuda";
  options.target.cpu = parsed.mcpu;
  options.target.triple = parsed.mtriple;
  options.target.features = parsed.mattr;
  options.target.optLevel = parsed.optLevel;
  options.target.vectorMath = parsed.vectorMath;
  options.threads = parsed.parallel;
  options.inlineMath = parsed.inlineMath;
  options.checks = parsed.checks;
  options.runtimeDir = parsed.runtimeDir;
  options.soname = parsed.soname;
  options.pipeline.ssdAlgorithm = parsed.ssdAlgorithm;
  options.pipeline.callerOutputs = parsed.callerOutputs;
  options.printPipeline = parsed.printPipeline;
  options.printIRAfterAll = parsed.printIR;
  return success();
}

void ssm::printDriverFlagsHelp() {
  DriverFlags flags;
  flags.printHelp(/*indent=*/0, /*descIndent=*/flags.getOptionWidth() + 2);
}
