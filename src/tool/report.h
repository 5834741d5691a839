/*
 * report.h: what the text reports (top, and later list, peek, flame, diff)
 * share. Opening and merging profiles as pprof merges them, choosing the
 * sample value (-sample_index), naming frames at function granularity,
 * walking samples as stacks of frame ids, the function call graph with flat
 * and cum values, and formatting values and percentages exactly as pprof
 * does so that our reports read like `go tool pprof`'s.
 */
#ifndef CPROF_REPORT_H
#define CPROF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pprof_read.h"

/* One frame of a stack: a function, named by id (report_name). */
typedef struct report_frame {
    uint32_t name;
    /* 1 when this frame is an inlined call inside its caller's location
     * (not the last Line of its Location). */
    uint32_t inlined;
} report_frame;

/* Profiles opened together. Values from several files add up; the header
 * facts follow pprof's merge (earliest time, summed durations, the first
 * profile's main mapping). */
typedef struct report_input {
    cprof_profile **profiles;
    char **paths;
    size_t nprofiles;

    int sample_index;
    const char *sample_type; /* "cpu", "alloc_space", ... */
    const char *sample_unit; /* "nanoseconds", "bytes", "count", ... */
    int64_t total;           /* sum of |value| over every sample */

    const char *main_file; /* first mapping's file, "" if none */
    const char *build_id;
    int64_t time_nanos, duration_nanos;

    struct report_priv *priv;
} report_input;

/* Opens and merges the files. sample_index is NULL (the default sample type,
 * else the last one, as pprof does), a number, or a sample type name.
 * On failure returns -1 with a one-line reason in err. */
int report_open(report_input *in, char **paths, size_t npaths, const char *sample_index, char *err,
                size_t errlen);
void report_close(report_input *in);

/* Name ids are dense: 0 .. report_name_count()-1. */
size_t report_name_count(const report_input *in);
const char *report_name(const report_input *in, uint32_t id);

/* Calls cb for each sample whose chosen value is non-zero, with its frames
 * leaf first (inlined functions before the function they were inlined
 * into). A non-zero return from cb stops the walk and is returned. */
typedef int (*report_sample_cb)(void *ctx, const report_frame *frames, size_t nframes,
                                int64_t value);
int report_each_sample(report_input *in, report_sample_cb cb, void *ctx);

/* The call graph at function granularity. nodes[] is indexed by name id;
 * an edge is caller → callee. Like pprof, flat goes to the leaf function,
 * cum counts a function once per sample however often it recurses, and an
 * edge weighs once per sample. */
typedef struct report_node {
    int64_t flat, cum;
} report_node;

typedef struct report_edge {
    uint32_t caller, callee;
    int64_t weight;
    int inline_only; /* every occurrence was an inlined call */
} report_edge;

typedef struct report_graph {
    report_node *nodes; /* report_name_count() entries */
    report_edge *edges;
    size_t nedges, edges_cap;
    struct report_edge_tab *tab;
} report_graph;

/* Builds the graph. With keep non-NULL (one flag per name id), functions
 * not kept are left out and edges join the nearest kept frames, which is
 * how pprof re-links a trimmed graph. 0 or -1 (out of memory). */
int report_graph_build(report_input *in, const unsigned char *keep, report_graph *g);
void report_graph_free(report_graph *g);

/* ---- values as pprof prints them ---------------------------------------- */

/* The unit pprof picks to show values from min_value (smallest non-zero
 * node value) to max_value (the total), e.g. "ms" or "MB"; for units pprof
 * does not scale, the sample unit itself. Writes into out. */
void report_pick_unit(const char *sample_unit, int64_t min_value, int64_t max_value, char *out,
                      size_t outlen);

/* value (in from_unit) converted to to_unit and printed with two decimals,
 * ".00" dropped: "2.50s", "512kB", "1234". to_unit "auto" picks per value. */
void report_format_value(char *buf, size_t len, int64_t value, const char *from_unit,
                         const char *to_unit);

/* "  100%", "83.33%", " 0.12%" — width 6, as pprof's columns. */
void report_format_percent(char *buf, size_t len, int64_t value, int64_t total);

/* The header lines pprof prints before a report: File, Build ID, comments,
 * Type, Time, Duration. out_unit is the unit the report's values use. */
void report_print_header(FILE *out, const report_input *in, const char *out_unit);

#endif
