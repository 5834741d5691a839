/*
 * explain_rules.c: the rules of `cprof explain` that know C: each looks for
 * one kind of mistake in the profiles given, names the function and line
 * in the program's own code where it happens, and says what to try. A rule
 * makes at most one finding, so that one problem is one finding even when
 * several profiles show it (the lock in both the mutex and block profiles).
 *
 *   regex-in-loop    a regex (or similar pattern) compiled where it is used
 *   alloc-copy       allocation and copying in a hot path
 *   lock-contention  most of the lock waits behind one critical section
 *   thread-per-item  threads created for each unit of work
 *   syscalls         much of the CPU in system calls
 *
 * Thresholds are shares of a profile's total (or of its duration for
 * contention), chosen so that the fixed filesearch demo triggers none of
 * the first four: see docs/analysis.md for the figures.
 */
#include "explain.h"

#include <stdlib.h>
#include <string.h>

/* ---- sites -------------------------------------------------------------- */

struct site_walk {
    struct explain_sites *out;
    size_t cap;
    unsigned char *target, *exclude; /* by name id */
    int leaf;                        /* no target: the leaf is the target */
};

static int add_site(struct site_walk *w, const report_frame *f, uint32_t callee, int64_t v)
{
    struct explain_sites *o = w->out;
    for (size_t i = o->n; i-- > 0;) {
        struct explain_site *s = &o->s[i];
        if (s->name == f->name && s->line == f->line && s->file == f->file && s->callee == callee) {
            s->value += v;
            return 0;
        }
    }
    if (o->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 64;
        struct explain_site *p = realloc(o->s, ncap * sizeof *p);
        if (!p)
            return -1;
        o->s = p;
        w->cap = ncap;
    }
    o->s[o->n++] = (struct explain_site){f->name, f->file, f->line, callee, v};
    return 0;
}

static int site_sample(void *ctx, const report_frame *f, size_t n, int64_t v)
{
    struct site_walk *w = ctx;
    if (n == 0)
        return 0;
    for (size_t i = 0; w->exclude && i < n; i++)
        if (w->exclude[f[i].name])
            return 0;
    size_t t = 0, k;
    if (!w->leaf) {
        for (t = n; t-- > 0 && !w->target[f[t].name];)
            ;
        if (t == (size_t)-1)
            return 0;
    }
    w->out->matched += v;
    /* The program's own frame nearest to the cost; the leaf itself counts
     * when no target was given (a threadcreate profile ends at the creator). */
    for (k = w->leaf ? t : t + 1; k < n && f[k].lib; k++)
        ;
    if (k >= n)
        k = t + 1 < n ? t + 1 : t;
    return add_site(w, &f[k], f[t].name, v);
}

static unsigned char *name_flags(report_input *in, const regex_t *re)
{
    size_t n = report_name_count(in);
    unsigned char *flags = calloc(n + 1, 1);
    for (size_t i = 0; flags && re && i < n; i++)
        flags[i] = regexec(re, report_name(in, (uint32_t)i), 0, NULL, 0) == 0;
    return flags;
}

static int cmp_sites(const void *a, const void *b)
{
    int64_t x = ((const struct explain_site *)a)->value,
            y = ((const struct explain_site *)b)->value;
    return x > y ? -1 : x < y;
}

int explain_sites(report_input *in, const regex_t *target, const regex_t *exclude,
                  struct explain_sites *out)
{
    memset(out, 0, sizeof *out);
    struct site_walk w = {out, 0, NULL, NULL, target == NULL};
    int rc = -1;
    if ((target && !(w.target = name_flags(in, target))) ||
        (exclude && !(w.exclude = name_flags(in, exclude))))
        goto done;
    rc = report_each_sample(in, site_sample, &w) ? -1 : 0;
    if (out->n) /* out->s is NULL when nothing matched */
        qsort(out->s, out->n, sizeof *out->s, cmp_sites);
done:
    free(w.target);
    free(w.exclude);
    return rc;
}

void explain_sites_free(struct explain_sites *s)
{
    free(s->s);
    memset(s, 0, sizeof *s);
}

void explain_sites_by_function(struct explain_sites *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t j = 0;
        while (j < kept && s->s[j].name != s->s[i].name)
            j++;
        if (j < kept)
            s->s[j].value += s->s[i].value; /* sorted: the first one was heavier */
        else
            s->s[kept++] = s->s[i];
    }
    s->n = kept;
    if (s->n)
        qsort(s->s, s->n, sizeof *s->s, cmp_sites);
}

const char *explain_where(const report_input *in, const struct explain_site *s, char *buf,
                          size_t len)
{
    const char *file = report_file(in, s->file);
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    if (!base[0])
        snprintf(buf, len, "no line information");
    else if (s->line > 0)
        snprintf(buf, len, "%s:%d", base, s->line);
    else
        snprintf(buf, len, "%s", base);
    return buf;
}

/* ---- writing findings --------------------------------------------------- */

struct out {
    struct explain_finding *f;
    size_t n, cap;
};

static double pct(int64_t v, int64_t total)
{
    return total ? 100.0 * (double)v / (double)total : 0;
}

/* "`search_file` (search_slow.c:153: `if (regcomp(&re, ...`)" */
static void put_site(FILE *m, struct explain_set *set, report_input *in,
                     const struct explain_site *s)
{
    char where[256];
    fprintf(m, "`%s` (%s", report_name(in, s->name), explain_where(in, s, where, sizeof where));
    const char *text =
        s->line > 0 ? source_line(set->src, report_file(in, s->file), s->line) : NULL;
    if (text) {
        text += strspn(text, " \t");
        if (strlen(text) > 70)
            fprintf(m, ": `%.67s...`", text);
        else if (text[0])
            fprintf(m, ": `%s`", text);
    }
    fputc(')', m);
}

/* Up to max sites of at least min_share of total, as "a, b and c". */
static void put_sites(FILE *m, struct explain_set *set, report_input *in,
                      const struct explain_sites *s, size_t max, double min_share, int64_t total)
{
    size_t shown = 0;
    for (size_t i = 0; i < s->n && shown < max; i++) {
        if (shown > 0 && pct(s->s[i].value, total) < min_share)
            break;
        fputs(shown == 0 ? "" : ", ", m);
        put_site(m, set, in, &s->s[i]);
        fprintf(m, ", %.1f%%", pct(s->s[i].value, total));
        shown++;
    }
}

static int add_finding(struct out *o, const char *id, char *text)
{
    if (!text)
        return -1;
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 8;
        struct explain_finding *p = realloc(o->f, ncap * sizeof *p);
        if (!p) {
            free(text);
            return -1;
        }
        o->f = p;
        o->cap = ncap;
    }
    o->f[o->n++] = (struct explain_finding){id, text};
    return 0;
}

/* ---- the patterns the rules look for ------------------------------------- */

#define PREFIX "^(__GI_+|__libc_|_+)?"

static const char re_compile[] =
    PREFIX "(regcomp|re_compile_pattern|re_compile_internal|pcre2?_compile(2|_8|_16|_32)?|"
           "onig_new|tre_regcomp|g_regex_new|iconv_open)$";
static const char re_regex_any[] = PREFIX "(regcomp|regexec|regfree|re_compile_pattern|re_search|"
                                          "pcre2?_(compile|exec|match)[a-z0-9_]*|onig_.*)$";
static const char re_alloc_copy[] =
    PREFIX "(malloc|calloc|realloc|reallocarray|free|cfree|strdup|strndup|memcpy|memmove|"
           "mempcpy|int_malloc|int_free|int_realloc|(memcpy|memmove|mempcpy)_[a-z0-9_]+|"
           "operator new|operator delete)(\\(.*\\))?$";
static const char re_thread_create[] =
    PREFIX "(pthread_create(@@?GLIBC.*)?|pthread_create_2_1|create_thread|thrd_create)$";
static const char re_stdio_buffers[] =
    PREFIX "(IO_file_doallocate|fopen_internal|fopen|fdopen|IO_new_fdopen|opendir|alloc_dir)$";
static const char re_lock_wait[] =
    PREFIX "(pthread_mutex_(lock|timedlock|clocklock)|pthread_rwlock_[a-z]*(rd|wr)lock|"
           "pthread_spin_lock|mtx_(timed)?lock|sem_(timed|clock)?wait)$";
static const char re_syscall[] =
    PREFIX "(read|write|pread(64)?|pwrite(64)?|readv|writev|recv|recvfrom|recvmsg|send|sendto|"
           "sendmsg|poll|ppoll|select|pselect6?|epoll_wait|epoll_pwait|open(64)?|openat(64)?|"
           "close|fstat(at)?(64)?|newfstatat|stat(64)?|lstat(64)?|statx|getdents(64)?|mmap(64)?|"
           "munmap|mprotect|accept4?|connect|ioctl|fsync|fdatasync|lseek(64)?|nanosleep|"
           "clock_nanosleep)(_nocancel)?$";

/* Compiles the rule patterns once. */
struct patterns {
    regex_t compile, regex_any, alloc_copy, thread_create, stdio_buffers, lock_wait, syscall;
    int ok;
};

static int patterns_init(struct patterns *p)
{
    const char *src[] = {re_compile,       re_regex_any, re_alloc_copy, re_thread_create,
                         re_stdio_buffers, re_lock_wait, re_syscall};
    regex_t *dst[] = {&p->compile,       &p->regex_any, &p->alloc_copy, &p->thread_create,
                      &p->stdio_buffers, &p->lock_wait, &p->syscall};
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++)
        if (regcomp(dst[i], src[i], REG_EXTENDED | REG_NOSUB)) {
            for (size_t j = 0; j < i; j++)
                regfree(dst[j]);
            return -1;
        }
    p->ok = 1;
    return 0;
}

static void patterns_free(struct patterns *p)
{
    if (!p->ok)
        return;
    regex_t *all[] = {&p->compile,       &p->regex_any, &p->alloc_copy, &p->thread_create,
                      &p->stdio_buffers, &p->lock_wait, &p->syscall};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        regfree(all[i]);
}

/* A second regex_t that matches either of two patterns' names. */
static int either(regex_t *out, const char *a, const char *b)
{
    size_t len = strlen(a) + strlen(b) + 8;
    char *s = malloc(len);
    if (!s)
        return -1;
    snprintf(s, len, "(%s)|(%s)", a, b);
    int rc = regcomp(out, s, REG_EXTENDED | REG_NOSUB) ? -1 : 0;
    free(s);
    return rc;
}

/* ---- the rules ------------------------------------------------------------ */

/* Compiling a pattern costs far more than matching with it; a compile
 * taking a visible share of the CPU is being done over and over. */
static int rule_regex(struct explain_set *set, struct patterns *p, struct out *o)
{
    struct explain_profile *cpu = set->p[EK_CPU];
    if (!cpu)
        return 0;
    struct explain_sites s;
    if (explain_sites(&cpu->in, &p->compile, NULL, &s))
        return -1;
    explain_sites_by_function(&s);
    int rc = 0;
    if (s.n && pct(s.matched, cpu->in.total) >= 5) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) {
            explain_sites_free(&s);
            return -1;
        }
        fprintf(m,
                "**A pattern compiled inside a loop** [regex-in-loop]: `%s` takes %.1f%% of "
                "the CPU, called from ",
                report_name(&cpu->in, s.s[0].callee), pct(s.matched, cpu->in.total));
        put_sites(m, set, &cpu->in, &s, 2, 1, cpu->in.total);
        fprintf(m, ". Compiling costs far more than matching, and a function that compiles for "
                   "every item it handles pays it each time (with glibc, `regexec` then also "
                   "rebuilds its DFA). Try: compile once outside the loop (per request, or one "
                   "copy per worker thread) and pass the compiled pattern down; cache compiled "
                   "patterns by their text when they vary.");
        rc = fclose(m) ? -1 : add_finding(o, "regex-in-loop", text);
    }
    explain_sites_free(&s);
    return rc;
}

/* The bytes a heap profile saw allocated under the same function. */
static int64_t heap_at(struct explain_set *set, struct patterns *p, const char *fn)
{
    struct explain_profile *heap = set->p[EK_HEAP];
    struct explain_sites s;
    int64_t v = 0;
    if (!heap || explain_sites(&heap->in, NULL, &p->regex_any, &s))
        return 0;
    explain_sites_by_function(&s);
    for (size_t i = 0; i < s.n; i++)
        if (!strcmp(report_name(&heap->in, s.s[i].name), fn))
            v = s.s[i].value;
    explain_sites_free(&s);
    return v;
}

static int alloc_text(struct explain_set *set, struct patterns *p, report_input *in,
                      const struct explain_sites *s, int64_t total, int from_cpu, char **text)
{
    size_t len = 0;
    FILE *m = open_memstream(text, &len);
    if (!m)
        return -1;
    if (from_cpu)
        fprintf(m,
                "**Allocation and copying in a hot path** [alloc-copy]: malloc/free/memcpy "
                "and the like take %.1f%% of the CPU, from ",
                pct(s->matched, total));
    else
        fprintf(m, "**Allocation concentrated at one site** [alloc-copy]: ");
    put_sites(m, set, in, s, 3, 2, total);
    if (!from_cpu)
        fprintf(m, " of the bytes allocated");
    struct explain_profile *heap = set->p[EK_HEAP];
    if (from_cpu && heap && s->n) {
        const char *fn = report_name(in, s->s[0].name);
        int64_t b = heap_at(set, p, fn);
        char bytes[64];
        if (b > 0)
            fprintf(m, "; `%s` also allocated %s (%.1f%% of %s)", fn,
                    report_fmt(bytes, sizeof bytes, &heap->in, b), pct(b, heap->in.total),
                    heap->in.sample_type);
    }
    fprintf(m, ". Try: do not copy what you only read: stream input through one reused "
               "buffer (getline) instead of reading whole files and splitting them into "
               "separately allocated lines; copy only what you keep; reuse buffers across "
               "iterations instead of malloc/free in the loop.");
    return fclose(m) ? -1 : 0;
}

/* Allocator and copy time attributed to the program's own callers, leaving
 * out what regex and thread creation allocate (their own rules). Without a
 * CPU profile, a heap profile whose bytes mostly come from one site (stdio's
 * per-FILE buffers aside: the price of opening files) counts. */
static int rule_alloc(struct explain_set *set, struct patterns *p, struct out *o)
{
    struct explain_profile *cpu = set->p[EK_CPU], *heap = set->p[EK_HEAP];
    regex_t excl;
    if (either(&excl, re_regex_any, re_thread_create))
        return -1;
    struct explain_sites s = {0};
    int rc = 0, found = 0, from_cpu = cpu != NULL;
    report_input *in = cpu ? &cpu->in : heap ? &heap->in : NULL;
    if (cpu) {
        rc = explain_sites(in, &p->alloc_copy, &excl, &s);
        explain_sites_by_function(&s);
        found =
            rc == 0 && s.n && pct(s.matched, in->total) >= 10 && pct(s.s[0].value, in->total) >= 3;
    } else if (heap) {
        regex_t excl2;
        if (either(&excl2, re_regex_any, re_stdio_buffers) == 0) {
            rc = explain_sites(in, NULL, &excl2, &s);
            regfree(&excl2);
        } else {
            rc = -1;
        }
        explain_sites_by_function(&s);
        found = rc == 0 && s.n && pct(s.s[0].value, in->total) >= 30;
    }
    regfree(&excl);
    char *text = NULL;
    if (found)
        rc = alloc_text(set, p, in, &s, in->total, from_cpu, &text)
                 ? -1
                 : add_finding(o, "alloc-copy", text);
    explain_sites_free(&s);
    return rc;
}

static int contention_text(struct explain_set *set, struct explain_profile *pr,
                           const struct explain_sites *s, char **text)
{
    size_t len = 0;
    FILE *m = open_memstream(text, &len);
    if (!m)
        return -1;
    report_input *in = &pr->in;
    char d[64], dur[64];
    report_fmt(d, sizeof d, in, s->matched);
    report_format_value(dur, sizeof dur, in->duration_nanos, "nanoseconds", "auto");
    fprintf(m,
            "**Lock contention in one critical section** [lock-contention]: %.0f%% of the %s "
            "that threads spent waiting for locks",
            pct(s->s[0].value, s->matched), d);
    if (in->duration_nanos)
        fprintf(m, " (in %s: %.1f threads waiting on average)", dur,
                (double)s->matched / (double)in->duration_nanos);
    fprintf(m, pr->kind == EK_MUTEX ? " is behind the lock released in " : " is spent in ");
    put_site(m, set, in, &s->s[0]);
    struct explain_profile *block = set->p[EK_BLOCK];
    if (pr->kind == EK_MUTEX && block)
        fprintf(m, " (the block profile shows the same waits from the other side)");
    fprintf(m, ". Every thread that needs the lock queues behind that section. Try: hold it "
               "for less (allocate, copy and format outside it), or stop sharing: give each "
               "thread its own results and merge them at the end, or use a lock per "
               "request instead of one for the whole process.");
    return fclose(m) ? -1 : 0;
}

/* Contention matters when threads spend a real share of the time waiting
 * (a tenth of the profile's duration, summed over threads), and is
 * concentrated when one site has most of it. The mutex profile names the
 * critical section (the releaser); the block profile, used when there is
 * no mutex profile, the waiters, counting only lock waits (not condition
 * variables or joins, where idle threads wait by design). */
static int rule_contention(struct explain_set *set, struct patterns *p, struct out *o)
{
    struct explain_profile *pr = set->p[EK_MUTEX] ? set->p[EK_MUTEX] : set->p[EK_BLOCK];
    if (!pr)
        return 0;
    struct explain_sites s;
    int rc = pr->kind == EK_MUTEX ? explain_sites(&pr->in, NULL, NULL, &s)
                                  : explain_sites(&pr->in, &p->lock_wait, NULL, &s);
    if (rc)
        return -1;
    explain_sites_by_function(&s);
    int64_t floor = pr->in.duration_nanos ? pr->in.duration_nanos / 10 : 100000000;
    if (s.n && s.matched >= floor && pct(s.s[0].value, s.matched) >= 50) {
        char *text = NULL;
        rc = contention_text(set, pr, &s, &text) ? -1 : add_finding(o, "lock-contention", text);
    }
    explain_sites_free(&s);
    return rc;
}

/* A thread per item: one site creating many threads (a threadcreate
 * profile), or thread creation visible in the CPU profile. */
static int rule_threads(struct explain_set *set, struct patterns *p, struct out *o)
{
    struct explain_profile *tc = set->p[EK_THREADS], *cpu = set->p[EK_CPU];
    struct explain_sites s;
    report_input *in = tc ? &tc->in : cpu ? &cpu->in : NULL;
    if (!in)
        return 0;
    if (explain_sites(in, tc ? NULL : &p->thread_create, NULL, &s))
        return -1;
    explain_sites_by_function(&s);
    int found = tc ? s.n && s.s[0].value >= 100 && pct(s.s[0].value, in->total) >= 50
                   : s.n && pct(s.matched, in->total) >= 5;
    int rc = 0;
    if (found) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) {
            explain_sites_free(&s);
            return -1;
        }
        fprintf(m, "**A thread created per unit of work** [thread-per-item]: ");
        put_site(m, set, in, &s.s[0]);
        if (tc)
            fprintf(m, " created %lld of the %lld threads the process started",
                    (long long)s.s[0].value, (long long)in->total);
        else
            fprintf(m, " spends %.1f%% of the CPU creating threads", pct(s.matched, in->total));
        fprintf(m, ". Each thread costs a clone, a stack mapping and a join, and hundreds of "
                   "them at once oversubscribe the CPUs. Try: a fixed pool of workers (one per "
                   "CPU) started once and fed from a queue or a shared index.");
        rc = fclose(m) ? -1 : add_finding(o, "thread-per-item", text);
    }
    explain_sites_free(&s);
    return rc;
}

static int rule_syscalls(struct explain_set *set, struct patterns *p, struct out *o)
{
    struct explain_profile *cpu = set->p[EK_CPU];
    if (!cpu)
        return 0;
    struct explain_sites s;
    if (explain_sites(&cpu->in, &p->syscall, NULL, &s))
        return -1;
    explain_sites_by_function(&s);
    int rc = 0;
    if (s.n && pct(s.matched, cpu->in.total) >= 25) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) {
            explain_sites_free(&s);
            return -1;
        }
        fprintf(m,
                "**Time in system calls** [syscalls]: %.1f%% of the CPU is in system calls, "
                "mostly `%s` from ",
                pct(s.matched, cpu->in.total), report_name(&cpu->in, s.s[0].callee));
        put_sites(m, set, &cpu->in, &s, 2, 5, cpu->in.total);
        fprintf(m, ". Try: fewer, bigger calls (read and write in large blocks, batch small "
                   "writes, keep files open instead of reopening them), or move blocking I/O "
                   "off the hot path.");
        rc = fclose(m) ? -1 : add_finding(o, "syscalls", text);
    }
    explain_sites_free(&s);
    return rc;
}

int explain_rules(struct explain_set *set, struct explain_finding **out, size_t *n)
{
    struct patterns p = {0};
    struct out o = {0};
    int rc = patterns_init(&p);
    if (rc == 0)
        rc = rule_regex(set, &p, &o) || rule_alloc(set, &p, &o) || rule_contention(set, &p, &o) ||
                     rule_threads(set, &p, &o) || rule_syscalls(set, &p, &o)
                 ? -1
                 : 0;
    patterns_free(&p);
    *out = o.f;
    *n = o.n;
    return rc;
}

void explain_findings_free(struct explain_finding *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].text);
    free(f);
}
