//===- Process.h - Running a program without a shell ------------*- C++ -*-===//
//
// Part of ssmc. Tools that start another program (ssm-run compiling a model
// folder with ssmc, the model benchmark) pass user data such as paths: those
// must reach the program as arguments, never through a shell that would
// interpret quotes, `$(...)` or `;` in a folder name. No LLVM, like the rest
// of the runner.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNNER_PROCESS_H
#define SSM_RUNNER_PROCESS_H

#include <string>
#include <vector>

namespace ssmrun {

/// Runs `argv[0]` (a path, or a bare name searched on PATH) with `argv`
/// and waits for it; its standard streams are this process's. Returns true
/// when it exited with status 0; otherwise false with `error` saying why
/// (could not start, exit status, signal).
bool runProgram(const std::vector<std::string> &argv, std::string &error);

} // namespace ssmrun

#endif // SSM_RUNNER_PROCESS_H
