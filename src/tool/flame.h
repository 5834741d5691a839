/*
 * flame.h: the self-contained interactive SVG flame graph of `cprof flame`
 * and `cprof diff -flame`.
 */
#ifndef CPROF_FLAME_H
#define CPROF_FLAME_H

#include <stdio.h>

#include "report.h"

struct flame_opts {
    const char *title;
    const char *subtitle;    /* e.g. "Type: cpu" */
    const char *sample_unit; /* for the values in tooltips */
    int diff;                /* colour by value - base: red grew, blue shrank */
};

/* Writes the tree (sorted: report_tree_sort) as SVG. 0, or -1 on a write error. */
int flame_write_svg(FILE *out, const report_tree *t, const struct flame_opts *o);

/* Opens -o (or stdout), writes, closes; says what went wrong in one line. 0 or 1. */
int flame_write_file(const char *cmd, const char *path, const report_tree *t,
                     const struct flame_opts *o);

/* The whole of `cprof flame` once its flags are parsed (also `cprof diff
 * -flame`): opens o's files (and o->base when diff), writes o->output.
 * Returns the exit status. */
int flame_run(const report_options *o, int diff, const char *title);

#endif
