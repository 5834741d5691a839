/*
 * cmd_top.c: `cprof top`, the flat per-function table of `go tool pprof
 * -top`. Owns the "(inline)" marks and the printing of the table; the
 * flags, the node selection and the numbers come from report.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_args.h"
#include "tool.h"

/* pprof's defaults: functions under 0.5% of the total are dropped from the
 * table, and edges under 0.1% do not count when deciding "(inline)". */
#define DEFAULT_NODE_FRACTION 0.005
#define DEFAULT_EDGE_FRACTION 0.001

static const char top_usage[] =
    "usage: cprof top [flags] FILE...\n"
    "\n"
    "Prints the functions with the largest values, like 'go tool pprof -top'.\n"
    "  -n N, -nodecount=N  show only the first N functions (default: all)\n";

/* ---- inline marks -------------------------------------------------------- */

/* pprof marks a function "(inline)" when every call edge into it that
 * survives trimming is an inlined call, "(partial-inline)" when some are.
 * The edges are those of the graph re-linked over the shown functions. */
static void inline_marks(const report_trimmed *t, unsigned char *marks)
{
    for (size_t e = 0; e < t->g.nedges; e++)
        if (report_trimmed_edge_kept(t, e))
            marks[t->g.edges[e].callee] |= t->g.edges[e].inline_only ? 1 : 2;
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

static void print_rows(const report_input *in, const report_trimmed *t, const unsigned char *marks,
                       const char *unit)
{
    printf("%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
    int64_t sum = 0;
    for (size_t i = 0; i < t->norder; i++) {
        uint32_t id = t->order[i];
        const report_node *r = &t->g.nodes[id];
        char flat[64], flatp[32], sump[32], cum[64], cump[32];
        sum = (int64_t)((uint64_t)sum + (uint64_t)r->flat);
        report_format_value(flat, sizeof flat, r->flat, in->sample_unit, unit);
        report_format_percent(flatp, sizeof flatp, r->flat, in->total);
        report_format_percent(sump, sizeof sump, sum, in->total);
        report_format_value(cum, sizeof cum, r->cum, in->sample_unit, unit);
        report_format_percent(cump, sizeof cump, r->cum, in->total);
        printf("%10s %s %s %10s %s  %s%s\n", flat, flatp, sump, cum, cump, report_name(in, id),
               inline_label(marks[id]));
    }
}

static int run_top(report_input *in, const report_options *o)
{
    double nf = o->nodefraction >= 0 ? o->nodefraction : DEFAULT_NODE_FRACTION;
    double ef = o->edgefraction >= 0 ? o->edgefraction : DEFAULT_EDGE_FRACTION;
    report_trimmed t;
    if (report_trim(in, o->nodecount, nf, ef, o->cum, &t)) {
        tool_error("top: out of memory");
        return 1;
    }
    unsigned char *marks = calloc(report_name_count(in) + 1, 1);
    if (!marks) {
        report_trimmed_free(&t);
        tool_error("top: out of memory");
        return 1;
    }
    inline_marks(&t, marks);
    char unit[32];
    report_trimmed_unit(in, &t, unit, sizeof unit);
    report_print_header(stdout, in, unit);
    report_print_showing(stdout, in, &t, nf, ef, unit, 0);
    print_rows(in, &t, marks, unit);
    report_trimmed_free(&t);
    free(marks);
    return 0;
}

int cmd_top(int argc, char **argv)
{
    struct report_cmd cmd = {"top", top_usage, 1, NULL, NULL};
    report_options o;
    int rc = report_parse_args(argc, argv, &cmd, &o);
    if (rc) {
        report_args_free(&o);
        return rc == 1 ? 0 : 2;
    }
    report_input in;
    if (report_open_or_say(&in, o.args, o.nargs, &o)) {
        report_args_free(&o);
        return 1;
    }
    rc = run_top(&in, &o);
    report_close(&in);
    report_args_free(&o);
    return report_finish_stdout("top", rc);
}
