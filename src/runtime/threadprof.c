/*
 * threadprof.c: owns the thread profile (every thread's stack now, Go's
 * goroutine profile for threads), its text dumps, and the threadcreate
 * profile; also "the stack of thread T now" for the wall-clock profiler.
 *
 * How a stack is taken without disturbing the thread:
 * - waiting in one of sync.c's wrappers: the wrapper saved its registers,
 *   and the stack above them stands still while the thread waits; it is
 *   walked from here, under the registry lock (a registered thread cannot
 *   finish exiting, so its stack stays mapped);
 * - blocked in another system call: /proc/self/task/TID/syscall gives the
 *   call, its stack pointer and pc; the walk starts there without a frame
 *   pointer (frames that need one end the stack early);
 * - running: asked (stackask.c), by a signal the kernel delivers only
 *   while it runs user code, never in a system call. A thread that does
 *   not answer within 100 ms is looked at again (it may have blocked
 *   meanwhile), and otherwise listed as not answering.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "cprof.h"
#include "errors.h"
#include "profile_write.h"
#include "settings.h"
#include "stackask.h"
#include "symbols.h"
#include "sync.h"
#include "threadprof.h"
#include "threads.h"
#include "unwind.h"

#define ANSWER_WAIT_NS (100 * 1000000LL)
#define MAX_DUMPED     8192

/* ---- The stack of a blocked thread, from /proc ------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

/* The scheduler state letter of a thread (R, S, D, T, Z, ...), or '?'. */
static char sched_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    if (read_small(path, buf, sizeof buf) < 0)
        return '?';
    const char *close_paren = strrchr(buf, ')'); /* the name may hold spaces and ')' */
    return close_paren && close_paren[1] == ' ' ? close_paren[2] : '?';
}

static const char *syscall_name(long nr)
{
    switch (nr) {
    case SYS_read:
        return "read";
    case SYS_write:
        return "write";
    case SYS_poll:
        return "poll";
    case SYS_ppoll:
        return "ppoll";
    case SYS_select:
        return "select";
    case SYS_pselect6:
        return "pselect6";
    case SYS_epoll_wait:
        return "epoll_wait";
    case SYS_epoll_pwait:
        return "epoll_pwait";
    case SYS_accept:
        return "accept";
    case SYS_accept4:
        return "accept4";
    case SYS_connect:
        return "connect";
    case SYS_recvfrom:
        return "recvfrom";
    case SYS_recvmsg:
        return "recvmsg";
    case SYS_sendto:
        return "sendto";
    case SYS_sendmsg:
        return "sendmsg";
    case SYS_futex:
        return "futex";
    case SYS_wait4:
        return "wait4";
    case SYS_waitid:
        return "waitid";
    case SYS_pause:
        return "pause";
    case SYS_rt_sigtimedwait:
        return "sigtimedwait";
    case SYS_rt_sigsuspend:
        return "sigsuspend";
    case SYS_nanosleep:
        return "nanosleep";
    case SYS_clock_nanosleep:
        return "clock_nanosleep";
    default:
        return "syscall";
    }
}

/* A thread blocked in a system call cprof does not wrap. */
static int stack_from_proc(pid_t tid, uintptr_t stack_hi, uint64_t *pcs, int max,
                           struct cprof_thread_sample *out)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    if (read_small(path, buf, sizeof buf) < 0)
        return -1;
    long nr;
    unsigned long a[6], sp, pc;
    if (sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4],
               &a[5], &sp, &pc) != 9)
        return -1; /* "running": it woke up meanwhile */
    out->state =
        nr == SYS_nanosleep || nr == SYS_clock_nanosleep ? CPROF_STATE_SLEEP : CPROF_STATE_SYSCALL;
    out->syscall = syscall_name(nr);
    return cprof__unwind_regs(pc, sp, 0, stack_hi, pcs, max);
}

/* ---- One thread, whatever it is doing ---------------------------------------------- */

/* A thread waiting in a wrapper, from the registers the wrapper saved.
 * 1 when it was waiting (and still is in the same wait), else 0. */
static int stack_of_waiter(const struct cprof_thread_info *info, struct cprof_thread_sample *out)
{
    if (!info || !info->wait)
        return 0;
    struct cprof_wait *w = info->wait;
    int state = atomic_load_explicit(&w->state, memory_order_acquire);
    if (state == CPROF_STATE_RUNNING)
        return 0;
    struct cprof_wait copy = *w;
    out->state = state;
    out->since_ns = copy.since_ns;
    out->n =
        cprof__unwind_regs(copy.pc, copy.sp, copy.fp, info->stack_hi, out->pcs, CPROF_MAX_FRAMES);
    if (out->n > 0)
        out->pcs[0] = copy.func;
    /* Still waiting in the same wait: the stack read is the one it had. */
    if (atomic_load(&w->state) == state && w->since_ns == copy.since_ns)
        return 1;
    out->state = CPROF_STATE_RUNNING;
    out->since_ns = 0;
    return 0;
}

/* A thread that is not running, without touching it: 1 when found so, 0
 * when it runs, -1 when it is gone. */
static int stack_of_idle(pid_t tid, const struct cprof_thread_info *info,
                         struct cprof_thread_sample *out)
{
    if (stack_of_waiter(info, out))
        return 1;
    char st = sched_state(tid);
    if (st == 'S' || st == 'D' || st == 'T' || st == 't') {
        /* Only a registered thread's stack is read from here: the registry
         * lock keeps it from finishing its exit and unmapping that stack.
         * A thread the registry does not hold (one ending right now, or one
         * started behind pthread_create's back) is listed without a stack. */
        out->n = info ? stack_from_proc(tid, info->stack_hi, out->pcs, CPROF_MAX_FRAMES, out)
                      : stack_from_proc(tid, 0, out->pcs, 0, out);
        if (out->n >= 0)
            return 1;
    }
    out->state = CPROF_STATE_RUNNING;
    out->syscall = NULL;
    out->n = 0;
    return st == 'Z' || st == 'X' || st == '?' ? -1 : 0;
}

int cprof__thread_sample(pid_t tid, const struct cprof_thread_info *info,
                         struct cprof_thread_sample *out, int may_ask)
{
    memset(out, 0, sizeof *out);
    out->tid = tid;
    out->state = CPROF_STATE_RUNNING;
    if (tid == cprof__gettid()) {
        out->n = cprof__unwind_here(out->pcs, CPROF_MAX_FRAMES, 0);
        int own = 0; /* the frames of this dump, inside cprof */
        while (own < out->n - 1 && cprof__unwind_own_code(out->pcs[own]))
            own++;
        memmove(out->pcs, out->pcs + own, (size_t)(out->n - own) * sizeof out->pcs[0]);
        out->n -= own;
        return 0;
    }
    int idle = stack_of_idle(tid, info, out);
    if (idle != 0)
        return idle > 0 ? 0 : -1;
    if (!may_ask) {
        out->pcs[0] = CPROF_PSEUDO(PSEUDO_RUNNING);
        out->n = 1;
        return 0;
    }
    static struct cprof_stack_answer answer; /* large; callers hold the registry lock */
    answer.tid = tid;
    if (cprof__stack_ask(&answer, 1, ANSWER_WAIT_NS, 1) == 1) {
        out->n = answer.n < CPROF_MAX_FRAMES ? answer.n : CPROF_MAX_FRAMES;
        memcpy(out->pcs, answer.pcs, (size_t)out->n * sizeof out->pcs[0]);
        return 0;
    }
    /* It did not run user code for 100 ms: perhaps it blocked meanwhile. */
    idle = stack_of_idle(tid, info, out);
    if (idle != 0)
        return idle > 0 ? 0 : -1;
    out->no_answer = 1;
    return 0;
}

/* ---- All threads ------------------------------------------------------------------- */

struct collect {
    struct cprof_thread_info *info;
    size_t ninfo;
    struct cprof_thread_sample *samples;
    size_t n, cap;
};

static void sample_one(pid_t tid, void *arg)
{
    struct collect *c = arg;
    if (c->n >= c->cap)
        return;
    const struct cprof_thread_info *info = NULL;
    for (size_t i = 0; i < c->ninfo; i++)
        if (c->info[i].tid == tid)
            info = &c->info[i];
    if (cprof__thread_sample(tid, info, &c->samples[c->n], 1) == 0) {
        if (info)
            c->samples[c->n].start_ns = info->start_ns;
        c->n++;
    }
}

/* Samples every thread; returns a malloc'd array (count in *n). */
static struct cprof_thread_sample *sample_all(size_t *n)
{
    struct collect c = {0};
    c.cap = MAX_DUMPED;
    c.samples = calloc(c.cap, sizeof *c.samples);
    c.info = calloc(c.cap, sizeof *c.info);
    if (!c.samples || !c.info) {
        free(c.samples);
        free(c.info);
        *n = 0;
        return NULL;
    }
    cprof__unwind_refresh();
    cprof__threads_refresh_maps();
    cprof__threads_lock(); /* registered threads cannot finish exiting meanwhile */
    c.ninfo = cprof__threads_registered(c.info, c.cap);
    if (c.ninfo > c.cap)
        c.ninfo = c.cap;
    cprof__threads_each(sample_one, &c);
    cprof__threads_unlock();
    free(c.info);
    *n = c.n;
    return c.samples;
}

static void thread_name(pid_t tid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    if (read_small(path, buf, len) < 0)
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

static void state_text(const struct cprof_thread_sample *s, int64_t now, char *buf, size_t len)
{
    const char *name = s->no_answer ? "running, did not answer"
                       : s->syscall ? s->syscall
                                    : cprof__state_name(s->state);
    if (s->since_ns && now > s->since_ns)
        snprintf(buf, len, "%s, %.3f ms", name, (double)(now - s->since_ns) / 1e6);
    else
        snprintf(buf, len, "%s", name);
}

static void print_frames(FILE *out, cprof_symbolizer *sym, const uint64_t *pcs, int n,
                         const char *indent)
{
    for (int i = 0; i < n; i++) {
        char text[512];
        if (pcs[i] >= CPROF_PSEUDO_BASE && pcs[i] < CPROF_PSEUDO(cprof__npseudo_names))
            snprintf(text, sizeof text, "%s", cprof__pseudo_names[pcs[i] - CPROF_PSEUDO_BASE]);
        else
            cprof__symbolize_text(sym, pcs[i], text, sizeof text);
        fprintf(out, "%s%s\n", indent, text);
    }
}

/* debug=2: every thread, its name, state and stack. */
static void dump_each(FILE *out, struct cprof_thread_sample *s, size_t n, cprof_symbolizer *sym)
{
    int64_t now = now_ns();
    fprintf(out, "threads: %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        char name[64], state[96];
        thread_name(s[i].tid, name, sizeof name);
        state_text(&s[i], now, state, sizeof state);
        fprintf(out, "\nthread %d \"%s\" [%s]:\n", (int)s[i].tid, name, state);
        print_frames(out, sym, s[i].pcs, s[i].n, "    ");
    }
}

static int same_stack(const struct cprof_thread_sample *a, const struct cprof_thread_sample *b)
{
    return a->n == b->n && !memcmp(a->pcs, b->pcs, (size_t)a->n * sizeof a->pcs[0]);
}

/* debug=1: threads grouped by identical stack, with counts, biggest first. */
static void dump_grouped(FILE *out, struct cprof_thread_sample *s, size_t n, cprof_symbolizer *sym)
{
    size_t *count = calloc(n, sizeof *count);
    if (!count)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && !(count[j] && same_stack(&s[j], &s[i])))
            j++;
        count[j]++;
    }
    fprintf(out, "threads profile: total %zu\n", n);
    for (;;) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (count[i] && (best == n || count[i] > count[best]))
                best = i;
        if (best == n)
            break;
        fprintf(out, "%zu @", count[best]);
        for (int f = 0; f < s[best].n; f++)
            fprintf(out, " %#llx", (unsigned long long)s[best].pcs[f]);
        fprintf(out, "\n");
        print_frames(out, sym, s[best].pcs, s[best].n, "#\t");
        fprintf(out, "\n");
        count[best] = 0;
    }
    free(count);
}

/* debug=0: pprof, threads/count per stack, labelled with the state. */
static int encode_pprof(struct cprof_thread_sample *s, size_t n, const char *path, uint8_t **out,
                        size_t *out_len)
{
    static const char *const types[][2] = {{"threads", "count"}};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cprof_profile_writer *w =
        cprof__profile_writer_begin(types, 1, "threads", "threads", "count", 1,
                                    (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
    if (!w)
        return -1;
    cprof_pb *pb = cprof__profile_writer_pb(w);
    (void)pb;
    for (size_t i = 0; i < n; i++) {
        int64_t one = 1;
        cprof__profile_writer_add_stack(w, s[i].pcs, s[i].n, 0, &one);
    }
    return cprof__profile_writer_end(w, path, out, out_len);
}

int cprof__threads_encode(int debug, const char *path, uint8_t **out, size_t *out_len)
{
    size_t n;
    struct cprof_thread_sample *s = sample_all(&n);
    if (!s)
        return cprof__fail("thread profile: out of memory");
    int rc = 0;
    if (debug <= 0) {
        rc = encode_pprof(s, n, path, out, out_len);
    } else {
        cprof_symbolizer *sym = cprof__symbolizer_new();
        char *text = NULL;
        size_t len = 0;
        FILE *f = path ? fopen(path, "we") : open_memstream(&text, &len);
        if (!f || !sym) {
            rc = cprof__fail("thread dump: cannot open %s: %s", path ? path : "a buffer",
                             strerror(errno));
        } else {
            if (debug == 1)
                dump_grouped(f, s, n, sym);
            else
                dump_each(f, s, n, sym);
            if (fclose(f) != 0)
                rc = cprof__fail("thread dump: writing %s: %s", path ? path : "a buffer",
                                 strerror(errno));
            f = NULL;
            if (!path && rc == 0) {
                *out = (uint8_t *)text;
                *out_len = len;
                text = NULL;
            }
        }
        if (f)
            fclose(f);
        free(text);
        cprof__symbolizer_free(sym);
    }
    free(s);
    return rc;
}

CPROF_API int cprof_threads_write(const char *path, int debug)
{
    char full[PATH_MAX];
    if (!path || !*path)
        return cprof__fail("cprof_threads_write: no output path");
    if (debug < 0 || debug > 2)
        return cprof__fail("cprof_threads_write: debug must be 0, 1 or 2, not %d", debug);
    if (cprof__settings_expand_path(path, full, sizeof full) < 0)
        return -1;
    return cprof__threads_encode(debug, full, NULL, NULL);
}

/* ---- threadcreate ------------------------------------------------------------------- */

static int create_values(void *arg, const uint64_t *c, int64_t *values)
{
    (void)arg;
    values[0] = (int64_t)c[0];
    return c[0] != 0;
}

int cprof__threadcreate_encode(const char *path, uint8_t **out, size_t *out_len)
{
    static const char *const types[][2] = {{"threadcreate", "count"}};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cprof_profile_writer *w =
        cprof__profile_writer_begin(types, 1, "threadcreate", "threadcreate", "count", 1,
                                    (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
    if (!w)
        return -1;
    cprof_samples *t = cprof__threadcreate_table();
    if (t)
        cprof__profile_writer_add_table(w, t, create_values, NULL);
    return cprof__profile_writer_end(w, path, out, out_len);
}

CPROF_API int cprof_threadcreate_write(const char *path)
{
    char full[PATH_MAX];
    if (!path || !*path)
        return cprof__fail("cprof_threadcreate_write: no output path");
    if (cprof__settings_expand_path(path, full, sizeof full) < 0)
        return -1;
    return cprof__threadcreate_encode(full, NULL, NULL);
}
