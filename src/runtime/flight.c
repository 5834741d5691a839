/*
 * flight.c: owns the flight recorder: the tracer running always, its
 * records kept in a ring in memory instead of a file, and snapshots of the
 * ring written on demand (API, HTTP, a signal) or by themselves when a task
 * or region runs slower than a threshold.
 *
 * The ring: one mapping of `cap` bytes (max_bytes less the tracer's budget
 * for buffers not yet drained, below), made at start and touched as it
 * fills, holding pieces (a small header and the records of one sink write:
 * the writer sends a flush, every 20 ms or when woken, one event buffer at
 * a time) end to end, wrapping. Before a piece is added, the oldest pieces
 * are dropped until it fits, so the ring never holds more than cap; and
 * while the piece after the oldest is itself older than min_age, the oldest
 * is dropped (history of at least min_age is kept while it fits; max_bytes
 * wins). A write larger than the whole ring is cut at record boundaries.
 * Nothing is assembled outside the ring: a flush goes from the event
 * buffers through the writer's one-buffer staging (trace.c) straight into it.
 *
 * Memory bound, the issue's: max_bytes + one chunk per thread. max_bytes
 * holds the ring and an eighth of max_bytes (pending_bytes) for event
 * buffers handed to the writer and not drained yet: a thread whose buffer
 * fills while that many wait loses its events (counted) rather than wait,
 * and the writer is woken when half of it waits (trace.c). The chunk per
 * thread is the 64 KiB buffer each tracing thread writes into.
 * A snapshot adds its own working memory, which does not depend on
 * max_bytes: the records that close it (strings, stacks, symbols: a
 * symbolizer, built only for pcs no earlier snapshot named (trace.c keeps
 * their records), peaks at ~17 MiB here, freed after), a copy of the events not
 * yet in the ring (the threads' buffers, and those handed over since the
 * flush that precedes the snapshot), and a 64 KiB staging buffer; the ring
 * itself is written to the file from where it is.
 * tests/test-flight-flood.sh checks the bound on VmHWM.
 *
 * A snapshot is the trace header, the chunks, and then what makes them a
 * complete trace on their own: every string, thread names, the stacks and
 * their symbols, an END record (trace.c). One snapshot at a time; a second
 * request is refused with an error.
 *
 * Triggers: region ends are timed on their own thread (trace.c keeps the
 * open regions per thread); task begin times are kept here, by task id,
 * because a task may end on another thread. A slow span only raises a
 * request and wakes the tracer's writer thread, which writes the snapshot
 * at once, so the program's thread never waits for a file. At most one triggered
 * snapshot per min_age.
 *
 * Files (cprof_flight_write, triggers, signals, and HTTP, which answers
 * from an unlinked temporary file) get cprof__flight_snapshot_fd;
 * cprof__flight_snapshot makes one buffer of exactly the snapshot's size,
 * HTTP's fallback where no temporary file can be made.
 *
 * Locking: `ring_lock` protects the ring (a snapshot holds it while it
 * writes the ring out); `snapshot_lock` makes snapshots one at a time;
 * `task_lock` protects the task table; requests are atomics (the signal
 * handler sets one).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof.h"
#include "errors.h"
#include "flight.h"
#include "heap.h"
#include "settings.h"
#include "signals.h"
#include "trace.h"
#include "trace_format.h"

#define MAX_TRIGGERS        16
#define FLIGHT_BUFFER_BYTES TRACE_BUFFER_BYTES
#define FLIGHT_MIN_BYTES    (256 * 1024) /* a ring of 3 event buffers, 1 pending */
#define TASK_SLOTS          4096

/* A piece of the ring: the records of one sink write (a flush sends one
 * piece per event buffer drained, trace.c), after this header. */
struct piece {
    uint64_t when_ns; /* CLOCK_MONOTONIC when it came in */
    uint64_t len;     /* bytes of records after the header */
};
#define PIECE_HDR sizeof(struct piece)

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint8_t *buf; /* cap bytes, mapped at start: headers and records, wrapping */
    size_t head;  /* offset of the oldest piece's header */
    size_t used;  /* bytes in use from head, headers included (<= cap) */
    size_t bytes; /* of records (what a snapshot carries) */
    size_t npieces;
    uint64_t too_big; /* records larger than the whole ring, dropped */
    uint8_t *header;
    size_t header_len;
    uint64_t min_age_ns;
    size_t cap;       /* max_bytes - pending_bytes */
    size_t max_bytes; /* the user's: a snapshot stays within it */
} ring;
static _Atomic int recording;

struct trigger {
    char name[128];
    uint64_t threshold_ns;
    char pattern[PATH_MAX];
};
static struct trigger triggers[MAX_TRIGGERS];
static _Atomic int ntriggers;
static double ns_per_tick;

/* A snapshot someone asked for: the writer thread writes it. */
static _Atomic int requested;  /* 0 none, 1 trigger, 2 signal */
static char request_note[256]; /* sized for a name cut at 100 bytes */
static char request_pattern[PATH_MAX];
static int64_t last_triggered_ns = INT64_MIN / 2;
static char signal_pattern[PATH_MAX] = "flight-%p-%t.cpt";

struct task_slot {
    uint64_t id, name_id, began;
};
static struct task_slot tasks[TASK_SLOTS];
static pthread_mutex_t task_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* ---- The ring (the tracer's sink) ------------------------------------------------------ */

/* Ring lock held for all of these. Offsets wrap at cap. */
static void ring_copy_in(size_t at, const void *src, size_t n)
{
    at %= ring.cap;
    size_t first = n < ring.cap - at ? n : ring.cap - at;
    memcpy(ring.buf + at, src, first);
    memcpy(ring.buf, (const uint8_t *)src + first, n - first);
}

static struct piece piece_at(size_t at)
{
    struct piece p;
    at %= ring.cap;
    size_t first = PIECE_HDR < ring.cap - at ? PIECE_HDR : ring.cap - at;
    memcpy(&p, ring.buf + at, first);
    memcpy((uint8_t *)&p + first, ring.buf, PIECE_HDR - first);
    return p;
}

static size_t piece_next(size_t at, const struct piece *p)
{
    return (at + PIECE_HDR + p->len) % ring.cap;
}

static void drop_oldest(void)
{
    struct piece p = piece_at(ring.head);
    ring.head = piece_next(ring.head, &p);
    ring.used -= PIECE_HDR + p.len;
    ring.bytes -= p.len;
    if (--ring.npieces == 0)
        ring.head = ring.used = 0;
}

/* Drops old pieces while the piece after the oldest is itself older than
 * min_age (history of at least min_age is kept, while it fits). */
static void evict_aged(uint64_t now)
{
    while (ring.npieces > 1) {
        struct piece oldest = piece_at(ring.head);
        struct piece next = piece_at(piece_next(ring.head, &oldest));
        if (now - next.when_ns < ring.min_age_ns)
            break;
        drop_oldest();
    }
}

/* Adds records (n + PIECE_HDR <= cap) as a piece, evicting the oldest
 * pieces first, so that the ring never holds more than cap. */
static void ring_store(const uint8_t *records, size_t n, uint64_t now)
{
    if (!n)
        return;
    while (ring.npieces && ring.cap - ring.used < PIECE_HDR + n)
        drop_oldest();
    size_t at = ring.head + ring.used;
    struct piece p = {now, n};
    ring_copy_in(at, &p, PIECE_HDR);
    ring_copy_in(at + PIECE_HDR, records, n);
    ring.used += PIECE_HDR + n;
    ring.bytes += n;
    ring.npieces++;
}

static int ring_header(void *arg, const void *bytes, size_t len)
{
    (void)arg;
    free(ring.header);
    ring.header = malloc(len);
    if (!ring.header)
        return -1;
    memcpy(ring.header, bytes, len);
    ring.header_len = len;
    return 0;
}

/* Whole records (trace.h), copied straight into the ring: no chunk is
 * assembled elsewhere. A write larger than the ring (a flush of a trace
 * with many threads into a small ring) is cut at record boundaries into
 * pieces that fit; its oldest records then evict each other, as old
 * pieces do, and a thread's events stay a suffix (no hole). */
static int ring_write(void *arg, const void *bytes, size_t len, int chunk_end)
{
    (void)arg, (void)chunk_end;
    const uint8_t *p = bytes;
    pthread_mutex_lock(&ring_lock);
    if (!ring.buf) {
        pthread_mutex_unlock(&ring_lock);
        return -1;
    }
    uint64_t now = mono_ns();
    evict_aged(now);
    size_t most = ring.cap - PIECE_HDR;
    if (len <= most) {
        ring_store(p, len, now);
    } else {
        size_t start = 0, off = 0;
        while (off + CPROF_TRACE_RECORD <= len) {
            uint32_t body;
            memcpy(&body, p + off + 4, 4);
            size_t rec = CPROF_TRACE_RECORD + (size_t)body;
            if (rec > len - off)
                break; /* not a whole record: cannot happen (trace.h) */
            if (rec > most) {
                ring_store(p + start, off - start, now);
                ring.too_big++;
                start = off + rec;
            } else if (off + rec - start > most) {
                ring_store(p + start, off - start, now);
                start = off;
            }
            off += rec;
        }
        ring_store(p + start, off - start, now);
    }
    pthread_mutex_unlock(&ring_lock);
    return 0;
}

static void ring_unmap(void)
{
    if (ring.buf)
        munmap(ring.buf, ring.cap);
    ring.buf = NULL;
    ring.head = ring.used = ring.bytes = ring.npieces = 0;
}

static int ring_close(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ring_lock);
    ring_unmap();
    pthread_mutex_unlock(&ring_lock);
    return 0;
}

static void ring_tick(void *arg);
static const struct cprof_trace_sink ring_sink = {ring_header, ring_write, ring_close, ring_tick};

/* ---- Snapshots ------------------------------------------------------------------------------ */

/* Where a snapshot goes: a file descriptor, through a small staging
 * buffer (pieces can be small), or one malloc'd buffer of exactly the
 * snapshot's size (HTTP's fallback). */
struct out {
    int fd; /* -1: into mem */
    uint8_t *mem;
    size_t len;
    uint8_t *stage;
    size_t staged;
    int err; /* errno of a failed write */
};
#define STAGE_BYTES (64 * 1024)

static int write_all(struct out *o, const uint8_t *p, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t w = write(o->fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            o->err = w < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

static int out_flush(struct out *o)
{
    int rc = write_all(o, o->stage, o->staged);
    o->staged = 0;
    return rc;
}

/* Before the first put: the snapshot's exact size. */
static int out_begin(struct out *o, size_t total)
{
    if (o->fd < 0)
        o->mem = malloc(total ? total : 1);
    else
        o->stage = malloc(STAGE_BYTES);
    return o->mem || o->stage ? 0 : -1;
}

static int out_put(struct out *o, const void *bytes, size_t n)
{
    if (!n)
        return 0;
    if (o->fd < 0) {
        memcpy(o->mem + o->len, bytes, n);
        o->len += n;
        return 0;
    }
    if (o->staged + n > STAGE_BYTES && out_flush(o) < 0)
        return -1;
    if (n >= STAGE_BYTES) /* large: written from where it is */
        return write_all(o, bytes, n);
    memcpy(o->stage + o->staged, bytes, n);
    o->staged += n;
    return 0;
}

/* The records of the pieces from `at` on (a piece may wrap: two puts). */
static int out_pieces(struct out *o, size_t at, size_t n)
{
    int rc = 0;
    for (; n && rc == 0; n--) {
        struct piece p = piece_at(at);
        size_t from = (at + PIECE_HDR) % ring.cap;
        size_t first = p.len < ring.cap - from ? p.len : ring.cap - from;
        rc = out_put(o, ring.buf + from, first);
        if (rc == 0 && first < p.len)
            rc = out_put(o, ring.buf, p.len - first);
        at = piece_next(at, &p);
    }
    return rc;
}

/* A NOTE record: why the snapshot was taken. */
static size_t note_record(uint8_t *out, const char *text)
{
    size_t n = strlen(text);
    uint32_t len = (uint32_t)(8 + n);
    out[0] = TRACE_REC_NOTE;
    out[1] = out[2] = out[3] = 0;
    memcpy(out + 4, &len, 4);
    uint64_t since = mono_ns() - cprof__trace_start_ns(); /* as trace_format.h says */
    memcpy(out + 8, &since, 8);
    memcpy(out + 16, text, n);
    return 16 + n;
}

/* No event twice, none missing: off the writer a buffer read while in
 * progress could be filled, handed over and drained into the ring before
 * the ring was read (flight-many saw 1405 duplicated begins); and what was
 * handed over but not yet drained was missing (flight-gap saw a hole of
 * 32142 logs). cprof__flight_snapshot takes snapshots on the writer.
 *
 * On the writer thread, which alone changes the ring: the full buffers go
 * into the ring, then the events still outside it are read, then the ring
 * is written out, the newest pieces that keep the whole within max_bytes
 * (a flood fills buffers faster than a snapshot reads them: flight-flood
 * saw 2 MB for a 1 MiB recorder). Elsewhere (the writer did not answer)
 * the events are read with the ring locked, so that no buffer is drained
 * into it between the two.
 *
 * The ring's pieces go to `o` from where they are, under the ring lock:
 * a snapshot copies nothing of the ring but the 64 KiB staging buffer (or,
 * into memory, one buffer of exactly the snapshot's size). */
static int take_snapshot(const char *note, struct out *o)
{
    if (!atomic_load(&recording))
        return cprof__fail("flight recorder: not running (cprof_flight_start)");
    if (pthread_mutex_trylock(&snapshot_lock) != 0)
        return cprof__fail("flight recorder: a snapshot is already being written; try again");
    cprof__heap_enter_internal();
    int on_writer = cprof__trace_on_writer();
    cprof__trace_flush_now();
    uint8_t *events = NULL, *extra = NULL, *note_rec = malloc(16 + strlen(note));
    size_t events_len = 0, extra_len = 0;
    int rc = note_rec ? 0 : -1;
    if (on_writer && rc == 0)
        rc = cprof__trace_snapshot_events(&events, &events_len);
    pthread_mutex_lock(&ring_lock);
    if (!on_writer && rc == 0)
        rc = cprof__trace_snapshot_events(&events, &events_len);
    if (rc == 0) /* after the events: every string they name */
        rc = cprof__trace_snapshot_records(&extra, &extra_len);
    if (rc < 0) {
        rc = cprof__fail("flight recorder: out of memory for a snapshot");
    } else if (!ring.buf) {
        rc = cprof__fail("flight recorder: not running (cprof_flight_start)");
    } else {
        size_t budget = SIZE_MAX;
        if (on_writer)
            budget = ring.max_bytes > events_len ? ring.max_bytes - events_len : 0;
        size_t at = ring.head, n = ring.npieces, ring_len = ring.bytes;
        while (n && ring_len > budget) { /* the oldest go first, as eviction does */
            struct piece p = piece_at(at);
            ring_len -= p.len;
            at = piece_next(at, &p);
            n--;
        }
        size_t note_len = note_record(note_rec, note);
        size_t total = ring.header_len + ring_len + events_len + note_len + extra_len;
        if (out_begin(o, total) < 0)
            rc = cprof__fail("flight recorder: out of memory for a snapshot");
        if (rc == 0)
            rc = out_put(o, ring.header, ring.header_len);
        if (rc == 0)
            rc = out_pieces(o, at, n);
        if (rc == 0)
            rc = out_put(o, events, events_len);
        if (rc == 0)
            rc = out_put(o, note_rec, note_len);
        if (rc == 0)
            rc = out_put(o, extra, extra_len);
        if (rc == 0 && o->fd >= 0)
            rc = out_flush(o);
        if (rc < 0 && o->err)
            rc = cprof__fail("flight recorder: cannot write the snapshot: %s", strerror(o->err));
    }
    pthread_mutex_unlock(&ring_lock);
    free(o->stage);
    o->stage = NULL;
    if (rc != 0) {
        free(o->mem);
        o->mem = NULL;
        o->len = 0;
    }
    free(note_rec);
    free(events);
    free(extra);
    cprof__heap_leave_internal();
    pthread_mutex_unlock(&snapshot_lock);
    return rc;
}

/* A snapshot asked for on another thread (cprof_flight_write, HTTP) is
 * taken by the writer thread, woken for it (cprof__trace_tick_soon): only
 * there is it complete up to the moment asked for. */
struct ask {
    const char *note;
    struct out *o;
    int rc;
    int state; /* 0 waiting for the writer, 1 taken by it, 2 done */
    char err[256];
};
static pthread_mutex_t ask_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ask_done = PTHREAD_COND_INITIALIZER;
static struct ask *asked; /* under ask_lock */

/* On the writer, from ring_tick: takes the snapshot asked for, if any. */
static void answer_ask(void)
{
    pthread_mutex_lock(&ask_lock);
    struct ask *a = asked && asked->state == 0 ? asked : NULL;
    if (a)
        a->state = 1;
    pthread_mutex_unlock(&ask_lock);
    if (!a)
        return;
    a->rc = take_snapshot(a->note, a->o);
    if (a->rc != 0)
        snprintf(a->err, sizeof a->err, "%s", cprof_last_error());
    pthread_mutex_lock(&ask_lock);
    a->state = 2;
    pthread_cond_broadcast(&ask_done);
    pthread_mutex_unlock(&ask_lock);
}

static int snapshot_to(const char *note, struct out *o)
{
    if (cprof__trace_on_writer())
        return take_snapshot(note, o);
    if (!atomic_load(&recording))
        return cprof__fail("flight recorder: not running (cprof_flight_start)");
    struct ask a = {.note = note, .o = o};
    pthread_mutex_lock(&ask_lock);
    if (asked) {
        pthread_mutex_unlock(&ask_lock);
        return cprof__fail("flight recorder: a snapshot is already being written; try again");
    }
    asked = &a;
    cprof__trace_tick_soon();
    /* The writer ticks now; if it has not taken the request in 2 s
     * (stopped, or starved), the snapshot is taken here, as complete as it
     * can be from this thread. Once taken, it is waited for. */
    uint64_t give_up = mono_ns() + 2000000000ULL;
    while (a.state != 2) {
        if (a.state == 0 && (!atomic_load(&recording) || mono_ns() > give_up))
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 10 * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&ask_done, &ask_lock, &until);
    }
    asked = NULL;
    pthread_mutex_unlock(&ask_lock);
    if (a.state != 2)
        return take_snapshot(note, o);
    if (a.rc != 0)
        return cprof__fail("%s", a.err);
    return 0;
}

int cprof__flight_snapshot(const char *note, uint8_t **out, size_t *out_len)
{
    struct out o = {.fd = -1};
    int rc = snapshot_to(note, &o);
    *out = rc == 0 ? o.mem : NULL;
    *out_len = rc == 0 ? o.len : 0;
    return rc;
}

int cprof__flight_snapshot_fd(const char *note, int fd)
{
    struct out o = {.fd = fd};
    return snapshot_to(note, &o);
}

/* Expands %t (local time, to the millisecond) and %p (pid) in a pattern. */
static int expand(const char *pattern, char *out, size_t outlen)
{
    char with_time[PATH_MAX];
    size_t n = 0;
    for (const char *p = pattern; *p && n + 32 < sizeof with_time; p++) {
        if (p[0] == '%' && p[1] == 't') {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            struct tm tm;
            localtime_r(&ts.tv_sec, &tm);
            n += strftime(with_time + n, sizeof with_time - n, "%Y%m%dT%H%M%S", &tm);
            n += (size_t)snprintf(with_time + n, sizeof with_time - n, ".%03ld",
                                  ts.tv_nsec / 1000000);
            p++;
        } else {
            with_time[n++] = *p;
        }
    }
    with_time[n] = '\0';
    return cprof__settings_expand_path(with_time, out, outlen);
}

static int write_snapshot(const char *pattern, const char *note)
{
    char path[PATH_MAX];
    if (expand(pattern, path, sizeof path) < 0)
        return -1;
    /* A temporary file renamed into place, so that a reader never sees half
     * a snapshot; but a path that is not a plain file (a device, a link) is
     * written in place rather than replaced. The snapshot is written into
     * it from the ring (cprof__flight_snapshot_fd), not copied first. */
    char tmp[PATH_MAX + 16];
    struct stat st;
    int in_place = lstat(path, &st) == 0 && !S_ISREG(st.st_mode);
    snprintf(tmp, sizeof tmp, "%s%s", path, in_place ? "" : ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return cprof__fail("flight recorder: cannot write %s: %s", path, strerror(errno));
    int rc = cprof__flight_snapshot_fd(note, fd);
    if (close(fd) != 0 && rc == 0)
        rc = cprof__fail("flight recorder: cannot write %s: %s", path, strerror(errno));
    if (rc == 0 && !in_place && rename(tmp, path) != 0)
        rc = cprof__fail("flight recorder: cannot write %s: %s", path, strerror(errno));
    if (rc < 0 && !in_place)
        unlink(tmp);
    /* The snapshot's working memory (the records, the symbolizer's) is
     * back in the allocator, in the writer thread's arena, which keeps it:
     * give it back. */
    malloc_trim(0);
    if (rc == 0)
        cprof__warn("flight recorder: wrote %s (%s)", path, note);
    return rc;
}

CPROF_API int cprof_flight_write(const char *path)
{
    if (!path || !*path)
        return cprof__fail("cprof_flight_write: no output path");
    return write_snapshot(path, "snapshot asked for by cprof_flight_write");
}

/* Runs on the tracer's writer thread after each flush. */
static void ring_tick(void *arg)
{
    (void)arg;
    answer_ask();
    int why = atomic_exchange(&requested, 0);
    if (!why)
        return;
    const char *pattern = why == 2 ? signal_pattern : request_pattern;
    const char *note = why == 2 ? "snapshot asked for by a signal" : request_note;
    if (write_snapshot(pattern, note) < 0)
        cprof__warn("%s", cprof_last_error());
}

/* ---- Triggers -------------------------------------------------------------------------------- */

int cprof__flight_watching(void)
{
    return atomic_load_explicit(&ntriggers, memory_order_relaxed) > 0;
}

/* A span (task or region) called name_id took `ticks`: snapshot if a
 * trigger says it was too slow, at most once per min_age. */
void cprof__flight_span_ended(uint64_t name_id, uint64_t ticks)
{
    int n = atomic_load(&ntriggers);
    uint64_t ns = (uint64_t)((double)ticks * ns_per_tick);
    for (int i = 0; i < n; i++) {
        struct trigger *t = &triggers[i];
        if (ns <= t->threshold_ns || cprof__trace_name_id(t->name) != name_id)
            continue;
        int64_t now = (int64_t)mono_ns();
        pthread_mutex_lock(&task_lock);
        int due = now - last_triggered_ns >= (int64_t)ring.min_age_ns;
        if (due && !atomic_load(&requested)) {
            last_triggered_ns = now;
            snprintf(request_note, sizeof request_note, "%.100s took %.3f ms > %.3f ms", t->name,
                     (double)ns / 1e6, (double)t->threshold_ns / 1e6);
            snprintf(request_pattern, sizeof request_pattern, "%s", t->pattern);
            atomic_store(&requested, 1);
            cprof__trace_tick_soon();
        }
        pthread_mutex_unlock(&task_lock);
        return;
    }
}

void cprof__flight_task_began(uint64_t id, uint64_t name_id, uint64_t ticks)
{
    pthread_mutex_lock(&task_lock);
    struct task_slot *s = &tasks[(id * 0x9e3779b97f4a7c15ULL) >> 52];
    *s = (struct task_slot){id, name_id, ticks}; /* a collision loses the older task */
    pthread_mutex_unlock(&task_lock);
}

void cprof__flight_task_ended(uint64_t id, uint64_t ticks)
{
    pthread_mutex_lock(&task_lock);
    struct task_slot *s = &tasks[(id * 0x9e3779b97f4a7c15ULL) >> 52];
    struct task_slot found = *s;
    if (s->id == id)
        s->id = 0;
    pthread_mutex_unlock(&task_lock);
    if (found.id == id)
        cprof__flight_span_ended(found.name_id, ticks - found.began);
}

CPROF_API int cprof_flight_trigger(const char *name, uint64_t threshold_ns,
                                   const char *path_pattern)
{
    if (!name || !*name || !path_pattern || !*path_pattern)
        return cprof__fail("cprof_flight_trigger: name and path_pattern are needed");
    if (strlen(name) >= sizeof triggers[0].name ||
        strlen(path_pattern) >= sizeof triggers[0].pattern)
        return cprof__fail("cprof_flight_trigger: name or pattern too long");
    pthread_mutex_lock(&api_lock);
    int n = atomic_load(&ntriggers), rc = 0;
    if (n == MAX_TRIGGERS) {
        rc = cprof__fail("cprof_flight_trigger: at most %d triggers", MAX_TRIGGERS);
    } else {
        struct trigger *t = &triggers[n];
        snprintf(t->name, sizeof t->name, "%s", name);
        snprintf(t->pattern, sizeof t->pattern, "%s", path_pattern);
        t->threshold_ns = threshold_ns;
        atomic_store(&ntriggers, n + 1);
    }
    pthread_mutex_unlock(&api_lock);
    return rc;
}

/* ---- Signal ------------------------------------------------------------------------------------
 */

/* async-signal-safe: an atomic store, and cprof__trace_tick_soon (an atomic
 * store and sem_post, which POSIX lists as safe). */
static void on_snapshot_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    atomic_store(&requested, 2);
    cprof__trace_tick_soon();
}

int cprof__flight_on_signal(int sig, const char *pattern)
{
    struct sigaction cur, sa = {0};
    cprof__real_sigaction(sig, NULL, &cur);
    if (cur.sa_handler != SIG_DFL || (cur.sa_flags & SA_SIGINFO))
        return cprof__fail("flight recorder: the program handles signal %d itself", sig);
    if (pattern && *pattern)
        snprintf(signal_pattern, sizeof signal_pattern, "%s", pattern);
    sa.sa_sigaction = on_snapshot_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return cprof__real_sigaction(sig, &sa, NULL);
}

/* ---- Start and stop
 * ------------------------------------------------------------------------------ */

/* The part of max_bytes for event buffers handed to the writer and not yet
 * in the ring: an eighth, in whole 64 KiB buffers, at least one. The writer
 * is woken when half of it waits, so that even a flood is drained about as
 * fast as it comes (tests/test-flight-flood.sh). */
static size_t pending_bytes(size_t max_bytes)
{
    size_t buffers = max_bytes / 8 / FLIGHT_BUFFER_BYTES;
    return (buffers ? buffers : 1) * FLIGHT_BUFFER_BYTES;
}

CPROF_API int cprof_flight_start(uint64_t min_age_ms, size_t max_bytes)
{
    if (max_bytes < FLIGHT_MIN_BYTES)
        return cprof__fail("cprof_flight_start: max_bytes must be at least %d KiB, not %zu",
                           FLIGHT_MIN_BYTES / 1024, max_bytes);
    if (min_age_ms == 0)
        return cprof__fail("cprof_flight_start: min_age_ms must be more than 0");
    pthread_mutex_lock(&api_lock);
    int rc = -1;
    if (atomic_load(&recording)) {
        cprof__fail("cprof_flight_start: the flight recorder is already running");
        goto out;
    }
    pthread_mutex_lock(&ring_lock);
    ring_unmap(); /* a child's copy of its parent's (atfork_child) */
    ring.min_age_ns = min_age_ms * 1000000;
    ring.max_bytes = max_bytes;
    ring.cap = max_bytes - pending_bytes(max_bytes);
    /* Touched as it fills: resident memory follows what the ring holds. */
    void *mem = mmap(NULL, ring.cap, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ring.buf = mem == MAP_FAILED ? NULL : mem;
    pthread_mutex_unlock(&ring_lock);
    if (!ring.buf) {
        cprof__fail("cprof_flight_start: cannot map %zu bytes: %s", ring.cap, strerror(errno));
        goto out;
    }
    if (cprof__trace_begin(&ring_sink, NULL, pending_bytes(max_bytes)) < 0) {
        ring_close(NULL);
        goto out;
    }
    /* After the tracer has chosen its clock (TSC or ns). */
    ns_per_tick = (double)cprof__trace_ticks_to_ns(1000000000) / 1e9;
    atomic_store(&recording, 1);
    rc = 0;
out:
    pthread_mutex_unlock(&api_lock);
    return rc;
}

CPROF_API void cprof_flight_stop(void)
{
    pthread_mutex_lock(&api_lock);
    if (atomic_exchange(&recording, 0))
        cprof__trace_end();
    atomic_store(&ntriggers, 0);
    pthread_mutex_unlock(&api_lock);
}

int cprof__flight_running(void)
{
    return atomic_load(&recording);
}

/* The recorder does not survive fork (no writer thread in the child). */
static void atfork_child(void)
{
    atomic_store(&recording, 0);
    atomic_store(&ntriggers, 0);
    /* The ring is the parent's history (its string ids name the parent's
     * strings): a child that starts its own recorder starts empty. Its
     * copy of the mapping is unmapped (the parent's stays). */
    ring_unmap();
    atomic_store(&requested, 0);
    last_triggered_ns = INT64_MIN / 2;
    memset(tasks, 0, sizeof tasks);
    pthread_mutex_init(&ring_lock, NULL);
    pthread_mutex_init(&snapshot_lock, NULL);
    pthread_mutex_init(&api_lock, NULL);
    pthread_mutex_init(&task_lock, NULL);
    asked = NULL; /* its thread is not in this process */
    pthread_mutex_init(&ask_lock, NULL);
    pthread_cond_init(&ask_done, NULL);
}

void cprof__flight_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}
