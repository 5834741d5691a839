/*
 * main.c: the `cprof` command's entry point. Looks the subcommand up in one
 * table and hands it the rest of argv. Also the small flag helpers every
 * subcommand shares (Go's spelling: -flag=value, --flag=value, -flag value).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

struct command {
    const char *name;
    cprof_cmd_fn run;
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "run a program with profiling on: cprof run [flags] -- PROGRAM [ARGS...]"},
    {"top", cmd_top, "print the functions with the most samples: cprof top [flags] FILE"},
    {"benchstat", cmd_benchstat,
     "compare benchmark results (Go's format): cprof benchstat OLD [NEW...]"},
    {"doctor", cmd_doctor, "check the machine and a program for profiling: cprof doctor [PROGRAM]"},
    {"trace", cmd_trace, "read an execution trace: cprof trace summary|pprof|export FILE"},
    {"list", cmd_list, "source lines of functions with their values: cprof list REGEX FILE"},
    {"peek", cmd_peek, "callers and callees of functions: cprof peek REGEX FILE"},
    {"flame", cmd_flame, "interactive SVG flame graph: cprof flame -o flame.svg FILE"},
    {"folded", cmd_folded, "folded stacks for flamegraph.pl and speedscope: cprof folded FILE"},
    {"dot", cmd_dot, "call graph through Graphviz: cprof dot -o graph.svg FILE"},
    {"diff", cmd_diff, "what changed between two profiles: cprof diff -base OLD NEW"},
    {"explain", cmd_explain, "a short Markdown report of what to fix: cprof explain FILE"},
    {"web", cmd_web, "web UI for profiles and a trace: cprof web [-http=127.0.0.1:8080] FILE..."},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cprof COMMAND [flags] [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'cprof COMMAND -h' shows a command's flags; 'cprof version' its version.\n");
}

void tool_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Returns the flag's name part of argv[i] ("-x=1" → "x=1"), or NULL if it is not a flag. */
static const char *flag_body(const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return NULL;
    arg++;
    if (arg[0] == '-')
        arg++;
    return arg;
}

const char *tool_flag_value(int argc, char **argv, int *i, const char *name)
{
    const char *body = flag_body(argv[*i]);
    size_t n = strlen(name);
    if (!body || strncmp(body, name, n) != 0)
        return NULL;
    if (body[n] == '=')
        return body + n + 1;
    if (body[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        tool_error("flag -%s needs a value", name);
        exit(2);
    }
    (*i)++;
    return argv[*i];
}

int tool_flag_bool(char **argv, int i, const char *name, int *value)
{
    const char *body = flag_body(argv[i]);
    size_t n = strlen(name);
    if (!body || strncmp(body, name, n) != 0)
        return 0;
    if (body[n] == '\0') {
        *value = 1;
        return 1;
    }
    if (body[n] != '=')
        return 0;
    const char *v = body + n + 1;
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *value = 1;
        return 1;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *value = 0;
        return 1;
    }
    tool_error("flag -%s takes true or false, not \"%s\"", name, v);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "version") || !strcmp(name, "-version") || !strcmp(name, "--version")) {
        printf("cprof %s\n", CPROF_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    tool_error("unknown command \"%s\" (try 'cprof help')", name);
    return 2;
}
