/*
 * settings.h: the CPROF_* environment variables that `cprof run` (or a user
 * with LD_PRELOAD) sets, and the path rules every profile output follows.
 */
#ifndef CPROF_SETTINGS_H
#define CPROF_SETTINGS_H

#include <stddef.h>

/* Reads CPROF_* from the environment and starts what they ask for. Called
 * once by the library constructor. Problems are reported on stderr, and the
 * program runs on. */
void cprof__settings_apply(void);

/* Expands "%p" to the process id and makes a relative path absolute (so a
 * program that changes directory still writes where the user said). 0, or -1
 * with cprof_last_error() set. */
int cprof__settings_expand_path(const char *pattern, char *out, size_t outlen);

/* Checks that a file can be created at `path` (its directory exists and is
 * writable) so that a bad path fails at start, not at exit. 0 or -1. */
int cprof__settings_check_writable(const char *path);

#endif
