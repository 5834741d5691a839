/*
 * heap.h: the heap profiler's internal interface (the public one is
 * cprof_heap_* in cprof.h). heap.c interposes the malloc family.
 */
#ifndef CPROF_HEAP_H
#define CPROF_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "samples.h"

/* Counters per stack in the heap table. */
enum { HEAP_ALLOC_COUNT = 0, HEAP_ALLOC_BYTES, HEAP_FREE_COUNT, HEAP_FREE_BYTES };

/* The table of allocation stacks; NULL until heap profiling first starts. */
cprof_samples *cprof__heap_table(void);
/* The mean bytes between samples now (1: every allocation). */
long cprof__heap_rate(void);

/* The live table of sampled blocks: lock it whole (the leak checker must
 * not stop a thread that holds one of its locks), walk it, unlock it. */
void cprof__heap_lock_live(void);
void cprof__heap_unlock_live(void);
/* Calls fn for every sampled block still allocated: its address, size and
 * stack (index into the heap table). The caller holds the lock. */
typedef void (*cprof_heap_block_fn)(void *arg, uintptr_t ptr, size_t size, long stack);
void cprof__heap_each_live_locked(cprof_heap_block_fn fn, void *arg);
/* How many sampled blocks are allocated now. */
size_t cprof__heap_live_count(void);

/* Registers the fork handlers; called once by the library constructor. */
void cprof__heap_init(void);

/* Heap profiling on or off from the environment and `cprof run`. */
int cprof__heap_start(long rate);

/* Marks the calling thread as inside cprof (writing a profile, symbolizing):
 * its allocations are not sampled. Nests. */
void cprof__heap_enter_internal(void);
/* New blocks are cleared while on (leak checking: see heap.c). */
void cprof__heap_clear_new_blocks(int on);

/* The calling thread's sampling countdown (the registry keeps a pointer to
 * each thread's, so that a rate change reaches threads mid-countdown). */
int64_t *cprof__heap_countdown_self(void);

/* Whether the calling thread is inside cprof (or inside a malloc hook). */
int cprof__heap_in_internal(void);
void cprof__heap_leave_internal(void);

/* The estimated heap in use now. */
uint64_t cprof__heap_inuse_bytes(void);

/* Peak tracking (CPROF_MEMPEAK): from now on, whenever the estimated heap in
 * use reaches a new high, every stack's counters are copied. */
struct cprof_heap_peak_entry {
    long stack;
    uint64_t values[CPROF_SAMPLE_VALUES];
};
void cprof__heap_track_peak(void);
/* The copy taken at the highest point, malloc'd into *out; its size in bytes
 * into *bytes. Returns the number of entries. */
size_t cprof__heap_peak_copy(struct cprof_heap_peak_entry **out, uint64_t *bytes);

#endif
