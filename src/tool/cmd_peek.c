/*
 * cmd_peek.c: `cprof peek REGEX FILE...`, the callers and callees of the
 * matching functions with their shares, in the layout of `go tool pprof
 * -peek`. Owns selecting the functions and printing their edges; the graph
 * comes from report.c.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_args.h"
#include "tool.h"

static const char peek_usage[] =
    "usage: cprof peek [flags] REGEX FILE...\n"
    "\n"
    "For each function whose name matches REGEX (a POSIX extended regular\n"
    "expression), prints its callers (above) and callees (below) with the value of\n"
    "each call and its share of the function's cum, like 'go tool pprof -peek'.\n"
    "Nothing is trimmed unless -nodecount, -nodefraction or -edgefraction says so.\n";

static const char separator[] =
    "----------------------------------------------------------+-------------\n";
/* pprof's legend, tabs and trailing blanks included, for byte-equal output. */
static const char legend[] =
    "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t \n";

/* The kept edges into (in = 1) or out of the node id, sorted as pprof does. */
static size_t node_edges(const report_input *in, const report_trimmed *t, uint32_t id, int into,
                         const report_edge **out)
{
    size_t n = 0;
    for (size_t e = 0; e < t->g.nedges; e++) {
        const report_edge *ed = &t->g.edges[e];
        if (report_trimmed_edge_kept(t, e) && (into ? ed->callee : ed->caller) == id)
            out[n++] = ed;
    }
    report_sort_edges(in, out, n);
    return n;
}

static void print_edges(const report_input *in, const report_trimmed *t, uint32_t id, int into,
                        const char *unit, const report_edge **buf)
{
    size_t n = node_edges(in, t, id, into, buf);
    for (size_t i = 0; i < n; i++) {
        char v[64], pct[32];
        report_format_value(v, sizeof v, buf[i]->weight, in->sample_unit, unit);
        report_format_percent(pct, sizeof pct, buf[i]->weight, t->g.nodes[id].cum);
        printf("%50s %s |   %s%s\n", v, pct,
               report_name(in, into ? buf[i]->caller : buf[i]->callee),
               buf[i]->inline_only ? " (inline)" : "");
    }
}

static void print_node(const report_input *in, const report_trimmed *t, uint32_t id,
                       int64_t flat_sum, const char *unit)
{
    const report_node *n = &t->g.nodes[id];
    char flat[64], cum[64], fp[32], sp[32], cp[32];
    report_format_value(flat, sizeof flat, n->flat, in->sample_unit, unit);
    report_format_value(cum, sizeof cum, n->cum, in->sample_unit, unit);
    report_format_percent(fp, sizeof fp, n->flat, in->total);
    report_format_percent(sp, sizeof sp, flat_sum, in->total);
    report_format_percent(cp, sizeof cp, n->cum, in->total);
    printf("%10s %s %s %10s %s                | %s\n", flat, fp, sp, cum, cp, report_name(in, id));
}

static void print_peek(const report_input *in, const report_trimmed *t, regex_t *re,
                       const char *unit, const report_edge **buf)
{
    int64_t flat_sum = 0;
    for (size_t i = 0; i < t->norder; i++) {
        uint32_t id = t->order[i];
        if (regexec(re, report_name(in, id), 0, NULL, 0) != 0)
            continue;
        fputs(separator, stdout);
        print_edges(in, t, id, 1, unit, buf);
        flat_sum += t->g.nodes[id].flat;
        print_node(in, t, id, flat_sum, unit);
        print_edges(in, t, id, 0, unit, buf);
    }
    if (t->norder > 0)
        fputs(separator, stdout);
}

static int run_peek(report_input *in, const report_options *o, regex_t *re)
{
    double nf = o->nodefraction >= 0 ? o->nodefraction : 0;
    double ef = o->edgefraction >= 0 ? o->edgefraction : 0;
    report_trimmed t;
    if (report_trim(in, o->nodecount, nf, ef, o->cum, &t)) {
        tool_error("peek: out of memory");
        return 1;
    }
    const report_edge **buf = calloc(t.g.nedges + 1, sizeof *buf);
    if (!buf) {
        report_trimmed_free(&t);
        tool_error("peek: out of memory");
        return 1;
    }
    size_t matched = 0;
    for (size_t i = 0; i < t.norder; i++)
        matched += regexec(re, report_name(in, t.order[i]), 0, NULL, 0) == 0;
    if (matched == 0) {
        free(buf);
        report_trimmed_free(&t);
        tool_error("peek: no matches found for regexp: %s", o->args[0]);
        return 1;
    }
    char unit[32];
    report_trimmed_unit(in, &t, unit, sizeof unit);
    report_print_header(stdout, in, unit);
    report_print_showing(stdout, in, &t, nf, ef, unit, 0);
    fputs(separator, stdout);
    fputs(legend, stdout);
    print_peek(in, &t, re, unit, buf);
    free(buf);
    report_trimmed_free(&t);
    return 0;
}

int cmd_peek(int argc, char **argv)
{
    struct report_cmd cmd = {"peek", peek_usage, 2, NULL, NULL};
    report_options o;
    int rc = report_parse_args(argc, argv, &cmd, &o);
    if (rc) {
        report_args_free(&o);
        return rc == 1 ? 0 : 2;
    }
    regex_t re;
    if (regcomp(&re, o.args[0], REG_EXTENDED | REG_NOSUB) != 0) {
        tool_error("peek: invalid regular expression: %s", o.args[0]);
        report_args_free(&o);
        return 2;
    }
    report_input in;
    if (report_open_or_say(&in, o.args + 1, o.nargs - 1, &o)) {
        regfree(&re);
        report_args_free(&o);
        return 1;
    }
    rc = run_peek(&in, &o, &re);
    report_close(&in);
    regfree(&re);
    report_args_free(&o);
    return report_finish_stdout("peek", rc);
}
