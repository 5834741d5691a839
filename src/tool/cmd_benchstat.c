/*
 * cmd_benchstat.c: `cprof benchstat [flags] FILE...`, before/after statistics
 * over benchmark results in Go's format (what cprof/bench.h programs and
 * `go test -bench` print), the table Go's benchstat prints.
 *
 * Owns the reader of Go's benchmark format, the statistics and the table.
 *
 * Statistics, per benchmark, unit and file:
 * - the median, with a 95% confidence interval that assumes nothing about
 *   the distribution: the interval between the k-th smallest and the k-th
 *   largest sample holds the median with probability 1 - 2 P(B <= k-1),
 *   B ~ Binomial(n, 1/2); the widest-k interval that reaches 95% is printed
 *   as "± x%" of the median. Below 6 samples no such interval exists, and
 *   the table says "± ∞" (with a footnote), as benchstat does.
 * - against the first file: the change of the median in percent, and the
 *   two-sided p-value of the Mann-Whitney U test (rank-sum test): exact for
 *   up to 50 samples a side, from the null distribution of the rank sum
 *   enumerated by dynamic programming over the pooled, ranked samples (ties
 *   get mid-ranks, so the distribution is the exact one given the ties);
 *   above that, the normal approximation with the tie correction of the
 *   variance and a continuity correction. The p-value counts every
 *   arrangement whose rank sum lies at least as far from its mean as the
 *   observed one. Changes with p >= alpha (0.05) print as "~": not
 *   significant.
 * - a geomean row over the benchmarks present in every file, when there is
 *   more than one.
 *
 * Units: ns/op is shown as sec/op and MB/s as B/s, with SI prefixes (B/op
 * and B/s with binary ones), as benchstat shows them.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#define EXACT_MAX 50 /* per side: the exact test's limit */

static const char benchstat_usage[] =
    "usage: cprof benchstat [-alpha=A] OLD [NEW...]\n"
    "\n"
    "Summarises benchmark results in Go's format (cprof/bench.h programs, go test -bench),\n"
    "one file per configuration, best with -count=10 or more: per benchmark and unit the\n"
    "median with a 95% confidence interval, and for every file after the first the change\n"
    "against the first with the p-value of a Mann-Whitney U test; '~' when p >= alpha.\n"
    "  -alpha=A   significance level (default 0.05)\n";

/* ---- Small helpers -------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        tool_error("benchstat: out of memory");
        exit(1);
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/* A list of distinct strings, in order of first appearance. */
struct strlist {
    char **items;
    size_t n, cap;
};

static size_t strlist_intern(struct strlist *l, const char *s)
{
    for (size_t i = l->n; i-- > 0;) /* recent first: results come in runs */
        if (!strcmp(l->items[i], s))
            return i;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n] = xstrdup(s);
    return l->n++;
}

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

/* Display width of UTF-8 text: one column per code point. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* ---- Reading Go's benchmark format ---------------------------------------------- */

/* One measurement: a value of a unit, of a benchmark, in a file. */
struct obs {
    uint32_t unit, bench, file;
    double value;
};

struct data {
    struct strlist files;
    struct strlist benches; /* "pkg\nName" */
    struct strlist units;
    struct obs *obs;
    size_t nobs, capobs;
    /* Config lines ("goos: linux") that every file agrees on. */
    struct strlist cfg_keys, cfg_values;
    unsigned char *cfg_common; /* per key: still the same in every file so far */
    size_t *cfg_seen;          /* per key: in how many files */
    size_t npkgs;              /* distinct pkg: values of the benchmarks */
};

static void add_obs(struct data *d, size_t unit, size_t bench, size_t file, double v)
{
    if (d->nobs == d->capobs) {
        d->capobs = d->capobs ? d->capobs * 2 : 256;
        d->obs = xrealloc(d->obs, d->capobs * sizeof *d->obs);
    }
    d->obs[d->nobs++] = (struct obs){(uint32_t)unit, (uint32_t)bench, (uint32_t)file, v};
}

/* Go's rule for a configuration line: "key: value", the key starting with
 * a lower-case letter, without blanks or upper-case letters. */
static int config_line(char *line, char **key, char **value)
{
    if (!islower((unsigned char)line[0]))
        return 0;
    char *c = line;
    while (*c && *c != ':') {
        if (isspace((unsigned char)*c) || isupper((unsigned char)*c))
            return 0;
        c++;
    }
    if (*c != ':' || (c[1] != '\0' && c[1] != ' ' && c[1] != '\t'))
        return 0;
    *c = '\0';
    *key = line;
    char *v = c + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t len = strlen(v);
    while (len && isspace((unsigned char)v[len - 1]))
        v[--len] = '\0';
    *value = v;
    return 1;
}

/* The per-file config as it stands at a line (Go's format lets a file
 * change, e.g., pkg: between groups of results). */
struct file_cfg {
    struct strlist keys, values;
};

static void file_cfg_set(struct file_cfg *fc, const char *key, const char *value)
{
    size_t n = fc->keys.n;
    size_t i = strlist_intern(&fc->keys, key);
    if (i == n) {
        if (fc->values.n == fc->values.cap) {
            fc->values.cap = fc->values.cap ? fc->values.cap * 2 : 16;
            fc->values.items = xrealloc(fc->values.items, fc->values.cap * sizeof(char *));
        }
        fc->values.items[fc->values.n++] = xstrdup(value);
    } else {
        free(fc->values.items[i]);
        fc->values.items[i] = xstrdup(value);
    }
}

static const char *file_cfg_get(const struct file_cfg *fc, const char *key)
{
    for (size_t i = 0; i < fc->keys.n; i++)
        if (!strcmp(fc->keys.items[i], key))
            return fc->values.items[i];
    return "";
}

/* Folds one file's config lines into what all files share. */
static void merge_config(struct data *d, const struct file_cfg *fc, size_t nfile)
{
    for (size_t i = 0; i < fc->keys.n; i++) {
        if (!strcmp(fc->keys.items[i], "pkg"))
            continue; /* part of each benchmark's identity instead */
        size_t n = d->cfg_keys.n;
        size_t k = strlist_intern(&d->cfg_keys, fc->keys.items[i]);
        if (k == n) {
            d->cfg_common = xrealloc(d->cfg_common, d->cfg_keys.cap);
            d->cfg_seen = xrealloc(d->cfg_seen, d->cfg_keys.cap * sizeof *d->cfg_seen);
            d->cfg_values.items = xrealloc(d->cfg_values.items, d->cfg_keys.cap * sizeof(char *));
            d->cfg_values.items[k] = xstrdup(fc->values.items[i]);
            d->cfg_values.n = d->cfg_keys.n;
            d->cfg_common[k] = nfile == 0;
            d->cfg_seen[k] = 0;
        } else if (strcmp(d->cfg_values.items[k], fc->values.items[i]) != 0) {
            d->cfg_common[k] = 0;
        }
        d->cfg_seen[k]++;
    }
}

/* Reads one file. Returns 0, or -1 after printing why (cannot read, or no
 * results at all). Malformed result lines are skipped, and reported in one
 * line per file, as benchstat carries on past them. */
static int read_file(struct data *d, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        tool_error("benchstat: %s: %s", path, strerror(errno));
        return -1;
    }
    size_t file = strlist_intern(&d->files, path);
    struct file_cfg fc = {0};
    char *line = NULL, *name = NULL;
    size_t linecap = 0, results = 0, bad = 0, lineno = 0, first_bad = 0;
    char why[160] = "";
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)len)) { /* binary data */
            if (!bad++) {
                first_bad = lineno;
                snprintf(why, sizeof why, "not text");
            }
            continue;
        }
        char *key, *value;
        if (config_line(line, &key, &value)) {
            file_cfg_set(&fc, key, value);
            continue;
        }
        if (strncmp(line, "Benchmark", 9) != 0 || islower((unsigned char)line[9]))
            continue; /* commentary: PASS, ok, log output */
        char *save, *fields[2];
        fields[0] = strtok_r(line, " \t\r\n", &save);
        fields[1] = strtok_r(NULL, " \t\r\n", &save);
        if (!fields[1])
            continue; /* a name alone: what go test -v prints before running */
        char *end;
        errno = 0;
        long long iters = strtoll(fields[1], &end, 10);
        if (*end || errno || iters <= 0) {
            if (!bad++) {
                first_bad = lineno;
                snprintf(why, sizeof why, "bad iteration count \"%.40s\"", fields[1]);
            }
            continue;
        }
        const char *pkg = file_cfg_get(&fc, "pkg");
        size_t nlen = strlen(pkg) + 1 + strlen(fields[0] + 9) + 1;
        name = xrealloc(name, nlen);
        snprintf(name, nlen, "%s\n%s", pkg, fields[0] + 9);
        /* Check the whole line before taking any of it. */
        struct {
            char *v, *u;
        } pairs[64];
        size_t npairs = 0;
        int ok = 1;
        char *v;
        while (ok && (v = strtok_r(NULL, " \t\r\n", &save))) {
            char *u = strtok_r(NULL, " \t\r\n", &save);
            errno = 0;
            double x = strtod(v, &end);
            if (!u || *end || errno || !isfinite(x) || npairs == sizeof pairs / sizeof pairs[0]) {
                if (!bad++) {
                    first_bad = lineno;
                    snprintf(why, sizeof why, "%s",
                             !u                                         ? "value without a unit"
                             : npairs == sizeof pairs / sizeof pairs[0] ? "too many values"
                                                                        : "bad value");
                }
                ok = 0;
                break;
            }
            pairs[npairs].v = v;
            pairs[npairs].u = u;
            npairs++;
        }
        if (!ok || npairs == 0)
            continue;
        size_t bench = strlist_intern(&d->benches, name);
        for (size_t i = 0; i < npairs; i++) {
            double x = strtod(pairs[i].v, NULL);
            const char *u = pairs[i].u;
            if (!strcmp(u, "ns/op")) {
                x *= 1e-9;
                u = "sec/op";
            } else if (!strcmp(u, "MB/s")) {
                x *= 1e6;
                u = "B/s";
            }
            add_obs(d, strlist_intern(&d->units, u), bench, file, x);
        }
        results++;
    }
    int read_err = ferror(f);
    fclose(f);
    free(line);
    free(name);
    merge_config(d, &fc, file);
    strlist_free(&fc.keys);
    strlist_free(&fc.values);
    if (read_err) {
        tool_error("benchstat: %s: read error", path);
        return -1;
    }
    if (results == 0) {
        if (bad)
            tool_error("benchstat: %s:%zu: %s; no benchmark results in the file", path, first_bad,
                       why);
        else
            tool_error("benchstat: %s: no benchmark results (lines 'BenchmarkName N value unit "
                       "...')",
                       path);
        return -1;
    }
    if (bad)
        fprintf(stderr, "cprof: benchstat: %s:%zu: %s (%zu malformed line%s skipped)\n", path,
                first_bad, why, bad, bad == 1 ? "" : "s");
    return 0;
}

/* ---- Statistics ----------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorted in place. */
static double median(const double *v, size_t n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* P(B <= k) for B ~ Binomial(n, 1/2). */
static double binom_half_cdf(size_t n, size_t k)
{
    double sum = 0;
    for (size_t i = 0; i <= k && i <= n; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                   (double)n * log(2.0));
    return sum;
}

/* The distribution-free confidence interval of the median of sorted v:
 * [v[k-1], v[n-k]] for the largest k whose coverage reaches `level`.
 * Returns 0 if no interval reaches it (too few samples). */
static int median_ci(const double *v, size_t n, double level, double *lo, double *hi)
{
    size_t best = 0;
    for (size_t k = 1; k <= n / 2 + (n % 2); k++) {
        double coverage = 1 - 2 * binom_half_cdf(n, k - 1);
        if (coverage < level)
            break;
        best = k;
    }
    if (!best)
        return 0;
    *lo = v[best - 1];
    *hi = v[n - best];
    return 1;
}

/* The two-sided p-value of the Mann-Whitney U test of x against y. */
static double mann_whitney_p(const double *x, size_t nx, const double *y, size_t ny)
{
    size_t n = nx + ny;
    struct item {
        double v;
        int from_x;
    } *all = xrealloc(NULL, n * sizeof *all);
    for (size_t i = 0; i < nx; i++)
        all[i] = (struct item){x[i], 1};
    for (size_t i = 0; i < ny; i++)
        all[nx + i] = (struct item){y[i], 0};
    /* Insertion sort: n is small in the exact case, and cheap enough beyond. */
    for (size_t i = 1; i < n; i++) {
        struct item t = all[i];
        size_t j = i;
        while (j > 0 && all[j - 1].v > t.v) {
            all[j] = all[j - 1];
            j--;
        }
        all[j] = t;
    }
    /* Twice the mid-ranks, integers: a tie group at 1-based positions i..j
     * has mid-rank (i+j)/2. */
    long *rank2 = xrealloc(NULL, n * sizeof *rank2);
    long observed = 0; /* twice x's rank sum */
    double tie_term = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && all[j + 1].v == all[i].v)
            j++;
        double t = (double)(j - i + 1);
        tie_term += t * t * t - t;
        for (size_t k = i; k <= j; k++) {
            rank2[k] = (long)(i + 1 + j + 1);
            if (all[k].from_x)
                observed += rank2[k];
        }
        i = j + 1;
    }
    long center = (long)(nx * (n + 1)); /* twice the rank sum's mean */
    long dev = labs(observed - center);
    double p;
    if (nx <= EXACT_MAX && ny <= EXACT_MAX) {
        /* ways[j][s]: how many j-subsets of the items seen so far have
         * doubled rank sum s. */
        long smax = 0;
        for (size_t i = 0; i < n; i++)
            smax += rank2[i];
        size_t width = (size_t)smax + 1;
        double *ways = xrealloc(NULL, (nx + 1) * width * sizeof *ways);
        memset(ways, 0, (nx + 1) * width * sizeof *ways);
        ways[0] = 1;
        long reach = 0; /* largest sum reachable so far */
        for (size_t i = 0; i < n; i++) {
            long w = rank2[i];
            reach += w;
            size_t jmax = i + 1 < nx ? i + 1 : nx;
            for (size_t j = jmax; j >= 1; j--) {
                double *to = ways + j * width;
                const double *from = ways + (j - 1) * width;
                for (long s = reach; s >= w; s--)
                    to[s] += from[s - w];
            }
        }
        double total = 0, tail = 0;
        const double *last = ways + nx * width;
        for (long s = 0; s <= smax; s++) {
            total += last[s];
            if (labs(s - center) >= dev)
                tail += last[s];
        }
        p = tail / total;
        free(ways);
    } else {
        double u = (double)observed / 2 - (double)nx * (double)(nx + 1) / 2;
        double mean = (double)nx * (double)ny / 2;
        double var = (double)nx * (double)ny / 12 *
                     ((double)(n + 1) - tie_term / ((double)n * (double)(n - 1)));
        if (var <= 0) {
            p = 1;
        } else {
            double z = (fabs(u - mean) - 0.5) / sqrt(var);
            p = z <= 0 ? 1 : erfc(z / sqrt(2.0));
        }
    }
    free(all);
    free(rank2);
    return p > 1 ? 1 : p;
}

/* ---- Formatting ------------------------------------------------------------------ */

/* x with 4 significant digits and a prefix: SI ("1.234m", "456.0µ"), or
 * binary above 1 for byte units ("1.500Ki"). */
static void format_scaled(char *out, size_t size, double x, int binary)
{
    static const char *const small[] = {"", "m", "µ", "n", "p"};
    static const char *const big_si[] = {"", "k", "M", "G", "T", "P"};
    static const char *const big_bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    double a = fabs(x);
    const char *prefix = "";
    if (a == 0) {
        snprintf(out, size, "0.000");
        return;
    }
    if (a >= 1 || (binary && a >= 1)) {
        double step = binary ? 1024 : 1000;
        size_t i = 0;
        while (a >= step * 0.99995 && i + 1 < 6) {
            a /= step;
            x /= step;
            i++;
        }
        prefix = binary ? big_bin[i] : big_si[i];
    } else {
        size_t i = 0;
        while (a < 0.99995 && i + 1 < 5) {
            a *= 1000;
            x *= 1000;
            i++;
        }
        prefix = small[i];
    }
    int prec = a >= 99.995 ? 1 : a >= 9.9995 ? 2 : 3;
    snprintf(out, size, "%.*f%s", prec, x, prefix);
}

static int binary_unit(const char *unit)
{
    return unit[0] == 'B' && unit[1] == '/';
}

/* ---- The table ------------------------------------------------------------------ */

struct table {
    char **cells; /* rows x cols */
    size_t rows, cols, cap;
};

static void table_add(struct table *t, size_t row, size_t col, const char *text)
{
    if (row >= t->rows) {
        size_t need = (row + 1) * t->cols;
        if (need > t->cap) {
            size_t cap = t->cap ? t->cap : 64;
            while (cap < need)
                cap *= 2;
            t->cells = xrealloc(t->cells, cap * sizeof *t->cells);
            memset(t->cells + t->cap, 0, (cap - t->cap) * sizeof *t->cells);
            t->cap = cap;
        }
        t->rows = row + 1;
    }
    free(t->cells[row * t->cols + col]);
    t->cells[row * t->cols + col] = xstrdup(text);
}

/* A row with only its first cell set ("pkg: x") runs across the table and
 * does not widen the first column. */
static int table_row_spans(const struct table *t, size_t r)
{
    for (size_t c = 1; c < t->cols; c++)
        if (t->cells[r * t->cols + c])
            return 0;
    return 1;
}

static void table_print(struct table *t)
{
    size_t *width = xrealloc(NULL, t->cols * sizeof *width);
    for (size_t c = 0; c < t->cols; c++) {
        width[c] = 0;
        for (size_t r = 0; r < t->rows; r++) {
            if (c == 0 && table_row_spans(t, r))
                continue;
            const char *s = t->cells[r * t->cols + c];
            if (s && text_width(s) > width[c])
                width[c] = text_width(s);
        }
    }
    for (size_t r = 0; r < t->rows; r++) {
        size_t last = 0;
        for (size_t c = 0; c < t->cols; c++)
            if (t->cells[r * t->cols + c])
                last = c;
        for (size_t c = 0; c <= last; c++) {
            const char *s = t->cells[r * t->cols + c];
            if (!s)
                s = "";
            fputs(s, stdout);
            if (c < last)
                printf("%*s", (int)(width[c] - text_width(s) + 2), "");
        }
        putchar('\n');
    }
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(width);
    memset(t, 0, sizeof *t);
}

static int cmp_obs(const void *a, const void *b)
{
    const struct obs *x = a, *y = b;
    if (x->unit != y->unit)
        return x->unit < y->unit ? -1 : 1;
    if (x->bench != y->bench)
        return x->bench < y->bench ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return 0; /* qsort is not stable, but samples of a cell are sorted later anyway */
}

/* The samples of one (unit, bench): per file, sorted. */
struct cell {
    double *v;
    size_t n;
    double med;
};

/* One table: a unit. Returns whether any CI was infinite (for the footnote). */
static void print_unit(struct data *d, size_t unit, const struct obs *obs, size_t nobs,
                       double alpha)
{
    size_t nfiles = d->files.n;
    /* columns: name, then per file: value (and, after the first, its delta) */
    struct table t = {.cols = 1 + nfiles + (nfiles - 1)};
    const char *uname = d->units.items[unit];
    int binary = binary_unit(uname);
    size_t row = 0;
    for (size_t f = 0; f < nfiles; f++) {
        size_t col = f == 0 ? 1 : 2 * f;
        table_add(&t, row, col, d->files.items[f]);
        table_add(&t, row + 1, col, uname);
        if (f > 0)
            table_add(&t, row + 1, col + 1, "vs base");
    }
    row += 2;

    int need_footnote = 0;
    /* Geomean: the log-sum of medians of benchmarks present in every file. */
    double *logsum = xrealloc(NULL, nfiles * sizeof *logsum);
    memset(logsum, 0, nfiles * sizeof *logsum);
    size_t ngeo = 0, nrows = 0;
    int geo_ok = 1;

    /* Rows grouped by pkg, in order of first appearance. */
    struct strlist pkgs = {0};
    for (size_t i = 0; i < nobs; i++) {
        const char *b = d->benches.items[obs[i].bench];
        char pkg[512];
        snprintf(pkg, sizeof pkg, "%.*s", (int)(strchr(b, '\n') - b), b);
        strlist_intern(&pkgs, pkg);
    }
    struct cell *cells = xrealloc(NULL, nfiles * sizeof *cells);
    for (size_t p = 0; p < pkgs.n; p++) {
        if (d->npkgs > 1) { /* one package: in the header above */
            char line[600];
            snprintf(line, sizeof line, "pkg: %s", pkgs.items[p]);
            table_add(&t, row++, 0, line);
        }
        size_t plen = strlen(pkgs.items[p]);
        for (size_t i = 0; i < nobs;) {
            size_t j = i;
            while (j < nobs && obs[j].bench == obs[i].bench)
                j++;
            const char *b = d->benches.items[obs[i].bench];
            if (strncmp(b, pkgs.items[p], plen) != 0 || b[plen] != '\n') {
                i = j;
                continue;
            }
            /* obs[i..j) are this benchmark's, sorted by file. */
            for (size_t f = 0; f < nfiles; f++)
                cells[f] = (struct cell){NULL, 0, 0};
            for (size_t k = i; k < j;) {
                size_t f = obs[k].file, m = k;
                while (m < j && obs[m].file == f)
                    m++;
                cells[f].n = m - k;
                cells[f].v = xrealloc(NULL, cells[f].n * sizeof(double));
                for (size_t q = k; q < m; q++)
                    cells[f].v[q - k] = obs[q].value;
                qsort(cells[f].v, cells[f].n, sizeof(double), cmp_double);
                cells[f].med = median(cells[f].v, cells[f].n);
                k = m;
            }
            table_add(&t, row, 0, b + plen + 1);
            int in_all = 1;
            for (size_t f = 0; f < nfiles; f++) {
                size_t col = f == 0 ? 1 : 2 * f;
                struct cell *c = &cells[f];
                if (!c->n) {
                    in_all = 0;
                    continue;
                }
                char num[64], text[128], ci[48];
                format_scaled(num, sizeof num, c->med, binary);
                double lo, hi;
                if (!median_ci(c->v, c->n, 0.95, &lo, &hi)) {
                    snprintf(ci, sizeof ci, "± ∞ ¹");
                    need_footnote = 1;
                } else if (c->med == 0) {
                    snprintf(ci, sizeof ci, lo == hi ? "± 0%%" : "± ?");
                } else {
                    double half = fmax(c->med - lo, hi - c->med) / fabs(c->med) * 100;
                    snprintf(ci, sizeof ci, half >= 1 || half == 0 ? "± %.0f%%" : "± %.1f%%", half);
                }
                snprintf(text, sizeof text, "%s %s", num, ci);
                table_add(&t, row, col, text);
                if (f == 0 || !cells[0].n)
                    continue;
                double pv = mann_whitney_p(cells[0].v, cells[0].n, c->v, c->n);
                char delta[128];
                if (pv >= alpha)
                    snprintf(delta, sizeof delta, "~ (p=%.3f n=%zu+%zu)", pv, cells[0].n, c->n);
                else if (cells[0].med == 0)
                    snprintf(delta, sizeof delta, "? (p=%.3f n=%zu+%zu)", pv, cells[0].n, c->n);
                else
                    snprintf(delta, sizeof delta, "%+.2f%% (p=%.3f n=%zu+%zu)",
                             (c->med / cells[0].med - 1) * 100, pv, cells[0].n, c->n);
                table_add(&t, row, col + 1, delta);
            }
            if (in_all) {
                for (size_t f = 0; f < nfiles; f++) {
                    if (cells[f].med <= 0)
                        geo_ok = 0;
                    else
                        logsum[f] += log(cells[f].med);
                }
                ngeo++;
            }
            for (size_t f = 0; f < nfiles; f++)
                free(cells[f].v);
            row++;
            nrows++;
            i = j;
        }
    }
    if (nrows > 1 && ngeo > 0 && geo_ok) {
        table_add(&t, row, 0, "geomean");
        double base = exp(logsum[0] / (double)ngeo);
        for (size_t f = 0; f < nfiles; f++) {
            double g = exp(logsum[f] / (double)ngeo);
            char num[64];
            format_scaled(num, sizeof num, g, binary);
            table_add(&t, row, f == 0 ? 1 : 2 * f, num);
            if (f > 0) {
                char delta[64];
                snprintf(delta, sizeof delta, "%+.2f%%", (g / base - 1) * 100);
                table_add(&t, row, 2 * f + 1, delta);
            }
        }
        row++;
    }
    table_print(&t);
    if (need_footnote)
        printf("¹ need >= 6 samples for confidence interval at level 0.95\n");
    free(cells);
    free(logsum);
    strlist_free(&pkgs);
}

int cmd_benchstat(int argc, char **argv)
{
    double alpha = 0.05;
    const char **paths = xrealloc(NULL, (size_t)argc * sizeof *paths);
    size_t npaths = 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "-help") || !strcmp(argv[i], "--help")) {
            fputs(benchstat_usage, stdout);
            free(paths);
            return 0;
        }
        if ((v = tool_flag_value(argc, argv, &i, "alpha"))) {
            char *end;
            errno = 0;
            alpha = strtod(v, &end);
            if (*end || errno || !(alpha > 0 && alpha < 1)) {
                tool_error("benchstat: -alpha=%s: want a number between 0 and 1", v);
                free(paths);
                return 2;
            }
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            tool_error("benchstat: unknown flag %s (see 'cprof benchstat -h')", argv[i]);
            free(paths);
            return 2;
        }
        paths[npaths++] = argv[i];
    }
    if (npaths == 0) {
        tool_error("benchstat: no files given (usage: cprof benchstat OLD [NEW...])");
        free(paths);
        return 2;
    }

    for (size_t i = 0; i < npaths; i++) {
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(paths[i], paths[j])) {
                tool_error("benchstat: %s is named twice", paths[i]);
                free(paths);
                return 2;
            }
        }
    }
    struct data d = {0};
    for (size_t i = 0; i < npaths; i++) {
        if (read_file(&d, paths[i]) < 0) {
            status = 1;
            goto out;
        }
    }
    for (size_t k = 0; k < d.cfg_keys.n; k++)
        if (d.cfg_common[k] && d.cfg_seen[k] == d.files.n)
            printf("%s: %s\n", d.cfg_keys.items[k], d.cfg_values.items[k]);
    /* pkg is part of each benchmark's name; one package goes in the header. */
    struct strlist pkgs = {0};
    for (size_t b = 0; b < d.benches.n; b++) {
        const char *name = d.benches.items[b];
        char pkg[512];
        snprintf(pkg, sizeof pkg, "%.*s", (int)(strchr(name, '\n') - name), name);
        strlist_intern(&pkgs, pkg);
    }
    d.npkgs = pkgs.n;
    if (pkgs.n == 1 && pkgs.items[0][0])
        printf("pkg: %s\n", pkgs.items[0]);
    strlist_free(&pkgs);
    qsort(d.obs, d.nobs, sizeof *d.obs, cmp_obs);
    for (size_t i = 0; i < d.nobs;) {
        size_t j = i;
        while (j < d.nobs && d.obs[j].unit == d.obs[i].unit)
            j++;
        if (i > 0)
            putchar('\n');
        print_unit(&d, d.obs[i].unit, d.obs + i, j - i, alpha);
        i = j;
    }
out:
    strlist_free(&d.files);
    strlist_free(&d.benches);
    strlist_free(&d.units);
    strlist_free(&d.cfg_keys);
    for (size_t i = 0; i < d.cfg_values.n; i++)
        free(d.cfg_values.items[i]);
    free(d.cfg_values.items);
    free(d.cfg_common);
    free(d.cfg_seen);
    free(d.obs);
    free(paths);
    return status;
}
