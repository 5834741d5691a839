/*
 * test-samples: the lock-free stack table under concurrent inserts. Several
 * threads add known stacks with known weights at the same time (as signal
 * handlers on several threads do); every count must come out exact, and a
 * table too small must put the overflow into the lost counter, not lose it.
 * Runs under ThreadSanitizer in the tsan build.
 */
#include <pthread.h>

#include "samples.h"
#include "test.h"

#define THREADS 4
#define STACKS  500
#define ROUNDS  200

static cprof_samples *table;

static void make_stack(int id, uint64_t *frames, int *n)
{
    *n = 1 + id % 40;
    for (int i = 0; i < *n; i++)
        frames[i] = 0x400000 + (uint64_t)id * 4096 + (uint64_t)i * 16;
}

static void *adder(void *arg)
{
    int t = (int)(intptr_t)arg;
    uint64_t frames[64];
    int n;
    for (int r = 0; r < ROUNDS; r++)
        for (int s = 0; s < STACKS; s++) {
            int id = (s * 7 + t * 13 + r) % STACKS; /* threads race on the same keys */
            make_stack(id, frames, &n);
            cprof__samples_add(table, frames, n, (uint32_t)(id % 3), 1 + (uint64_t)(id % 2));
        }
    return NULL;
}

struct tally {
    uint64_t count[STACKS];
    int keys;
};

static void collect(void *arg, const uint64_t *frames, int n, uint32_t labels,
                    const uint64_t *values)
{
    uint64_t count = values[0];
    struct tally *t = arg;
    int id = (int)((frames[0] - 0x400000) / 4096);
    CHECK(id >= 0 && id < STACKS);
    uint64_t want[64];
    int wn;
    make_stack(id, want, &wn);
    CHECK(wn == n);
    CHECK(memcmp(want, frames, (size_t)n * 8) == 0);
    CHECK(labels == (uint32_t)(id % 3));
    t->count[id] += count;
    t->keys++;
}

int main(void)
{
    table = cprof__samples_new(STACKS, STACKS * 64);
    CHECK(table);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, adder, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);

    static struct tally t;
    cprof__samples_each(table, collect, &t);
    CHECK(t.keys == STACKS);
    for (int id = 0; id < STACKS; id++)
        CHECK_EQ_U64(t.count[id], (uint64_t)THREADS * ROUNDS * (1 + id % 2));
    CHECK_EQ_U64(cprof__samples_lost(table), 0);
    cprof__samples_free(table);

    /* Too small: 8 keys fit (16 slots), the rest must be counted as lost. */
    table = cprof__samples_new(8, 1024);
    uint64_t frames[64];
    int n;
    uint64_t added = 0;
    for (int id = 0; id < 100; id++) {
        make_stack(id, frames, &n);
        cprof__samples_add(table, frames, n, (uint32_t)(id % 3), 1);
        added++;
    }
    struct tally small = {0};
    cprof__samples_each(table, collect, &small);
    uint64_t kept = 0;
    for (int id = 0; id < STACKS; id++)
        kept += small.count[id];
    CHECK_EQ_U64(kept + cprof__samples_lost(table), added);
    CHECK(cprof__samples_lost(table) > 0);
    CHECK_EQ_U64(cprof__samples_total(table), added);
    cprof__samples_free(table);
    printf("test-samples: ok\n");
    return 0;
}
