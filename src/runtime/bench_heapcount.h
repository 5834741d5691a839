/*
 * bench_heapcount.h: exact allocation counting, for the benchmark harness's
 * -benchmem (implemented in heap.c, in its "Exact counting" block, because
 * only the malloc hooks see every allocation).
 *
 * Unlike the heap profile, nothing is sampled: while counting is on, every
 * allocation made through the interposed malloc family (malloc, calloc,
 * realloc, the memalign family, C++ new) adds 1 to a global allocation count
 * and its requested size to a global byte count, in every thread. Frees are
 * not counted (Go's -benchmem reports allocations only). cprof's own
 * allocations are not counted. The counts only grow; callers take
 * differences between two reads, as Go's testing.B does with MemStats.
 */
#ifndef CPROF_BENCH_HEAPCOUNT_H
#define CPROF_BENCH_HEAPCOUNT_H

#include <stdint.h>

/* Counting on and off. Nests: counting stays on until every start has had
 * its stop. */
void cprof__heap_count_start(void);
void cprof__heap_count_stop(void);
/* The allocations and bytes counted so far (since the process started). */
void cprof__heap_count_read(uint64_t *allocs, uint64_t *bytes);

#endif
