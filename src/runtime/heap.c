/*
 * heap.c: owns the interposed malloc family and heap sampling.
 *
 * Every allocation function forwards to the next definition in the
 * process (glibc's, or tcmalloc/jemalloc when the program brings one), so
 * block layout and allocator behaviour do not change. Around that:
 *
 * - Sampling, as Go and tcmalloc do: each thread counts down the bytes it
 *   allocates; when the countdown crosses zero the allocation is sampled and
 *   a new countdown is drawn from an exponential distribution with mean
 *   `rate` bytes (a Poisson process over allocated bytes, so that a block of
 *   size S is sampled with probability 1 - exp(-S/rate) whatever its
 *   neighbours). Unsampled allocations cost one thread-local subtraction and
 *   compare, done before the call so that the hook tail-calls the next
 *   malloc; every thread counts down whether sampling is on or not, which
 *   spares the fast path a check of the state. rate 1 samples every
 *   allocation (exact mode, leak checking).
 * - Sampled blocks are remembered in a live table (address -> stack, size),
 *   sharded by address under 64 mutexes. A free must not pay a hash lookup
 *   when it cannot hit, so a counting filter (one byte per bucket of
 *   addresses, in shared memory) says "certainly not sampled" with one load;
 *   only a non-zero counter leads to the table. The filter is sized for the
 *   sampled live blocks, few at the default rate, so that it stays in cache.
 * - The fast paths read no state: malloc's countdown and free's filter
 *   themselves send a call to the slow path when it has more to do (see
 *   "The hooks' state").
 * - Stacks are interned in a cprof_samples table with four counters per
 *   stack: allocations, bytes, frees, freed bytes (raw, sampled values; the
 *   profile writer un-samples them).
 *
 * Bootstrap: dlsym, used to find the next malloc, itself calls calloc.
 * Allocations made while resolving come from a small static arena, and
 * free() recognises and ignores them.
 *
 * Reentrancy: cprof's own allocations (and those of a signal handler that
 * interrupts a hook) pass straight through, marked by the thread-local
 * `in_hook`.
 *
 * Locking: shard mutexes protect the live table; the stack table is
 * lock-free; `hooks.state`, `rate` and the filter pointer are atomics.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cprof.h"
#include "bench_heapcount.h"
#include "errors.h"
#include "heap.h"
#include "labels.h"
#include "threads.h"
#include "unwind.h"

#define MAX_HEAP_STACKS (256 * 1024)
#define MAX_HEAP_FRAMES (8 * 1024 * 1024)
#define SHARDS          64
/* Frames of cprof between an allocation and the program, left out of its
 * stack: the hook (malloc, ...) and account_alloc. The stack's leaf is the
 * function that called malloc, as in Go's and heaptrack's profiles. */
#define HOOK_FRAMES 2

/* ---- The hooks' state and the next allocator ---------------------------------- */

/* What the hooks must do, in one word; the fast paths do not read it, but
 * two values derived from it (hooks.alloc_floor, hooks.free_filter, below).
 *   HOOK_READY    the next allocator is resolved (the next_* below are set);
 *   HOOK_TRACKED  the filter exists: free must look its block up. It stays
 *                 set when sampling stops: blocks sampled before are still in
 *                 the live table, and their frees must still be counted;
 *   HOOK_SAMPLE   heap sampling is on;
 *   HOOK_COUNT    exact counting is on (see "Exact counting");
 *   HOOK_CLEAR    new blocks are cleared (leak checking);
 *   HOOK_BOOT     a block was handed out from the bootstrap arena: free must
 *                 recognise those (glibc 2.36's dlsym allocates nothing, so
 *                 it is normally off). */
enum {
    HOOK_READY = 1,
    HOOK_TRACKED = 2,
    HOOK_SAMPLE = 4,
    HOOK_COUNT = 8,
    HOOK_CLEAR = 16,
    HOOK_BOOT = 32
};

/* The free filter (see "Live table"). */
struct filter {
    unsigned shift;  /* 64 - log2(counters): the index is a hash's top bits */
    uint8_t count[]; /* 1 << (64 - shift) counters */
};

/* free_filter's two fixed values, of two counters each (the index is the
 * hash's top bit). */
static struct filter filter_none = {63, {0, 0}};
static struct filter filter_all = {63, {1, 1}};

/* Everything the fast paths read, in one cache line written only when
 * profiling starts or stops or the filter grows: no write by the hooks
 * themselves shares it.
 *
 * The fast paths read no state word: each does the work that profiling
 * needs of every call, whatever is on, and that work itself sends the call
 * to the slow path when there is more to do. Checking a state first cost an
 * allocation a load, a mask, a compare and a branch more while profiling
 * was on (docs/performance.md, "Heap profiling").
 * - malloc and calloc count down the thread's bytes until its next sample,
 *   always, and take the slow path when the countdown reaches alloc_floor:
 *   0 while the fast path may be taken (heap sampling on or off: with it
 *   off, the slow path only draws a new countdown), INT64_MAX while every
 *   allocation must take the slow path (the next allocator not resolved yet,
 *   exact counting, leak checking's clearing).
 * - free reads the counter of its block's address in free_filter, and takes
 *   the slow path when it is not zero: the live table's filter while blocks
 *   are tracked; filter_none, all zero, while none are; filter_all, never
 *   zero, while free must do more (the next allocator not resolved yet, or
 *   bootstrap blocks handed out).
 * hooks_sync derives both from the state and the filter. */
static struct {
    /* The first cache line: what the fast paths read. */
    _Atomic int64_t alloc_floor;
    _Atomic(struct filter *) free_filter;
    void *(*next_malloc)(size_t);
    void (*next_free)(void *);
    void *(*next_calloc)(size_t, size_t);
    /* The slow paths'. */
    _Atomic unsigned state;
    _Atomic(struct filter *) filter; /* the live table's; NULL until heap profiling first starts */
    void *(*next_realloc)(void *, size_t);
    void *(*next_memalign)(size_t, size_t);
    int (*next_posix_memalign)(void **, size_t, size_t);
    void *(*next_aligned_alloc)(size_t, size_t);
    void *(*next_valloc)(size_t);
    void *(*next_pvalloc)(size_t);
} hooks __attribute__((aligned(64))) = {.alloc_floor = INT64_MAX, .free_filter = &filter_all};

/* Acquire: HOOK_READY publishes the next_* pointers (a plain load on x86). */
static inline unsigned hook_state(void)
{
    return atomic_load_explicit(&hooks.state, memory_order_acquire);
}

/* Held by whoever changes the state or the filter, so that the fast paths'
 * two words are always derived from the latest of both. Never taken by a
 * fast path, nor while allocating. */
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t alloc_floor_for(unsigned s)
{
    int every_allocation = !(s & HOOK_READY) || (s & (HOOK_COUNT | HOOK_CLEAR));
    return every_allocation ? INT64_MAX : 0;
}

static struct filter *free_filter_for(unsigned s, struct filter *tracked)
{
    if (!(s & HOOK_READY) || (s & HOOK_BOOT))
        return &filter_all;
    return (s & HOOK_TRACKED) && tracked ? tracked : &filter_none;
}

/* hooks_lock held. Release: HOOK_READY's next_* pointers and a new filter's
 * counters are written before a fast path can be sent to them. */
static void hooks_sync(void)
{
    unsigned s = atomic_load(&hooks.state);
    struct filter *tracked = atomic_load_explicit(&hooks.filter, memory_order_relaxed);
    atomic_store_explicit(&hooks.alloc_floor, alloc_floor_for(s), memory_order_release);
    atomic_store_explicit(&hooks.free_filter, free_filter_for(s, tracked), memory_order_release);
}

static void hook_set(unsigned bit, int on)
{
    pthread_mutex_lock(&hooks_lock);
    if (on)
        atomic_fetch_or(&hooks.state, bit);
    else
        atomic_fetch_and(&hooks.state, ~bit);
    hooks_sync();
    pthread_mutex_unlock(&hooks_lock);
}

/* Publishes the live table's filter: the first, or a grown one. */
static void filter_publish(struct filter *f)
{
    pthread_mutex_lock(&hooks_lock);
    atomic_store_explicit(&hooks.filter, f, memory_order_release);
    hooks_sync();
    pthread_mutex_unlock(&hooks_lock);
}

static _Atomic int resolved; /* 0: not yet, 1: resolving, 2: done */
static _Alignas(16) char boot_arena[64 * 1024];
static _Atomic size_t boot_used;

/* One subtraction and one unsigned compare (NULL is not in it). */
static inline int in_boot_arena(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot_arena < sizeof boot_arena;
}

/* noinline: it keeps the hooks' fast paths free of its registers. */
__attribute__((noinline)) static void *boot_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    size_t at = atomic_load(&boot_used), start;
    do {
        start = (at + align - 1) & ~(align - 1);
        if (start + size > sizeof boot_arena)
            return NULL;
    } while (!atomic_compare_exchange_weak(&boot_used, &at, start + size));
    /* Before the block is out: whoever frees it got it after this store. */
    if (!(hook_state() & HOOK_BOOT))
        hook_set(HOOK_BOOT, 1);
    return boot_arena + start; /* static storage: already zeroed */
}

static void resolve_next(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&resolved, &expected, 1)) {
        while (atomic_load(&resolved) != 2) /* another thread resolves: its dlsym is short */
            ;
        return;
    }
    hooks.next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    hooks.next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    hooks.next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    hooks.next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    hooks.next_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    hooks.next_posix_memalign =
        (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    hooks.next_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    hooks.next_valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
    hooks.next_pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
    /* For tests: a lookup that fails makes the dynamic loader allocate its
     * error message now, from the bootstrap arena, as older C libraries'
     * dlsym did on every call; glibc 2.36 allocates nothing here, and the
     * bootstrap paths (HOOK_BOOT, free_slow) would go untested. */
    const char *boot = getenv("CPROF_TEST_HEAP_BOOT");
    if (boot && *boot == '1') {
        dlsym(RTLD_NEXT, "cprof_no_such_symbol");
        static const char used[] = "cprof: heap: the bootstrap arena is in use "
                                   "(CPROF_TEST_HEAP_BOOT)\n";
        /* The raw system call: cprof's own write() would look the C
         * library's up with dlsym, which frees the loader's error now,
         * before the allocator is ready; the test wants it freed after. */
        if (atomic_load(&boot_used))
            syscall(SYS_write, 2, used, sizeof used - 1);
    }
    hook_set(HOOK_READY, 1); /* seq_cst: after the pointers */
    atomic_store(&resolved, 2);
}

/* The hooks' slow paths: resolves the next allocator on first use. */
static inline int ready(void)
{
    if (__builtin_expect(hook_state() & HOOK_READY, 1))
        return 1;
    if (atomic_load(&resolved) == 0)
        resolve_next();
    return atomic_load(&resolved) == 2;
}

/* ---- Sampling state ------------------------------------------------------------- */

#define DEFAULT_RATE (512 * 1024)

static _Atomic long sample_rate = DEFAULT_RATE;
static _Atomic(cprof_samples *) stacks;
static _Atomic int64_t inuse_estimate;

/* Every thread counts down, sampling on or off (see hooks): with sampling
 * off, at the current rate or the default, so that a thread's countdown is
 * a fair one whenever sampling starts. The epoch tells a countdown drawn
 * before the latest start or change of rate (cprof__heap_start resets them
 * all to 0) from the current draw. */
static _Atomic unsigned countdown_epoch = 1;
static __thread int64_t bytes_until_sample __attribute__((tls_model("initial-exec")));
static __thread unsigned my_countdown_epoch __attribute__((tls_model("initial-exec")));
static __thread int in_hook __attribute__((tls_model("initial-exec")));
static __thread uint64_t rng_state __attribute__((tls_model("initial-exec")));

/* xorshift64*: a per-thread generator, no locks, good enough for sampling. */
static uint64_t next_random(void)
{
    if (!rng_state)
        rng_state = (uint64_t)(uintptr_t)&rng_state ^ 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* The bytes until the next sample: exponential with mean `rate`, by
 * inversion (-rate * ln(U), U uniform in (0, 1]), as tcmalloc and Go draw it.
 * rate 1 means every allocation. */
static int64_t draw_countdown(long rate)
{
    if (rate <= 1)
        return 0;
    double u = ((double)(next_random() >> 11) + 1.0) / 9007199254740992.0; /* (0, 1] */
    double bytes = -log(u) * (double)rate;
    return bytes > 1e15 ? (int64_t)1e15 : (int64_t)bytes + 1;
}

/* ---- Live table: sampled blocks by address -------------------------------------- */

struct live_entry {
    uintptr_t ptr; /* 0: empty */
    uint64_t size;
    long stack;
};

struct shard {
    pthread_mutex_t lock;
    struct live_entry *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;   /* written under the lock; read without it by live_remove */
} __attribute__((aligned(64)));

static struct shard shards[SHARDS];

static uint64_t mix(uintptr_t p)
{
    uint64_t h = (uint64_t)p >> 4;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 31);
}

static struct shard *shard_of(uintptr_t p)
{
    return &shards[mix(p) % SHARDS];
}

/* The filter: one-byte counters, each the number of sampled live blocks
 * whose address hashes to it (saturating: at 255 it stays "maybe" for good).
 * Every free of a tracked process reads one counter at a random index, so
 * the filter must stay in cache: a fixed 1 MiB one cost an L1 miss on nearly
 * every free of bench_heap mt, and an L2 miss on one in ten (docs/
 * performance.md, "Heap profiling"). It is sized for the sampled live blocks
 * instead: at the default rate they are about heap size / rate (a few dozen
 * for a heap of tens of MiB), so it starts with 1024 counters (1 KiB, 16
 * cache lines: 4 KiB still cost bench_heap mt 0.2 L1 misses per free) and
 * grows 4x whenever the live table holds more than one block per
 * FILTER_LOAD counters, which keeps false hits (a look at the block's shard,
 * most often empty, for nothing) under about 1 in FILTER_LOAD frees. It stops at 1 Mi
 * counters: beyond, as at rate 1 (leak checking), nearly every free hits the
 * table anyway. Filters outgrown are never unmapped, as a free on another
 * thread may still be reading one; together they are a third of the last. */
#define FILTER_MIN_BITS  10
#define FILTER_MAX_BITS  20
#define FILTER_GROW_BITS 2
#define FILTER_LOAD      16

/* Fibonacci hashing of the address itself, not of p >> 4 as mix() does: the
 * low four bits are zero for every block, which only shifts the product's
 * well-mixed bits up by four (the index takes its top bits), and every free
 * of a tracked process computes this: the shift saves two instructions. */
static size_t filter_index(const struct filter *f, uintptr_t p)
{
    return (size_t)((uint64_t)p * 0x9e3779b97f4a7c15ULL >> f->shift);
}

static size_t filter_counters(const struct filter *f)
{
    return (size_t)1 << (64 - f->shift);
}

/* 0 means the block was certainly not sampled. Acquire: a grown filter's
 * counters were written before it was published. Why a block inserted after
 * a grow cannot be missed by a free that read the older filter: the insert
 * (under its shard lock) comes after the publication (made under every shard
 * lock), and the free of that block after the insert, so the free's load of
 * the pointer sees the new filter. */
static inline int filter_hit(const struct filter *f, const void *p)
{
    return __atomic_load_n(&f->count[filter_index(f, (uintptr_t)p)], __ATOMIC_RELAXED) != 0;
}

static inline int maybe_sampled(const void *p)
{
    const struct filter *f = atomic_load_explicit(&hooks.filter, memory_order_acquire);
    return f && filter_hit(f, p);
}

static void counter_add(struct filter *f, uintptr_t p, int delta)
{
    uint8_t *c = &f->count[filter_index(f, p)];
    uint8_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
    for (;;) {
        if (v == 255)
            return; /* saturated: stays "maybe" for good */
        uint8_t want = (uint8_t)(v + delta);
        if (__atomic_compare_exchange_n(c, &v, want, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return;
    }
}

/* Called with p's shard lock held, so that the filter cannot be replaced
 * meanwhile (filter_grow holds every shard lock). */
static void filter_add(uintptr_t p, int delta)
{
    counter_add(atomic_load_explicit(&hooks.filter, memory_order_relaxed), p, delta);
}

static void *map_zeroed(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static struct filter *filter_new(unsigned bits)
{
    struct filter *f = map_zeroed(sizeof *f + ((size_t)1 << bits));
    if (f)
        f->shift = 64 - bits;
    return f;
}

/* The sampled blocks in the live table, all shards: whether the filter is
 * outgrown is decided on it (one shard's count times SHARDS was too noisy for
 * a small filter: a second block in one shard looked like a table of 128 and
 * sent a thread into filter_grow, for nothing, on most samples). */
static _Atomic size_t live_blocks;

/* Whether the live table has outgrown the filter. */
static int filter_outgrown(void)
{
    const struct filter *f = atomic_load_explicit(&hooks.filter, memory_order_relaxed);
    return f->shift > 64 - FILTER_MAX_BITS &&
           atomic_load_explicit(&live_blocks, memory_order_relaxed) * FILTER_LOAD >
               filter_counters(f);
}

static pthread_mutex_t filter_grow_lock = PTHREAD_MUTEX_INITIALIZER;

/* Replaces the filter with one FILTER_GROW_BITS larger, filled from the live
 * table under every shard lock (no insert or remove meanwhile; the memory is
 * mapped before, to hold them briefly). Called with no shard lock held,
 * inside cprof (in_hook set). Only the holder of filter_grow_lock replaces
 * the filter; a thread that finds another growing it moves on, and the
 * exact count, taken under the locks, decides. */
static void filter_grow(void)
{
    if (pthread_mutex_trylock(&filter_grow_lock) != 0)
        return;
    struct filter *old = atomic_load_explicit(&hooks.filter, memory_order_relaxed);
    unsigned bits = 64 - old->shift + FILTER_GROW_BITS;
    struct filter *f = bits <= FILTER_MAX_BITS ? filter_new(bits) : NULL;
    if (!f) {
        pthread_mutex_unlock(&filter_grow_lock);
        return;
    }
    cprof__heap_lock_live();
    size_t live = 0;
    for (int i = 0; i < SHARDS; i++)
        live += shards[i].n;
    int grow = live * FILTER_LOAD > filter_counters(old);
    if (grow) { /* filled before it is published: a free may read it at once */
        for (int i = 0; i < SHARDS; i++)
            for (size_t j = 0; j < shards[i].cap; j++)
                if (shards[i].slots[j].ptr)
                    counter_add(f, shards[i].slots[j].ptr, 1);
        filter_publish(f);
    }
    cprof__heap_unlock_live();
    if (!grow)
        munmap(f, sizeof *f + filter_counters(f));
    pthread_mutex_unlock(&filter_grow_lock);
}

/* Shard lock held. Doubles the table; on failure the shard keeps its size. */
static int shard_grow(struct shard *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    struct live_entry *slots = map_zeroed(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        struct live_entry e = s->slots[i];
        if (!e.ptr)
            continue;
        size_t j = mix(e.ptr) / SHARDS & (cap - 1);
        while (slots[j].ptr)
            j = (j + 1) & (cap - 1);
        slots[j] = e;
    }
    if (s->slots)
        munmap(s->slots, s->cap * sizeof *slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

/* Non-zero while this thread holds (or is taking) shard locks. A signal
 * handler that interrupts it there and frees a block the filter cannot rule
 * out (a false hit is enough: a growing filter is crowded) must not wait for
 * a lock its own thread holds; it leaves the live table alone instead. A
 * sampled block freed that way stays in the table until its address is
 * freed again (the free is then counted late) or sampled again; it takes a
 * handler that frees a sampled block within those few microseconds. */
static __thread int shards_held __attribute__((tls_model("initial-exec")));

static void shard_lock(struct shard *s)
{
    shards_held++; /* before: a signal may come while it waits */
    pthread_mutex_lock(&s->lock);
}

static void shard_unlock(struct shard *s)
{
    pthread_mutex_unlock(&s->lock);
    shards_held--;
}

/* Shard lock held. An atomic store, for live_remove's read without the lock. */
static void shard_count(struct shard *s, int delta)
{
    __atomic_store_n(&s->n, s->n + (size_t)delta, __ATOMIC_RELAXED); /* -1 wraps */
    atomic_fetch_add_explicit(&live_blocks, (size_t)delta, memory_order_relaxed);
}

/* Whether the shard may hold p, without its lock: at the default rate a few
 * dozen sampled blocks spread over 64 shards, so that most of the filter's
 * false hits find their shard empty and need not take its lock. It cannot
 * miss p: p's insert (under the lock) happened before the program freed p,
 * and the count cannot drop to 0 while p is in. */
static int shard_may_hold(const struct shard *s)
{
    return __atomic_load_n(&s->n, __ATOMIC_RELAXED) != 0;
}

/* Inside cprof (in_hook set): it may grow the filter, which maps memory. */
static void live_insert(uintptr_t p, uint64_t size, long stack)
{
    if (shards_held) /* a signal handler interrupting the table (see shards_held) */
        return;
    struct shard *s = shard_of(p);
    shard_lock(s);
    if ((s->n + 1) * 2 > s->cap && shard_grow(s) < 0) {
        shard_unlock(s);
        return;
    }
    size_t j = mix(p) / SHARDS & (s->cap - 1);
    while (s->slots[j].ptr && s->slots[j].ptr != p)
        j = (j + 1) & (s->cap - 1);
    if (!s->slots[j].ptr) {
        shard_count(s, 1);
        filter_add(p, 1);
    }
    s->slots[j] = (struct live_entry){p, size, stack};
    int outgrown = filter_outgrown();
    shard_unlock(s);
    if (outgrown)
        filter_grow();
}

/* Removes p; returns 1 with its entry if it was there. Linear probing with
 * backward-shift deletion keeps probe chains tombstone-free. */
static int live_remove(uintptr_t p, struct live_entry *out)
{
    if (shards_held) /* a signal handler interrupting the table (see shards_held) */
        return 0;
    struct shard *s = shard_of(p);
    if (!shard_may_hold(s))
        return 0;
    shard_lock(s);
    int found = 0;
    if (s->cap) {
        size_t mask = s->cap - 1, j = mix(p) / SHARDS & mask;
        while (s->slots[j].ptr && s->slots[j].ptr != p)
            j = (j + 1) & mask;
        if (s->slots[j].ptr == p) {
            found = 1;
            *out = s->slots[j];
            shard_count(s, -1);
            filter_add(p, -1);
            size_t hole = j;
            for (size_t k = (j + 1) & mask; s->slots[k].ptr; k = (k + 1) & mask) {
                size_t home = mix(s->slots[k].ptr) / SHARDS & mask;
                /* Move k into the hole unless its home lies cyclically in (hole, k]. */
                int stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
                if (!stays) {
                    s->slots[hole] = s->slots[k];
                    hole = k;
                }
            }
            s->slots[hole].ptr = 0;
        }
    }
    shard_unlock(s);
    return found;
}

void cprof__heap_lock_live(void)
{
    for (int i = 0; i < SHARDS; i++)
        shard_lock(&shards[i]);
}

void cprof__heap_unlock_live(void)
{
    for (int i = 0; i < SHARDS; i++)
        shard_unlock(&shards[i]);
}

void cprof__heap_each_live_locked(cprof_heap_block_fn fn, void *arg)
{
    for (int i = 0; i < SHARDS; i++) {
        const struct shard *s = &shards[i];
        for (size_t j = 0; j < s->cap; j++)
            if (s->slots[j].ptr)
                fn(arg, s->slots[j].ptr, s->slots[j].size, s->slots[j].stack);
    }
}

size_t cprof__heap_live_count(void)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        shard_lock(&shards[i]);
        n += shards[i].n;
        shard_unlock(&shards[i]);
    }
    return n;
}

/* ---- Peak: the in-use stacks when the estimated heap was largest -------------------- */

static pthread_mutex_t peak_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int64_t peak_trigger = INT64_MAX; /* INT64_MAX: peak tracking off */
static struct cprof_heap_peak_entry *peak;
static size_t npeak, cappeak;
static int64_t peak_bytes;

/* Copies every stack's counters when the heap estimate reaches a new high,
 * 2% (or one sampling period) above the last copy, so that steady growth
 * costs a few hundred copies, not one per sample. try-lock: a thread that
 * finds another copying moves on. Memory from mmap: called inside malloc. */
static void snapshot_peak(int64_t now)
{
    cprof_samples *t = atomic_load(&stacks);
    if (!t || pthread_mutex_trylock(&peak_lock) != 0)
        return;
    if (now >= atomic_load(&peak_trigger)) {
        size_t n = cprof__samples_nkeys(t);
        if (n > cappeak) {
            size_t cap = n * 2 + 256;
            struct cprof_heap_peak_entry *grown = map_zeroed(cap * sizeof *grown);
            if (grown) {
                if (peak)
                    munmap(peak, cappeak * sizeof *peak);
                peak = grown;
                cappeak = cap;
            }
        }
        size_t k = 0;
        for (size_t i = 0; i < n && k < cappeak; i++) {
            long index = cprof__samples_key_index(t, i);
            if (index < 0)
                continue;
            peak[k].stack = index;
            cprof__samples_values(t, index, peak[k].values);
            k++;
        }
        npeak = k;
        peak_bytes = now;
        long rate = atomic_load(&sample_rate);
        int64_t step = now / 50 > rate ? now / 50 : rate;
        atomic_store(&peak_trigger, now + step);
    }
    pthread_mutex_unlock(&peak_lock);
}

void cprof__heap_track_peak(void)
{
    int64_t expected = INT64_MAX;
    atomic_compare_exchange_strong(&peak_trigger, &expected, 1);
}

size_t cprof__heap_peak_copy(struct cprof_heap_peak_entry **out, uint64_t *bytes)
{
    pthread_mutex_lock(&peak_lock);
    size_t n = npeak;
    *out = n ? malloc(n * sizeof **out) : NULL;
    if (*out)
        memcpy(*out, peak, n * sizeof **out);
    else
        n = 0;
    *bytes = (uint64_t)peak_bytes;
    pthread_mutex_unlock(&peak_lock);
    return n;
}

/* ---- The sampled paths ------------------------------------------------------------- */

/* The allocation's stack, from the hook's caller on; inlined into
 * account_alloc, whose frame it reads. libcprof keeps frame pointers
 * (-fno-omit-frame-pointer), so account_alloc's frame holds the hook's frame
 * pointer, and the hook's frame the caller's frame pointer and return
 * address: the registers that the CFI walk would reach by stepping through
 * cprof__unwind_here, account_alloc and the hook, three of the ~7 steps of a
 * heap sample in bench_heap, at two loads instead of ~75 instructions each.
 * The stack is the same. A hook frame that is not just above this one (a
 * build without frame pointers) falls back to the full walk. */
static inline __attribute__((always_inline)) int unwind_allocation(uint64_t *pcs)
{
    const uintptr_t *mine = __builtin_frame_address(0);
    const uintptr_t *hook = (const uintptr_t *)mine[0];
    uintptr_t above = (uintptr_t)hook - (uintptr_t)mine;
    if (above == 0 || above > 4096 || ((uintptr_t)hook & 7))
        return cprof__unwind_here(pcs, CPROF_MAX_FRAMES, HOOK_FRAMES);
    return cprof__unwind_caller(hook[1], (uintptr_t)(hook + 2), hook[0], pcs, CPROF_MAX_FRAMES);
}

static void count_alloc(size_t size);

/* The allocation hooks' slow path, after the allocation: exact counting,
 * the countdown, and a sample when the countdown runs out with sampling on
 * (with it off, only a new countdown). Out of line, and called from the
 * hook itself, not from a function of its, for two reasons: its frame is
 * one of HOOK_FRAMES, the hook's the other (unwind_allocation); and the
 * hook's fast path then has no thread-local address to keep for the slow
 * path, so that GCC leaves it without a frame. */
__attribute__((noinline)) static void account_alloc(void *p, size_t size)
{
    if (!p)
        return;
    unsigned on = hook_state();
    if (__builtin_expect(on & HOOK_COUNT, 0))
        count_alloc(size);
    bytes_until_sample -= (int64_t)size;
    if (__builtin_expect(bytes_until_sample > 0, 1))
        return;
    long rate = atomic_load_explicit(&sample_rate, memory_order_relaxed);
    if (!(on & HOOK_SAMPLE)) {
        bytes_until_sample = draw_countdown(rate > 1 ? rate : DEFAULT_RATE);
        return;
    }
    unsigned epoch = atomic_load_explicit(&countdown_epoch, memory_order_relaxed);
    if (my_countdown_epoch != epoch && rate > 1) {
        /* A thread's first countdown at this rate: without a draw, the first
         * allocation of every thread would be sampled, biasing small sizes
         * up. */
        my_countdown_epoch = epoch;
        bytes_until_sample = draw_countdown(rate) - (int64_t)size;
        if (bytes_until_sample > 0)
            return;
    }
    bytes_until_sample = draw_countdown(rate);
    cprof_samples *t = atomic_load(&stacks);
    if (in_hook || !t)
        return;
    in_hook = 1;
    uint64_t pcs[CPROF_MAX_FRAMES];
    int n = unwind_allocation(pcs);
    long stack = cprof__samples_intern(t, pcs, n, cprof__labels_current());
    if (stack >= 0) {
        cprof__samples_add_value(t, stack, HEAP_ALLOC_COUNT, 1);
        cprof__samples_add_value(t, stack, HEAP_ALLOC_BYTES, size);
        live_insert((uintptr_t)p, size, stack);
        int64_t now =
            atomic_fetch_add_explicit(&inuse_estimate, (int64_t)size, memory_order_relaxed) +
            (int64_t)size;
        if (now >= atomic_load_explicit(&peak_trigger, memory_order_relaxed))
            snapshot_peak(now);
    }
    in_hook = 0;
}

/* ---- Exact counting (the benchmark harness's -benchmem; bench_heapcount.h) ------------ */

/* Why not sampling at rate 1: it unwinds and records a stack for every
 * allocation, which would distort the ns/op it runs next to. Counting costs
 * nothing when off: counting sets hooks.alloc_floor, so an allocation with
 * counting off pays nothing more than the countdown it always does. When on, each thread adds to
 * counters of its own (a slot taken on its first counted allocation and kept after it exits, so no
 * count is lost),
 * with plain loads and stores: no locked instruction, no cache line shared
 * between threads, so a multi-threaded benchmark's ns/op is not skewed by
 * the counting. Reading sums the slots. Threads beyond COUNT_SLOTS share one
 * slot with atomic adds: still exact. All threads count, as Go's MemStats
 * do for all goroutines. */
#define COUNT_SLOTS 1024

struct count_slot {
    _Atomic uint64_t allocs, bytes;
} __attribute__((aligned(64)));

static struct count_slot count_slots[COUNT_SLOTS], count_shared;
static _Atomic uint32_t count_nslots;
static _Atomic int count_users; /* nested starts */
static __thread struct count_slot *count_mine __attribute__((tls_model("initial-exec")));

/* noinline: keeps the hooks' slow path small; it is not on the stack when
 * account_alloc unwinds (it has returned by then), so HOOK_FRAMES holds. */
__attribute__((noinline)) static void count_alloc(size_t size)
{
    if (in_hook) /* cprof's own allocations */
        return;
    struct count_slot *s = count_mine;
    if (!s) {
        uint32_t i = atomic_fetch_add_explicit(&count_nslots, 1, memory_order_relaxed);
        s = i < COUNT_SLOTS ? &count_slots[i] : &count_shared;
        count_mine = s;
    }
    if (s == &count_shared) {
        atomic_fetch_add_explicit(&s->allocs, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->bytes, size, memory_order_relaxed);
        return;
    }
    /* Only this thread writes its slot; relaxed 64-bit stores keep a reader
     * from seeing half a value. */
    atomic_store_explicit(&s->allocs, atomic_load_explicit(&s->allocs, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&s->bytes, atomic_load_explicit(&s->bytes, memory_order_relaxed) + size,
                          memory_order_relaxed);
}

void cprof__heap_count_start(void)
{
    if (atomic_fetch_add(&count_users, 1) == 0)
        hook_set(HOOK_COUNT, 1);
}

void cprof__heap_count_stop(void)
{
    if (atomic_fetch_sub(&count_users, 1) == 1)
        hook_set(HOOK_COUNT, 0);
}

void cprof__heap_count_read(uint64_t *allocs, uint64_t *bytes)
{
    uint32_t n = atomic_load_explicit(&count_nslots, memory_order_relaxed);
    uint64_t a = atomic_load_explicit(&count_shared.allocs, memory_order_relaxed);
    uint64_t b = atomic_load_explicit(&count_shared.bytes, memory_order_relaxed);
    for (uint32_t i = 0; i < n && i < COUNT_SLOTS; i++) {
        a += atomic_load_explicit(&count_slots[i].allocs, memory_order_relaxed);
        b += atomic_load_explicit(&count_slots[i].bytes, memory_order_relaxed);
    }
    *allocs = a;
    *bytes = b;
}

/* ---- End of exact counting ------------------------------------------------------------ */

/* The allocation hooks' fast path, taken before the allocation so that the
 * hook can tail-call the next allocator: 1 when this allocation may go
 * straight to it (the countdown stays above hooks.alloc_floor), 0 when it
 * must take the slow path (account_alloc then subtracts it, and samples).
 * An allocation that then fails has still used up countdown: harmless, as
 * the countdown is memoryless (a Poisson process over the bytes asked for;
 * each block that is allocated is still sampled with probability
 * 1 - exp(-size/rate)). The subtraction is unsigned, as a size above
 * INT64_MAX must not overflow: such an allocation fails anyway. Acquire:
 * a floor of 0 publishes the next_* pointers. */
static inline int countdown_goes_on(size_t size)
{
    int64_t left = (int64_t)((uint64_t)bytes_until_sample - size);
    if (__builtin_expect(left <= atomic_load_explicit(&hooks.alloc_floor, memory_order_acquire), 0))
        return 0;
    bytes_until_sample = left;
    return 1;
}

static void account_free_entry(const struct live_entry *e)
{
    cprof_samples *t = atomic_load(&stacks);
    if (!t)
        return;
    cprof__samples_add_value(t, e->stack, HEAP_FREE_COUNT, 1);
    cprof__samples_add_value(t, e->stack, HEAP_FREE_BYTES, e->size);
    atomic_fetch_sub_explicit(&inuse_estimate, (int64_t)e->size, memory_order_relaxed);
}

/* Before a block that may have been sampled (maybe_sampled) goes back to
 * the allocator (another thread may get the same address at once, so the
 * entry must be gone first). noinline: rare at the default rate, and it
 * keeps free's fast path small. */
__attribute__((noinline)) static void account_free(void *p)
{
    /* Inside cprof while a shard lock is held: a signal handler that
     * allocates now must pass through, not wait for this lock. */
    in_hook++;
    struct live_entry e;
    if (live_remove((uintptr_t)p, &e))
        account_free_entry(&e);
    in_hook--;
}

/* Leak checking clears new blocks, as valgrind in effect does by knowing
 * which bytes were never written: otherwise the stale pointers that
 * uninitialised memory holds (earlier contents, the allocator's free lists)
 * point into other blocks and hide their leaks. Programs may not rely on
 * what uninitialised memory holds; the cost is a memset per allocation, in
 * a mode that records every allocation anyway. */
static _Atomic int clear_new_blocks;

static inline void clear_new(void *p, size_t size)
{
    if (__builtin_expect(atomic_load_explicit(&clear_new_blocks, memory_order_relaxed), 0) && p)
        memset(p, 0, size);
}

void cprof__heap_clear_new_blocks(int on)
{
    atomic_store(&clear_new_blocks, on);
    hook_set(HOOK_CLEAR, on); /* the hooks' fast paths skip clear_new */
}

/* ---- The interposed functions ---------------------------------------------------------- */

/* An empty asm that gives the slow path its own copy of the argument: else
 * GCC keeps it in a callee-saved register for the whole function, and the
 * fast path pays that register's save and restore (shrink-wrapping fails). */
#define slow_path_only(x) __asm__("" : "+r"(*(x)))

/* malloc, free and calloc have fast paths without a frame of cprof's,
 * profiling on or off: malloc's and calloc's a thread-local subtraction, a
 * compare and a tail call; free's one filter counter read and a tail call
 * (see hooks). Their slow paths are inlined, not called, so that the hook's
 * frame is the one HOOK_FRAMES counts (free does not unwind). */

CPROF_API void *malloc(size_t size)
{
    if (__builtin_expect(countdown_goes_on(size), 1))
        return hooks.next_malloc(size);
    slow_path_only(&size);
    if (!ready())
        return boot_alloc(size, 16);
    void *p = hooks.next_malloc(size);
    clear_new(p, size);
    account_alloc(p, size);
    return p;
}

/* free's slow path, out of line so that its fast path needs no frame:
 * its block's counter was not zero in the filter `f`. */
__attribute__((noinline)) static void free_slow(void *p, const struct filter *f)
{
    if (!p) /* the live table's empty slots hold 0: never look NULL up */
        return;
    if (f != &filter_all) { /* the live table's filter: the block may be sampled */
        account_free(p);
        hooks.next_free(p);
        return;
    }
    /* Not resolved yet, or bootstrap blocks handed out. */
    unsigned s = hook_state();
    if ((s & HOOK_BOOT) && in_boot_arena(p)) /* not the allocator's: ignored */
        return;
    if ((s & HOOK_TRACKED) && maybe_sampled(p))
        account_free(p);
    if (ready())
        hooks.next_free(p);
}

CPROF_API void free(void *p)
{
    const struct filter *f = atomic_load_explicit(&hooks.free_filter, memory_order_acquire);
    if (__builtin_expect(!filter_hit(f, p), 1)) {
        hooks.next_free(p); /* free(NULL) included: the allocator's no-op */
        return;
    }
    free_slow(p, f);
}

CPROF_API void *calloc(size_t n, size_t size)
{
    /* calloc's blocks are zeroed already: leak checking's clearing does not
     * concern it, but takes it to the slow path all the same. */
    size_t total;
    if (__builtin_expect(!__builtin_mul_overflow(n, size, &total) && countdown_goes_on(total), 1))
        return hooks.next_calloc(n, size);
    slow_path_only(&n);
    slow_path_only(&size);
    if (!ready()) {
        if (__builtin_mul_overflow(n, size, &total))
            return NULL;
        return boot_alloc(total, 16);
    }
    void *p = hooks.next_calloc(n, size);
    account_alloc(p, n * size); /* no overflow: calloc returned a block */
    return p;
}

CPROF_API void *realloc(void *p, size_t size)
{
    if (in_boot_arena(p)) { /* a bootstrap block growing: move it to the real heap */
        void *q = malloc(size);
        if (q) {
            size_t room = (size_t)(boot_arena + sizeof boot_arena - (char *)p);
            memcpy(q, p, size < room ? size : room);
        }
        return q;
    }
    if (!ready())
        return boot_alloc(size, 16);
    struct live_entry e;
    in_hook++; /* as in account_free */
    int had = p && maybe_sampled(p) && live_remove((uintptr_t)p, &e);
    in_hook--;
    void *q = hooks.next_realloc(p, size);
    if (!q && size && p) { /* failed: p is still allocated, and still sampled */
        in_hook++;
        if (had)
            live_insert((uintptr_t)p, e.size, e.stack);
        in_hook--;
        return NULL;
    }
    if (had)
        account_free_entry(&e);
    if (q && (!p || (had && size > e.size)))
        clear_new((char *)q + (p ? e.size : 0), size - (p ? e.size : 0));
    account_alloc(q, size);
    return q;
}

CPROF_API void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

CPROF_API void *memalign(size_t align, size_t size)
{
    if (!ready())
        return boot_alloc(size, align);
    void *p = hooks.next_memalign(align, size);
    clear_new(p, size);
    account_alloc(p, size);
    return p;
}

CPROF_API int posix_memalign(void **out, size_t align, size_t size)
{
    if (!ready()) {
        *out = boot_alloc(size, align);
        return *out ? 0 : ENOMEM;
    }
    int rc = hooks.next_posix_memalign(out, align, size);
    if (rc == 0) {
        clear_new(*out, size);
        account_alloc(*out, size);
    }
    return rc;
}

CPROF_API void *aligned_alloc(size_t align, size_t size)
{
    if (!ready())
        return boot_alloc(size, align);
    void *p = hooks.next_aligned_alloc(align, size);
    clear_new(p, size);
    account_alloc(p, size);
    return p;
}

CPROF_API void *valloc(size_t size)
{
    if (!ready())
        return boot_alloc(size, 4096);
    void *p = hooks.next_valloc(size);
    clear_new(p, size);
    account_alloc(p, size);
    return p;
}

CPROF_API void *pvalloc(size_t size)
{
    if (!ready())
        return boot_alloc(size, 4096);
    void *p = hooks.next_pvalloc(size);
    clear_new(p, size);
    account_alloc(p, size);
    return p;
}

/* ---- Control ------------------------------------------------------------------------------ */

cprof_samples *cprof__heap_table(void)
{
    return atomic_load(&stacks);
}

long cprof__heap_rate(void)
{
    return atomic_load(&sample_rate);
}

uint64_t cprof__heap_inuse_bytes(void)
{
    int64_t v = atomic_load(&inuse_estimate);
    return v > 0 ? (uint64_t)v : 0;
}

int64_t *cprof__heap_countdown_self(void)
{
    return &bytes_until_sample;
}

/* Zero makes the thread's next allocation take the slow path, which draws
 * a countdown at the current rate. A plain store into another thread's TLS:
 * at worst that thread overwrites it with its own subtraction, and a
 * sample comes a little later. */
static void reset_countdown(int64_t *countdown)
{
    __atomic_store_n(countdown, 0, __ATOMIC_RELAXED);
}

int cprof__heap_in_internal(void)
{
    return in_hook;
}

void cprof__heap_enter_internal(void)
{
    in_hook++;
}

void cprof__heap_leave_internal(void)
{
    in_hook--;
}

int cprof__heap_start(long rate)
{
    if (rate < 0)
        return cprof__fail("heap profile rate %ld is negative", rate);
    if (rate == 0) {
        hook_set(HOOK_SAMPLE, 0);
        return 0;
    }
    if (!atomic_load(&hooks.filter)) {
        struct filter *f = filter_new(FILTER_MIN_BITS);
        if (!f)
            return cprof__fail("heap profile: cannot map its filter: %s", strerror(errno));
        /* Tracked before any block can be sampled (HOOK_SAMPLE). */
        pthread_mutex_lock(&hooks_lock);
        int first = !atomic_load(&hooks.filter); /* else another start won */
        if (first) {
            atomic_store(&hooks.filter, f);
            atomic_fetch_or(&hooks.state, HOOK_TRACKED);
            hooks_sync();
        }
        pthread_mutex_unlock(&hooks_lock);
        if (!first)
            munmap(f, sizeof *f + filter_counters(f));
    }
    if (!atomic_load(&stacks)) {
        cprof_samples *t = cprof__samples_new(MAX_HEAP_STACKS, MAX_HEAP_FRAMES);
        if (!t)
            return cprof__fail("heap profile: cannot map its table: %s", strerror(errno));
        atomic_store(&stacks, t);
    }
    cprof__unwind_refresh();
    long old = atomic_exchange(&sample_rate, rate);
    int was_sampling = hook_state() & HOOK_SAMPLE;
    hook_set(HOOK_SAMPLE, 1);
    if (rate != old || !was_sampling) {
        /* Each thread's countdown was drawn at the old rate, or while
         * sampling was off: each draws anew at its next allocation. */
        atomic_fetch_add(&countdown_epoch, 1);
        cprof__threads_each_countdown(reset_countdown);
    }
    return 0;
}

CPROF_API int cprof_heap_set_rate(long rate)
{
    return cprof__heap_start(rate);
}

static void atfork_prepare(void)
{
    cprof__heap_lock_live();
    pthread_mutex_lock(&hooks_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&hooks_lock);
    cprof__heap_unlock_live();
}

static void atfork_child(void)
{
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&shards[i].lock, NULL);
    shards_held = 0; /* atfork_prepare took them all; they are new now */
    /* Held only around a grow, which needs every shard lock: a fork can come
     * while another thread waits for them, holding this one. */
    pthread_mutex_init(&filter_grow_lock, NULL);
    pthread_mutex_init(&hooks_lock, NULL);
}

void cprof__heap_init(void)
{
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&shards[i].lock, NULL);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
