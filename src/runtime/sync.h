/*
 * sync.h: the interposed pthread and semaphore waits, and the events they
 * report. sync.c knows nothing of profiles: it tells whichever consumers
 * are on (mutex profile, block profile, later the tracer) that "this thread
 * waited W ns on object O", and keeps each thread's current wait visible
 * for thread dumps.
 */
#ifndef CPROF_SYNC_H
#define CPROF_SYNC_H

#include <stdint.h>

/* What a thread is doing, as thread dumps and the wall-clock profile say. */
enum cprof_thread_state {
    CPROF_STATE_RUNNING = 0,
    CPROF_STATE_MUTEX,   /* pthread_mutex_lock / timedlock */
    CPROF_STATE_RWLOCK,  /* pthread_rwlock_rdlock / wrlock / timed */
    CPROF_STATE_COND,    /* pthread_cond_wait / timedwait */
    CPROF_STATE_SEM,     /* sem_wait / timedwait */
    CPROF_STATE_JOIN,    /* pthread_join */
    CPROF_STATE_BARRIER, /* pthread_barrier_wait */
    CPROF_STATE_SLEEP,   /* nanosleep and friends (tracer) */
    CPROF_STATE_SYSCALL, /* a blocking system call (tracer) */
    CPROF_STATE_COUNT
};

/* A short name for a state: "running", "mutex", "cond", ... */
const char *cprof__state_name(int state);

/* Where a thread waits now. Each thread owns one, in TLS; the registry keeps
 * a pointer to it, so that a dump from another thread can read it. `pc`,
 * `sp`, `fp` are the registers of the wrapper's frame when the wait began:
 * the stack above them does not change while the thread waits, so it can be
 * walked from another thread without stopping this one. */
struct cprof_wait {
    _Atomic int state;
    const void *object;
    int64_t since_ns;
    uintptr_t pc, sp, fp;
    uint64_t func; /* CPROF_PSEUDO frame naming the wrapper: the stack's leaf */
};

/* The calling thread's record. Async-signal-safe (a TLS address). */
struct cprof_wait *cprof__wait_self(void);

/* The consumers of waits. The wrappers watch while any is on; with none,
 * every wrapper is a plain call. */
enum {
    CPROF_SYNC_MUTEX = 1, /* mutex profile */
    CPROF_SYNC_BLOCK = 2, /* block profile */
    CPROF_SYNC_STATE = 4, /* thread dumps and the wall-clock profile: states only */
    CPROF_SYNC_TRACE = 8, /* the execution tracer */
};
void cprof__sync_consumer(int consumer, int on);

/* A monotonic clock in nanoseconds (vDSO: tens of nanoseconds). */
int64_t cprof__now_ns(void);

#endif
