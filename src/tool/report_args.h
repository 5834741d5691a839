/*
 * report_args.h: the command line every report shares: pprof's filter and
 * trimming flags, -sample_index, -o, -base, -source_path, -trim_path, and
 * the files (or URLs) to read, merged.
 */
#ifndef CPROF_REPORT_ARGS_H
#define CPROF_REPORT_ARGS_H

#include <stdio.h>

#include "report.h"

/* A report's own flags: returns 1 when argv[*i] was one (consumed), 0 when
 * it was not, -1 when its value is bad (error printed). */
typedef int (*report_extra_flag)(int argc, char **argv, int *i, void *ctx);

struct report_cmd {
    const char *name;  /* "list" */
    const char *usage; /* the synopsis and the command's own flags */
    size_t min_args;   /* positional arguments needed (REGEX + FILE: 2) */
    report_extra_flag extra;
    void *ctx;
};

/* Parses argv into o (o->args points into a malloc'd array: free with
 * report_args_free). Returns 0 to run, 1 when help was printed, 2 on a
 * usage error (reported on stderr). */
int report_parse_args(int argc, char **argv, const struct report_cmd *cmd, report_options *o);
void report_args_free(report_options *o);

/* Prints the flags every report takes (for a command's -h). */
void report_common_usage(FILE *out);

/* Opens o's files with its filters, printing "cprof: ..." on failure. 0 or 1. */
int report_open_or_say(report_input *in, char **paths, size_t n, const report_options *o);

/* Ends a report: flushes stdout, saying so when writing failed. */
int report_finish_stdout(const char *cmd, int rc);

#endif
