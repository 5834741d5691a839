/*
 * cpuhog: a small CPU-bound program with a known split of work, for trying
 * `cprof run` before anything else: three quarters of the time in
 * hash_block, one quarter in checksum_block, on every thread.
 *
 *   cpuhog [-threads=N] [-seconds=S]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds = 2.0;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static uint64_t hash_block(uint64_t h, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
    }
    return h;
}

__attribute__((noinline)) static uint64_t checksum_block(uint64_t h, int rounds)
{
    for (int i = 0; i < rounds; i++)
        h = (h << 7 | h >> 57) + (uint64_t)i;
    return h;
}

static void *worker(void *arg)
{
    uint64_t h = (uintptr_t)arg + 1;
    double end = now() + seconds;
    while (now() < end) {
        h = hash_block(h, 3 * 200000);
        h = checksum_block(h, 2 * 200000); /* cheaper per round: 3:1 in time */
    }
    return (void *)(uintptr_t)h;
}

int main(int argc, char **argv)
{
    int threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-threads=", 9))
            threads = atoi(argv[i] + 9);
        else if (!strncmp(argv[i], "-seconds=", 9))
            seconds = atof(argv[i] + 9);
        else {
            fprintf(stderr, "usage: cpuhog [-threads=N] [-seconds=S]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || seconds <= 0) {
        fprintf(stderr, "cpuhog: bad -threads or -seconds\n");
        return 2;
    }
    pthread_t tids[256];
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, worker, (void *)(uintptr_t)i);
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(tids[i], &r);
        sum ^= (uintptr_t)r;
    }
    printf("cpuhog: %d threads, %.1f s each, result %016llx\n", threads, seconds,
           (unsigned long long)sum);
    return 0;
}
