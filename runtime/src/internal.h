//===- internal.h - Declarations shared by the runtime's sources -*- C -*-===//
//
// Part of ssmc. Helpers used by more than one source file of the runtime,
// and hooks that the unit tests reach by linking the static library. Nothing
// here is exported from libssm_runtime.so (the library is built with hidden
// visibility and these declarations do not carry SSM_RUNTIME_API), so none
// of it is part of the API.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_SRC_INTERNAL_H
#define SSM_RUNTIME_SRC_INTERNAL_H

#include "ssm/runtime.h"

#include <stdint.h>

/// The device that generated code (the mgpu* functions of mgpu.c) runs on;
/// ssm_cuda_set_call_stream accepts only streams of it.
#define SSM_MGPU_DEVICE 0

#ifdef __cplusplus
extern "C" {
#endif

/// Parses a value of SSM_NUM_THREADS: a decimal integer in
/// 1..SSM_MAX_THREADS with optional blanks around it. Returns the value, or
/// 0 if `text` is null or anything else.
int32_t ssm_internal_parse_num_threads(const char *text);

/// The number of CPUs the process may run on, in 1..SSM_MAX_THREADS.
int32_t ssm_internal_cpu_count(void);

/// The chunks ssm_parallel_for makes of `n` > 0 iterations with grain
/// `grain` >= 1 and `threads` >= 1 threads: their number, and for chunk i
/// the offset (from begin) and size. Exposed so that tests can check the
/// rule against the documented formula.
int64_t ssm_internal_num_chunks(int64_t n, int64_t grain, int32_t threads);
void ssm_internal_chunk(int64_t n, int64_t num_chunks, int64_t i,
                        int64_t *out_offset, int64_t *out_size);

/// The number of worker threads currently alive in the pool (0 before the
/// first parallel loop and after ssm_runtime_shutdown).
int32_t ssm_internal_live_workers(void);

/// Checks the row stride `ld` (named `name` in the message) of a row-major
/// matrix with rows of `cols` elements: at least max(1, cols), the CBLAS
/// rule (SSM_ERROR_INVALID_ARGUMENT), and at most INT_MAX, since the BLAS
/// takes C ints (SSM_ERROR_OUT_OF_RANGE). `fn` starts the message.
ssm_status_t ssm_internal_check_ld(const char *fn, const char *name,
                                   int64_t ld, int64_t cols);

/// Checks that a row-major matrix `name` of `rows` x `cols` floats with row
/// stride `ld` (rows, cols >= 0, ld >= cols) is addressable: its extent in
/// bytes fits in a ptrdiff_t (SSM_ERROR_OUT_OF_RANGE). Empty matrices are.
ssm_status_t ssm_internal_check_extent(const char *fn, const char *name,
                                       int64_t rows, int64_t cols, int64_t ld);

/// Checks that the operand `name` is not null unless its rows x cols
/// matrix is empty (SSM_ERROR_INVALID_ARGUMENT).
ssm_status_t ssm_internal_check_pointer(const char *fn, const char *name,
                                        const void *pointer, int64_t rows,
                                        int64_t cols);

/// C = beta * C on the m x n matrix C (row stride ldc); beta == 0 stores
/// zeros without reading C. The products' k == 0 case.
void ssm_internal_scale_c(int64_t m, int64_t n, float beta, float *c,
                          int64_t ldc);

/// Loads the BLAS if that has not been tried yet and returns SSM_OK if one
/// is loaded; otherwise records "<fn>: <why>" and returns its status.
ssm_status_t ssm_internal_blas_load(const char *fn);

/// The arguments of ssm_sgemm, computed on the calling thread with one
/// single-threaded call of the loaded BLAS per INT_MAX rows (sgemv for one
/// row or column): what each of ssm_sgemm's work items runs, for products
/// that split the work themselves. Requires ssm_internal_blas_load to have
/// succeeded, m, n, k > 0, and n, k and the strides within INT_MAX.
void ssm_internal_blas_product(int trans_b, int64_t m, int64_t n, int64_t k,
                               const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc);

/// Makes ssm_packed_matmul and ssm_packed_gather use their portable C code
/// even on a CPU with AVX-512 (`force` true), or the best code the CPU runs
/// (false, the initial state), so that tests check both on one machine.
/// Process-wide; not to be changed while a packed product runs.
void ssm_internal_packed_force_portable(bool force);

/// Whether this CPU runs the packed products' AVX-512 code (whatever
/// ssm_internal_packed_force_portable says).
bool ssm_internal_packed_has_avx512(void);
// True where Q8_0 and Q4_0 products multiply A in 8 bits (AVX-512 VNNI).
bool ssm_internal_packed_has_vnni(void);
// True where bf16 products round A to bf16 and run prompts on AMX tiles.
bool ssm_internal_packed_has_amx_bf16(void);

/// Makes ssm_packed_matmul decode in registers when m <= `rows` and into
/// panels above (the AVX-512 code's own tiles, or the BLAS's in the
/// portable code), so that tests reach both paths with any m;
/// a negative `rows` restores the runtime's own choice (which depends on
/// the code: see packed.c). Process-wide, like the hook above.
void ssm_internal_packed_set_register_rows(int64_t rows);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // SSM_RUNTIME_SRC_INTERNAL_H
