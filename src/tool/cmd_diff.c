/*
 * cmd_diff.c: `cprof diff -base OLD NEW`, what changed between two
 * profiles of the same kind: per function, flat and cum before and after,
 * the change and its share of the old value, largest changes first. With
 * -flame, the differential flame graph instead (cmd_flame.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "report.h"
#include "report_args.h"
#include "tool.h"

static const char diff_usage[] =
    "usage: cprof diff [flags] -base OLD NEW...\n"
    "\n"
    "Compares profiles: per function, flat and cum in OLD (base) and NEW, the change\n"
    "and the change as a share of the old value, sorted by the size of the change\n"
    "in flat (in cum with -cum). Functions that did not change are left out.\n"
    "  -base=OLD        the profile before (a file or an http:// URL)\n"
    "  -flame -o F.svg  write a differential flame graph instead (red: grew, blue: shrank)\n"
    "  -n N             show the N largest changes (default: all)\n";

struct diff_flags {
    int flame;
};

static int diff_flag(int argc, char **argv, int *i, void *ctx)
{
    struct diff_flags *f = ctx;
    return tool_flag_bool(argv, *i, "flame", &f->flame);
}

struct drow {
    const char *name;
    int64_t flat0, flat1, cum0, cum1;
};

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static int sort_cum;

static int cmp_rows(const void *x, const void *y)
{
    const struct drow *a = x, *b = y;
    int64_t da = sort_cum ? a->cum1 - a->cum0 : a->flat1 - a->flat0;
    int64_t db = sort_cum ? b->cum1 - b->cum0 : b->flat1 - b->flat0;
    if (abs64(da) != abs64(db))
        return abs64(da) > abs64(db) ? -1 : 1;
    int64_t ea = sort_cum ? a->flat1 - a->flat0 : a->cum1 - a->cum0;
    int64_t eb = sort_cum ? b->flat1 - b->flat0 : b->cum1 - b->cum0;
    if (abs64(ea) != abs64(eb))
        return abs64(ea) > abs64(eb) ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* One row per function of either profile that changed. */
static struct drow *join(report_input *old, const report_graph *g0, report_input *cur,
                         const report_graph *g1, size_t *n)
{
    size_t n0 = report_name_count(old), n1 = report_name_count(cur);
    struct drow *rows = calloc(n0 + n1 + 1, sizeof *rows);
    if (!rows)
        return NULL;
    *n = 0;
    for (uint32_t id = 0; id < n1; id++) {
        const char *name = report_name(cur, id);
        int64_t o = report_name_id(old, name);
        struct drow r = {name, 0, g1->nodes[id].flat, 0, g1->nodes[id].cum};
        if (o >= 0) {
            r.flat0 = g0->nodes[o].flat;
            r.cum0 = g0->nodes[o].cum;
        }
        if (r.flat0 != r.flat1 || r.cum0 != r.cum1)
            rows[(*n)++] = r;
    }
    for (uint32_t id = 0; id < n0; id++) {
        const char *name = report_name(old, id);
        const report_node *nd = &g0->nodes[id];
        if (report_name_id(cur, name) < 0 && (nd->flat || nd->cum))
            rows[(*n)++] = (struct drow){name, nd->flat, 0, nd->cum, 0};
    }
    return rows;
}

/* The change as a share of the old value: "+25.0%", "new", "-100.0%". */
static void delta_pct(char *buf, size_t len, int64_t before, int64_t after)
{
    if (before == after)
        snprintf(buf, len, "0");
    else if (before == 0)
        snprintf(buf, len, "new");
    else
        snprintf(buf, len, "%+.1f%%", 100.0 * (double)(after - before) / (double)abs64(before));
}

static void signed_value(char *buf, size_t len, int64_t v, const char *su, const char *unit)
{
    char tmp[48];
    report_format_value(tmp, sizeof tmp, v, su, unit);
    snprintf(buf, len, "%s%s", v > 0 ? "+" : "", tmp);
}

static void print_header(const report_input *old, const report_input *cur, const char *unit)
{
    char t0[64], t1[64], d[64], p[32];
    report_format_value(t0, sizeof t0, old->total, cur->sample_unit, unit);
    report_format_value(t1, sizeof t1, cur->total, cur->sample_unit, unit);
    signed_value(d, sizeof d, cur->total - old->total, cur->sample_unit, unit);
    delta_pct(p, sizeof p, old->total, cur->total);
    printf("Type: %s\n", cur->sample_type);
    printf("Base: %s%s, total %s\n", old->paths[0], old->nprofiles > 1 ? " (and more)" : "", t0);
    printf("New:  %s%s, total %s\n", cur->paths[0], cur->nprofiles > 1 ? " (and more)" : "", t1);
    printf("Change: %s (%s)\n", d, p);
    const char *f[16];
    size_t nf = report_active_filters(cur, f, 16);
    if (nf) {
        printf("Active filters:\n");
        for (size_t i = 0; i < nf; i++)
            printf("   %s\n", f[i]);
    }
}

static void pick_unit(const report_input *cur, int64_t max, const struct drow *rows, size_t n,
                      char *unit, size_t len)
{
    int64_t min = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t v[4] = {rows[i].flat0, rows[i].flat1, rows[i].cum0, rows[i].cum1};
        for (int k = 0; k < 4; k++)
            if (abs64(v[k]) && (!min || abs64(v[k]) < min))
                min = abs64(v[k]);
    }
    report_pick_unit(cur->sample_unit, min, max, unit, len);
}

static void print_rows(const report_input *cur, const struct drow *rows, size_t n, const char *unit)
{
    const char *su = cur->sample_unit;
    printf("%10s %10s %10s %8s %10s %10s %10s %8s  %s\n", "base flat", "flat", "delta", "delta%",
           "base cum", "cum", "delta", "delta%", "function");
    for (size_t i = 0; i < n; i++) {
        const struct drow *r = &rows[i];
        char f0[64], f1[64], fd[64], fp[32], c0[64], c1[64], cd[64], cp[32];
        report_format_value(f0, sizeof f0, r->flat0, su, unit);
        report_format_value(f1, sizeof f1, r->flat1, su, unit);
        signed_value(fd, sizeof fd, r->flat1 - r->flat0, su, unit);
        delta_pct(fp, sizeof fp, r->flat0, r->flat1);
        report_format_value(c0, sizeof c0, r->cum0, su, unit);
        report_format_value(c1, sizeof c1, r->cum1, su, unit);
        signed_value(cd, sizeof cd, r->cum1 - r->cum0, su, unit);
        delta_pct(cp, sizeof cp, r->cum0, r->cum1);
        printf("%10s %10s %10s %8s %10s %10s %10s %8s  %s\n", f0, f1, fd, fp, c0, c1, cd, cp,
               r->name);
    }
}

static int compare(report_input *old, report_input *cur, const report_options *o)
{
    report_graph g0, g1;
    int rc = 1;
    struct drow *rows = NULL;
    size_t n = 0;
    if (report_graph_build(old, NULL, &g0) | report_graph_build(cur, NULL, &g1) ||
        !(rows = join(old, &g0, cur, &g1, &n))) {
        tool_error("diff: out of memory");
    } else {
        sort_cum = o->cum;
        qsort(rows, n, sizeof *rows, cmp_rows);
        if (o->nodecount > 0 && (size_t)o->nodecount < n)
            n = (size_t)o->nodecount;
        char unit[32];
        pick_unit(cur, old->total > cur->total ? old->total : cur->total, rows, n, unit,
                  sizeof unit);
        print_header(old, cur, unit);
        print_rows(cur, rows, n, unit);
        rc = 0;
    }
    free(rows);
    report_graph_free(&g0);
    report_graph_free(&g1);
    return rc;
}

static int run_diff(const report_options *o)
{
    report_input old, cur;
    char *bp[1] = {(char *)o->base};
    if (report_open_or_say(&old, bp, 1, o))
        return 1;
    if (report_open_or_say(&cur, o->args, o->nargs, o)) {
        report_close(&old);
        return 1;
    }
    int rc = 1;
    if (strcmp(old.sample_type, cur.sample_type) || strcmp(old.sample_unit, cur.sample_unit))
        tool_error("diff: cannot compare %s (%s) with %s (%s): not the same kind of value", o->base,
                   old.sample_type, o->args[0], cur.sample_type);
    else
        rc = compare(&old, &cur, o);
    report_close(&cur);
    report_close(&old);
    return rc;
}

int cmd_diff(int argc, char **argv)
{
    struct diff_flags f = {0};
    struct report_cmd cmd = {"diff", diff_usage, 1, diff_flag, &f};
    report_options o;
    int rc = report_parse_args(argc, argv, &cmd, &o);
    if (rc == 0 && !o.base) {
        tool_error("diff: no -base given (usage: cprof diff -base OLD NEW)");
        rc = 2;
    } else if (rc == 0) {
        rc = f.flame ? flame_run(&o, 1, NULL) : report_finish_stdout("diff", run_diff(&o));
    } else {
        rc = rc == 1 ? 0 : 2;
    }
    report_args_free(&o);
    return rc;
}
