//===- Driver.cpp - The ssmc compilation flow -----------------------------===//
//
// Part of ssmc. The module is parsed from an MLIR file or built from a
// model folder (ModelImporter.h). CPU: ssm-cpu-bufferize (C header from these
// signatures) -> ssm-cpu-to-llvm -> LLVM IR for the chosen CPU -> optimized
// LLVM -> assembly / object -> shared library (through the system C
// compiler as linker). CUDA: ssm-gpu-to-nvvm -> the kernels' PTX.
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Driver.h"

#include "ssm/Frontend/ModelImporter.h"
#include "ssm/InitAll.h"
#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Support/Nesting.h"
#include "ssm/Support/Output.h"
#include "ssm/Target/CHeader.h"
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
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {

int fail(const Twine &message) {
  llvm::errs() << "ssmc: error: " << message << "\n";
  return 1;
}

/// Include guard from the header's file name: SSMC_<NAME>_H.
std::string guardFor(StringRef path) {
  std::string guard = "SSMC_";
  for (char c : llvm::sys::path::stem(path))
    guard += std::isalnum(static_cast<unsigned char>(c)) ? std::toupper(c) : '_';
  return guard + "_H";
}

/// Writes the file `path` ('-': stdout) with `write`. An I/O error (a full
/// disk, a closed pipe) is reported naming the file, and a partial file is
/// removed; left in the stream, it would stop the program with an LLVM
/// ERROR when the stream is destroyed.
int writeFile(const std::string &path,
              function_ref<bool(llvm::raw_pwrite_stream &)> write) {
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> out = openOutputFile(path, &error);
  if (!out)
    return fail(error);
  bool written = write(out->os());
  if (std::string failure = finishOutput(*out, path); !failure.empty())
    return fail(failure);
  if (!written)
    return 1;
  out->keep();
  return 0;
}

/// The input and the files ssmc writes must all be different files: with
/// `--weights` naming the library, say, one would overwrite the other.
std::optional<int> checkDistinctFiles(const ssm::DriverOptions &options,
                                      StringRef weights) {
  struct Named {
    const char *flag;
    StringRef path;
  };
  SmallVector<Named> files;
  if (options.input != "-")
    files.push_back({"the input", options.input});
  if (options.output != "-")
    files.push_back({"-o", options.output});
  if (!options.header.empty() && options.header != "-")
    files.push_back({"--header", options.header});
  if (!weights.empty())
    files.push_back({"--weights", weights});
  auto canonical = [](StringRef path) {
    SmallString<256> absolute(path);
    llvm::sys::fs::make_absolute(absolute);
    llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
    return absolute;
  };
  for (size_t i = 0; i < files.size(); ++i)
    for (size_t j = i + 1; j < files.size(); ++j) {
      bool same = false;
      if (llvm::sys::fs::equivalent(files[i].path, files[j].path, same) ||
          !same)
        same = canonical(files[i].path) == canonical(files[j].path);
      if (same)
        return fail(Twine(files[i].flag) + " and " + files[j].flag +
                    " name the same file '" + files[j].path +
                    "': one would overwrite the other");
    }
  return std::nullopt;
}

/// Runs `build` on `module`; false (diagnostics already printed) on failure,
/// including an error that a pass reported without failing (some upstream
/// passes carry on after one).
bool runPipeline(ModuleOp module, const ssm::DriverOptions &options,
                 function_ref<void(OpPassManager &)> build) {
  bool errorReported = false;
  ScopedDiagnosticHandler watch(module.getContext(), [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error)
      errorReported = true;
    return failure(); // On to the handler that prints it.
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
  return succeeded(pm.run(module)) && !errorReported;
}

/// What writing the weights of an imported model folder needs.
struct ImportedModel {
  WeightsLayout layout;
  std::optional<Checkpoint> checkpoint;
};

/// Reads, checks and imports the model folder `folder` into `context`;
/// null after printing the error.
OwningOpRef<ModuleOp> importModel(StringRef folder,
                                  const ssm::DriverOptions &options,
                                  MLIRContext &context, ImportedModel &model) {
  auto report = [&](llvm::Error error) {
    llvm::handleAllErrors(std::move(error), [&](const llvm::ErrorInfoBase &e) {
      fail(e.message());
    });
    return OwningOpRef<ModuleOp>();
  };
  llvm::SmallString<256> configPath(folder);
  llvm::sys::path::append(configPath, "config.json");
  llvm::Expected<HFConfig> config = loadHFConfig(configPath);
  if (!config)
    return report(config.takeError());
  llvm::Expected<Checkpoint> checkpoint = Checkpoint::openFolder(folder);
  if (!checkpoint)
    return report(checkpoint.takeError());
  if (llvm::Error e = checkLayerCount(*config, *checkpoint))
    return report(std::move(e));
  ModelDescription description = ModelDescription::fromConfig(*config);
  llvm::Expected<CheckpointReport> checked =
      checkCheckpoint(description, *checkpoint);
  if (!checked)
    return report(checked.takeError());
  for (const std::string &warning : checked->warnings)
    llvm::errs() << "ssmc: warning: " << warning << "\n";
  model.layout = WeightsLayout::forModel(description);
  ModelImportOptions importOptions;
  importOptions.name = options.modelName;
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      buildModelModule(context, description, model.layout, importOptions);
  if (!module)
    return report(module.takeError());
  model.checkpoint = std::move(*checkpoint);
  return std::move(*module);
}

/// Where a model's weights go: --weights, else next to an object or
/// library output with the extension .weights; empty for none.
std::string weightsPath(const ssm::DriverOptions &options) {
  if (!options.weights.empty())
    return options.weights;
  if (options.output == "-" ||
      (options.emit != ssm::EmitKind::Object && options.emit != ssm::EmitKind::Shared))
    return "";
  llvm::SmallString<256> path(options.output);
  llvm::sys::path::replace_extension(path, "weights");
  return std::string(path);
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

/// Checks the flags that only make sense for one target.
std::optional<int> checkTargetFlags(const ssm::DriverOptions &options) {
  using ssm::EmitKind;
  bool cuda = options.targetKind == ssm::TargetKind::CUDA;
  if (!cuda && options.emit == EmitKind::PTX)
    return fail("--emit=ptx needs --target=cuda");
  if (cuda && !options.threads)
    return fail("--target=cuda code launches through libssm_runtime: "
                "--parallel=false does not apply");
  if (options.checks == ssm::CheckFailure::status && !options.threads)
    return fail("--checks=status records the message in libssm_runtime "
                "(ssm_last_error): --parallel=false does not apply");
  return std::nullopt;
}

} // namespace

int ssm::compile(const DriverOptions &options) {
  if (std::optional<int> status = checkTargetFlags(options))
    return *status;
  if (options.emit == EmitKind::Shared && options.output == "-")
    return fail("a shared library needs an output file (-o)");
  if (options.emit == EmitKind::Shared && options.threads &&
      !llvm::sys::fs::exists(options.runtimeDir + "/libssm_runtime.so"))
    return fail("no libssm_runtime.so in '" + options.runtimeDir +
                "' to link the shared library against (--runtime-dir, or "
                "--parallel=false for code without the runtime)");
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);

  std::string error;
  // A model folder is built into a module directly; an MLIR file is parsed
  // below, once the flags are checked.
  std::unique_ptr<llvm::MemoryBuffer> input;
  OwningOpRef<ModuleOp> module;
  std::optional<ImportedModel> model;
  if (options.pipeline.callerOutputs && options.targetKind == TargetKind::CUDA)
    return fail("--caller-outputs is for the CPU so far: a CUDA entry point's "
                "outputs are device buffers it allocates (docs/gpu.md)");
  bool modelFolder =
      options.input != "-" && llvm::sys::fs::is_directory(options.input);
  if (options.checks == CheckFailure::status && !options.pipeline.callerOutputs &&
      !modelFolder)
    return fail("--checks=status needs --caller-outputs: an entry point that "
                "allocates its results has nothing to return when a check "
                "fails");
  if (modelFolder) {
    if (options.targetKind == TargetKind::CUDA && options.emit != EmitKind::Imported)
      return fail("'" + options.input + "' is a model folder: whole models "
                  "compile for the CPU only so far (--target=cuda takes ssm IR "
                  "files; docs/models.md)");
    module = importModel(options.input, options, context, model.emplace());
    if (!module)
      return 1;
  } else {
    input = openInputFile(options.input, &error);
    if (!input)
      return fail(error);
  }
  if (!options.weights.empty() && !model)
    return fail("--weights is for model folders; '" + options.input +
                "' is an MLIR file");
  if (std::optional<int> status =
          checkDistinctFiles(options, model ? weightsPath(options) : ""))
    return *status;
  llvm::SourceMgr sources;
  SourceMgrDiagnosticHandler diagnostics(sources, &context);
  if (!module) {
    if (!checkNestingDepth(*input))
      return 1;
    sources.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
    module = parseInput(sources, context);
    if (!module)
      return 1;
  }

  auto writeOutput = [&](function_ref<bool(llvm::raw_pwrite_stream &)> write) {
    return writeFile(options.output, write);
  };

  if (options.emit == EmitKind::Imported)
    return writeOutput([&](llvm::raw_pwrite_stream &os) {
      module->print(os);
      return true;
    });

  const bool cuda = options.targetKind == TargetKind::CUDA;
  // Target first: a bad --mcpu is reported before any work is done. With
  // --target=cuda it compiles the host code.
  std::unique_ptr<llvm::TargetMachine> machine;
  if (options.emit >= EmitKind::LLVMIR && options.emit != EmitKind::PTX) {
    machine = createCPUTargetMachine(options.target, error);
    if (!machine)
      return fail(error);
  }
  if (cuda) {
    // Without libdevice, exp and log1p would stay unresolved calls.
    SmallString<256> libdevice(options.gpu.cudaPath);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (!llvm::sys::fs::exists(libdevice))
      return fail("no libdevice at '" + libdevice +
                  "': --target=cuda needs the CUDA toolkit (--cuda-path)");
  }

  if (!runPipeline(*module, options, [&](OpPassManager &pm) {
        if (cuda)
          buildGPUBufferizePipeline(pm, options.gpu);
        else if (model) {
          // The model ABI (model_abi.h): the caller passes the logits.
          CPUPipelineOptions pipeline = options.pipeline;
          pipeline.callerOutputs = true;
          buildCPUBufferizePipeline(pm, pipeline);
        } else {
          buildCPUBufferizePipeline(pm, options.pipeline);
        }
      }) ||
      (cuda && failed(checkDeviceBuffers(*module))))
    return 1;
  if (model) {
    // The ABI promises callers that the caches are updated in place and
    // the logits written into their buffer: a cache bufferization copied
    // would come back as a result.
    for (auto func : module->getOps<func::FuncOp>())
      if (!func.isPrivate() && func.getNumResults() != 0)
        return fail("internal error: the caches of '" + func.getSymName() +
                    "' were not updated in place");
    std::string path = weightsPath(options);
    if (!path.empty()) {
      if (llvm::Error e = writeWeightsFile(path, model->layout, *model->checkpoint)) {
        llvm::handleAllErrors(std::move(e), [&](const llvm::ErrorInfoBase &info) {
          error = info.message();
        });
        return fail(error);
      }
    }
  }
  if (!options.header.empty()) {
    HeaderRuntime runtime = cuda              ? HeaderRuntime::CUDA
                            : options.threads ? HeaderRuntime::ThreadPool
                                              : HeaderRuntime::None;
    if (int status = writeFile(options.header, [&](llvm::raw_pwrite_stream &os) {
          return succeeded(emitCHeader(*module, guardFor(options.header),
                                       runtime,
                                       options.checks == CheckFailure::status,
                                       os));
        }))
      return status;
  }

  if (options.emit == EmitKind::Bufferized)
    return writeOutput([&](llvm::raw_pwrite_stream &os) {
      module->print(os);
      return true;
    });

  if (!runPipeline(*module, options, [&](OpPassManager &pm) {
        if (cuda) {
          GPUPipelineOptions gpu = options.gpu;
          gpu.checks = options.checks;
          buildGPUToNVVMPipeline(pm, gpu);
        } else {
          buildCPULowerToLLVMPipeline(
              pm, {options.threads, options.inlineMath, options.checks});
        }
      }))
    return 1;
  // `ssm.in_place` and the names have told the header which buffers a call
  // updates and what they are called, and the names the argument checks
  // what to say; LLVM has no such parameter attributes.
  for (auto func : module->getOps<FunctionOpInterface>()) {
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
      func.removeArgAttr(i, "ssm.in_place");
      func.removeArgAttr(i, "ssm.output");
      func.removeArgAttr(i, kNameAttrName);
    }
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      func.removeResultAttr(i, kNameAttrName);
  }
  if (options.emit == EmitKind::PTX)
    return writeOutput([&](llvm::raw_pwrite_stream &os) {
      return succeeded(writePTX(*module, os));
    });
  if (options.emit == EmitKind::LLVMDialect)
    return writeOutput([&](llvm::raw_pwrite_stream &os) {
      module->print(os);
      return true;
    });

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(*module, llvmContext, *machine, options.target);
  if (!llvmModule)
    return 1;
  switch (options.emit) {
  case EmitKind::LLVMIR:
    return writeOutput([&](llvm::raw_pwrite_stream &os) {
      llvmModule->print(os, nullptr);
      return true;
    });
  case EmitKind::Assembly:
  case EmitKind::Object: {
    auto kind = options.emit == EmitKind::Assembly
                    ? llvm::CodeGenFileType::AssemblyFile
                    : llvm::CodeGenFileType::ObjectFile;
    int status = writeOutput([&](llvm::raw_pwrite_stream &os) {
      return emitMachineCode(*llvmModule, *machine, kind, os, error);
    });
    return error.empty() ? status : fail(error);
  }
  case EmitKind::Shared: {
    // The system compiler links for the host only.
    llvm::Triple host(llvm::sys::getDefaultTargetTriple());
    const llvm::Triple &target = machine->getTargetTriple();
    if (target.getArch() != host.getArch() || target.getOS() != host.getOS())
      return fail("--emit=shared links with the host's C compiler, which cannot "
                  "link for " + target.str() + "; emit an object (--emit=obj) "
                  "and link it with that target's toolchain");
    llvm::SmallString<128> object;
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("ssmc", "o", object))
      return fail("cannot create a temporary file: " + ec.message());
    llvm::FileRemover removeObject(object);
    if (int status = writeFile(std::string(object), [&](llvm::raw_pwrite_stream &os) {
          return emitMachineCode(*llvmModule, *machine,
                                 llvm::CodeGenFileType::ObjectFile, os, error);
        }))
      return error.empty() ? status : fail(error);
    // The system C compiler links: it knows where libc and libm live.
    llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
    if (!cc)
      return fail("no C compiler (cc) on PATH to link the shared library");
    // The soname is the file name, so programs linked against the library
    // find it by name (rpath, LD_LIBRARY_PATH), not by the build path.
    std::string soname =
        "-Wl,-soname," + llvm::sys::path::filename(options.output).str();
    // -Bsymbolic: the library's calls to its own functions (a C-interface
    // wrapper to `step`, say) bind inside it. Otherwise, in a dlopen'ed
    // library, a name that an earlier library exports wins: glibc's legacy
    // regexp `step` took the call of examples/mamba1_scan.mlir's @step.
    SmallVector<StringRef> args{*cc, "-shared", soname, "-Wl,-Bsymbolic",
                                "-o", options.output, object};
    // The runtime is found where it was linked from (a RUNPATH), so that a
    // program linking only this library loads it without LD_LIBRARY_PATH.
    SmallString<256> runtimeDir(options.runtimeDir);
    llvm::sys::fs::make_absolute(runtimeDir);
    std::string searchDir = ("-L" + runtimeDir).str();
    std::string runPath = ("-Wl,-rpath," + runtimeDir).str();
    if (options.threads) {
      args.push_back(searchDir);
      args.push_back(runPath);
      args.push_back("-lssm_runtime");
    }
    args.push_back("-lm");
    if (usesVectorMath(options.target, *machine))
      args.push_back("-lmvec");
    std::string message;
    if (llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message) != 0)
      return fail("linking " + options.output + " failed" +
                  (message.empty() ? "" : ": " + message));
    return 0;
  }
  default:
    return fail("unhandled output kind");
  }
}
