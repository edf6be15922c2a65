//===- Output.h - Finishing an output file ----------------------*- C++ -*-===//
//
// Part of ssmc. An llvm::raw_fd_ostream destroyed with an unchecked write
// error stops the program ("LLVM ERROR: IO failure on output stream"). The
// tools finish every output through this, so that a full disk or a closed
// pipe is an error message naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SUPPORT_OUTPUT_H
#define SSM_SUPPORT_OUTPUT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/ToolOutputFile.h"

#include <string>

namespace mlir::ssm {

/// Flushes `file` (written to `path`, "-" for stdout) and closes it unless
/// it is stdout. Returns an empty string, or the reason the writes failed,
/// with the stream's error taken so that destroying it is safe. Does not
/// keep() the file: a failed output is removed.
inline std::string finishOutput(llvm::ToolOutputFile &file, llvm::StringRef path) {
  if (path == "-")
    file.os().flush();
  else
    file.os().close();
  std::error_code ec = file.os().error();
  if (!ec)
    return "";
  file.os().clear_error();
  return "cannot write '" + path.str() + "': " + ec.message();
}

} // namespace mlir::ssm

#endif // SSM_SUPPORT_OUTPUT_H
