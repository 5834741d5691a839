/*
 * heap_churn: heapgt's churn at a volume where heap sampling's noise is
 * small enough to test against tight tolerances (see test-heap-sampled.sh
 * for the arithmetic). Three sites, each of a known size:
 *
 *   keep_live     100 blocks x 10000 B, kept until exit
 *   churn_big     BIG blocks x 65536 B, each freed at once (p = 0.1175 at 512 KiB)
 *   churn_small   SMALL blocks x 512 B, each freed at once (p = 0.00098 at 512 KiB)
 *
 * The churn is split across THREADS threads (the same stack in each, so one
 * site). Built with -fno-builtin so that the malloc/free pairs stay.
 *
 * Usage: heap_churn BIG SMALL THREADS   (THREADS must divide BIG and SMALL)
 * Prints "total_bytes=N": every byte the three sites allocated.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define KEEP_BLOCKS 100
#define KEEP_SIZE   10000
#define BIG_SIZE    65536
#define SMALL_SIZE  512

void *volatile sink;
void *kept[KEEP_BLOCKS];
static long big_per_thread, small_per_thread;

__attribute__((noinline)) static void keep_live(void)
{
    for (int i = 0; i < KEEP_BLOCKS; i++)
        kept[i] = malloc(KEEP_SIZE);
}

__attribute__((noinline)) static void churn_big(long blocks)
{
    for (long i = 0; i < blocks; i++) {
        char *p = malloc(BIG_SIZE);
        p[0] = 1;
        sink = p;
        free(p);
    }
}

__attribute__((noinline)) static void churn_small(long blocks)
{
    for (long i = 0; i < blocks; i++) {
        char *p = malloc(SMALL_SIZE);
        p[0] = 1;
        sink = p;
        free(p);
    }
}

static void *churn_thread(void *arg)
{
    (void)arg;
    churn_big(big_per_thread);
    churn_small(small_per_thread);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: heap_churn BIG SMALL THREADS\n");
        return 2;
    }
    long big = atol(argv[1]), small = atol(argv[2]);
    int threads = atoi(argv[3]);
    if (big < 0 || small < 0 || threads < 1 || threads > 64 || big % threads || small % threads) {
        fprintf(stderr, "heap_churn: THREADS (1..64) must divide BIG and SMALL\n");
        return 2;
    }
    big_per_thread = big / threads;
    small_per_thread = small / threads;
    keep_live();
    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, churn_thread, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("total_bytes=%lld\n", (long long)KEEP_BLOCKS * KEEP_SIZE + (long long)big * BIG_SIZE +
                                     (long long)small * SMALL_SIZE);
    return 0;
}
