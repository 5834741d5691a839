/*
 * source.h: finding and reading the source files a profile names, with
 * pprof's rules for -source_path and -trim_path.
 */
#ifndef CPROF_SOURCE_H
#define CPROF_SOURCE_H

#include <stddef.h>

struct source_reader;

/* search_path: colon-separated directories (NULL: the current directory);
 * trim_path: colon-separated prefixes to remove from the profile's paths. */
struct source_reader *source_reader_new(const char *search_path, const char *trim_path);
void source_reader_free(struct source_reader *r);

/* Line lineno (from 1) of the file the profile calls path, without its
 * newline; NULL past the end or when the file cannot be read (then
 * source_error says why). Files are read once and kept. */
const char *source_line(struct source_reader *r, const char *path, long lineno);
const char *source_error(struct source_reader *r, const char *path);

/* The path as pprof shows it in a listing: after trimming (see source.c). */
const char *source_shown_path(const struct source_reader *r, const char *path);

#endif
