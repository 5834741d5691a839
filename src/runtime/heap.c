/*
 * heap.c: owns the interposed malloc family and heap sampling.
 *
 * Every allocation function forwards to the next definition in the
 * process (glibc's, or tcmalloc/jemalloc when the program brings one), so
 * that the allocator's behaviour does not change; only a sampled block (one
 * in rate / size) is allocated with 16 bytes more, for a header before it.
 * Around that:
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
 *   sharded by address under 64 mutexes. A free must not pay a lookup when
 *   it cannot hit, so a sampled block carries a tag in the 8 bytes before it
 *   (see "Sampled blocks"): free reads that word, where the allocator keeps
 *   its own header, and only a tagged block leads to the table.
 * - The fast paths read no state: malloc's countdown and free's look at the
 *   tag themselves send a call to the slow path when it has more to do (see
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
 * lock-free; `hooks.state` and `rate` are atomics, and hooks_lock orders
 * the writers of the state.
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
 * stack: the hook (malloc, ...) and alloc_sampled. The stack's leaf is the
 * function that called malloc, as in Go's and heaptrack's profiles. */
#define HOOK_FRAMES 2

/* ---- The hooks' state and the next allocator ---------------------------------- */

/* What the hooks must do, in one word; the fast paths do not read it, but
 * two values derived from it (hooks.alloc_floor, hooks.free_to, below).
 *   HOOK_READY    the next allocator is resolved (the next_* below are set);
 *   HOOK_SAMPLE   heap sampling is on;
 *   HOOK_COUNT    exact counting is on (see "Exact counting");
 *   HOOK_CLEAR    new blocks are cleared (leak checking);
 *   HOOK_BOOT     a block was handed out from the bootstrap arena: free must
 *                 recognise those (glibc 2.36's dlsym allocates nothing, so
 *                 it is normally off). */
enum { HOOK_READY = 1, HOOK_SAMPLE = 4, HOOK_COUNT = 8, HOOK_CLEAR = 16, HOOK_BOOT = 32 };

static void free_checked(void *p);

/* Everything the fast paths read, in one cache line written only when
 * profiling starts or stops: no write by the hooks themselves shares it.
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
 * - free looks at the 8 bytes before its block for a sampled block's tag
 *   (see "Sampled blocks"), and hands every other block to free_to: the
 *   next allocator's free, or free_checked while the next allocator is not
 *   resolved or bootstrap blocks are out.
 * hooks_sync derives both from the state. */
static struct {
    /* The first cache line: what the fast paths read. */
    _Atomic int64_t alloc_floor;
    _Atomic(void (*)(void *)) free_to;
    void *(*next_malloc)(size_t);
    void *(*next_calloc)(size_t, size_t);
    void *(*next_realloc)(void *, size_t);
    /* The slow paths'. */
    _Atomic unsigned state;
    void (*next_free)(void *);
    void *(*next_memalign)(size_t, size_t);
    int (*next_posix_memalign)(void **, size_t, size_t);
    void *(*next_aligned_alloc)(size_t, size_t);
    void *(*next_valloc)(size_t);
    void *(*next_pvalloc)(size_t);
    size_t (*next_usable_size)(void *);
} hooks __attribute__((aligned(64))) = {.alloc_floor = INT64_MAX, .free_to = free_checked};

/* Acquire: HOOK_READY publishes the next_* pointers (a plain load on x86). */
static inline unsigned hook_state(void)
{
    return atomic_load_explicit(&hooks.state, memory_order_acquire);
}

/* Held by whoever changes the state, so that the fast paths' two words are
 * always derived from its latest value. Never taken by a fast path, nor
 * while allocating. */
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t alloc_floor_for(unsigned s)
{
    int every_allocation = !(s & HOOK_READY) || (s & (HOOK_COUNT | HOOK_CLEAR));
    return every_allocation ? INT64_MAX : 0;
}

static void (*free_to_for(unsigned s))(void *)
{
    return (s & HOOK_READY) && !(s & HOOK_BOOT) ? hooks.next_free : free_checked;
}

/* hooks_lock held. Release: HOOK_READY's next_* pointers are written before
 * a fast path can be sent to them. */
static void hooks_sync(void)
{
    unsigned s = atomic_load(&hooks.state);
    atomic_store_explicit(&hooks.alloc_floor, alloc_floor_for(s), memory_order_release);
    atomic_store_explicit(&hooks.free_to, free_to_for(s), memory_order_release);
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
    hooks.next_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
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

/* free's target while the next allocator is not resolved, or bootstrap
 * blocks are out (HOOK_BOOT): a bootstrap block is not the allocator's, and
 * is ignored. */
static void free_checked(void *p)
{
    if (!p || in_boot_arena(p))
        return;
    if (ready())
        hooks.next_free(p);
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

/* Sharded by address under SHARDS mutexes: a sample and a sampled block's
 * free take one shard's lock. Nothing else takes them: free recognises a
 * sampled block by its header (see "Sampled blocks") before it looks it up
 * here. */
struct live_entry {
    uintptr_t ptr; /* the program's pointer; 0: empty */
    uint64_t size; /* as asked for */
    long stack;
    size_t offset; /* from the allocator's block to ptr: 0, or the header's room */
};

struct shard {
    pthread_mutex_t lock;
    struct live_entry *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;   /* written under the lock; read without it by live_lookup */
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

static void *map_zeroed(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Each shard's first slots, side by side: at the default rate a shard holds
 * a block or two, and a sample and a sampled block's free each probe one of
 * its slots. With 1024 slots mapped per shard (2 MiB over 64 shards, every
 * probe on a page of its own), that probe missed the TLB and the caches: 87%
 * of alloc_sampled's own time in a perf profile of bench_heap mt. 16 slots
 * each keep all the shards' first slots in 32 KiB. */
#define SHARD_FIRST_SLOTS 16
static struct live_entry first_slots[SHARDS][SHARD_FIRST_SLOTS];

/* Shard lock held. Doubles the table; on failure the shard keeps its size. */
static int shard_grow(struct shard *s)
{
    struct live_entry *first = first_slots[s - shards];
    size_t cap = s->cap ? s->cap * 2 : SHARD_FIRST_SLOTS;
    struct live_entry *slots = s->cap ? map_zeroed(cap * sizeof *slots) : first;
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
    if (s->slots && s->slots != first)
        munmap(s->slots, s->cap * sizeof *slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

/* Non-zero while this thread holds (or is taking) shard locks. A signal
 * handler that interrupts it there must not wait for a lock its own thread
 * holds: it samples nothing, and a block it frees that may be sampled is
 * left allocated (see release_sampled). */
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

/* Shard lock held. An atomic store, for the reads without the lock. */
static void shard_count(struct shard *s, int delta)
{
    __atomic_store_n(&s->n, s->n + (size_t)delta, __ATOMIC_RELAXED); /* -1 wraps */
}

/* Whether the shard may hold p, without its lock: at the default rate a few
 * dozen sampled blocks spread over 64 shards, so that most lookups of
 * blocks that were not sampled (page-aligned ones, see "Sampled blocks")
 * find their shard empty and need not take its lock. It cannot miss p: p's
 * insert (under the lock) happened before the program got p, and the count
 * cannot drop to 0 while p is in. */
static int shard_may_hold(const struct shard *s)
{
    return __atomic_load_n(&s->n, __ATOMIC_RELAXED) != 0;
}

/* Shard lock held: p's slot, or the empty slot where it would go. */
static size_t shard_slot(const struct shard *s, uintptr_t p)
{
    size_t mask = s->cap - 1, j = mix(p) / SHARDS & mask;
    while (s->slots[j].ptr && s->slots[j].ptr != p)
        j = (j + 1) & mask;
    return j;
}

/* Inside cprof (in_hook set), shards_held 0. 0 when the table cannot grow. */
static int live_insert(const struct live_entry *e)
{
    struct shard *s = shard_of(e->ptr);
    shard_lock(s);
    if ((s->n + 1) * 2 > s->cap && shard_grow(s) < 0) {
        shard_unlock(s);
        return 0;
    }
    size_t j = shard_slot(s, e->ptr);
    if (!s->slots[j].ptr)
        shard_count(s, 1);
    s->slots[j] = *e;
    shard_unlock(s);
    return 1;
}

/* Removes p (take 1) or only reads its entry (take 0); returns 1 with its
 * entry if it was there. Linear probing with backward-shift deletion keeps
 * probe chains tombstone-free. shards_held 0. */
static int live_lookup(uintptr_t p, struct live_entry *out, int take)
{
    struct shard *s = shard_of(p);
    if (!shard_may_hold(s))
        return 0;
    shard_lock(s);
    int found = 0;
    if (s->cap) {
        size_t mask = s->cap - 1, j = shard_slot(s, p);
        if (s->slots[j].ptr == p) {
            found = 1;
            *out = s->slots[j];
        }
        if (found && take) {
            shard_count(s, -1);
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

/* ---- Sampled blocks: a header before each, for free to recognise ----------------- */

/* A sampled block is allocated with room before it, and the 16 bytes just
 * before the program's pointer hold a tag and the room's size. free reads
 * the first 8 of those 16 bytes for every block it is given (for a block of
 * glibc's, its prev_size field: glibc's free reads the size field, the next
 * 8 bytes in the same cache line, at once), and only a block that carries
 * the tag goes to the live table. This replaced a filter of counters that
 * every free read (docs/performance.md, "Heap profiling"): each sample and
 * each sampled block's free wrote one of its cache lines, which the other
 * cores then missed, and it cost free a multiply and a shift.
 *
 * The tag only says "look it up": the live table decides. A block whose
 * bytes there hold the tag by chance is looked up, not found, and freed as
 * any other. The tag is cleared when a sampled block is freed, so that the
 * allocator's memory does not keep it.
 *
 * Reading 16 bytes before a block is safe only within the block's page:
 * another allocator than glibc's (the program's tcmalloc or jemalloc) may
 * start a block at a page with nothing mapped below. So a pointer in the
 * first 16 bytes of a page is looked up in the table without a look at the
 * header; sampled blocks aligned to a page or more carry no header at all
 * (offset 0), and are found that way. Under valgrind, or with an allocator
 * that poisons its headers, this read would be reported. */
#define SAMPLED_TAG    0x9c3b6f0e5a1d4c27ULL
#define HEADER_ROOM    16
#define PAGE_OFFSET(p) ((uintptr_t)(p)&4080) /* 0 within 16 bytes of a page start */

static inline uint64_t word_before(const void *p)
{
    uint64_t w;
    memcpy(&w, (const char *)p - HEADER_ROOM, sizeof w);
    return w;
}

/* Whether p may be a sampled block (NULL included): one load from the
 * allocator's header when p is not at a page's start. */
static inline int may_be_sampled(const void *p)
{
    return !PAGE_OFFSET(p) || word_before(p) == SAMPLED_TAG;
}

static void header_write(char *p, size_t offset)
{
    if (!offset)
        return;
    uint64_t header[2] = {SAMPLED_TAG, offset};
    memcpy(p - HEADER_ROOM, header, sizeof header);
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
 * alloc_sampled, whose frame it reads. libcprof keeps frame pointers
 * (-fno-omit-frame-pointer), so alloc_sampled's frame holds the hook's frame
 * pointer, and the hook's frame the caller's frame pointer and return
 * address: the registers that the CFI walk would reach by stepping through
 * cprof__unwind_here, alloc_sampled and the hook, three of the ~7 steps of a
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

/* The allocation hooks' slow path, before the allocation: the countdown
 * (the fast path left it for this one), and whether this allocation is to
 * be sampled; with sampling off, a countdown that ran out is only drawn
 * anew. noinline: the hooks' fast paths then have no thread-local address
 * to keep for their slow paths, so that GCC leaves them without a frame.
 * The subtraction is unsigned, as in countdown_goes_on. */
__attribute__((noinline)) static int sample_this(size_t size)
{
    bytes_until_sample = (int64_t)((uint64_t)bytes_until_sample - size);
    if (__builtin_expect(bytes_until_sample > 0, 1))
        return 0;
    long rate = atomic_load_explicit(&sample_rate, memory_order_relaxed);
    if (!(hook_state() & HOOK_SAMPLE)) {
        bytes_until_sample = draw_countdown(rate > 1 ? rate : DEFAULT_RATE);
        return 0;
    }
    unsigned epoch = atomic_load_explicit(&countdown_epoch, memory_order_relaxed);
    if (my_countdown_epoch != epoch && rate > 1) {
        /* A thread's first countdown at this rate: without a draw, the first
         * allocation of every thread would be sampled, biasing small sizes
         * up. */
        my_countdown_epoch = epoch;
        bytes_until_sample = draw_countdown(rate) - (int64_t)size;
        if (bytes_until_sample > 0)
            return 0;
    }
    bytes_until_sample = draw_countdown(rate);
    /* Not cprof's own allocations, nor those of a signal handler that
     * interrupts the live table. */
    return !in_hook && !shards_held && atomic_load(&stacks);
}

/* How the hook allocates: ALLOC_ALIGNED with a power-of-two alignment. */
enum alloc_kind { ALLOC_PLAIN, ALLOC_ZEROED, ALLOC_ALIGNED };

static void *allocate(enum alloc_kind kind, size_t align, size_t size)
{
    if (kind == ALLOC_ZEROED)
        return hooks.next_calloc(1, size);
    if (kind == ALLOC_ALIGNED)
        return hooks.next_memalign(align, size);
    return hooks.next_malloc(size);
}

/* The room before a sampled block: the header's, or the alignment's when
 * that is more; none for a block aligned to a page or more (found without
 * a header: see "Sampled blocks"). */
static size_t header_room(enum alloc_kind kind, size_t align)
{
    if (kind != ALLOC_ALIGNED || align <= HEADER_ROOM)
        return HEADER_ROOM;
    return align >= 4096 ? 0 : align;
}

/* A sampled allocation: the block with its header, its stack recorded, and
 * its entry in the live table. Called from the hook itself: its frame and
 * the hook's are HOOK_FRAMES (unwind_allocation). A block that cannot be
 * recorded (the stack table or the live table full) is given back, and the
 * program gets one without a header. */
__attribute__((noinline)) static void *alloc_sampled(enum alloc_kind kind, size_t align,
                                                     size_t size)
{
    size_t room = header_room(kind, align), total;
    if (__builtin_add_overflow(size, room, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    char *base = allocate(kind, align, total);
    if (!base)
        return NULL;
    char *p = base + room;
    cprof_samples *t = atomic_load(&stacks);
    in_hook = 1;
    uint64_t pcs[CPROF_MAX_FRAMES];
    int n = unwind_allocation(pcs);
    long stack = cprof__samples_intern(t, pcs, n, cprof__labels_current());
    struct live_entry e = {(uintptr_t)p, size, stack, room};
    if (stack < 0 || !live_insert(&e)) {
        hooks.next_free(base);
        in_hook = 0;
        return allocate(kind, align, size);
    }
    header_write(p, room);
    cprof__samples_add_value(t, stack, HEAP_ALLOC_COUNT, 1);
    cprof__samples_add_value(t, stack, HEAP_ALLOC_BYTES, size);
    int64_t now = atomic_fetch_add_explicit(&inuse_estimate, (int64_t)size, memory_order_relaxed) +
                  (int64_t)size;
    if (now >= atomic_load_explicit(&peak_trigger, memory_order_relaxed))
        snapshot_peak(now);
    in_hook = 0;
    return p;
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

/* Before a block that may be sampled (may_be_sampled) goes back to the
 * allocator (another thread may get the same address at once, so its entry
 * must be gone first): 1 if it was sampled, its entry gone and *base the
 * allocator's block; 0 if it was not (a block at a page's start, or one
 * whose 8 bytes before held the tag by chance); -1 if that cannot be told
 * (a signal handler that interrupts the live table on this thread), and the
 * block must stay allocated: a leak, where guessing could crash. The tag is
 * cleared: the memory, free, must not look sampled later. */
static int release_sampled(void *p, char **base)
{
    if (shards_held)
        return -1;
    struct live_entry e;
    in_hook++; /* a signal handler that allocates now passes through */
    int found = live_lookup((uintptr_t)p, &e, 1);
    if (found)
        account_free_entry(&e);
    in_hook--;
    if (!found)
        return 0;
    if (e.offset)
        memset((char *)p - HEADER_ROOM, 0, sizeof(uint64_t));
    *base = (char *)p - e.offset;
    return 1;
}

/* The entry of a block that may be sampled, if it was: 1 with *e. -1 when
 * that cannot be told (see release_sampled). */
static int sampled_entry(void *p, struct live_entry *e)
{
    if (shards_held)
        return -1;
    in_hook++;
    int found = live_lookup((uintptr_t)p, e, 0);
    in_hook--;
    return found;
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
 * alloc_sampled unwinds (it has returned by then), so HOOK_FRAMES holds. */
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
 * must take the slow path (sample_this then subtracts it).
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

/* Exact counting of an allocation that succeeded. */
static inline void count_if_on(const void *p, size_t size)
{
    if (p && __builtin_expect(hook_state() & HOOK_COUNT, 0))
        count_alloc(size);
}

/* malloc, free and calloc have fast paths without a frame of cprof's,
 * profiling on or off: malloc's and calloc's a thread-local subtraction, a
 * compare and a tail call; free's a look at the word before its block and
 * a tail call (see hooks). Their slow paths call alloc_sampled themselves,
 * so that the hook's frame is the one HOOK_FRAMES counts. */

CPROF_API void *malloc(size_t size)
{
    if (__builtin_expect(countdown_goes_on(size), 1))
        return hooks.next_malloc(size);
    slow_path_only(&size);
    if (!ready())
        return boot_alloc(size, 16);
    void *p = sample_this(size) ? alloc_sampled(ALLOC_PLAIN, 0, size) : hooks.next_malloc(size);
    clear_new(p, size);
    count_if_on(p, size);
    return p;
}

/* free's slow path, out of line so that its fast path needs no frame. */
__attribute__((noinline)) static void free_slow(void *p)
{
    if (!p)
        return;
    char *base;
    int sampled = release_sampled(p, &base);
    if (sampled > 0)
        hooks.next_free(base);
    else if (sampled == 0)
        atomic_load_explicit(&hooks.free_to, memory_order_acquire)(p);
}

CPROF_API void free(void *p)
{
    if (__builtin_expect(!may_be_sampled(p), 1)) {
        atomic_load_explicit(&hooks.free_to, memory_order_acquire)(p);
        return;
    }
    free_slow(p); /* free(NULL) included */
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
    int overflow = __builtin_mul_overflow(n, size, &total);
    if (!ready())
        return overflow ? NULL : boot_alloc(total, 16);
    if (overflow) /* the allocator fails it, as it should */
        return hooks.next_calloc(n, size);
    void *p =
        sample_this(total) ? alloc_sampled(ALLOC_ZEROED, 0, total) : hooks.next_calloc(n, size);
    count_if_on(p, total);
    return p;
}

/* A sampled block never grows in place: it moves into a new block, sampled
 * or not as the countdown says (a sampled block is one in rate / size). */
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
    struct live_entry e = {0};
    int sampled = p && may_be_sampled(p) ? sampled_entry(p, &e) : 0;
    size_t old = e.size;
    if (sampled < 0) { /* cannot be told now (see release_sampled): fails, p kept */
        errno = ENOMEM;
        return NULL;
    }
    if (!sampled && p) { /* the allocator's own realloc, unless the new block is sampled */
        if (!sample_this(size)) {
            void *q = hooks.next_realloc(p, size);
            count_if_on(q, size);
            return q;
        }
        old = hooks.next_usable_size(p);
    } else if (!size && p) { /* glibc: realloc(p, 0) frees p */
        free_slow(p);
        return NULL;
    } else if (!sample_this(size)) {
        void *q = hooks.next_malloc(size);
        clear_new(q, size);
        count_if_on(q, size);
        if (q && p) {
            memcpy(q, p, old < size ? old : size);
            free_slow(p);
        }
        return q;
    }
    void *q = alloc_sampled(ALLOC_PLAIN, 0, size);
    clear_new(q, size);
    count_if_on(q, size);
    if (q && p) {
        memcpy(q, p, old < size ? old : size);
        if (sampled)
            free_slow(p);
        else
            hooks.next_free(p);
    }
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

CPROF_API size_t malloc_usable_size(void *p)
{
    if (!p || in_boot_arena(p) || !ready())
        return 0;
    struct live_entry e;
    if (may_be_sampled(p) && sampled_entry(p, &e) > 0)
        return hooks.next_usable_size((char *)p - e.offset) - e.offset;
    return hooks.next_usable_size(p);
}

/* The aligned allocations: sampled with a power-of-two alignment only (the
 * others go to the allocator as they are, for its own answer). */
static int sample_aligned(size_t align, size_t size)
{
    return align && !(align & (align - 1)) && sample_this(size);
}

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

CPROF_API void *memalign(size_t align, size_t size)
{
    if (!ready())
        return boot_alloc(size, align);
    void *p = sample_aligned(align, size) ? alloc_sampled(ALLOC_ALIGNED, align, size)
                                          : hooks.next_memalign(align, size);
    clear_new(p, size);
    count_if_on(p, size);
    return p;
}

CPROF_API int posix_memalign(void **out, size_t align, size_t size)
{
    if (!ready()) {
        *out = boot_alloc(size, align);
        return *out ? 0 : ENOMEM;
    }
    if (align >= sizeof(void *) && sample_aligned(align, size)) {
        void *p = alloc_sampled(ALLOC_ALIGNED, align, size);
        if (!p)
            return ENOMEM;
        *out = p;
    } else {
        int rc = hooks.next_posix_memalign(out, align, size);
        if (rc)
            return rc;
    }
    clear_new(*out, size);
    count_if_on(*out, size);
    return 0;
}

CPROF_API void *aligned_alloc(size_t align, size_t size)
{
    if (!ready())
        return boot_alloc(size, align);
    void *p = sample_aligned(align, size) ? alloc_sampled(ALLOC_ALIGNED, align, size)
                                          : hooks.next_aligned_alloc(align, size);
    clear_new(p, size);
    count_if_on(p, size);
    return p;
}

CPROF_API void *valloc(size_t size)
{
    if (!ready())
        return boot_alloc(size, 4096);
    size_t page = page_size();
    void *p = sample_aligned(page, size) ? alloc_sampled(ALLOC_ALIGNED, page, size)
                                         : hooks.next_valloc(size);
    clear_new(p, size);
    count_if_on(p, size);
    return p;
}

CPROF_API void *pvalloc(size_t size)
{
    if (!ready())
        return boot_alloc(size, 4096);
    size_t page = page_size(), rounded = (size + page - 1) & ~(page - 1);
    void *p = rounded >= size && sample_aligned(page, rounded)
                  ? alloc_sampled(ALLOC_ALIGNED, page, rounded)
                  : hooks.next_pvalloc(size);
    clear_new(p, size);
    count_if_on(p, size);
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
    pthread_mutex_init(&hooks_lock, NULL);
}

void cprof__heap_init(void)
{
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&shards[i].lock, NULL);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
