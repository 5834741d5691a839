/*
 * contention.h: the mutex and block profiles, fed by sync.c's waits.
 */
#ifndef CPROF_CONTENTION_H
#define CPROF_CONTENTION_H

#include <stddef.h>
#include <stdint.h>

/* A wait that blocked for delay_ns, on `object`, in state `state` (sync.h);
 * `where` has the registers of the waiting wrapper's frame. */
struct cprof_wait;
void cprof__contention_wait(int state, const void *object, int64_t delay_ns,
                            const struct cprof_wait *where);

/* A mutex with waiters is being unlocked from the frame `where`: the
 * mutex profile charges the waiters' delay to this stack (Go's semantics:
 * it points at the critical section that made others wait). */
void cprof__contention_release(const void *mutex, const struct cprof_wait *where);

/* Whether the mutex profile is on (unlock needs to look for waiters). */
int cprof__mutex_profile_on(void);

/* Registers the fork handler; called once by the library constructor. */
void cprof__contention_init(void);

/* Exit-time outputs (CPROF_MUTEXPROFILE, CPROF_BLOCKPROFILE). */
int cprof__contention_set_exit_path(int mutex, const char *pattern);
void cprof__contention_flush(void);

/* How many stacks the profile has (the endpoint's index page). */
long cprof__contention_count(int mutex);

/* The profile now, gzip'd, into a malloc'd buffer (for HTTP). */
int cprof__contention_encode(int mutex, uint8_t **out, size_t *out_len);

#endif
