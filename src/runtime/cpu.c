/*
 * cpu.c: owns CPU profiling: one sampler per thread, the SIGPROF handler,
 * start/stop, and writing the profile at stop (and, through agent.c, at
 * exit and before the process dies of SIGINT/SIGTERM).
 *
 * Why per-thread samplers: a process-wide ITIMER_PROF delivers one signal per
 * tick to whichever thread is running, losing samples when several threads
 * are busy. Each thread gets its own CPU-time sampler instead:
 * - perf: a perf_event task-clock counter of the thread, overflowing every
 *   1/hz seconds of its CPU time and signalling that thread (F_SETOWN_EX).
 *   hrtimer-driven, so rates above the kernel tick (250 Hz) are real.
 * - timer: a POSIX timer on the thread's CPU clock (SIGEV_THREAD_ID), what
 *   Go uses; checked only at kernel ticks, so above ~250 Hz a signal stands
 *   for several periods: si_overrun says how many, and the sample is
 *   weighted accordingly (totals stay right, resolution does not).
 * perf is tried first; where the kernel refuses it (perf_event_paranoid,
 * seccomp, containers) cprof says so once and uses timers.
 *
 * Locking: the samplers are attached and detached under the thread registry
 * lock (threads.c), so thread start/end and start/stop never race. The
 * handler reads only atomics: `table` and `running`; `in_handler` counts
 * handlers in flight so that stop can wait for them before reading the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "cprof.h"
#include "agent.h"
#include "cpu.h"
#include "errors.h"
#include "labels.h"
#include "settings.h"
#include "signals.h"
#include "threads.h"
#include "trace.h"
#include "unwind.h"

/* Table sizes: unique stacks and frames in all (virtual; touched as used). */
#define MAX_STACKS (256 * 1024)
#define MAX_FRAMES (8 * 1024 * 1024)

static struct {
    /* Under the registry lock: threads the registry did not see start
     * (found in /proc/self/task when profiling started). */
    struct cprof_thread_slot *others;
    size_t nothers, cap;
    _Atomic int engine; /* enum cprof_cpu_engine: perf until perf is refused */
    enum cprof_cpu_engine forced;
    _Atomic int perf_refused_warned;
    /* Set at start, read at stop: */
    char pattern[4096]; /* as given: may hold %p */
    char path[4096];    /* expanded, absolute */
    int hz;
    int64_t period_ns;
    struct timespec start_mono;
    int64_t start_unix_ns;
} cpu;

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER; /* start/stop/flush */
static _Atomic(cprof_samples *) table;
static _Atomic int running;
static _Atomic int in_handler;
static _Atomic int64_t period_now; /* cpu.period_ns, readable from the handler */
/* Each thread's perf sampler starts with a random first period; its first
 * signal sets the real one. This generation tells a thread's TLS flag that
 * it belongs to an earlier profile. */
static _Atomic unsigned period_generation;
/* Timer periods that arrived folded into another signal (si_overrun): their
 * weight is in the profile but at the one stack of the late signal. The
 * profile says how many, so that a reader knows the resolution it lost. */
static _Atomic uint64_t merged_periods;
static __thread unsigned period_set_in __attribute__((tls_model("initial-exec")));

/* ---- The signal handler ------------------------------------------------------ */

/* async-signal-safe: atomics, cprof__stack_hi, cprof__unwind,
 * cprof__samples_add and cprof__labels_current are; errno is preserved. */
static void on_sigprof(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    atomic_fetch_add_explicit(&in_handler, 1, memory_order_acquire);
    cprof_samples *t = atomic_load_explicit(&table, memory_order_acquire);
    /* Ours: perf overflow (si_code POLL_*) or our timer. A SIGPROF sent with
     * kill/tgkill by someone else carries no CPU time: ignore it. */
    int from_perf = si->si_code > 0 && si->si_code != SI_KERNEL;
    int from_timer = si->si_code == SI_TIMER;
    if (t && atomic_load_explicit(&running, memory_order_relaxed) && (from_perf || from_timer) &&
        !cprof__threads_is_internal()) {
        uint64_t weight = 1;
        unsigned gen = atomic_load_explicit(&period_generation, memory_order_relaxed);
        if (from_perf && period_set_in != gen) {
            /* The first, randomised period is over: from now on, the real
             * one. ioctl is a system call, safe in a signal handler. */
            uint64_t period = (uint64_t)atomic_load_explicit(&period_now, memory_order_relaxed);
            ioctl(si->si_fd, PERF_EVENT_IOC_PERIOD, &period);
            period_set_in = gen;
        }
        if (from_timer && si->si_overrun > 0) {
            weight += (uint64_t)si->si_overrun;
            atomic_fetch_add_explicit(&merged_periods, (uint64_t)si->si_overrun,
                                      memory_order_relaxed);
        }
        uint64_t pcs[CPROF_MAX_FRAMES];
        const ucontext_t *ctx = uc;
        uintptr_t hi = cprof__stack_hi((uintptr_t)ctx->uc_mcontext.gregs[REG_RSP]);
        int n = cprof__unwind(uc, pcs, CPROF_MAX_FRAMES, hi);
        cprof__samples_add(t, pcs, n, cprof__labels_current(), weight);
        cprof__trace_cpu_sample(pcs, n);
    }
    atomic_fetch_sub_explicit(&in_handler, 1, memory_order_release);
    errno = saved_errno;
}

/* ---- Samplers ------------------------------------------------------------------- */

/* The first period of a new sampler: uniform in (0, period]. Without it a
 * thread would have to run a whole period before its first sample, and
 * threads that live shorter than that (one per request, say) would never
 * appear; with it, a thread that runs t < period is sampled with
 * probability t/period, which is what an unbiased profile needs. */
static int64_t first_period(pid_t tid, int64_t period_ns)
{
    static _Atomic uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint64_t x = atomic_fetch_add(&seed, 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)tid << 17);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return 1 + (int64_t)(x % (uint64_t)period_ns);
}

static int perf_open(pid_t tid, int64_t period_ns, struct cprof_thread_slot *s)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = (uint64_t)first_period(tid, period_ns);
    attr.disabled = 1;
    attr.exclude_hv = 1;
    /* Counting kernel time too keeps system CPU in the profile; where the
     * kernel forbids it (perf_event_paranoid >= 2 without privilege) we fall
     * back to user time only. */
    int fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        attr.exclude_kernel = 1;
        fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    }
    if (fd < 0)
        return -1;
    /* Signals go to the sampled thread itself, with si_fd. Without a ring
     * buffer the kernel still signals every overflow (O_ASYNC). */
    struct f_owner_ex owner = {F_OWNER_TID, tid};
    struct stat st;
    if (fcntl(fd, F_SETFL, O_ASYNC) < 0 || fcntl(fd, F_SETSIG, SIGPROF) < 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) < 0 || fstat(fd, &st) < 0 ||
        ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    s->kind = CPROF_ENGINE_PERF;
    s->fd = fd;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return 0;
}

/* The CPU-time clock of any thread of this process, by tid (the kernel's
 * encoding, as glibc's pthread_getcpuclockid computes for a pthread_t). */
static clockid_t thread_cpu_clock(pid_t tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | 6); /* CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED */
}

static int timer_open(pid_t tid, int64_t period_ns, struct cprof_thread_slot *s)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = tid;
    timer_t timer;
    if (timer_create(thread_cpu_clock(tid), &sev, &timer) < 0)
        return -1;
    s->timer = timer;
    struct itimerspec its;
    its.it_interval.tv_sec = period_ns / 1000000000;
    its.it_interval.tv_nsec = period_ns % 1000000000;
    int64_t first = first_period(tid, period_ns);
    its.it_value.tv_sec = first / 1000000000;
    its.it_value.tv_nsec = first % 1000000000;
    if (timer_settime(timer, 0, &its, NULL) < 0) {
        int err = errno;
        timer_delete(timer);
        errno = err;
        return -1;
    }
    s->kind = CPROF_ENGINE_TIMER;
    return 0;
}

/* Closes the sampler's descriptor or timer (the slot's state already says
 * it is ours to close). */
static void sampler_close(struct cprof_thread_slot *s)
{
    if (s->kind == CPROF_ENGINE_PERF) {
        /* Close only if the descriptor is still our perf event: a program
         * that closed every fd may have reused the number for a file. */
        struct stat st;
        if (fstat(s->fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
            close(s->fd); /* the last close ends the event */
    } else if (s->kind == CPROF_ENGINE_TIMER) {
        timer_delete((timer_t)s->timer);
    }
    s->kind = 0;
}

/* Opens a sampler for the slot's thread, trying perf first. */
static int sampler_open(struct cprof_thread_slot *s)
{
    int ok = -1;
    int engine = atomic_load(&cpu.engine);
    if (engine == CPROF_ENGINE_PERF) {
        ok = perf_open(s->tid, cpu.period_ns, s);
        if (ok < 0 && errno != ESRCH && errno != EMFILE && cpu.forced != CPROF_ENGINE_PERF) {
            if (!atomic_exchange(&cpu.perf_refused_warned, 1))
                cprof__warn("perf_event_open refused (%s); sampling with POSIX CPU timers, "
                            "which the kernel checks only at its tick (about 250 Hz): faster "
                            "rates are counted by weight, not by more stacks",
                            strerror(errno));
            atomic_store(&cpu.engine, CPROF_ENGINE_TIMER);
            engine = CPROF_ENGINE_TIMER;
        }
    }
    if (ok < 0 && engine == CPROF_ENGINE_TIMER)
        ok = timer_open(s->tid, cpu.period_ns, s);
    if (ok < 0 && errno == EMFILE && engine == CPROF_ENGINE_PERF)
        ok = timer_open(s->tid, cpu.period_ns, s); /* out of descriptors: this thread only */
    return ok;
}

/* Closes the slot's sampler if it is open. Whoever wins the CAS closes it:
 * the thread itself (ending), or stop on another thread. */
static void slot_close(struct cprof_thread_slot *s)
{
    int open = CPROF_SLOT_OPEN;
    if (!atomic_compare_exchange_strong(&s->state, &open, CPROF_SLOT_CLOSING))
        return;
    sampler_close(s);
    atomic_store(&s->state, CPROF_SLOT_NONE);
}

/* Opens a sampler in the slot if none is open and profiling runs. If
 * profiling stopped while it opened, it closes it again: stop may have
 * passed this slot while it was OPENING. */
static void slot_open(struct cprof_thread_slot *s)
{
    int none = CPROF_SLOT_NONE;
    if (!atomic_load(&running) ||
        !atomic_compare_exchange_strong(&s->state, &none, CPROF_SLOT_OPENING))
        return;
    if (sampler_open(s) < 0) {
        atomic_store(&s->state, CPROF_SLOT_NONE); /* ended meanwhile, or none to be had */
        return;
    }
    atomic_store(&s->state, CPROF_SLOT_OPEN);
    if (!atomic_load(&running))
        slot_close(s);
}

/* The thread hooks (threads.c), on the thread itself, without locks. */
static void on_thread_start(struct cprof_thread_slot *s)
{
    slot_open(s);
}

static void on_thread_end(struct cprof_thread_slot *s)
{
    slot_close(s);
}

/* Registry lock held: a thread the registry did not see start. */
static void attach_other(pid_t tid, void *registered)
{
    const struct cprof_thread_info *info = registered;
    for (; info && info->tid; info++)
        if (info->tid == tid)
            return; /* has a slot of its own */
    if (cpu.nothers == cpu.cap) {
        size_t cap = cpu.cap ? cpu.cap * 2 : 16;
        struct cprof_thread_slot *grown = realloc(cpu.others, cap * sizeof *grown);
        if (!grown)
            return;
        cpu.others = grown;
        cpu.cap = cap;
    }
    struct cprof_thread_slot *s = &cpu.others[cpu.nothers];
    memset(s, 0, sizeof *s);
    s->tid = tid;
    slot_open(s);
    if (atomic_load(&s->state) == CPROF_SLOT_OPEN)
        cpu.nothers++;
}

/* Registry lock held: a sampler for every thread. */
static void attach_all(void)
{
    size_t n = cprof__threads_registered(NULL, 0);
    struct cprof_thread_info *info = calloc(n + 1, sizeof *info);
    if (info)
        n = cprof__threads_registered(info, n);
    for (size_t i = 0; info && i < n; i++)
        slot_open(info[i].slot);
    cprof__threads_each(attach_other, info);
    free(info);
}

/* Registry lock held: closes every sampler. */
static void detach_all(void)
{
    size_t n = cprof__threads_registered(NULL, 0);
    struct cprof_thread_info *info = calloc(n + 1, sizeof *info);
    if (info)
        n = cprof__threads_registered(info, n);
    for (size_t i = 0; info && i < n; i++)
        slot_close(info[i].slot);
    free(info);
    for (size_t i = 0; i < cpu.nothers; i++)
        slot_close(&cpu.others[i]);
    cpu.nothers = 0;
}

static void on_sigprof_taken(void)
{
    cprof_cpu_stop();
}

/* ---- API ---------------------------------------------------------------------------- */

void cprof__cpu_set_engine(enum cprof_cpu_engine engine)
{
    cpu.forced = engine;
}

static int64_t now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Starts profiling into `path`, or into memory when path is NULL (the HTTP
 * endpoint's profile?seconds=N, collected by cprof__cpu_stop_to_memory). */
static int start(const char *path, int hz)
{
    if (hz == 0)
        hz = 100;
    if (hz < 1 || hz > 10000)
        return cprof__fail("cprof_cpu_start: rate %d Hz out of range (1..10000)", hz);
    pthread_mutex_lock(&api_lock);
    int rc = -1;
    if (atomic_load(&running)) {
        cprof__fail("cprof_cpu_start: CPU profiling is already running");
        goto out;
    }
    if (path && strlen(path) >= sizeof cpu.pattern) {
        cprof__fail("cprof_cpu_start: path too long");
        goto out;
    }
    cpu.pattern[0] = cpu.path[0] = '\0';
    if (path) {
        strcpy(cpu.pattern, path);
        if (cprof__settings_expand_path(path, cpu.path, sizeof cpu.path) < 0 ||
            cprof__settings_check_writable(cpu.path) < 0)
            goto out; /* the helpers set the error */
    }
    cprof_samples *t = cprof__samples_new(MAX_STACKS, MAX_FRAMES);
    if (!t) {
        cprof__fail("cprof_cpu_start: cannot map the sample table: %s", strerror(errno));
        goto out;
    }
    if (cprof__signals_take_prof(on_sigprof, on_sigprof_taken) < 0) {
        cprof__samples_free(t);
        cprof__fail("cprof_cpu_start: the program has its own SIGPROF handler; cannot sample");
        goto out;
    }
    cprof__unwind_refresh();
    cprof__threads_refresh_maps();
    cprof__agent_start();

    cpu.hz = hz;
    cpu.period_ns = 1000000000LL / hz;
    atomic_store(&period_now, cpu.period_ns);
    atomic_fetch_add(&period_generation, 1);
    atomic_store(&merged_periods, 0);
    cpu.start_unix_ns = now_unix_ns();
    clock_gettime(CLOCK_MONOTONIC, &cpu.start_mono);
    atomic_store(&table, t);

    cprof__threads_lock();
    atomic_store(&cpu.engine, cpu.forced ? cpu.forced : CPROF_ENGINE_PERF);
    atomic_store(&running, 1);
    attach_all();
    cprof__threads_unlock();
    rc = 0;
out:
    pthread_mutex_unlock(&api_lock);
    return rc;
}

/* Stops the samplers and waits for handlers in flight; returns the table. */
static cprof_samples *stop_sampling(void)
{
    atomic_store(&running, 0);
    cprof__threads_lock();
    detach_all();
    cprof__threads_unlock();
    cprof_samples *t = atomic_exchange(&table, NULL);
    /* A handler that loaded `table` before the exchange finishes within
     * microseconds; bound the wait anyway. */
    for (int i = 0; i < 1000000 && atomic_load(&in_handler); i++)
        sched_yield();
    return t;
}

CPROF_API int cprof_cpu_start(const char *path, int hz)
{
    if (!path || !*path)
        return cprof__fail("cprof_cpu_start: no output path");
    return start(path, hz);
}

int cprof__cpu_start_to_memory(int hz)
{
    return start(NULL, hz);
}

/* Stops sampling and writes the profile to cpu.path, or into *out when
 * profiling into memory (and out is given; otherwise it is dropped). */
static int stop_and_write(uint8_t **out, size_t *out_len)
{
    if (!atomic_load(&running))
        return cprof__fail("cprof_cpu_stop: CPU profiling is not running");
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    cprof_samples *t = stop_sampling();
    struct cprof_cpu_profile_info info = {
        .period_ns = cpu.period_ns,
        .start_unix_ns = cpu.start_unix_ns,
        .duration_ns = (end.tv_sec - cpu.start_mono.tv_sec) * 1000000000LL +
                       (end.tv_nsec - cpu.start_mono.tv_nsec),
        .engine = atomic_load(&cpu.engine) == CPROF_ENGINE_TIMER ? "timer" : "perf",
        .hz = cpu.hz,
        .merged_periods = atomic_load(&merged_periods),
    };
    int rc = -1;
    if (t && cpu.path[0])
        rc = cprof__cpu_write(cpu.path, t, &info, NULL, NULL);
    else if (t && out)
        rc = cprof__cpu_write(NULL, t, &info, out, out_len);
    else if (t)
        rc = 0; /* an in-memory profile nobody waits for any more (exit) */
    if (rc < 0)
        cprof__warn("%s", cprof_last_error());
    cprof__samples_free(t);
    cprof__unwind_reclaim();
    return rc;
}

CPROF_API int cprof_cpu_stop(void)
{
    pthread_mutex_lock(&api_lock);
    int rc = cpu.path[0] || !atomic_load(&running)
                 ? stop_and_write(NULL, NULL)
                 : cprof__fail("cprof_cpu_stop: the running CPU profile belongs to the HTTP "
                               "endpoint (profile?seconds=N)");
    pthread_mutex_unlock(&api_lock);
    return rc;
}

void cprof__cpu_flush(void)
{
    pthread_mutex_lock(&api_lock);
    if (atomic_load(&running))
        stop_and_write(NULL, NULL);
    pthread_mutex_unlock(&api_lock);
}

int cprof__cpu_stop_to_memory(uint8_t **out, size_t *out_len)
{
    pthread_mutex_lock(&api_lock);
    int rc = stop_and_write(out, out_len);
    pthread_mutex_unlock(&api_lock);
    return rc;
}

CPROF_API int cprof_cpu_running(void)
{
    return atomic_load(&running);
}

/* In a forked child only the forking thread exists, its sampler (perf event
 * or timer) is not inherited, and the parent will write its own profile:
 * the child forgets the parent's profile. With a %p path (one file per
 * process), the child profiles itself from here on. */
static void atfork_child(void)
{
    int was_running = atomic_exchange(&running, 0);
    cprof_samples *t = atomic_exchange(&table, NULL);
    /* The inherited perf descriptors are the parent's: close ours (timers are
     * not inherited). Only this thread's slot and the others list remain. */
    for (size_t i = 0; i < cpu.nothers; i++)
        if (cpu.others[i].kind == CPROF_ENGINE_PERF)
            sampler_close(&cpu.others[i]);
    cpu.nothers = 0;
    struct cprof_thread_info me[2];
    if (cprof__threads_registered(me, 2) == 1) {
        struct cprof_thread_slot *slot = me[0].slot;
        if (atomic_load(&slot->state) == CPROF_SLOT_OPEN && slot->kind == CPROF_ENGINE_PERF)
            sampler_close(slot);
        atomic_store(&slot->state, CPROF_SLOT_NONE);
        slot->kind = 0;
    }
    pthread_mutex_init(&api_lock, NULL);
    cprof__samples_free(t);
    char pattern[sizeof cpu.pattern]; /* start() rewrites cpu.pattern */
    strcpy(pattern, cpu.pattern);
    if (was_running && strstr(pattern, "%p"))
        if (cprof_cpu_start(pattern, cpu.hz) < 0)
            cprof__warn("%s", cprof_last_error());
}

void cprof__cpu_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
    cprof_thread_hooks hooks = {on_thread_start, on_thread_end};
    cprof__threads_set_hooks(&hooks);
}
