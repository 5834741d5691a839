/*
 * cpusplit: the CPU profiler's ground truth. Every thread alternates between
 * spin_three and spin_one, which spin until the thread's own CPU clock has
 * advanced by 3 units and 1 unit: a 3:1 split of CPU time by construction,
 * whatever the machine's load, because both are measured on the same clock
 * the profiler samples.
 *
 *   cpusplit [-threads=N] [-cpu=SECONDS] [-unit_ms=U]
 *
 * N threads in all (the main thread is one of them, so that both the main
 * thread's stack and pthread stacks are walked); SECONDS of CPU in all,
 * divided among them, rounded to whole 3:1 cycles so that no thread stops
 * half-way through one. Prints "cpu_seconds=S" at the end: the user+system
 * CPU time the process used since main started (getrusage), i.e. the time a
 * profiler that starts before main should account for.
 *
 * The unit defaults to 1 ms. Tests that sample slower than that pick a unit
 * several sampling periods long: with slices shorter than the period, which
 * slice a sample lands in is a coin toss, and the split's error is that of a
 * few hundred coin tosses; with slices of whole periods, every slice gets its
 * share of samples give or take the one at its edge.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "keep_frame.h"

static int64_t unit_ns = 1000000;
static long cycles_per_thread;
static volatile uint64_t sink;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A few microseconds of arithmetic between clock reads, so that most of the
 * time is spent in the spinning function itself rather than in the clock's
 * system call (which still counts as the caller's, through its stack). */
static inline uint64_t burn(uint64_t h, uint64_t k)
{
    for (int i = 0; i < 2000; i++) {
        h ^= h >> 31;
        h *= k;
        __asm__ volatile("" : "+r"(h));
    }
    return h;
}

/* KEEP_FRAME keeps the two functions on every stack under their own
 * names; their different constants keep the compiler from folding them into
 * one. */
KEEP_FRAME static uint64_t spin_three(uint64_t h)
{
    int64_t end = thread_cpu_ns() + 3 * unit_ns;
    while (thread_cpu_ns() < end)
        h = burn(h, 0x9e3779b97f4a7c15ULL);
    return h;
}

KEEP_FRAME static uint64_t spin_one(uint64_t h)
{
    int64_t end = thread_cpu_ns() + unit_ns;
    while (thread_cpu_ns() < end)
        h = burn(h, 0xc2b2ae3d27d4eb4fULL);
    return h;
}

__attribute__((noinline)) static void *worker(void *arg)
{
    uint64_t h = (uintptr_t)arg + 1;
    for (long c = 0; c < cycles_per_thread; c++) {
        h = spin_three(h);
        h = spin_one(h);
    }
    sink += h;
    return NULL;
}

static double rusage_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static const char *flag(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* Wall-clock seconds: with the CPU time, tells the test whether the workers
 * had their CPUs to themselves (the timer engine needs that). */
static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double start = rusage_seconds(), wall_start = wall_seconds();
    int threads = 1;
    double cpu = 1.5, unit_ms = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = flag(argv[i], "-threads")))
            threads = atoi(v);
        else if ((v = flag(argv[i], "-cpu")))
            cpu = atof(v);
        else if ((v = flag(argv[i], "-unit_ms")))
            unit_ms = atof(v);
        else {
            fprintf(stderr, "usage: cpusplit [-threads=N] [-cpu=SECONDS] [-unit_ms=U]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || cpu <= 0 || unit_ms <= 0) {
        fprintf(stderr, "cpusplit: bad arguments\n");
        return 2;
    }
    unit_ns = (int64_t)(unit_ms * 1e6);
    double cycle_s = 4 * unit_ms / 1e3;
    cycles_per_thread = (long)(cpu / threads / cycle_s + 0.5);
    if (cycles_per_thread < 1)
        cycles_per_thread = 1;

    pthread_t tids[64];
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&tids[i], NULL, worker, (void *)(uintptr_t)i) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    worker(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(tids[i], NULL);
    printf("cpu_seconds=%.6f wall_seconds=%.6f threads=%d cycles=%ld unit_ms=%g\n",
           rusage_seconds() - start, wall_seconds() - wall_start, threads, cycles_per_thread,
           unit_ms);
    return 0;
}
