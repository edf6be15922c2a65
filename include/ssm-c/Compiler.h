/*===- ssm-c/Compiler.h - The ssm compiler as a library -------------*- C -*-===
 *
 * Part of ssmc. A C API to the compiler, in libssmc_compiler.so: compile
 * ssm IR (text in memory, a file) or a Hugging Face Mamba / Mamba-2 model
 * folder to an object, a shared library, PTX, LLVM IR, ... and the C header
 * and JSON description of its entry points, held in memory or written to
 * files. The ssmc tool and the Python package (python/) are built on it.
 *
 *   ssmc_session_t *session;
 *   ssmc_session_create(&session);
 *   const char *flags[] = {"--emit=shared", "--mcpu=x86-64-v3"};
 *   if (ssmc_session_set_flags(session, 2, flags) != SSMC_OK) ...
 *   ssmc_artifacts_t *artifacts;
 *   if (ssmc_compile_source(session, "scan.mlir", text, strlen(text),
 *                           &artifacts) == SSMC_OK) {
 *     ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_OUTPUT, "libscan.so");
 *     ssmc_artifacts_write(artifacts, SSMC_ARTIFACT_HEADER, "scan.h");
 *     ssmc_artifacts_destroy(artifacts);
 *   }
 *   ssmc_session_destroy(session);
 *
 * Every function that can fail returns an ssmc_status_t and reports why
 * through the session's diagnostic callback (stderr by default). Sessions
 * are independent: several threads may compile at once, each with its own
 * session. Ownership is stated per function; nothing is freed by the
 * caller with free().
 *
 *===----------------------------------------------------------------------===*/

#ifndef SSM_C_COMPILER_H
#define SSM_C_COMPILER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SSMC_API __attribute__((visibility("default")))
#else
#define SSMC_API
#endif

typedef enum ssmc_status {
  SSMC_OK = 0,
  /** A null pointer, an unknown kind, a bad flag. */
  SSMC_ERROR_INVALID_ARGUMENT = 1,
  /** The input did not compile; the diagnostics say why. */
  SSMC_ERROR_COMPILATION = 2,
  /** An artifact the compilation does not have, or a file not written. */
  SSMC_ERROR_UNAVAILABLE = 3,
} ssmc_status_t;

typedef enum ssmc_severity {
  SSMC_SEVERITY_NOTE = 0,
  SSMC_SEVERITY_WARNING = 1,
  SSMC_SEVERITY_ERROR = 2,
  SSMC_SEVERITY_REMARK = 3,
} ssmc_severity_t;

/** Receives each diagnostic as the ssmc tool prints it (no final newline):
 * `scan.mlir:3:7: error: ...` followed by the source line, or
 * `ssmc: error: ...`. `message` lives until the callback returns. */
typedef void (*ssmc_diagnostic_callback_t)(ssmc_severity_t severity,
                                           const char *message,
                                           void *user_data);

typedef enum ssmc_artifact_kind {
  /** What --emit asks for: an object (default), a shared library, PTX,
   * LLVM IR, assembly or MLIR text. */
  SSMC_ARTIFACT_OUTPUT = 0,
  /** The C header declaring the entry points. */
  SSMC_ARTIFACT_HEADER = 1,
  /** The entry points as JSON (docs/sdk.md "The interface description"). */
  SSMC_ARTIFACT_INTERFACE = 2,
  /** A model folder's weights file (written to a file only). */
  SSMC_ARTIFACT_WEIGHTS = 3,
} ssmc_artifact_kind_t;

/** The kinds of SSMC_ARTIFACT_OUTPUT, as --emit names them. */
typedef enum ssmc_output_kind {
  SSMC_OUTPUT_IMPORTED = 0,   /**< --emit=imported: the ssm IR as read */
  SSMC_OUTPUT_BUFFERIZED = 1, /**< --emit=bufferized */
  SSMC_OUTPUT_MLIR = 2,       /**< --emit=mlir: the LLVM dialect */
  SSMC_OUTPUT_LLVM = 3,       /**< --emit=llvm: LLVM IR */
  SSMC_OUTPUT_ASM = 4,        /**< --emit=asm */
  SSMC_OUTPUT_OBJECT = 5,     /**< --emit=obj (default) */
  SSMC_OUTPUT_SHARED = 6,     /**< --emit=shared */
  SSMC_OUTPUT_PTX = 7,        /**< --emit=ptx */
} ssmc_output_kind_t;

typedef struct ssmc_session ssmc_session_t;
typedef struct ssmc_artifacts ssmc_artifacts_t;

/** The compiler's version, "0.1.0". Static storage. */
SSMC_API const char *ssmc_version(void);

/** A session with the default flags (those of `ssmc` with no flags) and
 * diagnostics to stderr. Destroy with ssmc_session_destroy. */
SSMC_API ssmc_status_t ssmc_session_create(ssmc_session_t **out_session);
/** Null is ignored. Artifacts made by the session stay valid. */
SSMC_API void ssmc_session_destroy(ssmc_session_t *session);

/** Sends the session's diagnostics to `callback` (null: back to stderr). */
SSMC_API void ssmc_session_set_diagnostic_callback(
    ssmc_session_t *session, ssmc_diagnostic_callback_t callback,
    void *user_data);

/** Sets the compilation flags from ssmc's command-line spelling
 * ("--emit=shared", "--target=cuda", "-O2", "--caller-outputs", or a
 * value as the next argument: "--mcpu", "znver4"; `ssmc --help` lists
 * them). Each call starts from the defaults. On a bad flag,
 * reports it and leaves the session's flags as they were. */
SSMC_API ssmc_status_t ssmc_session_set_flags(ssmc_session_t *session,
                                              int argc,
                                              const char *const *argv);

/** What SSMC_ARTIFACT_OUTPUT will hold with the session's flags. */
SSMC_API ssmc_output_kind_t
ssmc_session_get_output_kind(const ssmc_session_t *session);

/** Compiles the MLIR file or model folder at `path` ("-": stdin). On
 * success `*out_artifacts` holds the results (destroy with
 * ssmc_artifacts_destroy); on failure it is null. */
SSMC_API ssmc_status_t ssmc_compile_file(ssmc_session_t *session,
                                         const char *path,
                                         ssmc_artifacts_t **out_artifacts);
/** Compiles MLIR text (or bytecode) of `size` bytes; `name` names it in
 * diagnostics and in defaults derived from the input. */
SSMC_API ssmc_status_t ssmc_compile_source(ssmc_session_t *session,
                                           const char *name, const char *data,
                                           size_t size,
                                           ssmc_artifacts_t **out_artifacts);

/** The bytes of an artifact, valid until the artifacts are destroyed:
 * SSMC_ERROR_UNAVAILABLE (with a diagnostic) for the weights, for a header
 * of a module whose signatures C cannot express, or a header of
 * --emit=imported. A header read so is guarded by SSMC_<INPUT NAME>_H. */
SSMC_API ssmc_status_t ssmc_artifacts_get(ssmc_artifacts_t *artifacts,
                                          ssmc_artifact_kind_t kind,
                                          const void **out_data,
                                          size_t *out_size);
/** Writes an artifact to the file `path` ("-": stdout); a header is guarded
 * after the file's name. A file not completely written is removed. */
SSMC_API ssmc_status_t ssmc_artifacts_write(ssmc_artifacts_t *artifacts,
                                            ssmc_artifact_kind_t kind,
                                            const char *path);
/** Whether the compilation has the artifact: the weights only for a model
 * folder, the header and interface where C can express the signatures. */
SSMC_API int ssmc_artifacts_has(const ssmc_artifacts_t *artifacts,
                                ssmc_artifact_kind_t kind);
/** Null is ignored. */
SSMC_API void ssmc_artifacts_destroy(ssmc_artifacts_t *artifacts);

/** For command-line front ends: whether `flag` ("--mcpu") takes the next
 * argument as its value ("--mcpu znver4"). */
SSMC_API int ssmc_flag_takes_value(const char *flag);

/** Prints the flags ssmc_session_set_flags takes, with their help, to
 * stdout. */
SSMC_API void ssmc_print_flags_help(void);

#ifdef __cplusplus
}
#endif

#endif /* SSM_C_COMPILER_H */
