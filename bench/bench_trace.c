/*
 * bench_trace: the cost of the tracer's hot path, in nanoseconds per event,
 * against the same loop with tracing off, on 1 and 2 threads:
 *   region   a cprof_region_begin + cprof_region_end pair (2 events)
 *   log      a cprof_log with a short formatted message (1 event)
 * and the bytes each event takes on disk (file size / events). For scale,
 * the cost of reading the clock the tracer stamps every event with (the
 * TSC, or CLOCK_MONOTONIC where the TSC is not reliable): in a virtual
 * machine it can be most of an event's cost.
 *
 *   bench_trace [-n ITERATIONS] [-rounds R]     (prints a Markdown table)
 *
 * Each figure is the median of R rounds; rounds alternate on and off.
 * Times are CPU time (the whole process's for the operations: the tracer's
 * writer thread and its write calls included), so that a loaded machine
 * does not count the time a thread waited for a CPU.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cprof.h>

static long iterations = 2000000;

/* CPU time, not wall time: on a shared machine the time a thread waits for
 * a CPU is not the tracer's. The process's (all threads: the workers and the
 * tracer's writer thread, system time included) for the operations, the
 * calling thread's for the clock reads. */
static double process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *regions(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        cprof_region_t r = cprof_region_begin(0, "bench");
        cprof_region_end(r);
    }
    return NULL;
}

static void *logs(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++)
        cprof_log(0, "bench", "item %ld", i);
    return NULL;
}

/* ns per read of each clock, `iterations` reads, median of `rounds`. */
static uint64_t sink;

static double time_rdtsc(void)
{
    double start = now_ns();
    uint64_t sum = 0;
    for (long i = 0; i < iterations; i++) {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        sum += (uint64_t)hi << 32 | lo;
    }
    sink += sum;
    return (now_ns() - start) / (double)iterations;
}

static double time_clock_gettime(void)
{
    double start = now_ns();
    uint64_t sum = 0;
    for (long i = 0; i < iterations; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sum += (uint64_t)ts.tv_nsec;
    }
    sink += sum;
    return (now_ns() - start) / (double)iterations;
}

/* CPU ns per operation of fn on `threads` threads at once (each does
 * `iterations`), the process's CPU time over all operations. */
static double run(void *(*fn)(void *), int threads)
{
    pthread_t t[2];
    double start = process_cpu_ns();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, fn, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return (process_cpu_ns() - start) / (double)iterations / threads;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n"))
            iterations = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-rounds"))
            rounds = atoi(argv[i + 1]);
    }
    if (iterations < 1000 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "usage: bench_trace [-n ITERATIONS>=1000] [-rounds 1..99]\n");
        return 2;
    }
    char path[] = "/tmp/bench-trace.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    printf("| operation | threads | off (ns/op) | on (ns/op) | added per event (ns) |\n");
    printf("| --- | --- | --- | --- | --- |\n");
    struct {
        const char *name;
        void *(*fn)(void *);
        int events;
    } ops[] = {{"region begin+end", regions, 2}, {"log", logs, 1}};
    double bytes = 0, events = 0;
    for (size_t o = 0; o < 2; o++) {
        for (int threads = 1; threads <= 2; threads++) {
            double off[99], on[99];
            for (int r = 0; r < rounds; r++) {
                off[r] = run(ops[o].fn, threads);
                if (cprof_trace_start(path) != 0) {
                    fprintf(stderr, "bench_trace: %s\n", cprof_last_error());
                    return 1;
                }
                on[r] = run(ops[o].fn, threads);
                cprof_trace_stop();
                struct stat st;
                if (stat(path, &st) == 0) {
                    bytes += (double)st.st_size;
                    events += (double)iterations * threads * ops[o].events;
                }
            }
            double a = median(off, rounds), b = median(on, rounds);
            printf("| %s | %d | %.1f | %.1f | %.1f |\n", ops[o].name, threads, a, b,
                   (b - a) / ops[o].events);
        }
    }
    printf("\nOn disk: %.2f bytes per event (file sizes over events recorded, "
           "lost events included in the count).\n",
           bytes / events);
    double tsc[99], cg[99];
    for (int r = 0; r < rounds; r++) {
        tsc[r] = time_rdtsc();
        cg[r] = time_clock_gettime();
    }
    printf("Reading the clock, for scale: rdtsc %.1f ns, clock_gettime(CLOCK_MONOTONIC) %.1f ns "
           "(the tracer reads one per event).\n",
           median(tsc, rounds), median(cg, rounds));
    unlink(path);
    return 0;
}
