/*
 * trace.c: owns the execution tracer: per-thread event buffers, the clock,
 * the writer thread, user tasks, regions and logs.
 *
 * Recording: each thread writes events into a buffer of its own (64 KiB,
 * taken from a pool mapped once), without locks: a few bytes per event
 * (type, time delta and arguments as varints). A full buffer is handed over
 * on a lock-free list that the writer thread drains into the file every
 * 20 ms (or, for the flight recorder, into a ring in memory: flight.c).
 *
 * Memory: one buffer per thread that traces, plus the handed-over buffers
 * the writer has not drained yet, at most `pending_max` of them (the
 * session's max_bytes). A thread whose buffer is full while that many wait
 * keeps its buffer and loses its events (counted, per thread; the count
 * travels in the file) until the writer catches up: it never waits for the
 * writer. The hand-over that fills half of pending_max wakes the writer
 * early, so that a flood drains in time. The pool is mapped once, large
 * (untouched pages cost nothing), and handed out lowest index first with
 * drained buffers reused first, so that resident memory follows the buffers
 * in use. It is never unmapped, so a thread that is still writing when
 * tracing stops can never touch freed memory; its buffer belongs to an
 * older generation and is simply not used again.
 *
 * Time: the TSC where the kernel says it is constant and does not stop
 * (constant_tsc, nonstop_tsc): about 7 ns to read. Otherwise
 * CLOCK_MONOTONIC. CLOCK records pair ticks with monotonic time; the reader
 * converts.
 *
 * A signal handler (CPU samples) may interrupt an event being written: the
 * thread-local `in_emit` flag makes the handler's event a lost one instead.
 *
 * Locking: `state_lock` serialises start and stop and protects the string
 * table; the buffer lists are lock-free (tagged Treiber stacks); a thread's
 * current buffer is its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cprof.h"
#include "errors.h"
#include "flight.h"
#include "heap.h"
#include "profile_write.h"
#include "samples.h"
#include "settings.h"
#include "symbols.h"
#include "sync.h"
#include "threads.h"
#include "trace.h"
#include "trace_format.h"
#include "unwind.h"

#define BUFFER_BYTES      TRACE_BUFFER_BYTES
#define MAX_EVENT         (16 + 1024) /* the largest event: a log of 1 KiB */
#define FLUSH_EVERY_NS    (20 * 1000000LL)
#define THREAD_BUFFERS    1024 /* threads with a buffer of their own, beyond the budget */
#define POOL_MIN_PENDING  (64 * 1024 * 1024 / BUFFER_BYTES) /* the largest default budget */
#define SCHED_EVERY_TICKS 50      /* 1 s: SCHED records of every live thread */
#define SCHED_MIN_LIFE_NS 1000000 /* a thread's SCHED record as it ends: if it lived 1 ms */

/* A buffer: a header, then events. */
struct tbuf {
    uint32_t next; /* index + 1 of the next buffer on a list */
    uint32_t gen;  /* the tracing session it belongs to */
    pid_t tid;
    uint32_t lost;    /* events lost on this thread before these */
    uint64_t base;    /* ticks of the first event's reference point */
    uint64_t last;    /* ticks of the last event */
    uint32_t len;     /* bytes of events */
    uint32_t owned;   /* 1 while a thread writes into it */
    uint32_t nevents; /* events in data */
    uint32_t unused;
    uint8_t data[BUFFER_BYTES - 48];
};
_Static_assert(sizeof(struct tbuf) == BUFFER_BYTES, "a buffer is exactly BUFFER_BYTES");

#define REGION_DEPTH 64

struct thread_state {
    uint32_t buf; /* index + 1 of the current buffer, or 0 */
    /* Open regions, for the flight recorder's latency triggers. */
    uint64_t region_id[REGION_DEPTH], region_began[REGION_DEPTH], region_name[REGION_DEPTH];
    int nregions;
    uint32_t gen;
    uint32_t lost;
    int in_emit;
    uint64_t next_id;    /* the next region or task id this thread hands out */
    uint32_t ids_left;   /* of the block next_id is in */
    uint64_t started_ns; /* CLOCK_MONOTONIC at its THREAD_START (0: before tracing) */
};

static __thread struct thread_state self __attribute__((tls_model("initial-exec")));

static struct tbuf *pool;
static uint32_t pool_size;                    /* buffers mapped */
static _Atomic uint32_t pool_fresh;           /* buffers handed out this session: [0, fresh) */
static _Atomic uint64_t free_list, full_list; /* tag << 32 | index + 1 */
static _Atomic uint32_t pending;              /* handed over and not drained yet */
static uint32_t pending_max;                  /* the session's budget for them */
static sem_t writer_wake;                     /* posted when pending reaches half of it */
static _Atomic int tracing;
static _Atomic uint32_t generation;
static _Atomic uint64_t events_lost, events_written;
static int use_tsc;

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t writer;
static int writer_running;
/* Set on the writer thread: it alone drains full buffers, so what it finds
 * on the full list stays put while it looks. */
static __thread int on_writer __attribute__((tls_model("initial-exec")));
static const struct cprof_trace_sink *sink;
static void *sink_arg;
static cprof_samples *stacks;
static uint64_t start_mono_ns;

/* ---- The clock ----------------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* async-signal-safe: an instruction, or clock_gettime. */
static inline uint64_t ticks(void)
{
    if (use_tsc) {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        return (uint64_t)hi << 32 | lo;
    }
    return mono_ns();
}

static int tsc_is_reliable(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return 0;
    char line[4096];
    int constant = 0, nonstop = 0;
    while (fgets(line, sizeof line, f) && strncmp(line, "flags", 5))
        ;
    constant = strstr(line, " constant_tsc") != NULL;
    nonstop = strstr(line, " nonstop_tsc") != NULL;
    fclose(f);
    return constant && nonstop;
}

/* ---- Buffer lists (lock-free, tagged against ABA) --------------------------------------- */

/* async-signal-safe: CAS loops on memory mapped once. */
static void list_push(_Atomic uint64_t *list, uint32_t index)
{
    uint64_t head = atomic_load(list);
    for (;;) {
        pool[index].next = (uint32_t)head;
        uint64_t want = ((head >> 32) + 1) << 32 | (index + 1);
        if (atomic_compare_exchange_weak(list, &head, want))
            return;
    }
}

/* Returns index + 1, or 0 when empty. async-signal-safe. */
static uint32_t list_pop(_Atomic uint64_t *list)
{
    uint64_t head = atomic_load(list);
    for (;;) {
        uint32_t top = (uint32_t)head;
        if (!top)
            return 0;
        uint64_t want = ((head >> 32) + 1) << 32 | pool[top - 1].next;
        if (atomic_compare_exchange_weak(list, &head, want))
            return top;
    }
}

/* Takes the whole list; returns the first index + 1 (a chain through next). */
static uint32_t list_take(_Atomic uint64_t *list)
{
    uint64_t head = atomic_load(list);
    while (!atomic_compare_exchange_weak(list, &head, ((head >> 32) + 1) << 32))
        ;
    return (uint32_t)head;
}

/* ---- Emitting events ---------------------------------------------------------------------- */

/* A buffer for a thread: a drained one (still in cache, already resident)
 * or, failing that, one never used this session. Returns index + 1, or 0.
 * async-signal-safe: CAS loops on memory mapped once. */
static uint32_t take_buffer(void)
{
    uint32_t i = list_pop(&free_list);
    if (i)
        return i;
    uint32_t fresh = atomic_load(&pool_fresh);
    while (fresh < pool_size)
        if (atomic_compare_exchange_weak(&pool_fresh, &fresh, fresh + 1))
            return fresh + 1;
    return 0;
}

/* Gives a full buffer to the writer, unless pending_max buffers already wait
 * for it and `always` is 0: the caller keeps it then. A thread that ends
 * hands over always (one buffer more, once). The hand-over that reaches
 * half the budget wakes the writer.
 * async-signal-safe: atomics, and sem_post (POSIX lists it as safe). */
static int hand_over(uint32_t index, int always)
{
    uint32_t n = atomic_load(&pending);
    do {
        if (n >= pending_max && !always)
            return 0;
    } while (!atomic_compare_exchange_weak(&pending, &n, n + 1));
    pool[index].owned = 0;
    list_push(&full_list, index);
    if (n + 1 == (pending_max + 1) / 2)
        sem_post(&writer_wake);
    return 1;
}

/* room's slow path: hands the full buffer (if any) to the writer and takes
 * a free one. NULL when the writer has too many waiting (the thread keeps
 * its full buffer and tries again at its next event) or the pool is used up. */
static struct tbuf *new_room(uint32_t gen)
{
    if (self.buf && self.gen == gen && !hand_over(self.buf - 1, 0))
        return NULL;
    self.buf = take_buffer();
    self.gen = gen;
    if (!self.buf)
        return NULL;
    struct tbuf *b = &pool[self.buf - 1];
    b->gen = gen;
    b->tid = cprof__gettid();
    b->lost = self.lost;
    self.lost = 0;
    b->base = b->last = ticks();
    b->len = 0;
    b->nevents = 0;
    b->owned = 1;
    return b;
}

/* The calling thread's buffer with room for one more event, or NULL. */
static inline struct tbuf *room(void)
{
    uint32_t gen = atomic_load_explicit(&generation, memory_order_relaxed);
    if (self.buf && self.gen == gen) {
        struct tbuf *b = &pool[self.buf - 1];
        if (b->len + MAX_EVENT <= sizeof b->data)
            return b;
    }
    return new_room(gen);
}

static inline uint8_t *put_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Writes one event with up to three arguments (and optional bytes);
 * returns its time (0 when it was lost), so that callers that need the time
 * too do not read the clock twice.
 * async-signal-safe: buffers from the pool, a TLS flag against reentry. */
/* Inlined: at each call nargs and bytes are constants, and the branches on
 * them and the call itself go away. */
static inline __attribute__((always_inline)) uint64_t
emit(int type, int nargs, uint64_t a, uint64_t b, uint64_t c, const void *bytes, size_t nbytes)
{
    if (self.in_emit) {
        self.lost++;
        atomic_fetch_add_explicit(&events_lost, 1, memory_order_relaxed);
        return 0;
    }
    self.in_emit = 1;
    struct tbuf *buf = room();
    if (!buf) {
        self.lost++;
        atomic_fetch_add_explicit(&events_lost, 1, memory_order_relaxed);
        self.in_emit = 0;
        return 0;
    }
    uint64_t now = ticks();
    uint8_t *p = buf->data + buf->len;
    *p++ = (uint8_t)type;
    p = put_uvarint(p, now >= buf->last ? now - buf->last : 0);
    if (nargs > 0)
        p = put_uvarint(p, a);
    if (nargs > 1)
        p = put_uvarint(p, b);
    if (nargs > 2)
        p = put_uvarint(p, c);
    if (bytes) {
        p = put_uvarint(p, nbytes);
        memcpy(p, bytes, nbytes);
        p += nbytes;
    }
    buf->last = now;
    buf->nevents++;
    /* Release: a flight-recorder snapshot reads [0, len) of a buffer still
     * being written, and must see the bytes before the length. */
    __atomic_store_n(&buf->len, (uint32_t)(p - buf->data), __ATOMIC_RELEASE);
    self.in_emit = 0;
    return now;
}

int cprof__trace_on(void)
{
    return atomic_load_explicit(&tracing, memory_order_relaxed);
}

/* ---- Strings -------------------------------------------------------------------------------- */

/* Names are interned once per trace: id = position + 1. A small per-thread
 * cache keyed by pointer (checked against a copy of the text) keeps the
 * common case, a string literal, free of the lock. */
struct strings {
    char **v;
    size_t n, cap, written; /* written: how many the sink has seen */
};
static struct strings strings;

#define NAME_CACHE 64
struct name_cache_entry {
    const char *ptr;
    uint32_t gen;
    uint64_t id;
    char copy[40];
};
static __thread struct name_cache_entry name_cache[NAME_CACHE]
    __attribute__((tls_model("initial-exec")));

static uint64_t intern_locked(const char *s)
{
    for (size_t i = 0; i < strings.n; i++)
        if (!strcmp(strings.v[i], s))
            return i + 1;
    if (strings.n == strings.cap) {
        size_t cap = strings.cap ? strings.cap * 2 : 64;
        char **grown = realloc(strings.v, cap * sizeof *grown);
        if (!grown)
            return 0;
        strings.v = grown;
        strings.cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return 0;
    strings.v[strings.n++] = copy;
    return strings.n;
}

/* Whether s still reads as the copy, NUL included. Inline and stopping at
 * the first difference: it reads no byte of s past its end, and a name is
 * a few bytes, where strnlen and memcmp through the PLT cost more than the
 * comparison (perf put them at 8% of a region begin+end pair). */
static inline int same_text(const char *copy, const char *s)
{
    for (size_t i = 0;; i++) {
        if (copy[i] != s[i])
            return 0;
        if (!copy[i])
            return 1;
    }
}

static uint64_t intern_and_cache(const char *s, struct name_cache_entry *e, uint32_t gen);

static uint64_t name_id(const char *s)
{
    if (!s)
        s = "";
    uint32_t gen = atomic_load_explicit(&generation, memory_order_relaxed);
    struct name_cache_entry *e = &name_cache[((uintptr_t)s >> 3) % NAME_CACHE];
    /* An entry's copy always ends in a NUL within it (it is only filled
     * from a name shorter than the copy), so same_text stops in time. */
    if (e->ptr == s && e->gen == gen && same_text(e->copy, s))
        return e->id;
    return intern_and_cache(s, e, gen);
}

/* name_id's slow path, apart so that the fast one needs no stack frame. */
static __attribute__((noinline)) uint64_t intern_and_cache(const char *s,
                                                           struct name_cache_entry *e, uint32_t gen)
{
    size_t len = strnlen(s, sizeof e->copy);
    cprof__heap_enter_internal();
    pthread_mutex_lock(&state_lock);
    uint64_t id = intern_locked(s);
    pthread_mutex_unlock(&state_lock);
    cprof__heap_leave_internal();
    if (len < sizeof e->copy) {
        e->ptr = s;
        e->gen = gen;
        e->id = id;
        memcpy(e->copy, s, len + 1);
    }
    return id;
}

uint64_t cprof__trace_name_id(const char *name)
{
    return name_id(name);
}

/* ---- The public API ----------------------------------------------------------------------------
 */

/* Region and task ids come in blocks of ID_BLOCK from one process-wide
 * counter: unique in the process (also when a tid is reused), and small.
 * They were tid << 32 | n, 8 bytes as a varint in every begin and end, and
 * encoding them was the largest part of emit after the clock. */
#define ID_BLOCK 1024
static _Atomic uint64_t next_id_block;

static uint64_t new_id(void)
{
    if (self.ids_left == 0) {
        self.next_id =
            atomic_fetch_add_explicit(&next_id_block, ID_BLOCK, memory_order_relaxed) + 1;
        self.ids_left = ID_BLOCK;
    }
    self.ids_left--;
    return self.next_id++;
}

CPROF_API int cprof_trace_enabled(void)
{
    return cprof__trace_on();
}

CPROF_API cprof_task_t cprof_task_begin(cprof_task_t parent, const char *name)
{
    if (!cprof__trace_on())
        return 0;
    uint64_t id = new_id();
    uint64_t nid = name_id(name);
    emit(TRACE_EV_TASK_BEGIN, 3, id, parent, nid, NULL, 0);
    if (cprof__flight_watching())
        cprof__flight_task_began(id, nid, ticks());
    return id;
}

CPROF_API void cprof_task_end(cprof_task_t task)
{
    if (task && cprof__trace_on()) {
        emit(TRACE_EV_TASK_END, 1, task, 0, 0, NULL, 0);
        if (cprof__flight_watching())
            cprof__flight_task_ended(task, ticks());
    }
}

CPROF_API cprof_region_t cprof_region_begin(cprof_task_t task, const char *name)
{
    if (!cprof__trace_on())
        return 0;
    uint64_t id = new_id();
    uint64_t nid = name_id(name);
    uint64_t began = emit(TRACE_EV_REGION_BEGIN, 3, id, task, nid, NULL, 0);
    if (self.nregions < REGION_DEPTH) {
        self.region_id[self.nregions] = id;
        self.region_name[self.nregions] = nid;
        self.region_began[self.nregions] = began;
        self.nregions++;
    }
    return id;
}

CPROF_API void cprof_region_end(cprof_region_t region)
{
    if (region && cprof__trace_on()) {
        uint64_t ended = emit(TRACE_EV_REGION_END, 1, region, 0, 0, NULL, 0);
        /* Regions nest: the one ending is normally on top of the stack. */
        for (int i = self.nregions; i-- > 0;) {
            if (self.region_id[i] != region)
                continue;
            if (cprof__flight_watching() && ended && self.region_began[i])
                cprof__flight_span_ended(self.region_name[i], ended - self.region_began[i]);
            self.nregions = i;
            break;
        }
    }
}

CPROF_API void cprof_log(cprof_task_t task, const char *category, const char *fmt, ...)
{
    if (!cprof__trace_on() || !fmt)
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof text)
        n = (int)sizeof text - 1;
    emit(TRACE_EV_LOG, 2, task, name_id(category), 0, text, (size_t)n);
}

/* ---- Events from the rest of cprof -------------------------------------------------------------
 */

void cprof__trace_state(int state, const struct cprof_wait *where)
{
    if (!cprof__trace_on())
        return;
    uint64_t stack = 0;
    if (state != CPROF_STATE_RUNNING && where && stacks) {
        uint64_t pcs[CPROF_MAX_FRAMES];
        int n = cprof__unwind_regs(where->pc, where->sp, where->fp, 0, pcs, CPROF_MAX_FRAMES);
        if (n > 0)
            pcs[0] = where->func;
        long index = cprof__samples_intern(stacks, pcs, n, 0);
        stack = index >= 0 ? (uint64_t)index + 1 : 0;
    }
    emit(TRACE_EV_STATE, 2, (uint64_t)state, stack, 0, NULL, 0);
}

void cprof__trace_syscall(long nr, uint64_t began)
{
    uint64_t now = ticks();
    emit(TRACE_EV_SYSCALL, 2, (uint64_t)nr, now > began ? now - began : 0, 0, NULL, 0);
}

uint64_t cprof__trace_ticks(void)
{
    return ticks();
}

int cprof__trace_slow_syscall(uint64_t began)
{
    /* Calls shorter than this did not block: not worth two events. */
    uint64_t threshold = use_tsc ? 5000 * 3 : 5000; /* ~5 us: TSC ticks run at ~GHz */
    return ticks() - began >= threshold;
}

/* async-signal-safe: from the SIGPROF handler; stack interning is lock-free. */
void cprof__trace_cpu_sample(const uint64_t *pcs, int n)
{
    if (!cprof__trace_on() || !stacks)
        return;
    long index = cprof__samples_intern(stacks, pcs, n, 0);
    if (index >= 0)
        emit(TRACE_EV_CPU_SAMPLE, 1, (uint64_t)index + 1, 0, 0, NULL, 0);
}

void cprof__trace_thread_start(void)
{
    if (!cprof__trace_on())
        return;
    self.started_ns = mono_ns();
    emit(TRACE_EV_THREAD_START, 0, 0, 0, 0, NULL, 0);
}

/* The thread ends: its buffer goes to the writer now, not at the next
 * flush, which could be after its tid is reused. */
/* Names of threads that ended, for THREAD records: the names of the live
 * ones are read from /proc at the end, but an ended thread is gone from
 * there. Under state_lock. */
struct ended_name {
    pid_t tid;
    char name[16];
    int has_sched;
    uint64_t sched_at, sched[3]; /* its schedstat as it ended (TRACE_REC_SCHED) */
};
static struct ended_name *ended;
static size_t nended, capended, ended_written;

static int read_schedstat(pid_t tid, uint64_t v[3]);
static void record_sched(pid_t tid, void *arg);

static void remember_name(void)
{
    char name[16] = "";
    if (prctl(PR_GET_NAME, name) != 0 || !name[0])
        return;
    /* Reading schedstat costs ~5 us (open, read, close): worth it for a
     * thread that lived a while, not for one of a thread-per-item program's
     * thousands of short ones (1 ms: at most 0.5% of its life). Those show
     * no run-queue time (RUNQ "-" in the summary). */
    uint64_t sched[3], sched_at = mono_ns();
    int has_sched = (!self.started_ns || sched_at - self.started_ns >= SCHED_MIN_LIFE_NS) &&
                    read_schedstat(cprof__gettid(), sched) == 0;
    cprof__heap_enter_internal();
    pthread_mutex_lock(&state_lock);
    if (nended == capended) {
        size_t cap = capended ? capended * 2 : 64;
        struct ended_name *grown = realloc(ended, cap * sizeof *grown);
        if (grown) {
            ended = grown;
            capended = cap;
        }
    }
    if (nended < capended) {
        ended[nended].tid = cprof__gettid();
        memcpy(ended[nended].name, name, sizeof name);
        ended[nended].has_sched = has_sched;
        ended[nended].sched_at = sched_at;
        if (has_sched)
            memcpy(ended[nended].sched, sched, sizeof sched);
        nended++;
    }
    pthread_mutex_unlock(&state_lock);
    cprof__heap_leave_internal();
}

void cprof__trace_thread_end(void)
{
    if (!cprof__trace_on())
        return;
    emit(TRACE_EV_THREAD_END, 0, 0, 0, 0, NULL, 0);
    remember_name();
    uint32_t gen = atomic_load(&generation);
    if (self.buf && self.gen == gen)
        hand_over(self.buf - 1, 1);
    self.buf = 0;
}

/* ---- Writing: records through the sink ------------------------------------------------------- */

struct recbuf {
    uint8_t *p;
    size_t len, cap;
};

static void rec_bytes(struct recbuf *r, const void *data, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = (r->len + n) * 2;
        uint8_t *grown = realloc(r->p, cap);
        if (!grown)
            return;
        r->p = grown;
        r->cap = cap;
    }
    memcpy(r->p + r->len, data, n);
    r->len += n;
}

static void rec_u32(struct recbuf *r, uint32_t v)
{
    rec_bytes(r, &v, 4);
}

static void rec_u64(struct recbuf *r, uint64_t v)
{
    rec_bytes(r, &v, 8);
}

static void rec_uvarint(struct recbuf *r, uint64_t v)
{
    uint8_t tmp[10];
    rec_bytes(r, tmp, (size_t)(put_uvarint(tmp, v) - tmp));
}

static void rec_str(struct recbuf *r, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    rec_uvarint(r, n);
    rec_bytes(r, s, n);
}

/* Starts a record: its header, length patched by rec_end. */
static size_t rec_begin(struct recbuf *r, int kind)
{
    uint8_t h[CPROF_TRACE_RECORD] = {(uint8_t)kind};
    size_t at = r->len;
    rec_bytes(r, h, sizeof h);
    return at;
}

static void rec_end(struct recbuf *r, size_t at)
{
    if (at + CPROF_TRACE_RECORD > r->len)
        return;
    uint32_t len = (uint32_t)(r->len - at - CPROF_TRACE_RECORD);
    memcpy(r->p + at + 4, &len, 4);
}

static void send_records(struct recbuf *r, int chunk_end)
{
    if (r->len && sink)
        sink->write(sink_arg, r->p, r->len, chunk_end);
    r->len = 0;
}

static void record_clock(struct recbuf *r)
{
    size_t at = rec_begin(r, TRACE_REC_CLOCK);
    rec_u64(r, ticks());
    rec_u64(r, mono_ns());
    rec_end(r, at);
}

/* CLOCK_MONOTONIC ns (the timebase events are read in), then schedstat's three numbers. */
static void record_sched_values(struct recbuf *r, pid_t tid, uint64_t at_ns, const uint64_t v[3])
{
    size_t at = rec_begin(r, TRACE_REC_SCHED);
    rec_u32(r, (uint32_t)tid);
    rec_u32(r, 0);
    rec_u64(r, at_ns);
    for (int i = 0; i < 3; i++)
        rec_u64(r, v[i]);
    rec_end(r, at);
}

/* A thread that ended: its name, and its schedstat as it ended. */
static void record_ended(struct recbuf *r, const struct ended_name *e)
{
    size_t at = rec_begin(r, TRACE_REC_THREAD);
    rec_u32(r, (uint32_t)e->tid);
    rec_u32(r, 0);
    rec_bytes(r, e->name, strnlen(e->name, 16));
    rec_end(r, at);
    if (e->has_sched)
        record_sched_values(r, e->tid, e->sched_at, e->sched);
}

static void record_strings(struct recbuf *r)
{
    pthread_mutex_lock(&state_lock);
    for (; ended_written < nended; ended_written++)
        record_ended(r, &ended[ended_written]);
    for (; strings.written < strings.n; strings.written++) {
        size_t at = rec_begin(r, TRACE_REC_STRING);
        rec_u64(r, strings.written + 1);
        rec_bytes(r, strings.v[strings.written], strlen(strings.v[strings.written]));
        rec_end(r, at);
    }
    pthread_mutex_unlock(&state_lock);
}

static void record_buffer(struct recbuf *r, const struct tbuf *b)
{
    atomic_fetch_add(&events_written, b->nevents);
    size_t at = rec_begin(r, TRACE_REC_EVENTS);
    rec_u32(r, (uint32_t)b->tid);
    rec_u32(r, b->lost);
    rec_u64(r, b->base);
    rec_bytes(r, b->data, b->len);
    rec_end(r, at);
}

/* Writes and frees the full buffers, oldest first. The list is newest
 * first; taken whole, it is this thread's alone, and is reversed in place. */
static void drain_full(struct recbuf *r)
{
    uint32_t chain = list_take(&full_list), oldest = 0;
    while (chain) {
        uint32_t next = pool[chain - 1].next;
        pool[chain - 1].next = oldest;
        oldest = chain;
        chain = next;
    }
    while (oldest) {
        struct tbuf *b = &pool[oldest - 1];
        uint32_t next = b->next;
        if (b->gen == atomic_load(&generation) && b->len)
            record_buffer(r, b);
        b->len = 0;
        list_push(&free_list, oldest - 1);
        atomic_fetch_sub(&pending, 1);
        if (r->len >= BUFFER_BYTES) /* a buffer at a time: r never holds a whole flush */
            send_records(r, 0);
        oldest = next;
    }
}

static void record_heap(void)
{
    if (cprof__heap_table())
        emit(TRACE_EV_HEAP, 1, cprof__heap_inuse_bytes(), 0, 0, NULL, 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The command line, as an INFO record (arguments joined by spaces). */
static void record_cmdline(struct recbuf *r)
{
    char buf[4096] = "cmdline=";
    size_t prefix = strlen(buf);
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf + prefix, sizeof buf - prefix - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    for (ssize_t i = 0; i < n; i++)
        if (buf[prefix + (size_t)i] == '\0')
            buf[prefix + (size_t)i] = ' ';
    size_t len = prefix + (size_t)n;
    while (len > prefix && buf[len - 1] == ' ')
        len--;
    size_t at = rec_begin(r, TRACE_REC_INFO);
    rec_bytes(r, buf, len);
    rec_end(r, at);
}

/* One flush: new strings, a clock pair and the full buffers, to the sink. */
static void flush_once(struct recbuf *r)
{
    record_strings(r);
    record_clock(r);
    drain_full(r);
    send_records(r, 1);
}

/* Set with a wake-up: the tick is wanted now (a flight-recorder snapshot). */
static _Atomic int tick_asked;

void cprof__trace_tick_soon(void)
{
    if (!pool) /* writer_wake is initialised with the pool */
        return;
    atomic_store(&tick_asked, 1);
    sem_post(&writer_wake);
}

/* Sleeps until the next tick, FLUSH_EVERY_NS away; when threads wake it
 * before (half of pending_max handed over), it drains and sleeps again;
 * when asked for the tick itself, it returns. */
static void wait_for_tick(struct recbuf *r)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += FLUSH_EVERY_NS;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    while (atomic_load(&tracing)) {
        if (sem_clockwait(&writer_wake, CLOCK_MONOTONIC, &until) == 0) {
            if (atomic_exchange(&tick_asked, 0))
                return;
            flush_once(r);
        } else if (errno != EINTR) {
            return; /* ETIMEDOUT */
        }
    }
}

static void *writer_main(void *unused)
{
    (void)unused;
    struct recbuf r = {0};
    cprof__heap_enter_internal(); /* the writer's allocations are cprof's */
    on_writer = 1;
    for (unsigned tick = 0; atomic_load(&tracing); tick++) {
        /* Every live thread's schedstat as tracing starts, then every
         * second: a run queue's wait needs a value at both ends, and a
         * flight recorder's window has lost the first ones. */
        if (tick % SCHED_EVERY_TICKS == 0) {
            cprof__threads_lock();
            cprof__threads_each(record_sched, &r);
            cprof__threads_unlock();
        }
        wait_for_tick(&r);
        record_heap();
        flush_once(&r);
        if (sink && sink->tick)
            sink->tick(sink_arg);
    }
    free(r.p);
    return NULL;
}

int cprof__trace_on_writer(void)
{
    return on_writer;
}

void cprof__trace_flush_now(void)
{
    if (!on_writer)
        return;
    struct recbuf r = {0};
    flush_once(&r);
    free(r.p);
}

/* ---- Start and stop
 * --------------------------------------------------------------------------------- */

int cprof__trace_begin(const struct cprof_trace_sink *s, void *arg, size_t max_bytes)
{
    pthread_mutex_lock(&state_lock);
    int rc = -1;
    if (atomic_load(&tracing)) {
        cprof__fail("tracing is already on");
        goto out;
    }
    if (!pool) {
        /* Mapped once, never unmapped (see the file comment), with room for
         * the largest budget (the file tracer's default, 64 MiB) and
         * THREAD_BUFFERS threads besides: only the pages used are resident. */
        pool_size = (uint32_t)(max_bytes / BUFFER_BYTES);
        if (pool_size < POOL_MIN_PENDING)
            pool_size = POOL_MIN_PENDING;
        pool_size += THREAD_BUFFERS;
        void *p = mmap(NULL, (size_t)pool_size * BUFFER_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            cprof__fail("tracing: cannot map %u buffers: %s", pool_size, strerror(errno));
            goto out;
        }
        pool = p;
        use_tsc = tsc_is_reliable();
        sem_init(&writer_wake, 0, 0);
    }
    /* Every buffer is free again for the new session: handed out from
     * index 0 (the pages an earlier session made resident) as needed. */
    uint32_t used = atomic_load(&pool_fresh);
    for (uint32_t i = 0; i < used; i++) {
        pool[i].len = 0;
        pool[i].owned = 0;
    }
    atomic_store(&free_list, 0);
    atomic_store(&full_list, 0);
    atomic_store(&pool_fresh, 0);
    atomic_store(&pending, 0);
    pending_max = (uint32_t)(max_bytes / BUFFER_BYTES);
    if (pending_max < 1)
        pending_max = 1;
    if (pending_max > pool_size - THREAD_BUFFERS)
        pending_max = pool_size - THREAD_BUFFERS;
    while (sem_trywait(&writer_wake) == 0) /* an earlier session's wake-up */
        ;
    if (!stacks)
        stacks = cprof__samples_new(64 * 1024, 4 * 1024 * 1024);
    for (size_t i = 0; i < strings.n; i++)
        free(strings.v[i]);
    strings.n = strings.written = 0;
    nended = ended_written = 0;
    sink = s;
    sink_arg = arg;
    atomic_store(&events_lost, 0);
    atomic_store(&events_written, 0);
    start_mono_ns = mono_ns();
    cprof__unwind_refresh();
    atomic_fetch_add(&generation, 1);
    atomic_store(&tracing, 1);

    struct recbuf r = {0};
    uint8_t header[CPROF_TRACE_HEADER] = {0};
    memcpy(header, CPROF_TRACE_MAGIC, 8);
    uint32_t version = CPROF_TRACE_VERSION, flags = use_tsc;
    memcpy(header + 8, &version, 4);
    memcpy(header + 12, &flags, 4);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t unix_ns = (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
    memcpy(header + 16, &unix_ns, 8);
    rec_bytes(&r, header, sizeof header);
    char info[256];
    snprintf(info, sizeof info, "pid=%d", (int)getpid());
    size_t at = rec_begin(&r, TRACE_REC_INFO);
    rec_bytes(&r, info, strlen(info));
    rec_end(&r, at);
    snprintf(info, sizeof info, "cprof=%s", cprof_version());
    at = rec_begin(&r, TRACE_REC_INFO);
    rec_bytes(&r, info, strlen(info));
    rec_end(&r, at);
    record_cmdline(&r);
    record_clock(&r);
    sink->header(sink_arg, r.p, r.len);
    free(r.p);

    cprof__sync_consumer(CPROF_SYNC_TRACE, 1);
    writer_running = cprof__thread_create_internal(&writer, writer_main, NULL) == 0;
    cprof__agent_start();
    rc = 0;
out:
    pthread_mutex_unlock(&state_lock);
    return rc;
}

/* /proc/self/task/TID/schedstat: ns on a CPU, ns waiting on a run queue,
 * timeslices. 0, or -1 where the kernel has no schedstat (it needs
 * CONFIG_SCHED_INFO). */
static int read_schedstat(pid_t tid, uint64_t v[3])
{
    char path[64], text[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    unsigned long long a, b, c;
    if (sscanf(text, "%llu %llu %llu", &a, &b, &c) != 3)
        return -1;
    v[0] = a;
    v[1] = b;
    v[2] = c;
    return 0;
}

/* cprof__threads_each's callback: a SCHED record for the thread, now. */
static void record_sched(pid_t tid, void *arg)
{
    uint64_t v[3];
    if (read_schedstat(tid, v) == 0)
        record_sched_values(arg, tid, mono_ns(), v);
}

static void record_threads(pid_t tid, void *arg)
{
    struct recbuf *r = arg;
    char path[64], name[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, name, sizeof name - 1);
        close(fd);
        name[n > 0 ? n : 0] = '\0';
        name[strcspn(name, "\n")] = '\0';
    }
    size_t at = rec_begin(r, TRACE_REC_THREAD);
    rec_u32(r, (uint32_t)tid);
    rec_u32(r, 0);
    rec_bytes(r, name, strlen(name));
    rec_end(r, at);
    record_sched(tid, r);
}

/* The stacks the events referred to, and the symbols of their pcs. */
/* ---- Symbols, kept across snapshots ------------------------------------------------------ */

/* The SYMBOL record of every pc named so far this session, so that a
 * flight-recorder snapshot builds a symbolizer only for pcs it has not seen:
 * a symbolizer costs ~80 ms and ~17 MiB while it inflates glibc's debug info
 * (docs/performance.md, "Flight recorder"), a cached record a copy. Keyed by
 * pc while the set of loaded objects is the same (dl_iterate_phdr's counts
 * of loads and unloads): after a dlopen or dlclose a pc may name another
 * function, and the cache starts again. Under symbol_cache_lock: a snapshot
 * and the end of a trace may both name symbols. */
struct cached_symbol {
    uint64_t pc;
    size_t at; /* of its record in symbol_cache.records */
    uint32_t len;
};
static struct {
    struct cached_symbol *v; /* [0, sorted) by pc, then this call's additions */
    size_t n, cap, sorted;
    struct recbuf records;
    unsigned long long loads, unloads;
} symbol_cache;
static pthread_mutex_t symbol_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int read_load_counts(struct dl_phdr_info *info, size_t size, void *out)
{
    (void)size;
    unsigned long long *counts = out;
    counts[0] = info->dlpi_adds;
    counts[1] = info->dlpi_subs;
    return 1; /* the counts are the same in every entry: the first will do */
}

static void symbol_cache_clear(void)
{
    free(symbol_cache.v);
    free(symbol_cache.records.p);
    memset(&symbol_cache, 0, sizeof symbol_cache);
}

/* Empties the cache if an object was loaded or unloaded since it was filled. */
static void symbol_cache_check_objects(void)
{
    unsigned long long counts[2] = {0, 0};
    dl_iterate_phdr(read_load_counts, counts);
    if (counts[0] == symbol_cache.loads && counts[1] == symbol_cache.unloads)
        return;
    symbol_cache_clear();
    symbol_cache.loads = counts[0];
    symbol_cache.unloads = counts[1];
}

static int cmp_cached_symbol(const void *a, const void *b)
{
    uint64_t x = ((const struct cached_symbol *)a)->pc, y = ((const struct cached_symbol *)b)->pc;
    return x < y ? -1 : x > y;
}

static const struct cached_symbol *symbol_cache_find(uint64_t pc)
{
    size_t lo = 0, hi = symbol_cache.sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (symbol_cache.v[mid].pc < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < symbol_cache.sorted && symbol_cache.v[lo].pc == pc ? &symbol_cache.v[lo] : NULL;
}

/* Keeps one record; found by later calls, after symbol_cache_sort. Without
 * memory it is simply not kept. */
static void symbol_cache_add(uint64_t pc, const uint8_t *record, size_t len)
{
    if (symbol_cache.n == symbol_cache.cap) {
        size_t cap = symbol_cache.cap ? symbol_cache.cap * 2 : 1024;
        struct cached_symbol *v = realloc(symbol_cache.v, cap * sizeof *v);
        if (!v)
            return;
        symbol_cache.v = v;
        symbol_cache.cap = cap;
    }
    size_t at = symbol_cache.records.len;
    rec_bytes(&symbol_cache.records, record, len);
    if (symbol_cache.records.len != at + len)
        return;
    symbol_cache.v[symbol_cache.n++] = (struct cached_symbol){pc, at, (uint32_t)len};
}

static void symbol_cache_sort(void)
{
    if (symbol_cache.sorted == symbol_cache.n)
        return;
    qsort(symbol_cache.v, symbol_cache.n, sizeof *symbol_cache.v, cmp_cached_symbol);
    symbol_cache.sorted = symbol_cache.n;
}

/* One SYMBOL record: the frames (inlined first) that pc stands for. */
static void record_symbol(struct recbuf *r, cprof_symbolizer *sym, uint64_t pc)
{
    const char *funcs[16], *files[16];
    int64_t lines[16];
    int n = 0;
    if (pc >= CPROF_PSEUDO_BASE && pc < CPROF_PSEUDO(cprof__npseudo_names)) {
        funcs[0] = cprof__pseudo_names[pc - CPROF_PSEUDO_BASE];
        files[0] = "";
        lines[0] = 0;
        n = 1;
    } else {
        n = cprof__symbolize_frames(sym, pc, funcs, files, lines, 16);
    }
    size_t at = rec_begin(r, TRACE_REC_SYMBOL);
    rec_u64(r, pc);
    rec_u32(r, (uint32_t)n);
    rec_u32(r, 0);
    for (int f = 0; f < n; f++) {
        rec_uvarint(r, (uint64_t)lines[f]);
        rec_str(r, funcs[f]);
        rec_str(r, files[f]);
    }
    rec_end(r, at);
}

/* The SYMBOL records of the sorted pcs (duplicates skipped): from the
 * cache, and the others from a symbolizer built only if one is missing. */
static void record_symbols(struct recbuf *r, const uint64_t *pcs, size_t npcs)
{
    pthread_mutex_lock(&symbol_cache_lock);
    symbol_cache_check_objects();
    cprof_symbolizer *sym = NULL;
    int built = 0;
    struct recbuf one = {0};
    for (size_t i = 0; i < npcs; i++) {
        if (i && pcs[i] == pcs[i - 1])
            continue;
        const struct cached_symbol *c = symbol_cache_find(pcs[i]);
        if (c) {
            rec_bytes(r, symbol_cache.records.p + c->at, c->len);
            continue;
        }
        if (!built) {
            sym = cprof__symbolizer_new();
            built = 1;
        }
        if (!sym)
            break;
        one.len = 0;
        record_symbol(&one, sym, pcs[i]);
        rec_bytes(r, one.p, one.len);
        symbol_cache_add(pcs[i], one.p, one.len);
    }
    cprof__symbolizer_free(sym);
    free(one.p);
    symbol_cache_sort();
    pthread_mutex_unlock(&symbol_cache_lock);
}

static void record_stacks_and_symbols(struct recbuf *r)
{
    if (!stacks)
        return;
    size_t nkeys = cprof__samples_nkeys(stacks);
    uint64_t *pcs = calloc(nkeys * CPROF_MAX_FRAMES + 1, sizeof *pcs);
    size_t npcs = 0;
    uint64_t frames[CPROF_MAX_FRAMES];
    for (size_t i = 0; i < nkeys; i++) {
        long index = cprof__samples_key_index(stacks, i);
        if (index < 0)
            continue;
        int n = cprof__samples_frames(stacks, index, frames, CPROF_MAX_FRAMES);
        size_t at = rec_begin(r, TRACE_REC_STACK);
        rec_u64(r, (uint64_t)index + 1);
        rec_u32(r, (uint32_t)n);
        rec_u32(r, 0);
        rec_bytes(r, frames, (size_t)n * sizeof frames[0]);
        rec_end(r, at);
        for (int f = 0; pcs && f < n; f++)
            pcs[npcs++] = frames[f];
    }
    if (!pcs)
        return;
    qsort(pcs, npcs, sizeof *pcs, cmp_u64);
    record_symbols(r, pcs, npcs);
    free(pcs);
}

void cprof__trace_forget(void)
{
    atomic_store(&tracing, 0);
    writer_running = 0;
    pthread_mutex_init(&state_lock, NULL);
    pthread_mutex_init(&symbol_cache_lock, NULL); /* the writer may have held it */
    cprof__sync_consumer(CPROF_SYNC_TRACE, 0);
}

uint64_t cprof__trace_ticks_to_ns(uint64_t t)
{
    static double ns_per_tick;
    static uint64_t t0, n0;
    if (!use_tsc)
        return t;
    if (!ns_per_tick) { /* calibrate once, over 10 ms */
        uint64_t a = ticks(), na = mono_ns();
        struct timespec pause = {0, 10 * 1000000};
        nanosleep(&pause, NULL);
        uint64_t b = ticks(), nb = mono_ns();
        t0 = a;
        n0 = na;
        ns_per_tick = (double)(nb - na) / (double)(b - a);
    }
    (void)t0;
    (void)n0;
    return (uint64_t)((double)t * ns_per_tick);
}

uint64_t cprof__trace_start_ns(void)
{
    return start_mono_ns;
}

/* One buffer's first `used` bytes as an EVENTS record, for a snapshot: not
 * counted as written (the buffer reaches the file, or the ring, later). */
static void record_events(struct recbuf *r, const struct tbuf *b, uint32_t used)
{
    size_t at = rec_begin(r, TRACE_REC_EVENTS);
    rec_u32(r, (uint32_t)b->tid);
    rec_u32(r, b->lost);
    rec_u64(r, b->base);
    rec_bytes(r, b->data, used);
    rec_end(r, at);
}

/* The full list, oldest first, read without taking it (threads push onto
 * it meanwhile; a push only links a new head to the nodes already there).
 * Returns how many indexes went into out (at most max). */
static uint32_t peek_full(uint32_t *out, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = (uint32_t)atomic_load(&full_list); i && n < max; i = pool[i - 1].next)
        out[n++] = i - 1;
    for (uint32_t k = 0; k < n / 2; k++) { /* newest first → oldest first */
        uint32_t t = out[k];
        out[k] = out[n - 1 - k];
        out[n - 1 - k] = t;
    }
    return n;
}

/* A buffer a thread held when the snapshot looked, and how much of it. */
struct held {
    uint32_t index, used;
    pid_t tid;
    int whole; /* found handed over afterwards: it goes in whole instead */
};

/* What threads wrote that is not in the sink yet, up to one moment per
 * thread, with no event twice and none missing before that moment.
 *
 * Off the writer, only the buffers threads still hold can be read (a
 * consistent prefix of each: the length is published after the bytes);
 * those handed over may be drained while we look.
 *
 * On the writer, which alone drains, handed-over buffers hold still, and a
 * thread only ever moves its buffer from held to handed over. So: first
 * the held buffers (H), then the handed-over list in order (L). A thread's
 * buffers on L come before the one it held, unless that one was filled
 * while we looked: then it is on L too, goes in whole instead of its
 * prefix, and the thread's buffers after it on L (newer still) stay out.
 * Read the other way round (L, then H), a buffer filled between the two
 * looks was in neither: flight-gap saw holes of up to 32142 events. */
static void record_unsent(struct recbuf *r, uint32_t gen)
{
    struct held *h = on_writer ? malloc((size_t)pool_size * sizeof *h) : NULL;
    uint32_t *l = h ? malloc((size_t)pool_size * sizeof *l) : NULL;
    uint32_t nh = 0, nl = 0;
    struct recbuf prefixes = {0};             /* off the writer, or without memory */
    uint32_t used = atomic_load(&pool_fresh); /* beyond: none handed out */
    for (uint32_t i = 0; i < used; i++) {
        struct tbuf *t = &pool[i];
        uint32_t used = __atomic_load_n(&t->len, __ATOMIC_ACQUIRE);
        if (!t->owned || t->gen != gen || !used)
            continue;
        if (l)
            h[nh++] = (struct held){i, used, t->tid, 0};
        else
            record_events(&prefixes, t, used);
    }
    if (l)
        nl = peek_full(l, pool_size);
    for (uint32_t k = 0; k < nl; k++) {
        struct tbuf *t = &pool[l[k]];
        if (t->gen != gen || !t->len)
            continue;
        struct held *mine = NULL;
        for (uint32_t j = 0; j < nh && !mine; j++)
            if (h[j].tid == t->tid)
                mine = &h[j];
        if (mine && mine->whole)
            continue; /* newer than the moment we took for this thread */
        record_events(r, t, t->len);
        if (mine && mine->index == l[k])
            mine->whole = 1;
    }
    for (uint32_t j = 0; j < nh; j++)
        if (!h[j].whole)
            record_events(r, &pool[h[j].index], h[j].used);
    if (prefixes.len)
        rec_bytes(r, prefixes.p, prefixes.len);
    free(prefixes.p);
    free(l);
    free(h);
}

int cprof__trace_snapshot_events(uint8_t **out, size_t *len)
{
    struct recbuf r = {0};
    cprof__heap_enter_internal();
    record_unsent(&r, atomic_load(&generation));
    cprof__heap_leave_internal();
    *out = r.p;
    *len = r.len;
    return r.p || !r.len ? 0 : -1;
}

int cprof__trace_snapshot_records(uint8_t **out, size_t *len)
{
    struct recbuf r = {0};
    cprof__heap_enter_internal();
    pthread_mutex_lock(&state_lock);
    for (size_t i = 0; i < strings.n; i++) { /* all of them: older chunks are gone */
        size_t at = rec_begin(&r, TRACE_REC_STRING);
        rec_u64(&r, i + 1);
        rec_bytes(&r, strings.v[i], strlen(strings.v[i]));
        rec_end(&r, at);
    }
    for (size_t i = 0; i < nended; i++)
        record_ended(&r, &ended[i]);
    pthread_mutex_unlock(&state_lock);
    record_clock(&r);
    cprof__threads_lock();
    cprof__threads_each(record_threads, &r);
    cprof__threads_unlock();
    record_stacks_and_symbols(&r);
    size_t at = rec_begin(&r, TRACE_REC_END);
    rec_u64(&r, atomic_load(&events_written));
    rec_u64(&r, atomic_load(&events_lost));
    rec_u64(&r, mono_ns() - start_mono_ns);
    rec_end(&r, at);
    cprof__heap_leave_internal();
    *out = r.p;
    *len = r.len;
    return r.p ? 0 : -1;
}

int cprof__trace_end(void)
{
    pthread_mutex_lock(&state_lock);
    if (!atomic_load(&tracing)) {
        pthread_mutex_unlock(&state_lock);
        return cprof__fail("tracing is not on");
    }
    atomic_store(&tracing, 0);
    cprof__sync_consumer(CPROF_SYNC_TRACE, 0);
    pthread_mutex_unlock(&state_lock);
    sem_post(&writer_wake); /* not the rest of its 20 ms */
    if (writer_running)
        pthread_join(writer, NULL);
    writer_running = 0;
    /* Threads that were in the middle of an event had 5 ms to finish it. */
    struct timespec grace = {0, 5 * 1000000};
    nanosleep(&grace, NULL);

    struct recbuf r = {0};
    cprof__heap_enter_internal();
    record_strings(&r);
    drain_full(&r);
    uint32_t gen = atomic_load(&generation);
    uint32_t used = atomic_load(&pool_fresh);
    for (uint32_t i = 0; i < used; i++) /* what threads were still writing */
        if (pool[i].owned && pool[i].gen == gen && pool[i].len)
            record_buffer(&r, &pool[i]);
    record_clock(&r);
    cprof__threads_lock();
    cprof__threads_each(record_threads, &r);
    cprof__threads_unlock();
    record_stacks_and_symbols(&r);
    size_t at = rec_begin(&r, TRACE_REC_END);
    rec_u64(&r, atomic_load(&events_written));
    rec_u64(&r, atomic_load(&events_lost));
    rec_u64(&r, mono_ns() - start_mono_ns);
    rec_end(&r, at);
    send_records(&r, 1);
    free(r.p);
    pthread_mutex_lock(&symbol_cache_lock); /* no snapshot of this session will need it */
    symbol_cache_clear();
    pthread_mutex_unlock(&symbol_cache_lock);
    int rc = sink->close(sink_arg);
    cprof__heap_leave_internal();
    return rc;
}
