/*
 * sync_many: many short contended waits of known total, for the sampling
 * rules of the mutex profile (1 in N waits, scaled by N) and of the block
 * profile (waits shorter than the rate kept in proportion to their length).
 *
 * Two threads play ROUNDS rounds of hand-over: "holder" takes the mutex in
 * hold_briefly, spins there for a time drawn uniformly from [MIN, MAX] us
 * (a fixed pseudo-random sequence: every run draws the same times), and
 * releases it; "waiter" asks for the mutex in want_briefly as soon as it
 * sees it taken, and so waits about that long. The holder also holds on
 * until the waiter sleeps on the lock (glibc's lock word is 2: a waiter is
 * in the futex), so that on a loaded machine a late waiter still finds the
 * lock taken: every round is one contended wait. Only "holds until the
 * waiter said it asks" was not enough: a waiter preempted between saying so
 * and locking found the lock free (8% of the rounds at load 6). The wait
 * for the lock word gives up after a second (another libc, say); the
 * program counts the rounds it saw blocked (lock_blocked), which is the
 * count's ground truth.
 *
 *   sync_many [-rounds=N] [-min_us=A] [-max_us=B]
 *
 * Prints lock_waits=N, lock_contended=N (waits over 5 us), lock_blocked=N
 * (rounds whose waiter the holder saw asleep on the lock) and
 * lock_wait_ns=SUM (clock_gettime around each pthread_mutex_lock of the
 * waiter), and the standard deviations, in percent of the true value, that
 * the sampled profiles' estimates have for the waits this run had:
 *
 * - mutex profile, 1 in 10 waits kept, each counted 10 times: the delay
 *   total's variance is 9 * sum(d^2), the count's 9 * N;
 * - block profile, rate R = 1 ms: a wait d < R is kept with probability d/R
 *   as R ns and R/d waits, so the delay's variance is sum(d (R - d)) and the
 *   count's sum(R/d - 1) over the waits shorter than R (longer ones are
 *   exact).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <math.h>
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
static int rounds = 4000;
static int64_t min_ns = 100000, max_ns = 300000;
static int64_t lock_wait_ns;
static long lock_waits, contended, blocked, holds;
/* For the spread of the sampled estimates (see main). */
static double sum_sq_ns2, block_var_ns2, block_count_var;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Polls until *v reaches r: short spins, then a yield (2 CPUs may be shared
 * with the other thread and with other tests). */
static void await(atomic_int *v, int r)
{
    for (int i = 0; atomic_load(v) < r; i++)
        if (i > 100)
            sched_yield();
}

/* glibc's lock word: 0 free, 1 taken, 2 taken with a sleeping waiter. */
static int waiter_sleeps(void)
{
    return __atomic_load_n(&the_lock.__data.__lock, __ATOMIC_ACQUIRE) == 2;
}

NOIPA static void hold_briefly(int r, int64_t ns)
{
    pthread_mutex_lock(&the_lock);
    atomic_store(&held_round, r);
    int64_t end = now_ns() + ns, give_up = end + 1000000000;
    while (now_ns() < end)
        ;
    /* Past the hold time, the waiter may need this CPU to reach the lock. */
    while (atomic_load(&asked_round) < r || (!waiter_sleeps() && now_ns() < give_up))
        sched_yield();
    blocked += waiter_sleeps();
    pthread_mutex_unlock(&the_lock);
    holds++; /* not a tail call: hold_briefly stays on the releasing stack */
}

static void *holder_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "holder");
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int r = 1; r <= rounds; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hold_briefly(r, min_ns + (int64_t)(x % (uint64_t)(max_ns - min_ns + 1)));
        await(&taken_round, r);
    }
    return NULL;
}

NOIPA static void want_briefly(void)
{
    int64_t t0 = now_ns();
    pthread_mutex_lock(&the_lock);
    int64_t waited = now_ns() - t0;
    lock_wait_ns += waited;
    lock_waits++;
    contended += waited > 5000;
    double d = (double)waited, rate = 1e6;
    sum_sq_ns2 += d * d;
    if (d > 0 && d < rate) {
        block_var_ns2 += d * (rate - d);
        block_count_var += rate / d - 1;
    }
    pthread_mutex_unlock(&the_lock);
}

static void *waiter_main(void *unused)
{
    (void)unused;
    pthread_setname_np(pthread_self(), "waiter");
    for (int r = 1; r <= rounds; r++) {
        await(&held_round, r);
        atomic_store(&asked_round, r);
        want_briefly();
        atomic_store(&taken_round, r);
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
    min_ns = flag(argc, argv, "min_us", min_ns / 1000) * 1000;
    max_ns = flag(argc, argv, "max_us", max_ns / 1000) * 1000;
    if (rounds < 1 || min_ns < 0 || max_ns < min_ns) {
        fprintf(stderr, "sync_many: bad flags\n");
        return 2;
    }
    pthread_t h, w;
    if (pthread_create(&h, NULL, holder_main, NULL) ||
        pthread_create(&w, NULL, waiter_main, NULL)) {
        fprintf(stderr, "sync_many: pthread_create failed\n");
        return 1;
    }
    pthread_join(h, NULL);
    pthread_join(w, NULL);
    printf("lock_waits=%ld\nlock_contended=%ld\nlock_blocked=%ld\nlock_wait_ns=%lld\n", lock_waits,
           contended, blocked, (long long)lock_wait_ns);
    double total = (double)lock_wait_ns, n = (double)lock_waits;
    printf("sd_mutex10_delay_pct=%.2f\nsd_mutex10_count_pct=%.2f\n",
           total > 0 ? 100 * sqrt(9 * sum_sq_ns2) / total : 0, n > 0 ? 100 * sqrt(9 * n) / n : 0);
    printf("sd_block1ms_delay_pct=%.2f\nsd_block1ms_count_pct=%.2f\n",
           total > 0 ? 100 * sqrt(block_var_ns2) / total : 0,
           n > 0 ? 100 * sqrt(block_count_var) / n : 0);
    return 0;
}
