/*
 * threads.h: the thread registry. Knows every thread of the process by
 * kernel tid, with its stack bounds, and tells the samplers when threads
 * start and end (pthread_create is interposed).
 */
#ifndef CPROF_THREADS_H
#define CPROF_THREADS_H

#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

/* Called once from the library constructor: registers the main thread. */
void cprof__threads_init(void);

/* The calling thread's kernel id. Async-signal-safe (cached in TLS, else a syscall). */
pid_t cprof__gettid(void);

/* The upper end of the stack that contains `sp` on the calling thread, or 0
 * if unknown. async-signal-safe: TLS reads and a binary search over a
 * published snapshot of /proc/self/maps. */
uintptr_t cprof__stack_hi(uintptr_t sp);

/* The read-write mapping that contains addr, from the last snapshot of
 * /proc/self/maps: 1 and its bounds, or 0. async-signal-safe. */
int cprof__mapping_bounds(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

/* Re-reads /proc/self/maps for cprof__stack_hi (not in a signal handler). */
void cprof__threads_refresh_maps(void);

/* Starts one of cprof's own threads: all signals blocked in it, never
 * sampled, not reported to the hooks. 0 or an errno value. */
int cprof__thread_create_internal(pthread_t *thread, void *(*fn)(void *), void *arg);
/* 1 on one of cprof's own threads. Async-signal-safe (a TLS read). */
int cprof__threads_is_internal(void);

/* Each thread's CPU sampler (cpu.c), kept with the thread: in its TLS for
 * threads the registry saw start, so that starting and ending threads need
 * no search and no lock. `state` arbitrates between the thread itself and
 * cpu.c starting or stopping on another thread (CAS on the states below). */
enum { CPROF_SLOT_NONE = 0, CPROF_SLOT_OPENING, CPROF_SLOT_OPEN, CPROF_SLOT_CLOSING };
struct cprof_thread_slot {
    _Atomic int state;
    pid_t tid;
    int kind;  /* enum cprof_cpu_engine */
    int fd;    /* perf event */
    dev_t dev; /* of fd, to recognise it before closing */
    ino_t ino;
    void *timer; /* POSIX timer (timer_t) */
};

/* Hooks the CPU profiler registers: called on the thread itself, when it
 * starts and when it ends, without the registry lock. */
typedef struct cprof_thread_hooks {
    void (*thread_start)(struct cprof_thread_slot *slot);
    void (*thread_end)(struct cprof_thread_slot *slot);
} cprof_thread_hooks;
void cprof__threads_set_hooks(const cprof_thread_hooks *hooks);

/* Calls fn(tid) for every thread of the process now (from /proc/self/task),
 * cprof's own excluded. The caller holds the registry lock, so that no
 * thread start or end hook runs concurrently with it. */
void cprof__threads_each(void (*fn)(pid_t tid, void *arg), void *arg);

/* What the registry knows of a thread it saw start (or the main thread). */
struct cprof_wait;
struct cprof_thread_info {
    pid_t tid;
    uintptr_t stack_hi;
    struct cprof_wait *wait;        /* the thread's own wait record (sync.h) */
    long create_stack;              /* index in the threadcreate table, or -1 */
    struct cprof_thread_slot *slot; /* the thread's CPU sampler slot */
    int64_t *heap_countdown;        /* the thread's heap sampling countdown (heap.c) */
    int64_t start_ns;               /* CLOCK_MONOTONIC */
};

/* Copies up to `max` registered threads into out; returns how many there
 * are. The caller holds the registry lock: a registered thread cannot end
 * (nor its stack be unmapped) until it is released. */
size_t cprof__threads_registered(struct cprof_thread_info *out, size_t max);

/* From now on, pthread_create records its caller's stack (the threadcreate
 * profile). Returns the table, or NULL if it cannot be mapped. */
struct cprof_samples;
struct cprof_samples *cprof__threads_track_creation(void);
/* The threadcreate table, or NULL when creation stacks are not recorded. */
struct cprof_samples *cprof__threadcreate_table(void);

/* Calls fn with each registered thread's heap sampling countdown. Takes
 * the registry lock. */
void cprof__threads_each_countdown(void (*fn)(int64_t *countdown));

/* Takes and releases the registry lock (samplers starting and stopping). */
void cprof__threads_lock(void);
void cprof__threads_unlock(void);

#endif
