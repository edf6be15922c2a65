//===- status.c - Status codes, error messages and versions ----------------===//
//
// Part of ssmc. The per-thread error message lives in a fixed thread-local
// buffer, so recording an error never allocates and cannot itself fail.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SSM_STR2(x) #x
#define SSM_STR(x) SSM_STR2(x)

// Large enough for a function name, an argument name and a few numbers.
enum { kMessageCapacity = 512 };

static _Thread_local char tls_message[kMessageCapacity];

const char *ssm_runtime_version(void) {
  return SSM_STR(SSM_RUNTIME_VERSION_MAJOR) "." SSM_STR(
      SSM_RUNTIME_VERSION_MINOR) "." SSM_STR(SSM_RUNTIME_VERSION_PATCH);
}

uint32_t ssm_runtime_abi_version(void) { return SSM_RUNTIME_ABI_VERSION; }

const char *ssm_status_string(ssm_status_t status) {
  switch (status) {
  case SSM_OK:
    return "ok";
  case SSM_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case SSM_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case SSM_ERROR_UNAVAILABLE:
    return "unavailable";
  case SSM_ERROR_INTERNAL:
    return "internal error";
  case SSM_ERROR_OUT_OF_RANGE:
    return "out of range";
  case SSM_ERROR_BUSY:
    return "busy";
  case SSM_ERROR_UNIMPLEMENTED:
    return "unimplemented";
  }
  return "unknown status";
}

const char *ssm_last_error(void) { return tls_message; }

void ssm_clear_error(void) { tls_message[0] = '\0'; }

ssm_status_t ssm_set_error(ssm_status_t status, const char *fmt, ...) {
  if (status == SSM_OK) {
    tls_message[0] = '\0';
    return SSM_OK;
  }
  if (!fmt) {
    snprintf(tls_message, sizeof tls_message, "%s", ssm_status_string(status));
    return status;
  }
  // Format into a scratch buffer first: an argument may be the current
  // message itself, and vsnprintf's source and destination must not overlap.
  char scratch[kMessageCapacity];
  va_list args;
  va_start(args, fmt);
  int written = vsnprintf(scratch, sizeof scratch, fmt, args);
  va_end(args);
  if (written < 0)
    snprintf(scratch, sizeof scratch, "%s (unformattable message)",
             ssm_status_string(status));
  size_t length = strlen(scratch); // vsnprintf always terminates.
  memcpy(tls_message, scratch, length);
  tls_message[length] = '\0';
  return status;
}
