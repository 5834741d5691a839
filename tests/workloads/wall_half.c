/*
 * wall_half: the wall-clock profile's ground truth. Two threads besides
 * main:
 *
 * - "halfhalf" alternates compute_half (spinning on the clock, on CPU) and
 *   sleep_half (nanosleep, off CPU) for SECONDS, each phase lasting a time
 *   drawn uniformly from [MIN, MAX] ms (a fixed pseudo-random sequence):
 *   half the time running, half sleeping, in phases whose lengths vary so
 *   that they cannot beat in step with the profiler's ticks. It measures
 *   the time it spent in each kind of phase itself.
 * - "stuck" waits in stuck_on_mutex for a mutex that main holds for the
 *   whole run: every one of its samples should say state=mutex.
 *
 *   wall_half [-seconds=S] [-min_ms=A] [-max_ms=B]
 *
 * Prints run_ns, sleep_ns (halfhalf's own measure of each kind of phase),
 * run_pct (run_ns as a percentage of both) and run_cpu_pct (the CPU time
 * halfhalf got while computing, as a percentage of run_ns: below 100 on a
 * loaded machine, where "running" partly means waiting for a CPU).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static pthread_mutex_t the_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t run_for_ns = 3000000000LL, min_ns = 5000000, max_ns = 15000000;
static int64_t run_ns, sleep_ns, run_cpu_ns;
static volatile uint64_t sink;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

NOIPA static void compute_half(int64_t ns)
{
    int64_t end = now_ns() + ns;
    uint64_t h = 1;
    while (now_ns() < end)
        for (int i = 0; i < 200; i++)
            h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    sink = h;
}

NOIPA static void sleep_half(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    sink++;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *halfhalf_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "halfhalf");
    uint64_t x = 0x2545f4914f6cdd1dULL;
    int64_t start = now_ns();
    while (now_ns() - start < run_for_ns) {
        int64_t len[2];
        for (int i = 0; i < 2; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            len[i] = min_ns + (int64_t)(x % (uint64_t)(max_ns - min_ns + 1));
        }
        int64_t c0 = thread_cpu_ns(), t0 = now_ns();
        compute_half(len[0]);
        int64_t t1 = now_ns();
        run_cpu_ns += thread_cpu_ns() - c0;
        sleep_half(len[1]);
        int64_t t2 = now_ns();
        run_ns += t1 - t0;
        sleep_ns += t2 - t1;
    }
    return NULL;
}

NOIPA static void stuck_on_mutex(void)
{
    pthread_mutex_lock(&the_lock);
    pthread_mutex_unlock(&the_lock);
    sink++;
}

static void *stuck_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "stuck");
    stuck_on_mutex();
    return NULL;
}

static long flag(int argc, char **argv, const char *name, long fallback)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && !strncmp(argv[i] + 1, name, n) && argv[i][n + 1] == '=')
            return atol(argv[i] + n + 2);
    return fallback;
}

int main(int argc, char **argv)
{
    run_for_ns = flag(argc, argv, "seconds", run_for_ns / 1000000000) * 1000000000;
    min_ns = flag(argc, argv, "min_ms", min_ns / 1000000) * 1000000;
    max_ns = flag(argc, argv, "max_ms", max_ns / 1000000) * 1000000;
    if (run_for_ns <= 0 || min_ns <= 0 || max_ns < min_ns) {
        fprintf(stderr, "wall_half: bad flags\n");
        return 2;
    }
    pthread_t half, stuck;
    pthread_mutex_lock(&the_lock);
    if (pthread_create(&stuck, NULL, stuck_main, NULL) ||
        pthread_create(&half, NULL, halfhalf_main, NULL)) {
        fprintf(stderr, "wall_half: pthread_create failed\n");
        return 1;
    }
    pthread_join(half, NULL);
    pthread_mutex_unlock(&the_lock);
    pthread_join(stuck, NULL);
    printf("run_ns=%lld\nsleep_ns=%lld\nrun_pct=%.2f\nrun_cpu_pct=%.2f\n", (long long)run_ns,
           (long long)sleep_ns, 100.0 * (double)run_ns / (double)(run_ns + sleep_ns),
           100.0 * (double)run_cpu_ns / (double)run_ns);
    return 0;
}
