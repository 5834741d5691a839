/*
 * test-bench-harness.c: benchmarks with known answers, for
 * test-bench-harness.sh. Built with -fno-builtin so that the compiler keeps
 * every malloc/free it is shown.
 *
 * At exit the program prints on stderr how often each counting benchmark
 * was called and how many iterations it ran in total, so the script can
 * check that -benchtime=Nx means exactly N.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cprof/bench.h>

static void *volatile sink;

/* 100 + 200 + 300 bytes in 3 allocations per op: 600 B/op, 3 allocs/op. */
static void bench_alloc(cprof_b *b)
{
    for (long i = 0; i < b->n; i++) {
        void *p = malloc(100), *q = malloc(200), *r = malloc(300);
        sink = p;
        sink = q;
        sink = r;
        free(p);
        free(q);
        free(r);
    }
}
CPROF_BENCH(bench_alloc)

static long count_calls, count_iterations;

static void bench_count(cprof_b *b)
{
    count_calls++;
    for (long i = 0; i < b->n; i++)
        count_iterations++;
}
CPROF_BENCH(bench_count)

/* The harness's own cost per iteration: a loop that does nothing but stay a
 * loop (the empty asm is a compiler barrier). */
static void bench_empty(cprof_b *b)
{
    for (long i = 0; i < b->n; i++)
        __asm__ volatile("" ::: "memory");
}
CPROF_BENCH(bench_empty)

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* 20 ms of setup before the reset, 2 ms per op outside the timer, about
 * 10 us per op inside it: ns/op must be far below 2 ms. Allocations made
 * while stopped must not count either. */
static void bench_timer(cprof_b *b)
{
    sleep_us(20000);
    sink = malloc(1000);
    free(sink);
    cprof_b_reset_timer(b);
    for (long i = 0; i < b->n; i++) {
        cprof_b_stop_timer(b);
        sleep_us(2000);
        void *p = malloc(5000);
        sink = p;
        free(p);
        cprof_b_start_timer(b);
        sleep_us(10);
    }
}
CPROF_BENCH(bench_timer)

/* A fixed 100 us per op: the scaling must reach -benchtime with n from
 * 1, 2, 3, 5 x 10^k. */
static void bench_sleep(cprof_b *b)
{
    for (long i = 0; i < b->n; i++)
        sleep_us(100);
}
CPROF_BENCH(bench_sleep)

static void bench_metric(cprof_b *b)
{
    for (long i = 0; i < b->n; i++)
        __asm__ volatile("" ::: "memory");
    cprof_b_report_metric(b, 1.0, "widgets/op"); /* replaced below */
    cprof_b_report_metric(b, 2.5, "widgets/op");
    cprof_b_report_metric(b, 42, "gadgets/op");
}
CPROF_BENCH(bench_metric)

/* Allocations in another thread count too: a worker, started (and past
 * its start-up, which allocates) before the timer runs, allocates 64 bytes
 * n times while it runs. */
static sem_t ready, go, done;
static long worker_n;

static void *worker(void *arg)
{
    sem_post(&ready);
    sem_wait(&go);
    for (long i = 0; i < worker_n; i++) {
        void *p = malloc(64);
        sink = p;
        free(p);
    }
    sem_post(&done);
    return arg;
}

static void bench_thread_alloc(cprof_b *b)
{
    cprof_b_stop_timer(b);
    pthread_t t;
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    worker_n = b->n;
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        abort();
    sem_wait(&ready);
    cprof_b_start_timer(b);
    sem_post(&go);
    sem_wait(&done);
    cprof_b_stop_timer(b);
    pthread_join(t, NULL);
}
CPROF_BENCH(bench_thread_alloc)

/* A name that is already Go's. */
static void BenchmarkGoStyle_name(cprof_b *b)
{
    for (long i = 0; i < b->n; i++)
        __asm__ volatile("" ::: "memory");
}
CPROF_BENCH(BenchmarkGoStyle_name)

static void report(void)
{
    fprintf(stderr, "count: calls=%ld iterations=%ld\n", count_calls, count_iterations);
}

int main(int argc, char **argv)
{
    atexit(report);
    return cprof_bench_main(argc, argv);
}
