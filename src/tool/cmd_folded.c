/*
 * cmd_folded.c: `cprof folded`, Brendan Gregg's folded stacks: one line per
 * distinct stack, "root;caller;leaf VALUE", sorted, which flamegraph.pl,
 * inferno and speedscope read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_args.h"
#include "tool.h"

static const char folded_usage[] =
    "usage: cprof folded [flags] FILE...\n"
    "\n"
    "Prints one line per distinct stack, root first: \"main;work;hot 150\", the\n"
    "value being the chosen sample type's (-sample_index) summed over the stack.\n"
    "Pipe it to flamegraph.pl or inferno-flamegraph, or open it in speedscope.\n";

/* A name as one folded frame: ';' separates frames and a newline ends the
 * line, so neither may appear inside one. */
static void put_frame(FILE *out, const char *name)
{
    for (const char *p = name; *p; p++)
        fputc(*p == ';' ? ':' : *p == '\n' || *p == '\r' ? ' ' : *p, out);
}

struct line {
    char *text;
    int64_t value;
};

static char *stack_text(const report_input *in, const report_stacks *st, size_t i)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    for (uint32_t j = 0; j < st->len[i]; j++) {
        if (j)
            fputc(';', m);
        put_frame(m, report_name(in, st->ids[st->off[i] + j]));
    }
    if (fclose(m)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

static int print_folded(report_input *in)
{
    report_stacks st;
    if (report_stacks_collect(in, &st))
        return -1;
    struct line *lines = calloc(st.n ? st.n : 1, sizeof *lines);
    size_t n = 0;
    int rc = lines ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < st.n; i++) {
        if (st.len[i] == 0 || st.value[i] == 0)
            continue; /* nothing to draw: no frames, or values that cancelled out */
        lines[n].value = st.value[i];
        if (!(lines[n++].text = stack_text(in, &st, i)))
            rc = -1;
    }
    if (rc == 0) {
        qsort(lines, n, sizeof *lines, cmp_lines);
        for (size_t i = 0; i < n; i++)
            printf("%s %lld\n", lines[i].text, (long long)lines[i].value);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i].text);
    free(lines);
    report_stacks_free(&st);
    return rc;
}

int cmd_folded(int argc, char **argv)
{
    struct report_cmd cmd = {"folded", folded_usage, 1, NULL, NULL};
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
    rc = print_folded(&in);
    if (rc)
        tool_error("folded: out of memory");
    report_close(&in);
    report_args_free(&o);
    return report_finish_stdout("folded", rc ? 1 : 0);
}
