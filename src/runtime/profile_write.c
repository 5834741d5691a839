/*
 * profile_write.c: owns the assembly of pprof profiles from cprof's tables:
 * mappings and symbols (symbols.c), labels (labels.c), values (the caller's
 * function), and the final encoding. Runs at write time, never in a signal
 * handler. The calling thread is marked as inside cprof for the duration,
 * so that the allocations of symbolization never sample themselves into a
 * heap profile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "errors.h"
#include "heap.h"
#include "labels.h"
#include "profile_write.h"
#include "symbols.h"

/* The names of enum cprof_pseudo's frames. */
const char *const cprof__pseudo_names[] = {
    [PSEUDO_TRUNCATED] = "[truncated]",
    [PSEUDO_RUNNING] = "[running: see the CPU profile]",
    [PSEUDO_PTHREAD_MUTEX_LOCK] = "pthread_mutex_lock",
    [PSEUDO_PTHREAD_MUTEX_TIMEDLOCK] = "pthread_mutex_timedlock",
    [PSEUDO_PTHREAD_MUTEX_UNLOCK] = "pthread_mutex_unlock",
    [PSEUDO_PTHREAD_RWLOCK_RDLOCK] = "pthread_rwlock_rdlock",
    [PSEUDO_PTHREAD_RWLOCK_WRLOCK] = "pthread_rwlock_wrlock",
    [PSEUDO_PTHREAD_RWLOCK_TIMEDRDLOCK] = "pthread_rwlock_timedrdlock",
    [PSEUDO_PTHREAD_RWLOCK_TIMEDWRLOCK] = "pthread_rwlock_timedwrlock",
    [PSEUDO_PTHREAD_COND_WAIT] = "pthread_cond_wait",
    [PSEUDO_PTHREAD_COND_TIMEDWAIT] = "pthread_cond_timedwait",
    [PSEUDO_SEM_WAIT] = "sem_wait",
    [PSEUDO_SEM_TIMEDWAIT] = "sem_timedwait",
    [PSEUDO_PTHREAD_JOIN] = "pthread_join",
    [PSEUDO_PTHREAD_BARRIER_WAIT] = "pthread_barrier_wait",
};
const int cprof__npseudo_names = sizeof cprof__pseudo_names / sizeof cprof__pseudo_names[0];

static uint64_t pseudo_location(cprof_profile_writer *w, uint64_t pc);

struct cprof_profile_writer {
    cprof_pb *pb;
    cprof_symbolizer *sym;
    int nvalues;
    cprof_values_fn fn;
    void *arg;
    uint64_t locs[CPROF_MAX_FRAMES];
};

cprof_profile_writer *cprof__profile_writer_begin(const char *const (*types)[2], int ntypes,
                                                  const char *default_type, const char *period_type,
                                                  const char *period_unit, int64_t period,
                                                  int64_t start_unix_ns, int64_t duration_ns)
{
    cprof__heap_enter_internal();
    cprof_profile_writer *w = calloc(1, sizeof *w);
    if (w) {
        w->pb = cprof_pb_new();
        w->sym = cprof__symbolizer_new();
    }
    if (!w || !w->pb || !w->sym) {
        if (w) {
            cprof__symbolizer_free(w->sym);
            cprof_pb_free(w->pb);
            free(w);
        }
        cprof__heap_leave_internal();
        cprof__fail("writing a profile: out of memory");
        return NULL;
    }
    w->nvalues = ntypes;
    for (int i = 0; i < ntypes; i++)
        cprof_pb_add_sample_type(w->pb, types[i][0], types[i][1]);
    if (default_type)
        cprof_pb_set_default_sample_type(w->pb, default_type);
    cprof_pb_set_period(w->pb, period_type, period_unit, period);
    cprof_pb_set_time(w->pb, start_unix_ns, duration_ns);
    char comment[64];
    snprintf(comment, sizeof comment, "cprof %s", cprof_version());
    cprof_pb_add_comment(w->pb, comment);
    cprof__symbolizer_begin(w->sym, w->pb);
    return w;
}

cprof_pb *cprof__profile_writer_pb(cprof_profile_writer *w)
{
    return w->pb;
}

void cprof__profile_writer_add_stack(cprof_profile_writer *w, const uint64_t *frames, int nframes,
                                     uint32_t labels, const int64_t *values)
{
    for (int i = 0; i < nframes; i++)
        w->locs[i] =
            frames[i] >= CPROF_PSEUDO_BASE && frames[i] < CPROF_PSEUDO(cprof__npseudo_names)
                ? pseudo_location(w, frames[i])
                : cprof__symbolize(w->sym, w->pb, frames[i]);
    cprof_pb_label pl[CPROF_LABEL_MAX_DEPTH];
    size_t npl = 0;
    const cprof_label_set *set = cprof__labels_get(labels);
    for (int i = 0; set && i < set->n; i++)
        pl[npl++] = (cprof_pb_label){.key = set->keys[i], .str = set->values[i]};
    cprof_pb_add_sample(w->pb, w->locs, (size_t)nframes, values, (size_t)w->nvalues, pl, npl);
}

static void add_key(void *arg, const uint64_t *frames, int nframes, uint32_t labels,
                    const uint64_t *counters)
{
    cprof_profile_writer *w = arg;
    int64_t values[8] = {0};
    if (w->fn(w->arg, counters, values))
        cprof__profile_writer_add_stack(w, frames, nframes, labels, values);
}

void cprof__profile_writer_add_table(cprof_profile_writer *w, const cprof_samples *t,
                                     cprof_values_fn fn, void *arg)
{
    w->fn = fn;
    w->arg = arg;
    cprof__samples_each(t, add_key, w);
}

/* A Location with one line naming the pseudo-frame, no mapping. Interned by
 * the builder through its address. */
static uint64_t pseudo_location(cprof_profile_writer *w, uint64_t pc)
{
    const char *name = cprof__pseudo_names[pc - CPROF_PSEUDO_BASE];
    cprof_pb_line line = {cprof_pb_function(w->pb, name, name, NULL, 0), 0};
    return cprof_pb_location(w->pb, 0, pc, &line, 1);
}

void cprof__profile_writer_add_pseudo(cprof_profile_writer *w, const char *name,
                                      const int64_t *values)
{
    cprof_pb_line line = {cprof_pb_function(w->pb, name, NULL, NULL, 0), 0};
    uint64_t loc = cprof_pb_location(w->pb, 0, 0, &line, 1);
    cprof_pb_add_sample(w->pb, &loc, 1, values, (size_t)w->nvalues, NULL, 0);
}

int cprof__profile_writer_end(cprof_profile_writer *w, const char *path, uint8_t **out,
                              size_t *out_len)
{
    char err[512];
    int rc = path ? cprof_pb_write_file(w->pb, path, err, sizeof err)
                  : cprof_pb_encode(w->pb, out, out_len, err, sizeof err);
    if (rc < 0)
        cprof__fail("%s", err);
    cprof__symbolizer_free(w->sym);
    cprof_pb_free(w->pb);
    free(w);
    cprof__heap_leave_internal();
    return rc;
}
