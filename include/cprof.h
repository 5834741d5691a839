/*
 * cprof.h: the public API of libcprof, profiling and tracing for C and C++.
 *
 * Link with `pkg-config --libs cprof`, or load libcprof.so with LD_PRELOAD (or
 * `cprof run`) and steer it through CPROF_* environment variables instead.
 *
 * Conventions: functions that can fail return 0 on success and -1 on failure;
 * cprof_last_error() then says why, in one line. Every function is safe to
 * call from any thread. None is async-signal-safe unless its comment says so.
 * Paths may contain "%p", replaced by the process id.
 */
#ifndef CPROF_H
#define CPROF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CPROF_API __attribute__((visibility("default")))
#else
#define CPROF_API
#endif

#define CPROF_VERSION_MAJOR 0
#define CPROF_VERSION_MINOR 1
#define CPROF_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH". */
CPROF_API const char *cprof_version(void);

/* The reason the last failing call on this thread failed, as one line
 * without a trailing newline; "" if none has failed. Valid until the next
 * failing call on the same thread. */
CPROF_API const char *cprof_last_error(void);

/* ---- CPU profile --------------------------------------------------------- */

/* Starts sampling the CPU time of every thread of the process, existing and
 * future, `hz` times per CPU-second of each thread (1..10000; 0 means 100).
 * The profile is written to `path` (gzip'd pprof) by cprof_cpu_stop(), at
 * exit, or when the process dies of SIGINT/SIGTERM. Fails if already on. */
CPROF_API int cprof_cpu_start(const char *path, int hz);

/* Stops sampling and writes the profile to the path given at start. */
CPROF_API int cprof_cpu_stop(void);

/* 1 if CPU profiling is running, 0 otherwise. Async-signal-safe. */
CPROF_API int cprof_cpu_running(void);

/* ---- Heap profile ------------------------------------------------------------ */

/* Turns heap sampling on with a mean of `rate` bytes allocated between samples
 * (1: every allocation, exact; 0: off). Sampling covers malloc, calloc,
 * realloc, the memalign family and C++ new, in every thread. */
CPROF_API int cprof_heap_set_rate(long rate);

/* Writes a heap profile now (gzip'd pprof): bytes and objects in use, and
 * allocated since sampling started, per allocation stack. */
CPROF_API int cprof_heap_write(const char *path);

/* ---- Wall-clock profile ---------------------------------------------------------- */

/* Starts sampling every thread `hz` times per second of wall-clock time
 * (1..1000; 0 means 100), whatever it is doing: running, waiting on a lock,
 * in a system call, sleeping. Samples carry the labels state=... and
 * thread=NAME; sample type wall/nanoseconds. Written by cprof_wall_stop(),
 * or at exit. */
CPROF_API int cprof_wall_start(const char *path, int hz);
CPROF_API int cprof_wall_stop(void);

/* ---- Mutex and block profiles ------------------------------------------------ */

/* Records 1 in `fraction` contended mutex waits in the mutex profile (0: off;
 * 1: all), which charges each wait to the stack that released the lock. */
CPROF_API int cprof_mutex_set_fraction(int fraction);

/* Records waits (mutex, rwlock, condition variable, semaphore, join, barrier)
 * of `rate_ns` or longer in the block profile, shorter ones in proportion to
 * their length (0: off; 1: every wait), charged to the waiting stack. */
CPROF_API int cprof_block_set_rate(long rate_ns);

/* Write the mutex or block profile now (gzip'd pprof). */
CPROF_API int cprof_mutex_write(const char *path);
CPROF_API int cprof_block_write(const char *path);

/* ---- Threads ------------------------------------------------------------------- */

/* Writes every thread's stack now. debug 0: pprof (threads/count); 1: text,
 * threads grouped by stack with counts; 2: text, each thread with its name,
 * state (running, waiting on a mutex, in a system call, ...) and stack: the
 * dump to take when a process hangs. */
CPROF_API int cprof_threads_write(const char *path, int debug);

/* Writes where threads were created (pprof, threadcreate/count), counting
 * the threads created since cprof started tracking them. */
CPROF_API int cprof_threadcreate_write(const char *path);

/* ---- Live endpoint (Go's /debug/pprof/) -------------------------------------------- */

struct MHD_Connection;

/* Serves /debug/pprof/ on addr ("127.0.0.1:6060", "[::1]:6060", ":0" for any
 * free loopback port) from a libmicrohttpd daemon and threads of its own.
 * Addresses other than loopback are refused unless CPROF_HTTP_ALLOW_REMOTE=1;
 * CPROF_HTTP_TOKEN makes every path require "Authorization: Bearer TOKEN". */
CPROF_API int cprof_http_start(const char *addr);

/* Stops the endpoint (waits for requests in flight). */
CPROF_API void cprof_http_stop(void);

/* The port the endpoint listens on (useful after ":0"), or 0. */
CPROF_API int cprof_http_port(void);

/* For a program with its own libmicrohttpd server: call it first in your
 * access handler with the handler's arguments. Returns 1 when the URL is one
 * of cprof's (/debug/pprof...) and it was handled: return *mhd_result (an
 * enum MHD_Result) from your handler. Returns 0 for other URLs. Call
 * cprof_http_request_done(con_cls) from your completion callback when
 * *con_cls may have been set by it. */
CPROF_API int cprof_http_handle(struct MHD_Connection *connection, const char *url,
                                const char *method, const char *upload_data,
                                size_t *upload_data_size, void **con_cls, int *mhd_result);
CPROF_API void cprof_http_request_done(void **con_cls);

/* ---- Execution tracer -------------------------------------------------------------- */

/* Handles of tasks and regions: small values; 0 means none. */
typedef unsigned long long cprof_task_t;
typedef unsigned long long cprof_region_t;

/* Starts writing an execution trace to `path` (cprof's trace format, read by
 * `cprof trace`): thread states, waits with their stacks, blocking system
 * calls, tasks, regions, logs, and CPU samples and the heap when those
 * profiles are on. Written at cprof_trace_stop(), or at exit. */
CPROF_API int cprof_trace_start(const char *path);
CPROF_API int cprof_trace_stop(void);

/* 1 while a trace is being recorded. Cheap: for guarding expensive log
 * arguments. Async-signal-safe. */
CPROF_API int cprof_trace_enabled(void);

/* A task: a unit of work (a request), possibly spanning threads; `parent`
 * 0 for none. It may end on another thread than the one it began on. */
CPROF_API cprof_task_t cprof_task_begin(cprof_task_t parent, const char *name);
CPROF_API void cprof_task_end(cprof_task_t task);

/* A region: a named interval of one thread's time, in a task (0: none).
 * Regions nest per thread: end them in the reverse order. */
CPROF_API cprof_region_t cprof_region_begin(cprof_task_t task, const char *name);
CPROF_API void cprof_region_end(cprof_region_t region);

/* A log message in the trace, in a task (0: none), under a category. */
CPROF_API void cprof_log(cprof_task_t task, const char *category, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#if defined(__GNUC__)
/* A region that ends when the enclosing scope does:
 *     CPROF_REGION(task, "parse");  */
static inline void cprof_region_end_scope_(cprof_region_t *r)
{
    cprof_region_end(*r);
}
#define CPROF_REGION_CAT2_(a, b) a##b
#define CPROF_REGION_CAT_(a, b)  CPROF_REGION_CAT2_(a, b)
#define CPROF_REGION(task, name)                                                                   \
    cprof_region_t CPROF_REGION_CAT_(cprof_region_, __LINE__)                                      \
        __attribute__((cleanup(cprof_region_end_scope_), unused)) =                                \
            cprof_region_begin((task), (name))
#endif

/* ---- Flight recorder ---------------------------------------------------------------- */

/* Keeps the execution trace running into memory: at least min_age_ms of
 * history while it fits in max_bytes (max_bytes wins). Replaces tracing to a
 * file: one or the other. */
CPROF_API int cprof_flight_start(uint64_t min_age_ms, size_t max_bytes);

/* Writes what is in memory now as a complete trace (`cprof trace` reads it).
 * One snapshot at a time: a second one meanwhile fails. */
CPROF_API int cprof_flight_write(const char *path);

/* Stops the recorder and forgets what it held. */
CPROF_API void cprof_flight_stop(void);

/* When a task or region called `name` ends after more than threshold_ns,
 * writes a snapshot by itself to path_pattern (%p: pid, %t: local time), at
 * most one per min_age, so a storm of slow requests writes one file. */
CPROF_API int cprof_flight_trigger(const char *name, uint64_t threshold_ns,
                                   const char *path_pattern);

/* ---- Labels ---------------------------------------------------------------- */

/* Pushes key=value onto the calling thread's label stack; CPU samples taken
 * on this thread carry every label on the stack as pprof labels (a later push
 * of the same key hides the earlier value). Strings are copied. At most 16
 * labels deep; -1 beyond. */
CPROF_API int cprof_label_push(const char *key, const char *value);

/* Pops the label pushed last on this thread; does nothing if none. */
CPROF_API void cprof_label_pop(void);

#ifdef __cplusplus
}
#endif

#endif /* CPROF_H */
