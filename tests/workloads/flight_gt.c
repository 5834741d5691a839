/*
 * flight_gt: the flight recorder's test programs. Linked with libcprof; each
 * mode drives the recorder (cprof_flight_*) through one scenario and prints
 * what it did, one "key value" a line, for tests/test-flight-*.sh to
 * compare with the snapshot files (read by flight_check and `cprof trace`).
 *
 *   flight_gt history DIR          4 workers write regions and logs for 3 s
 *                                  (min_age 2 s, 64 MiB); then a slow region
 *                                  on main fires a trigger: DIR/history.cpt
 *   flight_gt flood FILE MiB S on|off
 *                                  2 threads in tight region loops for S s,
 *                                  with the recorder (min_age 60 s, so size
 *                                  binds) or without; VmRSS sampled, and its
 *                                  peak (VmHWM) while recording and while a
 *                                  snapshot goes to FILE (the threads still
 *                                  running)
 *   flight_gt many DIR             8 threads write; 20 snapshots meanwhile
 *   flight_gt storm DIR            4 threads, slow regions for 2.5 s, a
 *                                  trigger with min_age 1 s: files counted
 *   flight_gt threshold DIR        regions of 60 ms under a 100 ms trigger
 *                                  (no file), one of 150 ms, a task of 150 ms
 *                                  ended on another thread (a file each)
 *   flight_gt fork DIR             a thread forks in a loop while main takes
 *                                  snapshots; some children run a recorder
 *   flight_gt gap DIR              a thread logs 0, 1, 2, ... (category "seq")
 *                                  without pause; 10 snapshots meanwhile:
 *                                  each must hold an unbroken run up to its end
 *   flight_gt bad DIR              bad arguments and racing snapshots
 *   flight_gt plugin DIR LIB_A LIB_B
 *                                  a wait inside LIB_A, a snapshot; LIB_A
 *                                  unloaded, LIB_B loaded (at the same
 *                                  address, usually) and the same; prints
 *                                  where each was loaded
 *   flight_gt serve SECONDS STOPFILE
 *                                  threads writing regions until STOPFILE
 *                                  exists; the recorder comes from cprof run
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

#define MIB (1024 * 1024)

static _Atomic int stop;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void spin_us(long us)
{
    uint64_t until = now_ns() + (uint64_t)us * 1000;
    while (now_ns() < until)
        ;
}

static int tid(void)
{
    return (int)syscall(SYS_gettid);
}

static void die(const char *what)
{
    fprintf(stderr, "flight_gt: %s: %s\n", what, cprof_last_error());
    exit(1);
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

/* VmRSS of this process, KiB. */
static long rss_kib(void)
{
    return status_kib("VmRSS:");
}

/* The peak VmRSS since the last reset_peak (or -1 where the kernel cannot
 * reset it): catches what sampling between two reads would miss. */
static int peak_ok = 1;
static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "we");
    if (!f || fputs("5", f) < 0)
        peak_ok = 0;
    if (f && fclose(f) != 0)
        peak_ok = 0;
}

static long peak_kib(void)
{
    return peak_ok ? status_kib("VmHWM:") : -1;
}

static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && len > 4 &&
            !strcmp(e->d_name + len - 4, ".cpt"))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* count_files, polled until it reaches `want` or `ms` have passed: the
 * writer thread writes a triggered snapshot at its next tick, which a loaded
 * machine can delay by hundreds of milliseconds (a fixed 300 ms wait once
 * missed one). */
static int wait_for_files(const char *dir, const char *prefix, int want, int ms)
{
    int n = count_files(dir, prefix);
    for (int i = 0; i < ms / 10 && n < want; i++) {
        sleep_us(10000);
        n = count_files(dir, prefix);
    }
    return n;
}

static int wait_for_file(const char *path, int ms)
{
    struct stat st;
    for (int i = 0; i < ms / 10; i++) {
        if (stat(path, &st) == 0)
            return 0;
        sleep_us(10000);
    }
    return -1;
}

/* ---- A worker that writes regions and logs at a moderate rate ------------------------ */

struct worker {
    pthread_t thread;
    int index, tid;
    long pause_us;
    uint64_t iterations;
};

static void *steady_worker(void *arg)
{
    struct worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", w->index);
    pthread_setname_np(pthread_self(), name);
    w->tid = tid();
    while (!atomic_load(&stop)) {
        cprof_task_t task = cprof_task_begin(0, "job");
        cprof_region_t r = cprof_region_begin(task, "work");
        spin_us(20);
        cprof_log(task, "progress", "worker %d iteration %llu", w->index,
                  (unsigned long long)w->iterations);
        cprof_region_end(r);
        cprof_task_end(task);
        w->iterations++;
        sleep_us(w->pause_us);
    }
    return NULL;
}

static void start_workers(struct worker *w, int n, long pause_us)
{
    atomic_store(&stop, 0);
    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){.index = i + 1, .pause_us = pause_us};
        if (pthread_create(&w[i].thread, NULL, steady_worker, &w[i]) != 0) {
            fprintf(stderr, "flight_gt: pthread_create failed\n");
            exit(1);
        }
    }
}

static uint64_t stop_workers(struct worker *w, int n)
{
    uint64_t total = 0;
    atomic_store(&stop, 1);
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].thread, NULL);
        total += w[i].iterations;
    }
    return total;
}

/* ---- history ------------------------------------------------------------------------- */

static int mode_history(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/history.cpt", dir);
    if (cprof_flight_start(2000, 64 * MIB) != 0)
        die("cprof_flight_start");
    if (cprof_flight_trigger("slow", 50 * 1000000ULL, path) != 0)
        die("cprof_flight_trigger");
    struct worker w[4];
    uint64_t t0 = now_ns();
    start_workers(w, 4, 200);
    sleep_us(3000000);
    cprof_region_t slow = cprof_region_begin(0, "slow");
    uint64_t slow_began = now_ns();
    sleep_us(100000);
    cprof_region_end(slow);
    uint64_t slow_ns = now_ns() - slow_began;
    int written = wait_for_file(path, 10000) == 0;
    uint64_t iterations = stop_workers(w, 4);
    cprof_flight_stop();
    printf("main_tid %d\n", tid());
    for (int i = 0; i < 4; i++)
        printf("worker_tid %d\n", w[i].tid);
    printf("ran_ms %.0f\nslow_ms %.1f\niterations %llu\nwritten %d\n",
           (double)(now_ns() - t0) / 1e6, (double)slow_ns / 1e6, (unsigned long long)iterations,
           written);
    return written ? 0 : 1;
}

/* ---- flood --------------------------------------------------------------------------- */

static _Atomic uint64_t flood_iterations;

static void *flood_thread(void *arg)
{
    (void)arg;
    uint64_t n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int i = 0; i < 256; i++) {
            cprof_region_t r = cprof_region_begin(0, "tight");
            cprof_region_end(r);
        }
        n += 256;
    }
    atomic_fetch_add(&flood_iterations, n);
    return NULL;
}

static int mode_flood(const char *file, long mib, double seconds, int on)
{
    long rss_start = rss_kib();
    if (on && cprof_flight_start(60000, (size_t)mib * MIB) != 0)
        die("cprof_flight_start");
    long rss_started = rss_kib();
    reset_peak();
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, flood_thread, NULL);
    uint64_t t0 = now_ns();
    long rss_max = 0, rss_1s = 0;
    while (now_ns() - t0 < (uint64_t)(seconds * 1e9)) {
        sleep_us(50000);
        long r = rss_kib();
        if (r > rss_max)
            rss_max = r;
        if (!rss_1s && now_ns() - t0 >= 1000000000)
            rss_1s = r;
    }
    /* The ring full, the threads still writing: the peak so far, then the
     * peak while the snapshot is written (the threads still writing). */
    long rss_full = rss_kib();
    long peak_recording = peak_kib();
    reset_peak();
    int rc = 0;
    if (on) {
        rc = cprof_flight_write(file);
        if (rc != 0)
            fprintf(stderr, "flight_gt: cprof_flight_write: %s\n", cprof_last_error());
    }
    long peak_write = peak_kib();
    long rss_after_write = rss_kib();
    if (rss_after_write > rss_max)
        rss_max = rss_after_write;
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (on)
        cprof_flight_stop();
    printf("iterations %llu\nrss_start_kib %ld\nrss_started_kib %ld\nrss_1s_kib %ld\n"
           "rss_max_kib %ld\nrss_full_kib %ld\nrss_after_write_kib %ld\n"
           "peak_recording_kib %ld\npeak_write_kib %ld\nwrite_rc %d\n",
           (unsigned long long)atomic_load(&flood_iterations), rss_start, rss_started, rss_1s,
           rss_max, rss_full, rss_after_write, peak_recording, peak_write, rc);
    return rc == 0 ? 0 : 1;
}

/* ---- many ---------------------------------------------------------------------------- */

/* Writes DIR/PREFIX-00.cpt ... n snapshots, pause_us apart; how many were written. */
static int write_snapshots(const char *dir, const char *prefix, int n, long pause_us)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s-%02d.cpt", dir, prefix, i);
        if (cprof_flight_write(path) == 0)
            ok++;
        else
            fprintf(stderr, "flight_gt: snapshot %d: %s\n", i, cprof_last_error());
        sleep_us(pause_us);
    }
    return ok;
}

static int mode_many(const char *dir)
{
    if (cprof_flight_start(1000, 8 * MIB) != 0)
        die("cprof_flight_start");
    struct worker w[8];
    start_workers(w, 8, 50);
    sleep_us(300000);
    int ok = write_snapshots(dir, "many", 20, 20000);
    uint64_t iterations = stop_workers(w, 8);
    cprof_flight_stop();
    printf("snapshots_ok %d\niterations %llu\n", ok, (unsigned long long)iterations);
    return ok == 20 ? 0 : 1;
}

/* ---- gap ------------------------------------------------------------------------------ */

static _Atomic int seq_stop;

/* Logs its count, as fast as it can (a pause every 256 logs keeps the pool
 * from running dry: a lost event would be a hole of another kind). */
static void *seq_thread(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; !atomic_load(&seq_stop); i++) {
        cprof_log(0, "seq", "%llu", (unsigned long long)i);
        if (i % 256 == 255)
            sleep_us(100);
    }
    return NULL;
}

static int mode_gap(const char *dir)
{
    if (cprof_flight_start(2000, 64 * MIB) != 0)
        die("cprof_flight_start");
    pthread_t t;
    if (pthread_create(&t, NULL, seq_thread, NULL) != 0)
        die("pthread_create");
    sleep_us(300000);
    int ok = write_snapshots(dir, "gap", 10, 37000);
    atomic_store(&seq_stop, 1);
    pthread_join(t, NULL);
    cprof_flight_stop();
    printf("snapshots_ok %d\n", ok);
    return ok == 10 ? 0 : 1;
}

/* ---- storm --------------------------------------------------------------------------- */

#define STORM_MS 2500

static _Atomic uint64_t storm_start_ns;
static _Atomic long slow_regions;

static void *storm_thread(void *arg)
{
    (void)arg;
    while (now_ns() - atomic_load(&storm_start_ns) < STORM_MS * 1000000ULL) {
        cprof_region_t r = cprof_region_begin(0, "slow");
        sleep_us(2000);
        cprof_region_end(r);
        atomic_fetch_add(&slow_regions, 1);
    }
    return NULL;
}

static int mode_storm(const char *dir)
{
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/storm-%%t.cpt", dir);
    if (cprof_flight_start(1000, 16 * MIB) != 0)
        die("cprof_flight_start");
    if (cprof_flight_trigger("slow", 1000000, pattern) != 0)
        die("cprof_flight_trigger");
    atomic_store(&storm_start_ns, now_ns());
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, storm_thread, NULL);
    /* The first file comes ~2 ms in (the first slow region's end) plus a
     * writer tick; the second may not come before 1 s after the first. */
    sleep_us(950000);
    int at_950 = count_files(dir, "storm-");
    long regions_950 = atomic_load(&slow_regions);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    sleep_us(300000); /* the writer's next ticks: a request still pending */
    int at_end = count_files(dir, "storm-");
    cprof_flight_stop();
    printf("storm_ms %d\nslow_regions %ld\nslow_regions_950ms %ld\nfiles_950ms %d\n"
           "files_end %d\n",
           STORM_MS, atomic_load(&slow_regions), regions_950, at_950, at_end);
    return 0;
}

/* ---- threshold ---------------------------------------------------------------------- */

static void *end_task_later(void *arg)
{
    sleep_us(150000);
    cprof_task_end(*(cprof_task_t *)arg);
    return NULL;
}

static int mode_threshold(const char *dir)
{
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/threshold-%%t.cpt", dir);
    /* min_age 100 ms: every trigger 150 ms apart writes a file of its own. */
    if (cprof_flight_start(100, 8 * MIB) != 0)
        die("cprof_flight_start");
    if (cprof_flight_trigger("slow", 100 * 1000000ULL, pattern) != 0 ||
        cprof_flight_trigger("slowtask", 100 * 1000000ULL, pattern) != 0)
        die("cprof_flight_trigger");
    double longest_under = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t t = now_ns();
        cprof_region_t r = cprof_region_begin(0, "slow");
        sleep_us(60000);
        cprof_region_end(r);
        double ms = (double)(now_ns() - t) / 1e6;
        if (ms > longest_under)
            longest_under = ms;
        sleep_us(150000);
    }
    sleep_us(200000);
    int under = count_files(dir, "threshold-");
    uint64_t t = now_ns();
    cprof_region_t r = cprof_region_begin(0, "slow");
    sleep_us(150000);
    cprof_region_end(r);
    double over_ms = (double)(now_ns() - t) / 1e6;
    int over = wait_for_files(dir, "threshold-", under + 1, 10000);
    sleep_us(300000); /* and no second file for the same region */
    over = count_files(dir, "threshold-");
    /* A task begun here and ended on another thread 150 ms later. */
    t = now_ns();
    cprof_task_t task = cprof_task_begin(0, "slowtask");
    pthread_t th;
    pthread_create(&th, NULL, end_task_later, &task);
    pthread_join(th, NULL);
    double task_ms = (double)(now_ns() - t) / 1e6;
    int with_task = wait_for_files(dir, "threshold-", over + 1, 10000);
    cprof_flight_stop();
    printf("under_ms %.1f\nfiles_under %d\nover_ms %.1f\nfiles_over %d\ntask_ms %.1f\n"
           "files_task %d\n",
           longest_under, under, over_ms, over, task_ms, with_task);
    return 0;
}

/* ---- fork ---------------------------------------------------------------------------- */

static _Atomic int forks_done, parent_snapshots;
static int forks, children_ok, children_bad, child_recorders;
static char fork_dir[4096];

static void child(int n)
{
    /* The recorder does not survive fork; the child may start its own. */
    void *p = malloc(1000);
    free(p);
    cprof_region_t r = cprof_region_begin(0, "child");
    cprof_region_end(r);
    if (n % 5 == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/child-%d.cpt", fork_dir, (int)getpid());
        if (cprof_flight_start(500, MIB) != 0)
            exit(3);
        for (int i = 0; i < 100; i++) {
            cprof_region_t c = cprof_region_begin(0, "child-work");
            cprof_region_end(c);
        }
        if (cprof_flight_write(path) != 0)
            exit(4);
        cprof_flight_stop();
    }
    exit(42);
}

static void *forker(void *arg)
{
    (void)arg;
    uint64_t t0 = now_ns();
    /* 3 s and at least 12 of the parent's snapshots (a loaded machine
     * writes fewer in 3 s): what the test counts must not hang on speed. */
    while (now_ns() - t0 < 3000000000ULL || atomic_load(&parent_snapshots) < 12) {
        pid_t pid = fork();
        if (pid == 0)
            child(forks + 1);
        if (pid < 0) {
            children_bad++;
            break;
        }
        forks++;
        if (forks % 5 == 0)
            child_recorders++;
        int status;
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 42) {
            children_ok++;
        } else {
            children_bad++;
            fprintf(stderr, "flight_gt: child %d: status %#x\n", (int)pid, status);
        }
    }
    atomic_store(&forks_done, 1);
    return NULL;
}

static int mode_fork(const char *dir)
{
    snprintf(fork_dir, sizeof fork_dir, "%s", dir);
    if (cprof_flight_start(1000, 8 * MIB) != 0)
        die("cprof_flight_start");
    struct worker w[2];
    start_workers(w, 2, 100);
    pthread_t f;
    pthread_create(&f, NULL, forker, NULL);
    int snaps = 0, failed = 0;
    while (!atomic_load(&forks_done)) {
        /* Back to back, so that forks land inside snapshots; 16 files
         * reused in turn. */
        char path[4200];
        snprintf(path, sizeof path, "%s/fork-%02d.cpt", dir, (snaps + failed) % 16);
        if (cprof_flight_write(path) == 0)
            atomic_store(&parent_snapshots, ++snaps);
        else
            failed++;
    }
    pthread_join(f, NULL);
    stop_workers(w, 2);
    cprof_flight_stop();
    printf("forks %d\nchildren_ok %d\nchildren_bad %d\nchild_recorders %d\nsnapshots %d\n"
           "snapshot_failures %d\n",
           forks, children_ok, children_bad, child_recorders, snaps, failed);
    return children_bad || failed ? 1 : 0;
}

/* ---- bad ----------------------------------------------------------------------------- */

static int bad_failures;

static void check(const char *what, int ok, const char *detail)
{
    printf("check %s %s%s%s\n", what, ok ? "ok" : "FAIL", detail ? ": " : "", detail ? detail : "");
    if (!ok)
        bad_failures++;
}

struct racer {
    pthread_barrier_t *barrier;
    char path[4200];
    int rc;
    char error[512];
};

static void *racer(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->barrier);
    r->rc = cprof_flight_write(r->path);
    snprintf(r->error, sizeof r->error, "%s", r->rc ? cprof_last_error() : "");
    return NULL;
}

static int mode_bad(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/bad.cpt", dir);
    int rc = cprof_flight_write(path);
    check("write-before-start", rc == -1 && *cprof_last_error(), cprof_last_error());
    rc = cprof_flight_start(1000, 0);
    check("zero-size", rc == -1 && strstr(cprof_last_error(), "max_bytes"), cprof_last_error());
    rc = cprof_flight_start(0, 4 * MIB);
    check("zero-age", rc == -1 && strstr(cprof_last_error(), "min_age"), cprof_last_error());
    rc = cprof_flight_trigger(NULL, 1, path);
    check("trigger-no-name", rc == -1, cprof_last_error());
    rc = cprof_flight_trigger("x", 1, "");
    check("trigger-no-pattern", rc == -1, cprof_last_error());

    if (cprof_flight_start(60000, 32 * MIB) != 0)
        die("cprof_flight_start");
    rc = cprof_flight_start(1000, 4 * MIB);
    check("second-start", rc == -1 && strstr(cprof_last_error(), "already"), cprof_last_error());
    rc = cprof_flight_write("/nonexistent/x");
    check("unwritable-path", rc == -1 && strstr(cprof_last_error(), "/nonexistent/x"),
          cprof_last_error());
    rc = cprof_flight_write("");
    check("empty-path", rc == -1, cprof_last_error());
    rc = cprof_flight_write(NULL);
    check("null-path", rc == -1, cprof_last_error());

    /* Fill the ring (about 32 MiB) so that a snapshot takes a while. */
    pthread_t t[2];
    atomic_store(&stop, 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, flood_thread, NULL);
    sleep_us(1500000);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    sleep_us(100000); /* the writer's last flush into the ring */

    /* Two snapshots released together: one is refused with a clear error,
     * unless the first was done before the second began (both succeed). */
    int refused = 0, both = 0, wrong = 0;
    pthread_barrier_t barrier;
    for (int round = 0; round < 5; round++) {
        pthread_barrier_init(&barrier, NULL, 2);
        struct racer r[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            r[i] = (struct racer){.barrier = &barrier};
            snprintf(r[i].path, sizeof r[i].path, "%s/race-%d.cpt", dir, i);
            pthread_create(&th[i], NULL, racer, &r[i]);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&barrier);
        if (r[0].rc == 0 && r[1].rc == 0) {
            both++;
        } else if (r[0].rc + r[1].rc == -1) {
            const char *e = r[0].rc ? r[0].error : r[1].error;
            if (strstr(e, "already"))
                refused++;
            else
                wrong++;
            printf("race_error %s\n", e);
        } else {
            wrong++;
            printf("race_errors %s | %s\n", r[0].error, r[1].error);
        }
        if (round < 4)
            for (int i = 0; i < 2; i++)
                unlink(r[i].path);
    }
    printf("race_refused %d\nrace_both %d\n", refused, both);
    check("race", wrong == 0, NULL);

    cprof_flight_stop();
    rc = cprof_flight_write(path);
    check("write-after-stop", rc == -1 && strstr(cprof_last_error(), "not running"),
          cprof_last_error());
    return bad_failures ? 1 : 0;
}

/* ---- serve --------------------------------------------------------------------------- */

static int mode_serve(double seconds, const char *stopfile)
{
    struct worker w[3];
    start_workers(w, 3, 500);
    printf("pid %d\n", (int)getpid());
    if (cprof_http_port() > 0)
        printf("port %d\n", cprof_http_port());
    sleep_us(500000);
    printf("ready\n");
    fflush(stdout);
    uint64_t t0 = now_ns();
    struct stat st;
    while (now_ns() - t0 < (uint64_t)(seconds * 1e9) && stat(stopfile, &st) != 0)
        sleep_us(50000);
    uint64_t iterations = stop_workers(w, 3);
    printf("iterations %llu\n", (unsigned long long)iterations);
    return 0;
}

/* ---- plugin --------------------------------------------------------------------------- */

/* Loads `lib`, waits in its function `name`, snapshots into `path`, unloads
 * it; prints the library's load address under `key`. */
static int plugin_round(const char *lib, const char *name, const char *path, const char *key)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "flight_gt: %s\n", dlerror());
        return -1;
    }
    void (*wait)(void) = (void (*)(void))dlsym(h, name);
    Dl_info info;
    if (!wait || !dladdr((void *)wait, &info)) {
        fprintf(stderr, "flight_gt: no %s in %s\n", name, lib);
        dlclose(h);
        return -1;
    }
    printf("%s %p\n", key, info.dli_fbase);
    for (int i = 0; i < 5; i++)
        wait();
    int rc = cprof_flight_write(path);
    if (rc != 0)
        fprintf(stderr, "flight_gt: %s\n", cprof_last_error());
    dlclose(h);
    return rc;
}

static int mode_plugin(const char *dir, const char *lib_a, const char *lib_b)
{
    if (cprof_flight_start(60000, 4 * MIB) != 0)
        die("cprof_flight_start");
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/plugin-a.cpt", dir);
    snprintf(b, sizeof b, "%s/plugin-b.cpt", dir);
    int rc = plugin_round(lib_a, "plugin_wait_a", a, "base_a");
    if (rc == 0)
        rc = plugin_round(lib_b, "plugin_wait_b", b, "base_b");
    cprof_flight_stop();
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "history") && argc == 3)
        return mode_history(argv[2]);
    if (!strcmp(mode, "flood") && argc == 6)
        return mode_flood(argv[2], atol(argv[3]), atof(argv[4]), !strcmp(argv[5], "on"));
    if (!strcmp(mode, "many") && argc == 3)
        return mode_many(argv[2]);
    if (!strcmp(mode, "storm") && argc == 3)
        return mode_storm(argv[2]);
    if (!strcmp(mode, "threshold") && argc == 3)
        return mode_threshold(argv[2]);
    if (!strcmp(mode, "fork") && argc == 3)
        return mode_fork(argv[2]);
    if (!strcmp(mode, "bad") && argc == 3)
        return mode_bad(argv[2]);
    if (!strcmp(mode, "gap") && argc == 3)
        return mode_gap(argv[2]);
    if (!strcmp(mode, "plugin") && argc == 5)
        return mode_plugin(argv[2], argv[3], argv[4]);
    if (!strcmp(mode, "serve") && argc == 4)
        return mode_serve(atof(argv[2]), argv[3]);
    fprintf(stderr,
            "usage: flight_gt history|flood|many|storm|fork|bad|gap|plugin|serve ARGS (see the "
            "source)\n");
    return 2;
}
