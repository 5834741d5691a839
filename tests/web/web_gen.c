/*
 * web_gen.c: synthetic inputs of known shape for the web UI's tests and its
 * performance figures (docs/performance.md, "Web UI").
 *
 *   web_gen trace FILE [EVENTS] [THREADS]
 *       a cprof trace (docs/trace-format.md) of about EVENTS events
 *       (default 1000000) on THREADS threads (default 8): each thread
 *       serves requests one after another, each a task "request" holding a
 *       region "handle" with, inside it, a mutex wait, a region "parse"
 *       with a CPU sample, a read() call and a region "encode"; a log every
 *       16 requests and the heap counter now and then.
 *
 * (The 100,000-sample profile is `test-pprof-write large`.)
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "trace_format.h"

struct out {
    FILE *f;
    uint8_t *p;
    size_t len, cap;
    size_t rec;
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->p = realloc(o->p, o->cap);
        if (!o->p) {
            perror("web_gen");
            exit(1);
        }
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void u32(struct out *o, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(o, x, 4);
}

static void u64(struct out *o, uint64_t v)
{
    u32(o, (uint32_t)v);
    u32(o, (uint32_t)(v >> 32));
}

static void uv(struct out *o, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    put(o, b, n);
}

static void rec_begin(struct out *o, int kind)
{
    o->rec = o->len;
    uint8_t h[8] = {(uint8_t)kind};
    put(o, h, 8);
}

/* Writes out what is buffered: whole records, so that the buffer stays small. */
static void flush(struct out *o)
{
    if (fwrite(o->p, 1, o->len, o->f) != o->len) {
        perror("web_gen: write");
        exit(1);
    }
    o->len = 0;
}

static void rec_end(struct out *o)
{
    uint32_t n = (uint32_t)(o->len - o->rec - 8);
    uint8_t x[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    memcpy(o->p + o->rec + 4, x, 4);
    flush(o);
}

static void string_rec(struct out *o, uint64_t id, const char *s)
{
    rec_begin(o, TRACE_REC_STRING);
    u64(o, id);
    put(o, s, strlen(s));
    rec_end(o);
}

static void clock_rec(struct out *o, uint64_t ns)
{
    rec_begin(o, TRACE_REC_CLOCK);
    u64(o, ns);
    u64(o, ns);
    rec_end(o);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

enum { S_REQUEST = 1, S_HANDLE, S_PARSE, S_ENCODE, S_CAT };
#define T0 1000000000ULL /* the first event's time, ns */

struct thread {
    uint32_t tid;
    uint64_t now, last; /* ns; last: the previous event's time in the open record */
    size_t nev;
    struct out ev; /* the open EVENTS record's payload */
};

static uint64_t written;

static void ev(struct thread *t, int type, uint64_t dt, int n, ...)
{
    t->now += dt;
    uint8_t ty = (uint8_t)type;
    put(&t->ev, &ty, 1);
    uv(&t->ev, t->now - t->last);
    t->last = t->now;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        uv(&t->ev, va_arg(ap, uint64_t));
    va_end(ap);
    t->nev++;
    written++;
}

static void flush_events(struct out *o, struct thread *t, uint64_t next_base)
{
    if (t->ev.len) {
        rec_begin(o, TRACE_REC_EVENTS);
        u32(o, t->tid);
        u32(o, 0);
        u64(o, t->ev.rec); /* the record's base ticks, kept here */
        put(o, t->ev.p, t->ev.len);
        rec_end(o);
    }
    t->ev.len = 0;
    t->ev.rec = next_base;
    t->last = next_base;
}

static int gen_trace(const char *path, uint64_t nevents, int nthreads)
{
    struct out o = {fopen(path, "wb"), NULL, 0, 0, 0};
    if (!o.f) {
        perror(path);
        return 1;
    }
    put(&o, CPROF_TRACE_MAGIC, 8);
    u32(&o, CPROF_TRACE_VERSION);
    u32(&o, 0); /* ticks are nanoseconds */
    u64(&o, 1700000000000000000ULL);
    u64(&o, 0);
    flush(&o);
    rec_begin(&o, TRACE_REC_INFO);
    put(&o, "pid=4242", 8);
    rec_end(&o);
    clock_rec(&o, T0);
    string_rec(&o, S_REQUEST, "request");
    string_rec(&o, S_HANDLE, "handle");
    string_rec(&o, S_PARSE, "parse");
    string_rec(&o, S_ENCODE, "encode");
    string_rec(&o, S_CAT, "req");
    struct thread *th = calloc((size_t)nthreads, sizeof *th);
    for (int i = 0; i < nthreads; i++) {
        th[i].tid = 5000 + (uint32_t)i;
        th[i].now = T0 + (uint64_t)i * 1000;
        th[i].ev.rec = th[i].last = th[i].now;
        ev(&th[i], TRACE_EV_THREAD_START, 0, 0);
    }
    uint64_t per = nevents / (uint64_t)nthreads, ids = 1;
    for (int i = 0; i < nthreads; i++) {
        struct thread *t = &th[i];
        uint64_t req = 0;
        while (t->nev + 16 < per) {
            uint64_t task = ids++, r1 = ids++, r2 = ids++, r3 = ids++;
            ev(t, TRACE_EV_TASK_BEGIN, 2000 + rnd(8000), 3, task, (uint64_t)0, (uint64_t)S_REQUEST);
            ev(t, TRACE_EV_REGION_BEGIN, 100, 3, r1, task, (uint64_t)S_HANDLE);
            ev(t, TRACE_EV_STATE, 500 + rnd(2000), 2, (uint64_t)TRACE_STATE_MUTEX, (uint64_t)1);
            ev(t, TRACE_EV_STATE, 1000 + rnd(20000), 2, (uint64_t)0, (uint64_t)0);
            ev(t, TRACE_EV_REGION_BEGIN, 200, 3, r2, task, (uint64_t)S_PARSE);
            ev(t, TRACE_EV_CPU_SAMPLE, 1000 + rnd(10000), 1, (uint64_t)2);
            ev(t, TRACE_EV_REGION_END, 1000 + rnd(30000), 1, r2);
            uint64_t blocked = 2000 + rnd(40000);
            ev(t, TRACE_EV_SYSCALL, blocked + 500, 2, (uint64_t)SYS_read, blocked);
            ev(t, TRACE_EV_REGION_BEGIN, 300, 3, r3, task, (uint64_t)S_ENCODE);
            ev(t, TRACE_EV_REGION_END, 3000 + rnd(15000), 1, r3);
            if (req % 16 == 0) {
                char msg[64];
                int n = snprintf(msg, sizeof msg, "request %llu done", (unsigned long long)req);
                ev(t, TRACE_EV_LOG, 100, 3, task, (uint64_t)S_CAT, (uint64_t)n);
                put(&t->ev, msg, (size_t)n);
            }
            if (req % 64 == 0 && i == 0)
                ev(t, TRACE_EV_HEAP, 50, 1, (uint64_t)(1 << 20) + rnd(1 << 22));
            ev(t, TRACE_EV_REGION_END, 200, 1, r1);
            ev(t, TRACE_EV_TASK_END, 100, 1, task);
            req++;
            if (t->ev.len > 60000)
                flush_events(&o, t, t->now);
        }
        ev(t, TRACE_EV_THREAD_END, 1000, 0);
        flush_events(&o, t, t->now);
    }
    uint64_t end = 0;
    for (int i = 0; i < nthreads; i++) {
        end = th[i].now > end ? th[i].now : end;
        char name[32];
        snprintf(name, sizeof name, "worker-%d", i);
        rec_begin(&o, TRACE_REC_THREAD);
        u32(&o, th[i].tid);
        u32(&o, 0);
        put(&o, name, strlen(name));
        rec_end(&o);
        free(th[i].ev.p);
    }
    clock_rec(&o, end);
    /* Stack 1: the mutex wait; stack 2: the CPU sample. */
    static const char *const frames[2][3] = {{"pthread_mutex_lock", "take_lock", "handle_request"},
                                             {"parse_json", "handle_request", "main"}};
    for (uint64_t s = 1; s <= 2; s++) {
        rec_begin(&o, TRACE_REC_STACK);
        u64(&o, s);
        u32(&o, 3);
        u32(&o, 0);
        for (uint64_t k = 0; k < 3; k++)
            u64(&o, 0x400000 + s * 0x1000 + k * 0x10);
        rec_end(&o);
        for (uint64_t k = 0; k < 3; k++) {
            rec_begin(&o, TRACE_REC_SYMBOL);
            u64(&o, 0x400000 + s * 0x1000 + k * 0x10);
            u32(&o, 1);
            u32(&o, 0);
            const char *fn = frames[s - 1][k];
            uv(&o, 10 + k);
            uv(&o, strlen(fn));
            put(&o, fn, strlen(fn));
            uv(&o, 6);
            put(&o, "synt.c", 6);
            rec_end(&o);
        }
    }
    rec_begin(&o, TRACE_REC_END);
    u64(&o, written);
    u64(&o, 0);
    u64(&o, end - T0);
    rec_end(&o);
    free(th);
    free(o.p);
    if (fclose(o.f)) {
        perror(path);
        return 1;
    }
    printf("web_gen: %s: %llu events on %d threads, %.3f s\n", path, (unsigned long long)written,
           nthreads, (double)(end - T0) / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "trace"))
        return gen_trace(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000,
                         argc > 4 ? atoi(argv[4]) : 8);
    fprintf(stderr, "usage: web_gen trace FILE [EVENTS] [THREADS]\n");
    return 2;
}
