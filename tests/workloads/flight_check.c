/*
 * flight_check: a minimal, independent walker of cprof trace files
 * (src/format/trace_format.h), for the flight recorder's tests. It does not
 * use the tool's reader: it checks the header magic and version, the framing
 * of every record, that each EVENTS record decodes exactly to its end, and
 * that an END record closes the file; then it prints what the tests compare,
 * one fact a line:
 *
 *   file SIZE                       bytes
 *   records N                       records after the header
 *   head_bytes N                    header + records before the first EVENTS
 *   events_bytes N                  EVENTS records (with their 8-byte headers)
 *   tail_bytes N                    from the first record after the last EVENTS to the end
 *   end WRITTEN LOST DURATION_NS    the END record
 *   note TEXT                       each NOTE record
 *   thread TID EVENTS SPAN_MS FIRST_MS LAST_MS   per tid (times from the last CLOCK)
 *   region NAME BEGINS ENDS PAIRS MAX_MS          regions by name (PAIRS: both ends seen)
 *   task NAME BEGINS ENDS PAIRS MAX_MS            tasks by name
 *   logs N
 *   seq MIN MAX COUNT               logs of category "seq" whose text is a number:
 *                                   a writer that counts shows a hole as
 *                                   COUNT < MAX - MIN + 1
 *   events N                        events decoded
 *   duplicates N                    task and region begins whose id came before (an
 *                                   event copied twice into the file)
 *   unnamed N                       events naming a string id the file does not define
 *   ok
 *
 * Times: event ticks are converted with the first and last CLOCK records
 * (ticks, monotonic ns), as the format says; MS values are relative to the
 * last CLOCK record (negative: before it).
 *
 * Exit status: 0 for a valid, complete trace; 1 with "error: ..." otherwise.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_format.h"

#define MAX_NAMES   4096
#define MAX_THREADS 4096
#define DEPTH       64
#define TASK_SLOTS  (1u << 18)

struct name_stats {
    uint64_t begins, ends, pairs;
    double max_ns;
};

struct thread {
    uint32_t tid;
    uint64_t events;
    int64_t first, last; /* ticks */
    int depth;
    uint64_t open_id[DEPTH], open_name[DEPTH];
    int64_t open_at[DEPTH];
};

struct task_slot {
    uint64_t id, name;
    int64_t at;
};

static char *names[MAX_NAMES + 1];
static uint64_t seq_min = UINT64_MAX, seq_max, seq_count;
static struct name_stats regions[MAX_NAMES + 1], tasks_by_name[MAX_NAMES + 1];
static struct thread *threads;
static size_t nthreads;
static struct task_slot *task_table;
static uint64_t nevents, nlogs, unnamed;
static uint64_t *begin_ids; /* every REGION_BEGIN and TASK_BEGIN id, for duplicates */
static size_t nbegin_ids, begin_ids_cap;
static int64_t clock_t0, clock_n0, clock_t1, clock_n1;
static int nclocks;

static _Noreturn void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("error: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(1);
}

static uint64_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* A uvarint at *p, not past end; -1 when it runs off the end. */
static int uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static struct thread *thread_of(uint32_t tid)
{
    for (size_t i = 0; i < nthreads; i++)
        if (threads[i].tid == tid)
            return &threads[i];
    if (nthreads == MAX_THREADS)
        fail("more than %d threads", MAX_THREADS);
    struct thread *t = &threads[nthreads++];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->first = INT64_MAX;
    t->last = INT64_MIN;
    return t;
}

static struct task_slot *task_find(uint64_t id, int insert)
{
    for (uint32_t i = (uint32_t)((id * 0x9e3779b97f4a7c15ULL) >> 46), n = 0; n < TASK_SLOTS;
         i = (i + 1) & (TASK_SLOTS - 1), n++) {
        struct task_slot *s = &task_table[i];
        if (s->id == id)
            return s;
        if (s->id == 0)
            return insert ? s : NULL;
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double ticks_ns(int64_t dt)
{
    if (nclocks < 2 || clock_t1 == clock_t0)
        return (double)dt;
    return (double)dt * (double)(clock_n1 - clock_n0) / (double)(clock_t1 - clock_t0);
}

static const char *name_of(uint64_t id)
{
    return id && id <= MAX_NAMES && names[id] ? names[id] : "?";
}

/* The events of one EVENTS record: the second pass (strings and clocks known). */
static void walk_events(const uint8_t *p, const uint8_t *end, uint64_t off)
{
    if (end - p < 16)
        fail("EVENTS record at byte %" PRIu64 " too short", off);
    struct thread *t = thread_of((uint32_t)get_u32(p));
    int64_t now = (int64_t)get_u64(p + 8);
    p += 16;
    while (p < end) {
        uint8_t type = *p++;
        uint64_t delta, a[3] = {0}, len;
        if (uvarint(&p, end, &delta) < 0)
            fail("event cut short in EVENTS record at byte %" PRIu64, off);
        now += (int64_t)delta;
        int nargs;
        switch (type) {
        case TRACE_EV_THREAD_START:
        case TRACE_EV_THREAD_END:
            nargs = 0;
            break;
        case TRACE_EV_TASK_END:
        case TRACE_EV_REGION_END:
        case TRACE_EV_HEAP:
        case TRACE_EV_CPU_SAMPLE:
            nargs = 1;
            break;
        case TRACE_EV_STATE:
        case TRACE_EV_SYSCALL:
        case TRACE_EV_LOG:
            nargs = 2;
            break;
        case TRACE_EV_TASK_BEGIN:
        case TRACE_EV_REGION_BEGIN:
            nargs = 3;
            break;
        default:
            fail("unknown event type %d in EVENTS record at byte %" PRIu64, type, off);
        }
        for (int i = 0; i < nargs; i++)
            if (uvarint(&p, end, &a[i]) < 0)
                fail("event arguments cut short in EVENTS record at byte %" PRIu64, off);
        uint64_t name = type == TRACE_EV_LOG                                           ? a[1]
                        : type == TRACE_EV_TASK_BEGIN || type == TRACE_EV_REGION_BEGIN ? a[2]
                                                                                       : 0;
        if (name && (name > MAX_NAMES || !names[name]))
            unnamed++;
        if (type == TRACE_EV_LOG) {
            if (uvarint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
                fail("log text runs past EVENTS record at byte %" PRIu64, off);
            if (a[1] && a[1] <= MAX_NAMES && names[a[1]] && !strcmp(names[a[1]], "seq") &&
                len > 0 && len < 20) {
                uint64_t v = 0;
                size_t i = 0;
                while (i < len && p[i] >= '0' && p[i] <= '9')
                    v = v * 10 + (uint64_t)(p[i++] - '0');
                if (i == len) {
                    seq_min = v < seq_min ? v : seq_min;
                    seq_max = v > seq_max ? v : seq_max;
                    seq_count++;
                }
            }
            p += len;
            nlogs++;
        }
        nevents++;
        t->events++;
        if (now < t->first)
            t->first = now;
        if (now > t->last)
            t->last = now;
        if (type == TRACE_EV_REGION_BEGIN || type == TRACE_EV_TASK_BEGIN) {
            if (nbegin_ids == begin_ids_cap) {
                begin_ids_cap = begin_ids_cap ? 2 * begin_ids_cap : 4096;
                begin_ids = realloc(begin_ids, begin_ids_cap * sizeof *begin_ids);
                if (!begin_ids)
                    fail("out of memory");
            }
            begin_ids[nbegin_ids++] = a[0];
        }
        if (type == TRACE_EV_REGION_BEGIN) {
            uint64_t n = a[2] <= MAX_NAMES ? a[2] : 0;
            regions[n].begins++;
            if (t->depth < DEPTH) {
                t->open_id[t->depth] = a[0];
                t->open_name[t->depth] = n;
                t->open_at[t->depth] = now;
                t->depth++;
            }
        } else if (type == TRACE_EV_REGION_END) {
            int found = 0;
            for (int i = t->depth; i-- > 0;) {
                if (t->open_id[i] != a[0])
                    continue;
                struct name_stats *s = &regions[t->open_name[i]];
                s->ends++;
                s->pairs++;
                double ns = ticks_ns(now - t->open_at[i]);
                if (ns > s->max_ns)
                    s->max_ns = ns;
                t->depth = i;
                found = 1;
                break;
            }
            if (!found)
                regions[0].ends++; /* began before the snapshot's history */
        } else if (type == TRACE_EV_TASK_BEGIN) {
            uint64_t n = a[2] <= MAX_NAMES ? a[2] : 0;
            tasks_by_name[n].begins++;
            struct task_slot *s = task_find(a[0], 1);
            if (s)
                *s = (struct task_slot){a[0], n, now};
        } else if (type == TRACE_EV_TASK_END) {
            struct task_slot *s = task_find(a[0], 0);
            if (s && s->id) {
                struct name_stats *st = &tasks_by_name[s->name];
                st->ends++;
                st->pairs++;
                double ns = ticks_ns(now - s->at);
                if (ns > st->max_ns)
                    st->max_ns = ns;
                s->id = UINT64_MAX; /* a tombstone: the probe goes on past it */
            } else {
                tasks_by_name[0].ends++;
            }
        }
    }
}

/* "symbol PC FUNC:LINE;..." (innermost first): a snapshot names a pc the
 * same way whether its symbols were cached or just made (test-flight-many). */
static void print_symbol(const uint8_t *p, const uint8_t *end, uint64_t off)
{
    if (end - p < 16)
        fail("SYMBOL record too short at byte %" PRIu64, off);
    uint64_t pc = get_u64(p);
    uint64_t n = get_u32(p + 8);
    p += 16;
    printf("symbol %" PRIx64 " ", pc);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t line, flen, filelen;
        if (uvarint(&p, end, &line) < 0 || uvarint(&p, end, &flen) < 0 ||
            flen > (uint64_t)(end - p))
            fail("SYMBOL record cut short at byte %" PRIu64, off);
        printf("%s%.*s:%" PRIu64, i ? ";" : "", (int)flen, (const char *)p, line);
        p += flen;
        if (uvarint(&p, end, &filelen) < 0 || filelen > (uint64_t)(end - p))
            fail("SYMBOL record cut short at byte %" PRIu64, off);
        p += filelen;
    }
    if (p != end)
        fail("SYMBOL record has %td bytes too many at byte %" PRIu64, end - p, off);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: flight_check FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        fail("cannot open %s", argv[1]);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size)
        fail("cannot read %s", argv[1]);
    fclose(f);
    threads = calloc(MAX_THREADS, sizeof *threads);
    task_table = calloc(TASK_SLOTS, sizeof *task_table);
    if (!threads || !task_table)
        fail("out of memory");

    const uint8_t *end = data + size;
    if (size < CPROF_TRACE_HEADER || memcmp(data, CPROF_TRACE_MAGIC, 8))
        fail("not a cprof trace (bad magic)");
    if (get_u32(data + 8) != CPROF_TRACE_VERSION)
        fail("version %" PRIu64 ", not %d", get_u32(data + 8), CPROF_TRACE_VERSION);

    /* First pass: framing, strings, clocks, END. */
    uint64_t nrecords = 0, head_bytes = 0, events_bytes = 0, after_last_events = 0;
    int has_end = 0, first_events_seen = 0;
    uint64_t end_written = 0, end_lost = 0, end_duration = 0;
    for (const uint8_t *p = data + CPROF_TRACE_HEADER; p < end;) {
        uint64_t off = (uint64_t)(p - data);
        if (end - p < CPROF_TRACE_RECORD)
            fail("record header cut short at byte %" PRIu64, off);
        uint8_t kind = p[0];
        if (p[1] || p[2] || p[3])
            fail("record header's reserved bytes are not 0 at byte %" PRIu64, off);
        uint64_t len = get_u32(p + 4);
        if (len > (uint64_t)(end - p - CPROF_TRACE_RECORD))
            fail("record runs past the end of the file at byte %" PRIu64, off);
        if (has_end)
            fail("a record after the END record at byte %" PRIu64, off);
        const uint8_t *body = p + CPROF_TRACE_RECORD;
        nrecords++;
        switch (kind) {
        case TRACE_REC_STRING:
            if (len < 8)
                fail("STRING record too short at byte %" PRIu64, off);
            uint64_t id = get_u64(body);
            if (id >= 1 && id <= MAX_NAMES) {
                free(names[id]);
                names[id] = strndup((const char *)body + 8, len - 8);
            }
            break;
        case TRACE_REC_CLOCK:
            if (len < 16)
                fail("CLOCK record too short at byte %" PRIu64, off);
            if (!nclocks) {
                clock_t0 = (int64_t)get_u64(body);
                clock_n0 = (int64_t)get_u64(body + 8);
            }
            clock_t1 = (int64_t)get_u64(body);
            clock_n1 = (int64_t)get_u64(body + 8);
            nclocks++;
            break;
        case TRACE_REC_EVENTS:
            first_events_seen = 1;
            events_bytes += CPROF_TRACE_RECORD + len;
            after_last_events = off + CPROF_TRACE_RECORD + len;
            break;
        case TRACE_REC_END:
            if (len < 24)
                fail("END record too short at byte %" PRIu64, off);
            has_end = 1;
            end_written = get_u64(body);
            end_lost = get_u64(body + 8);
            end_duration = get_u64(body + 16);
            break;
        case TRACE_REC_SYMBOL:
            print_symbol(body, body + len, off);
            break;
        case TRACE_REC_NOTE:
            if (len < 8)
                fail("NOTE record too short at byte %" PRIu64, off);
            printf("note %.*s\n", (int)(len - 8), (const char *)body + 8);
            break;
        default:
            break;
        }
        if (!first_events_seen)
            head_bytes = off + CPROF_TRACE_RECORD + len;
        p = body + len;
    }
    if (!has_end)
        fail("no END record: the trace is not complete");
    if (nclocks < 1)
        fail("no CLOCK record");

    /* Second pass: the events. */
    for (const uint8_t *p = data + CPROF_TRACE_HEADER; p < end;) {
        uint64_t len = get_u32(p + 4);
        if (p[0] == TRACE_REC_EVENTS)
            walk_events(p + CPROF_TRACE_RECORD, p + CPROF_TRACE_RECORD + len, (uint64_t)(p - data));
        p += CPROF_TRACE_RECORD + len;
    }

    printf("file %ld\nrecords %" PRIu64 "\n", size, nrecords);
    printf("head_bytes %" PRIu64 "\nevents_bytes %" PRIu64 "\ntail_bytes %" PRIu64 "\n", head_bytes,
           events_bytes, (uint64_t)size - (after_last_events ? after_last_events : head_bytes));
    printf("end %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", end_written, end_lost, end_duration);
    for (size_t i = 0; i < nthreads; i++) {
        const struct thread *t = &threads[i];
        printf("thread %" PRIu32 " %" PRIu64 " %.1f %.1f %.1f\n", t->tid, t->events,
               ticks_ns(t->last - t->first) / 1e6, -ticks_ns(clock_t1 - t->first) / 1e6,
               -ticks_ns(clock_t1 - t->last) / 1e6);
    }
    for (int i = 0; i <= MAX_NAMES; i++) {
        const struct name_stats *r = &regions[i], *k = &tasks_by_name[i];
        if (r->begins || r->ends)
            printf("region %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %.3f\n", i ? name_of(i) : "?",
                   r->begins, r->ends, r->pairs, r->max_ns / 1e6);
        if (k->begins || k->ends)
            printf("task %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %.3f\n", i ? name_of(i) : "?",
                   k->begins, k->ends, k->pairs, k->max_ns / 1e6);
    }
    qsort(begin_ids, nbegin_ids, sizeof *begin_ids, cmp_u64);
    uint64_t duplicates = 0;
    for (size_t i = 1; i < nbegin_ids; i++)
        duplicates += begin_ids[i] == begin_ids[i - 1];
    printf("duplicates %" PRIu64 "\n", duplicates);
    if (seq_count)
        printf("seq %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", seq_min, seq_max, seq_count);
    printf("logs %" PRIu64 "\nevents %" PRIu64 "\nunnamed %" PRIu64 "\nok\n", nlogs, nevents,
           unnamed);
    return 0;
}
