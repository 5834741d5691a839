/*
 * sync.c: owns the interposed waits: pthread mutexes (lock, timedlock,
 * unlock), rwlocks, condition variables, semaphores, join and barriers.
 *
 * Every wrapper is a plain call to the real function while no consumer is
 * on. With one on, a mutex lock first looks at the lock word (a read-write
 * lock tries the lock): the uncontended path is that look, the real call and
 * a return, with no clock read, no allocation and no lock of ours. Only a
 * wait that may block reads the clock, records where this thread
 * waits (for thread dumps), and reports the wait when it ends. Unlock looks
 * at the mutex word for waiters (glibc's layout, public in its headers) and
 * only then tells the mutex profile who released the lock.
 *
 * The real functions: glibc exports __pthread_mutex_* and __pthread_rwlock_*
 * aliases, which need no dlsym; that matters because dlsym allocates, and
 * malloc (heap.c) takes mutexes. The rest are looked up on first use, the
 * condition variable functions by version (GLIBC_2.3.2, the current ABI).
 *
 * Waits made inside cprof (its own locks, in malloc or while writing a
 * profile) are not reported.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "contention.h"
#include "cprof.h"
#include "heap.h"
#include "profile_write.h"
#include "sync.h"
#include "threads.h"
#include "trace.h"
#include "unwind.h"

/* glibc's own names for the functions we wrap. Since glibc 2.34 they are
 * compatibility symbols (version GLIBC_2.2.5, not the default), which a
 * link cannot pick by name alone: .symver binds our references to them.
 * noplt: the wrappers jump through the GOT directly, one jump fewer. */
#define GLIBC_ALIAS(ret, name, args)                                                               \
    extern ret name##_compat args __attribute__((noplt));                                          \
    __asm__(".symver " #name "_compat, " #name "@GLIBC_2.2.5")
GLIBC_ALIAS(int, __pthread_mutex_lock, (pthread_mutex_t *));
GLIBC_ALIAS(int, __pthread_mutex_unlock, (pthread_mutex_t *));
GLIBC_ALIAS(int, __pthread_rwlock_rdlock, (pthread_rwlock_t *));
GLIBC_ALIAS(int, __pthread_rwlock_wrlock, (pthread_rwlock_t *));
GLIBC_ALIAS(int, __pthread_rwlock_tryrdlock, (pthread_rwlock_t *));
GLIBC_ALIAS(int, __pthread_rwlock_trywrlock, (pthread_rwlock_t *));
#define __pthread_mutex_lock       __pthread_mutex_lock_compat
#define __pthread_mutex_unlock     __pthread_mutex_unlock_compat
#define __pthread_rwlock_rdlock    __pthread_rwlock_rdlock_compat
#define __pthread_rwlock_wrlock    __pthread_rwlock_wrlock_compat
#define __pthread_rwlock_tryrdlock __pthread_rwlock_tryrdlock_compat
#define __pthread_rwlock_trywrlock __pthread_rwlock_trywrlock_compat

static _Atomic int watching;
static __thread struct cprof_wait self_wait __attribute__((tls_model("initial-exec")));

static const char *const state_names[CPROF_STATE_COUNT] = {
    "running", "mutex", "rwlock", "cond", "semaphore", "join", "barrier", "sleep", "syscall",
};

const char *cprof__state_name(int state)
{
    return state >= 0 && state < CPROF_STATE_COUNT ? state_names[state] : "unknown";
}

struct cprof_wait *cprof__wait_self(void)
{
    return &self_wait;
}

void cprof__sync_consumer(int consumer, int on)
{
    if (on)
        atomic_fetch_or(&watching, consumer);
    else
        atomic_fetch_and(&watching, ~consumer);
}

int64_t cprof__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int watched(void)
{
    return atomic_load_explicit(&watching, memory_order_relaxed);
}

/* ---- Waits ---------------------------------------------------------------------- */

/* Marks the calling thread as waiting; the registers are its wrapper's. */
static inline __attribute__((always_inline)) int64_t begin_wait(int state, const void *object,
                                                                uint64_t func)
{
    struct cprof_wait *w = &self_wait;
    cprof__capture_regs(&w->pc, &w->sp, &w->fp);
    w->func = func;
    w->object = object;
    w->since_ns = cprof__now_ns();
    atomic_store_explicit(&w->state, state, memory_order_release);
    if (cprof__trace_on() && !cprof__heap_in_internal())
        cprof__trace_state(state, w);
    return w->since_ns;
}

/* Ends the wait and reports it, unless it was one of cprof's own. */
static void end_wait(int state, const void *object, int64_t since)
{
    struct cprof_wait *w = &self_wait;
    atomic_store_explicit(&w->state, CPROF_STATE_RUNNING, memory_order_release);
    if (cprof__heap_in_internal())
        return;
    if (cprof__trace_on())
        cprof__trace_state(CPROF_STATE_RUNNING, NULL);
    cprof__contention_wait(state, object, cprof__now_ns() - since, w);
}

/* ---- Mutexes -------------------------------------------------------------------- */

/* Whether threads wait on m: glibc's lock word is 2 when a thread waited
 * since the last unlock (normal, recursive, error-checking and adaptive
 * mutexes), or carries FUTEX_WAITERS for robust and priority mutexes. */
static inline int has_waiters(const pthread_mutex_t *m)
{
    int lock = __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
    int kind = m->__data.__kind & 0x7f;
    if (kind & 0x70) /* robust, priority-inheriting or -protected */
        return (lock & (int)0x80000000) != 0;
    return lock > 1;
}

/* Whether locking m may have to wait: the lock word is held by another
 * thread. A look, not a try: cheaper than a try-lock, and it leaves the
 * mutex's own semantics (recursion, error checking, robustness) entirely to
 * glibc, whose trylock on a robust mutex that is not recoverable would keep
 * the lock held. A lock taken between this look and the real call is a
 * wait that goes unrecorded: rare, and harmless to a sampled profile. */
static inline int may_wait(const pthread_mutex_t *m)
{
    int word = __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
    if (word == 0)
        return 0;
    int owner = __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
    return owner != cprof__gettid(); /* a recursive relock does not wait */
}

/* The part of pthread_mutex_lock that runs only when something watches and
 * the lock word is taken; out of line, so that the common path stays a few
 * instructions without a stack frame. */
__attribute__((noinline)) static int lock_watched(pthread_mutex_t *m)
{
    if (!may_wait(m))
        return __pthread_mutex_lock(m);
    int64_t since = begin_wait(CPROF_STATE_MUTEX, m, CPROF_PSEUDO(PSEUDO_PTHREAD_MUTEX_LOCK));
    int rc = __pthread_mutex_lock(m);
    end_wait(CPROF_STATE_MUTEX, m, since);
    return rc;
}

/* The look at whether m is held reads glibc's owner field, not the lock
 * word: in a loop of lock/unlock pairs the lock word was just written by a
 * locked instruction, and a load of that same word waits for it to retire
 * (measured: ~2.5 ns a pair), while the owner field is a plain store that
 * forwards at once. glibc records the owner of every mutex kind it locks
 * without elision (and with elision the lock word stays 0 too). */
CPROF_API int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (__builtin_expect(!watched() || !__atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED), 1))
        return __pthread_mutex_lock(m);
    return lock_watched(m);
}

typedef int (*timedlock_fn)(pthread_mutex_t *, const struct timespec *);
static timedlock_fn real_timedlock;

CPROF_API int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    if (!real_timedlock)
        real_timedlock = (timedlock_fn)dlsym(RTLD_NEXT, "pthread_mutex_timedlock");
    if (!watched() || !may_wait(m))
        return real_timedlock(m, abstime);
    int rc;
    int64_t since = begin_wait(CPROF_STATE_MUTEX, m, CPROF_PSEUDO(PSEUDO_PTHREAD_MUTEX_TIMEDLOCK));
    rc = real_timedlock(m, abstime);
    end_wait(CPROF_STATE_MUTEX, m, since);
    return rc;
}

/* Records the releasing stack of a mutex that threads waited for. */
__attribute__((noinline)) static int unlock_watched(pthread_mutex_t *m)
{
    if (!cprof__heap_in_internal()) {
        struct cprof_wait here = {.func = CPROF_PSEUDO(PSEUDO_PTHREAD_MUTEX_UNLOCK)};
        cprof__capture_regs(&here.pc, &here.sp, &here.fp);
        cprof__contention_release(m, &here);
    }
    return __pthread_mutex_unlock(m);
}

CPROF_API int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (__builtin_expect(!(watched() & CPROF_SYNC_MUTEX) || !has_waiters(m), 1))
        return __pthread_mutex_unlock(m);
    return unlock_watched(m);
}

/* ---- Read-write locks ------------------------------------------------------------ */

CPROF_API int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (!watched())
        return __pthread_rwlock_rdlock(l);
    int rc = __pthread_rwlock_tryrdlock(l);
    if (rc != EBUSY)
        return rc;
    int64_t since = begin_wait(CPROF_STATE_RWLOCK, l, CPROF_PSEUDO(PSEUDO_PTHREAD_RWLOCK_RDLOCK));
    rc = __pthread_rwlock_rdlock(l);
    end_wait(CPROF_STATE_RWLOCK, l, since);
    return rc;
}

CPROF_API int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (!watched())
        return __pthread_rwlock_wrlock(l);
    int rc = __pthread_rwlock_trywrlock(l);
    if (rc != EBUSY)
        return rc;
    int64_t since = begin_wait(CPROF_STATE_RWLOCK, l, CPROF_PSEUDO(PSEUDO_PTHREAD_RWLOCK_WRLOCK));
    rc = __pthread_rwlock_wrlock(l);
    end_wait(CPROF_STATE_RWLOCK, l, since);
    return rc;
}

typedef int (*timedrw_fn)(pthread_rwlock_t *, const struct timespec *);
static timedrw_fn real_timedrdlock, real_timedwrlock;

CPROF_API int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
    if (!real_timedrdlock)
        real_timedrdlock = (timedrw_fn)dlsym(RTLD_NEXT, "pthread_rwlock_timedrdlock");
    if (!watched())
        return real_timedrdlock(l, abstime);
    int rc = __pthread_rwlock_tryrdlock(l);
    if (rc != EBUSY)
        return rc;
    int64_t since =
        begin_wait(CPROF_STATE_RWLOCK, l, CPROF_PSEUDO(PSEUDO_PTHREAD_RWLOCK_TIMEDRDLOCK));
    rc = real_timedrdlock(l, abstime);
    end_wait(CPROF_STATE_RWLOCK, l, since);
    return rc;
}

CPROF_API int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
    if (!real_timedwrlock)
        real_timedwrlock = (timedrw_fn)dlsym(RTLD_NEXT, "pthread_rwlock_timedwrlock");
    if (!watched())
        return real_timedwrlock(l, abstime);
    int rc = __pthread_rwlock_trywrlock(l);
    if (rc != EBUSY)
        return rc;
    int64_t since =
        begin_wait(CPROF_STATE_RWLOCK, l, CPROF_PSEUDO(PSEUDO_PTHREAD_RWLOCK_TIMEDWRLOCK));
    rc = real_timedwrlock(l, abstime);
    end_wait(CPROF_STATE_RWLOCK, l, since);
    return rc;
}

/* ---- Condition variables, semaphores, join, barriers: always a wait --------------- */

typedef int (*cond_wait_fn)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cond_timedwait_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static cond_wait_fn real_cond_wait;
static cond_timedwait_fn real_cond_timedwait;

CPROF_API int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (!real_cond_wait)
        real_cond_wait = (cond_wait_fn)dlvsym(RTLD_NEXT, "pthread_cond_wait", "GLIBC_2.3.2");
    if (!watched())
        return real_cond_wait(c, m);
    int64_t since = begin_wait(CPROF_STATE_COND, c, CPROF_PSEUDO(PSEUDO_PTHREAD_COND_WAIT));
    int rc = real_cond_wait(c, m);
    end_wait(CPROF_STATE_COND, c, since);
    return rc;
}

CPROF_API int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abstime)
{
    if (!real_cond_timedwait)
        real_cond_timedwait =
            (cond_timedwait_fn)dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");
    if (!watched())
        return real_cond_timedwait(c, m, abstime);
    int64_t since = begin_wait(CPROF_STATE_COND, c, CPROF_PSEUDO(PSEUDO_PTHREAD_COND_TIMEDWAIT));
    int rc = real_cond_timedwait(c, m, abstime);
    end_wait(CPROF_STATE_COND, c, since);
    return rc;
}

typedef int (*sem_fn)(sem_t *);
typedef int (*sem_timed_fn)(sem_t *, const struct timespec *);
static sem_fn real_sem_wait, real_sem_trywait;
static sem_timed_fn real_sem_timedwait;

static void resolve_sem(void)
{
    if (!real_sem_trywait)
        real_sem_trywait = (sem_fn)dlsym(RTLD_NEXT, "sem_trywait");
}

CPROF_API int sem_wait(sem_t *s)
{
    if (!real_sem_wait)
        real_sem_wait = (sem_fn)dlsym(RTLD_NEXT, "sem_wait");
    if (!watched())
        return real_sem_wait(s);
    resolve_sem();
    int saved = errno;
    if (real_sem_trywait(s) == 0)
        return 0;
    errno = saved; /* the failed try must leave no trace */
    int64_t since = begin_wait(CPROF_STATE_SEM, s, CPROF_PSEUDO(PSEUDO_SEM_WAIT));
    int rc = real_sem_wait(s);
    int err = errno;
    end_wait(CPROF_STATE_SEM, s, since);
    errno = err;
    return rc;
}

CPROF_API int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    if (!real_sem_timedwait)
        real_sem_timedwait = (sem_timed_fn)dlsym(RTLD_NEXT, "sem_timedwait");
    if (!watched())
        return real_sem_timedwait(s, abstime);
    resolve_sem();
    int saved = errno;
    if (real_sem_trywait(s) == 0)
        return 0;
    errno = saved;
    int64_t since = begin_wait(CPROF_STATE_SEM, s, CPROF_PSEUDO(PSEUDO_SEM_TIMEDWAIT));
    int rc = real_sem_timedwait(s, abstime);
    int err = errno;
    end_wait(CPROF_STATE_SEM, s, since);
    errno = err;
    return rc;
}

typedef int (*join_fn)(pthread_t, void **);
static join_fn real_join;

CPROF_API int pthread_join(pthread_t t, void **ret)
{
    if (!real_join)
        real_join = (join_fn)dlsym(RTLD_NEXT, "pthread_join");
    if (!watched())
        return real_join(t, ret);
    int64_t since =
        begin_wait(CPROF_STATE_JOIN, (const void *)t, CPROF_PSEUDO(PSEUDO_PTHREAD_JOIN));
    int rc = real_join(t, ret);
    end_wait(CPROF_STATE_JOIN, (const void *)t, since);
    return rc;
}

typedef int (*barrier_fn)(pthread_barrier_t *);
static barrier_fn real_barrier_wait;

CPROF_API int pthread_barrier_wait(pthread_barrier_t *b)
{
    if (!real_barrier_wait)
        real_barrier_wait = (barrier_fn)dlsym(RTLD_NEXT, "pthread_barrier_wait");
    if (!watched())
        return real_barrier_wait(b);
    int64_t since = begin_wait(CPROF_STATE_BARRIER, b, CPROF_PSEUDO(PSEUDO_PTHREAD_BARRIER_WAIT));
    int rc = real_barrier_wait(b);
    end_wait(CPROF_STATE_BARRIER, b, since);
    return rc;
}
