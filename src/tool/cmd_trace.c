/*
 * cmd_trace.c: `cprof trace summary|pprof|export`, everything the tool does
 * with a trace file once trace_read.c has turned it into threads of timed
 * events. Owns the analysis shared by the three (pairing begins with ends
 * into spans: waits, system calls, regions, tasks; thread lifetimes), the
 * summary report, the blocking profiles derived from a trace, and the
 * Chrome trace-event JSON export.
 *
 * Exit status: 0 on success, also for a trace cut short (read up to the
 * damage, with a warning on stderr and in the output); 1 when the file
 * cannot be read or the output cannot be written; 2 for usage errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "idmap.h"
#include "pprof_build.h"
#include "tool.h"
#include "trace_names.h"
#include "trace_read.h"

/* ---- Names ------------------------------------------------------------------------ */

/* The waits on other threads ("sync"): what go tool trace calls sync block. */
static int is_sync_state(uint64_t s)
{
    return s >= TRACE_STATE_MUTEX && s <= TRACE_STATE_BARRIER;
}

/* A name from the string table; a trace cut short may lack it. */
static const char *str_or(const cprof_trace *t, uint64_t id, char *buf, size_t len)
{
    const char *s = cprof_trace_string(t, id);
    if (s)
        return s;
    snprintf(buf, len, "string %" PRIu64, id);
    return buf;
}

/* Sums of durations saturate: a hostile file cannot make them wrap. */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* ---- The analysis: events paired into spans ----------------------------------------------- */

enum span_kind { SPAN_REGION, SPAN_TASK, SPAN_WAIT, SPAN_SYSCALL };

/* An interval of a thread's (or, for tasks, the process's) time. */
struct span {
    int64_t begin, end;
    uint64_t id;               /* region or task id */
    uint64_t task;             /* region: its task; task: its parent */
    uint64_t what;             /* region/task: name string id; wait: state; syscall: number */
    uint64_t stack;            /* wait: stack id (0: none) */
    uint32_t bthread, ethread; /* thread indexes where it began and ended */
    uint32_t same_id;          /* index + 1 of an earlier span with this id */
    uint8_t kind, has_begin, has_end;
};

struct thread_stats {
    int64_t begin, end; /* lifetime, clipped to the trace */
    int64_t by_state[TRACE_STATE_COUNT];
    uint64_t nwaits[TRACE_STATE_COUNT];
    int64_t syscall_ns, sleep_ns;
    uint64_t nsyscalls, nsleeps;
    int started, ended; /* THREAD_START / THREAD_END seen within the trace */
    /* From SCHED records: time runnable but waiting for a CPU during its
     * lifetime in the trace, and how many times it was scheduled. */
    int has_runq;
    int64_t runq_ns;
    uint64_t runq_slices;
    /* Neither a name nor THREAD_START/END: a thread cprof's registry does
     * not know (its own writer and agent threads, or one not made with
     * pthread_create). */
    int unregistered;
};

struct analysis {
    const cprof_trace *t;
    struct span *spans;
    size_t n, cap;
    struct thread_stats *th;
    struct idmap regions, tasks; /* id → index + 1 of the latest span */
    uint64_t unmatched_ends;
};

static struct span *add_span(struct analysis *a, const struct span *s)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1024;
        struct span *p = realloc(a->spans, cap * sizeof *p);
        if (!p)
            return NULL;
        a->spans = p;
        a->cap = cap;
    }
    a->spans[a->n] = *s;
    return &a->spans[a->n++];
}

/* A thread lives from its THREAD_START (else the trace's start) to its
 * THREAD_END (else the trace's end). */
static void lifetime(const cprof_trace *t, const cprof_trace_thread *th, struct thread_stats *s)
{
    s->begin = t->start_ns;
    s->end = t->end_ns;
    int registered = th->name[0] != '\0';
    for (size_t i = 0; i < th->nev; i++) {
        if (th->ev[i].type == TRACE_EV_THREAD_START && i == 0) {
            s->begin = th->ev[i].ns;
            s->started = 1;
        }
        if (th->ev[i].type == TRACE_EV_THREAD_END) {
            s->end = th->ev[i].ns;
            s->ended = 1;
        }
        registered |= th->ev[i].type == TRACE_EV_THREAD_START;
        registered |= th->ev[i].type == TRACE_EV_THREAD_END;
    }
    s->unregistered = !registered;
}

/* Waits: STATE s != 0 opens one, STATE 0 (or another wait, or the thread's
 * end) closes it. */
static int waits_of(struct analysis *a, uint32_t ti)
{
    const cprof_trace_thread *th = &a->t->threads[ti];
    struct span open = {.kind = SPAN_WAIT, .bthread = ti, .ethread = ti};
    int waiting = 0;
    for (size_t i = 0; i < th->nev; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        int closes = e->type == TRACE_EV_STATE || e->type == TRACE_EV_THREAD_END;
        if (closes && waiting) {
            open.end = e->ns;
            open.has_end = e->type == TRACE_EV_STATE;
            if (!add_span(a, &open))
                return -1;
            waiting = 0;
        }
        if (e->type == TRACE_EV_STATE && e->arg[0] != TRACE_STATE_RUNNING) {
            open.begin = e->ns;
            open.what = e->arg[0];
            open.stack = e->arg[1];
            open.has_begin = 1;
            waiting = 1;
        }
    }
    if (waiting) {
        open.end = a->th[ti].end > open.begin ? a->th[ti].end : open.begin;
        open.has_end = 0;
        if (!add_span(a, &open))
            return -1;
    }
    return 0;
}

static int syscalls_of(struct analysis *a, uint32_t ti)
{
    const cprof_trace_thread *th = &a->t->threads[ti];
    for (size_t i = 0; i < th->nev; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        if (e->type != TRACE_EV_SYSCALL)
            continue;
        int64_t dur = e->arg[1] > (uint64_t)e->ns ? e->ns : (int64_t)e->arg[1];
        struct span s = {.kind = SPAN_SYSCALL,
                         .begin = e->ns - dur,
                         .end = e->ns,
                         .what = e->arg[0],
                         .bthread = ti,
                         .ethread = ti,
                         .has_begin = 1,
                         .has_end = 1};
        if (!add_span(a, &s))
            return -1;
    }
    return 0;
}

/* Region and task begins: spans with an open end, findable by id. */
static int begins_of(struct analysis *a, uint32_t ti)
{
    const cprof_trace_thread *th = &a->t->threads[ti];
    for (size_t i = 0; i < th->nev; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        int region = e->type == TRACE_EV_REGION_BEGIN;
        if (!region && e->type != TRACE_EV_TASK_BEGIN)
            continue;
        struct idmap *m = region ? &a->regions : &a->tasks;
        struct span s = {.kind = region ? SPAN_REGION : SPAN_TASK,
                         .begin = e->ns,
                         .end = e->ns,
                         .id = e->arg[0],
                         .task = e->arg[1],
                         .what = e->arg[2],
                         .bthread = ti,
                         .ethread = ti,
                         .has_begin = 1,
                         .same_id = idmap_get(m, e->arg[0])};
        if (!add_span(a, &s) || idmap_put(m, s.id, (uint32_t)a->n))
            return -1;
    }
    return 0;
}

/* The latest span with this id that began by `ns` and has not ended. */
static struct span *find_open(struct analysis *a, const struct idmap *m, uint64_t id, int64_t ns)
{
    for (uint32_t k = idmap_get(m, id); k; k = a->spans[k - 1].same_id) {
        struct span *s = &a->spans[k - 1];
        if (!s->has_end && s->begin <= ns)
            return s;
    }
    return NULL;
}

static int ends_of(struct analysis *a, uint32_t ti)
{
    const cprof_trace_thread *th = &a->t->threads[ti];
    for (size_t i = 0; i < th->nev; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        int region = e->type == TRACE_EV_REGION_END;
        if (!region && e->type != TRACE_EV_TASK_END)
            continue;
        struct span *s = find_open(a, region ? &a->regions : &a->tasks, e->arg[0], e->ns);
        if (!s) {
            /* Begun before the trace started (or in a lost buffer). */
            a->unmatched_ends++;
            continue;
        }
        s->end = e->ns;
        s->ethread = ti;
        s->has_end = 1;
    }
    return 0;
}

/* What never ended ends with its thread (regions) or the trace (tasks). */
static void close_open(struct analysis *a)
{
    for (size_t i = 0; i < a->n; i++) {
        struct span *s = &a->spans[i];
        if (s->has_end || (s->kind != SPAN_REGION && s->kind != SPAN_TASK))
            continue;
        int64_t end = s->kind == SPAN_REGION ? a->th[s->bthread].end : a->t->end_ns;
        s->end = end > s->begin ? end : s->begin;
    }
}

/* Per-thread time by state, from the thread's wait and syscall spans. */
static void tally(struct analysis *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct span *s = &a->spans[i];
        struct thread_stats *st = &a->th[s->bthread];
        int64_t b = s->begin > st->begin ? s->begin : st->begin;
        int64_t e = s->end < st->end ? s->end : st->end;
        int64_t d = e > b ? e - b : 0;
        if (s->kind == SPAN_WAIT && s->what < TRACE_STATE_COUNT) {
            st->by_state[s->what] = sat_add(st->by_state[s->what], d);
            st->nwaits[s->what]++;
        } else if (s->kind == SPAN_SYSCALL && trace_is_sleep_syscall(s->what)) {
            st->sleep_ns = sat_add(st->sleep_ns, d);
            st->nsleeps++;
        } else if (s->kind == SPAN_SYSCALL) {
            st->syscall_ns = sat_add(st->syscall_ns, d);
            st->nsyscalls++;
        }
    }
}

static void analysis_free(struct analysis *a)
{
    free(a->spans);
    free(a->th);
    idmap_free(&a->regions);
    idmap_free(&a->tasks);
}

/* The thread's run-queue wait from the SCHED records of its tid taken
 * during its life in the trace (the last one may come just after its last
 * event: the writer reads the live threads as tracing stops). Its baseline
 * is 0 when it started in the trace (a new thread's schedstat starts at 0),
 * else its first record. Left unset when the file has none (an older
 * writer, or a kernel without schedstat). */
static void runq_of(const cprof_trace *t, const cprof_trace_thread *th, struct thread_stats *st)
{
    const struct cprof_trace_sched *first = NULL, *last = NULL;
    for (size_t i = 0; i < t->nsched; i++) {
        const struct cprof_trace_sched *k = &t->sched[i];
        if (k->tid != th->tid || k->ns < st->begin - 1000000 || k->ns > st->end + 1000000000)
            continue;
        if (!first || k->ns < first->ns)
            first = k;
        if (!last || k->ns >= last->ns)
            last = k;
    }
    if (!last)
        return;
    uint64_t wait0 = st->started ? 0 : first->wait_ns;
    uint64_t slices0 = st->started ? 0 : first->slices;
    st->has_runq = 1;
    st->runq_ns = last->wait_ns > wait0 ? (int64_t)(last->wait_ns - wait0) : 0;
    st->runq_slices = last->slices > slices0 ? last->slices - slices0 : 0;
}

static int analyse(const cprof_trace *t, struct analysis *a)
{
    *a = (struct analysis){.t = t};
    a->th = calloc(t->nthreads ? t->nthreads : 1, sizeof *a->th);
    if (!a->th)
        return -1;
    for (uint32_t i = 0; i < t->nthreads; i++) {
        lifetime(t, &t->threads[i], &a->th[i]);
        runq_of(t, &t->threads[i], &a->th[i]);
    }
    for (uint32_t i = 0; i < t->nthreads; i++)
        if (waits_of(a, i) || syscalls_of(a, i) || begins_of(a, i))
            return -1;
    for (uint32_t i = 0; i < t->nthreads; i++)
        ends_of(a, i);
    close_open(a);
    tally(a);
    return 0;
}

/* ---- Formatting ---------------------------------------------------------------------- */

/* Three significant digits in the largest unit that keeps the value >= 1:
 * "812ns", "5.20us", "62.1ms", "1.23s". */
static const char *fmt_dur(char *buf, size_t len, int64_t ns)
{
    static const struct {
        int64_t scale;
        const char *unit;
    } units[] = {{1000000000, "s"}, {1000000, "ms"}, {1000, "us"}};
    int64_t mag = ns < 0 ? -ns : ns;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (mag < units[i].scale)
            continue;
        double v = (double)ns / (double)units[i].scale;
        double av = v < 0 ? -v : v;
        snprintf(buf, len, av < 10 ? "%.2f%s" : av < 100 ? "%.1f%s" : "%.0f%s", v, units[i].unit);
        return buf;
    }
    snprintf(buf, len, "%" PRId64 "ns", ns);
    return buf;
}

/* A name from the file for a table cell: control bytes as '?', cut at
 * len - 1 bytes, so that a hostile name cannot break the report's lines. */
static const char *printable(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    for (; s[n] && n + 1 < len; n++)
        buf[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    buf[n] = '\0';
    return buf;
}

/* "?" for a thread that ended unnamed, "-" for an unregistered one. */
static const char *thread_label(const cprof_trace_thread *th, const struct thread_stats *s,
                                char *buf, size_t len)
{
    return th->name[0] ? printable(th->name, buf, len) : s->unregistered ? "-" : "?";
}

/* ---- Options and opening ------------------------------------------------------------ */

struct trace_opts {
    const char *sub;
    const char *out;
    const char *type;
    const char *format;
    const char *file;
};

static void usage_summary(FILE *out)
{
    fprintf(out, "usage: cprof trace summary FILE\n"
                 "\n"
                 "Per thread: lifetime and time running, waiting on locks (sync: mutex, rwlock,\n"
                 "cond, semaphore, join, barrier), in blocking system calls and sleeping, as go\n"
                 "tool trace's goroutine analysis. 'running' is the lifetime minus those waits;\n"
                 "runq, from the kernel's schedstat, is the time runnable but waiting for a\n"
                 "CPU, partly inside 'running' and partly at the ends of the waits.\n"
                 "Per task and region name: count, total, p50, p90, p99, max and a histogram.\n"
                 "Logs by category; lost events; a warning when the file was cut short.\n");
}

static void usage_pprof(FILE *out)
{
    fprintf(out, "usage: cprof trace pprof -type=sync|syscall|sched -o OUT.pb.gz FILE\n"
                 "\n"
                 "Blocking profiles derived from a trace, for go tool pprof and cprof top:\n"
                 "  sync     time waiting on mutexes, rwlocks, condition variables,\n"
                 "           semaphores, joins and barriers, by the waiting stack (the\n"
                 "           trace's STACK and SYMBOL records name the frames)\n"
                 "  syscall  time in blocking system calls (sleeps included), by call name;\n"
                 "           the trace keeps no stack for system calls, so each sample is one\n"
                 "           frame named after the call, with the thread as a label\n"
                 "  sched    time runnable but waiting for a CPU (scheduling latency), by\n"
                 "           thread name, from the kernel's schedstat at the trace's ends,\n"
                 "           every second and as each thread ends: no stack (the kernel\n"
                 "           keeps none), contentions = times the thread was scheduled\n"
                 "Sample types: contentions/count and delay/nanoseconds.\n");
}

static void usage_export(FILE *out)
{
    fprintf(out, "usage: cprof trace export -format=json -o OUT.json FILE\n"
                 "\n"
                 "Chrome trace-event JSON, loaded by Perfetto's UI (ui.perfetto.dev) and\n"
                 "chrome://tracing: one track per thread (named by thread_name metadata);\n"
                 "regions, waits and system calls as nested complete (X) slices; tasks as\n"
                 "async b/e events that may span threads; logs and CPU samples as instant\n"
                 "events; the heap in use as a counter. Timestamps are microseconds since the\n"
                 "trace began. A slice that overlaps the end of the one it began in is cut\n"
                 "at that end (args.clipped_us says by how much).\n");
}

static void usage(FILE *out)
{
    fprintf(out, "usage: cprof trace summary|pprof|export [flags] FILE\n\n");
    usage_summary(out);
    fputc('\n', out);
    usage_pprof(out);
    fputc('\n', out);
    usage_export(out);
}

/* One flag at argv[*i] for subcommand o->sub. 1: taken, 0: unknown. */
static int parse_flag(int argc, char **argv, int *i, struct trace_opts *o)
{
    const char *v;
    int is_pprof = !strcmp(o->sub, "pprof"), is_export = !strcmp(o->sub, "export");
    if ((is_pprof || is_export) && (v = tool_flag_value(argc, argv, i, "o")))
        return o->out = v, 1;
    if (is_pprof && (v = tool_flag_value(argc, argv, i, "type")))
        return o->type = v, 1;
    if (is_export && (v = tool_flag_value(argc, argv, i, "format")))
        return o->format = v, 1;
    return 0;
}

static void sub_usage(FILE *out, const char *sub)
{
    if (!strcmp(sub, "summary"))
        usage_summary(out);
    else if (!strcmp(sub, "pprof"))
        usage_pprof(out);
    else
        usage_export(out);
}

/* 0: run, 1: help printed, 2: usage error (reported). */
static int parse_args(int argc, char **argv, struct trace_opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "-help") || !strcmp(a, "--help")) {
            sub_usage(stdout, o->sub);
            return 1;
        }
        if (a[0] == '-' && a[1] != '\0') {
            if (!parse_flag(argc, argv, &i, o)) {
                tool_error("trace %s: unknown flag %s (see 'cprof trace %s -h')", o->sub, a,
                           o->sub);
                return 2;
            }
            continue;
        }
        if (o->file) {
            tool_error("trace %s: one trace file at a time (got %s and %s)", o->sub, o->file, a);
            return 2;
        }
        o->file = a;
    }
    if (!o->file) {
        tool_error("trace %s: no trace file given (see 'cprof trace %s -h')", o->sub, o->sub);
        return 2;
    }
    return 0;
}

/* Reads the trace; a file cut short gives a warning on stderr. */
static cprof_trace *open_trace(const char *path)
{
    char err[512];
    cprof_trace *t = cprof_trace_read_file(path, err, sizeof err);
    if (!t) {
        tool_error("trace: %s", err);
        return NULL;
    }
    if (t->truncated)
        fprintf(stderr, "cprof: warning: %s: %s\n", path, t->warning);
    return t;
}

/* ---- summary -------------------------------------------------------------------------- */

static void print_header(const cprof_trace *t, const char *path)
{
    char d[32];
    const char *pid = cprof_trace_info(t, "pid"), *ver = cprof_trace_info(t, "cprof");
    time_t secs = (time_t)(t->start_unix_ns / 1000000000);
    struct tm tm;
    char when[64] = "?";
    if (gmtime_r(&secs, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("Trace: %s\n", path);
    printf("  pid %s, written by cprof %s, ticks: %s\n", pid ? pid : "?", ver ? ver : "?",
           t->flags & 1 ? "TSC" : "nanoseconds");
    printf("  started %s, duration %s\n", when, fmt_dur(d, sizeof d, t->end_ns - t->start_ns));
    printf("  events: %" PRIu64 " read", t->nevents);
    if (t->has_end)
        printf(", %" PRIu64 " written, %" PRIu64 " lost", t->end_written, t->end_lost);
    else
        printf(", %" PRIu64 " lost before the cut (EVENTS records)", t->lost_in_records);
    printf("\n");
    if (t->truncated)
        printf("WARNING: %s\n", t->warning);
    uint64_t lost = t->has_end ? t->end_lost : t->lost_in_records;
    if (lost)
        printf("WARNING: %" PRIu64 " events were lost (buffers full or written from a signal "
               "handler mid-event): the timeline has gaps\n",
               lost);
    for (size_t i = 0; i < t->nnotes; i++) {
        /* An absolute monotonic time (what flight.c writes) or an offset. */
        int64_t ns = t->notes[i].ns;
        char pb[256];
        printf("  note from the tracer at %s: %s\n",
               fmt_dur(d, sizeof d, ns >= t->start_ns ? ns - t->start_ns : ns),
               printable(t->notes[i].text, pb, sizeof pb));
    }
    if (t->has_end && t->end_written != t->nevents)
        printf("note: the END record counts %" PRIu64 " events written, %" PRIu64 " were read\n",
               t->end_written, t->nevents);
    if (t->nanomalies)
        printf("note: %" PRIu64 " oddities in the file, the first: %s\n", t->nanomalies,
               t->anomaly);
}

static void print_waits_detail(const struct thread_stats *s)
{
    char d[32];
    int any = 0;
    for (int k = TRACE_STATE_MUTEX; k <= TRACE_STATE_BARRIER; k++) {
        if (!s->nwaits[k])
            continue;
        printf("%s %s %s (%" PRIu64 ")", any ? "," : "      sync:", trace_state_name((uint64_t)k),
               fmt_dur(d, sizeof d, s->by_state[k]), s->nwaits[k]);
        any = 1;
    }
    if (any)
        printf("\n");
}

static void print_threads(const struct analysis *a)
{
    const cprof_trace *t = a->t;
    char b[7][32], nb[64];
    int unnamed = 0, unregistered = 0, runq_unknown = 0;
    printf("\nThreads (time by state; sync = waits on locks and other threads; runq = runnable\n"
           "but waiting for a CPU, which overlaps the others: a woken thread waits for a CPU\n"
           "before its wait returns, and RUNNING includes the rest):\n");
    printf("  %8s  %-16s %9s %9s %9s %9s %9s %9s %9s %9s\n", "TID", "NAME", "START", "LIFETIME",
           "RUNNING", "SYNC", "SYSCALL", "SLEEP", "LOST", "RUNQ");
    for (size_t i = 0; i < t->nthreads; i++) {
        const cprof_trace_thread *th = &t->threads[i];
        const struct thread_stats *s = &a->th[i];
        int64_t life = s->end - s->begin, sync = 0;
        for (int k = TRACE_STATE_MUTEX; k <= TRACE_STATE_BARRIER; k++)
            sync = sat_add(sync, s->by_state[k]);
        int64_t sys = sat_add(s->syscall_ns, s->by_state[TRACE_STATE_SYSCALL]);
        int64_t slp = sat_add(s->sleep_ns, s->by_state[TRACE_STATE_SLEEP]);
        int64_t blocked = sat_add(sat_add(sync, sys), slp);
        int64_t run = life > blocked ? life - blocked : 0;
        unnamed |= !th->name[0] && !s->unregistered;
        unregistered |= s->unregistered;
        runq_unknown |= !s->has_runq;
        printf("  %8u  %-16s %9s %9s %9s %9s %9s %9s %9" PRIu64 " %9s\n", th->tid,
               thread_label(th, s, nb, sizeof nb), fmt_dur(b[0], 32, s->begin - t->start_ns),
               fmt_dur(b[1], 32, life), fmt_dur(b[2], 32, run), fmt_dur(b[3], 32, sync),
               fmt_dur(b[4], 32, sys), fmt_dur(b[5], 32, slp), th->lost,
               s->has_runq ? fmt_dur(b[6], 32, s->runq_ns) : "-");
        print_waits_detail(s);
    }
    if (unnamed)
        printf("  ?: a thread that ended before the trace stopped (the file names only the "
               "threads alive at its end)\n");
    if (unregistered)
        printf("  -: a thread cprof's registry does not know: cprof's own writer and agent "
               "threads, or one not made with pthread_create\n");
    if (runq_unknown)
        printf("  RUNQ -: no schedstat for the thread in the file (a thread cprof does not "
               "know, an older file, or a kernel without schedstat)\n");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static int64_t pct(const int64_t *v, size_t n, int p)
{
    size_t rank = (n * (size_t)p + 99) / 100;
    return v[rank ? rank - 1 : 0];
}

/* Bucket bounds 1-2-5 per decade: 1us, 2us, 5us, 10us, ... */
static int64_t bucket_floor(int64_t ns)
{
    int64_t b = 1;
    while (b * 10 <= ns)
        b *= 10;
    return ns >= 5 * b ? 5 * b : ns >= 2 * b ? 2 * b : b;
}

static int64_t bucket_next(int64_t b)
{
    int64_t dec = 1;
    while (dec * 10 <= b)
        dec *= 10;
    return b == dec ? 2 * dec : b == 2 * dec ? 5 * dec : 10 * dec;
}

/* A text histogram of sorted durations, one row per non-empty bucket. */
static void print_histogram(const int64_t *v, size_t n)
{
    size_t i = 0, most = 0;
    for (int pass = 0; pass < 2; pass++) {
        i = 0;
        for (int64_t lo = bucket_floor(v[0] > 0 ? v[0] : 1); i < n; lo = bucket_next(lo)) {
            int64_t hi = bucket_next(lo);
            size_t c = 0;
            while (i < n && v[i] < hi)
                i++, c++;
            if (pass == 0) {
                most = c > most ? c : most;
                continue;
            }
            if (!c)
                continue;
            char a[32], b[32], bar[41];
            size_t w = (c * 40 + most - 1) / most;
            memset(bar, '#', w);
            bar[w] = '\0';
            printf("      %8s - %-8s %-40s %zu\n", fmt_dur(a, 32, lo), fmt_dur(b, 32, hi), bar, c);
        }
    }
}

/* A span of a task or region table, keyed by its name's string id. */
struct named {
    uint64_t what;
    size_t idx;
};

static int cmp_named(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    if (x->what != y->what)
        return x->what < y->what ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The spans of one kind grouped by name (string ids: order of first use). */
static struct named *spans_by_name(const struct analysis *a, int kind, size_t *count)
{
    struct named *v = malloc((a->n ? a->n : 1) * sizeof *v);
    size_t n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (a->spans[i].kind == kind)
            v[n++] = (struct named){a->spans[i].what, i};
    if (n)
        qsort(v, n, sizeof *v, cmp_named);
    *count = n;
    return v;
}

/* One name's row: count, total, percentiles, max; then its histogram. */
static void print_name_stats(const struct analysis *a, const struct named *g, size_t ng,
                             int64_t *buf)
{
    size_t n = 0, unfinished = 0, cross = 0;
    int64_t total = 0;
    for (size_t i = 0; i < ng; i++) {
        const struct span *s = &a->spans[g[i].idx];
        if (!s->has_end) {
            unfinished++;
            continue;
        }
        cross += s->ethread != s->bthread &&
                 a->t->threads[s->ethread].tid != a->t->threads[s->bthread].tid;
        buf[n++] = s->end - s->begin;
        total = sat_add(total, s->end - s->begin);
    }
    char nb[32], pb[128], d[6][32];
    const char *label = printable(str_or(a->t, g[0].what, nb, sizeof nb), pb, sizeof pb);
    if (n) {
        qsort(buf, n, sizeof *buf, cmp_i64);
        printf("  %-20s %7zu %9s %9s %9s %9s %9s\n", label, n, fmt_dur(d[0], 32, total),
               fmt_dur(d[1], 32, pct(buf, n, 50)), fmt_dur(d[2], 32, pct(buf, n, 90)),
               fmt_dur(d[3], 32, pct(buf, n, 99)), fmt_dur(d[4], 32, buf[n - 1]));
    } else {
        printf("  %-20s %7d\n", label, 0);
    }
    if (unfinished)
        printf("      %zu not ended in the trace (not counted)\n", unfinished);
    if (cross)
        printf("      %zu ended on another thread\n", cross);
    if (n)
        print_histogram(buf, n);
}

static int print_span_table(const struct analysis *a, int kind, const char *title)
{
    size_t n = 0;
    struct named *v = spans_by_name(a, kind, &n);
    int64_t *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!v || !buf) {
        free(v);
        free(buf);
        return -1;
    }
    printf("\n%s:\n", title);
    if (!n)
        printf("  (none)\n");
    else
        printf("  %-20s %7s %9s %9s %9s %9s %9s\n", "NAME", "COUNT", "TOTAL", "P50", "P90", "P99",
               "MAX");
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].what == v[i].what;)
            j++;
        print_name_stats(a, v + i, j - i, buf);
    }
    free(v);
    free(buf);
    return 0;
}

/* Prints len bytes of a log message on one line: control bytes as '?'. */
static void print_message(const char *s, size_t len)
{
    for (size_t i = 0; i < len && i < 200; i++)
        putchar((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
    if (len > 200)
        printf("...");
}

struct log_ref {
    uint64_t category;
    int64_t ns;
    uint32_t thread;
    const cprof_trace_ev *ev;
};

static int cmp_log(const void *a, const void *b)
{
    const struct log_ref *x = a, *y = b;
    if (x->category != y->category)
        return x->category < y->category ? -1 : 1;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

#define LOGS_SHOWN 3

static void print_log_group(const struct analysis *a, const struct log_ref *g, size_t n)
{
    const cprof_trace *t = a->t;
    char nb[32], d[32], pb[128], tb[64];
    printf("  %-20s %7zu\n", printable(str_or(t, g[0].category, nb, sizeof nb), pb, sizeof pb), n);
    for (size_t k = 0; k < n && k < LOGS_SHOWN; k++) {
        const cprof_trace_thread *th = &t->threads[g[k].thread];
        printf("      %9s  %s (%u): ", fmt_dur(d, sizeof d, g[k].ns - t->start_ns),
               thread_label(th, &a->th[g[k].thread], tb, sizeof tb), th->tid);
        print_message(cprof_trace_text(t, g[k].ev), g[k].ev->text_len);
        printf("\n");
    }
    if (n > LOGS_SHOWN)
        printf("      ... %zu more\n", n - LOGS_SHOWN);
}

static int print_logs(const struct analysis *a)
{
    const cprof_trace *t = a->t;
    size_t n = 0;
    for (size_t i = 0; i < t->nthreads; i++)
        for (size_t k = 0; k < t->threads[i].nev; k++)
            n += t->threads[i].ev[k].type == TRACE_EV_LOG;
    printf("\nLogs by category:\n");
    if (!n) {
        printf("  (none)\n");
        return 0;
    }
    struct log_ref *logs = malloc(n * sizeof *logs);
    if (!logs)
        return -1;
    n = 0;
    for (size_t i = 0; i < t->nthreads; i++)
        for (size_t k = 0; k < t->threads[i].nev; k++) {
            const cprof_trace_ev *e = &t->threads[i].ev[k];
            if (e->type == TRACE_EV_LOG)
                logs[n++] = (struct log_ref){e->arg[1], e->ns, (uint32_t)i, e};
        }
    qsort(logs, n, sizeof *logs, cmp_log);
    printf("  %-20s %7s\n", "CATEGORY", "COUNT");
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && logs[j].category == logs[i].category;)
            j++;
        print_log_group(a, logs + i, j - i);
    }
    free(logs);
    return 0;
}

/* The heap counter and the CPU samples, when the trace has them. */
static void print_counters(const cprof_trace *t)
{
    uint64_t nheap = 0, lo = UINT64_MAX, hi = 0, nsamples = 0;
    for (size_t i = 0; i < t->nthreads; i++)
        for (size_t k = 0; k < t->threads[i].nev; k++) {
            const cprof_trace_ev *e = &t->threads[i].ev[k];
            if (e->type == TRACE_EV_CPU_SAMPLE)
                nsamples++;
            if (e->type != TRACE_EV_HEAP)
                continue;
            nheap++;
            lo = e->arg[0] < lo ? e->arg[0] : lo;
            hi = e->arg[0] > hi ? e->arg[0] : hi;
        }
    if (nheap)
        printf("\nHeap in use: %" PRIu64 " points, from %" PRIu64 " to %" PRIu64 " bytes\n", nheap,
               lo, hi);
    if (nsamples)
        printf("\nCPU samples: %" PRIu64 " (cprof trace export shows them on the timeline)\n",
               nsamples);
}

/* ---- Threads by name ------------------------------------------------------------------ */

struct thread_group {
    char name[64];
    size_t count, started, ended;
    int64_t *lives; /* lifetimes of the threads that started and ended in the trace */
    size_t nlives;
};

static int cmp_group(const void *a, const void *b)
{
    const struct thread_group *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* The groups, most threads first; *lives_out is the one array that every
 * group's `lives` points into (free it after the groups). */
static struct thread_group *group_threads(const struct analysis *a, size_t *ngroups,
                                          int64_t **lives_out)
{
    const cprof_trace *t = a->t;
    struct thread_group *g = calloc(t->nthreads ? t->nthreads : 1, sizeof *g);
    int64_t *lives = calloc(t->nthreads ? t->nthreads : 1, sizeof *lives);
    if (!g || !lives) {
        free(g);
        free(lives);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->nthreads; i++) {
        const struct thread_stats *s = &a->th[i];
        char nb[64];
        const char *name = thread_label(&t->threads[i], s, nb, sizeof nb);
        size_t k = 0;
        while (k < n && strcmp(g[k].name, name) != 0)
            k++;
        if (k == n)
            snprintf(g[n++].name, sizeof g[0].name, "%s", name);
        g[k].count++;
        g[k].started += (size_t)s->started;
        g[k].ended += (size_t)s->ended;
    }
    /* Each group's lifetimes, one slice of `lives` per group. */
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        g[k].lives = lives + at;
        for (size_t i = 0; i < t->nthreads; i++) {
            const struct thread_stats *s = &a->th[i];
            char nb[64];
            if (s->started && s->ended &&
                !strcmp(thread_label(&t->threads[i], s, nb, sizeof nb), g[k].name))
                g[k].lives[g[k].nlives++] = s->end - s->begin;
        }
        at += g[k].nlives;
    }
    qsort(g, n, sizeof *g, cmp_group);
    *ngroups = n;
    *lives_out = lives;
    return g;
}

/* How many threads of each name, how many came and went during the trace,
 * and how long those lived: a thread per unit of work shows here at once,
 * where the per-thread table below runs to thousands of lines. */
static int print_thread_groups(const struct analysis *a)
{
    size_t n = 0;
    int64_t *lives = NULL;
    struct thread_group *g = group_threads(a, &n, &lives);
    if (!g)
        return -1;
    size_t started = 0, ended = 0;
    for (size_t k = 0; k < n; k++) {
        started += g[k].started;
        ended += g[k].ended;
    }
    printf("\nThreads by name: %zu in the trace, %zu started and %zu ended during it\n",
           a->t->nthreads, started, ended);
    printf("  %-16s %7s %8s %7s %12s %12s\n", "NAME", "COUNT", "STARTED", "ENDED", "P50 LIFE",
           "MAX LIFE");
    for (size_t k = 0; k < n; k++) {
        char b[2][32];
        qsort(g[k].lives, g[k].nlives, sizeof *g[k].lives, cmp_i64);
        printf("  %-16s %7zu %8zu %7zu %12s %12s\n", g[k].name, g[k].count, g[k].started,
               g[k].ended, g[k].nlives ? fmt_dur(b[0], 32, pct(g[k].lives, g[k].nlives, 50)) : "-",
               g[k].nlives ? fmt_dur(b[1], 32, g[k].lives[g[k].nlives - 1]) : "-");
    }
    printf("  (P50/MAX LIFE: of the threads that started and ended within the trace)\n");
    free(lives);
    free(g);
    return 0;
}

static int run_summary(const cprof_trace *t, const char *path)
{
    struct analysis a;
    int rc = analyse(t, &a);
    if (!rc) {
        print_header(t, path);
        rc = print_thread_groups(&a);
        if (!rc)
            print_threads(&a);
        rc = rc ? rc : print_span_table(&a, SPAN_TASK, "Tasks");
        rc = rc ? rc : print_span_table(&a, SPAN_REGION, "Regions");
        rc = rc ? rc : print_logs(&a);
        print_counters(t);
        if (a.unmatched_ends)
            printf("\n%" PRIu64 " region or task ends without a begin in the trace (begun "
                   "before it started)\n",
                   a.unmatched_ends);
    }
    analysis_free(&a);
    if (rc)
        tool_error("trace summary: out of memory");
    return rc ? 1 : 0;
}

/* ---- pprof ------------------------------------------------------------------------------ */

/* Samples keyed by (stack or syscall, state, thread): summed here, since
 * the builder does not merge. */
struct psample {
    uint64_t key, state;
    uint32_t thread;
    int64_t count, ns;
};

static int cmp_psample(const void *a, const void *b)
{
    const struct psample *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->state != y->state)
        return x->state < y->state ? -1 : 1;
    return x->thread < y->thread ? -1 : x->thread > y->thread;
}

/* Collects the spans the profile counts, merged by key. */
static struct psample *collect_samples(const struct analysis *a, int sync, size_t *count)
{
    struct psample *v = malloc((a->n ? a->n : 1) * sizeof *v);
    size_t n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        const struct span *s = &a->spans[i];
        int want = sync ? s->kind == SPAN_WAIT && is_sync_state(s->what) : s->kind == SPAN_SYSCALL;
        if (want)
            v[n++] = (struct psample){sync ? s->stack : s->what, sync ? s->what : 0, s->bthread, 1,
                                      s->end - s->begin};
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_psample);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && !cmp_psample(&v[u - 1], &v[i])) {
            v[u - 1].count++;
            v[u - 1].ns = sat_add(v[u - 1].ns, v[i].ns);
            continue;
        }
        v[u++] = v[i];
    }
    *count = u;
    return v;
}

/* A location for pc with the frames of its SYMBOL record; no symbol, no
 * lines (pprof then shows the address). */
static uint64_t pc_location(cprof_pb *pb, const cprof_trace *t, uint64_t pc)
{
    const cprof_trace_symbol *sym = cprof_trace_symbol_at(t, pc);
    cprof_pb_line lines[16];
    size_t n = 0;
    for (uint32_t i = 0; sym && i < sym->nframes && n < 16; i++) {
        const cprof_trace_frame *f = &sym->frames[i];
        lines[n].function_id = cprof_pb_function(pb, f->func, f->func, f->file, 0);
        lines[n++].line = f->line;
    }
    return cprof_pb_location(pb, 0, pc, lines, n);
}

/* A location of one made-up frame (a syscall's name, a missing stack). */
static uint64_t pseudo_location(cprof_pb *pb, const char *name, const char *file)
{
    cprof_pb_line line = {cprof_pb_function(pb, name, name, file, 0), 0};
    return cprof_pb_location(pb, 0, 0, &line, 1);
}

#define MAX_FRAMES 256

static size_t sync_locations(cprof_pb *pb, const cprof_trace *t, const struct psample *s,
                             uint64_t *locs)
{
    const cprof_trace_stack *st = s->key ? cprof_trace_stack_by_id(t, s->key) : NULL;
    if (!st || !st->npcs) {
        /* Stack 0: none captured; unknown id: the file lost its STACKs. */
        locs[0] = pseudo_location(pb, s->key ? "[stack not in the trace]" : "[no stack]", "");
        return 1;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < st->npcs && n < MAX_FRAMES; i++)
        locs[n++] = pc_location(pb, t, st->pcs[i]);
    return n;
}

static void add_psample(cprof_pb *pb, const cprof_trace *t, const struct psample *s, int sync)
{
    uint64_t locs[MAX_FRAMES];
    size_t nlocs;
    char buf[48];
    if (sync)
        nlocs = sync_locations(pb, t, s, locs);
    else
        locs[0] = pseudo_location(pb, trace_syscall_name(s->key, buf, sizeof buf), "[syscall]"),
        nlocs = 1;
    const cprof_trace_thread *th = &t->threads[s->thread];
    cprof_pb_label labels[3] = {
        {.key = "tid", .num = th->tid},
        {.key = "thread", .str = th->name[0] ? th->name : "?"},
        {.key = "state", .str = trace_state_name(s->state)},
    };
    int64_t values[2] = {s->count, s->ns};
    cprof_pb_add_sample(pb, locs, nlocs, values, 2, labels, sync ? 3 : 2);
}

/* A new profile of Go's blocking kind (contentions/count, delay/ns, delay
 * shown), spanning the trace, with a comment saying what it was made from. */
static cprof_pb *delay_profile(const cprof_trace *t, const char *kind, const char *path)
{
    cprof_pb *pb = cprof_pb_new();
    if (!pb)
        return NULL;
    cprof_pb_add_sample_type(pb, "contentions", "count");
    cprof_pb_add_sample_type(pb, "delay", "nanoseconds");
    cprof_pb_set_default_sample_type(pb, "delay");
    cprof_pb_set_period(pb, "contentions", "count", 1);
    cprof_pb_set_time(pb, (int64_t)t->start_unix_ns, t->end_ns - t->start_ns);
    char comment[512];
    snprintf(comment, sizeof comment, "%s profile derived from the trace %s by cprof trace pprof",
             kind, path);
    cprof_pb_add_comment(pb, comment);
    return pb;
}

static int build_profile(const cprof_trace *t, const struct analysis *a, int sync, const char *path,
                         const char *out)
{
    size_t n;
    struct psample *samples = collect_samples(a, sync, &n);
    cprof_pb *pb = samples ? delay_profile(t, sync ? "sync" : "syscall", path) : NULL;
    if (!pb) {
        free(samples);
        tool_error("trace pprof: out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        add_psample(pb, t, &samples[i], sync);
    char err[512];
    int rc = cprof_pb_write_file(pb, out, err, sizeof err);
    if (rc)
        tool_error("trace pprof: %s", err);
    cprof_pb_free(pb);
    free(samples);
    return rc ? 1 : 0;
}

/* Scheduling latency: one sample per thread that waited on a run queue,
 * its frame the thread's name (the kernel keeps no stack of where a thread
 * was made runnable), its tid a label. */
static int build_sched_profile(const cprof_trace *t, const struct analysis *a, const char *path,
                               const char *out)
{
    size_t known = 0;
    for (size_t i = 0; i < t->nthreads; i++)
        known += (size_t)a->th[i].has_runq;
    if (!known) {
        tool_error("trace pprof: %s has no schedstat records (written by an older cprof, or "
                   "on a kernel without schedstat): no scheduling latency to show",
                   path);
        return 1;
    }
    cprof_pb *pb = delay_profile(t, "sched (time runnable, waiting for a CPU)", path);
    if (!pb) {
        tool_error("trace pprof: out of memory");
        return 1;
    }
    for (size_t i = 0; i < t->nthreads; i++) {
        const struct thread_stats *st = &a->th[i];
        if (!st->has_runq || !st->runq_ns)
            continue;
        char nb[64];
        const char *name = thread_label(&t->threads[i], st, nb, sizeof nb);
        uint64_t loc = pseudo_location(pb, name, "[run queue]");
        cprof_pb_label labels[2] = {{.key = "tid", .num = t->threads[i].tid},
                                    {.key = "thread", .str = name}};
        int64_t values[2] = {(int64_t)st->runq_slices, st->runq_ns};
        cprof_pb_add_sample(pb, &loc, 1, values, 2, labels, 2);
    }
    char err[512];
    int rc = cprof_pb_write_file(pb, out, err, sizeof err);
    if (rc)
        tool_error("trace pprof: %s", err);
    cprof_pb_free(pb);
    return rc ? 1 : 0;
}

/* Reads o->file, analyses it and hands both to `write`; the status to exit with. */
static int with_analysis(const struct trace_opts *o, const char *what,
                         int (*write)(const struct trace_opts *, const cprof_trace *,
                                      const struct analysis *))
{
    cprof_trace *t = open_trace(o->file);
    if (!t)
        return 1;
    struct analysis a;
    int rc;
    if (analyse(t, &a)) {
        tool_error("%s: out of memory", what);
        rc = 1;
    } else {
        rc = write(o, t, &a);
    }
    analysis_free(&a);
    cprof_trace_free(t);
    return rc;
}

static int write_pprof(const struct trace_opts *o, const cprof_trace *t, const struct analysis *a)
{
    if (!strcmp(o->type, "sched"))
        return build_sched_profile(t, a, o->file, o->out);
    return build_profile(t, a, !strcmp(o->type, "sync"), o->file, o->out);
}

static int run_pprof(const struct trace_opts *o)
{
    if (!o->type) {
        tool_error("trace pprof: -type=sync|syscall|sched is needed (see 'cprof trace pprof -h')");
        return 2;
    }
    if (strcmp(o->type, "sync") && strcmp(o->type, "syscall") && strcmp(o->type, "sched")) {
        tool_error("trace pprof: unknown -type \"%s\" (sync, syscall or sched)", o->type);
        return 2;
    }
    if (!o->out) {
        tool_error("trace pprof: -o OUT.pb.gz is needed");
        return 2;
    }
    return with_analysis(o, "trace pprof", write_pprof);
}

/* ---- export: Chrome trace-event JSON ---------------------------------------------------- */

struct json_out {
    FILE *f;
    const cprof_trace *t;
    int pid;
    int first; /* no comma before the first event */
};

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xe0) == 0xc0 ? 2
                 : (s[0] & 0xf0) == 0xe0 ? 3
                 : (s[0] & 0xf8) == 0xf0 ? 4
                                         : 0;
    if (!len || len > n || (len == 2 && s[0] < 0xc2) || (len == 4 && s[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* A JSON string: escapes, and invalid UTF-8 as U+FFFD (JSON must be UTF-8). */
static void json_str(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);
        if (!len) {
            fputs("\\ufffd", f);
            i++;
        } else if (p[i] == '"' || p[i] == '\\') {
            fprintf(f, "\\%c", p[i++]);
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            fprintf(f, "\\u%04x", p[i++]);
        } else {
            fwrite(p + i, 1, len, f);
            i += len;
        }
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, s, strlen(s));
}

/* Microseconds since the trace began, with nanosecond digits. */
static void json_us(FILE *f, int64_t ns)
{
    if (ns < 0) {
        fputc('-', f);
        ns = -ns;
    }
    fprintf(f, "%" PRId64 ".%03d", ns / 1000, (int)(ns % 1000));
}

/* Opens an event: {"ph":PH,"name":NAME,"cat":CAT,"pid":..,"tid":..,"ts":..
 * — the caller adds fields and closes it with '}'. */
static void json_event(struct json_out *j, const char *ph, const char *name, const char *cat,
                       uint32_t tid, int64_t ns)
{
    fputs(j->first ? "\n" : ",\n", j->f);
    j->first = 0;
    fprintf(j->f, "{\"ph\":\"%s\",\"name\":", ph);
    json_cstr(j->f, name);
    if (cat) {
        fputs(",\"cat\":", j->f);
        json_cstr(j->f, cat);
    }
    fprintf(j->f, ",\"pid\":%d,\"tid\":%u,\"ts\":", j->pid, tid);
    json_us(j->f, ns - j->t->start_ns);
}

static const char *json_thread_name(const cprof_trace *t, const struct analysis *a, size_t i,
                                    char *buf, size_t len)
{
    if (t->threads[i].name[0])
        return t->threads[i].name;
    snprintf(buf, len, a->th[i].unregistered ? "thread %u (not registered)" : "thread %u",
             t->threads[i].tid);
    return buf;
}

static void json_metadata(struct json_out *j, const struct analysis *a)
{
    const cprof_trace *t = j->t;
    char name[64];
    json_event(j, "M", "process_name", NULL, 0, t->start_ns);
    snprintf(name, sizeof name, "pid %d", j->pid);
    fputs(",\"args\":{\"name\":", j->f);
    json_cstr(j->f, name);
    fputs("}}", j->f);
    for (size_t i = 0; i < t->nthreads; i++) {
        json_event(j, "M", "thread_name", NULL, t->threads[i].tid, t->start_ns);
        fputs(",\"args\":{\"name\":", j->f);
        json_cstr(j->f, json_thread_name(t, a, i, name, sizeof name));
        fputs("}}", j->f);
    }
}

/* A slice on a thread's track, before nesting is checked. */
struct slice {
    int64_t begin, end, clipped;
    const struct span *span;
};

static int cmp_slice(const void *a, const void *b)
{
    const struct slice *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1; /* the longer one is the parent */
    return x->span->kind < y->span->kind ? -1 : x->span->kind > y->span->kind;
}

/* Cuts each slice at the end of the one it began in, so that they nest
 * (Perfetto and chrome://tracing drop or misdraw slices that overlap). */
static void nest(struct slice *s, size_t n, int64_t *stack)
{
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        while (depth && stack[depth - 1] <= s[i].begin)
            depth--;
        if (depth && s[i].end > stack[depth - 1]) {
            s[i].clipped = s[i].end - stack[depth - 1];
            s[i].end = stack[depth - 1];
        }
        stack[depth++] = s[i].end; /* at most n deep */
    }
}

static void json_id(FILE *f, uint64_t id)
{
    fprintf(f, "\"0x%" PRIx64 "\"", id);
}

/* A task's async id: its id, made unique when the trace repeats it (a
 * reused tid counts its ids from 1 again), since b/e pair by id. */
static void json_task_id(FILE *f, const struct analysis *a, const struct span *s)
{
    if (!s->same_id)
        json_id(f, s->id);
    else
        fprintf(f, "\"0x%" PRIx64 ".%zu\"", s->id, (size_t)(s - a->spans));
}

static void json_slice(struct json_out *j, const struct slice *s, uint32_t tid)
{
    const struct span *sp = s->span;
    char buf[48];
    const char *name, *cat;
    if (sp->kind == SPAN_REGION) {
        name = str_or(j->t, sp->what, buf, sizeof buf);
        cat = "region";
    } else if (sp->kind == SPAN_WAIT) {
        name = trace_state_name(sp->what);
        cat = "wait";
    } else {
        name = trace_syscall_name(sp->what, buf, sizeof buf);
        cat = trace_is_sleep_syscall(sp->what) ? "sleep" : "syscall";
    }
    json_event(j, "X", name, cat, tid, s->begin);
    fputs(",\"dur\":", j->f);
    json_us(j->f, s->end - s->begin);
    fputs(",\"args\":{", j->f);
    const char *sep = "";
    if (sp->kind == SPAN_REGION) {
        fputs("\"task\":", j->f);
        json_id(j->f, sp->task);
        sep = ",";
    }
    if (sp->kind == SPAN_WAIT) {
        fprintf(j->f, "\"stack\":%" PRIu64, sp->stack);
        sep = ",";
    }
    if (!sp->has_end) {
        fprintf(j->f, "%s\"unfinished\":true", sep);
        sep = ",";
    }
    if (s->clipped) {
        fprintf(j->f, "%s\"clipped_us\":", sep);
        json_us(j->f, s->clipped);
    }
    fputs("}}", j->f);
}

/* The slices of thread ti (its regions, waits and system calls: `idx`, n
 * of them), nested, as X events. */
static int json_slices(struct json_out *j, const struct analysis *a, uint32_t ti, const size_t *idx,
                       size_t n)
{
    if (!n)
        return 0;
    struct slice *s = malloc(n * sizeof *s);
    int64_t *stack = malloc(n * sizeof *stack);
    if (!s || !stack) {
        free(s);
        free(stack);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        s[i] = (struct slice){a->spans[idx[i]].begin, a->spans[idx[i]].end, 0, &a->spans[idx[i]]};
    qsort(s, n, sizeof *s, cmp_slice);
    nest(s, n, stack);
    for (size_t i = 0; i < n; i++)
        json_slice(j, &s[i], j->t->threads[ti].tid);
    free(s);
    free(stack);
    return 0;
}

struct tid_ref {
    uint32_t tid, index;
};

static int cmp_tid_ref(const void *a, const void *b)
{
    const struct tid_ref *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* track[i]: the first thread with thread i's tid. A reused tid is one
 * track in the JSON (tid is the track's key), so its threads' slices must
 * nest together. */
static uint32_t *tracks_of(const cprof_trace *t)
{
    size_t n = t->nthreads;
    struct tid_ref *v = malloc((n ? n : 1) * sizeof *v);
    uint32_t *track = malloc((n ? n : 1) * sizeof *track);
    if (!v || !track) {
        free(v);
        free(track);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (struct tid_ref){t->threads[i].tid, (uint32_t)i};
    if (n)
        qsort(v, n, sizeof *v, cmp_tid_ref);
    for (size_t i = 0; i < n; i++)
        track[v[i].index] = i && v[i - 1].tid == v[i].tid ? track[v[i - 1].index] : v[i].index;
    free(v);
    return track;
}

/* The indexes of the spans drawn on thread tracks (all but tasks), grouped
 * by track: those of track i are idx[off[i]] .. idx[off[i + 1] - 1]. */
static int spans_by_track(const struct analysis *a, const uint32_t *track, size_t **idx,
                          size_t **off)
{
    size_t nt = a->t->nthreads;
    *idx = malloc((a->n ? a->n : 1) * sizeof **idx);
    *off = calloc(nt + 2, sizeof **off);
    if (!*idx || !*off)
        return -1;
    for (size_t i = 0; i < a->n; i++)
        if (a->spans[i].kind != SPAN_TASK)
            (*off)[track[a->spans[i].bthread] + 2]++;
    for (size_t t = 2; t < nt + 2; t++)
        (*off)[t] += (*off)[t - 1];
    for (size_t i = 0; i < a->n; i++)
        if (a->spans[i].kind != SPAN_TASK)
            (*idx)[(*off)[track[a->spans[i].bthread] + 1]++] = i;
    return 0;
}

/* Tasks: async b/e pairs keyed by the task id, begun and ended on
 * whichever threads did it. */
static void json_tasks(struct json_out *j, const struct analysis *a)
{
    char buf[48];
    for (size_t i = 0; i < a->n; i++) {
        const struct span *s = &a->spans[i];
        if (s->kind != SPAN_TASK)
            continue;
        const char *name = str_or(j->t, s->what, buf, sizeof buf);
        json_event(j, "b", name, "task", j->t->threads[s->bthread].tid, s->begin);
        fputs(",\"id\":", j->f);
        json_task_id(j->f, a, s);
        fputs(",\"args\":{\"parent\":", j->f);
        json_id(j->f, s->task);
        fputs("}}", j->f);
        json_event(j, "e", name, "task", j->t->threads[s->ethread].tid, s->end);
        fputs(",\"id\":", j->f);
        json_task_id(j->f, a, s);
        fprintf(j->f, ",\"args\":{%s}}", s->has_end ? "" : "\"unfinished\":true");
    }
}

/* The name of a CPU sample's leaf function, from the SYMBOL records. */
static const char *sample_leaf(const cprof_trace *t, uint64_t stack_id)
{
    const cprof_trace_stack *st = cprof_trace_stack_by_id(t, stack_id);
    const cprof_trace_symbol *sym = st && st->npcs ? cprof_trace_symbol_at(t, st->pcs[0]) : NULL;
    return sym && sym->nframes ? sym->frames[sym->nframes - 1].func : "cpu sample";
}

/* A CPU sample's stack as args.stack: "leaf <- caller <- ...". */
static void json_stack_args(struct json_out *j, uint64_t stack_id)
{
    const cprof_trace_stack *st = cprof_trace_stack_by_id(j->t, stack_id);
    char text[2048];
    size_t len = 0;
    for (uint32_t i = 0; st && i < st->npcs && i < 32 && len < sizeof text - 128; i++) {
        const cprof_trace_symbol *sym = cprof_trace_symbol_at(j->t, st->pcs[i]);
        const char *fn = sym && sym->nframes ? sym->frames[sym->nframes - 1].func : NULL;
        int w = fn ? snprintf(text + len, sizeof text - len, "%s%.60s", i ? " <- " : "", fn)
                   : snprintf(text + len, sizeof text - len, "%s0x%" PRIx64, i ? " <- " : "",
                              st->pcs[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    fputs(",\"args\":{\"stack\":", j->f);
    json_str(j->f, text, len);
    fprintf(j->f, ",\"stack_id\":%" PRIu64 "}}", stack_id);
}

/* Logs and CPU samples as instants, the heap as a counter. */
static void json_points(struct json_out *j, uint32_t ti)
{
    const cprof_trace_thread *th = &j->t->threads[ti];
    char buf[48];
    for (size_t i = 0; i < th->nev; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        if (e->type == TRACE_EV_LOG) {
            const char *cat = str_or(j->t, e->arg[1], buf, sizeof buf);
            json_event(j, "i", cat[0] ? cat : "log", "log", th->tid, e->ns);
            fputs(",\"s\":\"t\",\"args\":{\"message\":", j->f);
            json_str(j->f, cprof_trace_text(j->t, e), e->text_len);
            fputs(",\"task\":", j->f);
            json_id(j->f, e->arg[0]);
            fputs("}}", j->f);
        } else if (e->type == TRACE_EV_HEAP) {
            json_event(j, "C", "heap", "memory", th->tid, e->ns);
            fprintf(j->f, ",\"args\":{\"in use bytes\":%" PRIu64 "}}", e->arg[0]);
        } else if (e->type == TRACE_EV_CPU_SAMPLE) {
            json_event(j, "i", sample_leaf(j->t, e->arg[0]), "cpu", th->tid, e->ns);
            fputs(",\"s\":\"t\"", j->f);
            json_stack_args(j, e->arg[0]);
        }
    }
}

static int write_json(FILE *f, const cprof_trace *t, const struct analysis *a, const char *path)
{
    const char *pid = cprof_trace_info(t, "pid");
    struct json_out j = {f, t, pid ? atoi(pid) : 1, 1};
    fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":", f);
    json_cstr(f, path);
    fprintf(f, ",\"complete\":%s,\"lost_events\":%" PRIu64 "},\"traceEvents\":[",
            t->has_end ? "true" : "false", t->has_end ? t->end_lost : t->lost_in_records);
    json_metadata(&j, a);
    size_t *idx = NULL, *off = NULL;
    uint32_t *track = tracks_of(t);
    int rc = track ? spans_by_track(a, track, &idx, &off) : -1;
    for (uint32_t i = 0; !rc && i < t->nthreads; i++) {
        if (track[i] == i)
            rc = json_slices(&j, a, i, idx + off[i], off[i + 1] - off[i]);
        json_points(&j, i);
    }
    free(track);
    free(idx);
    free(off);
    if (rc)
        return -1;
    json_tasks(&j, a);
    fputs("\n]}\n", f);
    return 0;
}

/* Writes to OUT.tmp.PID and renames: a reader never sees half a file. */
static int export_json(const cprof_trace *t, const struct analysis *a, const char *path,
                       const char *out)
{
    char tmp[4096];
    int to_stdout = !strcmp(out, "-");
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", out, (int)getpid());
    FILE *f = to_stdout ? stdout : fopen(tmp, "we");
    if (!f) {
        tool_error("trace export: cannot create %s: %s", out, strerror(errno));
        return 1;
    }
    int rc = write_json(f, t, a, path);
    if (rc)
        tool_error("trace export: out of memory");
    if (fflush(f) != 0 || ferror(f)) {
        tool_error("trace export: writing %s failed: %s", out, strerror(errno));
        rc = -1;
    }
    if (!to_stdout && fclose(f) != 0 && !rc) {
        tool_error("trace export: writing %s failed: %s", out, strerror(errno));
        rc = -1;
    }
    if (!to_stdout && !rc && rename(tmp, out) != 0) {
        tool_error("trace export: cannot rename %s to %s: %s", tmp, out, strerror(errno));
        rc = -1;
    }
    if (!to_stdout && rc)
        unlink(tmp);
    return rc ? 1 : 0;
}

static int write_export(const struct trace_opts *o, const cprof_trace *t, const struct analysis *a)
{
    return export_json(t, a, o->file, o->out);
}

static int run_export(const struct trace_opts *o)
{
    if (o->format && strcmp(o->format, "json")) {
        tool_error("trace export: unknown -format \"%s\" (json)", o->format);
        return 2;
    }
    if (!o->out) {
        tool_error("trace export: -o OUT.json is needed ('-' for standard output)");
        return 2;
    }
    return with_analysis(o, "trace export", write_export);
}

/* ---- The command ---------------------------------------------------------------------- */

int cmd_trace(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "-help") || !strcmp(sub, "--help") ||
        !strcmp(sub, "help")) {
        usage(stdout);
        return 0;
    }
    if (strcmp(sub, "summary") && strcmp(sub, "pprof") && strcmp(sub, "export")) {
        tool_error("trace: unknown subcommand \"%s\" (summary, pprof or export)", sub);
        return 2;
    }
    struct trace_opts o = {.sub = sub};
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (!strcmp(sub, "pprof"))
        return run_pprof(&o);
    if (!strcmp(sub, "export"))
        return run_export(&o);
    cprof_trace *t = open_trace(o.file);
    if (!t)
        return 1;
    rc = run_summary(t, o.file);
    cprof_trace_free(t);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        tool_error("trace summary: writing the report failed");
        return 1;
    }
    return rc;
}
