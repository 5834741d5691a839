/*
 * wall.c: owns the wall-clock profile: every thread sampled at a fixed
 * wall-clock rate whatever it is doing, each sample labelled with the
 * thread's state (running, mutex, cond, syscall, sleep, ...) and name, so
 * that on-CPU and off-CPU time show together: where a request's latency
 * goes, which a CPU profile cannot say.
 *
 * A cprof thread ticks `hz` times a second. At each tick, for every thread
 * of the process, it reads the thread's CPU clock: if the thread used no
 * CPU since the last tick it is still in the wait it was in, and the stack
 * found then is counted again, without touching the thread. Otherwise the
 * stack is taken anew (threadprof.c: from the saved registers of a sync
 * wrapper, from /proc for another blocking call). Threads found running
 * are asked for their stacks together once the registry is released
 * (stackask.c: the kernel signals them only while they run user code, so
 * no system call of theirs returns EINTR); one that does not run user code
 * within half a period (5 ms at most) counts as running without a stack.
 * Where perf is refused they are not asked: a plain signal could cause
 * EINTR, and this profiler runs all the time.
 * So idle threads cost one clock read per tick, which is what bounds the
 * profiler's cost with many idle threads (measured in bench/).
 *
 * Locking: `api_lock` serialises start and stop; the table and the cache
 * belong to the ticking thread while it runs.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cprof.h"
#include "errors.h"
#include "labels.h"
#include "profile_write.h"
#include "settings.h"
#include "stackask.h"
#include "sync.h"
#include "threadprof.h"
#include "threads.h"
#include "unwind.h"
#include "wall.h"

#define MAX_THREADS 8192

struct seen {
    pid_t tid;
    int64_t cpu_ns;
    long stack;      /* in the table, or -1 */
    uint32_t labels; /* state and thread name */
    int ask_slot;    /* an open question for its running stack (stackask.h), or -1 */
    uint32_t ask_labels;
    uint64_t ask_weight; /* the periods its answer will stand for */
};

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int running;
static pthread_t ticker;
static cprof_samples *table;
static int hz;
static int64_t period_ns, start_unix_ns, start_mono_ns;
static char path[PATH_MAX];
static struct seen *seen, *seen_next;
static size_t nseen, nseen_next;
static uint64_t ticks;
/* The periods the current tick stands for: 1 when on time; more when the
 * ticker itself was late (a loaded machine, a slow answer), so that late
 * ticks are not lost and missed ones are not taken back to back, all
 * landing in whatever the threads do just then. */
static uint64_t tick_weight = 1;
static enum cprof_ask_mode ask_mode;
static uint64_t running_asked, running_answered; /* for the profile's comment */

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) < 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The CPU-time clock of a thread of this process, by tid. */
static clockid_t thread_cpu_clock(pid_t tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | 6); /* CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED */
}

static struct seen *last_seen(pid_t tid)
{
    size_t lo = 0, hi = nseen; /* seen is sorted by tid: /proc lists tasks in order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seen[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < nseen && seen[lo].tid == tid ? &seen[lo] : NULL;
}

static uint32_t state_labels(const struct cprof_thread_sample *s)
{
    char name[64] = "", file[64];
    snprintf(file, sizeof file, "/proc/self/task/%d/comm", (int)s->tid);
    FILE *f = fopen(file, "re");
    if (f) {
        if (fgets(name, sizeof name, f))
            name[strcspn(name, "\n")] = '\0';
        fclose(f);
    }
    const char *state = s->syscall ? s->syscall : cprof__state_name(s->state);
    if (s->state == CPROF_STATE_RUNNING)
        state = "running";
    const char *keys[2] = {"state", "thread"}, *values[2] = {state, name};
    return cprof__labels_intern(keys, values, name[0] ? 2 : 1);
}

struct tick_ctx {
    struct cprof_thread_info *info;
    size_t ninfo;
};

/* Counts `weight` periods of running under the stack pcs (or, without one,
 * under "[running: see the CPU profile]"). */
static void add_running(const uint64_t *pcs, int n, uint32_t labels, uint64_t weight)
{
    uint64_t unknown = CPROF_PSEUDO(PSEUDO_RUNNING);
    long stack = n > 0 ? cprof__samples_intern(table, pcs, n, labels)
                       : cprof__samples_intern(table, &unknown, 1, labels);
    if (stack >= 0)
        cprof__samples_add_value(table, stack, 0, weight);
}

/* Ends the open question of `s` (the thread stopped running, or is gone):
 * the periods it stood for count without a stack. */
static void give_up_question(struct seen *s)
{
    static uint64_t pcs[CPROF_MAX_FRAMES];
    if (s->ask_slot < 0)
        return;
    int n = cprof__stack_ask_take(s->ask_slot, pcs, CPROF_MAX_FRAMES, 1);
    add_running(pcs, n, s->ask_labels, s->ask_weight);
    running_answered += n > 0;
    s->ask_slot = -1;
}

/* The answer to the question asked of `now` at an earlier tick, if it came:
 * its stack counts for every period the question stood for. */
static void collect_answer(struct seen *now)
{
    static uint64_t pcs[CPROF_MAX_FRAMES];
    if (now->ask_slot < 0)
        return;
    int n = cprof__stack_ask_take(now->ask_slot, pcs, CPROF_MAX_FRAMES, 0);
    if (n < 0)
        return; /* not yet */
    add_running(pcs, n, now->ask_labels, now->ask_weight);
    running_answered += n > 0;
    now->ask_slot = -1;
}

/* A thread found running: its stack is asked for (stackask.c), and the
 * answer collected at a later tick; a question still open stands for this
 * period too. Without a way to ask it counts without a stack. */
static void count_running(struct seen *now, uint32_t labels)
{
    if (now->ask_slot >= 0 && now->ask_labels == labels) {
        now->ask_weight += tick_weight;
        return;
    }
    give_up_question(now);
    if (ask_mode == CPROF_ASK_USER_ONLY)
        now->ask_slot = cprof__stack_ask_post(now->tid, 0);
    if (now->ask_slot < 0) {
        add_running(NULL, 0, labels, tick_weight);
        return;
    }
    running_asked++;
    now->ask_labels = labels;
    now->ask_weight = tick_weight;
}

static void tick_thread(pid_t tid, void *arg)
{
    struct tick_ctx *ctx = arg;
    if (nseen_next >= MAX_THREADS)
        return;
    int64_t cpu = clock_ns(thread_cpu_clock(tid));
    struct seen *before = last_seen(tid);
    struct seen now = {tid, cpu, -1, 0, -1, 0, 0};
    if (before) { /* an open question moves on to this tick's record */
        now.ask_slot = before->ask_slot;
        now.ask_labels = before->ask_labels;
        now.ask_weight = before->ask_weight;
        before->ask_slot = -1;
        collect_answer(&now);
    }
    if (before && cpu >= 0 && cpu == before->cpu_ns && before->stack >= 0) {
        now.stack = before->stack; /* idle since the last tick: same wait, same stack */
        now.labels = before->labels;
    } else {
        const struct cprof_thread_info *info = NULL;
        for (size_t i = 0; i < ctx->ninfo; i++)
            if (ctx->info[i].tid == tid)
                info = &ctx->info[i];
        static struct cprof_thread_sample s; /* large; only the ticker uses it */
        if (cprof__thread_sample(tid, info, &s, 0) < 0) {
            give_up_question(&now);
            return;
        }
        now.labels = state_labels(&s);
        /* A running thread's stack changes all the time: do not reuse it. */
        if (s.state == CPROF_STATE_RUNNING) {
            count_running(&now, now.labels);
            seen_next[nseen_next++] = now;
            return;
        }
        now.stack = cprof__samples_intern(table, s.pcs, s.n, now.labels);
    }
    /* Not running now: an open question will not be answered in time. */
    give_up_question(&now);
    if (now.stack >= 0)
        cprof__samples_add_value(table, now.stack, 0, tick_weight);
    seen_next[nseen_next++] = now;
}

/* Questions to threads that were not seen again (they ended). */
static void give_up_all(struct seen *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        give_up_question(&list[i]);
}

static void tick(void)
{
    static struct cprof_thread_info info[MAX_THREADS];
    struct tick_ctx ctx = {info, 0};
    nseen_next = 0;
    cprof__threads_lock();
    ctx.ninfo = cprof__threads_registered(info, MAX_THREADS);
    if (ctx.ninfo > MAX_THREADS)
        ctx.ninfo = MAX_THREADS;
    cprof__threads_each(tick_thread, &ctx);
    cprof__threads_unlock();
    give_up_all(seen, nseen);
    struct seen *swap = seen;
    seen = seen_next;
    seen_next = swap;
    nseen = nseen_next;
    ticks++;
}

static void *ticker_main(void *unused)
{
    (void)unused;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    int64_t last = clock_ns(CLOCK_MONOTONIC);
    while (atomic_load(&running)) {
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        int64_t periods = (now - last + period_ns / 2) / period_ns;
        tick_weight = periods > 0 ? (uint64_t)periods : 1;
        last = now;
        /* Behind schedule: start again from now rather than catching up. */
        if (now - ((int64_t)next.tv_sec * 1000000000 + next.tv_nsec) > period_ns) {
            next.tv_sec = now / 1000000000;
            next.tv_nsec = now % 1000000000;
        }
        if (atomic_load(&running))
            tick();
    }
    return NULL;
}

CPROF_API int cprof_wall_start(const char *file, int rate)
{
    if (!file || !*file)
        return cprof__fail("cprof_wall_start: no output path");
    if (rate == 0)
        rate = 100;
    if (rate < 1 || rate > 1000)
        return cprof__fail("cprof_wall_start: rate %d Hz out of range (1..1000)", rate);
    pthread_mutex_lock(&api_lock);
    int rc = -1;
    if (atomic_load(&running)) {
        cprof__fail("cprof_wall_start: the wall-clock profile is already running");
        goto out;
    }
    if (cprof__settings_expand_path(file, path, sizeof path) < 0 ||
        cprof__settings_check_writable(path) < 0)
        goto out;
    table = cprof__samples_new(64 * 1024, 4 * 1024 * 1024);
    seen = calloc(MAX_THREADS, sizeof *seen);
    seen_next = calloc(MAX_THREADS, sizeof *seen_next);
    if (!table || !seen || !seen_next) {
        cprof__fail("cprof_wall_start: out of memory");
        goto fail;
    }
    nseen = 0;
    ticks = 0;
    running_asked = running_answered = 0;
    ask_mode = cprof__stack_ask_mode();
    hz = rate;
    period_ns = 1000000000LL / rate;
    start_unix_ns = clock_ns(CLOCK_REALTIME);
    start_mono_ns = clock_ns(CLOCK_MONOTONIC);
    cprof__agent_start();
    cprof__unwind_refresh();
    cprof__threads_refresh_maps();
    atomic_store(&running, 1);
    if (cprof__thread_create_internal(&ticker, ticker_main, NULL) != 0) {
        atomic_store(&running, 0);
        cprof__fail("cprof_wall_start: cannot start its thread");
        goto fail;
    }
    rc = 0;
    goto out;
fail:
    cprof__samples_free(table);
    table = NULL;
    free(seen);
    free(seen_next);
    seen = seen_next = NULL;
out:
    pthread_mutex_unlock(&api_lock);
    return rc;
}

static int wall_values(void *arg, const uint64_t *c, int64_t *values)
{
    values[0] = (int64_t)c[0];
    values[1] = (int64_t)c[0] * *(const int64_t *)arg;
    return c[0] != 0;
}

static int stop_and_write(void)
{
    if (!atomic_exchange(&running, 0))
        return cprof__fail("cprof_wall_stop: the wall-clock profile is not running");
    pthread_join(ticker, NULL);
    give_up_all(seen, nseen);
    static const char *const types[][2] = {{"samples", "count"}, {"wall", "nanoseconds"}};
    cprof_profile_writer *w =
        cprof__profile_writer_begin(types, 2, "wall", "wall", "nanoseconds", period_ns,
                                    start_unix_ns, clock_ns(CLOCK_MONOTONIC) - start_mono_ns);
    int rc = -1;
    if (w) {
        char comment[160];
        snprintf(comment, sizeof comment,
                 "wall-clock profile: %d Hz, %llu ticks; running threads asked for their "
                 "stacks %llu times, answered %llu%s",
                 hz, (unsigned long long)ticks, (unsigned long long)running_asked,
                 (unsigned long long)running_answered,
                 ask_mode == CPROF_ASK_USER_ONLY ? "" : " (perf refused: not asked)");
        cprof_pb_add_comment(cprof__profile_writer_pb(w), comment);
        cprof__profile_writer_add_table(w, table, wall_values, &period_ns);
        rc = cprof__profile_writer_end(w, path, NULL, NULL);
    }
    cprof__samples_free(table);
    table = NULL;
    free(seen);
    free(seen_next);
    seen = seen_next = NULL;
    return rc;
}

CPROF_API int cprof_wall_stop(void)
{
    pthread_mutex_lock(&api_lock);
    int rc = stop_and_write();
    pthread_mutex_unlock(&api_lock);
    return rc;
}

/* The ticker does not survive fork: the child has no wall-clock profile. */
static void atfork_child(void)
{
    atomic_store(&running, 0);
    pthread_mutex_init(&api_lock, NULL);
    table = NULL;
    seen = seen_next = NULL;
}

void cprof__wall_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

void cprof__wall_flush(void)
{
    pthread_mutex_lock(&api_lock);
    if (atomic_load(&running) && stop_and_write() < 0)
        cprof__warn("%s", cprof_last_error());
    pthread_mutex_unlock(&api_lock);
}
