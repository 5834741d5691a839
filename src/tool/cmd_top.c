/*
 * cmd_top.c: `cprof top`, the flat per-function table of `go tool pprof
 * -top`. Owns its flags, the node selection (pprof's node fraction, -n),
 * the sort order, the "(inline)" marks and the printing of the table; the
 * numbers themselves come from report.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tool.h"

/* pprof's defaults: functions under 0.5% of the total are dropped from the
 * table, and edges under 0.1% do not count when deciding "(inline)". */
#define DEFAULT_NODE_FRACTION 0.005
#define EDGE_FRACTION         0.001

struct top_opts {
    long n;
    int cum;
    const char *sample_index;
    double node_fraction;
    char **files;
    size_t nfiles;
};

struct row {
    uint32_t id;
    const char *name;
    int64_t flat, cum;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cprof top [-n N] [-cum] [-sample_index=NAME|INDEX] "
                 "[-nodefraction=F] FILE...\n"
                 "\n"
                 "Prints the functions with the largest values, like 'go tool pprof -top'.\n"
                 "Several files with the same sample types are added up.\n"
                 "\n"
                 "  -n N              show only the first N functions (default: all)\n"
                 "  -cum              sort by cumulative value instead of flat\n"
                 "  -sample_index=S   which value to show: a sample type name (cpu, samples,\n"
                 "                    alloc_space, inuse_space, ...) or its index; default:\n"
                 "                    the profile's default type, else the last one\n"
                 "  -nodefraction=F   hide functions whose cum is below F of the total\n"
                 "                    (default 0.005, as pprof; 0 shows all)\n");
}

static int parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_fraction(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

/* One flag at argv[*i]. 1: consumed, 0: not a flag of ours, -1: bad value. */
static int parse_flag(int argc, char **argv, int *i, struct top_opts *o)
{
    const char *v;
    int rc;
    if ((v = tool_flag_value(argc, argv, i, "n")) ||
        (v = tool_flag_value(argc, argv, i, "nodecount"))) {
        if (parse_count(v, &o->n) == 0)
            return 1;
        tool_error("-n wants a number of functions (0 or more), not \"%s\"", v);
        return -1;
    }
    if ((v = tool_flag_value(argc, argv, i, "sample_index"))) {
        o->sample_index = v;
        return 1;
    }
    if ((v = tool_flag_value(argc, argv, i, "nodefraction"))) {
        if (parse_fraction(v, &o->node_fraction) == 0)
            return 1;
        tool_error("-nodefraction wants a number from 0 to 1, not \"%s\"", v);
        return -1;
    }
    if ((rc = tool_flag_bool(argv, *i, "cum", &o->cum)) != 0)
        return rc;
    return 0;
}

/* 0: run, 1: help was printed, 2: usage error (already reported). */
static int parse_args(int argc, char **argv, struct top_opts *o)
{
    o->n = 0;
    o->node_fraction = DEFAULT_NODE_FRACTION;
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files) {
        tool_error("out of memory");
        return 2;
    }
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || a[1] == '\0') {
            o->files[o->nfiles++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            only_files = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "-help") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        }
        int rc = parse_flag(argc, argv, &i, o);
        if (rc < 0)
            return 2;
        if (rc == 0) {
            tool_error("top: unknown flag %s (see 'cprof top -h')", a);
            return 2;
        }
    }
    if (o->nfiles == 0) {
        tool_error("top: no profile given (usage: cprof top [flags] FILE...)");
        return 2;
    }
    return 0;
}

/* ---- choosing and ordering rows ----------------------------------------- */

static int64_t abs64(int64_t v)
{
    return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}

static int cmp_i64_desc(int64_t a, int64_t b)
{
    a = abs64(a);
    b = abs64(b);
    return a > b ? -1 : a < b;
}

/* pprof's orders: by |flat| (or |cum|), then name, then the other value. */
static int cmp_flat(const void *x, const void *y)
{
    const struct row *a = x, *b = y;
    int c = cmp_i64_desc(a->flat, b->flat);
    if (!c)
        c = strcmp(a->name, b->name);
    return c ? c : cmp_i64_desc(a->cum, b->cum);
}

static int cmp_cum(const void *x, const void *y)
{
    const struct row *a = x, *b = y;
    int c = cmp_i64_desc(a->cum, b->cum);
    if (!c)
        c = strcmp(a->name, b->name);
    return c ? c : cmp_i64_desc(a->flat, b->flat);
}

struct table {
    struct row *rows;
    size_t nrows;
    size_t orig;    /* rows left after the node fraction cut */
    size_t dropped; /* rows under the node fraction */
    int64_t flat_total;
};

static int collect_rows(const report_input *in, const report_graph *g, struct table *t)
{
    size_t n = report_name_count(in);
    t->rows = calloc(n ? n : 1, sizeof *t->rows);
    if (!t->rows)
        return -1;
    for (uint32_t id = 0; id < n; id++) {
        const report_node *node = &g->nodes[id];
        if (node->flat == 0 && node->cum == 0)
            continue;
        t->rows[t->nrows++] = (struct row){id, report_name(in, id), node->flat, node->cum};
        t->flat_total = (int64_t)((uint64_t)t->flat_total + (uint64_t)node->flat);
    }
    return 0;
}

/* Cuts, like pprof, on the sum of flat values (not the profile total, which
 * also counts samples without any location). */
static void apply_node_fraction(struct table *t, double fraction)
{
    int64_t cutoff = abs64((int64_t)((double)t->flat_total * fraction));
    size_t kept = 0;
    for (size_t i = 0; i < t->nrows; i++)
        if (cutoff <= 0 || abs64(t->rows[i].cum) >= cutoff)
            t->rows[kept++] = t->rows[i];
    t->dropped = t->nrows - kept;
    t->nrows = kept;
}

static int select_rows(const report_input *in, const report_graph *g, const struct top_opts *o,
                       struct table *t)
{
    if (collect_rows(in, g, t))
        return -1;
    apply_node_fraction(t, o->node_fraction);
    t->orig = t->nrows;
    qsort(t->rows, t->nrows, sizeof *t->rows, o->cum ? cmp_cum : cmp_flat);
    if (o->n > 0 && (size_t)o->n < t->nrows)
        t->nrows = (size_t)o->n;
    return 0;
}

/* ---- inline marks -------------------------------------------------------- */

/* pprof marks a function "(inline)" when every call edge into it that
 * survives trimming is an inlined call, "(partial-inline)" when some are.
 * The edges are those of the graph re-linked over the shown functions. */
static int inline_marks(report_input *in, const struct table *t, unsigned char *marks)
{
    size_t n = report_name_count(in);
    unsigned char *keep = calloc(n ? n : 1, 1);
    if (!keep)
        return -1;
    for (size_t i = 0; i < t->nrows; i++)
        keep[t->rows[i].id] = 1;
    report_graph g;
    int rc = report_graph_build(in, keep, &g);
    int64_t cutoff = abs64((int64_t)((double)t->flat_total * EDGE_FRACTION));
    for (size_t e = 0; rc == 0 && e < g.nedges; e++) {
        if (abs64(g.edges[e].weight) < cutoff)
            continue;
        marks[g.edges[e].callee] |= g.edges[e].inline_only ? 1 : 2;
    }
    report_graph_free(&g);
    free(keep);
    return rc;
}

static const char *inline_label(unsigned char mark)
{
    switch (mark) {
    case 1:
        return " (inline)";
    case 3:
        return " (partial-inline)";
    default:
        return "";
    }
}

/* ---- printing ----------------------------------------------------------- */

static void pick_unit(const report_input *in, const struct table *t, char *unit, size_t len)
{
    if (t->nrows == 0) {
        snprintf(unit, len, "minimum");
        return;
    }
    int64_t min = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        int64_t v = abs64(t->rows[i].flat);
        if (v == 0)
            v = abs64(t->rows[i].cum);
        if (v > 0 && (min == 0 || v < min))
            min = v;
    }
    report_pick_unit(in->sample_unit, min, in->total, unit, len);
}

static void print_summary(const report_input *in, const struct table *t, const struct top_opts *o,
                          const char *unit)
{
    int64_t shown = 0;
    for (size_t i = 0; i < t->nrows; i++)
        shown = (int64_t)((uint64_t)shown + (uint64_t)t->rows[i].flat);
    char v[64], pct[32], total[64];
    report_format_value(v, sizeof v, shown, in->sample_unit, unit);
    report_format_percent(pct, sizeof pct, shown, in->total);
    report_format_value(total, sizeof total, in->total, in->sample_unit, unit);
    const char *p = pct;
    while (*p == ' ')
        p++;
    printf("Showing nodes accounting for %s, %s of %s total\n", v, p, total);
    if (in->total == 0)
        return;
    if (t->dropped > 0) {
        char cut[64];
        int64_t c = abs64((int64_t)((double)in->total * o->node_fraction));
        report_format_value(cut, sizeof cut, c, in->sample_unit, unit);
        printf("Dropped %zu node%s (cum <= %s)\n", t->dropped, t->dropped > 1 ? "s" : "", cut);
    }
    if (t->nrows > 0 && t->nrows < t->orig)
        printf("Showing top %zu nodes out of %zu\n", t->nrows, t->orig);
}

static void print_rows(const report_input *in, const struct table *t, const unsigned char *marks,
                       const char *unit)
{
    printf("%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
    int64_t sum = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const struct row *r = &t->rows[i];
        char flat[64], flatp[32], sump[32], cum[64], cump[32];
        sum = (int64_t)((uint64_t)sum + (uint64_t)r->flat);
        report_format_value(flat, sizeof flat, r->flat, in->sample_unit, unit);
        report_format_percent(flatp, sizeof flatp, r->flat, in->total);
        report_format_percent(sump, sizeof sump, sum, in->total);
        report_format_value(cum, sizeof cum, r->cum, in->sample_unit, unit);
        report_format_percent(cump, sizeof cump, r->cum, in->total);
        printf("%10s %s %s %10s %s  %s%s\n", flat, flatp, sump, cum, cump, r->name,
               inline_label(marks[r->id]));
    }
}

static int run_top(report_input *in, const struct top_opts *o)
{
    report_graph g;
    struct table t = {0};
    unsigned char *marks = NULL;
    int rc = -1;
    if (report_graph_build(in, NULL, &g) == 0 && select_rows(in, &g, o, &t) == 0) {
        marks = calloc(report_name_count(in) + 1, 1);
        if (marks && inline_marks(in, &t, marks) == 0)
            rc = 0;
    }
    if (rc == 0) {
        char unit[32];
        pick_unit(in, &t, unit, sizeof unit);
        report_print_header(stdout, in, unit);
        print_summary(in, &t, o, unit);
        print_rows(in, &t, marks, unit);
    } else {
        tool_error("top: out of memory");
    }
    report_graph_free(&g);
    free(t.rows);
    free(marks);
    return rc;
}

int cmd_top(int argc, char **argv)
{
    struct top_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.files);
        return rc == 1 ? 0 : 2;
    }
    report_input in;
    char err[512];
    if (report_open(&in, o.files, o.nfiles, o.sample_index, err, sizeof err)) {
        tool_error("%s", err);
        report_close(&in);
        free(o.files);
        return 1;
    }
    rc = run_top(&in, &o);
    report_close(&in);
    free(o.files);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        tool_error("top: writing the report failed");
        return 1;
    }
    return rc ? 1 : 0;
}
