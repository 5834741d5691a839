/*
 * sync_semantics: what the interposed waits must leave exactly as glibc
 * has it: return values and errno of the lock, wait and semaphore calls,
 * on their uncontended paths (where the wrappers try first) and their
 * blocking ones.
 *
 * - error-checking mutexes: EDEADLK on relock, EBUSY on trylock, EPERM on
 *   unlock by a non-owner or an unlocked mutex, ETIMEDOUT;
 * - recursive mutexes: lock/trylock/timedlock nest, the count is kept (the
 *   mutex is released only by the last unlock);
 * - normal mutexes: EBUSY, ETIMEDOUT, EINVAL for a bad timeout;
 * - robust mutexes: EOWNERDEAD from lock (uncontended and while blocked)
 *   and trylock, pthread_mutex_consistent, ENOTRECOVERABLE (every time);
 * - read-write locks: EBUSY, ETIMEDOUT, EDEADLK, read locks nest;
 * - condition variables: ETIMEDOUT with the mutex held again;
 * - semaphores: ETIMEDOUT and EINVAL from sem_timedwait, EINTR from sem_wait
 *   and sem_timedwait interrupted by a handler without SA_RESTART, errno
 *   unchanged by a successful wait, blocking or not;
 * - pthread_join: EDEADLK on self, the return value; barriers: one serial
 *   thread per cycle;
 * - errno unchanged across a contended mutex lock and a condition wait.
 *
 * Run it bare to check the checks; under `cprof run -mutexprofile -blockprofile
 * -wallprofile` to check cprof. Prints "checks=N failures=F"; every failure
 * also one line on stderr; exit status 1 if any failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* A pthread call's return value. */
#define EXPECT_RC(expr, want)                                                                      \
    do {                                                                                           \
        int rc_ = (expr), want_ = (want);                                                          \
        CHECK(rc_ == want_, "%s = %d (%s), want %d (%s)", #expr, rc_, strerrorname_np(rc_), want_, \
              strerrorname_np(want_));                                                             \
    } while (0)

/* A call that returns 0, or -1 with errno (semaphores). */
#define EXPECT_ERRNO(expr, want_errno)                                                             \
    do {                                                                                           \
        errno = 0;                                                                                 \
        int rc_ = (expr), e_ = errno, want_ = (want_errno);                                        \
        CHECK(rc_ == -1 && e_ == want_, "%s = %d errno %s, want -1 errno %s", #expr, rc_,          \
              strerrorname_np(e_), strerrorname_np(want_));                                        \
    } while (0)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* CLOCK_REALTIME + ms, as the timed calls want. */
static struct timespec in_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (ms % 1000) * 1000000;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    return ts;
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0) {
        fprintf(stderr, "sync_semantics: pthread_create failed\n");
        exit(2);
    }
    return t;
}

static intptr_t finish(pthread_t t)
{
    void *ret = NULL;
    pthread_join(t, &ret);
    return (intptr_t)ret;
}

static void init_mutex(pthread_mutex_t *m, int type, int robust)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type);
    if (robust)
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

/* ---- Mutexes held by another thread ------------------------------------------------ */

struct hold {
    pthread_mutex_t *m;
    long ms;            /* how long to hold it */
    int exit_holding;   /* end the thread without unlocking (robust) */
    atomic_int locked;  /* set once it holds the lock */
    atomic_int release; /* hold until this is set (when ms is 0) */
};

static void *holder(void *arg)
{
    struct hold *h = arg;
    int rc = pthread_mutex_lock(h->m);
    atomic_store(&h->locked, 1);
    if (h->ms)
        sleep_ms(h->ms);
    else
        while (!atomic_load(&h->release))
            sleep_ms(1);
    if (!h->exit_holding)
        pthread_mutex_unlock(h->m);
    return (void *)(intptr_t)rc;
}

static pthread_t hold_in_thread(struct hold *h)
{
    pthread_t t = start(holder, h);
    while (!atomic_load(&h->locked))
        sleep_ms(1);
    return t;
}

struct other_op {
    pthread_mutex_t *m;
    int op; /* 0: trylock, 1: unlock, 2: timedlock 20 ms */
};

static void *other(void *arg)
{
    struct other_op *o = arg;
    struct timespec ts = in_ms(20);
    int rc = o->op == 0   ? pthread_mutex_trylock(o->m)
             : o->op == 1 ? pthread_mutex_unlock(o->m)
                          : pthread_mutex_timedlock(o->m, &ts);
    if (rc == 0 && o->op != 1)
        pthread_mutex_unlock(o->m);
    return (void *)(intptr_t)rc;
}

static int in_other_thread(pthread_mutex_t *m, int op)
{
    struct other_op o = {m, op};
    return (int)finish(start(other, &o));
}

static void errorcheck(void)
{
    pthread_mutex_t m;
    init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, 0);
    struct timespec ts = in_ms(50);
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    EXPECT_RC(pthread_mutex_lock(&m), EDEADLK);
    EXPECT_RC(pthread_mutex_trylock(&m), EBUSY);
    EXPECT_RC(pthread_mutex_timedlock(&m, &ts), EDEADLK);
    EXPECT_RC(in_other_thread(&m, 0), EBUSY);
    EXPECT_RC(in_other_thread(&m, 1), EPERM);
    EXPECT_RC(in_other_thread(&m, 2), ETIMEDOUT);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    EXPECT_RC(pthread_mutex_unlock(&m), EPERM);

    /* Contended: blocks until the holder lets go, errno untouched. */
    struct hold h = {.m = &m, .ms = 30};
    pthread_t t = hold_in_thread(&h);
    errno = ERANGE;
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    CHECK(errno == ERANGE, "contended errorcheck lock changed errno to %s", strerrorname_np(errno));
    EXPECT_RC(pthread_mutex_lock(&m), EDEADLK);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    EXPECT_RC((int)finish(t), 0);
    pthread_mutex_destroy(&m);
}

struct recursive_taker {
    pthread_mutex_t *m;
    atomic_int got;
};

static void *take_recursive(void *arg)
{
    struct recursive_taker *r = arg;
    int rc = pthread_mutex_lock(r->m);
    atomic_store(&r->got, 1);
    if (rc == 0)
        pthread_mutex_unlock(r->m);
    return (void *)(intptr_t)rc;
}

static void recursive(void)
{
    pthread_mutex_t m;
    init_mutex(&m, PTHREAD_MUTEX_RECURSIVE, 0);
    struct timespec ts = in_ms(50);
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    EXPECT_RC(pthread_mutex_trylock(&m), 0);
    EXPECT_RC(pthread_mutex_timedlock(&m, &ts), 0); /* five deep */
    EXPECT_RC(in_other_thread(&m, 0), EBUSY);
    EXPECT_RC(in_other_thread(&m, 1), EPERM);
    struct recursive_taker r = {&m, 0};
    pthread_t t = start(take_recursive, &r);
    for (int i = 0; i < 4; i++)
        EXPECT_RC(pthread_mutex_unlock(&m), 0);
    sleep_ms(30);
    CHECK(!atomic_load(&r.got), "another thread got a recursive mutex still locked once");
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    EXPECT_RC((int)finish(t), 0);
    CHECK(atomic_load(&r.got), "the waiting thread did not get the mutex after the last unlock");
    EXPECT_RC(pthread_mutex_unlock(&m), EPERM);
    pthread_mutex_destroy(&m);
}

static void normal(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct hold h = {.m = &m};
    pthread_t t = hold_in_thread(&h);
    struct timespec past = in_ms(-1000), bad = {0, 2000000000L}, soon = in_ms(20);
    EXPECT_RC(pthread_mutex_trylock(&m), EBUSY);
    EXPECT_RC(pthread_mutex_timedlock(&m, &past), ETIMEDOUT);
    EXPECT_RC(pthread_mutex_timedlock(&m, &bad), EINVAL);
    int64_t t0 = now_ns();
    EXPECT_RC(pthread_mutex_timedlock(&m, &soon), ETIMEDOUT);
    CHECK(now_ns() - t0 >= 15000000, "timedlock gave up after %lld ns, before its timeout",
          (long long)(now_ns() - t0));
    atomic_store(&h.release, 1);
    errno = ERANGE;
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    CHECK(errno == ERANGE, "contended lock changed errno to %s", strerrorname_np(errno));
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    EXPECT_RC((int)finish(t), 0);
}

static void robust(void)
{
    pthread_mutex_t m;
    /* lock after the owner died: EOWNERDEAD, then consistent, then usable. */
    init_mutex(&m, PTHREAD_MUTEX_NORMAL, 1);
    struct hold h1 = {.m = &m, .ms = 1, .exit_holding = 1};
    finish(hold_in_thread(&h1));
    EXPECT_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    EXPECT_RC(pthread_mutex_consistent(&m), 0);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    pthread_mutex_destroy(&m);

    /* trylock after the owner died; unlock without consistent: unusable,
     * and every later lock says so. Timed locks (1 s), so that a lock left
     * held by mistake shows as ETIMEDOUT rather than a hang. The trylock
     * comes last: glibc's trylock returns ENOTRECOVERABLE but leaves the
     * lock word held, so nothing after it would answer as lock does. */
    init_mutex(&m, PTHREAD_MUTEX_NORMAL, 1);
    struct hold h2 = {.m = &m, .ms = 1, .exit_holding = 1};
    finish(hold_in_thread(&h2));
    EXPECT_RC(pthread_mutex_trylock(&m), EOWNERDEAD);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    for (int i = 0; i < 2; i++) {
        struct timespec second = in_ms(1000);
        EXPECT_RC(pthread_mutex_timedlock(&m, &second), ENOTRECOVERABLE);
    }
    EXPECT_RC(pthread_mutex_trylock(&m), ENOTRECOVERABLE);
    pthread_mutex_destroy(&m);

    /* Blocked in lock when the owner dies (the wrappers' slow path). */
    init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, 1);
    struct hold h3 = {.m = &m, .ms = 40, .exit_holding = 1};
    pthread_t t = hold_in_thread(&h3);
    EXPECT_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    EXPECT_RC(pthread_mutex_consistent(&m), 0);
    EXPECT_RC(pthread_mutex_lock(&m), EDEADLK);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    finish(t);

    /* Blocked in timedlock when the owner dies. */
    struct hold h4 = {.m = &m, .ms = 40, .exit_holding = 1};
    t = hold_in_thread(&h4);
    struct timespec ts = in_ms(5000);
    EXPECT_RC(pthread_mutex_timedlock(&m, &ts), EOWNERDEAD);
    EXPECT_RC(pthread_mutex_consistent(&m), 0);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    finish(t);
    pthread_mutex_destroy(&m);
}

/* ---- Read-write locks ------------------------------------------------------------------- */

struct rw_hold {
    pthread_rwlock_t *l;
    atomic_int locked, release;
};

static void *rw_writer(void *arg)
{
    struct rw_hold *h = arg;
    int rc = pthread_rwlock_wrlock(h->l);
    atomic_store(&h->locked, 1);
    while (!atomic_load(&h->release))
        sleep_ms(1);
    pthread_rwlock_unlock(h->l);
    return (void *)(intptr_t)rc;
}

static void rwlocks(void)
{
    pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
    EXPECT_RC(pthread_rwlock_rdlock(&l), 0);
    EXPECT_RC(pthread_rwlock_rdlock(&l), 0);
    EXPECT_RC(pthread_rwlock_tryrdlock(&l), 0);
    EXPECT_RC(pthread_rwlock_trywrlock(&l), EBUSY);
    for (int i = 0; i < 3; i++)
        EXPECT_RC(pthread_rwlock_unlock(&l), 0);
    EXPECT_RC(pthread_rwlock_wrlock(&l), 0);
    EXPECT_RC(pthread_rwlock_wrlock(&l), EDEADLK);
    EXPECT_RC(pthread_rwlock_rdlock(&l), EDEADLK);
    EXPECT_RC(pthread_rwlock_unlock(&l), 0);

    struct rw_hold h = {&l, 0, 0};
    pthread_t t = start(rw_writer, &h);
    while (!atomic_load(&h.locked))
        sleep_ms(1);
    struct timespec soon = in_ms(20), past = in_ms(-1000), bad = {0, -1};
    EXPECT_RC(pthread_rwlock_tryrdlock(&l), EBUSY);
    EXPECT_RC(pthread_rwlock_trywrlock(&l), EBUSY);
    EXPECT_RC(pthread_rwlock_timedrdlock(&l, &soon), ETIMEDOUT);
    soon = in_ms(20);
    EXPECT_RC(pthread_rwlock_timedwrlock(&l, &soon), ETIMEDOUT);
    EXPECT_RC(pthread_rwlock_timedwrlock(&l, &past), ETIMEDOUT);
    EXPECT_RC(pthread_rwlock_timedrdlock(&l, &bad), EINVAL);
    atomic_store(&h.release, 1);
    errno = ERANGE;
    EXPECT_RC(pthread_rwlock_rdlock(&l), 0);
    CHECK(errno == ERANGE, "contended rdlock changed errno to %s", strerrorname_np(errno));
    EXPECT_RC(pthread_rwlock_unlock(&l), 0);
    EXPECT_RC((int)finish(t), 0);
    pthread_rwlock_destroy(&l);
}

/* ---- Condition variables --------------------------------------------------------------- */

struct signaller {
    pthread_mutex_t *m;
    pthread_cond_t *c;
    int *flag;
};

static void *signal_later(void *arg)
{
    struct signaller *s = arg;
    sleep_ms(20);
    pthread_mutex_lock(s->m);
    *s->flag = 1;
    pthread_cond_signal(s->c);
    pthread_mutex_unlock(s->m);
    return NULL;
}

static void conds(void)
{
    pthread_mutex_t m;
    init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, 0);
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    EXPECT_RC(pthread_mutex_lock(&m), 0);
    struct timespec soon = in_ms(20), past = in_ms(-1000);
    int64_t t0 = now_ns();
    EXPECT_RC(pthread_cond_timedwait(&c, &m, &soon), ETIMEDOUT);
    CHECK(now_ns() - t0 >= 15000000, "cond_timedwait gave up early");
    EXPECT_RC(pthread_mutex_lock(&m), EDEADLK); /* held again after the timeout */
    EXPECT_RC(pthread_cond_timedwait(&c, &m, &past), ETIMEDOUT);
    EXPECT_RC(pthread_mutex_lock(&m), EDEADLK);

    int flag = 0;
    struct signaller s = {&m, &c, &flag};
    pthread_t t = start(signal_later, &s);
    errno = ERANGE;
    while (!flag)
        EXPECT_RC(pthread_cond_wait(&c, &m), 0);
    CHECK(errno == ERANGE, "cond_wait changed errno to %s", strerrorname_np(errno));
    EXPECT_RC(pthread_mutex_lock(&m), EDEADLK);
    EXPECT_RC(pthread_mutex_unlock(&m), 0);
    finish(t);
    pthread_cond_destroy(&c);
    pthread_mutex_destroy(&m);
}

/* ---- Semaphores ----------------------------------------------------------------------- */

static void on_usr1(int sig)
{
    (void)sig;
}

struct sem_waiter {
    sem_t *s;
    int timed;
    atomic_int tid;
    int rc, err;
};

static void *sem_wait_interrupted(void *arg)
{
    struct sem_waiter *w = arg;
    atomic_store(&w->tid, (int)syscall(SYS_gettid));
    struct timespec ts = in_ms(10000);
    errno = 0;
    w->rc = w->timed ? sem_timedwait(w->s, &ts) : sem_wait(w->s);
    w->err = errno;
    return NULL;
}

/* Sends SIGUSR1 to the waiter once it sleeps in the kernel. */
static void interrupt(struct sem_waiter *w)
{
    while (!atomic_load(&w->tid))
        sleep_ms(1);
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", atomic_load(&w->tid));
    for (int i = 0; i < 5000; i++) {
        FILE *f = fopen(path, "re");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'S')
            break;
        sleep_ms(1);
    }
    sleep_ms(5);
    syscall(SYS_tgkill, getpid(), atomic_load(&w->tid), SIGUSR1);
}

static void *post_later(void *arg)
{
    sleep_ms(20);
    sem_post(arg);
    return NULL;
}

static void semaphores(void)
{
    sem_t s;
    sem_init(&s, 0, 0);
    struct timespec past = in_ms(-1000), bad = {0, 2000000000L}, soon = in_ms(20);
    EXPECT_ERRNO(sem_trywait(&s), EAGAIN);
    EXPECT_ERRNO(sem_timedwait(&s, &past), ETIMEDOUT);
    EXPECT_ERRNO(sem_timedwait(&s, &bad), EINVAL);
    int64_t t0 = now_ns();
    EXPECT_ERRNO(sem_timedwait(&s, &soon), ETIMEDOUT);
    CHECK(now_ns() - t0 >= 15000000, "sem_timedwait gave up early");

    /* Success leaves errno alone, on the fast path and the blocking one. */
    sem_post(&s);
    errno = ERANGE;
    CHECK(sem_wait(&s) == 0 && errno == ERANGE, "sem_wait (posted) changed errno to %s",
          strerrorname_np(errno));
    sem_post(&s);
    soon = in_ms(1000);
    errno = ERANGE;
    CHECK(sem_timedwait(&s, &soon) == 0 && errno == ERANGE,
          "sem_timedwait (posted) changed errno to %s", strerrorname_np(errno));
    pthread_t t = start(post_later, &s);
    errno = ERANGE;
    CHECK(sem_wait(&s) == 0 && errno == ERANGE, "sem_wait (blocking) changed errno to %s",
          strerrorname_np(errno));
    finish(t);
    t = start(post_later, &s);
    soon = in_ms(5000);
    errno = ERANGE;
    CHECK(sem_timedwait(&s, &soon) == 0 && errno == ERANGE,
          "sem_timedwait (blocking) changed errno to %s", strerrorname_np(errno));
    finish(t);

    /* The count: three posts, three waits that do not block, then none. */
    for (int i = 0; i < 3; i++)
        sem_post(&s);
    for (int i = 0; i < 3; i++)
        CHECK(sem_wait(&s) == 0, "sem_wait %d of 3 posted", i + 1);
    EXPECT_ERRNO(sem_trywait(&s), EAGAIN);

    /* A handler without SA_RESTART: both waits fail with EINTR. */
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    for (int timed = 0; timed < 2; timed++) {
        struct sem_waiter w = {&s, timed, 0, 0, 0};
        t = start(sem_wait_interrupted, &w);
        interrupt(&w);
        finish(t);
        CHECK(w.rc == -1 && w.err == EINTR, "%s interrupted: %d errno %s, want -1 EINTR",
              timed ? "sem_timedwait" : "sem_wait", w.rc, strerrorname_np(w.err));
    }
    sigaction(SIGUSR1, &old, NULL);
    sem_destroy(&s);
}

/* ---- Join and barriers -------------------------------------------------------------------- */

static void *return_arg(void *arg)
{
    sleep_ms(10);
    return arg;
}

static pthread_barrier_t barrier;

static void *at_barrier(void *unused)
{
    (void)unused;
    return (void *)(intptr_t)pthread_barrier_wait(&barrier);
}

static void joins_and_barriers(void)
{
    EXPECT_RC(pthread_join(pthread_self(), NULL), EDEADLK);
    void *ret = NULL;
    errno = ERANGE;
    EXPECT_RC(pthread_join(start(return_arg, (void *)0x1234), &ret), 0);
    CHECK(errno == ERANGE, "pthread_join changed errno to %s", strerrorname_np(errno));
    CHECK(ret == (void *)0x1234, "pthread_join returned %p, want 0x1234", ret);

    for (int cycle = 0; cycle < 3; cycle++) {
        pthread_barrier_init(&barrier, NULL, 4);
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            t[i] = start(at_barrier, NULL);
        int serial = 0, zero = 0;
        int rc = pthread_barrier_wait(&barrier);
        serial += rc == PTHREAD_BARRIER_SERIAL_THREAD;
        zero += rc == 0;
        for (int i = 0; i < 3; i++) {
            rc = (int)finish(t[i]);
            serial += rc == PTHREAD_BARRIER_SERIAL_THREAD;
            zero += rc == 0;
        }
        CHECK(serial == 1 && zero == 3, "barrier: %d serial and %d zero returns, want 1 and 3",
              serial, zero);
        pthread_barrier_destroy(&barrier);
    }
}

int main(void)
{
    errorcheck();
    recursive();
    normal();
    robust();
    rwlocks();
    conds();
    semaphores();
    joins_and_barriers();
    printf("checks=%d\nfailures=%d\n", checks, failures);
    return failures ? 1 : 0;
}
