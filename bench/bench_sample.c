/*
 * bench_sample.c: the cost of one CPU sample's user-space work, measured
 * directly: the stack walk (cprof__unwind) and the insertion into the stack
 * table (cprof__samples_add), as the SIGPROF handler does them, on a
 * context captured with getcontext() at a known depth of recursion.
 *
 * Also the kernel's part of a signal in its cheapest form: a thread sending
 * itself SIGPROF (tgkill) and returning from an empty SA_SIGINFO handler.
 * A profiling signal from a perf overflow or a CPU timer costs at least
 * that; scripts/bench.sh measures the whole cost indirectly.
 *
 * Built twice by bench/bench.cmake: with and without frame pointers (this
 * file's frames; cprof's unwinder walks by CFI either way).
 *
 * Usage: bench_sample [CALLS [DEPTH...]]   (default 1000000 calls, depths 10 30)
 * Prints one line per depth, then the signal's cost:
 *   depth=10 frames=15 unwind_ns=... add_ns=... sample_ns=... cold_sample_ns=...
 *   signal_ns=...
 * unwind_ns, add_ns, sample_ns (both): warm, CALLS calls in a row, thread
 * CPU time. cold_sample_ns: both, with L1 and L2 evicted before each call
 * (median of 2000 calls).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "samples.h"
#include "threads.h"
#include "unwind.h"

#define NOINLINE __attribute__((noinline))

static long calls = 1000000;

/* Thread CPU time: what a sample costs the profiled thread. */
static double thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct result {
    int frames;
    double unwind_ns, add_ns, sample_ns, cold_ns;
};

/* Cold runs: before each call, reading a buffer twice the size of the L2
 * cache evicts cprof's tables and the stack from L1 and L2, as a workload
 * does between two samples 1 to 10 ms apart. */
#define COLD_CALLS 2000
static volatile unsigned char *evict_buf;
static size_t evict_len;

static void evict_init(void)
{
    size_t l2 = 0;
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index2/size", "r");
    if (f) {
        char unit = 0;
        if (fscanf(f, "%zu%c", &l2, &unit) >= 1 && (unit == 'K' || unit == 'k'))
            l2 *= 1024;
        else if (unit == 'M')
            l2 *= 1024 * 1024;
        fclose(f);
    }
    if (l2 < (1 << 20))
        l2 = 4 << 20;
    evict_len = 2 * l2;
    evict_buf = malloc(evict_len);
    if (!evict_buf) {
        perror("bench_sample: malloc");
        exit(1);
    }
    memset((void *)evict_buf, 1, evict_len);
}

static void evict(void)
{
    unsigned sum = 0;
    for (size_t i = 0; i < evict_len; i += 64)
        sum += evict_buf[i];
    evict_buf[0] = (unsigned char)sum;
}

static double mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* At the bottom of the recursion: capture the context and time the calls.
 * The walk starts at this function (getcontext records its return point
 * here), so the stack seen is this frame, the recursion, and main's. */
NOINLINE static void measure(struct result *res)
{
    static ucontext_t uc;
    static uint64_t pcs[CPROF_MAX_FRAMES];
    if (getcontext(&uc) < 0) {
        perror("getcontext");
        exit(1);
    }
    uintptr_t hi = cprof__stack_hi((uintptr_t)uc.uc_mcontext.gregs[REG_RSP]);
    if (!hi) {
        cprof__threads_refresh_maps();
        hi = cprof__stack_hi((uintptr_t)uc.uc_mcontext.gregs[REG_RSP]);
    }
    if (!hi) {
        fprintf(stderr, "bench_sample: cprof__stack_hi found no stack\n");
        exit(1);
    }
    cprof_samples *t = cprof__samples_new(256 * 1024, 8 * 1024 * 1024);
    if (!t) {
        perror("bench_sample: cprof__samples_new");
        exit(1);
    }
    int n = cprof__unwind(&uc, pcs, CPROF_MAX_FRAMES, hi);
    res->frames = n;

    /* Unwind alone. */
    int sink = 0;
    double t0 = thread_ns();
    for (long i = 0; i < calls; i++)
        sink += cprof__unwind(&uc, pcs, CPROF_MAX_FRAMES, hi);
    double t1 = thread_ns();
    if (sink != n * calls) {
        fprintf(stderr, "bench_sample: unwind gave different depths\n");
        exit(1);
    }
    /* Table insert alone: the same key every time, as a hot loop's samples
     * mostly are (after the first, a hash, one probe, a compare, an add). */
    for (long i = 0; i < calls; i++)
        cprof__samples_add(t, pcs, n, 0, 1);
    double t2 = thread_ns();
    /* Both, as the handler does them. */
    for (long i = 0; i < calls; i++) {
        int m = cprof__unwind(&uc, pcs, CPROF_MAX_FRAMES, hi);
        cprof__samples_add(t, pcs, m, 0, 1);
    }
    double t3 = thread_ns();
    /* Cold: one call at a time, timed by the (vDSO) monotonic clock; the
     * median over the calls, less the cost of reading the clock. */
    static double cold[COLD_CALLS];
    double clock_cost = 0;
    for (int i = 0; i < COLD_CALLS; i++) {
        double a = mono_ns();
        cold[i] = mono_ns() - a;
    }
    qsort(cold, COLD_CALLS, sizeof cold[0], cmp_double);
    clock_cost = cold[COLD_CALLS / 2];
    for (int i = 0; i < COLD_CALLS; i++) {
        evict();
        double a = mono_ns();
        int m = cprof__unwind(&uc, pcs, CPROF_MAX_FRAMES, hi);
        cprof__samples_add(t, pcs, m, 0, 1);
        cold[i] = mono_ns() - a - clock_cost;
    }
    qsort(cold, COLD_CALLS, sizeof cold[0], cmp_double);
    res->cold_ns = cold[COLD_CALLS / 2];
    if (cprof__samples_total(t) != 2 * (uint64_t)calls + COLD_CALLS || cprof__samples_lost(t)) {
        fprintf(stderr, "bench_sample: the table lost samples\n");
        exit(1);
    }
    cprof__samples_free(t);
    res->unwind_ns = (t1 - t0) / (double)calls;
    res->add_ns = (t2 - t1) / (double)calls;
    res->sample_ns = (t3 - t2) / (double)calls;
}

/* The statement after the call keeps it from being a tail call. */
NOINLINE static int recurse(int depth, struct result *res)
{
    if (depth <= 1) {
        measure(res);
        return 0;
    }
    int r = recurse(depth - 1, res);
    __asm__ volatile("" : "+r"(r));
    return r + 1;
}

static volatile sig_atomic_t handled;

static void empty_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    handled++;
}

static double signal_cost(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = empty_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) < 0) {
        perror("sigaction");
        exit(1);
    }
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    long n = calls / 4;
    double t0 = thread_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_tgkill, pid, tid, SIGPROF);
    double t1 = thread_ns();
    if (handled != n) {
        fprintf(stderr, "bench_sample: %ld signals sent, %d handled\n", n, (int)handled);
        exit(1);
    }
    signal(SIGPROF, SIG_DFL);
    return (t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        char *end;
        errno = 0;
        calls = strtol(argv[1], &end, 10);
        if (errno || *end || calls < 1) {
            fprintf(stderr, "bench_sample: bad call count %s\n", argv[1]);
            return 2;
        }
    }
    evict_init();
    if (cprof__unwind_refresh() < 0) {
        fprintf(stderr, "bench_sample: cprof__unwind_refresh failed\n");
        return 1;
    }
    int default_depths[] = {10, 30};
    int ndepths = argc > 2 ? argc - 2 : 2;
    for (int i = 0; i < ndepths; i++) {
        int depth = argc > 2 ? atoi(argv[2 + i]) : default_depths[i];
        if (depth < 1 || depth > 100) {
            fprintf(stderr, "bench_sample: depth %d out of range (1..100)\n", depth);
            return 2;
        }
        struct result res;
        recurse(depth, &res);
        printf("depth=%d frames=%d unwind_ns=%.1f add_ns=%.1f sample_ns=%.1f cold_sample_ns=%.1f\n",
               depth, res.frames, res.unwind_ns, res.add_ns, res.sample_ns, res.cold_ns);
    }
    printf("signal_ns=%.1f\n", signal_cost());
    return 0;
}
