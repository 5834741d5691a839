/*
 * contention.c: owns the mutex and block profiles.
 *
 * Block profile: time spent waiting, charged to the waiting stack, for every
 * wait sync.c reports. Sampled as Go's runtime.SetBlockProfileRate: a wait
 * of at least `rate` ns is always recorded; a shorter one with probability
 * delay/rate, and then counted as rate/delay waits of rate ns in all, which
 * keeps the totals unbiased. rate 1 records every wait.
 *
 * Mutex profile: the delay of threads that waited for a mutex, charged to
 * the stack that released it (Go's semantics: the long critical section is
 * what to fix, not the waiter). An unlock that finds waiters records its
 * stack in a small table keyed by mutex address; the waiter, once it has
 * the lock, looks there for who released it. Sampled 1 in `fraction` waits
 * and scaled back by `fraction`. Where no release was seen (a lock released
 * inside pthread_cond_wait, or a read-write lock, whose owner glibc does not
 * expose) the delay is charged to the waiting stack.
 *
 * Both tables are lock-free (samples.c); recording happens in the waiting
 * thread after its wait, and in the releasing thread before its unlock.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "contention.h"
#include "cprof.h"
#include "errors.h"
#include "labels.h"
#include "profile_write.h"
#include "settings.h"
#include "sync.h"
#include "unwind.h"

#define MAX_STACKS    (64 * 1024)
#define MAX_FRAMES    (4 * 1024 * 1024)
#define RELEASE_SLOTS 4096

static _Atomic int mutex_fraction;
static _Atomic int64_t block_rate;
static _Atomic(cprof_samples *) mutex_table, block_table;
static int64_t start_unix_ns;

struct release {
    _Atomic uintptr_t mutex;
    _Atomic long stack;
};
static struct release releases[RELEASE_SLOTS];

static __thread uint64_t rng __attribute__((tls_model("initial-exec")));

static uint64_t next_random(void)
{
    if (!rng)
        rng = (uint64_t)(uintptr_t)&rng ^ 0x9e3779b97f4a7c15ULL;
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static struct release *release_slot(const void *mutex)
{
    uint64_t h = (uint64_t)(uintptr_t)mutex * 0x9e3779b97f4a7c15ULL;
    return &releases[h >> 52]; /* 12 bits: RELEASE_SLOTS */
}

int cprof__mutex_profile_on(void)
{
    return atomic_load_explicit(&mutex_fraction, memory_order_relaxed) > 0;
}

/* The stack of a wrapper's frame. Its leaf is a pseudo-frame naming the
 * wrapper, not the pc where its registers were read: that pc lies in code
 * inlined into the wrapper, whose names would lead the stack. */
static long intern_stack(cprof_samples *t, const struct cprof_wait *w)
{
    uint64_t pcs[CPROF_MAX_FRAMES];
    int n = cprof__unwind_regs(w->pc, w->sp, w->fp, 0, pcs, CPROF_MAX_FRAMES);
    if (n > 0 && w->func)
        pcs[0] = w->func;
    return cprof__samples_intern(t, pcs, n, cprof__labels_current());
}

void cprof__contention_release(const void *mutex, const struct cprof_wait *where)
{
    cprof_samples *t = atomic_load(&mutex_table);
    if (!t)
        return;
    long stack = intern_stack(t, where);
    if (stack < 0)
        return;
    struct release *r = release_slot(mutex);
    atomic_store_explicit(&r->stack, stack, memory_order_relaxed);
    atomic_store_explicit(&r->mutex, (uintptr_t)mutex, memory_order_release);
}

/* The stack that last released `mutex` with waiters, or -1. The mutex word
 * is read on both sides of the stack so that a slot being overwritten for
 * another mutex is not mistaken for ours. */
static long releaser_of(const void *mutex)
{
    struct release *r = release_slot(mutex);
    if (atomic_load_explicit(&r->mutex, memory_order_acquire) != (uintptr_t)mutex)
        return -1;
    long stack = atomic_load_explicit(&r->stack, memory_order_relaxed);
    if (atomic_load_explicit(&r->mutex, memory_order_acquire) != (uintptr_t)mutex)
        return -1;
    return stack;
}

static void record_block(int64_t delay, const struct cprof_wait *where)
{
    cprof_samples *t = atomic_load(&block_table);
    int64_t rate = atomic_load_explicit(&block_rate, memory_order_relaxed);
    if (!t || rate <= 0 || delay <= 0)
        return;
    uint64_t count = 1, total = (uint64_t)delay;
    if (delay < rate) {
        if ((int64_t)(next_random() % (uint64_t)rate) >= delay)
            return;
        count = (uint64_t)((rate + delay / 2) / delay);
        total = (uint64_t)rate;
    }
    long stack = intern_stack(t, where);
    if (stack < 0)
        return;
    cprof__samples_add_value(t, stack, 0, count);
    cprof__samples_add_value(t, stack, 1, total);
}

static void record_mutex(const void *mutex, int64_t delay, const struct cprof_wait *where)
{
    cprof_samples *t = atomic_load(&mutex_table);
    int fraction = atomic_load_explicit(&mutex_fraction, memory_order_relaxed);
    if (!t || fraction <= 0 || delay <= 0)
        return;
    if (fraction > 1 && next_random() % (uint64_t)fraction != 0)
        return;
    long stack = releaser_of(mutex);
    if (stack < 0)
        stack = intern_stack(t, where);
    if (stack < 0)
        return;
    cprof__samples_add_value(t, stack, 0, (uint64_t)fraction);
    cprof__samples_add_value(t, stack, 1, (uint64_t)delay * (uint64_t)fraction);
}

void cprof__contention_wait(int state, const void *object, int64_t delay_ns,
                            const struct cprof_wait *where)
{
    record_block(delay_ns, where);
    if (state == CPROF_STATE_MUTEX || state == CPROF_STATE_RWLOCK)
        record_mutex(object, delay_ns, where);
}

/* ---- Control -------------------------------------------------------------------- */

static int64_t now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int ensure_table(_Atomic(cprof_samples *) *slot)
{
    if (atomic_load(slot))
        return 0;
    cprof_samples *t = cprof__samples_new(MAX_STACKS, MAX_FRAMES);
    if (!t)
        return cprof__fail("cannot map a contention table");
    cprof_samples *expected = NULL;
    if (!atomic_compare_exchange_strong(slot, &expected, t))
        cprof__samples_free(t);
    if (!start_unix_ns)
        start_unix_ns = now_unix_ns();
    cprof__unwind_refresh();
    return 0;
}

CPROF_API int cprof_mutex_set_fraction(int fraction)
{
    if (fraction < 0)
        return cprof__fail("cprof_mutex_set_fraction: %d is negative", fraction);
    if (fraction > 0 && ensure_table(&mutex_table) < 0)
        return -1;
    atomic_store(&mutex_fraction, fraction);
    cprof__sync_consumer(CPROF_SYNC_MUTEX, fraction > 0);
    return 0;
}

CPROF_API int cprof_block_set_rate(long rate_ns)
{
    if (rate_ns < 0)
        return cprof__fail("cprof_block_set_rate: %ld is negative", rate_ns);
    if (rate_ns > 0 && ensure_table(&block_table) < 0)
        return -1;
    atomic_store(&block_rate, (int64_t)rate_ns);
    cprof__sync_consumer(CPROF_SYNC_BLOCK, rate_ns > 0);
    return 0;
}

static int contention_values(void *arg, const uint64_t *c, int64_t *values)
{
    (void)arg;
    values[0] = (int64_t)c[0];
    values[1] = (int64_t)c[1];
    return c[0] != 0;
}

/* Writes to path, or into *out when path is NULL. An empty profile when the
 * profile was never turned on, as Go writes one. */
static int write_profile(int mutex, const char *path, uint8_t **out, size_t *out_len)
{
    static const char *const types[][2] = {{"contentions", "count"}, {"delay", "nanoseconds"}};
    cprof_samples *t = atomic_load(mutex ? &mutex_table : &block_table);
    int64_t now = now_unix_ns();
    int64_t period = mutex ? atomic_load(&mutex_fraction) : atomic_load(&block_rate);
    cprof_profile_writer *w = cprof__profile_writer_begin(
        types, 2, "delay", "contentions", "count", period > 0 ? period : 1,
        start_unix_ns ? start_unix_ns : now, start_unix_ns ? now - start_unix_ns : 0);
    if (!w)
        return -1;
    if (t)
        cprof__profile_writer_add_table(w, t, contention_values, NULL);
    return cprof__profile_writer_end(w, path, out, out_len);
}

static int write_file(int mutex, const char *path)
{
    char full[PATH_MAX];
    if (!path || !*path)
        return cprof__fail("no output path");
    if (cprof__settings_expand_path(path, full, sizeof full) < 0)
        return -1;
    return write_profile(mutex, full, NULL, NULL);
}

CPROF_API int cprof_mutex_write(const char *path)
{
    return write_file(1, path);
}

CPROF_API int cprof_block_write(const char *path)
{
    return write_file(0, path);
}

long cprof__contention_count(int mutex)
{
    cprof_samples *t = atomic_load(mutex ? &mutex_table : &block_table);
    return t ? (long)cprof__samples_nkeys(t) : 0;
}

int cprof__contention_encode(int mutex, uint8_t **out, size_t *out_len)
{
    return write_profile(mutex, NULL, out, out_len);
}

static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;
static char exit_paths[2][PATH_MAX]; /* [1]: mutex, [0]: block */

int cprof__contention_set_exit_path(int mutex, const char *pattern)
{
    char full[PATH_MAX];
    if (strlen(pattern) >= PATH_MAX)
        return cprof__fail("path too long: %s", pattern);
    if (cprof__settings_expand_path(pattern, full, sizeof full) < 0 ||
        cprof__settings_check_writable(full) < 0)
        return -1;
    pthread_mutex_lock(&exit_lock);
    strcpy(exit_paths[mutex ? 1 : 0], pattern);
    pthread_mutex_unlock(&exit_lock);
    cprof__agent_start();
    return 0;
}

/* As for heap profiles: a forked child writes only to paths with %p. */
static void atfork_child(void)
{
    pthread_mutex_init(&exit_lock, NULL);
    for (int m = 0; m < 2; m++)
        if (!strstr(exit_paths[m], "%p"))
            exit_paths[m][0] = '\0';
}

void cprof__contention_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

void cprof__contention_flush(void)
{
    pthread_mutex_lock(&exit_lock);
    for (int m = 0; m < 2; m++)
        if (exit_paths[m][0] && write_file(m, exit_paths[m]) < 0)
            cprof__warn("%s", cprof_last_error());
    pthread_mutex_unlock(&exit_lock);
}
