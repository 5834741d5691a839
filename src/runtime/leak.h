/*
 * leak.h: the leak checker, run at exit when CPROF_LEAKCHECK is set.
 */
#ifndef CPROF_LEAK_H
#define CPROF_LEAK_H

/* Finds the heap blocks no pointer reaches, reports them on stderr grouped
 * by allocation stack, and returns 1 if any is definitely lost (after
 * suppressions, read from the file at `suppressions_path` if not NULL). */
int cprof__leak_check(const char *suppressions_path);

#endif
