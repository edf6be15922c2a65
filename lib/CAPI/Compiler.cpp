//===- Compiler.cpp - The compiler's C API --------------------------------===//
//
// Part of ssmc. See include/ssm-c/Compiler.h. A thin layer over the driver
// (ssm/Driver/Driver.h): sessions hold parsed flags and a diagnostic
// callback, artifacts the driver's in-memory results.
//
//===----------------------------------------------------------------------===//

#include "ssm-c/Compiler.h"

#include "ssm/Driver/Driver.h"

#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::ssm;

struct ssmc_session {
  DriverOptions options;
  ssmc_diagnostic_callback_t callback = nullptr;
  void *userData = nullptr;
};

struct ssmc_artifacts {
  Artifacts artifacts;
  /// The session's diagnostics, for reading and writing: artifacts may
  /// outlive their session.
  ssmc_diagnostic_callback_t callback = nullptr;
  void *userData = nullptr;
  /// Rendered artifacts handed out by ssmc_artifacts_get.
  std::map<ArtifactKind, std::string> rendered;
};

namespace {

ssmc_severity_t severityOf(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Note:
    return SSMC_SEVERITY_NOTE;
  case DiagnosticSeverity::Warning:
    return SSMC_SEVERITY_WARNING;
  case DiagnosticSeverity::Error:
    return SSMC_SEVERITY_ERROR;
  case DiagnosticSeverity::Remark:
    return SSMC_SEVERITY_REMARK;
  }
  return SSMC_SEVERITY_ERROR;
}

DiagnosticCallback forward(ssmc_diagnostic_callback_t callback, void *userData) {
  return [callback, userData](DiagnosticSeverity severity, StringRef message) {
    if (!callback) {
      llvm::errs() << message << "\n";
      return;
    }
    std::string text = message.str();
    callback(severityOf(severity), text.c_str(), userData);
  };
}

std::optional<ArtifactKind> kindOf(ssmc_artifact_kind_t kind) {
  switch (kind) {
  case SSMC_ARTIFACT_OUTPUT:
    return ArtifactKind::Output;
  case SSMC_ARTIFACT_HEADER:
    return ArtifactKind::Header;
  case SSMC_ARTIFACT_INTERFACE:
    return ArtifactKind::Interface;
  case SSMC_ARTIFACT_WEIGHTS:
    return ArtifactKind::Weights;
  }
  return std::nullopt;
}

ssmc_status_t finishCompile(ssmc_session_t *session, LogicalResult result,
                            std::unique_ptr<ssmc_artifacts> artifacts,
                            ssmc_artifacts_t **out) {
  if (failed(result))
    return SSMC_ERROR_COMPILATION;
  artifacts->callback = session->callback;
  artifacts->userData = session->userData;
  *out = artifacts.release();
  return SSMC_OK;
}

} // namespace

const char *ssmc_version(void) { return "0.1.0"; }

ssmc_status_t ssmc_session_create(ssmc_session_t **out_session) {
  if (!out_session)
    return SSMC_ERROR_INVALID_ARGUMENT;
  *out_session = new ssmc_session;
  // The defaults are those of an empty command line (CUDA_HOME and such).
  std::string error;
  (void)parseDriverFlags({}, (*out_session)->options, error);
  return SSMC_OK;
}

void ssmc_session_destroy(ssmc_session_t *session) { delete session; }

void ssmc_session_set_diagnostic_callback(ssmc_session_t *session,
                                          ssmc_diagnostic_callback_t callback,
                                          void *user_data) {
  if (!session)
    return;
  session->callback = callback;
  session->userData = user_data;
}

ssmc_status_t ssmc_session_set_flags(ssmc_session_t *session, int argc,
                                     const char *const *argv) {
  if (!session || argc < 0 || (argc > 0 && !argv))
    return SSMC_ERROR_INVALID_ARGUMENT;
  std::vector<std::string> flags;
  for (int i = 0; i < argc; ++i) {
    if (!argv[i]) {
      forward(session->callback, session->userData)(
          DiagnosticSeverity::Error,
          "ssmc: error: flag " + std::to_string(i) + " is a null pointer");
      return SSMC_ERROR_INVALID_ARGUMENT;
    }
    flags.push_back(argv[i]);
  }
  DriverOptions options;
  std::string error;
  if (failed(parseDriverFlags(flags, options, error))) {
    forward(session->callback, session->userData)(DiagnosticSeverity::Error,
                                                  "ssmc: error: " + error);
    return SSMC_ERROR_INVALID_ARGUMENT;
  }
  session->options = std::move(options);
  return SSMC_OK;
}

ssmc_output_kind_t ssmc_session_get_output_kind(const ssmc_session_t *session) {
  if (!session)
    return SSMC_OUTPUT_OBJECT;
  return static_cast<ssmc_output_kind_t>(session->options.emit);
}

ssmc_status_t ssmc_compile_file(ssmc_session_t *session, const char *path,
                                ssmc_artifacts_t **out_artifacts) {
  if (!out_artifacts)
    return SSMC_ERROR_INVALID_ARGUMENT;
  *out_artifacts = nullptr;
  if (!session || !path)
    return SSMC_ERROR_INVALID_ARGUMENT;
  auto artifacts = std::make_unique<ssmc_artifacts>();
  LogicalResult result =
      compileFile(session->options, path, artifacts->artifacts,
                  forward(session->callback, session->userData));
  return finishCompile(session, result, std::move(artifacts), out_artifacts);
}

ssmc_status_t ssmc_compile_source(ssmc_session_t *session, const char *name,
                                  const char *data, size_t size,
                                  ssmc_artifacts_t **out_artifacts) {
  if (!out_artifacts)
    return SSMC_ERROR_INVALID_ARGUMENT;
  *out_artifacts = nullptr;
  if (!session || (!data && size))
    return SSMC_ERROR_INVALID_ARGUMENT;
  auto artifacts = std::make_unique<ssmc_artifacts>();
  LogicalResult result = compileSource(
      session->options, name && *name ? name : "<source>",
      StringRef(data ? data : "", size), artifacts->artifacts,
      forward(session->callback, session->userData));
  return finishCompile(session, result, std::move(artifacts), out_artifacts);
}

ssmc_status_t ssmc_artifacts_get(ssmc_artifacts_t *artifacts,
                                 ssmc_artifact_kind_t kind,
                                 const void **out_data, size_t *out_size) {
  std::optional<ArtifactKind> which = kindOf(kind);
  if (!artifacts || !which || !out_data || !out_size)
    return SSMC_ERROR_INVALID_ARGUMENT;
  *out_data = nullptr;
  *out_size = 0;
  auto found = artifacts->rendered.find(*which);
  if (found == artifacts->rendered.end()) {
    FailureOr<std::string> bytes =
        renderArtifact(artifacts->artifacts, *which,
                       forward(artifacts->callback, artifacts->userData));
    if (failed(bytes))
      return SSMC_ERROR_UNAVAILABLE;
    found = artifacts->rendered.emplace(*which, std::move(*bytes)).first;
  }
  *out_data = found->second.data();
  *out_size = found->second.size();
  return SSMC_OK;
}

ssmc_status_t ssmc_artifacts_write(ssmc_artifacts_t *artifacts,
                                   ssmc_artifact_kind_t kind,
                                   const char *path) {
  std::optional<ArtifactKind> which = kindOf(kind);
  if (!artifacts || !which || !path)
    return SSMC_ERROR_INVALID_ARGUMENT;
  return succeeded(writeArtifact(artifacts->artifacts, *which, path,
                                 forward(artifacts->callback,
                                         artifacts->userData)))
             ? SSMC_OK
             : SSMC_ERROR_UNAVAILABLE;
}

int ssmc_artifacts_has(const ssmc_artifacts_t *artifacts,
                       ssmc_artifact_kind_t kind) {
  if (!artifacts)
    return 0;
  switch (kind) {
  case SSMC_ARTIFACT_OUTPUT:
    return 1;
  case SSMC_ARTIFACT_HEADER:
  case SSMC_ARTIFACT_INTERFACE:
    return artifacts->artifacts.interface.has_value();
  case SSMC_ARTIFACT_WEIGHTS:
    return artifacts->artifacts.checkpoint.has_value();
  }
  return 0;
}

void ssmc_artifacts_destroy(ssmc_artifacts_t *artifacts) { delete artifacts; }

int ssmc_flag_takes_value(const char *flag) {
  return flag && driverFlagTakesNextArgument(flag);
}

void ssmc_print_flags_help(void) { printDriverFlagsHelp(); }

static_assert(static_cast<int>(EmitKind::Imported) == SSMC_OUTPUT_IMPORTED &&
                  static_cast<int>(EmitKind::Shared) == SSMC_OUTPUT_SHARED &&
                  static_cast<int>(EmitKind::PTX) == SSMC_OUTPUT_PTX,
              "ssmc_output_kind_t numbers EmitKind's values");
