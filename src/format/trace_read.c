/*
 * trace_read.c: the trace file reader. Owns getting a trace from bytes to
 * the model of trace_read.h: record framing, the payload of every record
 * kind, event decoding, ticks → nanoseconds through the CLOCK records, and
 * the per-thread, time-ordered event lists.
 *
 * Reading happens in two passes because the CLOCK records a record's
 * events need may come after it, and a thread's EVENTS records may come out
 * of order: the first pass frames and checks every record and keeps the
 * EVENTS records aside; the second sorts them per thread by base ticks and
 * decodes them.
 *
 * Everything is untrusted (the reader is fuzzed): every read is bounded by
 * its record, varints by 10 bytes, counts by the bytes that could hold
 * them. The end of the file inside a record is truncation (a warning, the
 * model up to there); anything inconsistent is corruption (an error).
 */
#include "trace_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_read.h"

/* The writer's largest record is an EVENTS record of one 64 KiB buffer, or a
 * STACK of a few hundred frames: anything near this is not a record. */
#define MAX_RECORD_BYTES ((uint32_t)64 << 20)
/* Files are read whole into memory; larger ones are refused, not swapped. */
#define MAX_FILE_BYTES ((size_t)8 << 30)
#define ARENA_BLOCK    ((size_t)64 << 10)
/* Times are CLOCK_MONOTONIC ns, which counts from boot: 2^58 ns is nine
 * years of uptime. Clamping to it keeps every difference and every sum of
 * a few of them far from overflow in the code that reads the model. */
#define MAX_NS ((int64_t)1 << 58)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- An arena: strings, frames and pcs live as long as the model --------- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

static void *arena_alloc(struct arena_block **arena, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct arena_block *b = *arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = *arena;
        *arena = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

static char *arena_str(struct arena_block **arena, const uint8_t *s, size_t n)
{
    char *p = arena_alloc(arena, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- Growable arrays -------------------------------------------------------- */

/* Makes room for one more element of `size` bytes in *v (n used, *cap). */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / size)
        return -1;
    void *p = realloc(*v, ncap * size);
    if (!p)
        return -1;
    *v = p;
    *cap = ncap;
    return 0;
}

/* ---- Bounded reading ---------------------------------------------------------- */

struct cursor {
    const uint8_t *p, *end;
};

static size_t left(const struct cursor *c)
{
    return (size_t)(c->end - c->p);
}

static int get_u32(struct cursor *c, uint32_t *v)
{
    if (left(c) < 4)
        return -1;
    *v = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 |
         (uint32_t)c->p[3] << 24;
    c->p += 4;
    return 0;
}

static int get_u64(struct cursor *c, uint64_t *v)
{
    uint32_t lo, hi;
    if (get_u32(c, &lo) || get_u32(c, &hi))
        return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* At most 10 bytes, and the 10th may only hold the 64th bit. */
static int get_uvarint(struct cursor *c, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (c->p >= c->end)
            return -1;
        uint8_t b = *c->p++;
        if (i == 9 && b > 1)
            return -1;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* A uvarint length, then that many bytes (bounded by the record). */
static int get_lenbytes(struct cursor *c, const uint8_t **bytes, size_t *n)
{
    uint64_t len;
    if (get_uvarint(c, &len) || len > left(c))
        return -1;
    *bytes = c->p;
    *n = (size_t)len;
    c->p += len;
    return 0;
}

/* ---- What the first pass keeps ---------------------------------------------------- */

struct clock_point {
    uint64_t ticks;
    int64_t ns;
};

struct raw_events {
    uint32_t tid, lost;
    uint64_t base;
    size_t order;      /* position in the file: ties keep file order */
    size_t off, len;   /* the events' bytes in the file */
    size_t record_off; /* the record's offset, for error messages */
};

struct string_ent {
    uint64_t id;
    const char *s;
};

struct thread_name {
    uint32_t tid;
    const char *name;
};

struct cprof_trace_priv {
    struct arena_block *arena;
    struct string_ent *strings;
    size_t nstrings, strings_cap;
    cprof_trace_stack *stacks;
    size_t nstacks, stacks_cap;
    cprof_trace_symbol *symbols;
    size_t nsymbols, symbols_cap;
    char *text; /* LOG messages, back to back */
    size_t text_len, text_cap;
    size_t ninfo_cap, nnotes_cap, nthreads_cap, nsched_cap;

    /* Only while reading. */
    struct clock_point *clocks;
    size_t nclocks, clocks_cap;
    struct raw_events *raw;
    size_t nraw, raw_cap;
    struct thread_name *names;
    size_t nnames, names_cap;
    const uint8_t *data;
};

struct reader {
    cprof_trace *t;
    struct cprof_trace_priv *v;
    char *err;
    size_t errlen;
};

static void anomaly(cprof_trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Something odd but survivable: counted, and the first one kept. */
static void anomaly(cprof_trace *t, const char *fmt, ...)
{
    if (t->nanomalies++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->anomaly, sizeof t->anomaly, fmt, ap);
        va_end(ap);
    }
}

static int oom(struct reader *r)
{
    set_err(r->err, r->errlen, "out of memory reading the trace");
    return -1;
}

/* ---- Records, first pass ----------------------------------------------------------- */

static int rec_clock(struct reader *r, struct cursor *c)
{
    uint64_t ticks, ns;
    if (get_u64(c, &ticks) || get_u64(c, &ns))
        return -1;
    struct cprof_trace_priv *v = r->v;
    if (grow((void **)&v->clocks, v->nclocks, &v->clocks_cap, sizeof *v->clocks))
        return oom(r), -2;
    if (ns > (uint64_t)MAX_NS) {
        anomaly(r->t, "CLOCK record beyond nine years of uptime ignored");
        return 0;
    }
    v->clocks[v->nclocks++] = (struct clock_point){ticks, (int64_t)ns};
    return 0;
}

static int rec_string(struct reader *r, struct cursor *c)
{
    uint64_t id;
    if (get_u64(c, &id))
        return -1;
    struct cprof_trace_priv *v = r->v;
    const char *s = arena_str(&v->arena, c->p, left(c));
    if (!s || grow((void **)&v->strings, v->nstrings, &v->strings_cap, sizeof *v->strings))
        return oom(r), -2;
    v->strings[v->nstrings++] = (struct string_ent){id, s};
    return 0;
}

static int rec_thread(struct reader *r, struct cursor *c)
{
    uint32_t tid, zero;
    if (get_u32(c, &tid) || get_u32(c, &zero))
        return -1;
    struct cprof_trace_priv *v = r->v;
    const char *name = arena_str(&v->arena, c->p, left(c));
    if (!name || grow((void **)&v->names, v->nnames, &v->names_cap, sizeof *v->names))
        return oom(r), -2;
    v->names[v->nnames++] = (struct thread_name){tid, name};
    return 0;
}

static int rec_events(struct reader *r, struct cursor *c, size_t record_off)
{
    struct raw_events e = {.record_off = record_off};
    if (get_u32(c, &e.tid) || get_u32(c, &e.lost) || get_u64(c, &e.base))
        return -1;
    struct cprof_trace_priv *v = r->v;
    e.off = (size_t)(c->p - v->data);
    e.len = left(c);
    e.order = v->nraw;
    r->t->lost_in_records += e.lost;
    if (grow((void **)&v->raw, v->nraw, &v->raw_cap, sizeof *v->raw))
        return oom(r), -2;
    v->raw[v->nraw++] = e;
    return 0;
}

static int rec_stack(struct reader *r, struct cursor *c)
{
    uint64_t id;
    uint32_t n, zero;
    if (get_u64(c, &id) || get_u32(c, &n) || get_u32(c, &zero) || n > left(c) / 8)
        return -1;
    struct cprof_trace_priv *v = r->v;
    uint64_t *pcs = arena_alloc(&v->arena, (size_t)n * 8 + 1);
    if (!pcs || grow((void **)&v->stacks, v->nstacks, &v->stacks_cap, sizeof *v->stacks))
        return oom(r), -2;
    for (uint32_t i = 0; i < n; i++)
        get_u64(c, &pcs[i]);
    v->stacks[v->nstacks++] = (cprof_trace_stack){id, pcs, n};
    return 0;
}

static int get_frame(struct reader *r, struct cursor *c, cprof_trace_frame *f)
{
    uint64_t line;
    const uint8_t *s;
    size_t n;
    if (get_uvarint(c, &line))
        return -1;
    f->line = (int64_t)(line & INT64_MAX);
    if (get_lenbytes(c, &s, &n))
        return -1;
    if (!(f->func = arena_str(&r->v->arena, s, n)))
        return oom(r), -2;
    if (get_lenbytes(c, &s, &n))
        return -1;
    if (!(f->file = arena_str(&r->v->arena, s, n)))
        return oom(r), -2;
    return 0;
}

static int rec_symbol(struct reader *r, struct cursor *c)
{
    uint64_t pc;
    uint32_t n, zero;
    /* A frame takes at least 3 bytes: bounds n before allocating. */
    if (get_u64(c, &pc) || get_u32(c, &n) || get_u32(c, &zero) || n > left(c) / 3)
        return -1;
    struct cprof_trace_priv *v = r->v;
    cprof_trace_frame *frames = arena_alloc(&v->arena, (size_t)n * sizeof *frames + 1);
    if (!frames || grow((void **)&v->symbols, v->nsymbols, &v->symbols_cap, sizeof *v->symbols))
        return oom(r), -2;
    for (uint32_t i = 0; i < n; i++) {
        int rc = get_frame(r, c, &frames[i]);
        if (rc)
            return rc;
    }
    v->symbols[v->nsymbols++] = (cprof_trace_symbol){pc, frames, n};
    return 0;
}

static int rec_end(struct reader *r, struct cursor *c)
{
    cprof_trace *t = r->t;
    if (get_u64(c, &t->end_written) || get_u64(c, &t->end_lost) || get_u64(c, &t->end_duration_ns))
        return -1;
    if (t->has_end)
        anomaly(t, "more than one END record");
    t->has_end = 1;
    return 0;
}

static int rec_info(struct reader *r, struct cursor *c)
{
    cprof_trace *t = r->t;
    char *s = arena_str(&r->v->arena, c->p, left(c));
    if (!s || grow((void **)&t->info, t->ninfo, &r->v->ninfo_cap, sizeof *t->info))
        return oom(r), -2;
    t->info[t->ninfo++] = s;
    return 0;
}

static int rec_note(struct reader *r, struct cursor *c)
{
    cprof_trace *t = r->t;
    uint64_t ns;
    if (get_u64(c, &ns))
        return -1;
    const char *s = arena_str(&r->v->arena, c->p, left(c));
    if (!s || grow((void **)&t->notes, t->nnotes, &r->v->nnotes_cap, sizeof *t->notes))
        return oom(r), -2;
    t->notes[t->nnotes++] =
        (struct cprof_trace_note){ns > (uint64_t)MAX_NS ? MAX_NS : (int64_t)ns, s};
    return 0;
}

static int rec_sched(struct reader *r, struct cursor *c)
{
    cprof_trace *t = r->t;
    uint32_t tid, zero;
    uint64_t ns, run, wait, slices;
    if (get_u32(c, &tid) || get_u32(c, &zero) || get_u64(c, &ns) || get_u64(c, &run) ||
        get_u64(c, &wait) || get_u64(c, &slices))
        return -1;
    if (grow((void **)&t->sched, t->nsched, &r->v->nsched_cap, sizeof *t->sched))
        return oom(r), -2;
    t->sched[t->nsched++] = (struct cprof_trace_sched){
        tid, ns > (uint64_t)MAX_NS ? MAX_NS : (int64_t)ns, run, wait, slices};
    return 0;
}

static const char *record_name(int kind)
{
    static const char *const names[] = {
        [TRACE_REC_CLOCK] = "CLOCK",   [TRACE_REC_STRING] = "STRING", [TRACE_REC_THREAD] = "THREAD",
        [TRACE_REC_EVENTS] = "EVENTS", [TRACE_REC_STACK] = "STACK",   [TRACE_REC_SYMBOL] = "SYMBOL",
        [TRACE_REC_END] = "END",       [TRACE_REC_INFO] = "INFO",     [TRACE_REC_NOTE] = "NOTE",
        [TRACE_REC_SCHED] = "SCHED",
    };
    return kind > 0 && kind < (int)(sizeof names / sizeof names[0]) ? names[kind] : "unknown";
}

/* One record's payload. 0, or -1 with err set. */
static int record(struct reader *r, int kind, struct cursor *c, size_t off)
{
    int rc;
    switch (kind) {
    case TRACE_REC_CLOCK:
        rc = rec_clock(r, c);
        break;
    case TRACE_REC_STRING:
        rc = rec_string(r, c);
        break;
    case TRACE_REC_THREAD:
        rc = rec_thread(r, c);
        break;
    case TRACE_REC_EVENTS:
        rc = rec_events(r, c, off);
        break;
    case TRACE_REC_STACK:
        rc = rec_stack(r, c);
        break;
    case TRACE_REC_SYMBOL:
        rc = rec_symbol(r, c);
        break;
    case TRACE_REC_END:
        rc = rec_end(r, c);
        break;
    case TRACE_REC_INFO:
        rc = rec_info(r, c);
        break;
    case TRACE_REC_NOTE:
        rc = rec_note(r, c);
        break;
    case TRACE_REC_SCHED:
        rc = rec_sched(r, c);
        break;
    default:
        /* A kind from a later writer: the framing lets us step over it. */
        anomaly(r->t, "record of unknown kind %d at byte %zu skipped", kind, off);
        return 0;
    }
    if (rc == -1)
        set_err(r->err, r->errlen, "corrupt %s record at byte %zu: its payload is malformed",
                record_name(kind), off);
    return rc ? -1 : 0;
}

static void cut_short(cprof_trace *t, size_t off)
{
    t->truncated = 1;
    t->truncated_at = off;
    snprintf(t->warning, sizeof t->warning,
             "truncated at byte %zu: the process was probably killed; reading what came before",
             off);
}

static int check_header(struct reader *r, const uint8_t *data, size_t len)
{
    if (len == 0)
        return set_err(r->err, r->errlen, "empty file"), -1;
    if (len < 8 || memcmp(data, CPROF_TRACE_MAGIC, 8))
        return set_err(r->err, r->errlen, "not a cprof trace (bad magic)"), -1;
    if (len < CPROF_TRACE_HEADER)
        return set_err(r->err, r->errlen, "truncated in the header (%zu of %d bytes)", len,
                       CPROF_TRACE_HEADER),
               -1;
    struct cursor c = {data + 8, data + CPROF_TRACE_HEADER};
    get_u32(&c, &r->t->version);
    get_u32(&c, &r->t->flags);
    get_u64(&c, &r->t->start_unix_ns);
    if (r->t->version != CPROF_TRACE_VERSION)
        return set_err(r->err, r->errlen, "trace format version %u, this reader knows %d",
                       r->t->version, CPROF_TRACE_VERSION),
               -1;
    return 0;
}

/* Frames every record; stops at the end or at truncation. 0 or -1. */
static int first_pass(struct reader *r, const uint8_t *data, size_t len)
{
    size_t off = CPROF_TRACE_HEADER;
    while (off < len) {
        if (len - off < CPROF_TRACE_RECORD) {
            cut_short(r->t, off);
            return 0;
        }
        int kind = data[off];
        uint32_t length;
        struct cursor h = {data + off + 4, data + off + 8};
        get_u32(&h, &length);
        if (kind == 0 || data[off + 1] || data[off + 2] || data[off + 3])
            return set_err(r->err, r->errlen,
                           "corrupt record header at byte %zu (not a cprof trace record)", off),
                   -1;
        if (length > MAX_RECORD_BYTES)
            return set_err(r->err, r->errlen,
                           "corrupt record at byte %zu: it claims %u bytes, more than any record",
                           off, length),
                   -1;
        if (length > len - off - CPROF_TRACE_RECORD) {
            cut_short(r->t, off);
            return 0;
        }
        struct cursor c = {data + off + CPROF_TRACE_RECORD,
                           data + off + CPROF_TRACE_RECORD + length};
        if (record(r, kind, &c, off))
            return -1;
        off += CPROF_TRACE_RECORD + (size_t)length;
    }
    if (!r->t->has_end)
        cut_short(r->t, off);
    return 0;
}

/* ---- Time ---------------------------------------------------------------------------- */

static int cmp_clock(const void *a, const void *b)
{
    const struct clock_point *x = a, *y = b;
    if (x->ticks != y->ticks)
        return x->ticks < y->ticks ? -1 : 1;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

/* Sorts the points by ticks and drops those whose time does not advance
 * with the ticks: interpolation needs a monotonic function. */
static void prepare_clocks(struct reader *r)
{
    struct cprof_trace_priv *v = r->v;
    if (v->nclocks > 1)
        qsort(v->clocks, v->nclocks, sizeof *v->clocks, cmp_clock);
    size_t n = 0;
    for (size_t i = 0; i < v->nclocks; i++) {
        if (n && (v->clocks[i].ticks == v->clocks[n - 1].ticks ||
                  v->clocks[i].ns <= v->clocks[n - 1].ns)) {
            if (v->clocks[i].ticks != v->clocks[n - 1].ticks ||
                v->clocks[i].ns != v->clocks[n - 1].ns)
                anomaly(r->t, "CLOCK record out of step with the others ignored");
            continue;
        }
        v->clocks[n++] = v->clocks[i];
    }
    v->nclocks = n;
    if ((r->t->flags & 1) && n < 2 && v->nraw)
        anomaly(r->t, "fewer than two CLOCK records: TSC ticks read as nanoseconds");
}

static int64_t clamp_ns(__int128 x)
{
    return x > MAX_NS ? MAX_NS : x < 0 ? 0 : (int64_t)x;
}

/* ns = a.ns + (ticks - a.ticks) * (b.ns - a.ns) / (b.ticks - a.ticks). */
static int64_t along(const struct clock_point *a, const struct clock_point *b, uint64_t ticks)
{
    __int128 dt = (__int128)ticks - (__int128)a->ticks;
    __int128 span = (__int128)b->ticks - (__int128)a->ticks;
    return clamp_ns((__int128)a->ns + dt * ((__int128)b->ns - a->ns) / span);
}

/* Ticks to monotonic ns: piecewise linear between the CLOCK points around
 * `ticks`; outside them, the line through the first and last points. */
static int64_t to_ns(const struct cprof_trace_priv *v, uint64_t ticks)
{
    const struct clock_point *c = v->clocks;
    size_t n = v->nclocks;
    if (n == 0)
        return clamp_ns(ticks);
    if (n == 1)
        return clamp_ns((__int128)c[0].ns + ((__int128)ticks - c[0].ticks));
    if (ticks < c[0].ticks || ticks >= c[n - 1].ticks)
        return along(&c[0], &c[n - 1], ticks);
    size_t lo = 0, hi = n - 1; /* c[lo].ticks <= ticks < c[hi].ticks */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].ticks <= ticks)
            lo = mid;
        else
            hi = mid;
    }
    return along(&c[lo], &c[hi], ticks);
}

/* A duration in ticks that ended at `end` ticks, in ns. */
static uint64_t span_ns(const struct cprof_trace_priv *v, uint64_t end, uint64_t ticks)
{
    uint64_t begin = ticks > end ? 0 : end - ticks;
    int64_t d = to_ns(v, end) - to_ns(v, begin);
    return d > 0 ? (uint64_t)d : 0;
}

/* ---- Events, second pass -------------------------------------------------------------- */

static int cmp_raw(const void *a, const void *b)
{
    const struct raw_events *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->base != y->base)
        return x->base < y->base ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* How many uvarint arguments an event type has; -1 for an unknown type. */
static int event_nargs(int type)
{
    switch (type) {
    case TRACE_EV_THREAD_START:
    case TRACE_EV_THREAD_END:
        return 0;
    case TRACE_EV_TASK_END:
    case TRACE_EV_REGION_END:
    case TRACE_EV_HEAP:
    case TRACE_EV_CPU_SAMPLE:
        return 1;
    case TRACE_EV_STATE:
    case TRACE_EV_LOG: /* then length and bytes */
    case TRACE_EV_SYSCALL:
        return 2;
    case TRACE_EV_TASK_BEGIN:
    case TRACE_EV_REGION_BEGIN:
        return 3;
    default:
        return -1;
    }
}

static cprof_trace_thread *new_thread(struct reader *r, uint32_t tid)
{
    cprof_trace *t = r->t;
    if (grow((void **)&t->threads, t->nthreads, &r->v->nthreads_cap, sizeof *t->threads))
        return NULL;
    cprof_trace_thread *th = &t->threads[t->nthreads++];
    *th = (cprof_trace_thread){.tid = tid, .name = ""};
    return th;
}

struct ev_list {
    cprof_trace_ev *ev;
    size_t n, cap;
};

static int keep_text(struct reader *r, cprof_trace_ev *e, const uint8_t *s, size_t n)
{
    struct cprof_trace_priv *v = r->v;
    if (n > UINT32_MAX || v->text_len > UINT32_MAX - n)
        return -1;
    while (v->text_cap - v->text_len < n) {
        size_t cap = v->text_cap ? v->text_cap * 2 : 4096;
        char *p = realloc(v->text, cap);
        if (!p)
            return -1;
        v->text = p;
        v->text_cap = cap;
    }
    if (n) /* text is NULL until the first non-empty message */
        memcpy(v->text + v->text_len, s, n);
    e->text_off = (uint32_t)v->text_len;
    e->text_len = (uint32_t)n;
    v->text_len += n;
    return 0;
}

/* Reads one event at c; *ticks advances by its delta. 0, -1 corrupt, -2 oom. */
static int one_event(struct reader *r, struct cursor *c, uint64_t *ticks, cprof_trace_ev *e)
{
    int type = *c->p++;
    int nargs = event_nargs(type);
    uint64_t delta;
    if (nargs < 0 || get_uvarint(c, &delta) || *ticks + delta < *ticks)
        return -1;
    *ticks += delta;
    *e = (cprof_trace_ev){.ns = to_ns(r->v, *ticks), .type = (uint8_t)type};
    for (int i = 0; i < nargs; i++)
        if (get_uvarint(c, &e->arg[i]))
            return -1;
    if (type == TRACE_EV_SYSCALL) { /* a call cannot begin before time 0 */
        e->arg[1] = span_ns(r->v, *ticks, e->arg[1]);
        e->arg[1] = e->arg[1] > (uint64_t)e->ns ? (uint64_t)e->ns : e->arg[1];
    }
    if (type == TRACE_EV_LOG) {
        const uint8_t *s;
        size_t n;
        if (get_lenbytes(c, &s, &n))
            return -1;
        if (keep_text(r, e, s, n))
            return -2;
    }
    return 0;
}

static int push_event(struct ev_list *l, const cprof_trace_ev *e)
{
    if (grow((void **)&l->ev, l->n, &l->cap, sizeof *l->ev))
        return -1;
    l->ev[l->n++] = *e;
    return 0;
}

/* Hands the collected events to the thread and starts a new list. */
static void settle(cprof_trace_thread *th, struct ev_list *l)
{
    if (!th) {
        free(l->ev);
    } else {
        th->ev = l->ev;
        th->nev = l->n;
    }
    *l = (struct ev_list){0};
}

static int cmp_ev(const void *a, const void *b)
{
    const cprof_trace_ev *x = a, *y = b;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

/* Events of one thread are in order once its records are; a file that
 * says otherwise is repaired (qsort is not stable, so ties lose their
 * order: an anomaly in its own right). */
static void order_events(cprof_trace *t, cprof_trace_thread *th)
{
    for (size_t i = 1; i < th->nev; i++)
        if (th->ev[i].ns < th->ev[i - 1].ns) {
            anomaly(t, "events of thread %u out of time order; sorted", th->tid);
            qsort(th->ev, th->nev, sizeof *th->ev, cmp_ev);
            return;
        }
}

struct decode_state {
    cprof_trace_thread *th; /* the incarnation being filled */
    struct ev_list list;
    int ended;
};

/* Starts the events of a new thread: a new tid, or a THREAD_START after a
 * THREAD_END (the tid was reused). The previous one is finished first,
 * because new_thread may move the array d->th points into. */
static int begin_incarnation(struct reader *r, struct decode_state *d, uint32_t tid)
{
    if (d->th) {
        settle(d->th, &d->list);
        order_events(r->t, d->th);
    }
    d->th = new_thread(r, tid);
    d->ended = 0;
    return d->th ? 0 : -2;
}

static int decode_record(struct reader *r, struct decode_state *d, const struct raw_events *raw)
{
    struct cursor c = {r->v->data + raw->off, r->v->data + raw->off + raw->len};
    uint64_t ticks = raw->base;
    int first = 1;
    while (c.p < c.end) {
        cprof_trace_ev e;
        size_t at = (size_t)(c.p - r->v->data);
        unsigned type = *c.p;
        int rc = one_event(r, &c, &ticks, &e);
        if (rc == -1) {
            set_err(r->err, r->errlen,
                    "corrupt EVENTS record at byte %zu: bad event of type %u at byte %zu",
                    raw->record_off, type, at);
            return -1;
        }
        if (rc == -2)
            return oom(r);
        if (e.type == TRACE_EV_THREAD_START && d->ended && (rc = begin_incarnation(r, d, raw->tid)))
            return oom(r);
        if (first)
            d->th->lost += raw->lost;
        first = 0;
        if (e.type == TRACE_EV_THREAD_END)
            d->ended = 1;
        if (push_event(&d->list, &e))
            return oom(r);
        r->t->nevents++;
    }
    if (first)
        d->th->lost += raw->lost;
    return 0;
}

static int second_pass(struct reader *r)
{
    struct cprof_trace_priv *v = r->v;
    if (v->nraw > 1)
        qsort(v->raw, v->nraw, sizeof *v->raw, cmp_raw);
    struct decode_state d = {0};
    for (size_t i = 0; i < v->nraw; i++) {
        if (i == 0 || v->raw[i].tid != v->raw[i - 1].tid) {
            if (begin_incarnation(r, &d, v->raw[i].tid))
                return free(d.list.ev), oom(r);
        }
        int rc = decode_record(r, &d, &v->raw[i]);
        if (rc) {
            free(d.list.ev);
            return rc;
        }
    }
    if (d.th) {
        settle(d.th, &d.list);
        order_events(r->t, d.th);
    }
    return 0;
}

/* ---- Indexes and finishing ---------------------------------------------------------- */

static int cmp_string(const void *a, const void *b)
{
    const struct string_ent *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_stack(const void *a, const void *b)
{
    const cprof_trace_stack *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_symbol(const void *a, const void *b)
{
    const cprof_trace_symbol *x = a, *y = b;
    return x->pc < y->pc ? -1 : x->pc > y->pc;
}

static int same_string(const void *a, const void *b)
{
    return !strcmp(((const struct string_ent *)a)->s, ((const struct string_ent *)b)->s);
}

static int same_stack(const void *a, const void *b)
{
    const cprof_trace_stack *x = a, *y = b;
    return x->npcs == y->npcs && !memcmp(x->pcs, y->pcs, (size_t)x->npcs * sizeof *x->pcs);
}

static int same_symbol(const void *a, const void *b)
{
    const cprof_trace_symbol *x = a, *y = b;
    if (x->nframes != y->nframes)
        return 0;
    for (uint32_t i = 0; i < x->nframes; i++)
        if (strcmp(x->frames[i].func, y->frames[i].func) || x->frames[i].line != y->frames[i].line)
            return 0;
    return 1;
}

/* Sorts an id-keyed array for bsearch and keeps one of duplicates. A
 * flight-recorder snapshot repeats records (its strings are sent again):
 * only a repeat that says something else is an anomaly. */
static size_t sort_unique(cprof_trace *t, void *base, size_t n, size_t size,
                          int (*cmp)(const void *, const void *),
                          int (*same)(const void *, const void *), const char *what)
{
    if (n < 2)
        return n;
    qsort(base, n, size, cmp);
    char *p = base;
    size_t out = 1;
    for (size_t i = 1; i < n; i++) {
        if (!cmp(p + (out - 1) * size, p + i * size)) {
            if (!same(p + (out - 1) * size, p + i * size))
                anomaly(t, "%s records with the same id and different contents", what);
            continue;
        }
        memmove(p + out * size, p + i * size, size);
        out++;
    }
    return out;
}

/* THREAD records name the incarnation of their tid alive at the end; a
 * named thread without events (idle all along) still gets an entry. */
static int apply_names(struct reader *r)
{
    struct cprof_trace_priv *v = r->v;
    for (size_t i = 0; i < v->nnames; i++) {
        cprof_trace_thread *th = NULL;
        for (size_t k = r->t->nthreads; k-- > 0;)
            if (r->t->threads[k].tid == v->names[i].tid) {
                th = &r->t->threads[k];
                break;
            }
        if (!th && !(th = new_thread(r, v->names[i].tid)))
            return oom(r);
        th->name = v->names[i].name;
    }
    return 0;
}

static int64_t first_ns(const cprof_trace_thread *th)
{
    return th->nev ? th->ev[0].ns : INT64_MAX;
}

static int cmp_thread(const void *a, const void *b)
{
    const cprof_trace_thread *x = a, *y = b;
    int64_t fx = first_ns(x), fy = first_ns(y);
    if (fx != fy)
        return fx < fy ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* When a thread's earliest known activity began: its first event, or a
 * system call that was already blocking then (a SYSCALL event is written
 * when the call returns, and the call may have begun before the first
 * CLOCK record). */
static int64_t earliest(const cprof_trace_thread *th)
{
    int64_t lo = th->ev[0].ns;
    for (size_t i = 0; i < th->nev; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        if (e->type != TRACE_EV_SYSCALL)
            continue;
        int64_t began = e->ns - (int64_t)e->arg[1]; /* arg[1] <= ns: one_event */
        lo = began < lo ? began : lo;
    }
    return lo;
}

/* The trace's span: from the first CLOCK or activity to the last. */
static void set_span(cprof_trace *t, const struct cprof_trace_priv *v)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    if (v->nclocks) {
        lo = v->clocks[0].ns;
        hi = v->clocks[v->nclocks - 1].ns;
    }
    for (size_t i = 0; i < t->nthreads; i++) {
        const cprof_trace_thread *th = &t->threads[i];
        if (!th->nev)
            continue;
        int64_t first = earliest(th);
        lo = first < lo ? first : lo;
        hi = th->ev[th->nev - 1].ns > hi ? th->ev[th->nev - 1].ns : hi;
    }
    t->start_ns = lo == INT64_MAX ? 0 : lo;
    t->end_ns = hi == INT64_MIN ? t->start_ns : hi;
}

static void finish(struct reader *r)
{
    cprof_trace *t = r->t;
    struct cprof_trace_priv *v = r->v;
    v->nstrings = sort_unique(t, v->strings, v->nstrings, sizeof *v->strings, cmp_string,
                              same_string, "STRING");
    v->nstacks =
        sort_unique(t, v->stacks, v->nstacks, sizeof *v->stacks, cmp_stack, same_stack, "STACK");
    v->nsymbols = sort_unique(t, v->symbols, v->nsymbols, sizeof *v->symbols, cmp_symbol,
                              same_symbol, "SYMBOL");
    if (t->nthreads > 1)
        qsort(t->threads, t->nthreads, sizeof *t->threads, cmp_thread);
    set_span(t, v);
    free(v->clocks);
    free(v->raw);
    free(v->names);
    v->clocks = NULL;
    v->raw = NULL;
    v->names = NULL;
    v->data = NULL;
}

cprof_trace *cprof_trace_parse(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    cprof_trace *t = calloc(1, sizeof *t);
    struct cprof_trace_priv *v = calloc(1, sizeof *v);
    if (!t || !v) {
        free(t);
        free(v);
        set_err(err, errlen, "out of memory reading the trace");
        return NULL;
    }
    t->priv = v;
    v->data = data;
    struct reader r = {t, v, err, errlen};
    if (check_header(&r, data, len) || first_pass(&r, data, len))
        goto fail;
    prepare_clocks(&r);
    if (second_pass(&r) || apply_names(&r))
        goto fail;
    finish(&r);
    return t;
fail:
    free(v->clocks);
    free(v->raw);
    free(v->names);
    cprof_trace_free(t);
    return NULL;
}

/* ---- Files ------------------------------------------------------------------------ */

static const char *open_error(int e)
{
    switch (e) {
    case ENOENT:
        return "no such file";
    case EACCES:
        return "permission denied";
    case EISDIR:
        return "is a directory, not a trace";
    case EFBIG:
        return "file too large to read into memory";
    default:
        return strerror(e);
    }
}

cprof_trace *cprof_trace_read_file(const char *path, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    if (format_read_file(path, MAX_FILE_BYTES, &data, &len)) {
        set_err(err, errlen, "%s: %s", path, open_error(errno));
        return NULL;
    }
    char why[256] = "";
    cprof_trace *t = cprof_trace_parse(data, len, why, sizeof why);
    free(data);
    if (!t)
        set_err(err, errlen, "%s: %s", path, why);
    return t;
}

void cprof_trace_free(cprof_trace *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nthreads; i++)
        free(t->threads[i].ev);
    free(t->threads);
    free(t->info);
    free(t->notes);
    free(t->sched);
    struct cprof_trace_priv *v = t->priv;
    if (v) {
        for (struct arena_block *b = v->arena, *next; b; b = next) {
            next = b->next;
            free(b);
        }
        free(v->strings);
        free(v->stacks);
        free(v->symbols);
        free(v->text);
        free(v);
    }
    free(t);
}

/* ---- Lookups ------------------------------------------------------------------------ */

const char *cprof_trace_string(const cprof_trace *t, uint64_t id)
{
    const struct cprof_trace_priv *v = t->priv;
    struct string_ent key = {id, NULL};
    const struct string_ent *e =
        v->nstrings ? bsearch(&key, v->strings, v->nstrings, sizeof *v->strings, cmp_string) : NULL;
    return e ? e->s : NULL;
}

const cprof_trace_stack *cprof_trace_stack_by_id(const cprof_trace *t, uint64_t id)
{
    const struct cprof_trace_priv *v = t->priv;
    cprof_trace_stack key = {.id = id};
    return v->nstacks ? bsearch(&key, v->stacks, v->nstacks, sizeof *v->stacks, cmp_stack) : NULL;
}

const cprof_trace_symbol *cprof_trace_symbol_at(const cprof_trace *t, uint64_t pc)
{
    const struct cprof_trace_priv *v = t->priv;
    cprof_trace_symbol key = {.pc = pc};
    return v->nsymbols ? bsearch(&key, v->symbols, v->nsymbols, sizeof *v->symbols, cmp_symbol)
                       : NULL;
}

const char *cprof_trace_text(const cprof_trace *t, const cprof_trace_ev *ev)
{
    const struct cprof_trace_priv *v = t->priv;
    if (ev->type != TRACE_EV_LOG || !v->text || (size_t)ev->text_off + ev->text_len > v->text_len)
        return "";
    return v->text + ev->text_off;
}

const char *cprof_trace_info(const cprof_trace *t, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < t->ninfo; i++)
        if (!strncmp(t->info[i], key, n) && t->info[i][n] == '=')
            return t->info[i] + n + 1;
    return NULL;
}
