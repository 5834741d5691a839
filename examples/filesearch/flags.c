/*
 * flags.c: Go-style flag parsing for the server and the load generator.
 * Every error is one line on stderr, "PROG: ..." naming the flag and the problem.
 */
#include "flags.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct flag *find_flag(const struct flag *flags, size_t nflags, const char *name,
                                    size_t len)
{
    for (size_t i = 0; i < nflags; i++)
        if (strlen(flags[i].name) == len && memcmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

static bool parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* "1.5s", "500ms", "2m", "1h" → milliseconds. A unit is required, as in Go. */
static bool parse_duration_ms(const char *s, long *out)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}};
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v < 0)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            double ms = v * units[i].ms;
            if (ms > (double)LONG_MAX)
                return false;
            *out = (long)ms;
            return true;
        }
    }
    return false;
}

static bool parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

static bool set_value(const char *prog, const struct flag *f, const char *value)
{
    long n;
    switch (f->type) {
    case FLAG_BOOL:
        if (parse_bool(value, f->value))
            return true;
        fprintf(stderr, "%s: flag -%s takes true or false, not \"%s\"\n", prog, f->name, value);
        return false;
    case FLAG_STRING:
        if (value[0] == '\0') {
            fprintf(stderr, "%s: flag -%s needs a non-empty value\n", prog, f->name);
            return false;
        }
        *(const char **)f->value = value;
        return true;
    case FLAG_INT:
        if (!parse_long(value, &n)) {
            fprintf(stderr, "%s: flag -%s takes an integer, not \"%s\"\n", prog, f->name, value);
            return false;
        }
        if (n < f->min || n > f->max) {
            fprintf(stderr, "%s: flag -%s must be between %ld and %ld, not %ld\n", prog, f->name,
                    f->min, f->max, n);
            return false;
        }
        *(long *)f->value = n;
        return true;
    case FLAG_DURATION:
        if (!parse_duration_ms(value, &n)) {
            fprintf(stderr, "%s: flag -%s takes a duration such as 10s, 500ms or 2m, not \"%s\"\n",
                    prog, f->name, value);
            return false;
        }
        if (n < f->min || n > f->max) {
            fprintf(stderr, "%s: flag -%s must be between %ldms and %ldms\n", prog, f->name, f->min,
                    f->max);
            return false;
        }
        *(long *)f->value = n;
        return true;
    }
    return false;
}

enum flags_result flags_parse(const char *prog, const struct flag *flags, size_t nflags, int argc,
                              char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0') {
            fprintf(stderr, "%s: unexpected argument \"%s\" (flags only; see -help)\n", prog, arg);
            return FLAGS_BAD;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if ((len == 1 && name[0] == 'h') || (len == 4 && memcmp(name, "help", 4) == 0))
            return FLAGS_HELP;

        const struct flag *f = find_flag(flags, nflags, name, len);
        if (f == NULL) {
            fprintf(stderr, "%s: unknown flag -%.*s (see -help)\n", prog, (int)len, name);
            return FLAGS_BAD;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL && f->type == FLAG_BOOL)
            value = "true";
        if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: flag -%s needs a value\n", prog, f->name);
                return FLAGS_BAD;
            }
            value = argv[++i];
        }
        if (!set_value(prog, f, value))
            return FLAGS_BAD;
    }
    return FLAGS_OK;
}

void flags_print_usage(FILE *out, const struct flag *flags, size_t nflags)
{
    for (size_t i = 0; i < nflags; i++) {
        char left[64];
        if (flags[i].arg)
            snprintf(left, sizeof left, "-%s=%s", flags[i].name, flags[i].arg);
        else
            snprintf(left, sizeof left, "-%s", flags[i].name);
        fprintf(out, "  %-22s %s\n", left, flags[i].usage);
    }
}
