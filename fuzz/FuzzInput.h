//===- FuzzInput.h - Fuzz inputs as files -----------------------*- C++ -*-===//
//
// Part of ssmc's fuzzers. The readers under test take paths (they mmap or
// open files, as users' tools do), so each input is written to an anonymous
// in-memory file and passed as /proc/self/fd/N: the real open path runs, with
// no disk traffic.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FUZZ_FUZZINPUT_H
#define SSM_FUZZ_FUZZINPUT_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace ssm::fuzz {

/// An in-memory file holding one input; closed when destroyed.
class MemoryFile {
public:
  MemoryFile(const uint8_t *data, size_t size) {
    fd = memfd_create("ssm-fuzz", MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != static_cast<ssize_t>(size))) {
      std::perror("ssm-fuzz: memfd");
      std::abort();
    }
  }
  ~MemoryFile() { close(fd); }
  MemoryFile(const MemoryFile &) = delete;
  MemoryFile &operator=(const MemoryFile &) = delete;

  /// A path that opens this file.
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }

private:
  int fd = -1;
};

} // namespace ssm::fuzz

#endif // SSM_FUZZ_FUZZINPUT_H
