/*
 * signals.c: owns SIGPROF (CPU samples) and cprof's watch on SIGINT/SIGTERM
 * (write profiles before dying), and the interposed sigaction()/signal()
 * that keep cprof's handlers invisible to the program:
 *
 * - The program asks for SIGPROF: it gets it, cprof says once that it can no
 *   longer sample, and stops (a profiler inside the program wins over us).
 * - The program sets SIGINT/SIGTERM to SIG_DFL: recorded, our watch stays.
 *   Any other disposition is installed for real and the watch ends.
 * - sigaction's `old` reports what the program set last, never our handler.
 *
 * Locking: `lock` protects the recorded dispositions; the signal handlers
 * read only `watch_fn` and the `watching` flags (atomics).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "cprof.h"
#include "errors.h"
#include "signals.h"

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction_ptr;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct owned {
    _Atomic int active;       /* cprof's handler is installed */
    struct sigaction program; /* what the program believes is installed */
};
static struct owned prof, fatal_int, fatal_term;
static void (*prof_taken)(void);
static void (*_Atomic fatal_fn)(int);

static struct owned *owned_for(int sig)
{
    switch (sig) {
    case SIGPROF:
        return &prof;
    case SIGINT:
        return &fatal_int;
    case SIGTERM:
        return &fatal_term;
    default:
        return NULL;
    }
}

int cprof__real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!real_sigaction_ptr)
        real_sigaction_ptr = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (!real_sigaction_ptr) {
        errno = ENOSYS;
        return -1;
    }
    return real_sigaction_ptr(sig, act, old);
}

static int is_default(const struct sigaction *sa)
{
    return !(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == SIG_DFL;
}

int cprof__signals_take_prof(cprof_sig_fn fn, void (*taken)(void))
{
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (!atomic_load(&prof.active)) {
        struct sigaction cur;
        cprof__real_sigaction(SIGPROF, NULL, &cur);
        if (!is_default(&cur) && cur.sa_handler != SIG_IGN) {
            rc = -1; /* the program profiles itself */
        } else {
            struct sigaction sa = {0};
            sa.sa_sigaction = fn;
            sa.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&sa.sa_mask);
            prof.program = cur;
            prof_taken = taken;
            rc = cprof__real_sigaction(SIGPROF, &sa, NULL);
            if (rc == 0)
                atomic_store(&prof.active, 1);
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

/* async-signal-safe: sigaction, sigprocmask, getpid and kill are. */
void cprof__signals_die(int sig)
{
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    cprof__real_sigaction(sig, &dfl, NULL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    kill(getpid(), sig);
}

/* async-signal-safe: calls the registered fn, which must be, or dies. */
static void on_fatal_signal(int sig, siginfo_t *info, void *uc)
{
    int saved = errno;
    void (*fn)(int) = atomic_load(&fatal_fn);
    if (fn)
        fn(sig);
    else
        cprof__signals_die(sig);
    errno = saved;
}

static void watch_one(int sig)
{
    struct owned *o = owned_for(sig);
    struct sigaction cur;
    cprof__real_sigaction(sig, NULL, &cur);
    if (atomic_load(&o->active) || !is_default(&cur))
        return; /* the program handles or ignores it: its exit path writes */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    o->program = cur;
    if (cprof__real_sigaction(sig, &sa, NULL) == 0)
        atomic_store(&o->active, 1);
}

void cprof__signals_watch_fatal(void (*on_fatal)(int sig))
{
    pthread_mutex_lock(&lock);
    atomic_store(&fatal_fn, on_fatal);
    watch_one(SIGINT);
    watch_one(SIGTERM);
    pthread_mutex_unlock(&lock);
}

/* The program changes a signal we own. Returns 1 if handled here. */
static int program_sets(int sig, const struct sigaction *act, struct sigaction *old, int *rc)
{
    struct owned *o = owned_for(sig);
    if (!o || !atomic_load(&o->active))
        return 0;
    void (*taken)(void) = NULL;
    pthread_mutex_lock(&lock);
    if (!atomic_load(&o->active)) {
        pthread_mutex_unlock(&lock);
        return 0;
    }
    struct sigaction was = o->program;
    *rc = 0;
    if (act) {
        if (sig != SIGPROF && is_default(act)) {
            o->program = *act; /* keep watching: the default is what we wrap */
        } else {
            *rc = cprof__real_sigaction(sig, act, NULL);
            if (*rc == 0) {
                atomic_store(&o->active, 0);
                if (sig == SIGPROF)
                    taken = prof_taken;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    if (old && *rc == 0)
        *old = was;
    if (taken) {
        cprof__warn("the program installed its own SIGPROF handler; CPU profiling stops");
        taken();
    }
    return 1;
}

CPROF_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    int rc;
    if (program_sets(sig, act, old, &rc))
        return rc;
    return cprof__real_sigaction(sig, act, old);
}

/* glibc's signal() does not call sigaction through the PLT, so it is
 * interposed too, with glibc's semantics (BSD: SA_RESTART, handler stays). */
CPROF_API sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction act = {0}, old;
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, sig);
    if (sigaction(sig, &act, &old) < 0)
        return SIG_ERR;
    return old.sa_handler;
}
