//===- parallel.c - The process-wide thread pool ---------------------------===//
//
// Part of ssmc. One pool of N - 1 workers shared by every parallel loop in
// the process; the thread that calls ssm_parallel_for works as the N-th.
//
// A loop ("region") is cut into a fixed list of chunks that depends only on
// (n, grain, N). The caller publishes the region under `mu` and bumps
// `generation`; workers that see the new generation join, copying the
// region description under `mu` and counting themselves in `active`. All
// participants then claim chunks by incrementing one atomic counter, so the
// chunk boundaries are static while their assignment to threads adapts to
// whichever threads are awake. The caller closes the region once every
// chunk has been claimed and `active` is back to zero; a worker that wakes
// after that finds the region closed and goes back to sleep, so a late
// worker can never run a chunk of a later region with the body of an
// earlier one.
//
// Only one region uses the pool at a time (`region_mu`). A thread that
// cannot have it at once, or that is already inside a region, runs the same
// chunks itself; nothing ever waits for a region that might be waiting for
// it.
//
//===----------------------------------------------------------------------===//

#define _GNU_SOURCE

#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// How long an idle worker (or a caller waiting for workers) polls before it
// blocks: about a microsecond to a few tens, depending on the CPU's pause.
enum { kSpinIterations = 1000 };

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

// Guards the lazy resolution of the thread count; 0 means "not yet known".
static pthread_mutex_t g_config_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int32_t g_num_threads;

// True on pool workers (always) and on a caller while it runs loop bodies.
static _Thread_local bool tls_in_region;

static bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

int32_t ssm_internal_parse_num_threads(const char *text) {
  if (!text)
    return 0;
  while (is_blank(*text))
    ++text;
  if (*text < '0' || *text > '9')
    return 0;
  int64_t value = 0;
  for (; *text >= '0' && *text <= '9'; ++text) {
    value = value * 10 + (*text - '0');
    if (value > SSM_MAX_THREADS)
      return 0;
  }
  while (is_blank(*text))
    ++text;
  if (*text != '\0' || value < 1)
    return 0;
  return (int32_t)value;
}

int32_t ssm_internal_cpu_count(void) {
  long count = 0;
#if defined(__linux__)
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    count = CPU_COUNT(&allowed);
#endif
  if (count <= 0)
    count = sysconf(_SC_NPROCESSORS_ONLN);
  if (count < 1)
    count = 1;
  if (count > SSM_MAX_THREADS)
    count = SSM_MAX_THREADS;
  return (int32_t)count;
}

int32_t ssm_get_num_threads(void) {
  int32_t n = atomic_load_explicit(&g_num_threads, memory_order_acquire);
  if (n > 0)
    return n;
  pthread_mutex_lock(&g_config_mu);
  n = atomic_load_explicit(&g_num_threads, memory_order_relaxed);
  if (n == 0) {
    n = ssm_internal_parse_num_threads(getenv("SSM_NUM_THREADS"));
    if (n == 0)
      n = ssm_internal_cpu_count();
    atomic_store_explicit(&g_num_threads, n, memory_order_release);
  }
  pthread_mutex_unlock(&g_config_mu);
  return n;
}

static void store_num_threads(int32_t n) {
  pthread_mutex_lock(&g_config_mu);
  atomic_store_explicit(&g_num_threads, n, memory_order_release);
  pthread_mutex_unlock(&g_config_mu);
}

//===----------------------------------------------------------------------===//
// Partition
//===----------------------------------------------------------------------===//

int64_t ssm_internal_num_chunks(int64_t n, int64_t grain, int32_t threads) {
  int64_t chunks = n / grain;
  if (chunks < 1)
    chunks = 1;
  if (chunks > threads)
    chunks = threads;
  return chunks;
}

void ssm_internal_chunk(int64_t n, int64_t num_chunks, int64_t i,
                        int64_t *out_offset, int64_t *out_size) {
  int64_t base = n / num_chunks;
  int64_t extra = n % num_chunks;
  // i * base <= n, so nothing here overflows.
  *out_offset = i * base + (i < extra ? i : extra);
  *out_size = base + (i < extra ? 1 : 0);
}

typedef struct {
  ssm_parallel_body_t body;
  void *ctx;
  int64_t begin;
  int64_t n;
  int64_t num_chunks;
} region_t;

static void run_chunk(const region_t *region, int64_t i) {
  int64_t offset, size;
  ssm_internal_chunk(region->n, region->num_chunks, i, &offset, &size);
  int64_t lo = region->begin + offset;
  region->body(region->ctx, lo, lo + size);
}

// Runs every chunk, in order, on the calling thread.
static void run_serially(const region_t *region) {
  bool was_in_region = tls_in_region;
  tls_in_region = true;
  for (int64_t i = 0; i < region->num_chunks; ++i)
    run_chunk(region, i);
  tls_in_region = was_in_region;
}

//===----------------------------------------------------------------------===//
// The pool
//===----------------------------------------------------------------------===//

typedef struct {
  // Held by a caller for a whole region, and by resizing and shutdown; at
  // most one region uses the workers at a time.
  pthread_mutex_t region_mu;
  // Protects the fields below except those that are atomic (which are
  // written under it but may be polled without it).
  pthread_mutex_t mu;
  pthread_cond_t work_cv; // Workers wait here for a new generation.
  pthread_cond_t done_cv; // The caller waits here for `active` to drop to 0.
  pthread_t *threads;
  int32_t num_workers;
  bool pin;
  uint64_t start_generation; // Generation when the workers were started.
  _Atomic bool stop;
  _Atomic uint64_t generation;
  bool region_open;
  _Atomic int32_t active; // Workers inside the open region.
  int32_t sleepers;       // Workers blocked on work_cv.
  bool caller_waiting;    // The caller is blocked on done_cv.
  region_t region;
  _Atomic int64_t next_chunk;
} pool_t;

static pool_t g_pool = {
    .region_mu = PTHREAD_MUTEX_INITIALIZER,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .work_cv = PTHREAD_COND_INITIALIZER,
    .done_cv = PTHREAD_COND_INITIALIZER,
};

static void pin_current_thread(int32_t index) {
#if defined(__linux__)
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    return;
  int count = CPU_COUNT(&allowed);
  if (count <= 0)
    return;
  int target = index % count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed))
      continue;
    if (target-- == 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      (void)pthread_setaffinity_np(pthread_self(), sizeof one, &one);
      return;
    }
  }
#else
  (void)index;
#endif
}

static void claim_chunks(const region_t *region) {
  for (;;) {
    int64_t i = atomic_fetch_add_explicit(&g_pool.next_chunk, 1,
                                          memory_order_relaxed);
    if (i >= region->num_chunks)
      return;
    run_chunk(region, i);
  }
}

static void *worker_main(void *arg) {
  int32_t index = (int32_t)(intptr_t)arg;
  tls_in_region = true; // Bodies run here; nested loops stay serial.
  pthread_mutex_lock(&g_pool.mu);
  bool pin = g_pool.pin;
  uint64_t seen = g_pool.start_generation;
  pthread_mutex_unlock(&g_pool.mu);
  if (pin)
    pin_current_thread(index);

  for (;;) {
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (atomic_load_explicit(&g_pool.generation, memory_order_relaxed) !=
              seen ||
          atomic_load_explicit(&g_pool.stop, memory_order_relaxed))
        break;
      cpu_relax();
    }
    pthread_mutex_lock(&g_pool.mu);
    while (!atomic_load_explicit(&g_pool.stop, memory_order_relaxed) &&
           atomic_load_explicit(&g_pool.generation, memory_order_relaxed) ==
               seen) {
      ++g_pool.sleepers;
      pthread_cond_wait(&g_pool.work_cv, &g_pool.mu);
      --g_pool.sleepers;
    }
    if (atomic_load_explicit(&g_pool.stop, memory_order_relaxed)) {
      pthread_mutex_unlock(&g_pool.mu);
      return NULL;
    }
    seen = atomic_load_explicit(&g_pool.generation, memory_order_relaxed);
    if (!g_pool.region_open) { // Woke too late; that region is finished.
      pthread_mutex_unlock(&g_pool.mu);
      continue;
    }
    region_t region = g_pool.region;
    atomic_fetch_add_explicit(&g_pool.active, 1, memory_order_relaxed);
    pthread_mutex_unlock(&g_pool.mu);

    claim_chunks(&region);

    pthread_mutex_lock(&g_pool.mu);
    if (atomic_fetch_sub_explicit(&g_pool.active, 1, memory_order_release) ==
            1 &&
        g_pool.caller_waiting)
      pthread_cond_signal(&g_pool.done_cv);
    pthread_mutex_unlock(&g_pool.mu);
  }
}

// Starts `workers` threads. Requires region_mu and no running workers.
// Starting fewer (even none) is not an error: loops use who is there.
static void start_pool(int32_t workers) {
  if (workers < 1)
    return;
  pthread_t *threads = calloc((size_t)workers, sizeof *threads);
  if (!threads)
    return;
  const char *pin = getenv("SSM_PIN_THREADS");
  pthread_mutex_lock(&g_pool.mu);
  g_pool.pin = pin && strcmp(pin, "1") == 0;
  g_pool.start_generation =
      atomic_load_explicit(&g_pool.generation, memory_order_relaxed);
  pthread_mutex_unlock(&g_pool.mu);

  // Workers inherit a fully blocked signal mask, so that asynchronous
  // signals go to the application's threads.
  sigset_t all, previous;
  sigfillset(&all);
  bool masked = pthread_sigmask(SIG_SETMASK, &all, &previous) == 0;
  int32_t started = 0;
  for (; started < workers; ++started)
    if (pthread_create(&threads[started], NULL, worker_main,
                       (void *)(intptr_t)(started + 1)) != 0)
      break;
  if (masked)
    pthread_sigmask(SIG_SETMASK, &previous, NULL);

  if (started == 0) {
    free(threads);
    return;
  }
  pthread_mutex_lock(&g_pool.mu);
  g_pool.threads = threads;
  g_pool.num_workers = started;
  pthread_mutex_unlock(&g_pool.mu);
}

// Stops and joins the workers. Requires region_mu (so no region is open).
static void stop_pool(void) {
  pthread_mutex_lock(&g_pool.mu);
  pthread_t *threads = g_pool.threads;
  int32_t workers = g_pool.num_workers;
  if (workers == 0) {
    pthread_mutex_unlock(&g_pool.mu);
    return;
  }
  atomic_store_explicit(&g_pool.stop, true, memory_order_relaxed);
  pthread_cond_broadcast(&g_pool.work_cv);
  pthread_mutex_unlock(&g_pool.mu);

  for (int32_t i = 0; i < workers; ++i)
    pthread_join(threads[i], NULL);
  free(threads);

  pthread_mutex_lock(&g_pool.mu);
  g_pool.threads = NULL;
  g_pool.num_workers = 0;
  atomic_store_explicit(&g_pool.stop, false, memory_order_relaxed);
  pthread_mutex_unlock(&g_pool.mu);
}

int32_t ssm_internal_live_workers(void) {
  pthread_mutex_lock(&g_pool.mu);
  int32_t workers = g_pool.num_workers;
  pthread_mutex_unlock(&g_pool.mu);
  return workers;
}

// Runs `region` on the pool. Requires region_mu and at least one worker.
static void run_on_pool(const region_t *region) {
  pthread_mutex_lock(&g_pool.mu);
  g_pool.region = *region;
  atomic_store_explicit(&g_pool.next_chunk, 0, memory_order_relaxed);
  g_pool.region_open = true;
  atomic_fetch_add_explicit(&g_pool.generation, 1, memory_order_relaxed);
  // Spinning workers notice the generation by themselves; wake only as many
  // sleepers as there are chunks for them.
  int64_t wanted = region->num_chunks - 1;
  if (wanted >= g_pool.sleepers)
    pthread_cond_broadcast(&g_pool.work_cv);
  else
    for (int64_t i = 0; i < wanted; ++i)
      pthread_cond_signal(&g_pool.work_cv);
  pthread_mutex_unlock(&g_pool.mu);

  tls_in_region = true;
  claim_chunks(region);
  tls_in_region = false;

  // Every chunk is claimed now; the ones still running belong to workers
  // counted in `active`.
  for (int spin = 0; spin < kSpinIterations; ++spin) {
    if (atomic_load_explicit(&g_pool.active, memory_order_acquire) == 0)
      break;
    cpu_relax();
  }
  pthread_mutex_lock(&g_pool.mu);
  while (atomic_load_explicit(&g_pool.active, memory_order_acquire) != 0) {
    g_pool.caller_waiting = true;
    pthread_cond_wait(&g_pool.done_cv, &g_pool.mu);
  }
  g_pool.caller_waiting = false;
  g_pool.region_open = false;
  pthread_mutex_unlock(&g_pool.mu);
}

ssm_status_t ssm_parallel_for(int64_t begin, int64_t end, int64_t grain,
                              ssm_parallel_body_t body, void *ctx) {
  static const char kFn[] = "ssm_parallel_for";
  if (!body)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT, "%s: body is null", kFn);
  if (grain < 0)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "%s: negative grain %lld", kFn, (long long)grain);
  if (begin >= end)
    return SSM_OK;
  int64_t n;
  if (__builtin_sub_overflow(end, begin, &n))
    return ssm_set_error(SSM_ERROR_OUT_OF_RANGE,
                         "%s: the range [%lld, %lld) has more than INT64_MAX "
                         "iterations",
                         kFn, (long long)begin, (long long)end);
  if (grain == 0)
    grain = 1;

  int32_t threads = ssm_get_num_threads();
  region_t region = {body, ctx, begin, n,
                     ssm_internal_num_chunks(n, grain, threads)};
  if (region.num_chunks == 1 || tls_in_region ||
      pthread_mutex_trylock(&g_pool.region_mu) != 0) {
    run_serially(&region);
    return SSM_OK;
  }
  // The count cannot change while we hold region_mu; re-read it in case it
  // changed just before.
  int32_t now = ssm_get_num_threads();
  if (now != threads) {
    threads = now;
    region.num_chunks = ssm_internal_num_chunks(n, grain, threads);
  }
  if (region.num_chunks > 1 && g_pool.num_workers == 0)
    start_pool(threads - 1);
  if (region.num_chunks == 1 || g_pool.num_workers == 0) {
    pthread_mutex_unlock(&g_pool.region_mu);
    run_serially(&region);
    return SSM_OK;
  }
  run_on_pool(&region);
  pthread_mutex_unlock(&g_pool.region_mu);
  return SSM_OK;
}

ssm_status_t ssm_set_num_threads(int32_t n) {
  if (n < 1 || n > SSM_MAX_THREADS)
    return ssm_set_error(SSM_ERROR_INVALID_ARGUMENT,
                         "ssm_set_num_threads: %d is outside 1..%d", (int)n,
                         SSM_MAX_THREADS);
  if (tls_in_region)
    return ssm_set_error(SSM_ERROR_BUSY,
                         "ssm_set_num_threads: called from inside a parallel "
                         "loop body");
  pthread_mutex_lock(&g_pool.region_mu);
  store_num_threads(n);
  if (g_pool.num_workers != 0 && g_pool.num_workers != n - 1)
    stop_pool();
  pthread_mutex_unlock(&g_pool.region_mu);
  return SSM_OK;
}

ssm_status_t ssm_runtime_shutdown(void) {
  if (tls_in_region)
    return ssm_set_error(SSM_ERROR_BUSY,
                         "ssm_runtime_shutdown: called from inside a parallel "
                         "loop body");
  pthread_mutex_lock(&g_pool.region_mu);
  stop_pool();
  store_num_threads(0);
  pthread_mutex_unlock(&g_pool.region_mu);
  return SSM_OK;
}

//===----------------------------------------------------------------------===//
// Process lifetime: fork and exit
//===----------------------------------------------------------------------===//

// Holding the short-lived locks across fork() keeps the state the child
// copies consistent. region_mu is not taken: a region may be running for
// long, and the child reinitializes it anyway.
static void before_fork(void) {
  pthread_mutex_lock(&g_config_mu);
  pthread_mutex_lock(&g_pool.mu);
}

static void after_fork_in_parent(void) {
  pthread_mutex_unlock(&g_pool.mu);
  pthread_mutex_unlock(&g_config_mu);
}

// Only the forking thread exists in the child: forget the workers (their
// stacks are gone with them) and start from fresh locks.
static void after_fork_in_child(void) {
  pthread_mutex_init(&g_config_mu, NULL);
  pthread_mutex_init(&g_pool.region_mu, NULL);
  pthread_mutex_init(&g_pool.mu, NULL);
  pthread_cond_init(&g_pool.work_cv, NULL);
  pthread_cond_init(&g_pool.done_cv, NULL);
  free(g_pool.threads);
  g_pool.threads = NULL;
  g_pool.num_workers = 0;
  g_pool.sleepers = 0;
  g_pool.caller_waiting = false;
  g_pool.region_open = false;
  atomic_store_explicit(&g_pool.active, 0, memory_order_relaxed);
  atomic_store_explicit(&g_pool.stop, false, memory_order_relaxed);
}

__attribute__((constructor)) static void ssm_runtime_on_load(void) {
  // Registered from the library's own code, so glibc drops the handlers
  // again if the library is unloaded.
  (void)pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

__attribute__((destructor)) static void ssm_runtime_on_unload(void) {
  // Runs at normal exit and at dlclose. Joining is only safe when no region
  // is running; otherwise the workers are left to the exiting process.
  if (tls_in_region || pthread_mutex_trylock(&g_pool.region_mu) != 0)
    return;
  stop_pool();
  pthread_mutex_unlock(&g_pool.region_mu);
}
