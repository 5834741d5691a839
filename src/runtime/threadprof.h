/*
 * threadprof.h: stacks of other threads, the thread profile and dumps, and
 * the threadcreate profile.
 */
#ifndef CPROF_THREADPROF_H
#define CPROF_THREADPROF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "samples.h"

struct cprof_thread_info;

/* One thread's stack and state at one moment. */
struct cprof_thread_sample {
    pid_t tid;
    int state;           /* enum cprof_thread_state (sync.h) */
    const char *syscall; /* for CPROF_STATE_SYSCALL/SLEEP seen in /proc: its name */
    int no_answer;       /* running, but did not answer the signal in time */
    int64_t since_ns;    /* when its current wait began (0: unknown) */
    int64_t start_ns;    /* when the thread started (0: unknown) */
    int n;
    uint64_t pcs[CPROF_MAX_FRAMES];
};

/* Takes the stack of thread tid (info: its registry entry, or NULL). The
 * caller holds the registry lock. A running thread is asked for its stack
 * (stackask.h) only when may_ask is set; otherwise its stack is the
 * pseudo-frame "[running]". 0, or -1 when the thread is gone. */
int cprof__thread_sample(pid_t tid, const struct cprof_thread_info *info,
                         struct cprof_thread_sample *out, int may_ask);

/* The thread profile: debug 0 pprof (threads/count), 1 text grouped by
 * stack, 2 text per thread. Written to path, or into a malloc'd buffer. */
int cprof__threads_encode(int debug, const char *path, uint8_t **out, size_t *out_len);

/* The threadcreate profile (where threads were created), likewise. */
int cprof__threadcreate_encode(const char *path, uint8_t **out, size_t *out_len);

#endif
