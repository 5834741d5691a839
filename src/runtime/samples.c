/*
 * samples.c: owns the stack table that CPU samples (and later other sampled
 * events) are counted in.
 *
 * Signal handlers insert concurrently, so the table is an open-addressing
 * hash whose slots are claimed with a compare-and-swap on the hash word; the
 * frames of a new key are copied into a bump-allocated frame arena and the
 * slot is published with a release store of `ready`. A reader that finds a
 * claimed slot not yet ready waits a bounded number of spins: the writer is
 * another thread in the middle of a few stores, and a signal handler cannot
 * be interrupted by itself (SIGPROF is blocked while it runs). Both regions
 * are mmap'd with MAP_NORESERVE, so unused capacity costs no memory.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "samples.h"

#define MAX_PROBES  64
#define READY_SPINS 10000

struct slot {
    _Atomic uint64_t hash; /* 0: empty */
    _Atomic uint32_t ready;
    uint32_t labels;
    uint32_t nframes;
    uint32_t frames_at; /* index into the arena */
    _Atomic uint64_t values[CPROF_SAMPLE_VALUES];
};

struct cprof_samples {
    struct slot *slots;
    size_t nslots; /* a power of two */
    uint64_t *arena;
    size_t arena_cap;
    _Atomic size_t arena_used;
    uint32_t *order; /* slot index + 1 of each key, in the order keys were added */
    _Atomic size_t nkeys;
    _Atomic uint64_t lost;
    _Atomic uint64_t total;
    size_t map_len;
};

static void *map_noreserve(size_t len)
{
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

cprof_samples *cprof__samples_new(size_t max_stacks, size_t max_frames)
{
    size_t nslots = 1;
    while (nslots < max_stacks * 2) /* keep the load factor at most 1/2 */
        nslots <<= 1;
    size_t len = sizeof(cprof_samples) + nslots * sizeof(struct slot) + max_frames * 8 +
                 nslots * sizeof(uint32_t);
    char *mem = map_noreserve(len);
    if (!mem)
        return NULL;
    cprof_samples *t = (cprof_samples *)mem;
    t->slots = (struct slot *)(mem + sizeof *t);
    t->nslots = nslots;
    t->arena = (uint64_t *)(mem + sizeof *t + nslots * sizeof(struct slot));
    t->arena_cap = max_frames;
    t->order = (uint32_t *)(t->arena + max_frames);
    t->map_len = len;
    return t;
}

void cprof__samples_free(cprof_samples *t)
{
    if (t)
        munmap(t, t->map_len);
}

/* async-signal-safe: arithmetic only. */
static uint64_t hash_key(const uint64_t *frames, int n, uint32_t labels)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ labels ^ ((uint64_t)n << 32);
    for (int i = 0; i < n; i++) {
        h ^= frames[i];
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }
    return h ? h : 1;
}

/* async-signal-safe: reads memory this table owns. */
static int same_key(const cprof_samples *t, const struct slot *s, const uint64_t *frames, int n,
                    uint32_t labels)
{
    if (s->nframes != (uint32_t)n || s->labels != labels)
        return 0;
    const uint64_t *have = t->arena + s->frames_at;
    for (int i = 0; i < n; i++)
        if (have[i] != frames[i])
            return 0;
    return 1;
}

/* async-signal-safe: atomics on memory this table owns; bounded loops. */
static int wait_ready(struct slot *s)
{
    for (int i = 0; i < READY_SPINS; i++)
        if (atomic_load_explicit(&s->ready, memory_order_acquire))
            return 1;
    return 0;
}

/* async-signal-safe: see the file comment. */
long cprof__samples_intern(cprof_samples *t, const uint64_t *frames, int nframes, uint32_t labels)
{
    uint64_t h = hash_key(frames, nframes, labels);
    size_t mask = t->nslots - 1;
    for (size_t probe = 0; probe < MAX_PROBES; probe++) {
        size_t index = (h + probe) & mask;
        struct slot *s = &t->slots[index];
        uint64_t have = atomic_load_explicit(&s->hash, memory_order_acquire);
        if (have == 0) {
            uint64_t expected = 0;
            if (!atomic_compare_exchange_strong(&s->hash, &expected, h)) {
                have = expected; /* another thread claimed it first: look at its key */
            } else {
                size_t at = atomic_fetch_add(&t->arena_used, (size_t)nframes);
                if (at + (size_t)nframes > t->arena_cap) {
                    /* Arena exhausted: the slot stays claimed with no frames,
                     * a key nobody can match. */
                    s->nframes = UINT32_MAX;
                    atomic_store_explicit(&s->ready, 1, memory_order_release);
                    return -1;
                }
                memcpy(t->arena + at, frames, (size_t)nframes * sizeof *frames);
                s->frames_at = (uint32_t)at;
                s->nframes = (uint32_t)nframes;
                s->labels = labels;
                atomic_store_explicit(&s->ready, 1, memory_order_release);
                /* +1: a zero entry is one whose writer has not got there yet. */
                __atomic_store_n(&t->order[atomic_fetch_add(&t->nkeys, 1)], (uint32_t)index + 1,
                                 __ATOMIC_RELEASE);
                return (long)index;
            }
        }
        if (have != h)
            continue;
        if (!wait_ready(s))
            return -1;
        if (same_key(t, s, frames, nframes, labels))
            return (long)index;
    }
    return -1;
}

/* async-signal-safe: one atomic add. */
void cprof__samples_add_value(cprof_samples *t, long index, int which, uint64_t delta)
{
    atomic_fetch_add_explicit(&t->slots[index].values[which], delta, memory_order_relaxed);
}

/* async-signal-safe: see the file comment. */
void cprof__samples_add(cprof_samples *t, const uint64_t *frames, int nframes, uint32_t labels,
                        uint64_t weight)
{
    atomic_fetch_add_explicit(&t->total, weight, memory_order_relaxed);
    long index = cprof__samples_intern(t, frames, nframes, labels);
    if (index < 0)
        atomic_fetch_add_explicit(&t->lost, weight, memory_order_relaxed);
    else
        cprof__samples_add_value(t, index, 0, weight);
}

size_t cprof__samples_nkeys(const cprof_samples *t)
{
    return atomic_load(&t->nkeys);
}

long cprof__samples_key_index(const cprof_samples *t, size_t i)
{
    return (long)__atomic_load_n(&t->order[i], __ATOMIC_ACQUIRE) - 1;
}

void cprof__samples_values(const cprof_samples *t, long index, uint64_t *values)
{
    for (int v = 0; v < CPROF_SAMPLE_VALUES; v++)
        values[v] = atomic_load_explicit(&t->slots[index].values[v], memory_order_relaxed);
}

uint32_t cprof__samples_labels(const cprof_samples *t, long index)
{
    return t->slots[index].labels;
}

int cprof__samples_frames(const cprof_samples *t, long index, uint64_t *out, int max)
{
    const struct slot *s = &t->slots[index];
    if (!atomic_load(&s->ready) || s->nframes == UINT32_MAX)
        return 0;
    int n = (int)s->nframes < max ? (int)s->nframes : max;
    memcpy(out, t->arena + s->frames_at, (size_t)n * sizeof *out);
    return n;
}

/* Walks the keys in the order they were added (only the slots in use:
 * the table is mostly untouched pages, which a full scan would fault in). */
void cprof__samples_each(const cprof_samples *t, cprof_samples_fn fn, void *arg)
{
    size_t n = atomic_load(&t->nkeys);
    for (size_t i = 0; i < n; i++) {
        long index = cprof__samples_key_index(t, i);
        if (index < 0)
            continue;
        const struct slot *s = &t->slots[index];
        if (!atomic_load(&s->ready) || s->nframes == UINT32_MAX)
            continue;
        uint64_t values[CPROF_SAMPLE_VALUES];
        int any = 0;
        for (int v = 0; v < CPROF_SAMPLE_VALUES; v++)
            any |= (values[v] = atomic_load_explicit(&s->values[v], memory_order_relaxed)) != 0;
        if (any)
            fn(arg, t->arena + s->frames_at, (int)s->nframes, s->labels, values);
    }
}

uint64_t cprof__samples_lost(const cprof_samples *t)
{
    return atomic_load(&t->lost);
}

uint64_t cprof__samples_total(const cprof_samples *t)
{
    return atomic_load(&t->total);
}
