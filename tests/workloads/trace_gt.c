/*
 * trace_gt: the execution tracer's ground truth. Linked with libcprof; it
 * traces itself with cprof_trace_start/stop and prints, one key=value a
 * line, what it did, measured by itself, for tests/test-trace-gt.sh to
 * compare with `cprof trace summary` and `cprof trace export`.
 *
 *   trace_gt main FILE     the scenario below, traced into FILE
 *   trace_gt multi PREFIX N  N traces in a row: PREFIX.1 .. PREFIX.N
 *
 * The main scenario:
 * - "parked" exists before tracing starts and is still alive when it stops
 *   (the only kind of thread whose name the file carries, see the report):
 *   one region "parked-work" in the trace.
 * - WORKERS threads "worker-N", created and ended while tracing, each do
 *   REQUESTS tasks "request", each with a region "handle" holding two
 *   regions nested in it: "parse" (SPIN_MS of the thread's CPU time) and
 *   "io" (a SLEEP_MS clock_nanosleep), and one log in category "worker".
 * - "holder" takes a mutex ROUNDS times and holds it for HOLD_MS, spent in
 *   a condition-variable wait nobody signals (hold_lock: a cond wait of
 *   known length); "waiter-1" and "waiter-2" ask for the mutex in
 *   want_lock while it is held (mutex waits of known length).
 * - main begins a task "handoff" that "finisher" ends on its own thread
 *   after HANDOFF_MS; main logs twice in category "main".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

#define WORKERS    3
#define REQUESTS   4
#define SPIN_MS    8
#define SLEEP_MS   6
#define ROUNDS     5
#define HOLD_MS    30
#define HANDOFF_MS 15
#define WAITERS    2

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static pid_t tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Burns ms of this thread's CPU time: a region whose length the scheduler
 * can stretch but not shorten. */
static void spin_cpu_ms(int ms)
{
    int64_t end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + (int64_t)ms * 1000000;
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        ;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

/* ---- Per-name totals, measured by the program ------------------------------- */

struct measured {
    _Atomic int64_t ns;
    atomic_long count;
};
static struct measured m_handle, m_parse, m_io, m_request, m_wait[WAITERS], m_hold;
static pid_t waiter_tid[WAITERS];
static pid_t holder_tid, parked_tid, finisher_tid, main_tid;

static void add(struct measured *m, int64_t ns)
{
    atomic_fetch_add(&m->ns, ns);
    atomic_fetch_add(&m->count, 1);
}

/* ---- Workers: tasks with nested regions ------------------------------------- */

NOIPA static void parse_step(cprof_task_t task)
{
    int64_t t0 = now_ns();
    cprof_region_t r = cprof_region_begin(task, "parse");
    spin_cpu_ms(SPIN_MS);
    cprof_region_end(r);
    add(&m_parse, now_ns() - t0);
}

NOIPA static void io_step(cprof_task_t task)
{
    int64_t t0 = now_ns();
    CPROF_REGION(task, "io");
    sleep_ms(SLEEP_MS);
    add(&m_io, now_ns() - t0);
}

static void one_request(int worker, int n)
{
    int64_t t0 = now_ns();
    cprof_task_t task = cprof_task_begin(0, "request");
    int64_t h0 = now_ns();
    cprof_region_t handle = cprof_region_begin(task, "handle");
    parse_step(task);
    io_step(task);
    cprof_log(task, "worker", "worker %d finished request %d", worker, n);
    cprof_region_end(handle);
    add(&m_handle, now_ns() - h0);
    cprof_task_end(task);
    add(&m_request, now_ns() - t0);
}

static void *worker_main(void *arg)
{
    int worker = (int)(intptr_t)arg;
    char name[24];
    snprintf(name, sizeof name, "worker-%d", worker);
    pthread_setname_np(pthread_self(), name);
    for (int n = 1; n <= REQUESTS; n++)
        one_request(worker, n);
    return NULL;
}

/* ---- The lock: one holder, two waiters --------------------------------------- */

static pthread_mutex_t the_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int held_round, asked[WAITERS], taken[WAITERS];

static void poll_until(atomic_int *v, int r)
{
    while (atomic_load(v) < r) {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
}

/* Holds the lock for HOLD_MS, all of it in a cond wait nobody signals. */
NOIPA static void hold_lock(int r)
{
    static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
    static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&the_lock);
    atomic_store(&held_round, r);
    for (int w = 0; w < WAITERS; w++)
        poll_until(&asked[w], r);
    int64_t t0 = now_ns();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)HOLD_MS * 1000000;
    until.tv_sec += until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    pthread_mutex_lock(&quiet_lock);
    while (pthread_cond_timedwait(&never, &quiet_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&quiet_lock);
    add(&m_hold, now_ns() - t0);
    pthread_mutex_unlock(&the_lock);
}

static void *holder_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "holder");
    holder_tid = tid();
    for (int r = 1; r <= ROUNDS; r++) {
        hold_lock(r);
        for (int w = 0; w < WAITERS; w++)
            poll_until(&taken[w], r);
    }
    return NULL;
}

NOIPA static void want_lock(int w)
{
    int64_t t0 = now_ns();
    pthread_mutex_lock(&the_lock);
    add(&m_wait[w], now_ns() - t0);
    pthread_mutex_unlock(&the_lock);
}

static void *waiter_main(void *arg)
{
    int w = (int)(intptr_t)arg;
    char name[24];
    snprintf(name, sizeof name, "waiter-%d", w + 1);
    pthread_setname_np(pthread_self(), name);
    waiter_tid[w] = tid();
    for (int r = 1; r <= ROUNDS; r++) {
        poll_until(&held_round, r);
        atomic_store(&asked[w], r);
        /* Let the holder see us asking before we block: the wait is then
         * the whole hold, not a race with the unlock. */
        want_lock(w);
        atomic_store(&taken[w], r);
    }
    return NULL;
}

/* ---- A task that ends on another thread, and a thread alive at stop ---------- */

static cprof_task_t handoff_task;
static int64_t handoff_begun, handoff_ns, finisher_ns;

static void *finisher_main(void *unused)
{
    (void)unused;
    int64_t began = now_ns();
    pthread_setname_np(pthread_self(), "finisher");
    finisher_tid = tid();
    sleep_ms(HANDOFF_MS);
    cprof_task_end(handoff_task);
    handoff_ns = now_ns() - handoff_begun;
    finisher_ns = now_ns() - began; /* its life, as the trace's thread events see it */
    return NULL;
}

static atomic_int parked_go, parked_done, parked_quit;

static void *parked_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "parked");
    parked_tid = tid();
    poll_until(&parked_go, 1);
    cprof_region_t r = cprof_region_begin(0, "parked-work");
    spin_cpu_ms(2);
    cprof_region_end(r);
    atomic_store(&parked_done, 1);
    poll_until(&parked_quit, 1);
    return NULL;
}

static int start(pthread_t *t, void *(*fn)(void *), intptr_t arg)
{
    if (pthread_create(t, NULL, fn, (void *)arg) != 0) {
        fprintf(stderr, "trace_gt: pthread_create failed\n");
        exit(1);
    }
    return 0;
}

static void print_measured(const char *name, const struct measured *m)
{
    printf("%s_count=%ld\n%s_ns=%lld\n", name, atomic_load(&m->count), name,
           (long long)atomic_load(&m->ns));
}

static int scenario(const char *path)
{
    main_tid = tid();
    pthread_t parked, workers[WORKERS], holder, waiters[WAITERS], finisher;
    start(&parked, parked_main, 0);
    while (!parked_tid)
        sleep_ms(1);
    if (cprof_trace_start(path) != 0) {
        fprintf(stderr, "trace_gt: cprof_trace_start: %s\n", cprof_last_error());
        return 1;
    }
    atomic_store(&parked_go, 1);
    cprof_log(0, "main", "tracing started");
    handoff_task = cprof_task_begin(0, "handoff");
    handoff_begun = now_ns();
    start(&finisher, finisher_main, 0);
    for (int i = 0; i < WORKERS; i++)
        start(&workers[i], worker_main, i + 1);
    start(&holder, holder_main, 0);
    for (int w = 0; w < WAITERS; w++)
        start(&waiters[w], waiter_main, w);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(workers[i], NULL);
    pthread_join(holder, NULL);
    for (int w = 0; w < WAITERS; w++)
        pthread_join(waiters[w], NULL);
    pthread_join(finisher, NULL);
    poll_until(&parked_done, 1);
    cprof_log(0, "main", "tracing stops");
    if (cprof_trace_stop() != 0) {
        fprintf(stderr, "trace_gt: cprof_trace_stop: %s\n", cprof_last_error());
        return 1;
    }
    atomic_store(&parked_quit, 1);
    pthread_join(parked, NULL);

    printf("pid=%d\nmain_tid=%d\nparked_tid=%d\nholder_tid=%d\nfinisher_tid=%d\n", (int)getpid(),
           (int)main_tid, (int)parked_tid, (int)holder_tid, (int)finisher_tid);
    printf("workers=%d\nrequests=%d\nrounds=%d\nhold_ms=%d\n", WORKERS, REQUESTS, ROUNDS, HOLD_MS);
    print_measured("request", &m_request);
    print_measured("handle", &m_handle);
    print_measured("parse", &m_parse);
    print_measured("io", &m_io);
    print_measured("hold", &m_hold);
    for (int w = 0; w < WAITERS; w++) {
        char name[24];
        snprintf(name, sizeof name, "wait%d", w + 1);
        printf("waiter%d_tid=%d\n", w + 1, (int)waiter_tid[w]);
        print_measured(name, &m_wait[w]);
    }
    printf("handoff_ns=%lld\nfinisher_ns=%lld\nworker_logs=%d\nmain_logs=2\n",
           (long long)handoff_ns, (long long)finisher_ns, WORKERS * REQUESTS);
    return 0;
}

/* ---- Several traces in one process ----------------------------------------- */

static void *pass_main(void *arg)
{
    int pass = (int)(intptr_t)arg;
    char name[24];
    snprintf(name, sizeof name, "pass-%d", pass);
    for (int i = 0; i < pass + 2; i++) {
        cprof_region_t r = cprof_region_begin(0, name);
        spin_cpu_ms(1);
        cprof_region_end(r);
    }
    return NULL;
}

static int multi(const char *prefix, int n)
{
    for (int pass = 1; pass <= n; pass++) {
        char path[4096];
        snprintf(path, sizeof path, "%s.%d", prefix, pass);
        if (cprof_trace_start(path) != 0) {
            fprintf(stderr, "trace_gt: cprof_trace_start: %s\n", cprof_last_error());
            return 1;
        }
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            start(&t[i], pass_main, pass);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        if (cprof_trace_stop() != 0) {
            fprintf(stderr, "trace_gt: cprof_trace_stop: %s\n", cprof_last_error());
            return 1;
        }
        /* Each pass: 2 threads × (pass + 2) regions named pass-N. */
        printf("pass%d_regions=%d\n", pass, 2 * (pass + 2));
    }
    return 0;
}

/* ---- sched: two threads pinned to one CPU -------------------------------------------- */

/* The thread's schedstat: ns on a CPU, ns runnable but waiting for one. */
static int own_schedstat(unsigned long long *run, unsigned long long *wait)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f)
        return -1;
    int n = fscanf(f, "%llu %llu", run, wait);
    fclose(f);
    return n == 2 ? 0 : -1;
}

struct spinner {
    const char *name;
    pthread_t thread;
    pid_t tid;
    unsigned long long run_ns, wait_ns;
    int ok;
};

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pinned to CPU 0 with the other spinner, it runs 0.3 s of CPU: about as
 * long again it waits for the CPU the other one holds. Its schedstat as it
 * ends is the ground truth (a new thread's starts at 0). */
static void *spin(void *arg)
{
    struct spinner *sp = arg;
    pthread_setname_np(pthread_self(), sp->name);
    sp->tid = (pid_t)syscall(SYS_gettid);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    volatile unsigned long x = 0;
    while (thread_cpu_s() < 0.3)
        for (int i = 0; i < 100000; i++)
            x += (unsigned long)i;
    sp->ok = own_schedstat(&sp->run_ns, &sp->wait_ns) == 0;
    return NULL;
}

static int sched_scenario(const char *path)
{
    if (cprof_trace_start(path) != 0) {
        fprintf(stderr, "trace_gt: %s\n", cprof_last_error());
        return 1;
    }
    struct spinner sp[2] = {{.name = "spin-a"}, {.name = "spin-b"}};
    for (int i = 0; i < 2; i++)
        pthread_create(&sp[i].thread, NULL, spin, &sp[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(sp[i].thread, NULL);
    cprof_trace_stop();
    for (int i = 0; i < 2; i++) {
        if (!sp[i].ok) {
            printf("schedstat=none\n");
            return 0;
        }
        printf("%s_tid=%d\n%s_run_ns=%llu\n%s_wait_ns=%llu\n", sp[i].name, (int)sp[i].tid,
               sp[i].name, sp[i].run_ns, sp[i].name, sp[i].wait_ns);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "sched"))
        return sched_scenario(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "main"))
        return scenario(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "multi"))
        return multi(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: trace_gt main FILE | trace_gt multi PREFIX N | trace_gt sched FILE\n");
    return 2;
}
