//===- runtime.h - The ssmc runtime library's C API -------------*- C -*-===//
//
// Part of ssmc. Everything that code compiled by ssmc, and the applications
// that embed it, may call at run time: status codes with a per-thread error
// message, version queries, element types and tensor descriptors with the
// argument checks that generated entry points perform, aligned host buffers,
// the process-wide thread pool that runs parallel loops, and dense matrix
// products through a CBLAS library opened at run time.
//
// Why a C header: kernels are object files emitted by LLVM and calls from
// them follow the platform C calling convention, and applications in any
// language with a C FFI must be able to link against the same library. So
// the interface is plain C (valid C99 and C++), uses only fixed-width types,
// never lets an exception or a longjmp cross it, and is kept small so that
// its ABI can stay stable. The library depends only on libc, pthreads and
// libdl; it does not need LLVM or MLIR, and it opens a BLAS with dlopen
// only when a product needs one. The CUDA driver loader, in the same
// library, is declared in ssm/runtime_cuda.h.
//
// Conventions used by every function below:
//  - Functions that can fail return an ssm_status_t. On failure they also
//    record a message for the calling thread (see ssm_last_error) and, where
//    they have out_ parameters, leave those in a documented state.
//  - Every pointer argument is checked; a null pointer where one is not
//    allowed is SSM_ERROR_INVALID_ARGUMENT, never a crash.
//  - Sizes and indices are 64-bit, and every size computation is checked for
//    overflow (SSM_ERROR_OUT_OF_RANGE).
//  - Nothing returned by the runtime must be freed by the caller unless the
//    function says so.
//  - Every function may be called from any thread at any time (the few
//    that must not run inside a parallel loop body say so and return
//    SSM_ERROR_BUSY there).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_H
#define SSM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/model_abi.h" // ssm_weight_format, for the packed products

//===----------------------------------------------------------------------===//
// Export macro and versions
//===----------------------------------------------------------------------===//

/// Marks a declaration as part of the exported API. The library is built
/// with hidden visibility, so only declarations carrying this macro are
/// visible outside the shared object. Define SSM_RUNTIME_STATIC when linking
/// the static library on Windows.
#if defined(_WIN32)
#if defined(SSM_RUNTIME_STATIC)
#define SSM_RUNTIME_API
#elif defined(SSM_RUNTIME_BUILDING)
#define SSM_RUNTIME_API __declspec(dllexport)
#else
#define SSM_RUNTIME_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define SSM_RUNTIME_API __attribute__((visibility("default")))
#else
#define SSM_RUNTIME_API
#endif

/// Lets the compiler check ssm_set_error's format string against its
/// arguments.
#if defined(__GNUC__) || defined(__clang__)
#define SSM_RUNTIME_PRINTF(fmt_index, first_arg)                               \
  __attribute__((format(printf, fmt_index, first_arg)))
#else
#define SSM_RUNTIME_PRINTF(fmt_index, first_arg)
#endif

/// Opens the definition of an ABI enumeration. C++ gets a fixed 32-bit
/// underlying type, so that any int32_t value (even one outside the
/// enumeration, which the runtime rejects) is a valid value of the type
/// there as it is in C; the size and passing convention are the same.
#ifdef __cplusplus
#define SSM_RUNTIME_ENUM(name) enum name : int32_t
#else
#define SSM_RUNTIME_ENUM(name) enum name
#endif

/// The version of this header (semantic versioning).
#define SSM_RUNTIME_VERSION_MAJOR 0
#define SSM_RUNTIME_VERSION_MINOR 1
#define SSM_RUNTIME_VERSION_PATCH 0

/// The binary interface revision of this header. It changes whenever a
/// declaration, a struct layout or an enumerator value below changes
/// incompatibly; it is also the SOVERSION of libssm_runtime.so. Code can
/// compare it with ssm_runtime_abi_version() to detect a mismatched library.
#define SSM_RUNTIME_ABI_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

/// Returns the version of the loaded library as "MAJOR.MINOR.PATCH", e.g.
/// "0.1.0". The string is static; never null, never to be freed.
SSM_RUNTIME_API const char *ssm_runtime_version(void);

/// Returns the SSM_RUNTIME_ABI_VERSION the loaded library was built with.
SSM_RUNTIME_API uint32_t ssm_runtime_abi_version(void);

//===----------------------------------------------------------------------===//
// Status codes and error messages
//===----------------------------------------------------------------------===//

/// The result of every fallible runtime call. The numeric values are part of
/// the ABI and never change; new codes are only appended.
typedef SSM_RUNTIME_ENUM(ssm_status_t) {
  /// Success.
  SSM_OK = 0,
  /// An argument is null, out of its documented domain, or inconsistent
  /// (bad rank, negative dimension, wrong dtype, non-power-of-two
  /// alignment...).
  SSM_ERROR_INVALID_ARGUMENT = 1,
  /// A memory allocation failed.
  SSM_ERROR_OUT_OF_MEMORY = 2,
  /// A resource the call needs does not exist here (e.g. no CUDA driver).
  SSM_ERROR_UNAVAILABLE = 3,
  /// A bug or an unexpected failure of the operating system.
  SSM_ERROR_INTERNAL = 4,
  /// A size or index computation overflows 64 bits, or a value exceeds a
  /// limit of the runtime.
  SSM_ERROR_OUT_OF_RANGE = 5,
  /// The operation is not allowed while a parallel region is running on the
  /// calling thread (e.g. ssm_set_num_threads from inside a loop body).
  SSM_ERROR_BUSY = 6,
  /// The operation is declared but not implemented in this build.
  SSM_ERROR_UNIMPLEMENTED = 7,
} ssm_status_t;

/// Returns a short static description of `status`, e.g. "invalid argument"
/// for SSM_ERROR_INVALID_ARGUMENT; "unknown status" for values outside the
/// enumeration. Never null, never to be freed.
SSM_RUNTIME_API const char *ssm_status_string(ssm_status_t status);

/// Returns the message recorded by the most recent failing runtime call on
/// the calling thread (or the most recent ssm_set_error), e.g.
/// "ssm_tensor_init_contiguous: rank 9 exceeds SSM_MAX_RANK (8)", or "" if
/// there was none. Successful calls leave the message unchanged, as errno
/// does. The string is owned by the runtime and stays valid on this thread
/// until the next call that records or clears a message; copy it to keep it.
/// Never null.
SSM_RUNTIME_API const char *ssm_last_error(void);

/// Clears the calling thread's error message, so that ssm_last_error returns
/// "".
SSM_RUNTIME_API void ssm_clear_error(void);

/// Records a printf-style message as the calling thread's last error and
/// returns `status`, so that generated code and applications can write
/// `return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "...", ...);`. Messages
/// longer than an internal limit (at least 255 bytes) are truncated. A null
/// `fmt` records ssm_status_string(status). With `status` == SSM_OK the
/// message is cleared instead and SSM_OK is returned. The arguments may
/// point into the current message (e.g. ssm_last_error()).
SSM_RUNTIME_API ssm_status_t ssm_set_error(ssm_status_t status,
                                           const char *fmt, ...)
    SSM_RUNTIME_PRINTF(2, 3);

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

/// The element type of a tensor. The numeric values are part of the ABI.
/// Zero is deliberately not a valid type, so that a zero-filled descriptor
/// is rejected instead of being read as data.
typedef SSM_RUNTIME_ENUM(ssm_dtype_t) {
  SSM_DTYPE_INVALID = 0,
  SSM_DTYPE_F16 = 1,  ///< IEEE-754 binary16.
  SSM_DTYPE_BF16 = 2, ///< bfloat16 (the upper half of a binary32).
  SSM_DTYPE_F32 = 3,  ///< IEEE-754 binary32.
  SSM_DTYPE_F64 = 4,  ///< IEEE-754 binary64.
  SSM_DTYPE_I8 = 5,   ///< Signed 8-bit integer.
  SSM_DTYPE_I32 = 6,  ///< Signed 32-bit integer.
  SSM_DTYPE_I64 = 7,  ///< Signed 64-bit integer.
  SSM_DTYPE_BOOL = 8, ///< One byte holding 0 or 1.
} ssm_dtype_t;

/// Returns the size in bytes of one element of `dtype`, or 0 if `dtype` is
/// not a valid element type (including SSM_DTYPE_INVALID).
SSM_RUNTIME_API size_t ssm_dtype_size(ssm_dtype_t dtype);

/// Returns the lower-case name of `dtype` as used in messages ("f32",
/// "bf16", "i64", "bool"...), or "invalid" for values outside the
/// enumeration. The string is static; never null.
SSM_RUNTIME_API const char *ssm_dtype_name(ssm_dtype_t dtype);

//===----------------------------------------------------------------------===//
// Tensor descriptors
//===----------------------------------------------------------------------===//

/// The largest rank a descriptor can hold.
#define SSM_MAX_RANK 8

/// Passed as the expected rank to ssm_tensor_check to accept any rank.
#define SSM_ANY_RANK (-1)

/// Passed as an expected dimension to ssm_tensor_check_shape to accept any
/// size in that position.
#define SSM_DYNAMIC_DIM (-1)

/// A view of a strided array of `rank` dimensions. The descriptor does not
/// own `data`: whoever allocated the memory frees it, and it must outlive
/// every use of the descriptor. Element (i0, ..., ik) lives at
/// `(char *)data + (i0*strides[0] + ... + ik*strides[k]) * ssm_dtype_size`.
/// Entries of shape and strides at positions >= rank are ignored (the
/// runtime's initializers set them to 0). A rank-0 tensor is a scalar with
/// one element.
///
/// Layout (part of the ABI, on LP64 targets): data at offset 0, dtype at 8,
/// rank at 12, shape at 16, strides at 80; 144 bytes, aligned to 8.
typedef struct ssm_tensor_t {
  void *data;                    ///< First element; not owned.
  ssm_dtype_t dtype;             ///< Element type.
  int32_t rank;                  ///< Number of dimensions, 0..SSM_MAX_RANK.
  int64_t shape[SSM_MAX_RANK];   ///< Sizes, each >= 0.
  int64_t strides[SSM_MAX_RANK]; ///< Distances in elements (not bytes).
} ssm_tensor_t;

/// Fills `*out` with a dense row-major view of `data`: the last dimension
/// has stride 1 and each earlier stride is the product of the later sizes
/// (sizes of 0 count as 1 there, so strides stay meaningful for empty
/// tensors). `shape` holds `rank` sizes and may be null only when rank is 0.
/// `data` is not dereferenced and may be null, e.g. to compute the byte size
/// with ssm_tensor_nbytes before allocating; ssm_tensor_check rejects a null
/// `data` with elements.
///
/// Fails with SSM_ERROR_INVALID_ARGUMENT for a null `out`, an invalid dtype,
/// a rank outside 0..SSM_MAX_RANK, a null `shape` with rank > 0 or a negative
/// size, and with SSM_ERROR_OUT_OF_RANGE when the size in bytes (or any
/// stride in bytes) does not fit in int64_t. On failure a non-null `*out` is
/// zeroed (dtype SSM_DTYPE_INVALID).
SSM_RUNTIME_API ssm_status_t ssm_tensor_init_contiguous(ssm_tensor_t *out,
                                                        void *data,
                                                        ssm_dtype_t dtype,
                                                        int32_t rank,
                                                        const int64_t *shape);

/// Stores the number of elements of `*t` (the product of its sizes; 1 for a
/// scalar) in `*out_numel`. Fails with SSM_ERROR_INVALID_ARGUMENT for null
/// pointers, a rank outside 0..SSM_MAX_RANK or a negative size, and with
/// SSM_ERROR_OUT_OF_RANGE if the product overflows int64_t. `*out_numel` is
/// set to 0 on failure when non-null.
SSM_RUNTIME_API ssm_status_t ssm_tensor_numel(const ssm_tensor_t *t,
                                              int64_t *out_numel);

/// Stores numel * ssm_dtype_size(dtype), the number of bytes the elements
/// occupy when the tensor is contiguous, in `*out_bytes`. Fails like
/// ssm_tensor_numel, and also for an invalid dtype. `*out_bytes` is set to 0
/// on failure when non-null.
SSM_RUNTIME_API ssm_status_t ssm_tensor_nbytes(const ssm_tensor_t *t,
                                               int64_t *out_bytes);

/// Stores in `*out_contiguous` whether `*t` is dense and row-major: every
/// dimension whose size is not 1 has the stride that
/// ssm_tensor_init_contiguous would give it. Tensors without elements are
/// contiguous. Fails (and stores false) like ssm_tensor_numel.
SSM_RUNTIME_API ssm_status_t ssm_tensor_is_contiguous(const ssm_tensor_t *t,
                                                      bool *out_contiguous);

/// Validates a tensor argument of a generated entry point: `t` is non-null,
/// has a valid dtype equal to `expected_dtype`, a rank equal to
/// `expected_rank` (or any valid rank with SSM_ANY_RANK), non-negative sizes
/// and strides, a byte extent that fits in int64_t, and non-null `data` if
/// it has elements. On failure the message names the argument, e.g.
/// "argument 'delta': expected rank 3, got 2". `name` may be null (printed
/// as "?"). Returns SSM_ERROR_INVALID_ARGUMENT or SSM_ERROR_OUT_OF_RANGE on
/// failure; an invalid `expected_dtype` or an `expected_rank` outside
/// SSM_ANY_RANK..SSM_MAX_RANK is SSM_ERROR_INVALID_ARGUMENT with a message
/// that names ssm_tensor_check instead.
SSM_RUNTIME_API ssm_status_t ssm_tensor_check(const ssm_tensor_t *t,
                                              const char *name,
                                              ssm_dtype_t expected_dtype,
                                              int32_t expected_rank);

/// Validates the sizes of a tensor argument: its rank equals `rank` and each
/// size equals the corresponding entry of `expected_shape`, except where
/// that entry is SSM_DYNAMIC_DIM. `expected_shape` holds `rank` entries and
/// may be null only when rank is 0. Messages read like
/// "argument 'x': dimension 1 expected 16, got 8". Does not repeat the
/// checks of ssm_tensor_check beyond rank and non-negative sizes.
SSM_RUNTIME_API ssm_status_t ssm_tensor_check_shape(
    const ssm_tensor_t *t, const char *name, int32_t rank,
    const int64_t *expected_shape);

/// Validates that a tensor argument is contiguous (see
/// ssm_tensor_is_contiguous); the message names the argument and the first
/// dimension whose stride differs.
SSM_RUNTIME_API ssm_status_t ssm_tensor_check_contiguous(const ssm_tensor_t *t,
                                                         const char *name);

//===----------------------------------------------------------------------===//
// Host buffers
//===----------------------------------------------------------------------===//

/// The alignment ssm_buffer_alloc uses when passed 0: one cache line, and
/// enough for every vector width the compiler emits.
#define SSM_DEFAULT_ALIGNMENT 64

/// Allocates `bytes` bytes aligned to `alignment` and stores the address in
/// `*out`. `alignment` must be 0 (meaning SSM_DEFAULT_ALIGNMENT) or a power
/// of two; values smaller than sizeof(void *) are raised to it. `bytes` may
/// be 0, which yields a distinct non-null pointer that must not be
/// dereferenced. The memory is not initialized. The caller owns the buffer
/// and releases it with ssm_buffer_free (not free(), on every platform).
///
/// Fails with SSM_ERROR_INVALID_ARGUMENT for a null `out` or a bad
/// alignment, SSM_ERROR_OUT_OF_RANGE when bytes + alignment exceeds the
/// largest object size, and SSM_ERROR_OUT_OF_MEMORY when the allocation
/// fails. `*out` is null after any failure.
SSM_RUNTIME_API ssm_status_t ssm_buffer_alloc(size_t bytes, size_t alignment,
                                              void **out);

/// Releases a buffer from ssm_buffer_alloc. Null is ignored. Passing any
/// other pointer, or freeing twice, is undefined behavior (it cannot be
/// detected cheaply).
SSM_RUNTIME_API void ssm_buffer_free(void *buffer);

//===----------------------------------------------------------------------===//
// Thread pool and parallel loops
//===----------------------------------------------------------------------===//
//
// The runtime owns one process-wide pool of worker threads, created on the
// first parallel loop that needs it. With N threads configured, the pool
// has N - 1 workers and the thread calling ssm_parallel_for is the N-th.
//
// The thread count comes, in order of precedence, from ssm_set_num_threads,
// from the environment variable SSM_NUM_THREADS (read once, when the count
// is first needed: a decimal integer in 1..SSM_MAX_THREADS, optionally
// surrounded by blanks; any other value is ignored without an error), or
// from the number of CPUs the process may run on (capped at
// SSM_MAX_THREADS).
//
// With SSM_PIN_THREADS=1 in the environment when the pool starts, worker k
// (1-based) is pinned to the k-th CPU, modulo their number, of the
// process's affinity mask (Linux only; failures are ignored). The calling
// thread is never pinned.
//
// Idle workers block on a condition variable after spinning for a few
// microseconds; an idle pool uses no CPU.
//
// fork(): the child of a process with a running pool starts with no
// workers; its first parallel loop starts a fresh pool. Forking from inside
// a loop body is not supported: the child would see the loop partially
// done.
//
// Workers are joined by ssm_runtime_shutdown, and when the library is
// unloaded or the process exits normally, unless a parallel loop is still
// running at that point (then they are abandoned to the exiting process).

/// The largest thread count the pool accepts.
#define SSM_MAX_THREADS 1024

/// A loop body: runs the iterations [lo, hi) of the loop, with `ctx` as
/// passed to ssm_parallel_for. It may run on any thread of the pool, and
/// must neither throw a C++ exception nor longjmp out.
typedef void (*ssm_parallel_body_t)(void *ctx, int64_t lo, int64_t hi);

/// Sets the number of threads (including the caller) that later parallel
/// loops use; `n` must be in 1..SSM_MAX_THREADS. Overrides SSM_NUM_THREADS.
/// If a loop started by another thread is running, waits for it to finish.
/// Workers are stopped at once if the count changes and restarted by the
/// next loop. Fails with SSM_ERROR_INVALID_ARGUMENT for a bad `n` and
/// SSM_ERROR_BUSY when called from inside a loop body (the count then stays
/// as it was).
SSM_RUNTIME_API ssm_status_t ssm_set_num_threads(int32_t n);

/// Returns the number of threads parallel loops use (see above for where it
/// comes from); always in 1..SSM_MAX_THREADS. Does not start the pool.
SSM_RUNTIME_API int32_t ssm_get_num_threads(void);

/// Runs body(ctx, lo, hi) over contiguous chunks that exactly cover
/// [begin, end), on the pool's workers and the calling thread, and returns
/// when all chunks are done. Memory written by the bodies is visible to the
/// caller on return.
///
/// Partition (static and deterministic): with n = end - begin, g = max(grain,
/// 1) and T threads, the range is cut into C = min(T, max(1, n / g)) chunks;
/// chunk i (0-based, in index order) has n / C iterations, plus one if
/// i < n % C. So every chunk has at least g iterations unless n < g (then
/// there is one chunk), and the same (begin, end, grain, T) always gives the
/// same chunks, whichever threads run them. Results that depend only on the
/// chunk boundaries are therefore reproducible.
///
/// Nested calls (from inside a body) and calls made while another
/// application thread is running a loop on the pool do not wait: they run
/// the same chunks in order on the calling thread. Calls from several
/// threads are therefore safe and never deadlock.
///
/// Returns SSM_OK at once if begin >= end. Fails with
/// SSM_ERROR_INVALID_ARGUMENT for a null `body` or a negative `grain`
/// (checked before the range), and SSM_ERROR_OUT_OF_RANGE if end - begin
/// overflows int64_t; nothing runs then. Failing to start workers is not an
/// error: the loop runs on the threads that exist.
SSM_RUNTIME_API ssm_status_t ssm_parallel_for(int64_t begin, int64_t end,
                                              int64_t grain,
                                              ssm_parallel_body_t body,
                                              void *ctx);

/// Stops and joins the pool's workers and returns the runtime to its initial
/// state: the thread count set by ssm_set_num_threads is forgotten and
/// SSM_NUM_THREADS is read again when next needed. The runtime stays usable;
/// the next parallel loop starts a new pool. Waits for a loop started by
/// another thread to finish. Fails with SSM_ERROR_BUSY from inside a loop
/// body.
SSM_RUNTIME_API ssm_status_t ssm_runtime_shutdown(void);

//===----------------------------------------------------------------------===//
// Dense matrix products (CBLAS loaded at run time)
//===----------------------------------------------------------------------===//
//
// Generated code sends dense projections (the in, x, dt and out projections
// and the language-model head of a Mamba model) to a BLAS. The runtime does
// not link one: on first use it opens a CBLAS library with dlopen, once per
// process:
//  - the library named by the environment variable SSM_BLAS (a path or a
//    soname such as "libblis.so.4" or "libmkl_rt.so.2"), if it is set and
//    not empty; it is then the only one tried, so that an explicit choice is
//    never silently replaced;
//  - otherwise "libopenblas.so.0" (Debian: libopenblas0), then
//    "libblas.so.3" (whatever Debian's alternatives point at: OpenBLAS or
//    the reference BLAS).
// The library must export cblas_sgemm with 32-bit int sizes (the LP64
// interface). It stays loaded until the process exits. The outcome of this
// one attempt, success or failure, is final for the process: a failure is
// reported, with the same message, by every later call that needs the BLAS,
// e.g. "ssm_sgemm: no CBLAS library: tried libopenblas.so.0 (...), libblas.so.3
// (...); install libopenblas0 (Debian, Ubuntu) or set SSM_BLAS to a CBLAS
// library". Everything else in the runtime works without a BLAS.
//
// Threads: products with at least 128 columns of C run on the runtime's
// thread pool (ssm_get_num_threads() threads), a block of 64 columns per
// work item, each a single-threaded call of the BLAS; smaller ones run on
// the calling thread. OpenBLAS gets one thread of its own: the runtime sets
// OPENBLAS_NUM_THREADS=1 before it loads the library (unless the variable
// is set; OpenBLAS would otherwise start a thread per core, which spin for
// about 0.1 s before they sleep) and calls openblas_set_num_threads(1)
// after, so that its threads do not compete with the pool; other libraries
// keep their own setting: give them one thread (BLIS_NUM_THREADS=1,
// MKL_NUM_THREADS=1).
// A product called from inside a parallel loop body runs on that body's
// thread, like any nested parallel loop.

/// Loads the BLAS if that has not been tried yet (see above) and returns
/// SSM_OK if one is loaded, else SSM_ERROR_UNAVAILABLE with the message of
/// the attempt, naming each library tried and why it failed.
SSM_RUNTIME_API ssm_status_t ssm_blas_status(void);

/// Loads the BLAS if needed and returns the file it was loaded from, e.g.
/// "/usr/lib/x86_64-linux-gnu/libopenblas.so.0" (the name as given when the
/// loader does not report a path), or null if no BLAS could be loaded. The
/// string is static; never to be freed.
SSM_RUNTIME_API const char *ssm_blas_library(void);

/// Single-precision matrix product on row-major matrices:
///
///   C = A * op(B) + beta * C
///
/// where A is m x k with row stride `lda`, C is m x n with row stride `ldc`,
/// and op(B) is B (stored k x n, row stride `ldb`) when `trans_b` is 0 or
/// B^T (B stored n x k, row stride `ldb`, the layout of a PyTorch Linear
/// weight) when `trans_b` is 1. Strides count elements. With beta == 0, C is
/// only written, so it may hold anything (NaN included) on entry. C must not
/// overlap A or B.
///
/// Checks, in this order, with SSM_ERROR_INVALID_ARGUMENT and a message
/// naming the argument (e.g. "ssm_sgemm: ldb 3 is less than max(1, 4), the
/// length of a row"): `trans_b` is 0 or 1; m, n and k are not negative;
/// lda >= max(1, k), ldb >= max(1, row length of B), ldc >= max(1, n); a, b
/// and c are not null unless their matrix has no elements. A leading
/// dimension above INT_MAX (the BLAS takes C ints; this also bounds n and k)
/// or a matrix whose extent does not fit the address space is
/// SSM_ERROR_OUT_OF_RANGE. m may exceed INT_MAX: the product is then done in
/// blocks of rows.
///
/// m == 0 or n == 0 does nothing, and k == 0 only scales C by beta; neither
/// needs a BLAS. Otherwise the BLAS is loaded if needed, and its absence is
/// SSM_ERROR_UNAVAILABLE (see ssm_blas_status). Nothing is written to C when
/// the call fails.
SSM_RUNTIME_API ssm_status_t ssm_sgemm(int trans_b, int64_t m, int64_t n,
                                       int64_t k, const float *a, int64_t lda,
                                       const float *b, int64_t ldb, float beta,
                                       float *c, int64_t ldc);

/// ssm_sgemm for generated code, which has no error channel: the same
/// arguments and result, but on any failure (a bad argument or no BLAS) it
/// writes "ssm runtime: <message>" to stderr, e.g. "ssm runtime:
/// ssm_kernel_sgemm: no CBLAS library: tried ...", and calls abort(). It
/// never returns after a failure.
SSM_RUNTIME_API void ssm_kernel_sgemm(int trans_b, int64_t m, int64_t n,
                                      int64_t k, const float *a, int64_t lda,
                                      const float *b, int64_t ldb, float beta,
                                      float *c, int64_t ldc);

//===----------------------------------------------------------------------===//
// Packed weight matrices
//===----------------------------------------------------------------------===//
//
// Matrices W[n, k] stored in 16 bits or block-quantized to 8 or 4 bits
// (`format`, an ssm_weight_format of ssm/model_abi.h, which defines the
// layouts), and products that read them without expanding them to f32 in
// memory: for a few rows of A (decoding) the elements are decoded in
// registers; for more rows (a prompt) a block of W's rows at a time is
// decoded into a per-thread buffer that stays in cache and multiplied with
// the BLAS. docs/runtime.md has the thresholds and measurements.
//
// The packed bytes may start at any address; 64-byte alignment (what
// ssm_buffer_alloc and the weights file give) is the fastest. 16-bit values
// (elements and scales) are in the machine's byte order. Decoding is exact:
// every packed element, scale times quant included, is an f32 value.

/// The bytes of an n x k matrix packed in `format`, or -1 with
/// SSM_ERROR_INVALID_ARGUMENT (an unknown format or SSM_WEIGHT_F32, a
/// negative size, k not a multiple of SSM_WEIGHT_BLOCK for a block format)
/// or SSM_ERROR_OUT_OF_RANGE (more than INT64_MAX bytes) and a message.
SSM_RUNTIME_API int64_t ssm_packed_bytes(int32_t format, int64_t n, int64_t k);

/// Packs the row-major f32 matrix w[n, k] (row stride `ldw`) into `dst`,
/// which holds ssm_packed_bytes(format, n, k) bytes and must not overlap w:
/// rounding to nearest even for BF16 and F16 (NaN stays NaN, values beyond
/// the format's range become infinities), GGUF's rules for Q8_0 and Q4_0
/// (model_abi.h; the scale d is computed in f32 and stored rounded to f16,
/// so a block whose d exceeds 65504 decodes to infinities and NaNs, and one
/// whose d is below 2^-25 to zeros). A Q8_0 or Q4_0 block holding a NaN or
/// an infinity is stored with d = NaN and quants standing for 0, so that
/// all its elements decode to NaN. The padding after the scales is zeroed.
///
/// Checks, in this order, with the messages of ssm_packed_bytes: the format,
/// n, k >= 0, k a multiple of SSM_WEIGHT_BLOCK for a block format; then
/// ldw >= max(1, k) (SSM_ERROR_INVALID_ARGUMENT), the packed size, w non-null
/// if it has elements, dst non-null if the matrix takes bytes, w's extent
/// (SSM_ERROR_OUT_OF_RANGE). Nothing is written when the call fails.
SSM_RUNTIME_API ssm_status_t ssm_pack_weights(int32_t format, int64_t n,
                                              int64_t k, const float *w,
                                              int64_t ldw, void *dst);

/// C = A * W^T + beta * C, where A is m x k (row stride lda), C is m x n
/// (row stride ldc) and W is the n x k matrix packed at `w` in `format`.
/// With beta == 0, C is only written, so it may hold anything (NaN
/// included) on entry. C must not overlap A or W.
///
/// Checks, in this order, with SSM_ERROR_INVALID_ARGUMENT and a message
/// naming the argument (e.g. "ssm_packed_matmul: lda 31 is less than max(1,
/// 32), the length of a row"): the format; m, n, k >= 0; k a multiple of
/// SSM_WEIGHT_BLOCK for a block format; lda >= max(1, k) and ldc >= max(1,
/// n); a, w and c non-null unless their matrix has no elements. A leading
/// dimension above INT_MAX (the BLAS's int; this holds whichever way the
/// product is computed), a W of more than INT64_MAX bytes, or an A or C
/// whose extent does not fit the address space is SSM_ERROR_OUT_OF_RANGE.
///
/// m == 0 or n == 0 does nothing, and k == 0 only scales C by beta. Up to
/// 32 rows of A (on CPUs with AVX-512; 8 for Q8_0 with A in 8 bits and for
/// bf16 with AMX, 4 for Q4_0 with A in 8 bits; 1 row elsewhere) the weights
/// are decoded in registers; more rows are decoded into panels, which CPUs
/// with AVX-512 multiply themselves (on the AMX tile unit for bf16 where
/// it has one) and others with the BLAS, which is then loaded if needed,
/// its absence being SSM_ERROR_UNAVAILABLE as for ssm_sgemm. Nothing is
/// written to C when the call fails. Products with more than 64 columns
/// (in registers), 32 (panels with AVX-512; 128 on the tile unit) or more
/// than one panel of up to 128 rows of W (with the BLAS) run on the
/// runtime's pool, split by columns of C. Each element of C is a sum in an order that depends on the
/// path and the CPU's code, not on the number of threads (with the BLAS: as
/// the BLAS's own sgemm does).
///
/// Q8_0 and Q4_0 on a CPU with AVX-512 VNNI multiply the weights by A
/// quantized to 8 bits, as llama.cpp does: each block of 32 elements of a
/// row of A gets d = max |a| / 127 (f32) and the quants a / d rounded to
/// nearest even, so an element of C differs from the product with the
/// decoded weights by at most the sum over blocks of d / 2 * sum |w| (a
/// block holding a NaN or an infinity makes its row of C NaN). bf16 on a
/// CPU with AMX-BF16 (and an OS that grants it, Linux 5.16 on) multiplies
/// the weights by A rounded to bf16 (nearest even; subnormals, in A, in W
/// and in the sums, count as zero), as llama.cpp does, so an element
/// of C moves by at most 2^-9 * sum |a w|; prompts then run on the tile
/// unit, whose tiles each call configures and releases. The environment
/// variables SSM_Q8_0_A and SSM_Q4_0_A ("int8", the default, or "f32") and
/// SSM_BF16_A ("bf16", the default, or "f32"), read at each call, choose:
/// "f32" keeps A as given, on every path; any other value fails the call
/// with SSM_ERROR_INVALID_ARGUMENT.
SSM_RUNTIME_API ssm_status_t ssm_packed_matmul(int32_t format, int64_t m,
                                               int64_t n, int64_t k,
                                               const float *a, int64_t lda,
                                               const void *w, float beta,
                                               float *c, int64_t ldc);

/// Checks the environment variables ssm_packed_matmul reads (SSM_Q8_0_A,
/// SSM_Q4_0_A, SSM_BF16_A): SSM_OK, or SSM_ERROR_INVALID_ARGUMENT with the
/// message a product would fail with, e.g. "ssm_packed_check_environment:
/// SSM_BF16_A is "fp8"; set it to bf16 (the default) or f32". Generated
/// code's products abort on that error (ssm_kernel_packed_matmul), so a
/// program that runs it checks first; ssm-run and the Python package do.
SSM_RUNTIME_API ssm_status_t ssm_packed_check_environment(void);

/// Rows of a packed table (an embedding): out[i, :] = W[ids[i], :] as f32
/// for i < count, where W is n x k packed at `w` in `format` and out has row
/// stride ldo. Checks, in this order: the format; n, k, count >= 0; k a
/// multiple of SSM_WEIGHT_BLOCK for a block format; ldo >= max(1, k); w,
/// ids and out non-null unless they have no elements; W's size and out's
/// extent; then every id, before any row is written: one outside [0, n) is
/// SSM_ERROR_OUT_OF_RANGE naming it, e.g. "ssm_packed_gather: ids[3] =
/// 70000 is outside [0, 50280)". Needs no BLAS; runs on the calling thread.
SSM_RUNTIME_API ssm_status_t ssm_packed_gather(int32_t format, int64_t n,
                                               int64_t k, const void *w,
                                               const int64_t *ids,
                                               int64_t count, float *out,
                                               int64_t ldo);

/// ssm_packed_matmul and ssm_packed_gather for generated code: on failure
/// they write "ssm runtime: <message>" to stderr and abort(), like
/// ssm_kernel_sgemm, e.g. "ssm runtime: ssm_kernel_packed_gather: ids[0] =
/// -1 is outside [0, 50280)".
SSM_RUNTIME_API void ssm_kernel_packed_matmul(int32_t format, int64_t m,
                                              int64_t n, int64_t k,
                                              const float *a, int64_t lda,
                                              const void *w, float beta,
                                              float *c, int64_t ldc);
SSM_RUNTIME_API void ssm_kernel_packed_gather(int32_t format, int64_t n,
                                              int64_t k, const void *w,
                                              const int64_t *ids,
                                              int64_t count, float *out,
                                              int64_t ldo);

//===----------------------------------------------------------------------===//
// Weights files
//===----------------------------------------------------------------------===//
//
// `ssmc MODEL_FOLDER` writes the model's parameters as one flat f32 buffer
// to a weights file: a one-page header (the magic, the float count and the
// layout hash), then the floats; ssm/model_abi.h defines the header. The
// compiled library exports `<name>_info`, whose entries
// SSM_MODEL_INFO_WEIGHTS_FLOATS and SSM_MODEL_INFO_WEIGHTS_HASH are the
// float count and hash it expects. docs/models.md.

/// A mapped weights file.
typedef struct ssm_weights ssm_weights_t;

/// Maps the weights file at `path` read-only (pages shared between
/// processes) after checking its magic, that it holds exactly
/// `expected_floats` floats and that its layout hash is `expected_hash`.
/// Every mismatch is SSM_ERROR_INVALID_ARGUMENT with a message naming the
/// file and both values.
SSM_RUNTIME_API ssm_status_t ssm_weights_open(const char *path,
                                              int64_t expected_floats,
                                              int64_t expected_hash,
                                              ssm_weights_t **out);

/// The first float (64-byte aligned: the header is one page), or NULL for
/// a NULL handle.
SSM_RUNTIME_API const float *ssm_weights_data(const ssm_weights_t *weights);

/// Unmaps the file and releases the handle; NULL is a no-op (SSM_OK). A
/// handle that is not open (closed already, or never returned by
/// ssm_weights_open) is SSM_ERROR_INVALID_ARGUMENT and nothing happens: a
/// double close is reported instead of freeing memory twice. (Once closed,
/// the address may be reused by a later ssm_weights_open, as with free().)
SSM_RUNTIME_API ssm_status_t ssm_weights_close(ssm_weights_t *weights);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // SSM_RUNTIME_H
