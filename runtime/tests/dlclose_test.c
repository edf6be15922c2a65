//===- dlclose_test.c - Unloading the runtime joins its workers -----------===//
//
// Part of ssmc. Loads libssm_runtime.so (path in argv[1]) with dlopen, runs
// a parallel loop on four threads, unloads the library, and checks through
// /proc/self/task that the three workers are gone: a worker left behind
// would run code that is no longer mapped. Linux only.
//
//===----------------------------------------------------------------------===//

#define _GNU_SOURCE

#include "ssm/runtime.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

static int count_threads(void) {
  DIR *dir = opendir("/proc/self/task");
  if (!dir)
    return -1;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL)
    if (entry->d_name[0] != '.')
      ++count;
  closedir(dir);
  return count;
}

// A joined thread can linger in /proc for a moment after pthread_join
// returns; poll for up to a second.
static int settled_threads(int expected) {
  int count = count_threads();
  for (int i = 0; i < 200 && count != expected; ++i) {
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
    count = count_threads();
  }
  return count;
}

static void body(void *ctx, int64_t lo, int64_t hi) {
  int *marks = (int *)ctx;
  for (int64_t i = lo; i < hi; ++i)
    marks[i] += 1;
}

typedef ssm_status_t (*set_threads_fn)(int32_t);
typedef ssm_status_t (*parallel_for_fn)(int64_t, int64_t, int64_t,
                                        ssm_parallel_body_t, void *);

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s path/to/libssm_runtime.so\n", argv[0]);
    return 2;
  }
  int before = count_threads();
  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  set_threads_fn set_threads =
      (set_threads_fn)(uintptr_t)dlsym(library, "ssm_set_num_threads");
  parallel_for_fn parallel_for =
      (parallel_for_fn)(uintptr_t)dlsym(library, "ssm_parallel_for");
  if (!set_threads || !parallel_for) {
    fprintf(stderr, "dlsym failed\n");
    return 1;
  }
  int marks[64] = {0};
  if (set_threads(4) != SSM_OK || parallel_for(0, 64, 1, body, marks) != SSM_OK)
    return 1;
  for (int i = 0; i < 64; ++i)
    if (marks[i] != 1) {
      fprintf(stderr, "index %d ran %d times\n", i, marks[i]);
      return 1;
    }
  int during = count_threads();
  if (dlclose(library) != 0) {
    fprintf(stderr, "dlclose: %s\n", dlerror());
    return 1;
  }
  // Compare with the count during the loop: sanitizers may have started
  // threads of their own meanwhile.
  int after = settled_threads(during - 3);
  printf("threads: before %d, with pool %d, after dlclose %d\n", before,
         during, after);
  if (during < before + 3 || after != during - 3) {
    fprintf(stderr, "expected at least %d threads with the pool and 3 fewer "
                    "after dlclose\n",
            before + 3);
    return 1;
  }
  return 0;
}
