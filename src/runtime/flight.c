/*
 * flight.c: owns the flight recorder: the tracer running always, its
 * chunks kept in a ring in memory instead of a file, and snapshots of the
 * ring written on demand (API, HTTP, a signal) or by themselves when a task
 * or region runs slower than a threshold.
 *
 * The ring: each flush of the tracer's writer (every 20 ms) is one chunk.
 * Old chunks are dropped while the ring holds more than max_bytes, and also
 * while the chunk after the oldest is itself older than min_age (history of
 * at least min_age is kept while it fits; max_bytes wins).
 *
 * A snapshot is the trace header, the chunks, and then what makes them a
 * complete trace on their own: every string, thread names, the stacks and
 * their symbols, an END record (trace.c). One snapshot at a time; a second
 * request is refused with an error.
 *
 * Triggers: region ends are timed on their own thread (trace.c keeps the
 * open regions per thread); task begin times are kept here, by task id,
 * because a task may end on another thread. A slow span only raises a
 * request; the tracer's writer thread writes the snapshot at its next tick,
 * so the program's thread never waits for a file. At most one triggered
 * snapshot per min_age.
 *
 * Locking: `ring_lock` protects the ring; `snapshot_lock` makes snapshots
 * one at a time; `task_lock` protects the task table; requests are atomics
 * (the signal handler sets one).
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

#define MAX_TRIGGERS 16
#define TASK_SLOTS   4096

struct chunk {
    struct chunk *next;
    uint64_t when_ns;
    size_t len;
    uint8_t data[];
};

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    struct chunk *head, *tail;
    size_t bytes;
    uint8_t *header;
    size_t header_len;
    uint8_t *cur; /* the chunk being filled */
    size_t cur_len, cur_cap;
    uint64_t min_age_ns;
    size_t max_bytes;
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

static void drop_oldest(void)
{
    struct chunk *c = ring.head;
    ring.head = c->next;
    if (!ring.head)
        ring.tail = NULL;
    ring.bytes -= c->len;
    free(c);
}

/* Ring lock held. */
static void evict(uint64_t now)
{
    while (ring.head && ring.head != ring.tail && ring.bytes > ring.max_bytes)
        drop_oldest();
    while (ring.head && ring.head->next && now - ring.head->next->when_ns >= ring.min_age_ns)
        drop_oldest();
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

static int ring_write(void *arg, const void *bytes, size_t len, int chunk_end)
{
    (void)arg;
    if (ring.cur_len + len > ring.cur_cap) {
        size_t cap = (ring.cur_len + len) * 2;
        uint8_t *grown = realloc(ring.cur, cap);
        if (!grown)
            return -1;
        ring.cur = grown;
        ring.cur_cap = cap;
    }
    memcpy(ring.cur + ring.cur_len, bytes, len);
    ring.cur_len += len;
    if (!chunk_end)
        return 0;
    struct chunk *c = malloc(sizeof *c + ring.cur_len);
    if (!c)
        return -1;
    c->next = NULL;
    c->when_ns = mono_ns();
    c->len = ring.cur_len;
    memcpy(c->data, ring.cur, ring.cur_len);
    ring.cur_len = 0;
    pthread_mutex_lock(&ring_lock);
    if (ring.tail)
        ring.tail->next = c;
    else
        ring.head = c;
    ring.tail = c;
    ring.bytes += c->len;
    evict(c->when_ns);
    pthread_mutex_unlock(&ring_lock);
    return 0;
}

static int ring_close(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ring_lock);
    while (ring.head)
        drop_oldest();
    free(ring.cur);
    ring.cur = NULL;
    ring.cur_len = ring.cur_cap = 0;
    pthread_mutex_unlock(&ring_lock);
    return 0;
}

static void ring_tick(void *arg);
static const struct cprof_trace_sink ring_sink = {ring_header, ring_write, ring_close, ring_tick};

/* ---- Snapshots ------------------------------------------------------------------------------ */

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
 * the ring was copied (flight-many saw 1405 duplicated begins); and what
 * was handed over but not yet drained was missing (flight-gap saw a hole
 * of 32142 logs). cprof__flight_snapshot takes snapshots on the writer. */
/* Header, ring chunks (the newest that fit in `budget` bytes), the events
 * not in the ring yet, room for the NOTE: a malloc'd buffer, or NULL. */
static uint8_t *assemble(const uint8_t *events, size_t events_len, size_t budget, size_t room,
                         size_t *len)
{
    pthread_mutex_lock(&ring_lock);
    const struct chunk *from = ring.head;
    size_t ring_len = ring.bytes;
    while (from && ring_len > budget) { /* the oldest go first, as eviction does */
        ring_len -= from->len;
        from = from->next;
    }
    uint8_t *buf = malloc(ring.header_len + ring_len + events_len + room);
    if (buf) {
        memcpy(buf, ring.header, ring.header_len);
        *len = ring.header_len;
        for (const struct chunk *c = from; c; c = c->next) {
            memcpy(buf + *len, c->data, c->len);
            *len += c->len;
        }
        if (events_len)
            memcpy(buf + *len, events, events_len);
        *len += events_len;
    }
    pthread_mutex_unlock(&ring_lock);
    return buf;
}

/* On the writer thread, which alone changes the ring: the full buffers go
 * into the ring, then the events still outside it are read, then the ring
 * is copied, keeping the whole within max_bytes (a flood fills buffers
 * faster than a snapshot reads them: flight-flood saw 2 MB for a 1 MiB
 * recorder). Elsewhere (the writer did not answer) the ring is copied
 * first: a buffer drained between the two would otherwise be in both. */
static int take_snapshot(const char *note, uint8_t **out, size_t *out_len)
{
    if (!atomic_load(&recording))
        return cprof__fail("flight recorder: not running (cprof_flight_start)");
    if (pthread_mutex_trylock(&snapshot_lock) != 0)
        return cprof__fail("flight recorder: a snapshot is already being written; try again");
    cprof__heap_enter_internal();
    int on_writer = cprof__trace_on_writer();
    cprof__trace_flush_now();
    size_t len = 0, note_max = 16 + strlen(note);
    uint8_t *events = NULL, *buf = NULL, *extra = NULL;
    size_t events_len = 0, extra_len = 0;
    int rc = 0;
    if (on_writer) {
        rc = cprof__trace_snapshot_events(&events, &events_len);
        size_t budget = ring.max_bytes > events_len ? ring.max_bytes - events_len : 0;
        buf = rc ? NULL : assemble(events, events_len, budget, note_max, &len);
    } else {
        uint8_t *ring_part = assemble(NULL, 0, SIZE_MAX, 0, &len);
        rc = ring_part ? cprof__trace_snapshot_events(&events, &events_len) : -1;
        buf = rc ? NULL : realloc(ring_part, len + events_len + note_max);
        if (buf) {
            memcpy(buf + len, events, events_len);
            len += events_len;
        } else {
            free(ring_part);
        }
    }
    if (!buf)
        rc = cprof__fail("flight recorder: out of memory for a snapshot");
    else
        rc = cprof__trace_snapshot_records(&extra, &extra_len);
    if (rc == 0) {
        uint8_t *grown = realloc(buf, len + note_max + extra_len);
        if (grown) {
            buf = grown;
            len += note_record(buf + len, note);
            memcpy(buf + len, extra, extra_len);
            len += extra_len;
        } else {
            rc = cprof__fail("flight recorder: out of memory for a snapshot");
        }
    }
    if (rc != 0) {
        free(buf);
        buf = NULL;
        len = 0;
    }
    free(events);
    free(extra);
    cprof__heap_leave_internal();
    pthread_mutex_unlock(&snapshot_lock);
    *out = buf;
    *out_len = len;
    return rc;
}

/* A snapshot asked for on another thread (cprof_flight_write, HTTP) is
 * taken by the writer thread at its next tick, at most 20 ms away: only
 * there is it complete up to the moment asked for. */
struct ask {
    const char *note;
    uint8_t *buf;
    size_t len;
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
    a->rc = take_snapshot(a->note, &a->buf, &a->len);
    if (a->rc != 0)
        snprintf(a->err, sizeof a->err, "%s", cprof_last_error());
    pthread_mutex_lock(&ask_lock);
    a->state = 2;
    pthread_cond_broadcast(&ask_done);
    pthread_mutex_unlock(&ask_lock);
}

int cprof__flight_snapshot(const char *note, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (cprof__trace_on_writer())
        return take_snapshot(note, out, out_len);
    if (!atomic_load(&recording))
        return cprof__fail("flight recorder: not running (cprof_flight_start)");
    struct ask a = {.note = note};
    pthread_mutex_lock(&ask_lock);
    if (asked) {
        pthread_mutex_unlock(&ask_lock);
        return cprof__fail("flight recorder: a snapshot is already being written; try again");
    }
    asked = &a;
    /* The writer ticks every 20 ms; if it has not taken the request in 2 s
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
        return take_snapshot(note, out, out_len);
    if (a.rc != 0)
        return cprof__fail("%s", a.err);
    *out = a.buf;
    *out_len = a.len;
    return 0;
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
    uint8_t *buf;
    size_t len;
    if (cprof__flight_snapshot(note, &buf, &len) < 0)
        return -1;
    /* A temporary file renamed into place, so that a reader never sees half
     * a snapshot; but a path that is not a plain file (a device, a link) is
     * written in place rather than replaced. */
    char tmp[PATH_MAX + 16];
    struct stat st;
    int in_place = lstat(path, &st) == 0 && !S_ISREG(st.st_mode);
    snprintf(tmp, sizeof tmp, "%s%s", path, in_place ? "" : ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : 0;
    for (size_t done = 0; rc == 0 && done < len;) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            done += (size_t)w;
    }
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc == 0 && !in_place && rename(tmp, path) != 0)
        rc = -1;
    if (rc < 0) {
        cprof__fail("flight recorder: cannot write %s: %s", path, strerror(errno));
        if (!in_place)
            unlink(tmp);
    }
    free(buf);
    /* The snapshot's working memory (the ring's copy, the records, the
     * writer's flush: ~4 MiB for a 1 MiB ring) is back in the allocator,
     * in the writer thread's arena, which keeps it: give it back. */
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

/* async-signal-safe: an atomic store. */
static void on_snapshot_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    atomic_store(&requested, 2);
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

CPROF_API int cprof_flight_start(uint64_t min_age_ms, size_t max_bytes)
{
    if (max_bytes < 64 * 1024)
        return cprof__fail("cprof_flight_start: max_bytes must be at least 64 KiB, not %zu",
                           max_bytes);
    if (min_age_ms == 0)
        return cprof__fail("cprof_flight_start: min_age_ms must be more than 0");
    pthread_mutex_lock(&api_lock);
    int rc = -1;
    if (atomic_load(&recording)) {
        cprof__fail("cprof_flight_start: the flight recorder is already running");
        goto out;
    }
    ring.min_age_ns = min_age_ms * 1000000;
    ring.max_bytes = max_bytes;
    /* Event buffers: a quarter of the ring, at least 1 MiB: they only hold
     * what has not been flushed yet (20 ms worth). */
    size_t buffers = max_bytes / 4 > (1 << 20) ? max_bytes / 4 : (1 << 20);
    if (cprof__trace_begin(&ring_sink, NULL, buffers) < 0)
        goto out;
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
     * strings): a child that starts its own recorder starts empty. The
     * memory is dropped, not freed: the child's allocator is fine, but the
     * chunks are the parent's business. */
    ring.head = ring.tail = NULL;
    ring.bytes = 0;
    ring.cur = NULL;
    ring.cur_len = ring.cur_cap = 0;
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
