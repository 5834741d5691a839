/*
 * labels.h: thread-local pprof labels (cprof_label_push/pop). Each distinct
 * set of labels is interned once and named by a small id, so that a signal
 * handler records a label set by reading one thread-local integer.
 */
#ifndef CPROF_LABELS_H
#define CPROF_LABELS_H

#include <stdint.h>

#define CPROF_LABEL_MAX_DEPTH 16

typedef struct cprof_label_set {
    int n;
    const char *keys[CPROF_LABEL_MAX_DEPTH];
    const char *values[CPROF_LABEL_MAX_DEPTH];
} cprof_label_set;

/* The calling thread's current label set id; 0 = no labels.
 * Async-signal-safe: one read of an initial-exec TLS variable. */
uint32_t cprof__labels_current(void);

/* Interns the set of n key=value pairs; returns its id (0 when the table is
 * full). Takes a lock: not for signal handlers. */
uint32_t cprof__labels_intern(const char *const *keys, const char *const *values, int n);

/* The interned set with this id, or NULL for 0 or an unknown id. Sets live
 * until the process ends, so the pointer stays valid. Takes a lock. */
const cprof_label_set *cprof__labels_get(uint32_t id);

#endif
