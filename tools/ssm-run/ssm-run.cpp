//===- ssm-run.cpp - Run a language model compiled by ssmc ----------------===//
//
// Part of ssmc. Greedy generation with a model compiled from a Hugging Face
// folder: one prefill over the prompt, then one decode step per new token.
// Prints the generated ids on stdout; timings, throughput and peak memory
// on stderr.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runner/CompiledModel.h"
#include "ssm/Runner/Process.h"
#include "ssm/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <climits>
#include <cstring>
#include <dirent.h>
#include <filesystem>
#include <malloc.h>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <vector>

namespace {

const char kUsage[] =
    "usage: ssm-run MODEL --prompt-ids 1,2,3 [options]\n"
    "       ssm-run MODEL --prompt \"text\" [options]\n"
    "\n"
    "Runs a Mamba / Mamba-2 language model with greedy decoding: the prompt\n"
    "in one prefill call, then one decode step per new token. MODEL is a\n"
    "library compiled by\n"
    "  ssmc MODEL_FOLDER --emit=shared -o LIBRARY\n"
    "or a Hugging Face model folder, which ssm-run compiles with the ssmc next\n"
    "to it (or $SSMC) once and keeps in $SSM_CACHE_DIR (default\n"
    "~/.cache/ssmc). The generated ids go to stdout (comma-separated), or\n"
    "with --prompt the generated text; prefill and decode throughput and peak\n"
    "memory go to stderr.\n"
    "\n"
    "options:\n"
    "  --prompt-ids IDS      comma-separated token ids\n"
    "  --prompt TEXT         text, tokenized with the checkpoint's\n"
    "                        tokenizer.json by Hugging Face's tokenizers\n"
    "                        library, run by $SSM_PYTHON (default python3;\n"
    "                        pip install tokenizers)\n"
    "  --tokenizer FILE      the tokenizer.json for --prompt (default: the\n"
    "                        model folder's)\n"
    "  --max-new-tokens N    tokens to generate (default 16)\n"
    "  --threads N           worker threads for the kernels and the BLAS\n"
    "                        (default: SSM_NUM_THREADS, else all cores)\n"
    "  --device cpu|cuda     where to run (default cpu)\n"
    "  --weights FILE        the weights file (default: LIBRARY with the\n"
    "                        extension .weights)\n"
    "  --weight-type TYPE    a model folder's large matrices: auto, f32,\n"
    "                        bf16, f16, q8_0 or q4_0 (ssmc --weight-type;\n"
    "                        default auto, the checkpoint's type)\n"
    "  --model-name NAME     the --model-name given to ssmc (default model)\n"
    "  --eos-id ID           stop after generating this id\n"
    "  --quiet               no progress and no statistics\n"
    "  -h, --help            this text\n"
    "\n"
    "environment:\n"
    "  SSM_Q8_0_A, SSM_Q4_0_A=f32  q8_0 / q4_0 weights: keep the activations\n"
    "                        in f32 (default int8: rounded to 8 bits on CPUs\n"
    "                        with AVX-512 VNNI, as llama.cpp does)\n"
    "  SSM_BF16_A=f32        bf16 weights: keep the activations in f32\n"
    "                        (default bf16: rounded to bf16 on CPUs with\n"
    "                        AMX-BF16, prompts on the tile unit)\n";

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "ssm-run: error: %s\n", message.c_str());
  std::exit(1);
}

/// A non-negative decimal integer, or dies naming the flag.
int64_t parseCount(const std::string &text, const char *flag) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    die(std::string(flag) + " expects a non-negative integer, got '" + text + "'");
  return std::stoll(text);
}

std::vector<int64_t> parseIds(const std::string &text) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    ids.push_back(parseCount(item, "--prompt-ids"));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return ids;
}

/// FNV-1a, for cache keys.
uint64_t fnv1a(uint64_t hash, const std::string &text) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

/// A file's identity for the cache key: path, size and modification time.
std::string fileStamp(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return path + ":missing";
  return path + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
}

/// The directory of this program (to find the ssmc built beside it).
std::string selfDirectory() {
  std::vector<char> buffer(4096);
  ssize_t n = readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0)
    return ".";
  std::string path(buffer.data(), static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

/// Compiles the model folder `folder` with ssmc into the cache, unless an
/// up-to-date library is there; returns the library's path.
std::string compileFolder(const std::string &folder,
                          const std::string &weightType, bool quiet) {
  char resolved[PATH_MAX];
  if (!realpath(folder.c_str(), resolved))
    die("cannot resolve '" + folder + "': " + std::strerror(errno));
  std::string root(resolved);
  const char *env = std::getenv("SSMC");
  std::string ssmc = env && *env ? env : selfDirectory() + "/ssmc";
  if (access(ssmc.c_str(), X_OK) != 0)
    die("no ssmc at '" + ssmc + "' to compile the model folder '" + folder +
        "' (set SSMC, or compile it yourself: ssmc FOLDER --emit=shared -o "
        "LIBRARY)");
  // The key covers what the library depends on: the folder's files, the
  // compiler and its flags.
  uint64_t key = fnv1a(0xcbf29ce484222325ULL, fileStamp(ssmc));
  key = fnv1a(key, "--weight-type=" + weightType);
  DIR *dir = opendir(root.c_str());
  if (!dir)
    die("cannot read the model folder '" + folder + "': " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent *entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "config.json" || name.find(".safetensors") != std::string::npos)
      names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string &name : names)
    key = fnv1a(key, fileStamp(root + "/" + name));
  const char *cacheEnv = std::getenv("SSM_CACHE_DIR");
  const char *home = std::getenv("HOME");
  std::string cache = cacheEnv && *cacheEnv ? cacheEnv
                      : home                ? std::string(home) + "/.cache/ssmc"
                                            : "/tmp/ssmc-cache";
  std::string base = root.substr(root.rfind('/') + 1);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  std::string entry = cache + "/" + base + "-" + hex;
  std::string library = entry + "/libmodel.so";
  if (access(library.c_str(), R_OK) == 0) {
    if (!quiet)
      std::fprintf(stderr, "ssm-run: using %s (compiled earlier)\n", library.c_str());
    return library;
  }
  // Compile into a private directory, then move it into place: concurrent
  // runs never see half a library. No shell: the paths are the user's.
  std::error_code ec;
  std::filesystem::create_directories(cache, ec);
  if (ec)
    die("cannot create the cache directory '" + cache + "': " + ec.message());
  std::string scratch = entry + ".tmp." + std::to_string(getpid());
  if (mkdir(scratch.c_str(), 0755) != 0)
    die("cannot create '" + scratch + "': " + std::strerror(errno));
  if (!quiet)
    std::fprintf(stderr, "ssm-run: compiling %s with %s into %s\n", folder.c_str(),
                 ssmc.c_str(), entry.c_str());
  std::string error;
  if (!ssmrun::runProgram({ssmc, root, "--emit=shared",
                           "--weight-type=" + weightType, "-o",
                           scratch + "/libmodel.so"},
                          error)) {
    std::filesystem::remove_all(scratch, ec);
    die("ssmc could not compile the model folder '" + folder + "' (" + error +
        "; see above)");
  }
  if (rename(scratch.c_str(), entry.c_str()) != 0) {
    int renameError = errno;
    std::filesystem::remove_all(scratch, ec);
    // Another run compiled the same model meanwhile: use its library.
    if (renameError != ENOTEMPTY && renameError != EEXIST)
      die("cannot move the compiled model into '" + entry + "': " +
          std::strerror(renameError));
  }
  return library;
}

/// The tokenizer runs in Python: Hugging Face's tokenizers library is the
/// one that reads every checkpoint's tokenizer.json as its authors meant,
/// and it has no C interface.
const char kTokenizerScript[] = R"py(import sys
try:
    from tokenizers import Tokenizer
except ImportError:
    sys.exit("ssm-run: error: --prompt needs the tokenizers package for " +
             sys.executable + " (pip install tokenizers)")
mode, path, source, target = sys.argv[1:5]
tokenizer = Tokenizer.from_file(path)
with open(source, encoding="utf-8") as f:
    data = f.read()
if mode == "encode":
    out = ",".join(str(i) for i in tokenizer.encode(data).ids)
else:
    out = tokenizer.decode([int(x) for x in data.split(",") if x])
with open(target, "w", encoding="utf-8") as f:
    f.write(out)
)py";

/// Encodes text to comma-separated ids, or decodes them (`mode`), with the
/// tokenizer at `tokenizer`.
std::string tokenize(const char *mode, const std::string &tokenizer,
                     const std::string &input) {
  char folder[] = "/tmp/ssm-run-XXXXXX";
  if (!mkdtemp(folder))
    die(std::string("cannot create a temporary folder: ") + std::strerror(errno));
  std::string in = std::string(folder) + "/in", out = std::string(folder) + "/out";
  auto cleanup = [&] {
    std::error_code ec;
    std::filesystem::remove_all(folder, ec);
  };
  {
    std::ofstream file(in, std::ios::binary);
    file << input;
    if (!file) {
      cleanup();
      die("cannot write '" + in + "'");
    }
  }
  const char *env = std::getenv("SSM_PYTHON");
  std::string python = env && *env ? env : "python3";
  std::string error;
  if (!ssmrun::runProgram({python, "-c", kTokenizerScript, mode, tokenizer, in, out},
                          error)) {
    cleanup();
    die(std::string("--prompt: the tokenizer (") + mode + " with " + python +
        ") failed: " + error);
  }
  std::ifstream file(out, std::ios::binary);
  std::string result((std::istreambuf_iterator<char>(file)),
                     std::istreambuf_iterator<char>());
  cleanup();
  return result;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

int64_t argmax(const std::vector<float> &logits) {
  return std::max_element(logits.begin(), logits.end()) - logits.begin();
}

} // namespace

int main(int argc, char **argv) {
  std::string library, weights, name = "model", device = "cpu", promptText;
  std::string promptWords, tokenizer, weightType;
  bool textPrompt = false;
  int64_t maxNew = 16, threads = -1, eos = -1;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *flag) -> std::string {
      std::string prefix = std::string(flag) + "=";
      if (arg.rfind(prefix, 0) == 0)
        return arg.substr(prefix.size());
      if (i + 1 >= argc)
        die(std::string(flag) + " needs a value");
      return argv[++i];
    };
    auto is = [&](const char *flag) {
      return arg == flag || arg.rfind(std::string(flag) + "=", 0) == 0;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (is("--prompt-ids")) {
      promptText = value("--prompt-ids");
    } else if (is("--prompt")) {
      promptWords = value("--prompt");
      textPrompt = true;
    } else if (is("--tokenizer")) {
      tokenizer = value("--tokenizer");
    } else if (is("--max-new-tokens")) {
      maxNew = parseCount(value("--max-new-tokens"), "--max-new-tokens");
    } else if (is("--threads")) {
      threads = parseCount(value("--threads"), "--threads");
      if (threads < 1 || threads > SSM_MAX_THREADS)
        die("--threads must be in 1.." + std::to_string(SSM_MAX_THREADS) + ", got " +
            std::to_string(threads));
    } else if (is("--device")) {
      device = value("--device");
    } else if (is("--weights")) {
      weights = value("--weights");
    } else if (is("--weight-type")) {
      weightType = value("--weight-type");
      const char *types[] = {"auto", "f32", "bf16", "f16", "q8_0", "q4_0"};
      if (std::find(std::begin(types), std::end(types), weightType) ==
          std::end(types))
        die("--weight-type must be auto, f32, bf16, f16, q8_0 or q4_0, got '" +
            weightType + "'");
    } else if (is("--model-name")) {
      name = value("--model-name");
    } else if (is("--eos-id")) {
      eos = parseCount(value("--eos-id"), "--eos-id");
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (!arg.empty() && arg[0] == '-') {
      die("unknown option '" + arg + "' (see --help)");
    } else if (library.empty()) {
      library = arg;
    } else {
      die("more than one library given ('" + library + "' and '" + arg + "')");
    }
  }
  if (library.empty())
    die("no model given: a library compiled by ssmc or a model folder (see --help)");
  if (textPrompt && !promptText.empty())
    die("--prompt and --prompt-ids exclude each other");
  if (!textPrompt && promptText.empty())
    die("--prompt-ids or --prompt is required (see --help)");
  if (device != "cpu" && device != "cuda")
    die("--device must be cpu or cuda, got '" + device + "'");
  if (device == "cuda")
    die("--device cuda: whole models run on the CPU only in this version "
        "(docs/models.md)");
  struct stat st;
  bool folder = stat(library.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (textPrompt) {
    if (tokenizer.empty() && folder)
      tokenizer = library + "/tokenizer.json";
    if (tokenizer.empty())
      die("--prompt needs a tokenizer: --tokenizer FILE, or a model folder "
          "with a tokenizer.json");
    if (access(tokenizer.c_str(), R_OK) != 0)
      die("--prompt: cannot read the tokenizer '" + tokenizer + "': " +
          std::strerror(errno));
    promptText = tokenize("encode", tokenizer, promptWords);
    if (promptText.empty())
      die("--prompt: the text holds no tokens");
  } else if (!tokenizer.empty()) {
    die("--tokenizer goes with --prompt");
  }
  std::vector<int64_t> prompt = parseIds(promptText);

  // The compiled model allocates its per-layer temporaries (up to tens of
  // MB for long prompts) on every call; glibc would map and unmap each one,
  // and every call would fault its pages in again. Served from the heap
  // and kept there, they are reused.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  if (threads > 0 && ssm_set_num_threads(static_cast<int32_t>(threads)) != SSM_OK)
    die(ssm_last_error());
  if (ssm_blas_status() != SSM_OK)
    die(ssm_last_error());
  if (ssm_packed_check_environment() != SSM_OK)
    die(ssm_last_error());

  if (folder) {
    if (!weights.empty())
      die("--weights applies to a compiled library, not to a model folder");
    library = compileFolder(library, weightType.empty() ? "auto" : weightType,
                            quiet);
  } else if (!weightType.empty()) {
    die("--weight-type applies to a model folder; a compiled library keeps "
        "the type it was compiled with");
  }

  std::string error;
  std::unique_ptr<ssmrun::CompiledModel> model =
      ssmrun::CompiledModel::open(library, weights, name, error);
  if (!model)
    die(error);

  ssmrun::ModelCaches caches = model->makeCaches(1);
  std::vector<float> logits;
  std::vector<int64_t> generated;
  auto start = std::chrono::steady_clock::now();
  if (!model->prefill(prompt.data(), static_cast<int64_t>(prompt.size()), caches,
                      logits, error))
    die(error);
  auto prefilled = std::chrono::steady_clock::now();
  auto lastReport = prefilled;
  if (maxNew > 0)
    generated.push_back(argmax(logits));
  while (static_cast<int64_t>(generated.size()) < maxNew &&
         (eos < 0 || generated.back() != eos)) {
    int64_t token = generated.back();
    if (!model->decode(&token, caches, logits, error))
      die(error);
    generated.push_back(argmax(logits));
    auto now = std::chrono::steady_clock::now();
    if (!quiet && seconds(now - lastReport) >= 1.0 && isatty(STDERR_FILENO)) {
      std::fprintf(stderr, "\rssm-run: %zu / %lld tokens", generated.size(),
                   static_cast<long long>(maxNew));
      lastReport = now;
    }
  }
  auto done = std::chrono::steady_clock::now();
  if (!quiet && seconds(done - prefilled) >= 1.0 && isatty(STDERR_FILENO))
    std::fputs("\r\033[K", stderr);

  std::string ids;
  for (size_t i = 0; i < generated.size(); ++i)
    ids += (i ? "," : "") + std::to_string(generated[i]);
  std::printf("%s\n", textPrompt ? tokenize("decode", tokenizer, ids).c_str()
                                 : ids.c_str());
  std::fflush(stdout);
  if (quiet)
    return 0;

  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double prefillTime = seconds(prefilled - start), decodeTime = seconds(done - prefilled);
  int64_t decodeSteps = std::max<int64_t>(static_cast<int64_t>(generated.size()) - 1, 0);
  std::fprintf(stderr,
               "ssm-run: %s model, %lld layers, vocabulary %lld; %d thread(s); BLAS %s\n",
               model->modelType() == SSM_MODEL_TYPE_MAMBA2 ? "Mamba-2" : "Mamba",
               static_cast<long long>(model->layers()),
               static_cast<long long>(model->vocab()), ssm_get_num_threads(),
               ssm_blas_library());
  std::fprintf(stderr, "ssm-run: prefill %zu tokens in %.3f s: %.1f tokens/s\n",
               prompt.size(), prefillTime, prompt.size() / std::max(prefillTime, 1e-9));
  if (decodeSteps > 0)
    std::fprintf(stderr, "ssm-run: decode %lld steps in %.3f s: %.1f tokens/s\n",
                 static_cast<long long>(decodeSteps), decodeTime,
                 decodeSteps / std::max(decodeTime, 1e-9));
  std::fprintf(stderr, "ssm-run: peak memory %.1f MiB (resident)\n",
               usage.ru_maxrss / 1024.0);
  return 0;
}
