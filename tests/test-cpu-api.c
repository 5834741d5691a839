/*
 * test-cpu-api: the linked CPU profiling API (cprof.h), from a program that
 * links libcprof. Run by test-cpu-labels.sh, which checks the profiles it
 * writes with Go's pprof:
 *
 *   test-cpu-api DIR
 *
 * 1. Errors: stop when not running, bad rates, unusable paths, start twice,
 *    too many labels: each returns -1 with cprof_last_error() saying why,
 *    and leaves profiling as it was.
 * 2. DIR/labels.pb.gz at 1000 Hz: two threads labelled worker=w1 and w2,
 *    each alternating phase=a for 3 ms and phase=b for 1 ms of its own CPU
 *    time (phase=b pushed over a phase=a, which it must hide), so the script
 *    expects phase a:b = 3:1 and worker w1:w2 = 1:1.
 * 3. DIR/second.pb.gz: start again after stop, a profile of its own.
 * Exits 0 when every check passed; prints one line per failed check.
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

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf(" [last error: \"%s\"]\n", cprof_last_error());                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* A call that must fail: -1, and a reason in cprof_last_error(). */
#define CHECK_FAILS(call)                                                                          \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        CHECK(rc_ == -1, "%s returned %d, want -1", #call, rc_);                                   \
        CHECK(rc_ != -1 || cprof_last_error()[0] != '\0', "%s: no cprof_last_error()", #call);     \
    } while (0)

static volatile uint64_t sink;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Inlined, so that each caller is on the stack under its own name (a call
 * to a shared spin would be a tail call that leaves the caller out). */
static inline __attribute__((always_inline)) void spin(int64_t ns)
{
    uint64_t h = (uint64_t)ns;
    int64_t end = thread_cpu_ns() + ns;
    while (thread_cpu_ns() < end)
        for (int i = 0; i < 500; i++) {
            h = h * 6364136223846793005ULL + 1;
            __asm__ volatile("" : "+r"(h));
        }
    sink += h;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void *other_thread_error(void *arg)
{
    /* cprof_last_error() is per thread: this thread has not failed. */
    return (void *)(uintptr_t)(cprof_last_error()[0] != '\0');
}

/* A start that must fail; if it wrongly succeeds, profiling is stopped
 * again (its output discarded) so that the checks after it still mean
 * something. */
#define START_FAILS(path, hz)                                                                      \
    do {                                                                                           \
        CHECK_FAILS(cprof_cpu_start(path, hz));                                                    \
        if (cprof_cpu_running())                                                                   \
            cprof_cpu_stop();                                                                      \
    } while (0)

static void check_errors(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/never.pb.gz", dir);

    CHECK(!cprof_cpu_running(), "running before any start");
    CHECK_FAILS(cprof_cpu_stop());
    START_FAILS(path, -1);
    START_FAILS(path, 10001);
    START_FAILS(NULL, 100);
    START_FAILS("", 100);
    START_FAILS("/nonexistent-cprof-dir/cpu.pb.gz", 100);
    /* Root may write anywhere; it cannot make a directory out of a file. */
    START_FAILS("/etc/passwd/cpu.pb.gz", 100);
    /* A directory where the file should go fails at start, not at exit. */
    START_FAILS(dir, 100);
    CHECK(!cprof_cpu_running(), "running after failed starts");
    CHECK(!exists(path), "a failed start created %s", path);

    pthread_t t;
    void *other = NULL;
    pthread_create(&t, NULL, other_thread_error, NULL);
    pthread_join(t, &other);
    CHECK(other == NULL, "another thread sees this thread's last error");

    for (int i = 0; i < 16; i++)
        CHECK(cprof_label_push("depth", "x") == 0, "label push %d of 16 failed", i + 1);
    CHECK_FAILS(cprof_label_push("depth", "x"));
    for (int i = 0; i < 16; i++)
        cprof_label_pop();
    cprof_label_pop(); /* one more than pushed: must do nothing */
    CHECK_FAILS(cprof_label_push(NULL, "x"));
    CHECK_FAILS(cprof_label_push("k", NULL));
}

/* ---- the labelled workload ------------------------------------------------------ */

static long cycles = 250; /* x 4 ms of CPU per thread: 1 s */

__attribute__((noinline)) static void phase_a(void)
{
    spin(3 * 1000 * 1000);
}

__attribute__((noinline)) static void phase_b(void)
{
    spin(1 * 1000 * 1000);
}

static void *labelled(void *arg)
{
    const char *name = arg;
    cprof_label_push("worker", name);
    for (long c = 0; c < cycles; c++) {
        cprof_label_push("phase", "a");
        phase_a();
        cprof_label_pop();
        cprof_label_push("phase", "a");
        cprof_label_push("phase", "b"); /* hides phase=a */
        phase_b();
        cprof_label_pop();
        cprof_label_pop();
    }
    cprof_label_pop();
    return NULL;
}

__attribute__((noinline)) static void second_run(void)
{
    spin(200 * 1000 * 1000);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test-cpu-api DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    char labels_path[4096], second_path[4096];
    snprintf(labels_path, sizeof labels_path, "%s/labels.pb.gz", dir);
    snprintf(second_path, sizeof second_path, "%s/second.pb.gz", dir);
    if (getenv("CPROF_API_CYCLES"))
        cycles = atol(getenv("CPROF_API_CYCLES"));

    check_errors(dir);

    CHECK(cprof_cpu_start(labels_path, 1000) == 0, "start %s", labels_path);
    CHECK(cprof_cpu_running(), "not running after start");
    CHECK_FAILS(cprof_cpu_start(second_path, 1000)); /* already running */
    CHECK(cprof_cpu_running(), "a failed second start stopped profiling");
    pthread_t t1, t2;
    pthread_create(&t1, NULL, labelled, "w1");
    pthread_create(&t2, NULL, labelled, "w2");
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(cprof_cpu_stop() == 0, "stop");
    CHECK(!cprof_cpu_running(), "running after stop");
    CHECK(exists(labels_path), "stop did not write %s", labels_path);
    CHECK_FAILS(cprof_cpu_stop());

    CHECK(cprof_cpu_start(second_path, 100) == 0, "start again %s", second_path);
    second_run();
    CHECK(cprof_cpu_stop() == 0, "second stop");
    CHECK(exists(second_path), "second stop did not write %s", second_path);

    printf("%s: %d failed checks\n", argv[0], failures);
    return failures ? 1 : 0;
}
