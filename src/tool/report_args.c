/*
 * report_args.c: the flags every report takes, parsed once for all of them
 * so that `cprof top`, `list`, `peek`, ... accept the same spellings and say
 * the same things about bad values.
 */
#include "report_args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

void report_common_usage(FILE *out)
{
    fprintf(out, "  -sample_index=S   which value: a sample type name (cpu, samples, alloc_space,\n"
                 "                    inuse_space, contentions, delay, ...) or its index\n"
                 "  -focus=RE         only samples with a function (or file) matching RE\n"
                 "  -ignore=RE        leave out samples with a function matching RE\n"
                 "  -hide=RE          remove functions matching RE from the stacks\n"
                 "  -show=RE          keep only functions matching RE in the stacks\n"
                 "  -tagfocus=[K=]V   only samples with label K matching V (a regular\n"
                 "                    expression, or N, LO:HI for numeric labels)\n"
                 "  -tagignore=[K=]V  leave out samples with such a label\n"
                 "  -nodecount=N      at most N functions (graph reports)\n"
                 "  -nodefraction=F   leave out functions under F of the total (default 0.005)\n"
                 "  -edgefraction=F   leave out calls under F of the total (default 0.001)\n"
                 "  -cum              sort by cumulative value\n"
                 "FILE may be a profile (gzip'd or not, cprof's or Go's) or an http:// URL of a\n"
                 "live endpoint, e.g. http://127.0.0.1:6060/debug/pprof/profile?seconds=5;\n"
                 "several files of the same kind are added up. Regular expressions are POSIX\n"
                 "extended ones.\n");
}

static int parse_count(const char *flag, const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno || v < 0) {
        tool_error("-%s wants a number (0 or more), not \"%s\"", flag, s);
        return -1;
    }
    *out = v;
    return 1;
}

static int parse_fraction(const char *flag, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !(v >= 0 && v <= 1)) {
        tool_error("-%s wants a number from 0 to 1, not \"%s\"", flag, s);
        return -1;
    }
    *out = v;
    return 1;
}

/* The string-valued flags and where they go. */
static const char **string_flag(report_options *o, int argc, char **argv, int *i,
                                const char **value)
{
    static const char *const names[] = {"sample_index", "focus",    "ignore",      "hide",
                                        "show",         "tagfocus", "tagignore",   "o",
                                        "output",       "base",     "source_path", "trim_path"};
    const char **slots[] = {&o->sample_index, &o->focus,    &o->ignore,      &o->hide,
                            &o->show,         &o->tagfocus, &o->tagignore,   &o->output,
                            &o->output,       &o->base,     &o->source_path, &o->trim_path};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((*value = tool_flag_value(argc, argv, i, names[k])))
            return slots[k];
    return NULL;
}

static int common_flag(int argc, char **argv, int *i, report_options *o)
{
    const char *v, **slot;
    if ((slot = string_flag(o, argc, argv, i, &v))) {
        *slot = v;
        return 1;
    }
    if ((v = tool_flag_value(argc, argv, i, "nodecount")))
        return parse_count("nodecount", v, &o->nodecount);
    if ((v = tool_flag_value(argc, argv, i, "n")))
        return parse_count("n", v, &o->nodecount);
    if ((v = tool_flag_value(argc, argv, i, "nodefraction")))
        return parse_fraction("nodefraction", v, &o->nodefraction);
    if ((v = tool_flag_value(argc, argv, i, "edgefraction")))
        return parse_fraction("edgefraction", v, &o->edgefraction);
    return tool_flag_bool(argv, *i, "cum", &o->cum);
}

static int one_flag(int argc, char **argv, int *i, const struct report_cmd *cmd, report_options *o)
{
    int rc = cmd->extra ? cmd->extra(argc, argv, i, cmd->ctx) : 0;
    if (rc == 0)
        rc = common_flag(argc, argv, i, o);
    if (rc == 0) {
        tool_error("%s: unknown flag %s (see 'cprof %s -h')", cmd->name, argv[*i], cmd->name);
        return -1;
    }
    return rc;
}

static void usage(FILE *out, const struct report_cmd *cmd)
{
    fprintf(out, "%s\nFlags every report takes:\n", cmd->usage);
    report_common_usage(out);
}

int report_parse_args(int argc, char **argv, const struct report_cmd *cmd, report_options *o)
{
    memset(o, 0, sizeof *o);
    o->nodecount = -1;
    o->nodefraction = o->edgefraction = -1;
    o->args = calloc((size_t)argc + 1, sizeof *o->args);
    if (!o->args) {
        tool_error("out of memory");
        return 2;
    }
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            o->args[o->nargs++] = argv[i];
        } else if (!strcmp(a, "--")) {
            only_args = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "-help") || !strcmp(a, "--help")) {
            usage(stdout, cmd);
            return 1;
        } else if (one_flag(argc, argv, &i, cmd, o) < 0) {
            return 2;
        }
    }
    if (o->nargs < cmd->min_args) {
        tool_error("%s: %s (see 'cprof %s -h')", cmd->name,
                   o->nargs ? "not enough arguments" : "no profile given", cmd->name);
        return 2;
    }
    return 0;
}

void report_args_free(report_options *o)
{
    free(o->args);
    o->args = NULL;
}

int report_open_or_say(report_input *in, char **paths, size_t n, const report_options *o)
{
    char err[512];
    if (report_open_opts(in, paths, n, o, err, sizeof err) == 0)
        return 0;
    tool_error("%s", err);
    report_close(in);
    return 1;
}

int report_finish_stdout(const char *cmd, int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        tool_error("%s: writing the report failed", cmd);
        return 1;
    }
    return rc;
}
