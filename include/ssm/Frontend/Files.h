//===- Files.h - Opening the files of a model folder ------------*- C++ -*-===//
//
// Part of ssmc. Every file the frontend reads comes from a model folder,
// which is untrusted (docs/security.md): a path may name a FIFO, a device or
// a huge file. These helpers refuse anything but a regular file before a
// byte is read, without blocking on the open itself.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_FILES_H
#define SSM_FRONTEND_FILES_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>

namespace mlir::ssm {

/// Opens `path` read-only and returns its descriptor (close-on-exec,
/// blocking reads) and, in `size`, its size. Fails, naming the path, when
/// it cannot be opened or is not a regular file; opening never blocks, so a
/// FIFO is refused instead of waiting for a writer.
llvm::Expected<int> openRegularFile(llvm::StringRef path, uint64_t &size);

/// Reads the regular file `path` whole, refusing files larger than
/// `maxBytes` (a JSON file of a model folder is kilobytes; megabytes for a
/// shard index).
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readRegularFile(llvm::StringRef path, uint64_t maxBytes);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_FILES_H
