/*
 * profile_write.h: what every profile writer shares: a builder with the
 * process's mappings, stacks from a cprof_samples table symbolized into it,
 * and the file written with cprof's own allocations kept out of the heap
 * profile.
 */
#ifndef CPROF_PROFILE_WRITE_H
#define CPROF_PROFILE_WRITE_H

#include <stdint.h>

#include "pprof_build.h"
#include "samples.h"

typedef struct cprof_profile_writer cprof_profile_writer;

/* Pseudo-frames: values below 4096 in a stack are never code addresses; a
 * stack may hold CPROF_PSEUDO(name-index) and the writer turns it into a
 * frame named by cprof__pseudo_names[index] (e.g. the wrapper a thread
 * waited in, whose real pc lies in code inlined into it). */
enum cprof_pseudo {
    PSEUDO_TRUNCATED,
    PSEUDO_PTHREAD_MUTEX_LOCK,
    PSEUDO_PTHREAD_MUTEX_TIMEDLOCK,
    PSEUDO_PTHREAD_MUTEX_UNLOCK,
    PSEUDO_PTHREAD_RWLOCK_RDLOCK,
    PSEUDO_PTHREAD_RWLOCK_WRLOCK,
    PSEUDO_PTHREAD_RWLOCK_TIMEDRDLOCK,
    PSEUDO_PTHREAD_RWLOCK_TIMEDWRLOCK,
    PSEUDO_PTHREAD_COND_WAIT,
    PSEUDO_PTHREAD_COND_TIMEDWAIT,
    PSEUDO_SEM_WAIT,
    PSEUDO_SEM_TIMEDWAIT,
    PSEUDO_PTHREAD_JOIN,
    PSEUDO_PTHREAD_BARRIER_WAIT,
    PSEUDO_RUNNING,
    PSEUDO_COUNT
};
#define CPROF_PSEUDO_BASE 0x100
#define CPROF_PSEUDO(i)   ((uint64_t)CPROF_PSEUDO_BASE + (uint64_t)(i))
extern const char *const cprof__pseudo_names[];
extern const int cprof__npseudo_names;

/* Starts a profile: a builder with the given sample types ({type, unit}
 * pairs), the default type, the period, the time span and a comment. NULL
 * with cprof_last_error() set when out of memory. Marks the calling thread
 * as inside cprof until cprof__profile_writer_end. */
cprof_profile_writer *cprof__profile_writer_begin(const char *const (*types)[2], int ntypes,
                                                  const char *default_type, const char *period_type,
                                                  const char *period_unit, int64_t period,
                                                  int64_t start_unix_ns, int64_t duration_ns);

cprof_pb *cprof__profile_writer_pb(cprof_profile_writer *w);

/* Turns the counters of one table key into the profile's values; returns 0
 * to leave the key out. */
typedef int (*cprof_values_fn)(void *arg, const uint64_t *counters, int64_t *values);

/* Adds one sample per key of `t`, its stack symbolized, its labels as pprof
 * labels, its values from fn. */
void cprof__profile_writer_add_table(cprof_profile_writer *w, const cprof_samples *t,
                                     cprof_values_fn fn, void *arg);

/* Adds one sample: a stack (raw pcs), its label set and its values. */
void cprof__profile_writer_add_stack(cprof_profile_writer *w, const uint64_t *frames, int nframes,
                                     uint32_t labels, const int64_t *values);

/* Adds a sample whose only frame is a pseudo-function (e.g. "[cprof: lost
 * samples]"), so that what could not be recorded still shows. */
void cprof__profile_writer_add_pseudo(cprof_profile_writer *w, const char *name,
                                      const int64_t *values);

/* Writes the gzip'd profile to path (when path is not NULL) or into a
 * malloc'd buffer (*out, *out_len), and frees the writer. 0 or -1. */
int cprof__profile_writer_end(cprof_profile_writer *w, const char *path, uint8_t **out,
                              size_t *out_len);

#endif
