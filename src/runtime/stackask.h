/*
 * stackask.h: asking running threads for their stacks, without making a
 * system call of theirs return EINTR.
 */
#ifndef CPROF_STACKASK_H
#define CPROF_STACKASK_H

#include <stdint.h>
#include <sys/types.h>

#include "samples.h"

/* The most questions open at once. */
#define CPROF_ASK_MAX 256

/* One question and its answer. */
struct cprof_stack_answer {
    pid_t tid; /* in: the thread asked */
    int n;     /* out: frames, or -1 when it did not answer in time */
    uint64_t pcs[CPROF_MAX_FRAMES];
};

/* How running threads are asked (cprof__stack_ask_mode). */
enum cprof_ask_mode {
    CPROF_ASK_USER_ONLY, /* a perf one-shot that fires in user mode only: no EINTR */
    CPROF_ASK_SIGNAL,    /* tgkill: a call the thread enters just then may see EINTR */
    CPROF_ASK_NONE,      /* neither: the signal is the program's */
};

/* Asks the n (<= CPROF_ASK_MAX) threads of q, which were running, for their
 * stacks and waits up to wait_ns for the answers. With allow_signal == 0, a
 * process where perf is refused gets no answers rather than signals. Takes
 * a lock of its own: asks are serialised. Returns how many answered. */
int cprof__stack_ask(struct cprof_stack_answer *q, int n, int64_t wait_ns, int allow_signal);

/* Asks thread tid for its stack without waiting; the question's slot, or -1
 * when it cannot be asked (no slot free, no way to ask, the thread gone). */
int cprof__stack_ask_post(pid_t tid, int allow_signal);

/* The answer to question `slot`: its frame count (pcs filled, the slot
 * freed), or -1 when not answered yet. give_up: end the question anyway
 * (then -1 when it was not answered). */
int cprof__stack_ask_take(int slot, uint64_t *pcs, int max, int give_up);

/* Registers the fork handler; called once by the library constructor. */
void cprof__stackask_init(void);

/* How the next ask will be made (probes perf once). */
enum cprof_ask_mode cprof__stack_ask_mode(void);

#endif
