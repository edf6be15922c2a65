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

#ifdef __cplusplus
} // extern "C"
#endif

#endif // SSM_RUNTIME_SRC_INTERNAL_H
