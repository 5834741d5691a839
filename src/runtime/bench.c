/*
 * bench.c: owns the benchmark harness of cprof/bench.h: the registry, the
 * flags, the loop that scales b->n, the timer, and the result lines.
 *
 * It follows what Go's testing.B does, so that Go's tools and habits carry
 * over:
 * - Scaling: a run with n = 1 first; then, while a run lasted less than
 *   -benchtime, predict the n that would fill it from the last run's ns/op,
 *   ask for 20% more, grow at most 100x over the last n (a first run that
 *   was slow by accident must not make the next one enormous), at least one
 *   more, round up to 1, 2, 3 or 5 x 10^k (readable, and comparable across
 *   runs), and never above 1e9. The reported line is the last run's.
 * - -benchtime=Nx runs the benchmark once with n = N: exactly N iterations.
 *   (Go runs a probe with n = 1 first, to find sub-benchmarks; there are
 *   none here, and a benchmark that counts its calls can rely on N.)
 * - The timer runs while the benchmark function runs, minus what it stops;
 *   reset zeroes what was measured so far. -benchmem reads cprof's exact
 *   allocation counters when the timer starts and stops (see
 *   bench_heapcount.h); allocs/op and B/op are the totals divided by n,
 *   rounded down, as Go reports them.
 * - Output: the header lines (goos, goarch, pkg, cpu) before the first
 *   result, then "Name-CPUS<TAB>N<TAB>value unit..." with Go's field widths,
 *   then "PASS".
 *
 * Nothing here allocates between the timer's start and stop, so the
 * harness's own work never shows up in B/op.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_heapcount.h"
#include "cprof.h"
#include "cprof/bench.h"

#define MAX_METRICS 16
#define MAX_N       1000000000L /* Go's cap on b.N */

/* ---- Registry ------------------------------------------------------------------------ */

struct bench {
    char *name; /* "BenchmarkFoo" */
    cprof_bench_fn fn;
};

static struct bench *benches;
static size_t nbenches, capbenches;

/* "bench_search_slow" -> "BenchmarkSearchSlow"; "BenchmarkX" stays. Go
 * finds benchmarks by the name prefix; C has no reflection, so the name is
 * derived from the function's, in a way one can predict. */
static char *bench_name(const char *fn)
{
    if (strncmp(fn, "Benchmark", 9) == 0)
        return strdup(fn);
    if (strncmp(fn, "bench_", 6) == 0 && fn[6] != '\0')
        fn += 6;
    char *name = malloc(9 + strlen(fn) + 1);
    if (!name)
        return NULL;
    memcpy(name, "Benchmark", 9);
    char *out = name + 9;
    int upper = 1;
    for (; *fn; fn++) {
        if (*fn == '_') {
            upper = 1;
            continue;
        }
        *out++ = upper ? (char)toupper((unsigned char)*fn) : *fn;
        upper = 0;
    }
    *out = '\0';
    return name;
}

CPROF_API void cprof_bench_register(const char *function_name, cprof_bench_fn fn)
{
    if (nbenches == capbenches) {
        size_t cap = capbenches ? capbenches * 2 : 16;
        struct bench *grown = realloc(benches, cap * sizeof *grown);
        if (!grown)
            return;
        benches = grown;
        capbenches = cap;
    }
    char *name = bench_name(function_name);
    if (!name)
        return;
    benches[nbenches++] = (struct bench){name, fn};
}

/* ---- One run: the timer and the metrics ------------------------------------------------ */

struct metric {
    char unit[48];
    double value;
};

/* The benchmark sees only `b`, the first member; the rest is ours. */
struct run {
    cprof_b b;
    int timer_on;
    int benchmem;
    uint64_t start_ns, duration_ns;
    uint64_t start_allocs, start_bytes, net_allocs, net_bytes;
    struct metric metrics[MAX_METRICS];
    int nmetrics;
};

static struct run *run_of(cprof_b *b)
{
    return (struct run *)b;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

CPROF_API void cprof_b_start_timer(cprof_b *b)
{
    struct run *r = run_of(b);
    if (r->timer_on)
        return;
    if (r->benchmem)
        cprof__heap_count_read(&r->start_allocs, &r->start_bytes);
    r->timer_on = 1;
    r->start_ns = now_ns(); /* last: the clock read is what bounds the timed part */
}

CPROF_API void cprof_b_stop_timer(cprof_b *b)
{
    uint64_t t = now_ns(); /* first, for the same reason */
    struct run *r = run_of(b);
    if (!r->timer_on)
        return;
    r->duration_ns += t - r->start_ns;
    if (r->benchmem) {
        uint64_t allocs, bytes;
        cprof__heap_count_read(&allocs, &bytes);
        r->net_allocs += allocs - r->start_allocs;
        r->net_bytes += bytes - r->start_bytes;
    }
    r->timer_on = 0;
}

CPROF_API void cprof_b_reset_timer(cprof_b *b)
{
    struct run *r = run_of(b);
    if (r->timer_on) {
        if (r->benchmem)
            cprof__heap_count_read(&r->start_allocs, &r->start_bytes);
        r->start_ns = now_ns();
    }
    r->duration_ns = 0;
    r->net_allocs = r->net_bytes = 0;
    r->nmetrics = 0;
}

CPROF_API void cprof_b_report_metric(cprof_b *b, double value, const char *unit)
{
    struct run *r = run_of(b);
    /* A unit with a blank would break the line's "value unit" pairs for
     * every reader; Go panics on it too. */
    int bad = !unit || !*unit || strlen(unit) >= sizeof r->metrics[0].unit;
    for (const char *c = unit; !bad && *c; c++)
        bad = isspace((unsigned char)*c);
    if (bad) {
        fprintf(stderr,
                "cprof_b_report_metric: bad unit \"%s\" (empty, too long or with white "
                "space)\n",
                unit ? unit : "(null)");
        exit(2);
    }
    for (int i = 0; i < r->nmetrics; i++) {
        if (!strcmp(r->metrics[i].unit, unit)) {
            r->metrics[i].value = value;
            return;
        }
    }
    if (r->nmetrics == MAX_METRICS) {
        fprintf(stderr, "cprof_b_report_metric: more than %d metrics in one run\n", MAX_METRICS);
        exit(2);
    }
    strcpy(r->metrics[r->nmetrics].unit, unit);
    r->metrics[r->nmetrics].value = value;
    r->nmetrics++;
}

static const struct metric *metric_find(const struct run *r, const char *unit)
{
    for (int i = 0; i < r->nmetrics; i++)
        if (!strcmp(r->metrics[i].unit, unit))
            return &r->metrics[i];
    return NULL;
}

/* Go's runN: a fresh measurement around one call of the benchmark. */
static void run_n(struct run *r, cprof_bench_fn fn, long n)
{
    r->b.n = n;
    r->timer_on = 0;
    cprof_b_reset_timer(&r->b);
    cprof_b_start_timer(&r->b);
    fn(&r->b);
    cprof_b_stop_timer(&r->b);
}

/* ---- Flags ------------------------------------------------------------------------------ */

struct config {
    const char *prog;
    regex_t re;
    int have_re;
    uint64_t benchtime_ns; /* when benchtime_n == 0 */
    long benchtime_n;      /* -benchtime=Nx */
    long count;
    int benchmem;
    const char *cpuprofile, *memprofile;
    long memprofilerate;
};

/* A Go duration ("1s", "1.5s", "300ms", "2m30s", "10us", "0"); 0 if bad. */
static int parse_duration(const char *s, uint64_t *out)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    if (!strcmp(s, "0")) {
        *out = 0;
        return 1;
    }
    double total = 0;
    if (!*s)
        return 0;
    while (*s) {
        if (!isdigit((unsigned char)*s) && *s != '.')
            return 0;
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno)
            return 0;
        s = end;
        size_t best = 0, bestlen = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t len = strlen(units[i].name);
            /* longest match first: "ms" before "m", "ns" before... */
            if (len > bestlen && !strncmp(s, units[i].name, len)) {
                best = i;
                bestlen = len;
            }
        }
        if (!bestlen)
            return 0;
        total += v * units[best].ns;
        s += bestlen;
    }
    if (total > 1e18)
        return 0;
    *out = (uint64_t)total;
    return 1;
}

/* A whole number in [min, max]. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/* The flag's name if arg is -NAME[=V], --NAME[=V] or -test.NAME[=V] (what a
 * Go test binary accepts); its value after '=' into *value, or NULL. */
static int flag_split(const char *arg, char *name, size_t namesz, const char **value)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return 0;
    arg += arg[1] == '-' ? 2 : 1;
    if (!strncmp(arg, "test.", 5))
        arg += 5;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len == 0 || len >= namesz)
        return 0;
    memcpy(name, arg, len);
    name[len] = '\0';
    *value = eq ? eq + 1 : NULL;
    return 1;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [-bench=REGEX] [-benchtime=1s|Nx] [-count=N] [-benchmem]\n"
            "       [-cpuprofile=FILE] [-memprofile=FILE] [-memprofilerate=N]\n"
            "Runs the benchmarks whose name matches REGEX (none without -bench; -bench=. runs\n"
            "all) and prints one line per run in Go's benchmark format.\n",
            prog);
}

/* Returns -1 to run, or the exit status to return (0 for -h, 2 for a bad flag). */
static int parse_flags(struct config *c, int argc, char **argv)
{
    const char *bench = NULL;
    for (int i = 1; i < argc; i++) {
        char name[32];
        const char *value;
        if (!flag_split(argv[i], name, sizeof name, &value)) {
            fprintf(stderr,
                    "%s: unexpected argument \"%s\" (flags are -bench=REGEX, ...; try -h)\n",
                    c->prog, argv[i]);
            return 2;
        }
        if (!strcmp(name, "h") || !strcmp(name, "help")) {
            usage(stdout, c->prog);
            return 0;
        }
        if (!strcmp(name, "benchmem")) {
            if (!value || !strcmp(value, "true") || !strcmp(value, "1"))
                c->benchmem = 1;
            else if (!strcmp(value, "false") || !strcmp(value, "0"))
                c->benchmem = 0;
            else {
                fprintf(stderr, "%s: -benchmem takes true or false, not \"%s\"\n", c->prog, value);
                return 2;
            }
            continue;
        }
        static const char *const valued[] = {"bench",      "benchtime",  "count",
                                             "cpuprofile", "memprofile", "memprofilerate"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known |= !strcmp(name, valued[k]);
        if (!known) {
            fprintf(stderr, "%s: unknown flag -%s (try -h)\n", c->prog, name);
            return 2;
        }
        if (!value) { /* "-flag value", as Go's flag package also allows */
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: flag -%s needs a value\n", c->prog, name);
                return 2;
            }
            value = argv[++i];
        }
        if (!strcmp(name, "bench")) {
            bench = value;
        } else if (!strcmp(name, "benchtime")) {
            size_t len = strlen(value);
            if (len > 1 && value[len - 1] == 'x') {
                char digits[32];
                if (len - 1 >= sizeof digits) {
                    fprintf(stderr, "%s: -benchtime=%s: bad count\n", c->prog, value);
                    return 2;
                }
                memcpy(digits, value, len - 1);
                digits[len - 1] = '\0';
                if (!parse_long(digits, 1, LONG_MAX, &c->benchtime_n)) {
                    fprintf(stderr,
                            "%s: -benchtime=%s: the count before x must be a whole "
                            "number > 0\n",
                            c->prog, value);
                    return 2;
                }
            } else if (parse_duration(value, &c->benchtime_ns)) {
                c->benchtime_n = 0;
            } else {
                fprintf(stderr,
                        "%s: -benchtime=%s: want a duration (1s, 500ms) or a count (100x)\n",
                        c->prog, value);
                return 2;
            }
        } else if (!strcmp(name, "count")) {
            if (!parse_long(value, 1, INT_MAX, &c->count)) {
                fprintf(stderr, "%s: -count=%s: want a whole number > 0\n", c->prog, value);
                return 2;
            }
        } else if (!strcmp(name, "cpuprofile")) {
            c->cpuprofile = value;
        } else if (!strcmp(name, "memprofile")) {
            c->memprofile = value;
        } else if (!strcmp(name, "memprofilerate")) {
            if (!parse_long(value, 1, LONG_MAX, &c->memprofilerate)) {
                fprintf(stderr, "%s: -memprofilerate=%s: want a whole number > 0\n", c->prog,
                        value);
                return 2;
            }
        }
    }
    if (bench && *bench) {
        int rc = regcomp(&c->re, bench, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &c->re, msg, sizeof msg);
            fprintf(stderr, "%s: -bench=%s: bad regular expression: %s\n", c->prog, bench, msg);
            return 2;
        }
        c->have_re = 1;
    }
    return -1;
}

/* ---- Output ----------------------------------------------------------------------------- */

static const char *goarch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#else
    return "unknown";
#endif
}

/* The CPU's model name from /proc/cpuinfo, as Go prints it; "" if none. */
static void cpu_model(char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t len = strcspn(v, "\n");
        while (len && isspace((unsigned char)v[len - 1]))
            len--;
        snprintf(out, size, "%.*s", (int)len, v);
        break;
    }
    fclose(f);
}

/* Go's widths: the integer part in ten places, small values with four
 * significant digits, decimal points aligned down a column. */
static int format_value(char *out, size_t size, double x, const char *unit)
{
    double y = fabs(x);
    int width, prec;
    if (y == 0 || y >= 999.95)
        width = 10, prec = 0;
    else if (y >= 99.995)
        width = 12, prec = 1;
    else if (y >= 9.9995)
        width = 13, prec = 2;
    else if (y >= 0.99995)
        width = 14, prec = 3;
    else if (y >= 0.099995)
        width = 15, prec = 4;
    else if (y >= 0.0099995)
        width = 16, prec = 5;
    else if (y >= 0.00099995)
        width = 17, prec = 6;
    else
        width = 18, prec = 7;
    return snprintf(out, size, "%*.*f %s", width, prec, x, unit);
}

static int cmp_metric(const void *a, const void *b)
{
    return strcmp(((const struct metric *)a)->unit, ((const struct metric *)b)->unit);
}

static void print_result(const struct config *c, const char *name, int width, struct run *r, long n)
{
    char line[2048], field[128];
    size_t len = 0;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int w_ = snprintf(line + len, sizeof line - len, __VA_ARGS__);                             \
        if (w_ > 0)                                                                                \
            len = len + (size_t)w_ < sizeof line ? len + (size_t)w_ : sizeof line - 1;             \
    } while (0)
    APPEND("%-*s\t%8ld", width, name, n);
    const struct metric *m = metric_find(r, "ns/op");
    double ns = m ? m->value : (double)r->duration_ns / (double)n;
    if (ns != 0) {
        format_value(field, sizeof field, ns, "ns/op");
        APPEND("\t%s", field);
    }
    /* Other metrics sorted by unit, then the memory columns: Go's order. */
    struct metric extra[MAX_METRICS];
    int nextra = 0;
    for (int i = 0; i < r->nmetrics; i++) {
        const char *u = r->metrics[i].unit;
        if (!strcmp(u, "ns/op") || (c->benchmem && (!strcmp(u, "B/op") || !strcmp(u, "allocs/op"))))
            continue;
        extra[nextra++] = r->metrics[i];
    }
    qsort(extra, (size_t)nextra, sizeof extra[0], cmp_metric);
    for (int i = 0; i < nextra; i++) {
        format_value(field, sizeof field, extra[i].value, extra[i].unit);
        APPEND("\t%s", field);
    }
    if (c->benchmem) {
        const struct metric *mb = metric_find(r, "B/op"), *ma = metric_find(r, "allocs/op");
        long long bytes = mb ? (long long)mb->value : (long long)(r->net_bytes / (uint64_t)n);
        long long allocs = ma ? (long long)ma->value : (long long)(r->net_allocs / (uint64_t)n);
        APPEND("\t%8lld B/op\t%8lld allocs/op", bytes, allocs);
    }
#undef APPEND
    puts(line);
    fflush(stdout);
}

/* ---- The loop ---------------------------------------------------------------------------- */

/* The smallest of 1, 2, 3, 5 x 10^k that is >= n. */
static long round_up(long n)
{
    long base = 1;
    while (base <= n / 10)
        base *= 10;
    static const int steps[] = {1, 2, 3, 5, 10};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (n <= steps[i] * base)
            return steps[i] * base;
    return 10 * base;
}

/* One line's worth: scales n until a run lasts benchtime. Returns the n of
 * the run whose figures are in r. */
static long run_benchmark(const struct config *c, struct run *r, cprof_bench_fn fn)
{
    if (c->benchtime_n > 0) {
        run_n(r, fn, c->benchtime_n);
        return c->benchtime_n;
    }
    long n = 1;
    run_n(r, fn, n);
    while (r->duration_ns < c->benchtime_ns && n < MAX_N) {
        long last = n;
        double prev_ns = r->duration_ns > 0 ? (double)r->duration_ns : 1.0;
        double want = (double)c->benchtime_ns * (double)last / prev_ns;
        want += want / 5;
        if (want > 100.0 * (double)last)
            want = 100.0 * (double)last;
        if (want < (double)last + 1)
            want = (double)last + 1;
        if (want > (double)MAX_N)
            want = (double)MAX_N;
        n = round_up((long)ceil(want));
        if (n > MAX_N)
            n = MAX_N;
        run_n(r, fn, n);
    }
    return n;
}

/* The CPUs this process may run on: Go's default GOMAXPROCS. */
static int cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return 1;
}

/* Says once, before the first result, if -benchmem cannot count because the
 * program's malloc is not cprof's (a static build with its own allocator). */
static void check_counting(const char *prog)
{
    uint64_t a0, b0, a1, b1;
    void *(*volatile alloc)(size_t) = malloc; /* volatile: keep the pair */
    cprof__heap_count_read(&a0, &b0);
    void *p = alloc(24);
    cprof__heap_count_read(&a1, &b1);
    free(p);
    if (a1 == a0)
        fprintf(stderr,
                "%s: -benchmem: allocations do not go through cprof's malloc; B/op and "
                "allocs/op will read 0\n",
                prog);
}

CPROF_API int cprof_bench_main(int argc, char **argv)
{
    struct config c = {0};
    const char *slash = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    c.prog = slash ? slash + 1 : (argc > 0 && argv[0] ? argv[0] : "bench");
    c.benchtime_ns = 1000000000u;
    c.count = 1;
    c.memprofilerate = 512 * 1024;
    int rc = parse_flags(&c, argc, argv);
    if (rc >= 0)
        return rc;
    if (!c.have_re) /* like `go test` without -bench: no benchmark runs */
        return 0;

    int ncpu = cpu_count();
    size_t nrun = 0;
    char **names = calloc(nbenches ? nbenches : 1, sizeof *names);
    if (!names) {
        fprintf(stderr, "%s: out of memory\n", c.prog);
        return 1;
    }
    int width = 0;
    for (size_t i = 0; i < nbenches; i++) {
        if (regexec(&c.re, benches[i].name, 0, NULL, 0) != 0)
            continue;
        char buf[512];
        if (ncpu != 1)
            snprintf(buf, sizeof buf, "%s-%d", benches[i].name, ncpu);
        else
            snprintf(buf, sizeof buf, "%s", benches[i].name);
        names[i] = strdup(buf);
        if (!names[i])
            continue; /* out of memory: this one cannot run */
        if ((int)strlen(buf) > width)
            width = (int)strlen(buf);
        nrun++;
    }
    regfree(&c.re);
    if (nrun == 0) {
        free(names);
        return 0;
    }

    char model[256];
    cpu_model(model, sizeof model);
    printf("goos: linux\ngoarch: %s\npkg: %s\n", goarch(), c.prog);
    if (model[0])
        printf("cpu: %s\n", model);
    fflush(stdout);

    int status = 0;
    if (c.benchmem) {
        cprof__heap_count_start();
        check_counting(c.prog);
    }
    /* The profiles cover the benchmark runs, not the setup above. */
    if (c.memprofile && cprof_heap_set_rate(c.memprofilerate) < 0) {
        fprintf(stderr, "%s: -memprofile: %s\n", c.prog, cprof_last_error());
        status = 1;
        goto out;
    }
    if (c.cpuprofile && cprof_cpu_start(c.cpuprofile, 0) < 0) {
        fprintf(stderr, "%s: -cpuprofile: %s\n", c.prog, cprof_last_error());
        status = 1;
        goto out;
    }

    struct run *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "%s: out of memory\n", c.prog);
        status = 1;
        goto out;
    }
    r->benchmem = c.benchmem;
    for (size_t i = 0; i < nbenches; i++) {
        if (!names[i])
            continue;
        for (long k = 0; k < c.count; k++) {
            long n = run_benchmark(&c, r, benches[i].fn);
            print_result(&c, names[i], width, r, n);
        }
    }
    free(r);

    if (c.cpuprofile && cprof_cpu_stop() < 0) {
        fprintf(stderr, "%s: -cpuprofile: %s\n", c.prog, cprof_last_error());
        status = 1;
    }
    if (c.memprofile) {
        if (cprof_heap_write(c.memprofile) < 0) {
            fprintf(stderr, "%s: -memprofile: %s\n", c.prog, cprof_last_error());
            status = 1;
        }
        cprof_heap_set_rate(0);
    }
    if (status == 0)
        puts("PASS");
out:
    if (c.benchmem)
        cprof__heap_count_stop();
    for (size_t i = 0; i < nbenches; i++)
        free(names[i]);
    free(names);
    fflush(stdout);
    return status;
}
