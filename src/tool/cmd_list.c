/*
 * cmd_list.c: `cprof list REGEX FILE...`, the annotated source of `go tool
 * pprof -list`: for each function whose name matches, each of its source
 * files with flat and cum per line. Owns choosing the functions and the
 * line ranges and the printing; the per-line values come from report.c and
 * the files from source.c.
 */
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_args.h"
#include "source.h"
#include "tool.h"

/* Lines shown before the first and after the last line with samples, when
 * the profile does not say where the function starts (pprof's margin). */
#define MARGIN 5

static const char list_usage[] =
    "usage: cprof list [flags] REGEX FILE...\n"
    "\n"
    "Prints the source of the functions whose name matches REGEX (a POSIX extended\n"
    "regular expression) with flat and cum values per line, like 'go tool pprof -list'.\n"
    "Sources are found by the paths in the profile:\n"
    "  -source_path=DIRS  colon-separated directories to look for them in (and their\n"
    "                     parents; default: the current directory)\n"
    "  -trim_path=PREFIX  colon-separated prefixes to remove from the profile's paths\n";

/* The rows of one (function, file). */
struct group {
    uint32_t name, file;
    const report_line **rows;
    size_t n;
};

static int cmp_rows(const void *x, const void *y, void *arg)
{
    const report_input *in = arg;
    const report_line *a = *(const report_line *const *)x, *b = *(const report_line *const *)y;
    int c = strcmp(report_name(in, a->name), report_name(in, b->name));
    if (!c)
        c = strcmp(report_file(in, a->file), report_file(in, b->file));
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* The line rows of matching functions, sorted by name, file, line. */
static const report_line **matching_rows(report_input *in, const report_lines *l, regex_t *re,
                                         size_t *n)
{
    const report_line **rows = calloc(l->n + 1, sizeof *rows);
    if (!rows)
        return NULL;
    *n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const report_line *r = &l->rows[i];
        if ((r->flat || r->cum) && regexec(re, report_name(in, r->name), 0, NULL, 0) == 0)
            rows[(*n)++] = r;
    }
    qsort_r(rows, *n, sizeof *rows, cmp_rows, in);
    return rows;
}

static void print_row(const report_input *in, int64_t flat, int64_t cum, long lineno,
                      const char *text)
{
    char f[64] = ".", c[64] = ".";
    if (flat)
        report_fmt(f, sizeof f, in, flat);
    if (cum)
        report_fmt(c, sizeof c, in, cum);
    printf("%10s %10s %6ld:%s\n", f, c, lineno, text);
}

/* The source lines around the group's rows; the rows alone, with a note,
 * when the file cannot be read. */
static void print_lines(const report_input *in, struct source_reader *src, const struct group *g)
{
    const char *path = report_file(in, g->file);
    const char *err = source_error(src, path);
    if (err) {
        printf(" Error: %s\n", err);
        for (size_t i = 0; i < g->n; i++)
            print_row(in, g->rows[i]->flat, g->rows[i]->cum, g->rows[i]->line, "");
        return;
    }
    /* From where the function starts when the profile says, else a margin
     * above the first line with samples; to a margin below the last. */
    long start = LONG_MAX, end = g->rows[g->n - 1]->line + MARGIN;
    for (size_t i = 0; i < g->n; i++) {
        const report_line *r = g->rows[i];
        long from = r->start_line > 0 ? r->start_line : (long)r->line - MARGIN;
        if (from < start)
            start = from;
    }
    if (start < 1)
        start = 1;
    size_t r = 0;
    for (long ln = start; ln <= end; ln++) {
        const char *text = source_line(src, path, ln);
        if (!text)
            break; /* past the end of the file: pprof stops there too */
        int64_t flat = 0, cum = 0;
        for (; r < g->n && g->rows[r]->line <= ln; r++)
            if (g->rows[r]->line == ln) {
                flat += g->rows[r]->flat;
                cum += g->rows[r]->cum;
            }
        print_row(in, flat, cum, ln, text);
    }
}

static void print_group(const report_input *in, struct source_reader *src, const struct group *g)
{
    int64_t flat = 0, cum = 0;
    for (size_t i = 0; i < g->n; i++) {
        flat += g->rows[i]->flat;
        cum += g->rows[i]->cum;
    }
    char f[64], c[64], pct[32];
    report_format_percent(pct, sizeof pct, cum, in->total);
    printf("ROUTINE ======================== %s in %s\n", report_name(in, g->name),
           source_shown_path(src, report_file(in, g->file)));
    printf("%10s %10s (flat, cum) %s of Total\n", report_fmt(f, sizeof f, in, flat),
           report_fmt(c, sizeof c, in, cum), pct);
    print_lines(in, src, g);
}

/* Walks the sorted rows one function at a time, then one file at a time. */
static void print_listing(const report_input *in, struct source_reader *src,
                          const report_line **rows, size_t n)
{
    char total[64];
    printf("Total: %s\n", report_fmt(total, sizeof total, in, in->total));
    for (size_t i = 0; i < n;) {
        uint32_t name = rows[i]->name;
        size_t j = i;
        while (j < n && rows[j]->name == name)
            j++;
        if (rows[j - 1]->file == 0) /* "" sorts first: all rows are fileless */
            printf("No source information for %s\n", report_name(in, name));
        for (size_t k = i; k < j;) {
            struct group g = {name, rows[k]->file, &rows[k], 0};
            while (k < j && rows[k]->file == g.file) {
                k++;
                g.n++;
            }
            if (g.file != 0)
                print_group(in, src, &g);
        }
        i = j;
    }
}

static int run_list(report_input *in, const report_options *o, regex_t *re)
{
    report_lines lines = {0};
    size_t n = 0;
    const report_line **rows = NULL;
    struct source_reader *src = source_reader_new(o->source_path, o->trim_path);
    int rc = 1;
    if (!src || report_lines_build(in, &lines) || !(rows = matching_rows(in, &lines, re, &n))) {
        tool_error("list: out of memory");
    } else if (n == 0) {
        tool_error("list: no matches found for regexp: %s", o->args[0]);
    } else {
        print_listing(in, src, rows, n);
        rc = 0;
    }
    free(rows);
    report_lines_free(&lines);
    source_reader_free(src);
    return rc;
}

int cmd_list(int argc, char **argv)
{
    struct report_cmd cmd = {"list", list_usage, 2, NULL, NULL};
    report_options o;
    int rc = report_parse_args(argc, argv, &cmd, &o);
    if (rc) {
        report_args_free(&o);
        return rc == 1 ? 0 : 2;
    }
    regex_t re;
    if (regcomp(&re, o.args[0], REG_EXTENDED | REG_NOSUB) != 0) {
        tool_error("list: invalid regular expression: %s", o.args[0]);
        report_args_free(&o);
        return 2;
    }
    report_input in;
    if (report_open_or_say(&in, o.args + 1, o.nargs - 1, &o)) {
        regfree(&re);
        report_args_free(&o);
        return 1;
    }
    rc = run_list(&in, &o, &re);
    report_close(&in);
    regfree(&re);
    report_args_free(&o);
    return report_finish_stdout("list", rc);
}
