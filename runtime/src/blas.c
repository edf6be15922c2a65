//===- blas.c - Matrix products through a CBLAS loaded at run time --------===//
//
// Part of ssmc. Generated code sends its dense projections here. The BLAS is
// opened with dlopen on first use instead of being linked, so the runtime
// keeps its "libc, pthreads and libdl only" dependency list, and a user can
// swap OpenBLAS for BLIS, MKL or the reference BLAS with SSM_BLAS.
//
// The library is resolved once per process (pthread_once). Its outcome,
// success or the failure message, is kept and reported by every later call,
// so that a missing BLAS gives the same message however often it is asked
// about. The handle is never closed: OpenBLAS starts threads of its own and
// does not support being unloaded.
//
//===----------------------------------------------------------------------===//

#define _GNU_SOURCE // dlinfo, RTLD_DI_LINKMAP

#include "internal.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The CBLAS enumerators, from the CBLAS standard (cblas.h): identical in
// OpenBLAS, BLIS, MKL and the reference implementation.
enum { kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112 };

// cblas_sgemm with the enumerations as ints (they are C enums, passed as
// int) and `int` sizes: the LP64 interface every distribution's default
// BLAS exports. ILP64 builds rename their symbols (e.g. cblas_sgemm64_).
typedef void (*cblas_sgemm_fn)(int order, int trans_a, int trans_b, int m,
                               int n, int k, float alpha, const float *a,
                               int lda, const float *b, int ldb, float beta,
                               float *c, int ldc);
typedef void (*cblas_sgemv_fn)(int order, int trans, int m, int n, float alpha,
                               const float *a, int lda, const float *x,
                               int incx, float beta, float *y, int incy);
typedef void (*openblas_set_num_threads_fn)(int n);

// The libraries tried, in order, when SSM_BLAS is not set.
static const char *const kDefaultLibraries[] = {"libopenblas.so.0",
                                                "libblas.so.3"};

// Large enough for two dlerror texts with their paths; the per-thread
// message is shorter and truncates what does not fit.
enum { kLoadMessageCapacity = 1024, kLibraryNameCapacity = 4096 };

static struct {
  pthread_once_t once;
  ssm_status_t status;
  char message[kLoadMessageCapacity]; // Why loading failed.
  char library[kLibraryNameCapacity]; // What was loaded.
  cblas_sgemm_fn sgemm;
  cblas_sgemv_fn sgemv;                        // Null if the library lacks it.
  openblas_set_num_threads_fn set_num_threads; // Null if not OpenBLAS.
} g_blas = {
    .once = PTHREAD_ONCE_INIT,
};

// Appends printf-style text to the load message, truncating silently.
static void append_message(size_t *length, const char *fmt, ...)
    SSM_RUNTIME_PRINTF(2, 3);
static void append_message(size_t *length, const char *fmt, ...) {
  if (*length >= sizeof g_blas.message - 1)
    return;
  va_list args;
  va_start(args, fmt);
  int written = vsnprintf(g_blas.message + *length,
                          sizeof g_blas.message - *length, fmt, args);
  va_end(args);
  if (written > 0)
    *length += (size_t)written;
  if (*length > sizeof g_blas.message - 1)
    *length = sizeof g_blas.message - 1;
}

// Opens `name` and resolves its entry points. Returns true on success;
// otherwise appends "name (reason)" to the load message.
static bool try_library(const char *name, size_t *length) {
  void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    append_message(length, "%s (%s)", name, why ? why : "dlopen failed");
    return false;
  }
  cblas_sgemm_fn sgemm;
  // dlsym returns an object pointer; POSIX guarantees it converts to a
  // function pointer, which C only allows through memcpy.
  void *symbol = dlsym(handle, "cblas_sgemm");
  if (!symbol) {
    append_message(length, "%s (loaded, but it exports no cblas_sgemm)", name);
    dlclose(handle);
    return false;
  }
  memcpy(&sgemm, &symbol, sizeof sgemm);
  g_blas.sgemm = sgemm;
  symbol = dlsym(handle, "cblas_sgemv");
  if (symbol)
    memcpy(&g_blas.sgemv, &symbol, sizeof g_blas.sgemv);
  symbol = dlsym(handle, "openblas_set_num_threads");
  if (symbol)
    memcpy(&g_blas.set_num_threads, &symbol, sizeof g_blas.set_num_threads);

  // Report the file that was found, not just the name that was asked for.
  const char *path = name;
  struct link_map *map = NULL;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name &&
      map->l_name[0] != '\0')
    path = map->l_name;
  snprintf(g_blas.library, sizeof g_blas.library, "%s", path);
  return true;
}

// What OpenBLAS reads from the environment when it is loaded, set before
// dlopen unless the user has set it (a BLAS other than OpenBLAS ignores
// both variables). Called once.
// - OPENBLAS_NUM_THREADS=1: OpenBLAS starts a thread per core when loaded,
//   and they spin in sched_yield for about 0.1 s before they sleep (a
//   prefill on two threads lost a core to them). The runtime's pool runs
//   the BLAS one thread per work item (openblas_set_num_threads(1) below).
// - OPENBLAS_CORETYPE=SkylakeX on a CPU with the AVX-512 subsets of those
//   kernels: builds for many CPUs pick their kernels from the CPU model,
//   and older ones (Debian 12's 0.3.21) do not know Sapphire Rapids or
//   Zen 4 and fall back to their Haswell (AVX2) kernels, whose sgemv
//   streams half as fast (7 against 14 GB/s measured on Sapphire Rapids)
//   and whose sgemm is slower too; newer releases choose SkylakeX there.
static void prepare_openblas_environment(void) {
  setenv("OPENBLAS_NUM_THREADS", "1", /*overwrite=*/0);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (getenv("OPENBLAS_CORETYPE"))
    return;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    setenv("OPENBLAS_CORETYPE", "SkylakeX", /*overwrite=*/0);
#endif
}

static void load_blas(void) {
  size_t length = 0;
  const char *chosen = getenv("SSM_BLAS");
  prepare_openblas_environment();
  bool loaded = false;
  append_message(&length, "no CBLAS library: tried ");
  if (chosen && chosen[0] != '\0') {
    // An explicit choice is honored or reported, never silently replaced.
    append_message(&length, "SSM_BLAS=");
    loaded = try_library(chosen, &length);
    if (!loaded)
      append_message(&length, "; unset SSM_BLAS to use %s or %s",
                     kDefaultLibraries[0], kDefaultLibraries[1]);
  } else {
    size_t count = sizeof kDefaultLibraries / sizeof kDefaultLibraries[0];
    for (size_t i = 0; i < count && !loaded; ++i) {
      if (i != 0)
        append_message(&length, ", ");
      loaded = try_library(kDefaultLibraries[i], &length);
    }
    if (!loaded)
      append_message(&length,
                     "; install libopenblas0 (Debian, Ubuntu) or set SSM_BLAS "
                     "to a CBLAS library");
  }
  if (!loaded) {
    g_blas.status = SSM_ERROR_UNAVAILABLE;
    return;
  }
  g_blas.message[0] = '\0';
  g_blas.status = SSM_OK;
  // The runtime's pool splits large products (see sgemm); OpenBLAS's own
  // threads would only compete with it, spinning between calls.
  if (g_blas.set_num_threads)
    g_blas.set_num_threads(1);
}

ssm_status_t ssm_internal_blas_load(const char *fn) {
  pthread_once(&g_blas.once, load_blas);
  if (g_blas.status != SSM_OK)
    return ssm_set_error(g_blas.status, "%s: %s", fn, g_blas.message);
  return SSM_OK;
}

ssm_status_t ssm_blas_status(void) {
  return ssm_internal_blas_load("ssm_blas_status");
}

const char *ssm_blas_library(void) {
  pthread_once(&g_blas.once, load_blas);
  return g_blas.status == SSM_OK ? g_blas.library : NULL;
}

//===----------------------------------------------------------------------===//
// ssm_sgemm
//===----------------------------------------------------------------------===//

ssm_status_t ssm_internal_check_ld(const char *fn, const char *name,
                                   int64_t ld, int64_t cols) {
  int64_t least = cols > 1 ? cols : 1;
  if (ld < least)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: %s %lld is less than max(1, %lld), the length "
                         "of a row",
                         fn, name, (long long)ld, (long long)cols);
  // The BLAS takes a C int; a larger stride cannot be split away. (It also
  // bounds the row length.)
  if (ld > INT_MAX)
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: %s %lld exceeds the BLAS's int (%d)", fn, name,
                         (long long)ld, INT_MAX);
  return SSM_OK;
}

// The last element's offset, (rows - 1) * ld + cols, and that offset in
// bytes must fit in a ptrdiff_t.
ssm_status_t ssm_internal_check_extent(const char *fn, const char *name,
                                       int64_t rows, int64_t cols,
                                       int64_t ld) {
  if (rows == 0 || cols == 0)
    return SSM_OK;
  int64_t offset;
  if (__builtin_mul_overflow(rows - 1, ld, &offset) ||
      __builtin_add_overflow(offset, cols, &offset) ||
      offset > PTRDIFF_MAX / (int64_t)sizeof(float))
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: %s spans more than the address space (%lld "
                         "rows with stride %lld)",
                         fn, name, (long long)rows, (long long)ld);
  return SSM_OK;
}

ssm_status_t ssm_internal_check_pointer(const char *fn, const char *name,
                                        const void *pointer, int64_t rows,
                                        int64_t cols) {
  if (rows != 0 && cols != 0 && !pointer)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: %s is null but has %lld x %lld elements", fn,
                         name, (long long)rows, (long long)cols);
  return SSM_OK;
}

// beta == 0 stores zeros, as BLAS does, so that NaNs in an uninitialized C
// vanish.
void ssm_internal_scale_c(int64_t m, int64_t n, float beta, float *c,
                          int64_t ldc) {
  if (beta == 1.0f)
    return;
  for (int64_t i = 0; i < m; ++i) {
    float *row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j)
      row[j] = beta == 0.0f ? 0.0f : beta * row[j];
  }
}

// A product with one row or one column is a matrix-vector product; sgemm
// implementations (OpenBLAS 0.3.21 among them) run it several times slower
// than sgemv, and decoding one token is exactly that case. Requires m == 1
// or n == 1, sizes that fit an int, and k > 0.
static void gemv(int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                 int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                 int64_t ldc) {
  // With beta == 0, C may hold NaNs, and not every BLAS's sgemv overwrites
  // y without reading it: clear it first.
  if (beta == 0.0f)
    ssm_internal_scale_c(m, n, 0.0f, c, ldc);
  if (m == 1) {
    // c[0, :] = op(B) a[0, :]: B [n, k] as is, or B [k, n] transposed.
    if (trans_b)
      g_blas.sgemv(kCblasRowMajor, kCblasNoTrans, (int)n, (int)k, 1.0f, b,
                   (int)ldb, a, 1, beta, c, 1);
    else
      g_blas.sgemv(kCblasRowMajor, kCblasTrans, (int)k, (int)n, 1.0f, b,
                   (int)ldb, a, 1, beta, c, 1);
    return;
  }
  // c[:, 0] = A op(B)[:, 0]: that column is B's row 0 ([1, k]) or B's column
  // 0 ([k, 1], stride ldb).
  g_blas.sgemv(kCblasRowMajor, kCblasNoTrans, (int)m, (int)k, 1.0f, a, (int)lda,
               b, trans_b ? 1 : (int)ldb, beta, c, (int)ldc);
}

// Columns of C per work item when the pool splits a product: wide enough
// for the BLAS's kernels, narrow enough to balance projections of a few
// hundred columns over the threads.
enum { kColumnBlock = 64 };

// One product, split by columns of C over the pool.
struct columns {
  int trans_b;
  int64_t m, n, k;
  const float *a;
  int64_t lda;
  const float *b;
  int64_t ldb;
  float beta;
  float *c;
  int64_t ldc;
};

// Rows of A and C in blocks of at most INT_MAX, since the BLAS takes ints;
// n, k and the strides are checked to fit one by the callers.
void ssm_internal_blas_product(int trans_b, int64_t m, int64_t n, int64_t k,
                               const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc) {
  for (int64_t row = 0; row < m; row += INT_MAX) {
    int64_t rows = m - row < INT_MAX ? m - row : INT_MAX;
    const float *a_block = a + row * lda;
    float *c_block = c + row * ldc;
    if (g_blas.sgemv && (rows == 1 || n == 1))
      gemv(trans_b, rows, n, k, a_block, lda, b, ldb, beta, c_block, ldc);
    else
      g_blas.sgemm(kCblasRowMajor, kCblasNoTrans,
                   trans_b ? kCblasTrans : kCblasNoTrans, (int)rows, (int)n,
                   (int)k, 1.0f, a_block, (int)lda, b, (int)ldb, beta, c_block,
                   (int)ldc);
  }
}

// Blocks [lo, hi) of kColumnBlock columns: the same product on the
// columns n0..n1 of op(B) and C.
static void column_block(void *ctx, int64_t lo, int64_t hi) {
  const struct columns *j = ctx;
  int64_t n0 = lo * kColumnBlock;
  int64_t n1 = hi * kColumnBlock < j->n ? hi * kColumnBlock : j->n;
  const float *b = j->trans_b ? j->b + n0 * j->ldb : j->b + n0;
  ssm_internal_blas_product(j->trans_b, j->m, n1 - n0, j->k, j->a, j->lda, b,
                            j->ldb, j->beta, j->c + n0, j->ldc);
}

static ssm_status_t sgemm(const char *fn, int trans_b, int64_t m, int64_t n,
                          int64_t k, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float beta, float *c,
                          int64_t ldc) {
  if (trans_b != 0 && trans_b != 1)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: trans_b must be 0 or 1, got %d", fn, trans_b);
  if (m < 0 || n < 0 || k < 0) {
    const char *name = m < 0 ? "m" : n < 0 ? "n" : "k";
    int64_t value = m < 0 ? m : n < 0 ? n : k;
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: negative %s (%lld)",
                         fn, name, (long long)value);
  }
  // Row-major leading dimensions: at least the row length, and at least 1
  // even for empty rows (the CBLAS rule).
  int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  struct {
    const char *name;
    int64_t value, cols;
  } lds[] = {{"lda", lda, k}, {"ldb", ldb, b_cols}, {"ldc", ldc, n}};
  for (size_t i = 0; i < sizeof lds / sizeof lds[0]; ++i) {
    ssm_status_t status =
        ssm_internal_check_ld(fn, lds[i].name, lds[i].value, lds[i].cols);
    if (status != SSM_OK)
      return status;
  }
  struct {
    const char *name;
    const void *pointer;
    int64_t rows, cols, ld;
  } operands[] = {
      {"a", a, m, k, lda}, {"b", b, b_rows, b_cols, ldb}, {"c", c, m, n, ldc}};
  for (size_t i = 0; i < sizeof operands / sizeof operands[0]; ++i) {
    ssm_status_t status =
        ssm_internal_check_pointer(fn, operands[i].name, operands[i].pointer,
                                   operands[i].rows, operands[i].cols);
    if (status == SSM_OK)
      status = ssm_internal_check_extent(fn, operands[i].name, operands[i].rows,
                                         operands[i].cols, operands[i].ld);
    if (status != SSM_OK)
      return status;
  }

  if (m == 0 || n == 0)
    return SSM_OK;
  if (k == 0) {
    ssm_internal_scale_c(m, n, beta, c, ldc);
    return SSM_OK;
  }
  ssm_status_t status = ssm_internal_blas_load(fn);
  if (status != SSM_OK)
    return status;
  // Wide products run on the runtime's pool, a block of columns of C (rows
  // of a transposed B, a layer's weights) per work item.
  if (ssm_get_num_threads() > 1 && n >= 2 * kColumnBlock) {
    struct columns job = {trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc};
    return ssm_parallel_for(0, (n + kColumnBlock - 1) / kColumnBlock, 1,
                            column_block, &job);
  }
  ssm_internal_blas_product(trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
  return SSM_OK;
}

ssm_status_t ssm_sgemm(int trans_b, int64_t m, int64_t n, int64_t k,
                       const float *a, int64_t lda, const float *b, int64_t ldb,
                       float beta, float *c, int64_t ldc) {
  return sgemm("ssm_sgemm", trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void ssm_kernel_sgemm(int trans_b, int64_t m, int64_t n, int64_t k,
                      const float *a, int64_t lda, const float *b, int64_t ldb,
                      float beta, float *c, int64_t ldc) {
  if (sgemm("ssm_kernel_sgemm", trans_b, m, n, k, a, lda, b, ldb, beta, c,
            ldc) == SSM_OK)
    return;
  fprintf(stderr, "ssm runtime: %s\n", ssm_last_error());
  fflush(stderr);
  abort();
}
