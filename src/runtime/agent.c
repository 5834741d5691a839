/*
 * agent.c: owns the end of the process and cprof's background thread.
 *
 * At exit (atexit, registered by the constructor, so it runs after the
 * program's own handlers) every profile that is due is written. A process
 * killed by SIGINT or SIGTERM at their default disposition would skip that:
 * the signal handler (signals.c) wakes the background thread through a
 * pipe, because writing profiles allocates and takes locks, which a signal
 * handler may not; the thread writes them and kills the process with the
 * same signal, so its exit status is what it would have been.
 *
 * The same thread keeps the unwind tables in step with dlopen and dlclose.
 * Interposing dlopen would notice sooner, but glibc resolves $ORIGIN and
 * RUNPATH from dlopen's caller, which would become libcprof: polling the
 * loader's counters of added and removed objects changes nothing for the
 * program.
 */
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent.h"
#include "contention.h"
#include "cpu.h"
#include "heap.h"
#include "heap_write.h"
#include "leak.h"
#include "signals.h"
#include "threads.h"
#include "trace.h"
#include "sync.h"
#include "threads.h"
#include "unwind.h"
#include "wall.h"

static int wake_pipe[2] = {-1, -1};
static _Atomic int leak_check_on;
static char leak_suppressions[4096];
static _Atomic int dying;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started;

void cprof__agent_set_leak_check(const char *suppressions)
{
    snprintf(leak_suppressions, sizeof leak_suppressions, "%s", suppressions ? suppressions : "");
    atomic_store(&leak_check_on, 1);
}

void cprof__flush_all(void)
{
    cprof__heap_enter_internal(); /* what writing allocates is cprof's */
    cprof__cpu_flush();
    cprof__heap_flush();
    cprof__contention_flush();
    cprof__wall_flush();
    cprof__trace_flush();
    if (atomic_exchange(&leak_check_on, 0) && cprof__leak_check(leak_suppressions) > 0) {
        /* LeakSanitizer's convention: exit status 23 when something leaked.
         * Streams are flushed first: _exit skips the rest of exit(). */
        fflush(NULL);
        _exit(23);
    }
    cprof__heap_leave_internal();
}

/* async-signal-safe: write(2) to a pipe; if that fails, die at once. */
static void on_fatal(int sig)
{
    unsigned char b = (unsigned char)sig;
    if (atomic_exchange(&dying, 1) || wake_pipe[1] < 0 || write(wake_pipe[1], &b, 1) != 1)
        cprof__signals_die(sig); /* a second signal, or no thread to write: die now */
}

/* Reads the loader's counters of objects ever added and removed. */
static int count_objects(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *counts = arg;
    counts[0] = info->dlpi_adds;
    counts[1] = info->dlpi_subs;
    (void)size;
    return 1; /* the first object carries the counters: stop there */
}

static void *agent_main(void *unused)
{
    (void)unused;
    unsigned long long seen[2] = {0, 0};
    for (;;) {
        struct pollfd p = {wake_pipe[0], POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r == 0) {
            unsigned long long now[2] = {0, 0};
            dl_iterate_phdr(count_objects, now);
            if (now[0] != seen[0] || now[1] != seen[1]) {
                seen[0] = now[0];
                seen[1] = now[1];
                cprof__unwind_refresh();
            }
            continue;
        }
        unsigned char sig;
        if (r < 0 || read(wake_pipe[0], &sig, 1) != 1)
            continue;
        cprof__flush_all();
        cprof__signals_die(sig);
    }
    return NULL;
}

int cprof__agent_started(void)
{
    pthread_mutex_lock(&start_lock);
    int s = started;
    pthread_mutex_unlock(&start_lock);
    return s;
}

void cprof__agent_start(void)
{
    pthread_mutex_lock(&start_lock);
    if (!started && pipe2(wake_pipe, O_CLOEXEC) == 0) {
        pthread_t t;
        cprof__heap_enter_internal(); /* its stack and TLS are cprof's, not the program's */
        int err = cprof__thread_create_internal(&t, agent_main, NULL);
        cprof__heap_leave_internal();
        if (err == 0) {
            pthread_detach(t);
            started = 1;
        } else {
            close(wake_pipe[0]);
            close(wake_pipe[1]);
            wake_pipe[0] = wake_pipe[1] = -1;
        }
    }
    pthread_mutex_unlock(&start_lock);
    cprof__signals_watch_fatal(on_fatal);
    /* With any profile on, threads are worth knowing about: what they wait
     * on (thread dumps, wall-clock profile) and where they were created. */
    cprof__sync_consumer(CPROF_SYNC_STATE, 1);
    cprof__threads_track_creation();
}

/* The background thread does not survive fork: the child starts its own
 * when one of its profilers starts. */
static void atfork_child(void)
{
    /* A forked child exits on its own schedule, and its exit status is the
     * program's business: no leak check there (it would make it 23). */
    atomic_store(&leak_check_on, 0);
    if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
    }
    wake_pipe[0] = wake_pipe[1] = -1;
    started = 0;
    atomic_store(&dying, 0);
    pthread_mutex_init(&start_lock, NULL);
}

static void at_exit(void)
{
    cprof__flush_all();
}

void cprof__agent_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
    atexit(at_exit);
}
