/*
 * cprof/bench.h: benchmarks for C and C++, in the manner of Go's testing.B.
 *
 *     #include <cprof/bench.h>
 *
 *     static void bench_search(cprof_b *b)
 *     {
 *         setup();                      // not timed, with the reset below
 *         cprof_b_reset_timer(b);
 *         for (long i = 0; i < b->n; i++)
 *             search(...);
 *     }
 *     CPROF_BENCH(bench_search)
 *
 *     int main(int argc, char **argv) { return cprof_bench_main(argc, argv); }
 *
 * Link with libcprof (`pkg-config --libs cprof`). Then
 *
 *     ./mybench -bench=. -count=10 -benchmem > new.txt
 *     cprof benchstat old.txt new.txt
 *
 * A benchmark runs its loop b->n times; the harness calls it with growing n
 * until one call lasts -benchtime, and prints one line per run in Go's
 * benchmark format (tab-separated), which `cprof benchstat` and Go's
 * benchstat read:
 *
 *     BenchmarkSearch-8    1234    812345 ns/op    4096 B/op    12 allocs/op
 *
 * Names: a function named BenchmarkX keeps its name; otherwise a leading
 * "bench_" is dropped and the rest becomes CamelCase after "Benchmark"
 * (bench_search_slow -> BenchmarkSearchSlow). The suffix -N is the number of
 * CPUs the process may run on (sched_getaffinity), left out when it is 1, as
 * Go does with GOMAXPROCS.
 *
 * Flags of cprof_bench_main (also accepted as -test.NAME and --NAME):
 *   -bench=REGEX        run the benchmarks whose name matches (POSIX extended
 *                       regular expression, unanchored). Without it nothing
 *                       runs, as with `go test`; -bench=. runs them all.
 *   -benchtime=D|Nx     run each benchmark for about D (a Go duration: 1s,
 *                       500ms, 2m; default 1s), or exactly N iterations.
 *   -count=N            run each benchmark N times (N lines; default 1).
 *   -benchmem           also report B/op and allocs/op: every allocation
 *                       made through malloc, calloc, realloc, the memalign
 *                       family and C++ new while the timer runs, in every
 *                       thread, counted exactly (not sampled).
 *   -cpuprofile=FILE    CPU profile (pprof) of the benchmark runs.
 *   -memprofile=FILE    heap profile (pprof) of the benchmark runs.
 *   -memprofilerate=N   mean bytes between heap samples for -memprofile
 *                       (default 524288; 1 records every allocation).
 * A bad flag prints one line on stderr and cprof_bench_main returns 2.
 *
 * The cprof_b_* functions must be called from the thread that runs the
 * benchmark, while it runs.
 */
#ifndef CPROF_BENCH_H
#define CPROF_BENCH_H

#include <cprof.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a benchmark function gets. Only `n` is public; the harness keeps the
 * rest of its state next to this struct, so never copy one. */
typedef struct cprof_b {
    long n; /* iterations to run in this call */
} cprof_b;

typedef void (*cprof_bench_fn)(cprof_b *b);

/* Zeroes the elapsed time, the allocation counts and the reported metrics,
 * without stopping or starting the timer: call it after expensive setup. */
CPROF_API void cprof_b_reset_timer(cprof_b *b);

/* Stops timing (and counting allocations) until cprof_b_start_timer: for
 * work in the loop that must not be measured. Calls do not nest: stopping a
 * stopped timer does nothing, as in Go. */
CPROF_API void cprof_b_stop_timer(cprof_b *b);

/* Resumes timing; starting a running timer does nothing. The timer is
 * already running when the benchmark function is entered. */
CPROF_API void cprof_b_start_timer(cprof_b *b);

/* Adds "value unit" to this run's result line, e.g. (b, items / b->n,
 * "items/op"): the value is printed as given, so make it per operation
 * yourself. A unit reported again replaces its value; the last call before
 * the run ends counts, and cprof_b_reset_timer forgets them all. "ns/op",
 * "B/op" and "allocs/op" replace the harness's own figures. The unit must
 * not be empty or contain white space (the program stops with a message,
 * exit status 2, if it does). */
CPROF_API void cprof_b_report_metric(cprof_b *b, double value, const char *unit);

/* Registers a benchmark; CPROF_BENCH calls it before main. Benchmarks run
 * in the order they were registered (source order within a file). */
CPROF_API void cprof_bench_register(const char *function_name, cprof_bench_fn fn);

/* Parses the flags above, runs the matching benchmarks, prints the results
 * on stdout. Returns the exit status: 0, 1 if a benchmark or a profile could
 * not be run or written, 2 for a bad flag. */
CPROF_API int cprof_bench_main(int argc, char **argv);

/* Registers fn (declared before this line) as a benchmark when the program
 * starts. */
#define CPROF_BENCH(fn)                                                                            \
    __attribute__((constructor)) static void cprof_bench_register_##fn(void)                       \
    {                                                                                              \
        cprof_bench_register(#fn, fn);                                                             \
    }

#ifdef __cplusplus
}
#endif

#endif
