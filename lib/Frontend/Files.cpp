//===- Files.cpp - Opening the files of a model folder --------------------===//
//
// Part of ssmc. See include/ssm/Frontend/Files.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/Files.h"

#include "llvm/ADT/Twine.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir::ssm;
using llvm::Expected;
using llvm::StringRef;

static llvm::Error fail(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

Expected<int> mlir::ssm::openRegularFile(StringRef path, uint64_t &size) {
  std::string name = path.str();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
  // writer forever. It is cleared once the file is known to be regular.
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(path, "not a regular file");
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    int error = errno;
    ::close(fd);
    return fail(path, std::string("cannot read: ") + std::strerror(error));
  }
  size = uint64_t(st.st_size);
  return fd;
}

Expected<std::unique_ptr<llvm::MemoryBuffer>>
mlir::ssm::readRegularFile(StringRef path, uint64_t maxBytes) {
  uint64_t size = 0;
  Expected<int> fd = openRegularFile(path, size);
  if (!fd)
    return fd.takeError();
  if (size > maxBytes) {
    ::close(*fd);
    return fail(path, "is " + llvm::Twine(size) + " bytes, more than the " +
                          llvm::Twine(maxBytes) + " this file may have");
  }
  auto buffer = llvm::MemoryBuffer::getOpenFileSlice(*fd, path, size, 0);
  ::close(*fd);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}
