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

/* One frame of a stack: a function, named by id (report_name), and where in
 * the source it was (file by id, report_file; line 0 when unknown). */
typedef struct report_frame {
    uint32_t name;
    /* 1 when this frame is an inlined call inside its caller's location
     * (not the last Line of its Location). */
    uint32_t inlined;
    uint32_t file;
    int32_t line;
    int32_t start_line; /* the function's first line, 0 when unknown */
    /* 1 when the code is not in the profile's main binary (its first
     * mapping) but in a shared library: what explain calls "not yours". */
    uint32_t lib;
} report_frame;

struct report_filter;

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

    /* Set by report_open_opts: which samples and frames the walks see. The
     * total above stays that of every sample, as pprof keeps percentages
     * relative to the whole profile under -focus. */
    struct report_filter *filter;

    struct report_priv *priv;
} report_input;

/* What every report takes on its command line (report_args.c parses it). */
typedef struct report_options {
    const char *sample_index;
    const char *focus, *ignore, *hide, *show; /* POSIX EREs, NULL when unset */
    const char *tagfocus, *tagignore;         /* [KEY=]VALUE-RE or [KEY=]LO:HI */
    long nodecount;                           /* -1: the report's default */
    double nodefraction, edgefraction;        /* < 0: the report's default */
    int cum;
    const char *output, *base;
    const char *source_path, *trim_path;
    char **args; /* what is not a flag: files, URLs (and a REGEX first for list/peek) */
    size_t nargs;
} report_options;

/* Opens and merges the files. sample_index is NULL (the default sample type,
 * else the last one, as pprof does), a number, or a sample type name.
 * On failure returns -1 with a one-line reason in err. */
int report_open(report_input *in, char **paths, size_t npaths, const char *sample_index, char *err,
                size_t errlen);
void report_close(report_input *in);

/* Reads one profile: a file, or the answer of an http(s):// URL. NULL with
 * a one-line reason in err. */
cprof_profile *report_read(const char *path, char *err, size_t errlen);

/* report_open_opts over profiles already read (named by paths), which it
 * takes over: report_close frees them, also after a failure. */
int report_open_parsed(report_input *in, cprof_profile **profiles, char **paths, size_t n,
                       const report_options *o, char *err, size_t errlen);

/* report_open with the options' sample index and filters (-focus, -ignore,
 * -hide, -show, -tagfocus, -tagignore). Paths may be http:// or https://
 * URLs of a live endpoint, fetched as they are (query included). */
int report_open_opts(report_input *in, char **paths, size_t npaths, const report_options *o,
                     char *err, size_t errlen);

/* The filters in effect, as pprof lists them under "Active filters:". */
size_t report_active_filters(const report_input *in, const char **out, size_t max);

/* Name ids are dense: 0 .. report_name_count()-1. */
size_t report_name_count(const report_input *in);
const char *report_name(const report_input *in, uint32_t id);
/* The id of a function name, -1 when no frame has it. */
int64_t report_name_id(const report_input *in, const char *name);
/* Source file names, by the file id of a frame; id 0 is "" (unknown). */
size_t report_file_count(const report_input *in);
const char *report_file(const report_input *in, uint32_t id);

/* Calls cb for each sample whose chosen value is non-zero, with its frames
 * leaf first (inlined functions before the function they were inlined
 * into). A non-zero return from cb stops the walk and is returned. */
typedef int (*report_sample_cb)(void *ctx, const report_frame *frames, size_t nframes,
                                int64_t value);
int report_each_sample(report_input *in, report_sample_cb cb, void *ctx);

/* ---- unique stacks ------------------------------------------------------ */

/* Stacks root first (name ids), each with the sum of its samples' values:
 * the data of folded output, flame graphs and hot paths. Plain arrays, so
 * that a web view can serialise them as they are. */
typedef struct report_stacks {
    uint32_t *ids; /* all stacks' frames, concatenated */
    size_t *off;   /* stack i is ids[off[i] .. off[i]+len[i]) */
    uint32_t *len;
    int64_t *value;
    size_t n;
    size_t nids, ids_cap, cap;
    uint32_t *slots; /* open addressing: stack index + 1 */
    size_t mask;
} report_stacks;

/* Adds value to the stack ids[0..n) (root first), creating it. 0 or -1. */
int report_stacks_add(report_stacks *st, const uint32_t *ids, size_t n, int64_t value);
/* Every sample's stack, root first, inlined frames included. 0 or -1. */
int report_stacks_collect(report_input *in, report_stacks *st);
void report_stacks_free(report_stacks *st);

/* ---- a tree of calls (flame graphs) -------------------------------------- */

/* Node 0 is the root (name NULL). Children of a node are linked through
 * next, in name order once report_tree_sort has run. value counts the node
 * and everything under it; base is the same from a -base profile. */
typedef struct report_tree_node {
    const char *name;
    uint32_t parent, child, next;
    int64_t value, base;
} report_tree_node;

typedef struct report_tree {
    report_tree_node *nodes;
    size_t n, cap;
    uint32_t *slots; /* (parent, name) → node index + 1 */
    size_t mask;
} report_tree;

/* Adds a stack (root first) of names with value (into value, or into base
 * when is_base). 0 or -1. */
int report_tree_add(report_tree *t, const char *const *names, size_t n, int64_t v, int is_base);
/* Adds every stack of in. */
int report_tree_add_input(report_tree *t, report_input *in, int is_base);
void report_tree_sort(report_tree *t);
void report_tree_free(report_tree *t);

/* ---- per source line ------------------------------------------------------ */

/* flat and cum of one (function, file, line), as pprof's line granularity:
 * cum once per sample, flat to the innermost frame. */
typedef struct report_line {
    uint32_t name, file;
    int32_t line, start_line;
    int64_t flat, cum;
} report_line;

typedef struct report_lines {
    report_line *rows;
    size_t n, cap;
    uint32_t *slots;
    size_t mask;
    uint64_t *stamp;
} report_lines;

int report_lines_build(report_input *in, report_lines *out);
void report_lines_free(report_lines *l);

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
    int residual;    /* some occurrence skipped frames left out of the graph */
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

/* pprof's trimmed graph, as -top, -peek and -dot show it: nodes whose cum is
 * under nodefraction of the flat sum dropped, the rest sorted (by flat, or
 * cum), at most nodecount of them, the graph rebuilt over those, and edges
 * under edgefraction dropped. */
typedef struct report_trimmed {
    report_graph g;  /* over the kept nodes */
    uint32_t *order; /* kept name ids, in report order */
    size_t norder;
    size_t orig; /* nodes after the fraction cut, before nodecount */
    size_t dropped_nodes, dropped_edges;
    int64_t flat_total;  /* sum of flat over every node */
    unsigned char *keep; /* by name id */
} report_trimmed;

int report_trim(report_input *in, long nodecount, double nodefraction, double edgefraction, int cum,
                report_trimmed *t);
void report_trimmed_free(report_trimmed *t);
/* 1 when edge e of t survived the edge fraction. */
int report_trimmed_edge_kept(const report_trimmed *t, size_t e);
/* The unit for the shown values: pprof's choice from the smallest one. */
void report_trimmed_unit(const report_input *in, const report_trimmed *t, char *unit, size_t len);
/* pprof's lines after the header: "Showing nodes accounting for ...",
 * "Dropped N nodes (cum <= X)", "Dropped N edges", "Showing top N nodes out of M". */
void report_print_showing(FILE *out, const report_input *in, const report_trimmed *t,
                          double nodefraction, double edgefraction, const char *unit,
                          int with_edges);

/* Sorts edges of a node as pprof does: by |weight|, then caller, then callee name. */
void report_sort_edges(const report_input *in, const report_edge **edges, size_t n);

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

/* A value as pprof prints it in a report: unit "auto" per value. */
const char *report_fmt(char *buf, size_t len, const report_input *in, int64_t v);

#endif
