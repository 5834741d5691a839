/*
 * samples.h: a table of unique (stack, label set) keys with counts, filled
 * from signal handlers without locks and read when a profile is written.
 */
#ifndef CPROF_SAMPLES_H
#define CPROF_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#define CPROF_MAX_FRAMES 128
/* Counters per key: CPU uses [0]; the heap profile all four. */
#define CPROF_SAMPLE_VALUES 4

typedef struct cprof_samples cprof_samples;

/* Maps a table for up to `max_stacks` unique stacks with `max_frames` frames
 * in all (virtual memory, touched as used). NULL if mmap fails. */
cprof_samples *cprof__samples_new(size_t max_stacks, size_t max_frames);
void cprof__samples_free(cprof_samples *t);

/* Adds `weight` to counter 0 of (frames, labels). Async-signal-safe: atomics
 * only, no locks, bounded work; when the table is full the weight goes to a
 * lost counter instead. */
void cprof__samples_add(cprof_samples *t, const uint64_t *frames, int nframes, uint32_t labels,
                        uint64_t weight);

/* Finds or adds the key (frames, labels) and returns its index, or -1 when
 * the table is full. Async-signal-safe, like cprof__samples_add. */
long cprof__samples_intern(cprof_samples *t, const uint64_t *frames, int nframes, uint32_t labels);

/* Adds delta to counter `which` of the key at `index`. Async-signal-safe. */
void cprof__samples_add_value(cprof_samples *t, long index, int which, uint64_t delta);

/* Keys in the order they were added: how many, and the i-th's index (-1
 * while the key is still being added by another thread). */
size_t cprof__samples_nkeys(const cprof_samples *t);
long cprof__samples_key_index(const cprof_samples *t, size_t i);
/* The counters and label set of the key at `index`. */
void cprof__samples_values(const cprof_samples *t, long index, uint64_t *values);
uint32_t cprof__samples_labels(const cprof_samples *t, long index);

/* Copies the frames of the key at `index` (from cprof__samples_intern) into
 * out; returns their number. */
int cprof__samples_frames(const cprof_samples *t, long index, uint64_t *out, int max);

/* Calls fn once for every key with a non-zero counter, with its counters. Call it only when no
 * signal handler can be adding (after the samplers stopped). */
typedef void (*cprof_samples_fn)(void *arg, const uint64_t *frames, int nframes, uint32_t labels,
                                 const uint64_t *values);
void cprof__samples_each(const cprof_samples *t, cprof_samples_fn fn, void *arg);

/* Weight that could not be recorded (table full, or a key being inserted by
 * another thread that did not finish in time). */
uint64_t cprof__samples_lost(const cprof_samples *t);
/* Total weight recorded, lost included. */
uint64_t cprof__samples_total(const cprof_samples *t);

#endif
