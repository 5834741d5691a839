/*
 * cmd_run.c: `cprof run [flags] -- PROGRAM [ARGS...]`. Runs PROGRAM with
 * libcprof.so preloaded and the flags turned into CPROF_* environment
 * variables (the same ones a user can set by hand), waits for it, and exits
 * with its status.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

enum flag_kind {
    FLAG_PATH,
    FLAG_RATE,
    FLAG_BYTES,
    FLAG_BOOL,
    FLAG_INPUT,
    FLAG_COUNT,
    FLAG_ADDR,
    FLAG_URL,
    FLAG_DURATION,
    FLAG_NAME,
    FLAG_LABELS,
    FLAG_TEXT /* the flight recorder's: check_flight_value */
};

/* Every flag of `cprof run` and the environment variable it sets. */
static const struct run_flag {
    const char *name;
    const char *env;
    enum flag_kind kind;
    const char *help;
} run_flags[] = {
    {"cpuprofile", "CPROF_CPUPROFILE", FLAG_PATH, "write a CPU profile to FILE (%p: process id)"},
    {"cpurate", "CPROF_CPURATE", FLAG_RATE, "CPU samples per second per thread (default 100)"},
    {"memprofile", "CPROF_MEMPROFILE", FLAG_PATH, "write a heap profile to FILE at exit"},
    {"memprofilerate", "CPROF_MEMPROFILERATE", FLAG_BYTES,
     "mean bytes allocated between heap samples (default 524288; 1 = every allocation)"},
    {"mempeak", "CPROF_MEMPEAK", FLAG_PATH,
     "write the in-use heap profile of the moment the heap was largest to FILE at exit"},
    {"mutexprofile", "CPROF_MUTEXPROFILE", FLAG_PATH,
     "write a mutex profile (delay charged to the releasing stack) to FILE at exit"},
    {"mutexprofilefraction", "CPROF_MUTEXPROFILEFRACTION", FLAG_COUNT,
     "record 1 in N contended mutex waits (default 1)"},
    {"blockprofile", "CPROF_BLOCKPROFILE", FLAG_PATH,
     "write a block profile (time waiting, charged to the waiting stack) to FILE at exit"},
    {"blockprofilerate", "CPROF_BLOCKPROFILERATE", FLAG_COUNT,
     "record waits of NS nanoseconds or more, shorter ones in proportion (default 1: all)"},
    {"wallprofile", "CPROF_WALLPROFILE", FLAG_PATH,
     "write a wall-clock profile (every thread, running or waiting) to FILE at exit"},
    {"wallrate", "CPROF_WALLRATE", FLAG_RATE, "wall-clock samples per second (default 100)"},
    {"trace", "CPROF_TRACE", FLAG_PATH,
     "write an execution trace to FILE (read it with cprof trace)"},
    {"flightrecorder", "CPROF_FLIGHTRECORDER", FLAG_TEXT,
     "=AGE,SIZE: keep the last AGE (5s) of the trace in at most SIZE (16MiB) of memory"},
    {"flighttrigger", "CPROF_FLIGHT_TRIGGER", FLAG_TEXT,
     "=NAME>DURATION[,...]: snapshot when a task or region NAME takes longer (100ms)"},
    {"flightsignal", "CPROF_FLIGHT_SIGNAL", FLAG_TEXT, "=SIG: snapshot on signal SIG (USR2)"},
    {"flightout", "CPROF_FLIGHT_OUT", FLAG_TEXT,
     "=PATTERN: snapshot files (default flight-%p-%t.cpt; %t: local time)"},
    {"http", "CPROF_HTTP", FLAG_ADDR,
     "serve /debug/pprof/ on HOST:PORT (loopback only unless -http-allow-remote)"},
    {"http-allow-remote", "CPROF_HTTP_ALLOW_REMOTE", FLAG_BOOL,
     "allow -http on a non-loopback address: anyone who can reach it can read the profiles; "
     "set CPROF_HTTP_TOKEN too"},
    {"push", "CPROF_PUSH_URL", FLAG_URL,
     "push a CPU and a heap profile every interval to the Grafana Pyroscope server at URL"},
    {"push-interval", "CPROF_PUSH_INTERVAL", FLAG_DURATION,
     "how often -push sends profiles: 10s, 1m, 1m30s (default 15s)"},
    {"app-name", "CPROF_APP_NAME", FLAG_NAME,
     "the application name -push reports (default: the program's name)"},
    {"push-labels", "CPROF_PUSH_LABELS", FLAG_LABELS,
     "labels -push attaches to every profile: k=v,k=v"},
    {"leakcheck", "CPROF_LEAKCHECK", FLAG_BOOL,
     "report leaks at exit; exit status 23 when memory is definitely lost"},
    {"leaksuppressions", "CPROF_LEAK_SUPPRESSIONS", FLAG_INPUT,
     "a file of function-name patterns whose leaks are not reported"},
};
#define NFLAGS (sizeof run_flags / sizeof run_flags[0])

/* What each kind of flag shows after its name in the usage (FLAG_TEXT's help
 * says it itself). Designated, so that a new kind cannot shift the others. */
static const char *const value_names[] = {
    [FLAG_PATH] = "=FILE",      [FLAG_RATE] = "=HZ",        [FLAG_BYTES] = "=BYTES",
    [FLAG_BOOL] = "",           [FLAG_INPUT] = "=FILE",     [FLAG_COUNT] = "=N",
    [FLAG_ADDR] = "=HOST:PORT", [FLAG_URL] = "=URL",        [FLAG_DURATION] = "=DURATION",
    [FLAG_NAME] = "=NAME",      [FLAG_LABELS] = "=k=v,...", [FLAG_TEXT] = "",
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cprof run [flags] [--] PROGRAM [ARGS...]\n\nflags:\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        const struct run_flag *f = &run_flags[i];
        /* A FLAG_TEXT help names its value itself: "=AGE,SIZE: keep ...". */
        const char *sep = f->kind == FLAG_TEXT ? strstr(f->help, ": ") : NULL;
        if (sep)
            fprintf(out, "  -%s%.*s\t%s\n", f->name, (int)(sep - f->help), f->help, sep + 2);
        else
            fprintf(out, "  -%s%s\t%s\n", f->name, value_names[f->kind], f->help);
    }
}

/* Where libcprof.so is: $CPROF_LIBRARY, else beside this binary's ../lib
 * (the build tree and the installed tree are laid out alike). */
static int find_library(char *out, size_t outlen)
{
    const char *env = getenv("CPROF_LIBRARY");
    if (env && *env) {
        if (access(env, R_OK) == 0) {
            snprintf(out, outlen, "%s", env);
            return 0;
        }
        tool_error("CPROF_LIBRARY=%s: %s", env, strerror(errno));
        return -1;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) {
        tool_error("cannot find this program's path: %s", strerror(errno));
        return -1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    const char *candidates[] = {"../lib/libcprof.so", "../" CPROF_INSTALL_LIBDIR "/libcprof.so",
                                "libcprof.so"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", self, candidates[i]);
        if (access(path, R_OK) == 0 && realpath(path, out))
            return 0;
    }
    tool_error("cannot find libcprof.so near %s (set CPROF_LIBRARY)", self);
    (void)outlen;
    return -1;
}

/* execvp's search, done before forking so that a missing program is an
 * error of ours, said plainly, not an exec failure in the child. */
static int find_program(const char *name, char *out, size_t outlen)
{
    if (strchr(name, '/')) {
        snprintf(out, outlen, "%s", name);
        return access(name, X_OK);
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(out, outlen, "%.*s/%s", (int)len, len ? p : ".", name);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        p += len + (end != NULL);
    }
    return -1;
}

static int check_output_path(const char *flag, const char *file)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        tool_error("-%s=%s: directory %s does not exist", flag, file, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        tool_error("-%s=%s: directory %s is not writable", flag, file, dir);
        return -1;
    }
    if (stat(file, &st) == 0 && (S_ISDIR(st.st_mode) || access(file, W_OK) < 0)) {
        tool_error("-%s=%s: not a writable file", flag, file);
        return -1;
    }
    return 0;
}

static int check_rate(const char *flag, const char *value)
{
    char *end;
    long hz = strtol(value, &end, 10);
    if (!*value || *end || hz < 1 || hz > 10000) {
        tool_error("-%s=%s: want a rate from 1 to 10000", flag, value);
        return -1;
    }
    return 0;
}

static int check_bytes(const char *flag, const char *value)
{
    char *end;
    long long n = strtoll(value, &end, 10);
    if (!*value || *end || n < 1 || n > 2147483647) {
        tool_error("-%s=%s: want a positive number", flag, value);
        return -1;
    }
    return 0;
}

static int check_input(const char *flag, const char *file)
{
    if (access(file, R_OK) < 0) {
        tool_error("-%s=%s: %s", flag, file, strerror(errno));
        return -1;
    }
    return 0;
}

/* Go's duration syntax ("1m30s", "500ms"), in milliseconds; -1 if malformed. */
static long long duration_ms(const char *v)
{
    static const char *const units[] = {"ns", "us", "ms", "s", "m", "h"};
    static const double scale[] = {1e-6, 1e-3, 1, 1e3, 60e3, 3600e3};
    double total = 0;
    if (!*v)
        return -1;
    while (*v) {
        char *end;
        if (*v < '0' || *v > '9')
            return -1;
        double n = strtod(v, &end);
        size_t u = 0, len = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (!strncmp(end, units[i], strlen(units[i])) && strlen(units[i]) > len)
                u = i, len = strlen(units[i]);
        if (!len)
            return -1;
        total += n * scale[u];
        v = end + len;
    }
    return total > 1e15 ? -1 : (long long)(total + 0.5);
}

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* k=v,k=v: keys as Prometheus label names (not "__" reserved ones), values
 * without anything that reads as the syntax of Pyroscope's APP{k=v,...}. */
static int labels_ok(const char *v)
{
    for (const char *p = v;;) {
        size_t len = strcspn(p, ","), key = strcspn(p, "=,");
        if (!key || key >= len || !strncmp(p, "__", 2) || (p[0] >= '0' && p[0] <= '9'))
            return 0;
        for (size_t i = 0; i < key; i++)
            if (!strchr(name_chars, p[i]) && p[i] != '_')
                return 0;
        if (len == key + 1 || strcspn(p + key + 1, ",{}=\"\\ \t") != len - key - 1)
            return 0;
        if (!p[len])
            return 1;
        p += len + 1;
    }
}

/* The values of -push and its companions, checked as the runtime will. */
static int check_push_value(const struct run_flag *rf, const char *v)
{
    const char *bad = NULL;
    if (rf->kind == FLAG_URL &&
        ((strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) || strpbrk(v, "?# \t")))
        bad = "want the server's base URL, http://HOST:PORT or https://...";
    if (rf->kind == FLAG_DURATION && (duration_ms(v) < 1000 || duration_ms(v) > 86400000))
        bad = "want a duration from 1s to 24h, such as 10s, 1m or 1m30s";
    if (rf->kind == FLAG_NAME && (!*v || strlen(v) > 200 ||
                                  strlen(v) != strspn(v, "abcdefghijklmnopqrstuvwxyz"
                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789._-")))
        bad = "want letters, digits and . _ -";
    if (rf->kind == FLAG_LABELS && !labels_ok(v))
        bad = "want k=v,k=v (k: letters, digits, _; v: no spaces or , { } = \" \\)";
    if (bad)
        tool_error("-%s=%s: %s", rf->name, v, bad);
    return bad ? -1 : 0;
}

/* A size as the runtime reads -flightrecorder's: a number, then B, K, KB,
 * KiB, M, MB, MiB, G, GB or GiB (all powers of 1024). */
static int size_ok(const char *v)
{
    static const char *const units[] = {"",   "B",   "K", "KB", "KiB", "M",
                                        "MB", "MiB", "G", "GB", "GiB"};
    char *end;
    if (*v < '0' || *v > '9' || strtod(v, &end) <= 0)
        return 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i]))
            return 1;
    return 0;
}

/* The flight recorder's values, checked here as the runtime will read them:
 * in the program the runtime can only warn and carry on without a recorder,
 * which a user who asked for one would not notice in time. */
static int check_flight_value(const struct run_flag *rf, const char *v)
{
    const char *bad = NULL;
    if (!strcmp(rf->name, "flightrecorder")) {
        const char *comma = strchr(v, ',');
        char age[64];
        snprintf(age, sizeof age, "%.*s", comma ? (int)(comma - v) : 0, v);
        if (!comma || duration_ms(age) <= 0 || !size_ok(comma + 1))
            bad = "want AGE,SIZE, such as 5s,16MiB";
    } else if (!strcmp(rf->name, "flighttrigger")) {
        for (const char *p = v; !bad;) {
            size_t len = strcspn(p, ",");
            const char *gt = memchr(p, '>', len);
            char dur[64];
            snprintf(dur, sizeof dur, "%.*s", gt ? (int)(len - (size_t)(gt - p) - 1) : 0,
                     gt ? gt + 1 : "");
            if (!gt || gt == p || duration_ms(dur) < 0)
                bad = "want NAME>DURATION[,...], such as request>100ms";
            if (!p[len])
                break;
            p += len + 1;
        }
    } else if (!strcmp(rf->name, "flightsignal")) {
        const char *name = !strncmp(v, "SIG", 3) ? v + 3 : v;
        int n = atoi(v);
        if (strcmp(name, "USR1") && strcmp(name, "USR2") &&
            (n <= 0 || n >= 65 || strspn(v, "0123456789") != strlen(v)))
            bad = "want USR1, USR2 or a signal number";
    } else if (!strcmp(rf->name, "flightout") && !*v) {
        bad = "want a file name pattern, such as flight-%p-%t.cpt";
    }
    if (bad)
        tool_error("-%s=%s: %s", rf->name, v, bad);
    return bad ? -1 : 0;
}

static pid_t child_pid;

/* A signal sent to cprof itself (kill PID) is passed on to the program; one
 * from the terminal already reached the program, which shares our process
 * group, so it is not sent twice. */
static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (child_pid > 0 && si->si_code == SI_USER)
        kill(child_pid, sig);
}

static void install_forwarding(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction sa = {0};
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

static void prepend_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || !*old) {
        setenv("LD_PRELOAD", lib, 1);
        return;
    }
    size_t len = strlen(lib) + strlen(old) + 2;
    char *both = malloc(len);
    if (!both)
        return;
    snprintf(both, len, "%s:%s", lib, old);
    setenv("LD_PRELOAD", both, 1);
    free(both);
}

/* Parses flags up to the program; returns argv index of the program or -1. */
static int parse_flags(int argc, char **argv)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--"))
            return i + 1;
        if (arg[0] != '-')
            return i;
        if (!strcmp(arg, "-h") || !strcmp(arg, "-help") || !strcmp(arg, "--help")) {
            usage(stdout);
            exit(0);
        }
        size_t f;
        const char *value = NULL;
        for (f = 0; f < NFLAGS && !value; f++) {
            if (run_flags[f].kind == FLAG_BOOL) {
                int on = 0, r = tool_flag_bool(argv, i, run_flags[f].name, &on);
                if (r < 0)
                    return -1;
                if (r > 0)
                    value = on ? "1" : "0";
            } else {
                value = tool_flag_value(argc, argv, &i, run_flags[f].name);
            }
        }
        if (!value) {
            tool_error("run: unknown flag %s (see 'cprof run -h')", arg);
            return -1;
        }
        const struct run_flag *rf = &run_flags[f - 1];
        if (rf->kind == FLAG_PATH && check_output_path(rf->name, value) < 0)
            return -1;
        if (rf->kind == FLAG_RATE && check_rate(rf->name, value) < 0)
            return -1;
        if ((rf->kind == FLAG_BYTES || rf->kind == FLAG_COUNT) && check_bytes(rf->name, value) < 0)
            return -1;
        if (rf->kind == FLAG_INPUT && check_input(rf->name, value) < 0)
            return -1;
        if (rf->kind >= FLAG_URL && check_push_value(rf, value) < 0)
            return -1;
        if (rf->kind == FLAG_TEXT && check_flight_value(rf, value) < 0)
            return -1;
        if (rf->kind == FLAG_ADDR && !strchr(value, ':')) {
            tool_error("-%s=%s: want HOST:PORT", rf->name, value);
            return -1;
        }
        setenv(rf->env, value, 1);
    }
    return i;
}

static void report_outputs(const struct timespec *started)
{
    static const char *const outputs[][2] = {
        {"CPROF_CPUPROFILE", "CPU"},     {"CPROF_MEMPROFILE", "heap"},
        {"CPROF_MEMPEAK", "peak heap"},  {"CPROF_MUTEXPROFILE", "mutex"},
        {"CPROF_BLOCKPROFILE", "block"}, {"CPROF_WALLPROFILE", "wall-clock"}};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        const char *file = getenv(outputs[i][0]);
        struct stat st;
        if (file && !strstr(file, "%p") && stat(file, &st) == 0 &&
            (st.st_mtim.tv_sec > started->tv_sec ||
             (st.st_mtim.tv_sec == started->tv_sec && st.st_mtim.tv_nsec >= started->tv_nsec)))
            fprintf(stderr, "cprof: %s profile written to %s\n", outputs[i][1], file);
    }
}

int cmd_run(int argc, char **argv)
{
    int first = parse_flags(argc, argv);
    if (first < 0)
        return 2;
    if (first >= argc) {
        tool_error("run: no program given (usage: cprof run [flags] -- PROGRAM [ARGS...])");
        return 2;
    }
    char program[PATH_MAX], lib[PATH_MAX];
    if (find_program(argv[first], program, sizeof program) < 0) {
        tool_error("run: program not found or not executable: %s", argv[first]);
        return 127;
    }
    if (find_library(lib, sizeof lib) < 0)
        return 2;
    prepend_preload(lib);

    struct timespec started; /* profiles newer than this were written by this run */
    clock_gettime(CLOCK_REALTIME, &started);
    install_forwarding();
    child_pid = fork();
    if (child_pid < 0) {
        tool_error("run: fork: %s", strerror(errno));
        return 2;
    }
    if (child_pid == 0) {
        char pid[32];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        setenv("CPROF_TARGET_PID", pid, 1);
        execv(program, argv + first);
        tool_error("run: cannot execute %s: %s", program, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(child_pid, &status, 0) < 0) {
        if (errno != EINTR) {
            tool_error("run: waitpid: %s", strerror(errno));
            return 2;
        }
    }
    report_outputs(&started);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        tool_error("%s killed by signal %d (%s)%s", argv[first], sig, strsignal(sig),
                   WCOREDUMP(status) ? ", core dumped" : "");
        return 128 + sig;
    }
    return WEXITSTATUS(status);
}
