/*
 * settings.c: owns the environment interface of the preloaded agent.
 *
 *   CPROF_CPUPROFILE=FILE   write a CPU profile of the whole run to FILE
 *   CPROF_CPURATE=HZ        samples per CPU-second per thread (default 100)
 *   CPROF_CPU_ENGINE=perf|timer   force a sampling engine (default: perf,
 *                           falling back to timer where perf is refused);
 *                           timer also keeps stackask.c from using perf
 *   CPROF_MEMPROFILE=FILE   write a heap profile to FILE at exit
 *   CPROF_MEMPROFILERATE=N  mean bytes between heap samples (default 524288;
 *                           1 = every allocation)
 *   CPROF_MEMPEAK=FILE      write the in-use heap profile of the moment the heap
 *                           was largest to FILE at exit
 *   CPROF_MUTEXPROFILE=FILE write a mutex profile to FILE at exit
 *   CPROF_MUTEXPROFILEFRACTION=N  record 1 in N contended mutex waits (default 1)
 *   CPROF_BLOCKPROFILE=FILE write a block profile to FILE at exit
 *   CPROF_BLOCKPROFILERATE=NS     record waits of NS and longer, shorter ones in
 *                           proportion (default 1: every wait)
 *   CPROF_WALLPROFILE=FILE  write a wall-clock profile of the whole run to FILE
 *   CPROF_WALLRATE=HZ       wall-clock samples per second per thread (default 100)
 *   CPROF_HTTP=HOST:PORT    serve /debug/pprof/ there (loopback unless
 *                           CPROF_HTTP_ALLOW_REMOTE=1; CPROF_HTTP_TOKEN,
 *                           CPROF_HTTP_MAX_SECONDS: see http.c)
 *   CPROF_TRACE=FILE        write an execution trace of the whole run to FILE
 *   CPROF_PUSH_URL=URL      push a CPU and a heap profile every interval to a
 *                           Grafana Pyroscope server at URL (push.c), with
 *                           CPROF_PUSH_INTERVAL=DURATION (default 15s),
 *                           CPROF_APP_NAME=NAME (default: the program's name),
 *                           CPROF_PUSH_LABELS=k=v,...
 *   CPROF_FLIGHTRECORDER=AGE,SIZE  keep the last AGE (5s, 500ms) of the trace,
 *                           at most SIZE (16MiB, 64KiB) in memory
 *   CPROF_FLIGHT_TRIGGER=NAME>DURATION[,...]  snapshot when a task or region
 *                           NAME lasts longer than DURATION (100ms)
 *   CPROF_FLIGHT_SIGNAL=USR2   snapshot on that signal (off by default)
 *   CPROF_FLIGHT_OUT=PATTERN   snapshot files (default flight-%p-%t.cpt; %t is
 *                           the local time)
 *   CPROF_LEAKCHECK=1       check for leaks at exit (records every allocation);
 *                           exit status 23 when something is definitely lost
 *   CPROF_LEAK_SUPPRESSIONS=FILE  function-name patterns of leaks to ignore
 *   CPROF_TARGET_PID=PID    set by `cprof run`: only that process (and, for
 *                           FILEs with %p, its descendants) profiles; this
 *                           keeps a shell or make spawned by the program
 *                           from overwriting the profile.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "cprof.h"
#include "agent.h"
#include "cpu.h"
#include "contention.h"
#include "errors.h"
#include "flight.h"
#include "heap.h"
#include "http.h"
#include "push.h"
#include "heap_write.h"
#include "settings.h"

int cprof__settings_expand_path(const char *pattern, char *out, size_t outlen)
{
    char expanded[PATH_MAX];
    size_t n = 0;
    for (const char *p = pattern; *p; p++) {
        char piece[32];
        const char *add = piece;
        if (p[0] == '%' && p[1] == 'p') {
            snprintf(piece, sizeof piece, "%d", (int)getpid());
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            piece[0] = '%', piece[1] = '\0';
            p++;
        } else {
            piece[0] = *p, piece[1] = '\0';
        }
        size_t len = strlen(add);
        if (n + len >= sizeof expanded)
            return cprof__fail("path too long: %s", pattern);
        memcpy(expanded + n, add, len);
        n += len;
    }
    expanded[n] = '\0';
    if (expanded[0] == '/') {
        if (n >= outlen)
            return cprof__fail("path too long: %s", pattern);
        memcpy(out, expanded, n + 1);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return cprof__fail("cannot resolve %s: getcwd: %s", pattern, strerror(errno));
    if ((size_t)snprintf(out, outlen, "%s/%s", cwd, expanded) >= outlen)
        return cprof__fail("path too long: %s", pattern);
    return 0;
}

int cprof__settings_check_writable(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    if (access(dir, W_OK | X_OK) < 0)
        return cprof__fail("cannot write %s: %s: %s", path, dir, strerror(errno));
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cprof__fail("cannot write %s: it is a directory", path);
    if (access(path, F_OK) == 0 && access(path, W_OK) < 0)
        return cprof__fail("cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* "5s", "500ms", "2m", "100us", "3ns": nanoseconds, or -1. */
static int64_t parse_duration(const char *s, char **end)
{
    double v = strtod(s, end);
    if (*end == s || v < 0)
        return -1;
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].unit);
        if (!strncmp(*end, units[i].unit, n) &&
            ((*end)[n] == '\0' || (*end)[n] == ',' || (*end)[n] == ':')) {
            *end += n;
            return (int64_t)(v * units[i].ns);
        }
    }
    return -1;
}

/* "16MiB", "512KiB", "1GiB", "1000000": bytes, or 0. */
static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return 0;
    if (!*end || !strcmp(end, "B"))
        return (size_t)v;
    if (!strcmp(end, "KiB") || !strcmp(end, "K") || !strcmp(end, "KB"))
        return (size_t)(v * 1024);
    if (!strcmp(end, "MiB") || !strcmp(end, "M") || !strcmp(end, "MB"))
        return (size_t)(v * 1024 * 1024);
    if (!strcmp(end, "GiB") || !strcmp(end, "G") || !strcmp(end, "GB"))
        return (size_t)(v * 1024 * 1024 * 1024);
    return 0;
}

static void start_flight_recorder(const char *spec)
{
    char *end;
    int64_t age = parse_duration(spec, &end);
    size_t size = *end == ',' ? parse_size(end + 1) : 0;
    if (age <= 0 || !size) {
        cprof__warn("CPROF_FLIGHTRECORDER=%s: want AGE,SIZE (for example 5s,16MiB)", spec);
        return;
    }
    if (cprof_flight_start((uint64_t)(age / 1000000 ? age / 1000000 : 1), size) < 0) {
        cprof__warn("%s", cprof_last_error());
        return;
    }
    const char *out = getenv("CPROF_FLIGHT_OUT");
    if (!out || !*out)
        out = "flight-%p-%t.cpt";
    const char *triggers = getenv("CPROF_FLIGHT_TRIGGER");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", triggers ? triggers : "");
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        char *gt = strchr(t, '>');
        int64_t ns = gt ? parse_duration(gt + 1, &end) : -1;
        if (!gt || ns < 0 || *end) {
            cprof__warn("CPROF_FLIGHT_TRIGGER: \"%s\" is not NAME>DURATION", t);
            continue;
        }
        *gt = '\0';
        if (cprof_flight_trigger(t, (uint64_t)ns, out) < 0)
            cprof__warn("%s", cprof_last_error());
    }
    const char *sig = getenv("CPROF_FLIGHT_SIGNAL");
    if (sig && *sig) {
        int n = !strcmp(sig, "USR1") || !strcmp(sig, "SIGUSR1")   ? SIGUSR1
                : !strcmp(sig, "USR2") || !strcmp(sig, "SIGUSR2") ? SIGUSR2
                                                                  : atoi(sig);
        if (n <= 0 || n >= NSIG || cprof__flight_on_signal(n, out) < 0)
            cprof__warn("CPROF_FLIGHT_SIGNAL=%s: %s", sig,
                        n <= 0 || n >= NSIG ? "not a signal" : cprof_last_error());
    }
}

/* Whether this process is the one the user asked to profile. */
static int is_target(const char *path)
{
    const char *target = getenv("CPROF_TARGET_PID");
    if (!target || !*target || strstr(path, "%p"))
        return 1;
    return atoi(target) == (int)getpid();
}

/* A positive number from the environment, or `fallback` (with a warning
 * when the variable is set but not a positive number). */
static long parse_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > INT_MAX) {
        cprof__warn("%s=%s: not a positive number; using %ld", name, v, fallback);
        return fallback;
    }
    return n;
}

static int parse_rate(const char *name, int fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    long hz = strtol(v, &end, 10);
    if (*end || hz < 1 || hz > 10000) {
        cprof__warn("%s=%s: not a rate in 1..10000; using %d", name, v, fallback);
        return fallback;
    }
    return (int)hz;
}

void cprof__settings_apply(void)
{
    const char *engine = getenv("CPROF_CPU_ENGINE");
    if (engine && !strcmp(engine, "perf"))
        cprof__cpu_set_engine(CPROF_ENGINE_PERF);
    else if (engine && !strcmp(engine, "timer"))
        cprof__cpu_set_engine(CPROF_ENGINE_TIMER);
    else if (engine && *engine && strcmp(engine, "auto"))
        cprof__warn("CPROF_CPU_ENGINE=%s: not perf, timer or auto; using auto", engine);

    /* A rate alone turns heap sampling on (for the HTTP endpoint). */
    const char *mem = getenv("CPROF_MEMPROFILE");
    const char *memrate = getenv("CPROF_MEMPROFILERATE");
    if (((mem && *mem) || (memrate && *memrate)) && is_target(mem ? mem : "")) {
        long rate = 512 * 1024;
        const char *r = getenv("CPROF_MEMPROFILERATE");
        if (r && *r) {
            char *end;
            long v = strtol(r, &end, 10);
            if (*end || v < 1)
                cprof__warn("CPROF_MEMPROFILERATE=%s: not a positive number; using %ld", r, rate);
            else
                rate = v;
        }
        if ((mem && *mem && cprof__heap_set_exit_path(mem) < 0) || cprof__heap_start(rate) < 0)
            cprof__warn("%s", cprof_last_error());
        else
            cprof__agent_start();
    }
    const char *peak = getenv("CPROF_MEMPEAK");
    if (peak && *peak && is_target(peak)) {
        if (cprof__heap_set_peak_path(peak) < 0 ||
            (!cprof__heap_table() && cprof__heap_start(512 * 1024) < 0))
            cprof__warn("%s", cprof_last_error());
        else
            cprof__agent_start();
    }

    /* A fraction or rate alone turns the profile on for the HTTP endpoint. */
    const char *mutex = getenv("CPROF_MUTEXPROFILE");
    const char *fraction = getenv("CPROF_MUTEXPROFILEFRACTION");
    if (((mutex && *mutex) || (fraction && *fraction)) && is_target(mutex ? mutex : "")) {
        long n = parse_long("CPROF_MUTEXPROFILEFRACTION", 1);
        if ((mutex && *mutex && cprof__contention_set_exit_path(1, mutex) < 0) ||
            cprof_mutex_set_fraction((int)n) < 0)
            cprof__warn("%s", cprof_last_error());
    }
    const char *block = getenv("CPROF_BLOCKPROFILE");
    const char *rate = getenv("CPROF_BLOCKPROFILERATE");
    if (((block && *block) || (rate && *rate)) && is_target(block ? block : "")) {
        long ns = parse_long("CPROF_BLOCKPROFILERATE", 1);
        if ((block && *block && cprof__contention_set_exit_path(0, block) < 0) ||
            cprof_block_set_rate(ns) < 0)
            cprof__warn("%s", cprof_last_error());
    }

    const char *http = getenv("CPROF_HTTP");
    if (http && *http && is_target("")) {
        if (cprof_http_start(http) < 0)
            cprof__warn("%s; the program runs on without the endpoint", cprof_last_error());
    }

    const char *wall = getenv("CPROF_WALLPROFILE");
    if (wall && *wall && is_target(wall)) {
        if (cprof_wall_start(wall, (int)parse_long("CPROF_WALLRATE", 100)) < 0)
            cprof__warn("%s", cprof_last_error());
    }

    const char *trace = getenv("CPROF_TRACE");
    if (trace && *trace && is_target(trace)) {
        if (cprof_trace_start(trace) < 0)
            cprof__warn("%s", cprof_last_error());
    }

    const char *flight = getenv("CPROF_FLIGHTRECORDER");
    if (flight && *flight && is_target(""))
        start_flight_recorder(flight);

    const char *leak = getenv("CPROF_LEAKCHECK");
    if (leak && *leak && strcmp(leak, "0") && is_target("")) {
        if (cprof__heap_start(1) < 0) {
            cprof__warn("%s", cprof_last_error());
        } else {
            cprof__heap_clear_new_blocks(1);
            cprof__agent_set_leak_check(getenv("CPROF_LEAK_SUPPRESSIONS"));
        }
    }

    const char *cpu = getenv("CPROF_CPUPROFILE");
    if (cpu && *cpu && is_target(cpu)) {
        if (cprof_cpu_start(cpu, parse_rate("CPROF_CPURATE", 100)) < 0)
            cprof__warn("%s", cprof_last_error());
    }

    /* Push comes last: it profiles the CPU interval by interval, and a
     * whole-run CPU profile the user asked for (above) must win. */
    const char *push = getenv("CPROF_PUSH_URL");
    if (push && *push && is_target("")) {
        struct cprof_push_config pc = {push, getenv("CPROF_PUSH_INTERVAL"),
                                       getenv("CPROF_APP_NAME"), getenv("CPROF_PUSH_LABELS"),
                                       parse_rate("CPROF_CPURATE", 100)};
        if (cprof__push_start(&pc) < 0)
            cprof__warn("%s; the program runs on without pushing", cprof_last_error());
    }
}
