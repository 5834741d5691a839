/*
 * errors.h: cprof_last_error()'s per-thread message and the one-line
 * warnings cprof prints on stderr.
 */
#ifndef CPROF_ERRORS_H
#define CPROF_ERRORS_H

/* Records the reason of a failing API call for cprof_last_error(); returns -1
 * so that callers can `return cprof__fail("...")`. */
int cprof__fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "cprof: <message>\n" on stderr with a single write(2), so that lines
 * from several threads never interleave. Async-signal-safe only in the sense
 * that it formats with vsnprintf into a stack buffer: do not call it from a
 * signal handler. */
void cprof__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
