//===- ssmc.cpp - The ssm compiler driver ---------------------------------===//
//
// Part of ssmc. A command line over the compiler's C API (ssm-c/Compiler.h):
// this file knows the input and the files to write; every compilation flag
// goes to the session, which defines them.
//
//===----------------------------------------------------------------------===//

#include "ssm-c/Compiler.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

const char *const usage =
    "OVERVIEW: ssmc: compile state-space-model IR (the ssm dialect), or a "
    "Hugging Face\nMamba / Mamba-2 model folder, to CPU code or GPU "
    "kernels\n\n"
    "  ssmc model.mlir -o model.o --header model.h\n"
    "  ssmc mamba-130m-hf/ --emit=shared -o libmamba.so --header mamba.h\n"
    "      (also writes libmamba.weights; run it with ssm-run libmamba.so)\n"
    "  ssmc model.mlir --emit=shared -o libmodel.so --header model.h\n"
    "  ssmc model.mlir --emit=llvm --mcpu=x86-64-v3\n"
    "  ssmc model.mlir --target=cuda --cuda-arch=sm_90 --emit=ptx -o "
    "model.ptx\n\n"
    "USAGE: ssmc [options] <input .mlir or model folder, default - (stdin)>\n\n"
    "OPTIONS:\n"
    "  -o <file>              Output file ('-' for stdout, the default)\n"
    "  --header=<file>        Also write a C header declaring the entry points\n"
    "  --interface=<file>     Also write the entry points as JSON (docs/sdk.md)\n"
    "  --weights=<file>       Model folders: where to write the weights file\n"
    "                         (default: the output with the extension .weights)\n"
    "  --help                 This help\n"
    "  --version              The compiler's version\n\n"
    "Compilation flags (also accepted by ssmc_session_set_flags):\n";

int fail(const std::string &message) {
  std::fprintf(stderr, "ssmc: error: %s\n", message.c_str());
  return 1;
}

/// The files named on the command line, which must all differ: with
/// `--weights` naming the library, say, one would overwrite the other.
struct NamedFile {
  const char *flag;
  std::string path;
};

bool sameFile(const std::string &a, const std::string &b) {
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec))
    return true;
  return std::filesystem::weakly_canonical(a, ec) ==
         std::filesystem::weakly_canonical(b, ec);
}

/// `--name=value` or `--name value` (also with one dash) at argv[i]; false
/// if argv[i] is not that flag.
bool takeValue(int argc, char **argv, int &i, const char *name,
               std::string &value, std::string &error) {
  std::string arg = argv[i];
  for (std::string spelling : {std::string("-") + name, std::string("--") + name}) {
    if (arg == spelling) {
      if (i + 1 >= argc) {
        error = "'" + arg + "' needs a value";
        return true;
      }
      value = argv[++i];
      return true;
    }
    if (arg.rfind(spelling + "=", 0) == 0) {
      value = arg.substr(spelling.size() + 1);
      return true;
    }
  }
  return false;
}

} // namespace

int main(int argc, char **argv) {
  std::string input, output = "-", header, interface, weights, error;
  bool haveInput = false, haveSoname = false;
  std::vector<std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      std::fputs(usage, stdout);
      std::fflush(stdout);
      ssmc_print_flags_help();
      return 0;
    }
    if (arg == "--version" || arg == "-version") {
      std::printf("ssmc %s\n", ssmc_version());
      return 0;
    }
    if (takeValue(argc, argv, i, "o", output, error) ||
        takeValue(argc, argv, i, "header", header, error) ||
        takeValue(argc, argv, i, "interface", interface, error) ||
        takeValue(argc, argv, i, "weights", weights, error)) {
      if (!error.empty())
        return fail(error);
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      haveSoname |= arg.rfind("--soname", 0) == 0 || arg.rfind("-soname", 0) == 0;
      flags.push_back(arg);
      if (ssmc_flag_takes_value(arg.c_str()) && i + 1 < argc)
        flags.push_back(argv[++i]);
      continue;
    }
    if (haveInput)
      return fail("more than one input: '" + input + "' and '" + arg + "'");
    input = arg;
    haveInput = true;
  }
  if (!haveInput)
    input = "-";
  // A shared library is found by the name it is written under.
  if (!haveSoname && output != "-")
    flags.insert(flags.begin(), "--soname=" +
                    std::filesystem::path(output).filename().string());

  ssmc_session_t *session;
  if (ssmc_session_create(&session) != SSMC_OK)
    return fail("cannot create a compiler session");
  std::vector<const char *> flagPointers;
  for (const std::string &flag : flags)
    flagPointers.push_back(flag.c_str());
  int status = 1;
  ssmc_artifacts_t *artifacts = nullptr;
  [&] {
    if (ssmc_session_set_flags(session, static_cast<int>(flagPointers.size()),
                               flagPointers.data()) != SSMC_OK)
      return;
    ssmc_output_kind_t kind = ssmc_session_get_output_kind(session);
    std::error_code ec;
    bool modelFolder = input != "-" && std::filesystem::is_directory(input, ec);
    if (!weights.empty() && !modelFolder) {
      fail("--weights is for model folders; '" + input + "' is an MLIR file");
      return;
    }
    // A model's weights go next to its object or library by default.
    if (modelFolder && weights.empty() && output != "-" &&
        (kind == SSMC_OUTPUT_OBJECT || kind == SSMC_OUTPUT_SHARED))
      weights = std::filesystem::path(output).replace_extension("weights").string();
    if (kind == SSMC_OUTPUT_SHARED && output == "-") {
      fail("a shared library needs an output file (-o)");
      return;
    }
    std::vector<NamedFile> files;
    if (input != "-")
      files.push_back({"the input", input});
    if (output != "-")
      files.push_back({"-o", output});
    if (!header.empty() && header != "-")
      files.push_back({"--header", header});
    if (!interface.empty() && interface != "-")
      files.push_back({"--interface", interface});
    if (!weights.empty())
      files.push_back({"--weights", weights});
    for (size_t i = 0; i < files.size(); ++i)
      for (size_t j = i + 1; j < files.size(); ++j)
        if (sameFile(files[i].path, files[j].path)) {
          fail(std::string(files[i].flag) + " and " + files[j].flag +
               " name the same file '" + files[j].path +
               "': one would overwrite the other");
          return;
        }
    if (ssmc_compile_file(session, input.c_str(), &artifacts) != SSMC_OK)
      return;
    // Weights and header first, as before the output: a program that sees
    // the output can use them.
    if (!weights.empty() &&
        ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_WEIGHTS, weights.c_str()))
      return;
    if (!header.empty() &&
        ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_HEADER, header.c_str()))
      return;
    if (!interface.empty() &&
        ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_INTERFACE,
                             interface.c_str()))
      return;
    if (ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_OUTPUT, output.c_str()))
      return;
    status = 0;
  }();
  ssmc_artifacts_destroy(artifacts);
  ssmc_session_destroy(session);
  return status;
}
