/*
 * heap_write.h: the heap profile as a file or a buffer, and the heap profile
 * due at exit (CPROF_MEMPROFILE).
 */
#ifndef CPROF_HEAP_WRITE_H
#define CPROF_HEAP_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* Remembers the path (pattern with %p) the heap profile goes to at exit. */
int cprof__heap_set_exit_path(const char *pattern);

/* Remembers the path of the peak heap profile (CPROF_MEMPEAK) and starts
 * tracking the peak. */
int cprof__heap_set_peak_path(const char *pattern);

/* Registers the fork handler; called once by the library constructor. */
void cprof__heap_write_init(void);

/* Writes the heap profiles due at exit, if any. */
void cprof__heap_flush(void);

/* The heap profile now, gzip'd, into a malloc'd buffer (for HTTP), with the
 * given default sample type (inuse_space: /heap; alloc_space: /allocs). */
int cprof__heap_encode_default(const char *default_type, uint8_t **out, size_t *out_len);

#endif
