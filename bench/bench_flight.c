/*
 * bench_flight: what the flight recorder costs in time to snapshot and in
 * resident memory (scripts/bench-flight.sh runs it and prints Markdown).
 *
 *   bench_flight snapshot MiB ROUNDS DIR
 *       cprof_flight_start(10 min, MiB): the age never binds, the size does.
 *       Fills the ring (2 threads in tight region loops for FILL seconds,
 *       env FILL, default 2), stops them, then times cprof_flight_write
 *       into DIR ROUNDS times (the file is removed after each round).
 *       Prints each time, the median, and the snapshot's size.
 *   bench_flight rss MiB
 *       VmRSS before cprof_flight_start, after it, after filling the ring
 *       (as above, the threads still running), and after one snapshot
 *       (cprof_flight_write into env OUT, default /tmp), with the
 *       snapshot's size, and the peak VmRSS while the snapshot was taken
 *       (VmHWM, reset just before it through /proc/self/clear_refs; -1
 *       where the kernel cannot reset it); then the same peak for a second
 *       snapshot, whose symbols come from the first's (trace.c's cache).
 *
 *   bench_flight event ROUNDS
 *       The recorder's cost per event on the calling thread: thread CPU time
 *       of 100 batches of 1000 region begin/end pairs (a 1 ms pause between
 *       batches, off the clock, so that the writer keeps up and no event is
 *       lost), with the recorder off, on (16 MiB), on with a trigger on the
 *       region's name (never reached); and task begin/end pairs, on with a
 *       trigger on the task's name (tasks go through a table under a lock).
 *       Rounds alternate; prints the median ns per pair.
 *
 * Output: "key value" lines.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cprof.h>

#define MIB (1024 * 1024)

static _Atomic int stop;
static _Atomic unsigned long long regions;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A line of /proc/self/status, KiB ("VmRSS:", or "VmHWM:", the peak). */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kib = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && sscanf(line + n, "%ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static long rss_kib(void)
{
    return status_kib("VmRSS:");
}

/* Resets VmHWM to the current VmRSS (Linux 4.0+); 0, or -1. */
static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "we");
    int ok = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static void *flood(void *arg)
{
    (void)arg;
    unsigned long long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int i = 0; i < 256; i++) {
            cprof_region_t r = cprof_region_begin(0, "fill");
            cprof_region_end(r);
        }
        n += 256;
    }
    atomic_fetch_add(&regions, n);
    return NULL;
}

static pthread_t threads[2];

static void fill_start(void)
{
    atomic_store(&stop, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, flood, NULL);
    const char *fill = getenv("FILL");
    double seconds = fill ? atof(fill) : 2.0;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

static void fill_stop(void)
{
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    struct timespec ts = {0, 100 * 1000000}; /* the writer's last flushes */
    nanosleep(&ts, NULL);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_snapshot(long mib, int rounds, const char *dir)
{
    if (cprof_flight_start(600000, (size_t)mib * MIB) != 0) {
        fprintf(stderr, "bench_flight: %s\n", cprof_last_error());
        return 1;
    }
    fill_start();
    fill_stop();
    double t[64];
    long size = 0;
    if (rounds > 64)
        rounds = 64;
    for (int i = 0; i < rounds; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/bench-flight-%d.cpt", dir, (int)getpid());
        double t0 = now_s();
        if (cprof_flight_write(path) != 0) {
            fprintf(stderr, "bench_flight: %s\n", cprof_last_error());
            return 1;
        }
        t[i] = now_s() - t0;
        size = file_size(path);
        unlink(path);
        printf("round %d %.1f ms\n", i + 1, t[i] * 1e3);
    }
    cprof_flight_stop();
    qsort(t, (size_t)rounds, sizeof t[0], cmp_double);
    printf("max_bytes %ld\nsnapshot_bytes %ld\nregions %llu\nmedian_ms %.1f\nmin_ms %.1f\n"
           "max_ms %.1f\n",
           mib * MIB, size, (unsigned long long)atomic_load(&regions), t[rounds / 2] * 1e3,
           t[0] * 1e3, t[rounds - 1] * 1e3);
    return 0;
}

static int bench_rss(long mib)
{
    const char *dir = getenv("OUT") ? getenv("OUT") : "/tmp";
    long before = rss_kib();
    if (cprof_flight_start(600000, (size_t)mib * MIB) != 0) {
        fprintf(stderr, "bench_flight: %s\n", cprof_last_error());
        return 1;
    }
    long started = rss_kib();
    fill_start();
    long filled = rss_kib();
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-flight-%d.cpt", dir, (int)getpid());
    int peak_ok = reset_peak() == 0;
    int rc = cprof_flight_write(path);
    long written = rss_kib();
    long peak = peak_ok ? status_kib("VmHWM:") : -1;
    long size = file_size(path);
    unlink(path);
    long before_second = rss_kib();
    peak_ok = reset_peak() == 0;
    if (rc == 0)
        rc = cprof_flight_write(path);
    long peak_second = peak_ok ? status_kib("VmHWM:") : -1;
    unlink(path);
    fill_stop();
    cprof_flight_stop();
    if (rc != 0) {
        fprintf(stderr, "bench_flight: %s\n", cprof_last_error());
        return 1;
    }
    printf("max_bytes %ld\nrss_before_kib %ld\nrss_started_kib %ld\nrss_filled_kib %ld\n"
           "rss_after_snapshot_kib %ld\nrss_peak_snapshot_kib %ld\nsnapshot_bytes %ld\n"
           "rss_before_second_kib %ld\nrss_peak_second_snapshot_kib %ld\n",
           mib * MIB, before, started, filled, written, peak, size, before_second, peak_second);
    return 0;
}

static double thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns of thread CPU per pair: 100 batches of 1000 pairs. */
static double pairs_ns(int tasks)
{
    double cpu = 0;
    for (int b = 0; b < 100; b++) {
        double t0 = thread_cpu_ns();
        for (int i = 0; i < 1000; i++) {
            if (tasks) {
                cprof_task_t t = cprof_task_begin(0, "bench-task");
                cprof_task_end(t);
            } else {
                cprof_region_t r = cprof_region_begin(0, "bench-region");
                cprof_region_end(r);
            }
        }
        cpu += thread_cpu_ns() - t0;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    return cpu / 100000;
}

static int bench_event(int rounds)
{
    enum { OFF, ON, TRIGGER, TASK, NCONF };
    static const char *const names[NCONF] = {"region_off", "region_on", "region_on_trigger",
                                             "task_on_trigger"};
    double t[NCONF][64];
    if (rounds > 64)
        rounds = 64;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < NCONF; k++) {
            int c = r % 2 ? NCONF - 1 - k : k;
            if (c != OFF && cprof_flight_start(1000, 16 * MIB) != 0) {
                fprintf(stderr, "bench_flight: %s\n", cprof_last_error());
                return 1;
            }
            if (c == TRIGGER)
                cprof_flight_trigger("bench-region", 3600ULL * 1000000000, "/nonexistent/x");
            if (c == TASK)
                cprof_flight_trigger("bench-task", 3600ULL * 1000000000, "/nonexistent/x");
            t[c][r] = pairs_ns(c == TASK);
            if (c != OFF)
                cprof_flight_stop();
        }
    }
    for (int c = 0; c < NCONF; c++) {
        qsort(t[c], (size_t)rounds, sizeof t[c][0], cmp_double);
        printf("%s_ns %.1f\n", names[c], t[c][rounds / 2]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "snapshot"))
        return bench_snapshot(atol(argv[2]), atoi(argv[3]), argv[4]);
    if (argc == 3 && !strcmp(argv[1], "rss"))
        return bench_rss(atol(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "event"))
        return bench_event(atoi(argv[2]));
    fprintf(stderr, "usage: bench_flight snapshot MiB ROUNDS DIR | rss MiB | event ROUNDS\n");
    return 2;
}
