//===- Driver.cpp - The ssmc compilation flow -----------------------------===//
//
// Part of ssmc. The module is parsed from MLIR text or built from a model
// folder (ModelImporter.h). CPU: ssm-cpu-bufferize (the interface, for the C
// header, from these signatures) -> ssm-cpu-to-llvm -> LLVM IR for the chosen
// CPU -> optimized LLVM -> assembly / object -> shared library (through the
// system C compiler as linker). CUDA: ssm-gpu-to-nvvm -> the kernels' PTX,
// or host code with the PTX embedded. Everything is produced in memory; the
// caller writes what it wants (writeArtifact).
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Driver.h"

#include "ssm/InitAll.h"
#include "ssm/Support/Nesting.h"
#include "ssm/Support/Output.h"
#include "ssm/Target/GPU.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/AsmParser/AsmParserState.h"
#include "mlir/Bytecode/BytecodeReader.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <dlfcn.h>

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Reports driver errors (no source location) as `ssmc: error: ...`.
struct Reporter {
  const DiagnosticCallback &callback;
  LogicalResult error(const Twine &message) const {
    callback(DiagnosticSeverity::Error, ("ssmc: error: " + message).str());
    return failure();
  }
  void warning(const Twine &message) const {
    callback(DiagnosticSeverity::Warning, ("ssmc: warning: " + message).str());
  }
  LogicalResult error(llvm::Error e) const {
    std::string message;
    llvm::handleAllErrors(std::move(e), [&](const llvm::ErrorInfoBase &info) {
      message = info.message();
    });
    return error(message);
  }
};

/// Include guard from the header's file name: SSMC_<NAME>_H.
std::string guardFor(StringRef path) {
  std::string guard = "SSMC_";
  for (char c : llvm::sys::path::stem(path))
    guard += std::isalnum(static_cast<unsigned char>(c)) ? std::toupper(c) : '_';
  return guard + "_H";
}

/// The lib/ folder next to the code that runs this: the folder of the
/// shared library it is in (libssmc_compiler.so sits beside the runtime, in
/// the build tree and in an installation alike), or bin/'s sibling lib/ for
/// a program that links it statically.
std::string defaultRuntimeDir() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&defaultRuntimeDir), &info) ||
      !info.dli_fname)
    return "";
  // A library loaded by a relative path has a relative name: relative to
  // the working directory it was loaded from, assumed unchanged.
  SmallString<256> self(info.dli_fname);
  llvm::sys::fs::make_absolute(self);
  SmallString<256> dir(llvm::sys::path::parent_path(self));
  if (llvm::sys::path::filename(dir) == "bin") {
    llvm::sys::path::remove_filename(dir);
    llvm::sys::path::append(dir, "lib");
  }
  return std::string(dir);
}

/// Runs `build` on `module`; failure (diagnostics already reported) when a
/// pass fails, or reports an error without failing (some upstream passes
/// carry on after one).
LogicalResult runPipeline(ModuleOp module, const DriverOptions &options,
                          function_ref<void(OpPassManager &)> build) {
  bool errorReported = false;
  ScopedDiagnosticHandler watch(module.getContext(), [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error)
      errorReported = true;
    return failure(); // On to the handler that reports it.
  });
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  build(pm);
  if (options.printPipeline) {
    pm.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (options.printIRAfterAll) {
    module.getContext()->disableMultithreading();
    pm.enableIRPrinting([](Pass *, Operation *) { return false; },
                        [](Pass *, Operation *) { return true; },
                        /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
  }
  return success(succeeded(pm.run(module)) && !errorReported);
}

/// The packed format `--weight-type` asks for; none for f32. Auto follows
/// the checkpoint's embeddings, the largest matrix every model has.
std::optional<WeightFormat> packedFormat(WeightType type,
                                         const Checkpoint &checkpoint) {
  switch (type) {
  case WeightType::Auto:
    if (const Checkpoint::Entry *embeddings =
            checkpoint.find("backbone.embeddings.weight")) {
      if (embeddings->info->dtype == TensorDType::BF16)
        return WeightFormat::bf16;
      if (embeddings->info->dtype == TensorDType::F16)
        return WeightFormat::f16;
    }
    return std::nullopt;
  case WeightType::F32:
    return std::nullopt;
  case WeightType::BF16:
    return WeightFormat::bf16;
  case WeightType::F16:
    return WeightFormat::f16;
  case WeightType::Q8_0:
    return WeightFormat::q8_0;
  case WeightType::Q4_0:
    return WeightFormat::q4_0;
  }
  llvm_unreachable("every weight type is handled");
}

/// Reads, checks and imports the model folder `folder` into `context`, and
/// keeps in `artifacts` what writing its weights needs; null after
/// reporting the error.
OwningOpRef<ModuleOp> importModel(StringRef folder, const DriverOptions &options,
                                  MLIRContext &context, Artifacts &artifacts,
                                  const Reporter &report) {
  auto fail = [&](llvm::Error error) {
    (void)report.error(std::move(error));
    return OwningOpRef<ModuleOp>();
  };
  llvm::SmallString<256> configPath(folder);
  llvm::sys::path::append(configPath, "config.json");
  llvm::Expected<HFConfig> config = loadHFConfig(configPath);
  if (!config)
    return fail(config.takeError());
  llvm::Expected<Checkpoint> checkpoint = Checkpoint::openFolder(folder);
  if (!checkpoint)
    return fail(checkpoint.takeError());
  if (llvm::Error e = checkLayerCount(*config, *checkpoint))
    return fail(std::move(e));
  ModelDescription description = ModelDescription::fromConfig(*config);
  llvm::Expected<CheckpointReport> checked =
      checkCheckpoint(description, *checkpoint);
  if (!checked)
    return fail(checked.takeError());
  for (const std::string &warning : checked->warnings)
    report.warning(warning);
  WeightsLayout layout = WeightsLayout::forModel(
      description, packedFormat(options.weightType, *checkpoint));
  ModelImportOptions importOptions;
  importOptions.name = options.modelName;
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      buildModelModule(context, description, layout, importOptions);
  if (!module)
    return fail(module.takeError());
  artifacts.layout = std::move(layout);
  artifacts.checkpoint = std::move(*checkpoint);
  return std::move(*module);
}

/// The name `value` has in the source, `x` for `%x`; empty for a numbered
/// value (`%0`, a name the printer made up) and for a member of a result
/// group (`%r:2` defines `%r#0` and `%r#1`).
StringRef sourceName(Value value, const AsmParserState &state) {
  const AsmParserState::SMDefinition *definition = nullptr;
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    const AsmParserState::BlockDefinition *block =
        state.getBlockDef(arg.getOwner());
    if (block && arg.getArgNumber() < block->arguments.size())
      definition = &block->arguments[arg.getArgNumber()];
  } else if (const AsmParserState::OperationDefinition *op =
                 state.getOpDef(value.getDefiningOp())) {
    unsigned number = cast<OpResult>(value).getResultNumber();
    auto groups = ArrayRef(op->resultGroups);
    for (auto [i, group] : llvm::enumerate(groups)) {
      unsigned end = i + 1 < groups.size() ? groups[i + 1].startIndex
                                           : op->op->getNumResults();
      if (group.startIndex == number && end == number + 1)
        definition = &group.definition;
    }
  }
  if (!definition || !definition->loc.isValid())
    return "";
  StringRef text(definition->loc.Start.getPointer(),
                 definition->loc.End.getPointer() -
                     definition->loc.Start.getPointer());
  if (!text.consume_front("%") || text.empty() || llvm::isDigit(text.front()))
    return "";
  return text;
}

/// Names the arguments and results of the functions in `parsed` for the C
/// header (kNameAttrName) after their SSA names in the source: `%x: ...`
/// names an argument `x`, `return %y` a result `y` (where every return of
/// the function agrees). Only the text has those names: later stages
/// rename values, and the attributes go with the signature through
/// bufferization. A name written as the attribute stays.
void recordSourceNames(Block &parsed, const AsmParserState &state) {
  parsed.walk([&](func::FuncOp func) {
    // The IR is not verified yet: a body whose arguments disagree with the
    // signature is left to the verifier, which reports it.
    if (func.isExternal() ||
        func.getFunctionType().getNumInputs() != func.front().getNumArguments())
      return;
    Builder b(func.getContext());
    for (BlockArgument arg : func.getArguments()) {
      StringRef name = sourceName(arg, state);
      if (!name.empty() && !func.getArgAttr(arg.getArgNumber(), kNameAttrName))
        func.setArgAttr(arg.getArgNumber(), kNameAttrName,
                        b.getStringAttr(name));
    }
    SmallVector<std::optional<StringRef>> results(func.getNumResults());
    func.walk([&](func::ReturnOp ret) {
      for (auto [name, operand] : llvm::zip(results, ret.getOperands())) {
        StringRef own = sourceName(operand, state);
        name = name && *name != own ? StringRef() : own;
      }
    });
    for (auto [i, name] : llvm::enumerate(results))
      if (name && !name->empty() && !func.getResultAttr(i, kNameAttrName))
        func.setResultAttr(i, kNameAttrName, b.getStringAttr(*name));
  });
}

/// Parses the MLIR file in `sources`, text or bytecode, and records the SSA
/// names of the text (recordSourceNames); null after printing the error.
OwningOpRef<ModuleOp> parseInput(const llvm::SourceMgr &sources,
                                 MLIRContext &context) {
  const llvm::MemoryBuffer *buffer =
      sources.getMemoryBuffer(sources.getMainFileID());
  // Bytecode keeps attributes but no SSA names.
  if (isBytecode(buffer->getMemBufferRef()))
    return parseSourceFile<ModuleOp>(sources, &context);
  AsmParserState state;
  Block parsed;
  if (failed(parseAsmSourceFile(sources, &parsed, ParserConfig(&context),
                                &state)))
    return OwningOpRef<ModuleOp>();
  recordSourceNames(parsed, state);
  // What parseSourceFile<ModuleOp> does with what it parsed: the file's
  // module, or a new one around its operations.
  return mlir::detail::constructContainerOpForParserIfNecessary<ModuleOp>(
      &parsed, &context,
      FileLineColLoc::get(&context, buffer->getBufferIdentifier(), 0, 0));
}

/// Checks the flags against each other and against the input.
LogicalResult checkFlags(const DriverOptions &options, const Reporter &report) {
  bool cuda = options.targetKind == TargetKind::CUDA;
  if (!cuda && options.emit == EmitKind::PTX)
    return report.error("--emit=ptx needs --target=cuda");
  if (cuda && !options.threads)
    return report.error("--target=cuda code launches through libssm_runtime: "
                        "--parallel=false does not apply");
  if (options.checks == CheckFailure::status && !options.threads)
    return report.error("--checks=status records the message in "
                        "libssm_runtime (ssm_last_error): --parallel=false "
                        "does not apply");
  if (options.pipeline.callerOutputs && cuda)
    return report.error("--caller-outputs is for the CPU so far: a CUDA entry "
                        "point's outputs are device buffers it allocates "
                        "(docs/gpu.md)");
  return success();
}

/// Links `object` into a shared library with the system C compiler (which
/// knows where libc and libm live) and returns its bytes.
FailureOr<std::string> linkShared(StringRef object, const DriverOptions &options,
                                  StringRef runtimeDirectory, bool vectorMath,
                                  const Reporter &report) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return report.error("no C compiler (cc) on PATH to link the shared library");
  llvm::SmallString<128> library;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("ssmc", "so", library))
    return report.error("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeLibrary(library);
  // -Bsymbolic: the library's calls to its own functions (a C-interface
  // wrapper to `step`, say) bind inside it. Otherwise, in a dlopen'ed
  // library, a name that an earlier library exports wins: glibc's legacy
  // regexp `step` took the call of examples/mamba1_scan.mlir's @step. The
  // soname makes programs linked against the library look for it by name
  // (RUNPATH, LD_LIBRARY_PATH), not by the path it was linked from.
  std::string soname = "-Wl,-soname," + options.soname;
  SmallVector<StringRef> args{*cc,  "-shared", soname, "-Wl,-Bsymbolic",
                              "-o", library,   object};
  // The runtime is found where it was linked from (a RUNPATH), so that a
  // program linking only this library loads it without LD_LIBRARY_PATH.
  SmallString<256> runtimeDir(runtimeDirectory);
  llvm::sys::fs::make_absolute(runtimeDir);
  std::string searchDir = ("-L" + runtimeDir).str();
  std::string runPath = ("-Wl,-rpath," + runtimeDir).str();
  if (options.threads) {
    args.push_back(searchDir);
    args.push_back(runPath);
    args.push_back("-lssm_runtime");
  }
  args.push_back("-lm");
  if (vectorMath)
    args.push_back("-lmvec");
  std::string message;
  if (llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message) != 0)
    return report.error("linking the shared library failed" +
                        (message.empty() ? "" : ": " + message));
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bytes =
      llvm::MemoryBuffer::getFile(library, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!bytes)
    return report.error("cannot read the linked library: " +
                        bytes.getError().message());
  return (*bytes)->getBuffer().str();
}

/// The flow after the module exists: bufferization, the interface,
/// lowering, and the output in `artifacts`.
LogicalResult compileModule(ModuleOp module, const DriverOptions &options,
                            Artifacts &artifacts, const Reporter &report) {
  auto print = [&](Operation *op) {
    llvm::raw_string_ostream os(artifacts.output);
    op->print(os);
    return success();
  };
  artifacts.emit = options.emit;
  if (options.emit == EmitKind::Imported)
    return print(module);

  const bool cuda = options.targetKind == TargetKind::CUDA;
  bool model = artifacts.checkpoint.has_value();
  std::string error;
  // Target first: a bad --mcpu is reported before any work is done. With
  // --target=cuda it compiles the host code; for the CPU, --emit=mlir needs
  // it too, since its features choose how exp scales by 2^k.
  std::unique_ptr<llvm::TargetMachine> machine;
  if (options.emit >= (cuda ? EmitKind::LLVMIR : EmitKind::LLVMDialect) &&
      options.emit != EmitKind::PTX) {
    machine = createCPUTargetMachine(options.target, error);
    if (!machine)
      return report.error(error);
  }
  bool scaleExponent = !cuda && machine && scalesExponentCheaply(*machine);
  std::string runtimeDir =
      options.runtimeDir.empty() ? defaultRuntimeDir() : options.runtimeDir;
  if (options.emit == EmitKind::Shared && options.threads &&
      !llvm::sys::fs::exists(runtimeDir + "/libssm_runtime.so"))
    return report.error("no libssm_runtime.so in '" + runtimeDir +
                        "' to link the shared library against (--runtime-dir, "
                        "or --parallel=false for code without the runtime)");
  if (cuda) {
    // Without libdevice, exp and log1p would stay unresolved calls.
    SmallString<256> libdevice(options.gpu.cudaPath);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (!llvm::sys::fs::exists(libdevice))
      return report.error("no libdevice at '" + libdevice +
                          "': --target=cuda needs the CUDA toolkit (--cuda-path)");
  }

  if (failed(runPipeline(module, options, [&](OpPassManager &pm) {
        if (cuda) {
          buildGPUBufferizePipeline(pm, options.gpu);
        } else {
          // The model ABI (model_abi.h): the caller passes the logits.
          CPUPipelineOptions pipeline = options.pipeline;
          pipeline.callerOutputs |= model;
          buildCPUBufferizePipeline(pm, pipeline);
        }
      })) ||
      (cuda && failed(checkDeviceBuffers(module))))
    return failure();
  if (model) {
    // The ABI promises callers that the caches are updated in place and
    // the logits written into their buffer: a cache bufferization copied
    // would come back as a result.
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isPrivate() && func.getNumResults() != 0)
        return report.error("internal error: the caches of '" +
                            func.getSymName() + "' were not updated in place");
  }
  {
    // The interface is read off the bufferized signatures. A module whose
    // signatures C cannot express still compiles: only asking for its
    // header or interface reports why there is none.
    HeaderRuntime runtime = cuda              ? HeaderRuntime::CUDA
                            : options.threads ? HeaderRuntime::ThreadPool
                                              : HeaderRuntime::None;
    ScopedDiagnosticHandler capture(module.getContext(), [&](Diagnostic &d) {
      llvm::raw_string_ostream os(artifacts.interfaceError);
      os << d;
      return success();
    });
    FailureOr<ModuleInterface> interface = describeInterface(
        module, runtime, options.checks == CheckFailure::status);
    if (succeeded(interface))
      artifacts.interface = std::move(*interface);
  }

  if (options.emit == EmitKind::Bufferized)
    return print(module);

  if (failed(runPipeline(module, options, [&](OpPassManager &pm) {
        if (cuda) {
          GPUPipelineOptions gpu = options.gpu;
          gpu.checks = options.checks;
          buildGPUToNVVMPipeline(pm, gpu);
        } else {
          buildCPULowerToLLVMPipeline(
              pm, {options.threads, options.inlineMath, options.checks,
                   scaleExponent});
        }
      })))
    return failure();
  // `ssm.in_place` and the names have told the interface which buffers a
  // call updates and what they are called, and the argument checks what to
  // say; LLVM has no such parameter attributes.
  for (auto func : module.getOps<FunctionOpInterface>()) {
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
      func.removeArgAttr(i, "ssm.in_place");
      func.removeArgAttr(i, "ssm.output");
      func.removeArgAttr(i, kNameAttrName);
    }
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      func.removeResultAttr(i, kNameAttrName);
  }
  if (options.emit == EmitKind::PTX) {
    llvm::raw_string_ostream os(artifacts.output);
    return writePTX(module, os);
  }
  if (options.emit == EmitKind::LLVMDialect)
    return print(module);

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(module, llvmContext, *machine, options.target);
  if (!llvmModule)
    return failure();
  if (options.emit == EmitKind::LLVMIR) {
    llvm::raw_string_ostream os(artifacts.output);
    llvmModule->print(os, nullptr);
    return success();
  }
  auto emitCode = [&](llvm::CodeGenFileType kind) -> LogicalResult {
    SmallVector<char> code;
    llvm::raw_svector_ostream os(code);
    if (!emitMachineCode(*llvmModule, *machine, kind, os, error))
      return report.error(error);
    artifacts.output.assign(code.begin(), code.end());
    return success();
  };
  if (options.emit == EmitKind::Assembly)
    return emitCode(llvm::CodeGenFileType::AssemblyFile);
  if (failed(emitCode(llvm::CodeGenFileType::ObjectFile)))
    return failure();
  if (options.emit == EmitKind::Object)
    return success();

  // A shared library: the system compiler links for the host only.
  llvm::Triple host(llvm::sys::getDefaultTargetTriple());
  const llvm::Triple &target = machine->getTargetTriple();
  if (target.getArch() != host.getArch() || target.getOS() != host.getOS())
    return report.error(
        "--emit=shared links with the host's C compiler, which cannot link "
        "for " + target.str() + "; emit an object (--emit=obj) and link it "
        "with that target's toolchain");
  llvm::SmallString<128> object;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("ssmc", "o", fd, object))
    return report.error("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeObject(object);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << artifacts.output;
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      return report.error("cannot write '" + object + "': " + message);
    }
  }
  FailureOr<std::string> library =
      linkShared(object, options, runtimeDir,
                 usesVectorMath(options.target, *machine), report);
  if (failed(library))
    return failure();
  artifacts.output = std::move(*library);
  return success();
}

/// The flow from a file or folder (`text` null) or text in memory.
LogicalResult compileInput(const DriverOptions &options, StringRef name,
                           std::unique_ptr<llvm::MemoryBuffer> text,
                           Artifacts &artifacts,
                           const DiagnosticCallback &diagnostics) {
  Reporter report{diagnostics};
  artifacts = Artifacts();
  bool modelFolder =
      !text && name != "-" && llvm::sys::fs::is_directory(name);
  if (failed(checkFlags(options, report)))
    return failure();
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  // Diagnostics as ssmc prints them (with the source line), one callback
  // each.
  llvm::SourceMgr sources;
  std::string rendered;
  llvm::raw_string_ostream renderedStream(rendered);
  struct Renderer : SourceMgrDiagnosticHandler {
    using SourceMgrDiagnosticHandler::emitDiagnostic;
    using SourceMgrDiagnosticHandler::SourceMgrDiagnosticHandler;
  } renderer(sources, &context, renderedStream);
  ScopedDiagnosticHandler forward(&context, [&](Diagnostic &d) {
    rendered.clear();
    renderer.emitDiagnostic(d);
    renderedStream.flush();
    diagnostics(d.getSeverity(), StringRef(rendered).rtrim('\n'));
    return success();
  });

  OwningOpRef<ModuleOp> module;
  if (modelFolder) {
    if (options.targetKind == TargetKind::CUDA &&
        options.emit != EmitKind::Imported)
      return report.error("'" + name + "' is a model folder: whole models "
                          "compile for the CPU only so far (--target=cuda "
                          "takes ssm IR files; docs/models.md)");
    module = importModel(name, options, context, artifacts, report);
    if (!module)
      return failure();
  } else {
    if (!text) {
      std::string error;
      text = openInputFile(name, &error);
      if (!text)
        return report.error(error);
    }
    if (!checkInputText(*text))
      return failure();
    sources.AddNewSourceBuffer(std::move(text), llvm::SMLoc());
    module = parseInput(sources, context);
    if (!module)
      return failure();
  }
  if (name != "-")
    artifacts.headerGuard = guardFor(name);
  DriverOptions resolved = options;
  if (resolved.soname.empty())
    resolved.soname =
        "lib" + (name == "-" ? std::string("module")
                             : llvm::sys::path::stem(name).str()) + ".so";
  return compileModule(*module, resolved, artifacts, report);
}

} // namespace

LogicalResult ssm::compileFile(const DriverOptions &options, StringRef path,
                               Artifacts &artifacts,
                               const DiagnosticCallback &diagnostics) {
  return compileInput(options, path, nullptr, artifacts, diagnostics);
}

LogicalResult ssm::compileSource(const DriverOptions &options, StringRef name,
                                 StringRef text, Artifacts &artifacts,
                                 const DiagnosticCallback &diagnostics) {
  return compileInput(options, name,
                      llvm::MemoryBuffer::getMemBufferCopy(text, name),
                      artifacts, diagnostics);
}

FailureOr<std::string> ssm::renderArtifact(const Artifacts &artifacts,
                                           ArtifactKind kind,
                                           const DiagnosticCallback &diagnostics) {
  Reporter report{diagnostics};
  std::string text;
  llvm::raw_string_ostream os(text);
  switch (kind) {
  case ArtifactKind::Output:
    return artifacts.output;
  case ArtifactKind::Header:
  case ArtifactKind::Interface:
    if (!artifacts.interface) {
      if (artifacts.emit < EmitKind::Bufferized)
        return report.error("--emit=imported stops before the signatures "
                            "the header describes exist");
      diagnostics(DiagnosticSeverity::Error, artifacts.interfaceError);
      return failure();
    }
    if (kind == ArtifactKind::Header)
      printCHeader(*artifacts.interface, artifacts.headerGuard, os);
    else
      printInterfaceJSON(*artifacts.interface, os);
    return text;
  case ArtifactKind::Weights:
    return report.error(artifacts.checkpoint
                            ? "the weights are written to a file only"
                            : "only a model folder has weights");
  }
  llvm_unreachable("unknown artifact kind");
}

/// Writes the file `path` ('-': stdout) with `write`. An I/O error (a full
/// disk, a closed pipe) is reported naming the file, and a partial file is
/// removed; left in the stream, it would stop the program with an LLVM
/// ERROR when the stream is destroyed.
static LogicalResult writeFile(StringRef path, const Reporter &report,
                               function_ref<void(llvm::raw_ostream &)> write) {
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> out = openOutputFile(path, &error);
  if (!out)
    return report.error(error);
  write(out->os());
  if (std::string failure = finishOutput(*out, path); !failure.empty())
    return report.error(failure);
  out->keep();
  return success();
}

LogicalResult ssm::writeArtifact(const Artifacts &artifacts, ArtifactKind kind,
                                 StringRef path,
                                 const DiagnosticCallback &diagnostics) {
  Reporter report{diagnostics};
  if (kind == ArtifactKind::Weights) {
    if (!artifacts.checkpoint)
      return report.error("only a model folder has weights");
    if (llvm::Error e =
            writeWeightsFile(path, *artifacts.layout, *artifacts.checkpoint))
      return report.error(std::move(e));
    return success();
  }
  if (kind == ArtifactKind::Header && artifacts.interface && path != "-") {
    // The guard names the file, so that two headers can be included together.
    return writeFile(path, report, [&](llvm::raw_ostream &os) {
      printCHeader(*artifacts.interface, guardFor(path), os);
    });
  }
  FailureOr<std::string> bytes = renderArtifact(artifacts, kind, diagnostics);
  if (failed(bytes) ||
      failed(writeFile(path, report,
                       [&](llvm::raw_ostream &os) { os << *bytes; })))
    return failure();
  // A shared library is a program file: executable, as a linker makes it.
  if (kind == ArtifactKind::Output && artifacts.emit == EmitKind::Shared &&
      path != "-")
    if (std::error_code ec = llvm::sys::fs::setPermissions(
            path, llvm::sys::fs::all_read | llvm::sys::fs::all_exe |
                      llvm::sys::fs::owner_write))
      return report.error("cannot make '" + path + "' executable: " +
                          ec.message());
  return success();
}
