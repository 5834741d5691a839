/*
 * web_trace.c: lays a trace out for the Timeline of `cprof web` (see
 * web_trace.h for the layout). The pairing of events into spans follows
 * `cprof trace summary` (cmd_trace.c): a wait runs from a STATE != 0 to the
 * next STATE (or the thread's end); a system call is one event carrying how
 * long it blocked; regions and tasks pair begins with ends by id, tasks
 * possibly across threads; what never ends ends with its thread (regions)
 * or with the trace (tasks).
 */
#include "web_trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "trace_names.h"
#include "trace_read.h"

/* At most this many lanes per thread for its waits and calls, for its
 * regions, and for the tasks: deeper ones are left out of the drawing (and
 * counted), not out of the tables. */
#define STATE_LANES  4
#define REGION_LANES 32
#define TASK_LANES   32
/* Log messages whose text is sent (the points are all sent). */
#define MAX_LOG_TEXTS 200000

enum { GROUP_STATE, GROUP_REGION, GROUP_TASK };

struct tspan {
    int64_t b, e;
    uint64_t raw;    /* region: its task's id; task: its parent's id */
    uint32_t thread; /* UINT32_MAX: the tasks' rows */
    uint32_t what, aux, id;
    uint16_t lane;
    uint8_t kind, group;
};

struct tpoint {
    int64_t ns;
    double value;
    uint64_t raw;             /* log: its task's id */
    const cprof_trace_ev *ev; /* log: the event, for its text */
    uint32_t thread, what, aux;
    uint8_t kind;
};

struct web_trace {
    cprof_trace *t;
    const char *path;
    web_names names;
    char **owned; /* names made here ("0x1234", "syscall 7") */
    size_t nowned, owned_cap;
    struct idmap stack_ids; /* trace stack id → index + 1 in stacks */
    uint64_t *stacks;
    size_t nstacks, stacks_cap;
    struct tspan *spans;
    size_t nspans, spans_cap;
    struct tpoint *points;
    size_t npoints, points_cap;
    int64_t *life_b, *life_e;
    uint8_t *unregistered;
    uint64_t unmatched_ends, dropped;
    uint32_t ntasks;
    int oom;
    wbuf meta, data;
};

/* ---- small containers ------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 1024;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

/* ---- names --------------------------------------------------------------------- */

static uint32_t name_id(struct web_trace *w, const char *s)
{
    int64_t id = web_names_intern(&w->names, s ? s : "");
    if (id < 0) {
        w->oom = 1;
        return 0;
    }
    return (uint32_t)id;
}

/* A name made here: kept until the trace is freed. */
static uint32_t owned_name(struct web_trace *w, const char *s)
{
    char *copy = strdup(s);
    if (!copy || grow((void **)&w->owned, &w->owned_cap, w->nowned + 1, sizeof *w->owned)) {
        free(copy);
        w->oom = 1;
        return 0;
    }
    w->owned[w->nowned++] = copy;
    return name_id(w, copy);
}

static uint32_t string_name(struct web_trace *w, uint64_t id)
{
    const char *s = cprof_trace_string(w->t, id);
    if (s)
        return name_id(w, s);
    char buf[48];
    snprintf(buf, sizeof buf, "string %" PRIu64, id);
    return owned_name(w, buf);
}

static uint32_t syscall_name(struct web_trace *w, uint64_t nr)
{
    const char *known = trace_syscall_known_name(nr);
    if (known)
        return name_id(w, known);
    char buf[48];
    return owned_name(w, trace_syscall_name(nr, buf, sizeof buf));
}

/* The index + 1 of a stack in the JSON's "stacks" (0: none). */
static uint32_t stack_ref(struct web_trace *w, uint64_t id)
{
    if (!id)
        return 0;
    uint32_t k = idmap_get(&w->stack_ids, id);
    if (k)
        return k;
    if (grow((void **)&w->stacks, &w->stacks_cap, w->nstacks + 1, sizeof *w->stacks) ||
        idmap_put(&w->stack_ids, id, (uint32_t)w->nstacks + 1)) {
        w->oom = 1;
        return 0;
    }
    w->stacks[w->nstacks++] = id;
    return (uint32_t)w->nstacks;
}

/* ---- spans and points ----------------------------------------------------------- */

static struct tspan *add_span(struct web_trace *w, int kind, uint32_t thread, int64_t b, int64_t e)
{
    if (grow((void **)&w->spans, &w->spans_cap, w->nspans + 1, sizeof *w->spans)) {
        w->oom = 1;
        return NULL;
    }
    struct tspan *s = &w->spans[w->nspans++];
    memset(s, 0, sizeof *s);
    s->b = b;
    s->e = e;
    s->kind = (uint8_t)kind;
    s->thread = thread;
    s->group = kind == WEB_SPAN_REGION ? GROUP_REGION
               : kind == WEB_SPAN_TASK ? GROUP_TASK
                                       : GROUP_STATE;
    return s;
}

static struct tpoint *add_point(struct web_trace *w, int kind, uint32_t thread, int64_t ns)
{
    if (grow((void **)&w->points, &w->points_cap, w->npoints + 1, sizeof *w->points)) {
        w->oom = 1;
        return NULL;
    }
    struct tpoint *p = &w->points[w->npoints++];
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    p->thread = thread;
    p->ns = ns;
    return p;
}

/* A thread lives from its THREAD_START (else the trace's start) to its
 * THREAD_END (else the trace's end). */
static void lifetime(struct web_trace *w, uint32_t ti)
{
    const cprof_trace_thread *th = &w->t->threads[ti];
    int64_t b = w->t->start_ns, e = w->t->end_ns;
    int registered = th->name[0] != '\0';
    for (size_t i = 0; i < th->nev; i++) {
        if (th->ev[i].type == TRACE_EV_THREAD_START && i == 0)
            b = th->ev[i].ns;
        if (th->ev[i].type == TRACE_EV_THREAD_END)
            e = th->ev[i].ns;
        registered |=
            th->ev[i].type == TRACE_EV_THREAD_START || th->ev[i].type == TRACE_EV_THREAD_END;
    }
    w->life_b[ti] = b;
    w->life_e[ti] = e > b ? e : b;
    w->unregistered[ti] = !registered;
}

/* Waits, system calls, region and task begins, logs and samples of one thread. */
static void thread_events(struct web_trace *w, uint32_t ti, struct idmap *regions,
                          struct idmap *tasks)
{
    const cprof_trace_thread *th = &w->t->threads[ti];
    struct tspan *wait = NULL;
    for (size_t i = 0; i < th->nev && !w->oom; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        struct tspan *s;
        struct tpoint *p;
        if ((e->type == TRACE_EV_STATE || e->type == TRACE_EV_THREAD_END) && wait) {
            wait->e = e->ns;
            wait->kind &= (uint8_t)~WEB_SPAN_OPEN_END;
            if (e->type == TRACE_EV_THREAD_END)
                wait->kind |= WEB_SPAN_OPEN_END;
            wait = NULL;
        }
        switch (e->type) {
        case TRACE_EV_STATE:
            if (e->arg[0] == TRACE_STATE_RUNNING)
                break;
            if (!(s = add_span(w, WEB_SPAN_WAIT, ti, e->ns, e->ns)))
                return;
            s->what = name_id(w, trace_state_name(e->arg[0]));
            s->aux = stack_ref(w, e->arg[1]);
            s->id = (uint32_t)e->arg[0];
            s->kind |= WEB_SPAN_OPEN_END;
            wait = s;
            break;
        case TRACE_EV_SYSCALL: {
            int64_t dur = e->arg[1] > (uint64_t)e->ns ? e->ns : (int64_t)e->arg[1];
            if (!(s = add_span(w, WEB_SPAN_SYSCALL, ti, e->ns - dur, e->ns)))
                return;
            s->what = syscall_name(w, e->arg[0]);
            s->aux = (uint32_t)trace_is_sleep_syscall(e->arg[0]);
            break;
        }
        case TRACE_EV_REGION_BEGIN:
        case TRACE_EV_TASK_BEGIN: {
            int region = e->type == TRACE_EV_REGION_BEGIN;
            if (!(s = add_span(w, region ? WEB_SPAN_REGION : WEB_SPAN_TASK,
                               region ? ti : UINT32_MAX, e->ns, e->ns)))
                return;
            s->what = string_name(w, e->arg[2]);
            s->raw = e->arg[1];
            s->kind |= WEB_SPAN_OPEN_END;
            if (!region)
                s->id = ++w->ntasks;
            if (idmap_put(region ? regions : tasks, e->arg[0], (uint32_t)w->nspans))
                w->oom = 1;
            break;
        }
        case TRACE_EV_LOG:
            if (!(p = add_point(w, WEB_POINT_LOG, ti, e->ns)))
                return;
            p->what = string_name(w, e->arg[1]);
            p->raw = e->arg[0];
            p->ev = e;
            break;
        case TRACE_EV_CPU_SAMPLE:
            if (!(p = add_point(w, WEB_POINT_CPU, ti, e->ns)))
                return;
            p->aux = stack_ref(w, e->arg[0]);
            break;
        case TRACE_EV_HEAP:
            if (!(p = add_point(w, WEB_POINT_HEAP, UINT32_MAX, e->ns)))
                return;
            p->value = (double)e->arg[0];
            break;
        default:
            break;
        }
    }
    if (wait)
        wait->e = w->life_e[ti] > wait->b ? w->life_e[ti] : wait->b;
}

/* Region and task ends, on whichever thread they happened. */
static void thread_ends(struct web_trace *w, uint32_t ti, const struct idmap *regions,
                        const struct idmap *tasks)
{
    const cprof_trace_thread *th = &w->t->threads[ti];
    for (size_t i = 0; i < th->nev; i++) {
        const cprof_trace_ev *e = &th->ev[i];
        int region = e->type == TRACE_EV_REGION_END;
        if (!region && e->type != TRACE_EV_TASK_END)
            continue;
        uint32_t k = idmap_get(region ? regions : tasks, e->arg[0]);
        struct tspan *s = k ? &w->spans[k - 1] : NULL;
        if (!s || !(s->kind & WEB_SPAN_OPEN_END) || s->b > e->ns) {
            w->unmatched_ends++; /* begun before the trace started */
            continue;
        }
        s->e = e->ns;
        s->kind &= (uint8_t)~WEB_SPAN_OPEN_END;
    }
}

/* Open regions end with their thread, open tasks with the trace; a
 * region's task and a task's parent become task numbers. */
static void finish_spans(struct web_trace *w, const struct idmap *tasks)
{
    for (size_t i = 0; i < w->nspans; i++) {
        struct tspan *s = &w->spans[i];
        int kind = s->kind & 0x3f;
        if (kind != WEB_SPAN_REGION && kind != WEB_SPAN_TASK)
            continue;
        if (s->kind & WEB_SPAN_OPEN_END) {
            int64_t end = kind == WEB_SPAN_REGION ? w->life_e[s->thread] : w->t->end_ns;
            s->e = end > s->b ? end : s->b;
        }
        uint32_t k = s->raw ? idmap_get(tasks, s->raw) : 0;
        s->aux = k ? w->spans[k - 1].id : 0;
    }
    for (size_t i = 0; i < w->npoints; i++) {
        uint32_t k = w->points[i].raw ? idmap_get(tasks, w->points[i].raw) : 0;
        w->points[i].aux =
            w->points[i].kind == WEB_POINT_LOG && k ? w->spans[k - 1].id : w->points[i].aux;
    }
}

/* ---- lanes ----------------------------------------------------------------------- */

static int cmp_for_lanes(const void *x, const void *y)
{
    const struct tspan *a = x, *b = y;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->b != b->b)
        return a->b < b->b ? -1 : 1;
    return (a->e < b->e) - (a->e > b->e); /* the longer (outer) one first */
}

static int cmp_by_lane(const void *x, const void *y)
{
    const struct tspan *a = x, *b = y;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->lane != b->lane)
        return a->lane < b->lane ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

/* First fit: each span in the lowest lane whose last span has ended; a
 * properly nested region lands one lane below its parent. Spans that fit
 * in no lane are dropped from the drawing. */
static void lay_out(struct web_trace *w)
{
    if (!w->nspans)
        return;
    qsort(w->spans, w->nspans, sizeof *w->spans, cmp_for_lanes);
    int64_t last[REGION_LANES > TASK_LANES ? REGION_LANES : TASK_LANES];
    size_t out = 0;
    for (size_t i = 0; i < w->nspans;) {
        size_t j = i;
        while (j < w->nspans && w->spans[j].thread == w->spans[i].thread &&
               w->spans[j].group == w->spans[i].group)
            j++;
        int max = w->spans[i].group == GROUP_STATE    ? STATE_LANES
                  : w->spans[i].group == GROUP_REGION ? REGION_LANES
                                                      : TASK_LANES;
        int used = 0;
        for (size_t k = i; k < j; k++) {
            struct tspan s = w->spans[k];
            int lane = 0;
            while (lane < used && last[lane] > s.b)
                lane++;
            if (lane == max) {
                w->dropped++;
                continue;
            }
            if (lane == used)
                used++;
            last[lane] = s.e;
            s.lane = (uint16_t)lane;
            w->spans[out++] = s;
        }
        i = j;
    }
    w->nspans = out;
    qsort(w->spans, w->nspans, sizeof *w->spans, cmp_by_lane);
}

static int cmp_points(const void *x, const void *y)
{
    const struct tpoint *a = x, *b = y;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return (a->ns > b->ns) - (a->ns < b->ns);
}

/* ---- the answers ----------------------------------------------------------------- */

static void put_sep(wbuf *b, size_t i)
{
    if (i)
        wb_put(b, ",", 1);
}

static void put_thread_ref(wbuf *b, uint32_t thread)
{
    if (thread == UINT32_MAX)
        wb_puts(b, "-1");
    else
        wb_printf(b, "%u", thread);
}

static void write_data(struct web_trace *w)
{
    wbuf *d = &w->data;
    uint32_t hdr[4] = {0, 1, (uint32_t)w->nspans, (uint32_t)w->npoints};
    memcpy(hdr, "CPWT", 4);
    wb_put(d, hdr, sizeof hdr);
    int64_t t0 = w->t->start_ns;
    for (size_t i = 0; i < w->nspans; i++) {
        double v = (double)(w->spans[i].b - t0);
        wb_put(d, &v, 8);
    }
    for (size_t i = 0; i < w->nspans; i++) {
        double v = (double)(w->spans[i].e - t0);
        wb_put(d, &v, 8);
    }
    for (size_t i = 0; i < w->nspans; i++)
        wb_put(d, &w->spans[i].what, 4);
    for (size_t i = 0; i < w->nspans; i++)
        wb_put(d, &w->spans[i].aux, 4);
    for (size_t i = 0; i < w->nspans; i++)
        wb_put(d, &w->spans[i].id, 4);
    for (size_t i = 0; i < w->nspans; i++)
        wb_put(d, &w->spans[i].kind, 1);
    static const char zeros[8] = {0};
    wb_put(d, zeros, (8 - d->len % 8) % 8);
    for (size_t i = 0; i < w->npoints; i++) {
        double v = (double)(w->points[i].ns - t0);
        wb_put(d, &v, 8);
    }
    for (size_t i = 0; i < w->npoints; i++)
        wb_put(d, &w->points[i].value, 8);
    for (size_t i = 0; i < w->npoints; i++)
        wb_put(d, &w->points[i].what, 4);
    for (size_t i = 0; i < w->npoints; i++)
        wb_put(d, &w->points[i].aux, 4);
    for (size_t i = 0; i < w->npoints; i++)
        wb_put(d, &w->points[i].kind, 1);
    wb_put(d, zeros, (8 - d->len % 8) % 8);
}

static void meta_header(struct web_trace *w, wbuf *m)
{
    const cprof_trace *t = w->t;
    wb_puts(m, "{\"kind\":\"trace\",\"file\":");
    wb_str(m, w->path);
    wb_printf(m,
              ",\"version\":%u,\"startUnixNs\":%" PRIu64 ",\"duration\":%" PRId64
              ",\"events\":%" PRIu64 ",\"hasEnd\":%d,\"written\":%" PRIu64 ",\"lost\":%" PRIu64
              ",\"lostInRecords\":%" PRIu64 ",\"truncated\":%d,\"unmatchedEnds\":%" PRIu64
              ",\"droppedSpans\":%" PRIu64 ",\"anomalies\":%" PRIu64 ",\"tsc\":%d",
              t->version, t->start_unix_ns, t->end_ns - t->start_ns, t->nevents, t->has_end,
              t->end_written, t->end_lost, t->lost_in_records, t->truncated, w->unmatched_ends,
              w->dropped, t->nanomalies, (int)(t->flags & 1));
    wb_puts(m, ",\"warning\":");
    wb_str(m, t->warning);
    wb_puts(m, ",\"anomaly\":");
    wb_str(m, t->anomaly);
    wb_puts(m, ",\"info\":[");
    for (size_t i = 0; i < t->ninfo; i++) {
        put_sep(m, i);
        wb_str(m, t->info[i]);
    }
    wb_puts(m, "],\"notes\":[");
    for (size_t i = 0; i < t->nnotes; i++) {
        put_sep(m, i);
        wb_printf(m, "[%" PRId64 ",", t->notes[i].ns);
        wb_str(m, t->notes[i].text);
        wb_put(m, "]", 1);
    }
    wb_puts(m, "],\"threads\":[");
    for (size_t i = 0; i < t->nthreads; i++) {
        const cprof_trace_thread *th = &t->threads[i];
        put_sep(m, i);
        wb_printf(m, "{\"tid\":%u,\"name\":", th->tid);
        wb_str(m, th->name);
        wb_printf(m,
                  ",\"begin\":%" PRId64 ",\"end\":%" PRId64 ",\"lost\":%" PRIu64
                  ",\"unregistered\":%d,\"events\":%zu}",
                  w->life_b[i] - t->start_ns, w->life_e[i] - t->start_ns, th->lost,
                  w->unregistered[i], th->nev);
    }
    wb_put(m, "]", 1);
}

static void meta_tables(struct web_trace *w, wbuf *m)
{
    const cprof_trace *t = w->t;
    wb_puts(m, ",\"stacks\":[");
    for (size_t i = 0; i < w->nstacks; i++) {
        put_sep(m, i);
        wb_put(m, "[", 1);
        const cprof_trace_stack *st = cprof_trace_stack_by_id(t, w->stacks[i]);
        size_t k = 0;
        for (uint32_t f = 0; st && f < st->npcs; f++) {
            const cprof_trace_symbol *sym = cprof_trace_symbol_at(t, st->pcs[f]);
            if (!sym || !sym->nframes) {
                char buf[32];
                snprintf(buf, sizeof buf, "0x%" PRIx64, st->pcs[f]);
                put_sep(m, k++);
                wb_printf(m, "%u", owned_name(w, buf));
                continue;
            }
            for (uint32_t j = 0; j < sym->nframes; j++) {
                put_sep(m, k++);
                wb_printf(m, "%u", name_id(w, sym->frames[j].func));
            }
        }
        wb_put(m, "]", 1);
    }
    wb_puts(m, "],\"lanes\":[");
    size_t nl = 0;
    for (size_t i = 0, j; i < w->nspans; i = j) {
        const struct tspan *s = &w->spans[i];
        for (j = i + 1; j < w->nspans && w->spans[j].thread == s->thread &&
                        w->spans[j].group == s->group && w->spans[j].lane == s->lane;)
            j++;
        put_sep(m, nl++);
        wb_put(m, "[", 1);
        put_thread_ref(m, s->thread);
        wb_printf(m, ",%d,%d,%zu,%zu]", s->group, s->lane, i, j - i);
    }
    wb_puts(m, "],\"pointLanes\":[");
    nl = 0;
    for (size_t i = 0, j; i < w->npoints; i = j) {
        const struct tpoint *p = &w->points[i];
        for (j = i + 1;
             j < w->npoints && w->points[j].thread == p->thread && w->points[j].kind == p->kind;)
            j++;
        put_sep(m, nl++);
        wb_put(m, "[", 1);
        put_thread_ref(m, p->thread);
        wb_printf(m, ",%d,%zu,%zu]", p->kind, i, j - i);
    }
    /* Log texts, in point order; a log point's value is its index here. */
    wb_puts(m, "],\"logs\":[");
    size_t nlogs = 0;
    for (size_t i = 0; i < w->npoints; i++) {
        struct tpoint *p = &w->points[i];
        if (p->kind != WEB_POINT_LOG)
            continue;
        p->value = -1;
        if (nlogs == MAX_LOG_TEXTS || !p->ev)
            continue;
        p->value = (double)nlogs;
        put_sep(m, nlogs++);
        wb_strn(m, cprof_trace_text(t, p->ev), p->ev->text_len);
    }
    wb_put(m, "]", 1);
}

static void write_meta(struct web_trace *w)
{
    wbuf *m = &w->meta;
    meta_header(w, m);
    meta_tables(w, m);
    wb_puts(m, ",\"names\":[");
    for (size_t i = 0; i < w->names.n; i++) {
        put_sep(m, i);
        wb_str(m, w->names.s[i]);
    }
    wb_puts(m, "]}\n");
}

/* ---- opening ----------------------------------------------------------------------- */

/* Lays out the trace read into w->t; frees w on failure. */
static struct web_trace *lay_out_trace(struct web_trace *w, char *err, size_t errlen)
{
    const char *path = w->path;
    const cprof_trace *t = w->t;
    size_t nt = t->nthreads ? t->nthreads : 1;
    w->life_b = calloc(nt, sizeof *w->life_b);
    w->life_e = calloc(nt, sizeof *w->life_e);
    w->unregistered = calloc(nt, 1);
    struct idmap regions = {0}, tasks = {0};
    if (!w->life_b || !w->life_e || !w->unregistered)
        w->oom = 1;
    for (uint32_t i = 0; i < t->nthreads && !w->oom; i++)
        lifetime(w, i);
    for (uint32_t i = 0; i < t->nthreads && !w->oom; i++)
        thread_events(w, i, &regions, &tasks);
    for (uint32_t i = 0; i < t->nthreads && !w->oom; i++)
        thread_ends(w, i, &regions, &tasks);
    if (!w->oom) {
        finish_spans(w, &tasks);
        lay_out(w);
        if (w->npoints)
            qsort(w->points, w->npoints, sizeof *w->points, cmp_points);
        write_meta(w);
        write_data(w);
    }
    idmap_free(&regions);
    idmap_free(&tasks);
    if (w->oom || w->meta.oom || w->data.oom) {
        snprintf(err, errlen, "%s: out of memory laying the trace out", path);
        web_trace_free(w);
        return NULL;
    }
    return w;
}

void web_trace_free(struct web_trace *w)
{
    if (!w)
        return;
    cprof_trace_free(w->t);
    web_names_free(&w->names);
    for (size_t i = 0; i < w->nowned; i++)
        free(w->owned[i]);
    free(w->owned);
    idmap_free(&w->stack_ids);
    free(w->stacks);
    free(w->spans);
    free(w->points);
    free(w->life_b);
    free(w->life_e);
    free(w->unregistered);
    wb_free(&w->meta);
    wb_free(&w->data);
    free(w);
}

struct web_trace *web_trace_open(const char *path, char *err, size_t errlen)
{
    struct web_trace *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->path = path;
    if (!(w->t = cprof_trace_read_file(path, err, errlen))) {
        free(w);
        return NULL;
    }
    return lay_out_trace(w, err, errlen);
}

struct web_trace *web_trace_parse(const char *name, const uint8_t *data, size_t len, char *err,
                                  size_t errlen)
{
    struct web_trace *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->path = name;
    char why[400];
    if (!(w->t = cprof_trace_parse(data, len, why, sizeof why))) {
        snprintf(err, errlen, "%s: %s", name, why);
        free(w);
        return NULL;
    }
    return lay_out_trace(w, err, errlen);
}

const wbuf *web_trace_meta(const struct web_trace *w)
{
    return &w->meta;
}

const wbuf *web_trace_data(const struct web_trace *w)
{
    return &w->data;
}

void web_trace_describe(const struct web_trace *w, char *buf, size_t len)
{
    snprintf(buf, len, "%zu threads, %" PRIu64 " events, %zu spans%s", w->t->nthreads,
             w->t->nevents, w->nspans, w->t->truncated ? " (the file was cut short)" : "");
}
