/*
 * cpu_workload.c: the CPU-bound workload that scripts/bench.sh profiles.
 *
 * A fixed amount of work (not a fixed time), split over THREADS threads, so
 * that whatever a profiler costs shows up as more CPU time. Each thread runs
 * ITERATIONS rounds; a round descends DEPTH calls and then mixes a hash in
 * two leaf functions (3:1), so that samples carry stacks of a realistic
 * depth and the profiler's stack table sees a handful of distinct stacks.
 *
 * Built twice by bench/bench.cmake: with and without frame pointers.
 *
 * Usage: cpu_workload [THREADS [ITERATIONS [DEPTH]]]
 * Prints one line on stdout, read by scripts/bench.sh:
 *   threads=2 work_cpu_s=... work_wall_s=... total_cpu_s=... user_s=... sys_s=... check=...
 * work_*: from just before the threads start to after they are joined.
 * total_cpu_s: the process's CPU time since exec (loader and constructors
 * of preloaded libraries included), taken at the same point.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

/* Per-round work in the leaves, in hash steps. */
#define LEAF_STEPS 4000

struct job {
    int index;
    long iterations;
    int depth;
    uint64_t result;
};

/* Prevents the compiler from turning the recursion into a loop or folding
 * the leaves: the result of every round feeds the next. */
static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    return h;
}

NOINLINE static uint64_t leaf_heavy(uint64_t h)
{
    for (int i = 0; i < 3 * LEAF_STEPS; i++)
        h = mix(h + (uint64_t)i);
    return h;
}

NOINLINE static uint64_t leaf_light(uint64_t h)
{
    for (int i = 0; i < LEAF_STEPS; i++)
        h = mix(h ^ (uint64_t)i);
    return h;
}

/* The extra statement after the call keeps it from being a tail call, so
 * every level is a real frame. */
NOINLINE static uint64_t descend(int depth, uint64_t h)
{
    if (depth <= 0)
        return leaf_light(leaf_heavy(h));
    uint64_t r = descend(depth - 1, h + (uint64_t)depth);
    __asm__ volatile("" : "+r"(r));
    return r ^ (uint64_t)depth;
}

static void *run(void *arg)
{
    struct job *job = arg;
    uint64_t h = 0x9e3779b97f4a7c15ULL * (uint64_t)(job->index + 1);
    for (long i = 0; i < job->iterations; i++)
        h = descend(job->depth, h);
    job->result = h;
    return NULL;
}

static double seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static double cpu_seconds(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = seconds(&ru.ru_utime);
    *sys = seconds(&ru.ru_stime);
    return *user + *sys;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long arg_long(int argc, char **argv, int i, long dflt, long min)
{
    if (argc <= i)
        return dflt;
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno || *end || v < min) {
        fprintf(stderr, "cpu_workload: bad argument %s (want an integer >= %ld)\n", argv[i], min);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int nthreads = (int)arg_long(argc, argv, 1, 2, 1);
    long iterations = arg_long(argc, argv, 2, 20000, 1);
    int depth = (int)arg_long(argc, argv, 3, 16, 0);
    if (nthreads > 256) {
        fprintf(stderr, "cpu_workload: at most 256 threads\n");
        return 2;
    }
    struct job jobs[256];
    pthread_t tids[256];

    double u0, s0;
    double cpu0 = cpu_seconds(&u0, &s0);
    double wall0 = mono_seconds();
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (struct job){.index = i, .iterations = iterations, .depth = depth};
        int err = pthread_create(&tids[i], NULL, run, &jobs[i]);
        if (err) {
            fprintf(stderr, "cpu_workload: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    uint64_t check = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tids[i], NULL);
        check ^= jobs[i].result;
    }
    double wall1 = mono_seconds();
    double u1, s1;
    double cpu1 = cpu_seconds(&u1, &s1);
    printf("threads=%d work_cpu_s=%.6f work_wall_s=%.6f total_cpu_s=%.6f user_s=%.6f sys_s=%.6f "
           "check=%016llx\n",
           nthreads, cpu1 - cpu0, wall1 - wall0, cpu1, u1 - u0, s1 - s0, (unsigned long long)check);
    return 0;
}
