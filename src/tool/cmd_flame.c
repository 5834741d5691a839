/*
 * cmd_flame.c: `cprof flame -o flame.svg FILE...`, an interactive SVG flame
 * graph (svg.c), and with -diff -base OLD a differential one: widths from
 * FILE, colours from the change since OLD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "report.h"
#include "report_args.h"
#include "tool.h"

static const char flame_usage[] =
    "usage: cprof flame [flags] -o flame.svg FILE...\n"
    "\n"
    "Writes a self-contained interactive SVG flame graph (click a frame to zoom,\n"
    "Escape or \"Reset Zoom\" to go back, type a regular expression in the search box\n"
    "to highlight functions; hover for name, value and share).\n"
    "  -o FILE      where to write it (default: standard output)\n"
    "  -diff        a differential flame graph against -base: widths from FILE,\n"
    "               red where the value grew, blue where it shrank\n"
    "  -base=OLD    the profile to compare with (also an http:// URL)\n"
    "  -title=TEXT  the graph's title\n";

struct flame_flags {
    int diff;
    const char *title;
};

static int flame_flag(int argc, char **argv, int *i, void *ctx)
{
    struct flame_flags *f = ctx;
    const char *v;
    if ((v = tool_flag_value(argc, argv, i, "title"))) {
        f->title = v;
        return 1;
    }
    return tool_flag_bool(argv, *i, "diff", &f->diff);
}

int flame_run(const report_options *o, int diff, const char *title)
{
    if (diff && !o->base) {
        tool_error("flame: -diff needs -base=OLD, the profile to compare with");
        return 2;
    }
    report_input in, base;
    int have_base = 0, rc = 1;
    if (report_open_or_say(&in, o->args, o->nargs, o))
        return 1;
    if (diff) {
        char *bp[1] = {(char *)o->base};
        if (report_open_or_say(&base, bp, 1, o)) {
            report_close(&in);
            return 1;
        }
        have_base = 1;
    }
    report_tree t = {0};
    if (have_base && strcmp(base.sample_type, in.sample_type)) {
        tool_error("flame: cannot compare %s (%s) with %s (%s): not the same kind of value",
                   o->base, base.sample_type, o->args[0], in.sample_type);
    } else if (report_tree_add_input(&t, &in, 0) ||
               (have_base && report_tree_add_input(&t, &base, 1))) {
        tool_error("flame: out of memory");
    } else {
        report_tree_sort(&t);
        char sub[256], total[64];
        snprintf(sub, sizeof sub, "Type: %s, total %s%s", in.sample_type,
                 report_fmt(total, sizeof total, &in, in.total),
                 diff ? "; red: grew since -base, blue: shrank" : "");
        struct flame_opts fo = {title  ? title
                                : diff ? "Differential Flame Graph"
                                       : "Flame Graph",
                                sub, in.sample_unit, diff};
        rc = flame_write_file("flame", o->output, &t, &fo);
    }
    report_tree_free(&t);
    if (have_base)
        report_close(&base);
    report_close(&in);
    return rc;
}

int cmd_flame(int argc, char **argv)
{
    struct flame_flags f = {0, NULL};
    struct report_cmd cmd = {"flame", flame_usage, 1, flame_flag, &f};
    report_options o;
    int rc = report_parse_args(argc, argv, &cmd, &o);
    if (rc == 0)
        rc = flame_run(&o, f.diff, f.title);
    else
        rc = rc == 1 ? 0 : 2;
    report_args_free(&o);
    return rc;
}
