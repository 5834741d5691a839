/*
 * stress: the hostile programs a preloaded profiler must survive. One binary,
 * one mode per situation, each with function names of its own so that a
 * test can tell from the profile which code was sampled:
 *
 *   stress threads   [-n=N] [-creators=C]    N short threads created and joined
 *   stress dlopen    -so=PATH [-seconds=S] [-close] [-burners=B]
 *                                            dlopen/call/dlclose while B threads burn
 *   stress forkexec  -exec=PROG [-children=K] [ARGS for PROG...]
 *   stress forkwork  [-children=K]           children that work and exit, no exec
 *   stress exitthread                        a non-main thread calls exit(3)
 *   stress signal    -ready=FILE [-handler]  busy until SIGINT/SIGTERM
 *   stress sigprof   [-api=sigaction|signal] its own SIGPROF handler and ITIMER_PROF
 *   stress storm     -so=PATH [-seconds=S]   malloc/free and dlopen/dlclose storms
 *
 * Work is measured in the calling thread's CPU time, never in wall time, so
 * that a loaded machine makes a run longer, not different. Every mode prints
 * what a test checks on stdout, one "key=value" line.
 */
#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Each mode's functions must stay on the stack under their own names: not
 * inlined, not cloned (".constprop"), not folded with a twin of the same
 * body. GCC's noipa says all three; clang has no such attribute. */
#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static volatile uint64_t sink;
static atomic_int stop;

static const char *flag(int argc, char **argv, const char *name, const char *fallback)
{
    size_t n = strlen(name);
    for (int i = 2; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    return fallback;
}

static int has_flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rusage_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Spins for `ns` of the calling thread's CPU time (or until `stop`, if
 * `stoppable`). Inlined into each caller, so samples name the caller. */
static inline void spin(int64_t ns, int stoppable)
{
    uint64_t h = (uint64_t)ns;
    int64_t now = thread_cpu_ns();
    int64_t end = ns > INT64_MAX - now ? INT64_MAX : now + ns; /* INT64_MAX: until stopped */
    while (thread_cpu_ns() < end &&
           !(stoppable && atomic_load_explicit(&stop, memory_order_relaxed)))
        for (int i = 0; i < 500; i++) {
            h = h * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(h));
        }
    sink += h;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

static void start_threads(pthread_t *t, int n, void *(*fn)(void *))
{
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i) != 0) {
            perror("stress: pthread_create");
            exit(1);
        }
}

static void join_threads(pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* ---- threads: creation and exit at a high rate ------------------------------- */

static int churn_per_creator;
static _Atomic int64_t churn_ns; /* CPU time spent in churn_thread, all threads */

NOIPA static void *churn_thread(void *arg)
{
    /* 50 us: far less than a sampling period at 1000 Hz, so each thread is
     * sampled only now and then, yet the total is known exactly. */
    int64_t t0 = thread_cpu_ns();
    spin(50 * 1000, 0);
    atomic_fetch_add(&churn_ns, thread_cpu_ns() - t0);
    return arg;
}

NOIPA static void *churn_creator(void *arg)
{
    for (int i = 0; i < churn_per_creator; i++) {
        pthread_t t;
        int err = pthread_create(&t, NULL, churn_thread, NULL);
        if (err) {
            fprintf(stderr, "stress: pthread_create: %s\n", strerror(err));
            exit(1);
        }
        pthread_join(t, NULL);
    }
    return arg;
}

static int mode_threads(int argc, char **argv)
{
    int n = atoi(flag(argc, argv, "-n", "20000"));
    int creators = atoi(flag(argc, argv, "-creators", "4"));
    if (creators < 1 || creators > 64 || n < creators)
        return 2;
    churn_per_creator = n / creators;
    /* Descriptors before and after: a sampler that is not closed when its
     * thread ends (one perf event each) shows here as thousands more. */
    int before = count_fds();
    pthread_t t[64];
    start_threads(t, creators, churn_creator);
    join_threads(t, creators);
    printf("threads=%d fds_before=%d fds_after=%d\n", churn_per_creator * creators, before,
           count_fds());
    printf("churn_cpu_seconds=%.6f\n", atomic_load(&churn_ns) / 1e9);
    return 0;
}

/* ---- dlopen: code that comes and goes while others burn ---------------------- */

NOIPA static void *dl_burner(void *arg)
{
    spin(INT64_MAX, 1);
    return arg;
}

static int mode_dlopen(int argc, char **argv)
{
    const char *so = flag(argc, argv, "-so", NULL);
    double seconds = atof(flag(argc, argv, "-seconds", "2"));
    int burners = atoi(flag(argc, argv, "-burners", "2"));
    if (!so || burners < 0 || burners > 8)
        return 2;
    pthread_t t[8];
    start_threads(t, burners, dl_burner);
    long loops = 0;
    void *h = NULL;
    for (double end = mono_s() + seconds; mono_s() < end; loops++) {
        if (h)
            dlclose(h);
        h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "stress: %s\n", dlerror());
            return 1;
        }
        void (*fn)(long) = (void (*)(long))dlsym(h, "dl_spin");
        if (!fn) {
            fprintf(stderr, "stress: %s\n", dlerror());
            return 1;
        }
        fn(2 * 1000 * 1000); /* 2 ms of CPU inside the library */
    }
    /* The last handle stays open unless -close: then the library is gone
     * when the profile is written at exit, and its samples cannot be named. */
    if (has_flag(argc, argv, "-close"))
        dlclose(h);
    atomic_store(&stop, 1);
    join_threads(t, burners);
    printf("dlopen_loops=%ld\n", loops);
    return 0;
}

/* ---- fork ----------------------------------------------------------------------- */

NOIPA static void parent_work(int64_t ns)
{
    spin(ns, 0);
}

NOIPA static void child_work(int64_t ns)
{
    spin(ns, 0);
}

NOIPA static void *parent_helper(void *arg)
{
    spin(INT64_MAX, 1);
    return arg;
}

static int wait_children(pid_t *kids, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int st = 0;
        if (waitpid(kids[i], &st, 0) < 0) {
            perror("stress: waitpid");
            bad = 1;
        } else if (WIFSIGNALED(st)) {
            fprintf(stderr, "stress: child %d killed by signal %d (%s)\n", (int)kids[i],
                    WTERMSIG(st), strsignal(WTERMSIG(st)));
            bad = 1;
        } else if (WEXITSTATUS(st) != 0) {
            fprintf(stderr, "stress: child %d exited %d\n", (int)kids[i], WEXITSTATUS(st));
            bad = 1;
        }
    }
    return bad;
}

static int mode_forkexec(int argc, char **argv)
{
    const char *prog = flag(argc, argv, "-exec", NULL);
    int k = atoi(flag(argc, argv, "-children", "3"));
    if (!prog || k < 1 || k > 16)
        return 2;
    /* The exec'd program gets the arguments after "--". */
    char **args = NULL;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--"))
            args = argv + i;
    char *none[] = {NULL, NULL};
    if (!args)
        args = none;
    args[0] = (char *)prog;
    parent_work(200 * 1000 * 1000);
    pid_t kids[16];
    for (int i = 0; i < k; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            perror("stress: fork");
            return 1;
        }
        if (kids[i] == 0) {
            execv(prog, args);
            perror("stress: execv");
            _exit(127);
        }
    }
    int bad = wait_children(kids, k);
    parent_work(200 * 1000 * 1000);
    printf("children=%d\n", k);
    return bad;
}

static int mode_forkwork(int argc, char **argv)
{
    int k = atoi(flag(argc, argv, "-children", "3"));
    if (k < 1 || k > 16)
        return 2;
    /* A second thread runs in the parent across the forks: fork from a
     * multi-threaded process, with a sampler firing on another thread. */
    pthread_t helper;
    start_threads(&helper, 1, parent_helper);
    parent_work(100 * 1000 * 1000);
    pid_t kids[16];
    for (int i = 0; i < k; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            perror("stress: fork");
            return 1;
        }
        if (kids[i] == 0) {
            child_work(200 * 1000 * 1000);
            /* The last child leaves by _exit: no atexit handlers at all. */
            if (i == k - 1)
                _exit(0);
            exit(0);
        }
    }
    /* Most of the parent's work comes after the forks: whatever a child does
     * to its inherited copy of the samplers must not stop the parent's. */
    parent_work(400 * 1000 * 1000);
    int bad = wait_children(kids, k);
    atomic_store(&stop, 1);
    join_threads(&helper, 1);
    printf("children=%d\n", k);
    return bad;
}

/* ---- exit from a thread --------------------------------------------------------- */

NOIPA static void *exit_burner(void *arg)
{
    spin(INT64_MAX, 0);
    return arg;
}

NOIPA static void *exit_caller(void *arg)
{
    spin(300 * 1000 * 1000, 0);
    printf("exit_caller: exit(3)\n");
    fflush(stdout);
    exit(3);
    return arg;
}

static int mode_exitthread(void)
{
    pthread_t t[3];
    start_threads(t, 2, exit_burner);
    start_threads(&t[2], 1, exit_caller);
    join_threads(t, 3); /* never returns: exit_caller ends the process */
    return 1;
}

/* ---- SIGINT / SIGTERM ------------------------------------------------------------- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
    atomic_store(&stop, 1);
}

NOIPA static void *sig_burner(void *arg)
{
    spin(INT64_MAX, 1);
    return arg;
}

static int mode_signal(int argc, char **argv)
{
    const char *ready = flag(argc, argv, "-ready", NULL);
    int handler = has_flag(argc, argv, "-handler");
    if (!ready)
        return 2;
    if (handler) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    pthread_t t[2];
    start_threads(t, 2, sig_burner);
    /* Tell the test we are busy (and profiled for a while): our pid, in a
     * file that appears whole (rename is atomic). */
    spin(200 * 1000 * 1000, 0);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", ready);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 || rename(tmp, ready) < 0) {
        perror("stress: ready file");
        return 1;
    }
    sig_burner(NULL);
    join_threads(t, 2);
    if (handler)
        printf("handler ran: signal %d\n", (int)got_signal);
    return 0;
}

/* ---- a program with its own SIGPROF --------------------------------------------------- */

static volatile sig_atomic_t prof_ticks;

static void on_prof(int sig)
{
    (void)sig;
    prof_ticks++;
}

NOIPA static void sigprof_work(int64_t ns)
{
    spin(ns, 0);
}

static int mode_sigprof(int argc, char **argv)
{
    const char *api = flag(argc, argv, "-api", "sigaction");
    sigprof_work(100 * 1000 * 1000); /* profiled by cprof until the handler goes in */
    if (!strcmp(api, "signal")) {
        if (signal(SIGPROF, on_prof) == SIG_ERR)
            return 1;
    } else {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_prof;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGPROF, &sa, &old) < 0)
            return 1;
        /* The program must see what it would have seen without cprof. */
        if (old.sa_handler != SIG_DFL) {
            printf("old SIGPROF disposition is not SIG_DFL\n");
            return 1;
        }
    }
    struct itimerval it = {{0, 1000}, {0, 1000}};
    if (setitimer(ITIMER_PROF, &it, NULL) < 0)
        return 1;
    sigprof_work(300 * 1000 * 1000);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    printf("sigprof_ticks=%d\n", (int)prof_ticks);
    return prof_ticks > 0 ? 5 : 1; /* 5: a status of its own, to see it passed through */
}

/* ---- malloc and dlopen storms (the loader-lock case) ----------------------------------- */

static const char *storm_so;
static double storm_end;

NOIPA static void *storm_malloc(void *arg)
{
    uint64_t r = (uintptr_t)arg * 7919 + 1;
    void *keep[64] = {0};
    for (long n = 0; (n & 1023) || mono_s() < storm_end; n++) {
        r = r * 6364136223846793005ULL + 1;
        int slot = (int)(r >> 58);
        free(keep[slot]);
        keep[slot] = malloc((size_t)(r >> 40) % 65536 + 1);
        if (!keep[slot])
            abort();
        memset(keep[slot], 1, 16);
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    return arg;
}

NOIPA static void *storm_dlopen(void *arg)
{
    while (mono_s() < storm_end) {
        void *h = dlopen(storm_so, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "stress: %s\n", dlerror());
            exit(1);
        }
        /* Not called: `stress dlopen` samples code in the library; here the
         * samples are to land in the loader itself. */
        if (!dlsym(h, "dl_spin"))
            exit(1);
        dlclose(h);
    }
    return arg;
}

static int mode_storm(int argc, char **argv)
{
    storm_so = flag(argc, argv, "-so", NULL);
    if (!storm_so)
        return 2;
    storm_end = mono_s() + atof(flag(argc, argv, "-seconds", "2"));
    pthread_t t[4];
    start_threads(t, 2, storm_malloc);
    start_threads(&t[2], 2, storm_dlopen);
    join_threads(t, 4);
    printf("storm=done\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    double start = rusage_s();
    int rc = 2;
    if (!strcmp(mode, "threads"))
        rc = mode_threads(argc, argv);
    else if (!strcmp(mode, "dlopen"))
        rc = mode_dlopen(argc, argv);
    else if (!strcmp(mode, "forkexec"))
        rc = mode_forkexec(argc, argv);
    else if (!strcmp(mode, "forkwork"))
        rc = mode_forkwork(argc, argv);
    else if (!strcmp(mode, "exitthread"))
        rc = mode_exitthread();
    else if (!strcmp(mode, "signal"))
        rc = mode_signal(argc, argv);
    else if (!strcmp(mode, "sigprof"))
        rc = mode_sigprof(argc, argv);
    else if (!strcmp(mode, "storm"))
        rc = mode_storm(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: stress threads|dlopen|forkexec|forkwork|exitthread|signal|"
                        "sigprof|storm [flags] (see stress.c)\n");
    printf("cpu_seconds=%.6f\n", rusage_s() - start);
    return rc;
}
