/* The compiler's C API (ssm-c/Compiler.h), used from C as an application
 * would: compile MLIR text in memory to a shared library, load it, call
 * it, and check the header, the JSON interface and every error path (bad
 * flags, bad IR, null arguments, missing artifacts), and two sessions
 * compiling at once. Exits non-zero, saying which check failed. */
#include "ssm-c/Compiler.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* The last error the callback saw. */
typedef struct {
  char text[4096];
  int errors;
} seen_t;

static void record(ssmc_severity_t severity, const char *message, void *user) {
  seen_t *seen = (seen_t *)user;
  if (severity == SSMC_SEVERITY_ERROR) {
    ++seen->errors;
    snprintf(seen->text, sizeof seen->text, "%s", message);
  }
}

static const char *const squares =
    "#map = affine_map<(i) -> (i)>\n"
    "func.func @squares(%x: tensor<?xf32>) -> tensor<?xf32> {\n"
    "  %c0 = arith.constant 0 : index\n"
    "  %n = tensor.dim %x, %c0 : tensor<?xf32>\n"
    "  %e = tensor.empty(%n) : tensor<?xf32>\n"
    "  %y = linalg.generic {indexing_maps = [#map, #map],\n"
    "                       iterator_types = [\"parallel\"]}\n"
    "      ins(%x : tensor<?xf32>) outs(%e : tensor<?xf32>) {\n"
    "  ^bb0(%a: f32, %o: f32):\n"
    "    %m = arith.mulf %a, %a : f32\n"
    "    linalg.yield %m : f32\n"
    "  } -> tensor<?xf32>\n"
    "  return %y : tensor<?xf32>\n"
    "}\n";

typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} memref1_t;

static int contains(const void *data, size_t size, const char *needle) {
  size_t n = strlen(needle);
  const char *text = (const char *)data;
  for (size_t i = 0; i + n <= size; ++i)
    if (memcmp(text + i, needle, n) == 0)
      return 1;
  return 0;
}

/* Compiles `squares` to a shared library in memory, loads it from a file,
 * calls it and compares with x * x. */
static void compile_and_call(void) {
  ssmc_session_t *session;
  CHECK(ssmc_session_create(&session) == SSMC_OK);
  seen_t seen = {{0}, 0};
  ssmc_session_set_diagnostic_callback(session, record, &seen);
  const char *flags[] = {"--emit=shared", "--caller-outputs=false"};
  CHECK(ssmc_session_set_flags(session, 2, flags) == SSMC_OK);
  CHECK(ssmc_session_get_output_kind(session) == SSMC_OUTPUT_SHARED);

  ssmc_artifacts_t *artifacts = NULL;
  CHECK(ssmc_compile_source(session, "squares.mlir", squares, strlen(squares),
                            &artifacts) == SSMC_OK);
  CHECK(seen.errors == 0);
  if (!artifacts)
    return;
  const void *data;
  size_t size;
  CHECK(ssmc_artifacts_get(artifacts, SSMC_ARTIFACT_OUTPUT, &data, &size) ==
        SSMC_OK);
  CHECK(size > 4 && memcmp(data, "\x7f" "ELF", 4) == 0);
  CHECK(ssmc_artifacts_get(artifacts, SSMC_ARTIFACT_HEADER, &data, &size) ==
        SSMC_OK);
  CHECK(contains(data, size, "#ifndef SSMC_SQUARES_H"));
  CHECK(contains(data, size,
                 "void _mlir_ciface_squares(ssmc_memref_1d_f32 *result, "
                 "ssmc_memref_1d_f32 *x);"));
  CHECK(ssmc_artifacts_get(artifacts, SSMC_ARTIFACT_INTERFACE, &data, &size) ==
        SSMC_OK);
  CHECK(contains(data, size, "\"symbol\": \"_mlir_ciface_squares\""));
  CHECK(ssmc_artifacts_has(artifacts, SSMC_ARTIFACT_HEADER));
  CHECK(!ssmc_artifacts_has(artifacts, SSMC_ARTIFACT_WEIGHTS));
  CHECK(ssmc_artifacts_get(artifacts, SSMC_ARTIFACT_WEIGHTS, &data, &size) ==
        SSMC_ERROR_UNAVAILABLE);
  CHECK(strstr(seen.text, "only a model folder has weights") != NULL);

  char path[] = "/tmp/ssmc-capi-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK(ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_OUTPUT, path) == SSMC_OK);
  ssmc_artifacts_destroy(artifacts);
  ssmc_session_destroy(session);

  /* The library finds libssm_runtime through the RUNPATH the compiler
   * recorded. */
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library)
    fprintf(stderr, "dlopen: %s\n", dlerror());
  CHECK(library != NULL);
  unlink(path);
  if (!library)
    return;
  void (*fn)(memref1_t *, memref1_t *);
  *(void **)&fn = dlsym(library, "_mlir_ciface_squares");
  CHECK(fn != NULL);
  float x[37];
  for (int i = 0; i < 37; ++i)
    x[i] = 0.25f * (float)(i - 18);
  memref1_t in = {x, x, 0, {37}, {1}}, out;
  fn(&out, &in);
  CHECK(out.sizes[0] == 37);
  for (int i = 0; i < 37; ++i)
    CHECK(out.aligned[out.offset + i] == x[i] * x[i]);
  free(out.allocated);
  dlclose(library);
}

static void errors(void) {
  ssmc_session_t *session;
  CHECK(ssmc_session_create(&session) == SSMC_OK);
  seen_t seen = {{0}, 0};
  ssmc_session_set_diagnostic_callback(session, record, &seen);

  const char *unknown[] = {"--fast"};
  CHECK(ssmc_session_set_flags(session, 1, unknown) ==
        SSMC_ERROR_INVALID_ARGUMENT);
  CHECK(strcmp(seen.text, "ssmc: error: unknown flag '--fast' (ssmc --help "
                          "lists them)") == 0);
  const char *value[] = {"--emit=exe"};
  CHECK(ssmc_session_set_flags(session, 1, value) ==
        SSMC_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(seen.text, "'exe' is not one of") != NULL);
  /* A rejected call leaves the flags as they were. */
  CHECK(ssmc_session_get_output_kind(session) == SSMC_OUTPUT_OBJECT);
  const char *spaced[] = {"--emit", "llvm"};
  CHECK(ssmc_session_set_flags(session, 2, spaced) == SSMC_OK);
  CHECK(ssmc_session_get_output_kind(session) == SSMC_OUTPUT_LLVM);
  CHECK(ssmc_flag_takes_value("--mcpu") && !ssmc_flag_takes_value("--mcpu=x") &&
        !ssmc_flag_takes_value("--parallel") && !ssmc_flag_takes_value("-o"));

  /* Bad IR: the diagnostic names the buffer, line and column. */
  const char *bad = "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
                    "  return %y : tensor<4xf32>\n}\n";
  ssmc_artifacts_t *artifacts = (ssmc_artifacts_t *)&seen;
  CHECK(ssmc_compile_source(session, "bad.mlir", bad, strlen(bad),
                            &artifacts) == SSMC_ERROR_COMPILATION);
  CHECK(artifacts == NULL);
  CHECK(strncmp(seen.text, "bad.mlir:2:10: error: use of undeclared SSA value",
                49) == 0);
  CHECK(ssmc_compile_file(session, "/nonexistent/x.mlir", &artifacts) ==
        SSMC_ERROR_COMPILATION);
  CHECK(strstr(seen.text, "ssmc: error:") == seen.text);
  CHECK(strstr(seen.text, "/nonexistent/x.mlir") != NULL);

  /* Null arguments. */
  CHECK(ssmc_session_create(NULL) == SSMC_ERROR_INVALID_ARGUMENT);
  CHECK(ssmc_compile_source(session, "x", NULL, 3, &artifacts) ==
        SSMC_ERROR_INVALID_ARGUMENT);
  CHECK(ssmc_compile_file(NULL, "x", &artifacts) == SSMC_ERROR_INVALID_ARGUMENT);
  CHECK(ssmc_compile_file(session, "x", NULL) == SSMC_ERROR_INVALID_ARGUMENT);
  const char *null_flag[] = {NULL};
  CHECK(ssmc_session_set_flags(session, 1, null_flag) ==
        SSMC_ERROR_INVALID_ARGUMENT);
  CHECK(ssmc_artifacts_get(NULL, SSMC_ARTIFACT_OUTPUT, NULL, NULL) ==
        SSMC_ERROR_INVALID_ARGUMENT);
  CHECK(ssmc_artifacts_write(NULL, SSMC_ARTIFACT_OUTPUT, "x") ==
        SSMC_ERROR_INVALID_ARGUMENT);
  ssmc_artifacts_destroy(NULL);
  ssmc_session_destroy(session);
  ssmc_session_destroy(NULL);
}

/* Two sessions compile at once, each on its own thread. */
static void *compile_on_thread(void *arg) {
  ssmc_session_t *session;
  if (ssmc_session_create(&session) != SSMC_OK)
    return (void *)1;
  const char *flags[] = {"--emit=obj"};
  ssmc_artifacts_t *artifacts = NULL;
  intptr_t status =
      ssmc_session_set_flags(session, 1, flags) != SSMC_OK ||
      ssmc_compile_source(session, (const char *)arg, squares, strlen(squares),
                          &artifacts) != SSMC_OK;
  ssmc_artifacts_destroy(artifacts);
  ssmc_session_destroy(session);
  return (void *)status;
}

static void threads(void) {
  pthread_t a, b;
  void *ra, *rb;
  static char name_a[] = "a.mlir", name_b[] = "b.mlir";
  CHECK(pthread_create(&a, NULL, compile_on_thread, name_a) == 0);
  CHECK(pthread_create(&b, NULL, compile_on_thread, name_b) == 0);
  CHECK(pthread_join(a, &ra) == 0 && ra == NULL);
  CHECK(pthread_join(b, &rb) == 0 && rb == NULL);
}

int main(void) {
  printf("ssmc %s\n", ssmc_version());
  compile_and_call();
  errors();
  threads();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
