/*
 * main.c: filesearch, the demo server of cprof's workshop (see README.md).
 * Flags, signals, and the server's lifetime: start profiling if asked, serve
 * until SIGINT or SIGTERM, then stop the server, write the profile, exit 0.
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cprof.h>

#include "flags.h"
#include "http.h"
#include "search.h"

static const char *prog = "filesearch";

static sem_t stop_sem;
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    sem_post(&stop_sem); /* async-signal-safe */
}

/* The first SIGINT or SIGTERM asks for a clean stop; main() then puts the
 * default action back, so a second one ends the process at once. */
static void catch_stop_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up is an error on that socket, not a signal */
}

static int wait_for_stop_signal(void)
{
    while (sem_wait(&stop_sem) != 0 && errno == EINTR)
        continue;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return stop_signal;
}

/* The slow search opens as many files at once as it starts threads; let it
 * have every descriptor the hard limit allows. */
static void raise_open_file_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void usage(FILE *out, const struct flag *flags, size_t nflags)
{
    fprintf(out,
            "usage: %s [flags]\n\n"
            "An HTTP server on 127.0.0.1 that searches C sources like grep -rnE:\n"
            "  POST /search {\"pattern\": \"ERE\", \"paths\": [\"dir\"], \"max_results\": 100}\n"
            "  GET  /health\n"
            "It has performance problems planted on purpose; -fixed removes them,\n"
            "-fix=threads,regex,lines,lock some of them (the pool, threads, first).\n\n"
            "flags:\n",
            prog);
    flags_print_usage(out, flags, nflags);
}

int main(int argc, char **argv)
{
    long port = 8080;
    bool fixed = false;
    const char *fix = "";
    const char *cpuprofile = NULL, *memprofile = NULL, *tracefile = NULL;
    const struct flag flags[] = {
        {"port", FLAG_INT, &port, "N", "port to listen on, on 127.0.0.1 (0: any free port)", 0,
         65535},
        {"fixed", FLAG_BOOL, &fixed, NULL, "use the search with every planted problem fixed", 0, 0},
        {"fix", FLAG_STRING, &fix, "LIST",
         "fix only these problems: threads, then any of regex, lines, lock", 0, 0},
        {"cpuprofile", FLAG_STRING, &cpuprofile, "FILE",
         "write a CPU profile (pprof) to FILE on SIGINT/SIGTERM", 0, 0},
        {"memprofile", FLAG_STRING, &memprofile, "FILE",
         "write a heap profile to FILE at shutdown (SIGINT/SIGTERM)", 0, 0},
        {"trace", FLAG_STRING, &tracefile, "FILE",
         "write an execution trace to FILE at shutdown (read it with cprof trace)", 0, 0},
    };
    const size_t nflags = sizeof flags / sizeof flags[0];

    switch (flags_parse(prog, flags, nflags, argc, argv)) {
    case FLAGS_OK:
        break;
    case FLAGS_HELP:
        usage(stdout, flags, nflags);
        return 0;
    case FLAGS_BAD:
        return 2;
    }

    struct search_fixes fixes;
    char fix_err[160];
    if (!search_fixes_parse(fixed ? "all" : fix, &fixes, fix_err, sizeof fix_err)) {
        fprintf(stderr, "%s: -fix=%s: %s\n", prog, fix, fix_err);
        return 2;
    }
    if (fixed && *fix) {
        fprintf(stderr, "%s: -fixed and -fix=%s: -fixed already fixes everything\n", prog, fix);
        return 2;
    }

    raise_open_file_limit();
    sem_init(&stop_sem, 0, 0);
    catch_stop_signals();

    if (memprofile && cprof_heap_set_rate(512 * 1024) != 0) {
        fprintf(stderr, "%s: -memprofile: %s\n", prog, cprof_last_error());
        return 1;
    }
    if (tracefile && cprof_trace_start(tracefile) != 0) {
        fprintf(stderr, "%s: -trace: %s\n", prog, cprof_last_error());
        return 1;
    }
    if (cpuprofile && cprof_cpu_start(cpuprofile, 0) != 0) {
        fprintf(stderr, "%s: -cpuprofile: %s\n", prog, cprof_last_error());
        return 1;
    }

    struct search_engine *engine = search_engine_new(&fixes);
    if (engine == NULL) {
        fprintf(stderr, "%s: cannot start the search: %s\n", prog, strerror(errno));
        return 1;
    }
    char err[256];
    struct http_server *server = http_server_start((uint16_t)port, engine, err, sizeof err);
    if (server == NULL) {
        fprintf(stderr, "%s: -port=%ld: %s\n", prog, port, err);
        search_engine_free(engine);
        return 1;
    }
    fprintf(stderr, "%s: %s search, listening on http://127.0.0.1:%u/\n", prog,
            search_engine_name(engine), http_server_port(server));

    int sig = wait_for_stop_signal();
    fprintf(stderr, "%s: %s, shutting down\n", prog, strsignal(sig));
    http_server_stop(server);
    search_engine_free(engine);

    if (cpuprofile) {
        if (cprof_cpu_stop() != 0) {
            fprintf(stderr, "%s: -cpuprofile: %s\n", prog, cprof_last_error());
            return 1;
        }
        fprintf(stderr, "%s: CPU profile written to %s\n", prog, cpuprofile);
    }
    if (tracefile) {
        if (cprof_trace_stop() != 0) {
            fprintf(stderr, "%s: -trace: %s\n", prog, cprof_last_error());
            return 1;
        }
        fprintf(stderr, "%s: trace written to %s\n", prog, tracefile);
    }
    if (memprofile) {
        if (cprof_heap_write(memprofile) != 0) {
            fprintf(stderr, "%s: -memprofile: %s\n", prog, cprof_last_error());
            return 1;
        }
        fprintf(stderr, "%s: heap profile written to %s\n", prog, memprofile);
    }
    return 0;
}
