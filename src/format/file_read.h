/*
 * file_read.h: reads a whole file (or pipe) into memory, for the readers
 * of profiles and traces, which parse from a buffer.
 */
#ifndef CPROF_FORMAT_FILE_READ_H
#define CPROF_FORMAT_FILE_READ_H

#include <stddef.h>
#include <stdint.h>

/* Reads path into a malloc'd *out of *out_len bytes. -1 with errno set on
 * failure: EISDIR for a directory, EFBIG beyond max_bytes, else open's or
 * read's errno. */
int format_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_len);

#endif
