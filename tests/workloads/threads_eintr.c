/*
 * threads_eintr: threads that sit in blocking system calls which a signal
 * would interrupt with EINTR whatever SA_RESTART says (poll, epoll_wait,
 * nanosleep), and one in read of a pipe, while main takes thread dumps in a
 * loop (and, under `cprof run -wallprofile`, the wall-clock profiler samples
 * every thread). cprof must take their stacks without signalling them: a
 * call that returns EINTR is a change in the program's behaviour, and this
 * program exits 1 when it sees one.
 *
 *   threads_eintr DIR [-seconds=S] [-slice_ms=M]
 *
 * Each thread makes its call with a timeout of M ms, over and over until S
 * seconds have passed (M = 0: one call for the whole run, S + 1 seconds, so
 * that the thread never wakes while cprof looks at it). The reader blocks
 * until main writes its pipe, once per slice (or once at the end). A busy
 * thread keeps some signal-taken stacks in every dump. Dumps go to
 * DIR/dump.txt and DIR/dump.pb.gz (overwritten).
 *
 * Prints calls=N (blocking calls made), eintr=K, dumps=D.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static int64_t deadline_ns, slice_ns;
static atomic_long calls, eintr, other_errors;
static atomic_int stop;
static int quiet_pipe[2], read_pipe[2];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The timeout of the next call: a slice, or what is left of the run + 1 s. */
static int64_t next_timeout_ns(void)
{
    return slice_ns ? slice_ns : deadline_ns + 1000000000 - now_ns();
}

static void outcome(const char *what, int rc)
{
    atomic_fetch_add(&calls, 1);
    if (rc < 0 && errno == EINTR) {
        atomic_fetch_add(&eintr, 1);
        fprintf(stderr, "threads_eintr: %s returned EINTR\n", what);
    } else if (rc < 0) {
        atomic_fetch_add(&other_errors, 1);
        fprintf(stderr, "threads_eintr: %s: %s\n", what, strerror(errno));
    }
}

NOIPA static void sit_in_poll(void)
{
    struct pollfd p = {quiet_pipe[0], POLLIN, 0};
    while (now_ns() < deadline_ns)
        outcome("poll", poll(&p, 1, (int)(next_timeout_ns() / 1000000)));
}

NOIPA static void sit_in_epoll(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN}, got;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, quiet_pipe[0], &ev) < 0) {
        outcome("epoll setup", -1);
        return;
    }
    while (now_ns() < deadline_ns)
        outcome("epoll_wait", epoll_wait(ep, &got, 1, (int)(next_timeout_ns() / 1000000)));
    close(ep);
}

NOIPA static void sit_in_nanosleep(void)
{
    while (now_ns() < deadline_ns) {
        int64_t ns = next_timeout_ns();
        struct timespec ts = {ns / 1000000000, ns % 1000000000};
        outcome("nanosleep", nanosleep(&ts, NULL));
    }
}

NOIPA static void sit_in_read(void)
{
    char c;
    for (;;) {
        ssize_t n = read(read_pipe[0], &c, 1);
        outcome("read", n < 0 ? -1 : 0);
        if (n <= 0 || c == 'q')
            return;
    }
}

NOIPA static void spin(void)
{
    uint64_t h = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        for (int i = 0; i < 1000; i++) {
            h = h * 6364136223846793005ULL + 1;
            __asm__ volatile("" : "+r"(h));
        }
}

struct role {
    const char *name;
    void (*fn)(void);
};

static void *role_main(void *arg)
{
    const struct role *r = arg;
    pthread_setname_np(pthread_self(), r->name);
    r->fn();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: threads_eintr DIR [-seconds=S] [-slice_ms=M]\n");
        return 2;
    }
    long seconds = 3, slice_ms = 0;
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "-seconds=", 9))
            seconds = atol(argv[i] + 9);
        else if (!strncmp(argv[i], "-slice_ms=", 10))
            slice_ms = atol(argv[i] + 10);
    }
    if (pipe(quiet_pipe) || pipe(read_pipe)) {
        perror("threads_eintr: pipe");
        return 2;
    }
    slice_ns = slice_ms * 1000000;
    deadline_ns = now_ns() + seconds * 1000000000;
    static const struct role roles[] = {
        {"in-poll", sit_in_poll},
        {"in-epoll", sit_in_epoll},
        {"in-sleep", sit_in_nanosleep},
        {"in-read", sit_in_read},
        {"busy", spin},
    };
    enum { NROLES = sizeof roles / sizeof roles[0] };
    pthread_t t[NROLES];
    for (int i = 0; i < NROLES; i++)
        if (pthread_create(&t[i], NULL, role_main, (void *)&roles[i]) != 0) {
            fprintf(stderr, "threads_eintr: pthread_create failed\n");
            return 2;
        }
    char txt[4096], pb[4096];
    snprintf(txt, sizeof txt, "%s/dump.txt", argv[1]);
    snprintf(pb, sizeof pb, "%s/dump.pb.gz", argv[1]);
    long dumps = 0;
    int64_t next_feed = now_ns() + slice_ns;
    while (now_ns() < deadline_ns) {
        if (cprof_threads_write(txt, dumps % 2 ? 1 : 2) != 0 || cprof_threads_write(pb, 0) != 0) {
            fprintf(stderr, "threads_eintr: cprof_threads_write: %s\n", cprof_last_error());
            return 1;
        }
        dumps++;
        if (slice_ns && now_ns() >= next_feed) {
            if (write(read_pipe[1], "x", 1) != 1)
                perror("threads_eintr: write");
            next_feed = now_ns() + slice_ns;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    if (write(read_pipe[1], "q", 1) != 1)
        perror("threads_eintr: write");
    atomic_store(&stop, 1);
    for (int i = 0; i < NROLES; i++)
        pthread_join(t[i], NULL);
    printf("calls=%ld\neintr=%ld\ndumps=%ld\n", atomic_load(&calls), atomic_load(&eintr), dumps);
    return atomic_load(&eintr) || atomic_load(&other_errors) ? 1 : 0;
}
