/*
 * sync_truth: the mutex and block profiles' ground truth. Three threads
 * with waits of known length, each measured by the program itself:
 *
 * - "holder" takes a mutex in hold_lock, spins there for HOLD ms with the
 *   lock held, and releases it, ROUNDS times;
 * - "waiter" asks for the same mutex in want_lock as soon as it sees the
 *   holder has it, so it waits about HOLD ms each round (the holder holds
 *   on until the waiter has said it is asking, should a loaded machine
 *   make the waiter late): the mutex
 *   profile must charge that delay to hold_lock (the releasing stack), the
 *   block profile to want_lock (the waiting stack);
 * - "condwait" waits in wait_signal on a condition variable that
 *   "signaller" signals every COND ms, CROUNDS times: block profile only.
 *
 *   sync_truth [-rounds=N] [-hold_ms=M] [-crounds=N] [-cond_ms=M]
 *
 * Prints, one "key=value" per line: lock_waits, lock_wait_ns (the sum of
 * clock_gettime differences around want_lock's pthread_mutex_lock),
 * cond_waits, cond_wait_ns (likewise around pthread_cond_wait, spurious
 * wake-ups included, each a wait of its own).
 *
 * The hand-offs between rounds are polled with nanosleep, which no profile
 * here counts as a wait, so that the only waits reported are the known ones
 * (and pthread_join in main, which is in main's own function).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static pthread_mutex_t the_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int held_round, asked_round, taken_round;
static int rounds = 25, crounds = 20;
static int64_t hold_ns = 20000000, cond_ns = 30000000;
static int64_t lock_wait_ns, cond_wait_ns;
static long lock_waits, cond_waits, holds;

static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int signalled;         /* under cond_lock */
static atomic_int woke_round; /* the round wait_signal has seen */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pause_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* Waits (by polling) until *v reaches r. */
static void await(atomic_int *v, int r)
{
    while (atomic_load(v) < r)
        pause_us(50);
}

NOIPA static void hold_lock(int r)
{
    pthread_mutex_lock(&the_lock);
    atomic_store(&held_round, r);
    int64_t end = now_ns() + hold_ns;
    while (now_ns() < end || atomic_load(&asked_round) < r)
        ;
    pthread_mutex_unlock(&the_lock);
    holds++; /* not a tail call: hold_lock stays on the releasing stack */
}

static void *holder_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "holder");
    for (int r = 1; r <= rounds; r++) {
        hold_lock(r);
        await(&taken_round, r);
    }
    return NULL;
}

NOIPA static void want_lock(void)
{
    int64_t t0 = now_ns();
    pthread_mutex_lock(&the_lock);
    lock_wait_ns += now_ns() - t0;
    lock_waits++;
    pthread_mutex_unlock(&the_lock);
}

static void *waiter_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "waiter");
    for (int r = 1; r <= rounds; r++) {
        await(&held_round, r);
        atomic_store(&asked_round, r);
        want_lock();
        atomic_store(&taken_round, r);
    }
    return NULL;
}

NOIPA static void wait_signal(int r)
{
    pthread_mutex_lock(&cond_lock);
    while (signalled < r) {
        int64_t t0 = now_ns();
        pthread_cond_wait(&cond, &cond_lock);
        cond_wait_ns += now_ns() - t0;
        cond_waits++;
    }
    pthread_mutex_unlock(&cond_lock);
}

static void *condwait_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "condwait");
    for (int r = 1; r <= crounds; r++) {
        wait_signal(r);
        atomic_store(&woke_round, r);
    }
    return NULL;
}

NOIPA static void signal_at(int r)
{
    pause_us(cond_ns / 1000);
    pthread_mutex_lock(&cond_lock);
    signalled = r;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&cond_lock);
}

static void *signaller_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "signaller");
    for (int r = 1; r <= crounds; r++) {
        signal_at(r);
        await(&woke_round, r);
    }
    return NULL;
}

static long flag(int argc, char **argv, const char *name, long fallback)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && !strncmp(argv[i] + 1, name, n) && argv[i][n + 1] == '=')
            return atol(argv[i] + n + 2);
    return fallback;
}

int main(int argc, char **argv)
{
    rounds = (int)flag(argc, argv, "rounds", rounds);
    hold_ns = flag(argc, argv, "hold_ms", hold_ns / 1000000) * 1000000;
    crounds = (int)flag(argc, argv, "crounds", crounds);
    cond_ns = flag(argc, argv, "cond_ms", cond_ns / 1000000) * 1000000;
    pthread_t t[4];
    void *(*fn[4])(void *) = {holder_main, waiter_main, condwait_main, signaller_main};
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, fn[i], NULL) != 0) {
            fprintf(stderr, "sync_truth: pthread_create failed\n");
            return 1;
        }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("lock_waits=%ld\nlock_wait_ns=%lld\ncond_waits=%ld\ncond_wait_ns=%lld\n", lock_waits,
           (long long)lock_wait_ns, cond_waits, (long long)cond_wait_ns);
    return 0;
}
