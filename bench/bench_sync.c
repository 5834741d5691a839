/*
 * bench_sync: the costs of the mutex, block, thread and wall-clock profiles
 * (scripts/bench-sync.sh runs it bare and with libcprof preloaded).
 * Plain C, not linked with cprof: the thread dump is found with dlsym when
 * libcprof is preloaded.
 *
 *   bench_sync uncontended [-n=PAIRS] [-threaded=1] [-inside=STEPS]
 *       one thread locks and unlocks one mutex PAIRS times (default 20M),
 *       with STEPS dependent multiply-adds inside (default 0: back to back),
 *       five times; prints ns_per_pair=MEDIAN (of the thread's CPU time).
 *       glibc (2.34 and later) locks and unlocks without atomic
 *       instructions while a process has only one thread: -threaded=1
 *       starts an idle second thread first, as any program that has a
 *       mutex worth profiling has, so that glibc takes its ordinary
 *       (atomic) path. (cprof's own background thread, started with any
 *       profile, also ends the single-threaded shortcut.)
 *   bench_sync contended [-threads=T] [-seconds=S] [-work=W]
 *       T threads (default 4) take one mutex for S seconds (default 2), W
 *       steps of arithmetic inside (default 50) and outside; prints
 *       ops_per_sec=N (lock/unlock pairs, all threads).
 *   bench_sync dump -threads=N [-reps=R]
 *       N threads wait on a condition variable; times R (default 5) calls of
 *       cprof_threads_write at each debug level 0, 1, 2 to /dev/null; prints
 *       dump0_ms, dump1_ms, dump2_ms (medians). Needs libcprof preloaded.
 *   bench_sync idle -threads=N [-seconds=S]
 *       N threads wait on a condition variable for S seconds (default 5);
 *       prints cpu_ms_per_s: the CPU time of the whole process (getrusage:
 *       cprof's threads included) per second of the idle period.
 *   bench_sync busy -threads=N [-seconds=S]
 *       N threads compute for S seconds (default 5); prints
 *       ns_per_step (the computing threads' own CPU time per step of work:
 *       what signal handlers running in them cost shows here, unaffected
 *       by how much CPU a loaded machine gives them) and other_cpu_ms_per_s
 *       (the CPU of every other thread, cprof's included, per second).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t sink;

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

static long flag(int argc, char **argv, const char *name, long fallback)
{
    size_t n = strlen(name);
    for (int i = 2; i < argc; i++)
        if (argv[i][0] == '-' && !strncmp(argv[i] + 1, name, n) && argv[i][n + 1] == '=')
            return atol(argv[i] + n + 2);
    return fallback;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- uncontended --------------------------------------------------------------- */

static long inside_steps; /* arithmetic inside each critical section */
static volatile uint64_t sink;

/* noinline: the loop calls through the PLT as any program does. */
__attribute__((noinline)) static void pairs(long n)
{
    uint64_t h = 1;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        for (long k = 0; k < inside_steps; k++) {
            h = h * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(h));
        }
        pthread_mutex_unlock(&lock);
    }
    sink = h;
}

static void *sleeper(void *unused)
{
    (void)unused;
    for (;;) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int uncontended(long n, int threaded)
{
    double ns[5];
    pthread_t t;
    if (threaded && pthread_create(&t, NULL, sleeper, NULL) != 0) {
        fprintf(stderr, "bench_sync: pthread_create failed\n");
        return 1;
    }
    pairs(n / 10); /* warm-up: first calls resolve symbols */
    for (int r = 0; r < 5; r++) {
        /* The thread's CPU time: time spent preempted by other processes is
         * not the lock's (a loaded machine makes wall time useless here). */
        int64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        pairs(n);
        ns[r] = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)n;
    }
    printf("ns_per_pair=%.3f\n", median(ns, 5));
    return 0;
}

/* ---- contended ----------------------------------------------------------------- */

static volatile int stop;
static long work_steps;

static uint64_t work(uint64_t h)
{
    for (long i = 0; i < work_steps; i++) {
        h = h * 6364136223846793005ULL + 1442695040888963407ULL;
        __asm__ volatile("" : "+r"(h));
    }
    return h;
}

static void *contender(void *arg)
{
    long *ops = arg;
    uint64_t h = (uint64_t)(uintptr_t)arg;
    long n = 0;
    while (!stop) {
        pthread_mutex_lock(&lock);
        h = work(h);
        pthread_mutex_unlock(&lock);
        h = work(h);
        n++;
    }
    sink = h;
    *ops = n;
    return NULL;
}

static int contended(int threads, long seconds)
{
    pthread_t t[64];
    long ops[64] = {0};
    if (threads < 1 || threads > 64)
        return 2;
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, contender, &ops[i]);
    struct timespec ts = {seconds, 0};
    nanosleep(&ts, NULL);
    stop = 1;
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += ops[i];
    }
    printf("ops_per_sec=%.0f\n", (double)total / ((double)(now_ns() - t0) / 1e9));
    return 0;
}

/* ---- idle threads: dump, idle ---------------------------------------------------- */

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_over, idle_ready;

static void *idler(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&idle_lock);
    idle_ready++;
    pthread_cond_broadcast(&idle_cond);
    while (!idle_over)
        pthread_cond_wait(&idle_cond, &idle_lock);
    pthread_mutex_unlock(&idle_lock);
    return NULL;
}

static pthread_t *start_idlers(int n)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    for (int i = 0; t && i < n; i++)
        if (pthread_create(&t[i], &a, idler, NULL) != 0) {
            fprintf(stderr, "bench_sync: pthread_create %d failed\n", i);
            exit(1);
        }
    pthread_attr_destroy(&a);
    pthread_mutex_lock(&idle_lock);
    while (idle_ready < n)
        pthread_cond_wait(&idle_cond, &idle_lock);
    pthread_mutex_unlock(&idle_lock);
    struct timespec settle = {0, 100000000}; /* every idler back in its wait */
    nanosleep(&settle, NULL);
    return t;
}

static void stop_idlers(pthread_t *t, int n)
{
    pthread_mutex_lock(&idle_lock);
    idle_over = 1;
    pthread_cond_broadcast(&idle_cond);
    pthread_mutex_unlock(&idle_lock);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}

static int dump(int threads, int reps)
{
    int (*write_threads)(const char *, int) =
        (int (*)(const char *, int))dlsym(RTLD_DEFAULT, "cprof_threads_write");
    if (!write_threads) {
        fprintf(stderr, "bench_sync dump: cprof_threads_write not found (preload libcprof)\n");
        return 2;
    }
    pthread_t *t = start_idlers(threads);
    for (int debug = 0; debug <= 2; debug++) {
        double ms[32];
        write_threads("/dev/null", debug); /* warm-up: symbol tables */
        for (int r = 0; r < reps; r++) {
            int64_t t0 = now_ns();
            if (write_threads("/dev/null", debug) != 0) {
                fprintf(stderr, "bench_sync dump: cprof_threads_write failed\n");
                return 1;
            }
            ms[r] = (double)(now_ns() - t0) / 1e6;
        }
        printf("dump%d_ms=%.2f\n", debug, median(ms, reps));
    }
    stop_idlers(t, threads);
    return 0;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int idle(int threads, long seconds)
{
    pthread_t *t = start_idlers(threads);
    double c0 = cpu_s();
    int64_t t0 = now_ns();
    struct timespec ts = {seconds, 0};
    nanosleep(&ts, NULL);
    double used = cpu_s() - c0, wall = (double)(now_ns() - t0) / 1e9;
    printf("cpu_ms_per_s=%.3f\n", 1000 * used / wall);
    stop_idlers(t, threads);
    return 0;
}

static _Atomic int busy_over;

struct busy {
    pthread_t t;
    uint64_t steps;
    double cpu_s;
};

static void *busy_main(void *arg)
{
    struct busy *b = arg;
    uint64_t h = 1, steps = 0;
    while (!atomic_load_explicit(&busy_over, memory_order_relaxed)) {
        for (int i = 0; i < 1000; i++) {
            h = h * 6364136223846793005ULL + 1;
            __asm__ volatile("" : "+r"(h));
        }
        steps++;
    }
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    b->steps = steps;
    b->cpu_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    return NULL;
}

static int busy(int threads, long seconds)
{
    struct busy *b = calloc((size_t)threads, sizeof *b);
    if (!b)
        return 1;
    double c0 = cpu_s();
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++)
        if (pthread_create(&b[i].t, NULL, busy_main, &b[i]) != 0) {
            fprintf(stderr, "bench_sync: pthread_create %d failed\n", i);
            return 1;
        }
    struct timespec ts = {seconds, 0};
    nanosleep(&ts, NULL);
    atomic_store(&busy_over, 1);
    double busy_cpu = 0, steps = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(b[i].t, NULL);
        busy_cpu += b[i].cpu_s;
        steps += (double)b[i].steps;
    }
    double wall = (double)(now_ns() - t0) / 1e9, other = cpu_s() - c0 - busy_cpu;
    printf("ns_per_step=%.3f\nother_cpu_ms_per_s=%.3f\n", 1e9 * busy_cpu / steps,
           1000 * (other > 0 ? other : 0) / wall);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    inside_steps = flag(argc, argv, "inside", 0);
    if (!strcmp(mode, "uncontended"))
        return uncontended(flag(argc, argv, "n", 20000000), (int)flag(argc, argv, "threaded", 0));
    if (!strcmp(mode, "contended")) {
        work_steps = flag(argc, argv, "work", 50);
        return contended((int)flag(argc, argv, "threads", 4), flag(argc, argv, "seconds", 2));
    }
    if (!strcmp(mode, "dump")) {
        int reps = (int)flag(argc, argv, "reps", 5);
        return dump((int)flag(argc, argv, "threads", 100), reps < 1 ? 1 : reps > 32 ? 32 : reps);
    }
    if (!strcmp(mode, "idle"))
        return idle((int)flag(argc, argv, "threads", 100), flag(argc, argv, "seconds", 5));
    if (!strcmp(mode, "busy"))
        return busy((int)flag(argc, argv, "threads", 2), flag(argc, argv, "seconds", 5));
    fprintf(stderr,
            "usage: bench_sync uncontended|contended|dump|idle|busy [flags] (see the source)\n");
    return 2;
}
