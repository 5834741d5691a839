/*
 * bench_heap: the heap profiler's benchmark workloads (scripts/bench-heap.sh
 * runs them bare, under cprof, heaptrack, gperftools and valgrind). Plain C
 * with no cprof linked: profilers are preloaded. Built with -fno-builtin so
 * that every malloc/free stays a call.
 *
 *   bench_heap mt [THREADS] [OPS] [LIVE]
 *       THREADS threads (default 2), each doing OPS (default 4000000)
 *       malloc/free pairs of random sizes 16..4096 bytes: a slot of a table
 *       of LIVE (default 1024) blocks per thread is freed and refilled at
 *       random, so LIVE blocks per thread stay live and the heap churns.
 *       The last table of each thread is kept until exit, through a global
 *       (still reachable for a leak checker), and one block in 64 of the
 *       first 64 * LIVE allocations is dropped: definitely lost.
 *   bench_heap pair [N]
 *       one thread, N (default 20000000) malloc(32)/free pairs.
 *
 * Prints "cpu_s=S wall_s=W ops=N ns_per_op=X": CPU time (getrusage, all
 * threads) and wall time of the work alone, from before the threads start
 * to after they are joined, so that a profiler's start-up and its writing
 * at exit are left out (the script times those end to end). The random
 * sizes come from a fixed seed per thread: every run does the same work.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_THREADS 64

static long ops_per_thread = 4000000;
static int live_per_thread = 1024;
/* Global, not static: a store to a static nobody reads may be dropped. */
void **volatile tables[MAX_THREADS]; /* the kept blocks stay reachable */
static void *volatile sink;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* xorshift64*: the same sequence in every run. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

__attribute__((noinline)) static void *alloc_block(uint64_t *seed)
{
    size_t size = 16 + next_random(seed) % 4081; /* 16..4096 */
    char *p = malloc(size);
    if (!p)
        abort();
    p[0] = (char)size;
    p[size - 1] = 1;
    return p;
}

__attribute__((noinline)) static void release_block(void *p)
{
    free(p);
}

static void *mt_worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(me + 1);
    void **table = calloc((size_t)live_per_thread, sizeof *table);
    if (!table)
        abort();
    tables[me] = table;
    for (long i = 0; i < ops_per_thread; i++) {
        size_t k = next_random(&seed) % (size_t)live_per_thread;
        if (table[k] && i < 64L * live_per_thread && i % 64 == 0)
            sink = table[k]; /* dropped: a leak */
        else
            release_block(table[k]);
        table[k] = alloc_block(&seed);
    }
    sink = NULL;
    return NULL;
}

__attribute__((noinline)) static void pair_loop(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(32);
        sink = p;
        free(p);
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "mt";
    double c0, w0;
    long ops;
    if (strcmp(mode, "mt") == 0) {
        int threads = argc > 2 ? atoi(argv[2]) : 2;
        if (argc > 3)
            ops_per_thread = atol(argv[3]);
        if (argc > 4)
            live_per_thread = atoi(argv[4]);
        if (threads < 1 || threads > MAX_THREADS || ops_per_thread < 1 || live_per_thread < 1) {
            fprintf(stderr, "usage: bench_heap mt [THREADS 1..64] [OPS] [LIVE]\n");
            return 2;
        }
        pthread_t t[MAX_THREADS];
        c0 = cpu_s();
        w0 = mono_s();
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, mt_worker, (void *)(intptr_t)i);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        ops = ops_per_thread * threads;
    } else if (strcmp(mode, "pair") == 0) {
        ops = argc > 2 ? atol(argv[2]) : 20000000;
        if (ops < 1) {
            fprintf(stderr, "usage: bench_heap pair [N]\n");
            return 2;
        }
        c0 = cpu_s();
        w0 = mono_s();
        pair_loop(ops);
    } else {
        fprintf(stderr, "usage: bench_heap mt|pair ...\n");
        return 2;
    }
    double cpu = cpu_s() - c0, wall = mono_s() - w0;
    printf("cpu_s=%.4f wall_s=%.4f ops=%ld ns_per_op=%.2f\n", cpu, wall, ops, cpu * 1e9 / ops);
    return 0;
}
