/*
 * test-trace-read: the trace reader against hand-made files whose every
 * byte is known: tick → ns interpolation, records out of order, a reused
 * tid, lost counts, stacks and symbols, unknown record kinds, a file cut at
 * every byte, and each kind of corruption the reader must name.
 *
 *   test-trace-read            run the checks
 *   test-trace-read seeds DIR  write the hand-made files as a fuzzing corpus
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_read.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                 \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* ---- Writing trace files by hand --------------------------------------------------- */

struct buf {
    uint8_t p[1 << 16];
    size_t len;
    size_t rec; /* the open record's offset */
};

static void put(struct buf *b, const void *p, size_t n)
{
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void u64(struct buf *b, uint64_t v)
{
    u32(b, (uint32_t)v);
    u32(b, (uint32_t)(v >> 32));
}

static void uv(struct buf *b, uint64_t v)
{
    while (v >= 0x80) {
        b->p[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (uint8_t)v;
}

static void header(struct buf *b, uint32_t flags)
{
    b->len = 0;
    put(b, CPROF_TRACE_MAGIC, 8);
    u32(b, CPROF_TRACE_VERSION);
    u32(b, flags);
    u64(b, 1700000000000000000ULL);
    u64(b, 0);
}

static void begin(struct buf *b, int kind)
{
    b->rec = b->len;
    uint8_t h[8] = {(uint8_t)kind};
    put(b, h, 8);
}

static void end(struct buf *b)
{
    uint32_t n = (uint32_t)(b->len - b->rec - 8);
    uint8_t x[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    memcpy(b->p + b->rec + 4, x, 4);
}

static void clock_rec(struct buf *b, uint64_t ticks, uint64_t ns)
{
    begin(b, TRACE_REC_CLOCK);
    u64(b, ticks);
    u64(b, ns);
    end(b);
}

static void string_rec(struct buf *b, uint64_t id, const char *s)
{
    begin(b, TRACE_REC_STRING);
    u64(b, id);
    put(b, s, strlen(s));
    end(b);
}

static void events_begin(struct buf *b, uint32_t tid, uint32_t lost, uint64_t base)
{
    begin(b, TRACE_REC_EVENTS);
    u32(b, tid);
    u32(b, lost);
    u64(b, base);
}

/* One event: type, delta, n arguments. */
static void ev(struct buf *b, int type, uint64_t delta, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    b->p[b->len++] = (uint8_t)type;
    uv(b, delta);
    for (int i = 0; i < n; i++)
        uv(b, va_arg(ap, uint64_t));
    va_end(ap);
}

static void thread_rec(struct buf *b, uint32_t tid, const char *name)
{
    begin(b, TRACE_REC_THREAD);
    u32(b, tid);
    u32(b, 0);
    put(b, name, strlen(name));
    end(b);
}

static void end_rec(struct buf *b, uint64_t written, uint64_t lost)
{
    begin(b, TRACE_REC_END);
    u64(b, written);
    u64(b, lost);
    u64(b, 1000);
    end(b);
}

/* ---- The files ------------------------------------------------------------------------ */

/* TSC ticks at 2 per ns: CLOCK (1000 ticks, 5000 ns) and (3000, 6000). */
static void basic(struct buf *b)
{
    header(b, 1);
    begin(b, TRACE_REC_INFO);
    put(b, "pid=42", 6);
    end(b);
    clock_rec(b, 1000, 5000);
    string_rec(b, 1, "req");
    string_rec(b, 2, "cat");
    events_begin(b, 7, 3, 1000);
    ev(b, TRACE_EV_TASK_BEGIN, 0, 3, (uint64_t)9, (uint64_t)0, (uint64_t)1);
    ev(b, TRACE_EV_REGION_BEGIN, 200, 3, (uint64_t)10, (uint64_t)9, (uint64_t)1);
    ev(b, TRACE_EV_STATE, 100, 2, (uint64_t)TRACE_STATE_MUTEX, (uint64_t)1);
    ev(b, TRACE_EV_STATE, 100, 2, (uint64_t)0, (uint64_t)0);
    ev(b, TRACE_EV_REGION_END, 200, 1, (uint64_t)10);
    ev(b, TRACE_EV_SYSCALL, 100, 2, (uint64_t)0, (uint64_t)200);
    ev(b, TRACE_EV_LOG, 100, 2, (uint64_t)9, (uint64_t)2);
    uv(b, 2);
    put(b, "hi", 2);
    ev(b, TRACE_EV_TASK_END, 1000, 1, (uint64_t)9);
    end(b);
    clock_rec(b, 3000, 6000);
    thread_rec(b, 7, "worker");
    begin(b, TRACE_REC_STACK);
    u64(b, 1);
    u32(b, 2);
    u32(b, 0);
    u64(b, 0x101);
    u64(b, 0x401000);
    end(b);
    begin(b, TRACE_REC_SYMBOL);
    u64(b, 0x401000);
    u32(b, 2);
    u32(b, 0);
    uv(b, 12);
    uv(b, 6);
    put(b, "inlined", 6);
    uv(b, 3);
    put(b, "a.c", 3);
    uv(b, 30);
    uv(b, 5);
    put(b, "outer", 5);
    uv(b, 3);
    put(b, "a.c", 3);
    end(b);
    end_rec(b, 8, 3);
}

static void check_basic(void)
{
    struct buf b;
    basic(&b);
    char err[256];
    cprof_trace *t = cprof_trace_parse(b.p, b.len, err, sizeof err);
    CHECK(t != NULL, "%s", err);
    if (!t)
        return;
    CHECK(t->has_end && !t->truncated, "complete");
    CHECK(t->nthreads == 1 && t->threads[0].tid == 7, "one thread 7");
    CHECK(!strcmp(t->threads[0].name, "worker"), "name %s", t->threads[0].name);
    CHECK(t->nevents == 8 && t->end_written == 8 && t->end_lost == 3, "totals");
    CHECK(t->threads[0].lost == 3 && t->lost_in_records == 3, "lost %llu",
          (unsigned long long)t->threads[0].lost);
    const cprof_trace_ev *e = t->threads[0].ev;
    /* ticks 1000, 1200, 1300, 1400, 1600, 1700, 1800, 2800 at 2 ticks/ns */
    int64_t want[] = {5000, 5100, 5150, 5200, 5300, 5350, 5400, 5900};
    for (int i = 0; i < 8; i++)
        CHECK(e[i].ns == want[i], "event %d at %lld, want %lld", i, (long long)e[i].ns,
              (long long)want[i]);
    CHECK(e[5].type == TRACE_EV_SYSCALL && e[5].arg[1] == 100, "syscall of 200 ticks = 100 ns");
    CHECK(e[6].text_len == 2 && !memcmp(cprof_trace_text(t, &e[6]), "hi", 2), "log text");
    CHECK(!strcmp(cprof_trace_string(t, 1), "req") && !cprof_trace_string(t, 3), "strings");
    CHECK(!strcmp(cprof_trace_info(t, "pid"), "42"), "info");
    const cprof_trace_stack *st = cprof_trace_stack_by_id(t, 1);
    CHECK(st && st->npcs == 2 && st->pcs[1] == 0x401000, "stack");
    const cprof_trace_symbol *sym = cprof_trace_symbol_at(t, 0x401000);
    CHECK(sym && sym->nframes == 2 && !strcmp(sym->frames[0].func, "inline") &&
              !strcmp(sym->frames[1].func, "outer") && sym->frames[1].line == 30,
          "symbol");
    CHECK(!cprof_trace_symbol_at(t, 0x101) && !cprof_trace_stack_by_id(t, 2), "missing ids");
    CHECK(t->start_ns == 5000 && t->end_ns == 6000, "span %lld..%lld", (long long)t->start_ns,
          (long long)t->end_ns);
    cprof_trace_free(t);
}

/* Records of a thread out of order, events before and after the CLOCK
 * points (extrapolated), a second thread, a tid reused, an unknown kind. */
static void ordering(struct buf *b)
{
    header(b, 1);
    clock_rec(b, 1000, 1000);
    events_begin(b, 5, 0, 3000);
    ev(b, TRACE_EV_REGION_END, 1000, 1, (uint64_t)1); /* ticks 4000: after the last point */
    end(b);
    events_begin(b, 5, 0, 500); /* before the first point */
    ev(b, TRACE_EV_REGION_BEGIN, 0, 3, (uint64_t)1, (uint64_t)0, (uint64_t)0);
    end(b);
    begin(b, 200); /* a record kind from the future */
    u64(b, 0);
    end(b);
    events_begin(b, 6, 0, 1500);
    ev(b, TRACE_EV_THREAD_START, 0, 0);
    ev(b, TRACE_EV_THREAD_END, 10, 0);
    end(b);
    events_begin(b, 6, 0, 1600);
    ev(b, TRACE_EV_THREAD_START, 0, 0);
    ev(b, TRACE_EV_HEAP, 10, 1, (uint64_t)4096);
    end(b);
    clock_rec(b, 3000, 2000); /* 2 ticks per ns */
    thread_rec(b, 6, "second");
    end_rec(b, 6, 0);
}

static void check_ordering(void)
{
    struct buf b;
    ordering(&b);
    char err[256];
    cprof_trace *t = cprof_trace_parse(b.p, b.len, err, sizeof err);
    CHECK(t != NULL, "%s", err);
    if (!t)
        return;
    CHECK(t->nthreads == 3, "threads %zu (5, and 6 twice)", t->nthreads);
    CHECK(t->nanomalies == 1, "the unknown kind is an anomaly: %s", t->anomaly);
    const cprof_trace_thread *t5 = NULL, *t6a = NULL, *t6b = NULL;
    for (size_t i = 0; i < t->nthreads; i++) {
        const cprof_trace_thread *th = &t->threads[i];
        if (th->tid == 5)
            t5 = th;
        else if (!t6a)
            t6a = th;
        else
            t6b = th;
    }
    CHECK(t5 && t5->nev == 2 && t5->ev[0].type == TRACE_EV_REGION_BEGIN, "records sorted");
    CHECK(t5 && t5->ev[0].ns == 750 && t5->ev[1].ns == 2500, "extrapolated %lld %lld",
          t5 ? (long long)t5->ev[0].ns : 0, t5 ? (long long)t5->ev[1].ns : 0);
    CHECK(t6a && t6b && t6a->nev == 2 && t6b->nev == 2, "tid 6 reused: two threads");
    CHECK(t6a && t6b && !t6a->name[0] && !strcmp(t6b->name, "second"),
          "the name goes to the last one");
    CHECK(t->threads[0].tid == 5, "threads in order of their first event");
    cprof_trace_free(t);
}

/* Cut at every byte: below the header an error, then a warning. */
static void check_truncation(void)
{
    struct buf b;
    basic(&b);
    for (size_t n = 0; n < b.len; n++) {
        char err[256] = "";
        cprof_trace *t = cprof_trace_parse(b.p, n, err, sizeof err);
        if (n < CPROF_TRACE_HEADER) {
            CHECK(!t && err[0] && !strchr(err, '\n'), "cut at %zu: error", n);
            cprof_trace_free(t);
            continue;
        }
        CHECK(t && t->truncated && !t->has_end, "cut at %zu: read with a warning (%s)", n, err);
        if (t)
            CHECK(strstr(t->warning, "truncated at byte") != NULL, "warning %s", t->warning);
        cprof_trace_free(t);
    }
}

/* Each kind of damage: an error naming it, one line. */
static void expect_error(const uint8_t *p, size_t n, const char *want, const char *what)
{
    char err[256] = "";
    cprof_trace *t = cprof_trace_parse(p, n, err, sizeof err);
    CHECK(!t, "%s: read", what);
    CHECK(strstr(err, want) && !strchr(err, '\n'), "%s: error \"%s\", want \"%s\"", what, err,
          want);
    cprof_trace_free(t);
}

static void check_corruption(void)
{
    struct buf b, c;
    basic(&b);
    const size_t first_rec = CPROF_TRACE_HEADER;
    expect_error(b.p, 0, "empty", "empty");
    memcpy(&c, &b, sizeof c);
    c.p[0] = 'X';
    expect_error(c.p, c.len, "bad magic", "magic");
    memcpy(&c, &b, sizeof c);
    c.p[8] = 9;
    expect_error(c.p, c.len, "version 9", "version");
    memcpy(&c, &b, sizeof c);
    c.p[first_rec + 2] = 1;
    expect_error(c.p, c.len, "corrupt record header", "reserved bytes");
    memcpy(&c, &b, sizeof c);
    c.p[first_rec] = 0;
    expect_error(c.p, c.len, "corrupt record header", "kind 0");
    memcpy(&c, &b, sizeof c);
    c.p[first_rec + 7] = 0x7f;
    expect_error(c.p, c.len, "claims", "huge length");

    /* An event of unknown type. */
    header(&c, 0);
    events_begin(&c, 1, 0, 0);
    ev(&c, 99, 0, 0);
    end(&c);
    expect_error(c.p, c.len, "corrupt EVENTS record", "event type");
    /* A varint of 11 bytes. */
    header(&c, 0);
    events_begin(&c, 1, 0, 0);
    c.p[c.len++] = TRACE_EV_HEAP;
    for (int i = 0; i < 11; i++)
        c.p[c.len++] = 0xff;
    c.p[c.len++] = 0;
    end(&c);
    expect_error(c.p, c.len, "corrupt EVENTS record", "long varint");
    /* A log whose text runs past its record. */
    header(&c, 0);
    events_begin(&c, 1, 0, 0);
    ev(&c, TRACE_EV_LOG, 0, 3, (uint64_t)0, (uint64_t)1, (uint64_t)50);
    end(&c);
    expect_error(c.p, c.len, "corrupt EVENTS record", "log length");
    /* A stack claiming more pcs than its record holds. */
    header(&c, 0);
    begin(&c, TRACE_REC_STACK);
    u64(&c, 1);
    u32(&c, 1000000);
    u32(&c, 0);
    end(&c);
    expect_error(c.p, c.len, "corrupt STACK record", "stack count");
    /* A symbol frame whose name runs past its record. */
    header(&c, 0);
    begin(&c, TRACE_REC_SYMBOL);
    u64(&c, 1);
    u32(&c, 1);
    u32(&c, 0);
    uv(&c, 1);
    uv(&c, 200);
    put(&c, "x", 1);
    end(&c);
    expect_error(c.p, c.len, "corrupt SYMBOL record", "symbol name");
    /* Ticks that wrap around. */
    header(&c, 0);
    events_begin(&c, 1, 0, UINT64_MAX - 1);
    ev(&c, TRACE_EV_HEAP, 5, 1, (uint64_t)0);
    end(&c);
    expect_error(c.p, c.len, "corrupt EVENTS record", "tick overflow");
}

static int write_seeds(const char *dir)
{
    struct buf b;
    void (*make[])(struct buf *) = {basic, ordering};
    for (size_t i = 0; i < sizeof make / sizeof make[0]; i++) {
        make[i](&b);
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%zu.cpt", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(b.p, 1, b.len, f) != b.len || fclose(f) != 0) {
            fprintf(stderr, "test-trace-read: cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "seeds"))
        return write_seeds(argv[2]);
    check_basic();
    check_ordering();
    check_truncation();
    check_corruption();
    if (failures) {
        printf("%d checks failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
