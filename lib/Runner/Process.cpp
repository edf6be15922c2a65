//===- Process.cpp - Running a program without a shell --------------------===//
//
// Part of ssmc. See include/ssm/Runner/Process.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runner/Process.h"

#include <cerrno>
#include <cstring>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

bool ssmrun::runProgram(const std::vector<std::string> &argv, std::string &error) {
  if (argv.empty()) {
    error = "no program to run";
    return false;
  }
  std::vector<char *> args;
  for (const std::string &arg : argv)
    args.push_back(const_cast<char *>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  // A bare name (python3) is looked up on PATH.
  bool search = argv[0].find('/') == std::string::npos;
  int status = (search ? posix_spawnp : posix_spawn)(&pid, args[0], nullptr, nullptr,
                                                     args.data(), environ);
  if (status != 0) {
    error = "cannot run '" + argv[0] + "': " + std::strerror(status);
    return false;
  }
  int waitStatus;
  while (waitpid(pid, &waitStatus, 0) < 0) {
    if (errno != EINTR) {
      error = "cannot wait for '" + argv[0] + "': " + std::strerror(errno);
      return false;
    }
  }
  if (WIFEXITED(waitStatus) && WEXITSTATUS(waitStatus) == 0)
    return true;
  error = "'" + argv[0] + "' " +
          (WIFSIGNALED(waitStatus)
               ? "was killed by signal " + std::to_string(WTERMSIG(waitStatus)) +
                     " (" + strsignal(WTERMSIG(waitStatus)) + ")"
               : "exited with status " + std::to_string(WEXITSTATUS(waitStatus)));
  return false;
}
