/*
 * flags.h: command-line flags spelled the way Go's flag package spells them:
 * -name=value, --name=value, -name value, and -name alone for a boolean.
 * Shared by the server and the load generator.
 */
#ifndef FILESEARCH_FLAGS_H
#define FILESEARCH_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum flag_type {
    FLAG_BOOL,     /* value: bool * */
    FLAG_INT,      /* value: long *, within [min, max] */
    FLAG_STRING,   /* value: const char ** (points into argv) */
    FLAG_DURATION, /* value: long * in milliseconds, within [min, max]; "10s", "500ms", "2m" */
};

struct flag {
    const char *name; /* without the dash */
    enum flag_type type;
    void *value;
    const char *arg;   /* placeholder shown in the usage, e.g. "FILE" */
    const char *usage; /* one line */
    long min, max;     /* bounds for FLAG_INT and FLAG_DURATION */
};

enum flags_result {
    FLAGS_OK,   /* every argument was a known flag with a good value */
    FLAGS_HELP, /* -h, -help or --help: the caller prints the usage and exits 0 */
    FLAGS_BAD,  /* a one-line message naming the problem was printed on stderr */
};

/* Parses argv[1..argc) into the flags' values. Positional arguments are refused. */
enum flags_result flags_parse(const char *prog, const struct flag *flags, size_t nflags, int argc,
                              char **argv);

/* Prints one line per flag, with its placeholder and usage. */
void flags_print_usage(FILE *out, const struct flag *flags, size_t nflags);

#endif
