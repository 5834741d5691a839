/*
 * leak.c: owns the leak checker (CPROF_LEAKCHECK, `cprof run -leakcheck`).
 *
 * With heap sampling at rate 1 every live block is in the heap's live table.
 * At exit, the way valgrind's memcheck and LeakSanitizer decide it:
 *
 * 1. Stop the other threads: each gets a signal whose handler saves its
 *    registers and thread pointer and waits (a futex) until released, so
 *    that nothing moves while we scan, and pointers held only in registers
 *    count.
 * 2. Mark from the roots: the writable segments (data, bss, relro) of every
 *    loaded object except cprof's own, every thread's stack from its stack
 *    pointer up, its static TLS and thread control block, and its
 *    registers. Any aligned word that points into a live block (its start
 *    or inside it: LeakSanitizer's rule, which valgrind would call
 *    "possibly lost") makes the block reachable, and its contents are
 *    scanned in turn.
 * 3. What is not marked is lost. A lost block that another lost block
 *    points to is *indirectly* lost (e.g. the tail of a lost list); the
 *    others are *definitely* lost. In a lost cycle, the first block met is
 *    definite and the rest indirect, as valgrind does.
 * 4. Release the threads, then symbolize and report, grouped by allocation
 *    stack; suppressions by function name; the exit status becomes 23 when
 *    anything is definitely lost (unsuppressed).
 *
 * While the threads are stopped they may hold any lock, malloc's included,
 * so steps 1-3 use only memory from mmap and no locks but the live table's
 * (taken before the stop).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "errors.h"
#include "heap.h"
#include "leak.h"
#include "signals.h"
#include "symbols.h"
#include "threads.h"

#define STOP_SIGNAL  (SIGRTMAX - 3)
#define MAX_THREADS  4096
#define TCB_BYTES    0x800 /* glibc's struct pthread starts at the thread pointer */
#define MAX_REPORTED 20

/* ---- Memory for the scan: mmap only ----------------------------------------------- */

static void *scan_alloc(size_t bytes)
{
    void *p =
        mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---- Stopping the world ------------------------------------------------------------- */

struct stopped {
    pid_t tid;
    _Atomic int state; /* 0: signalled, 1: parked, 2: released */
    uintptr_t regs[NGREG];
    uintptr_t sp, tp;
};

static struct stopped *stopped;
static _Atomic int nstopped;
static _Atomic int release_word;

static void futex_wait(_Atomic int *word, int value)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static uintptr_t thread_pointer(void)
{
    uintptr_t tp;
    __asm__("movq %%fs:0, %0" : "=r"(tp));
    return tp;
}

/* async-signal-safe: syscall(gettid/futex), atomics and plain stores. */
static void on_stop_signal(int sig, siginfo_t *si, void *ucontext)
{
    int saved = errno;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int n = atomic_load(&nstopped);
    for (int i = 0; stopped && i < n; i++) {
        struct stopped *s = &stopped[i];
        if (s->tid != tid)
            continue;
        const ucontext_t *uc = ucontext;
        for (int r = 0; r < NGREG; r++)
            s->regs[r] = (uintptr_t)uc->uc_mcontext.gregs[r];
        s->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
        s->tp = thread_pointer();
        atomic_store(&s->state, 1);
        while (atomic_load(&release_word) == 0)
            futex_wait(&release_word, 0);
        atomic_store(&s->state, 2);
        break;
    }
    errno = saved;
}

static void collect_tid(pid_t tid, void *arg)
{
    (void)arg;
    int i = atomic_load(&nstopped);
    if (tid == cprof__gettid() || i >= MAX_THREADS)
        return;
    stopped[i].tid = tid;
    atomic_store(&nstopped, i + 1);
}

/* Stops every other thread; returns how many answered. A thread that does
 * not answer within a second (blocking the signal) is scanned without its
 * registers: its stack is still scanned below. */
static int stop_world(void)
{
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_stop_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    cprof__real_sigaction(STOP_SIGNAL, NULL, &old);
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
        return 0; /* the program uses this signal: scan without stopping */
    if (cprof__real_sigaction(STOP_SIGNAL, &sa, NULL) < 0)
        return 0;
    stopped = scan_alloc(MAX_THREADS * sizeof *stopped);
    if (!stopped)
        return 0;
    atomic_store(&release_word, 0);
    cprof__threads_each(collect_tid, NULL);
    int n = atomic_load(&nstopped), parked = 0;
    for (int i = 0; i < n; i++)
        syscall(SYS_tgkill, getpid(), stopped[i].tid, STOP_SIGNAL);
    for (int spin = 0; spin < 1000 && parked < n; spin++) {
        parked = 0;
        for (int i = 0; i < n; i++)
            parked += atomic_load(&stopped[i].state) == 1;
        if (parked < n)
            usleep(1000);
    }
    return parked;
}

static void resume_world(void)
{
    atomic_store(&release_word, 1);
    futex_wake(&release_word);
    int n = atomic_load(&nstopped);
    for (int i = 0; i < n; i++)
        for (int spin = 0; spin < 1000 && atomic_load(&stopped[i].state) == 1; spin++)
            usleep(100);
}

/* ---- Marking ------------------------------------------------------------------------------ */

enum { UNREACHED = 0, REACHABLE, DEFINITE, INDIRECT, POSSIBLE, NSTATES };

struct block {
    uintptr_t ptr;
    size_t size;
    long stack;
    int state;
};

struct scan {
    struct block *blocks;
    size_t n, cap;
    size_t *work; /* indices of blocks whose contents are still to scan */
    size_t nwork;
    uintptr_t lo, hi; /* all blocks lie in [lo, hi) */
    int interior;     /* whether a pointer inside a block counts, or only to its start */
};

static void gather(void *arg, uintptr_t ptr, size_t size, long stack)
{
    struct scan *s = arg;
    if (s->n < s->cap)
        s->blocks[s->n++] = (struct block){ptr, size, stack, UNREACHED};
}

static int block_cmp(const void *a, const void *b)
{
    uintptr_t x = ((const struct block *)a)->ptr, y = ((const struct block *)b)->ptr;
    return x < y ? -1 : x > y;
}

/* The block that contains address v, or NULL. */
static struct block *find_block(struct scan *s, uintptr_t v)
{
    if (v < s->lo || v >= s->hi)
        return NULL;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->blocks[mid].ptr <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    struct block *b = &s->blocks[lo - 1];
    if (!s->interior)
        return v == b->ptr ? b : NULL;
    /* A zero-size block still owns its address. */
    return v < b->ptr + (b->size ? b->size : 1) ? b : NULL;
}

/* Marks every block the words of [from, to) point into with `state`, and
 * queues it for scanning, if it is in state `from_state`. */
static void scan_words(struct scan *s, uintptr_t from, uintptr_t to, int from_state, int state)
{
    from = (from + 7) & ~(uintptr_t)7;
    for (uintptr_t at = from; at + 8 <= to; at += 8) {
        struct block *b = find_block(s, *(const uintptr_t *)at);
        if (b && b->state == from_state) {
            b->state = state;
            s->work[s->nwork++] = (size_t)(b - s->blocks);
        }
    }
}

/* A root range (stack, TLS, thread control block) around `anchor`, an
 * address known to be in it: only the part inside anchor's read-write
 * mapping (from the maps snapshot taken before the world stopped) is read.
 * glibc's reserve for TLS and the size of its thread control block are
 * upper bounds that may run past the mapping on either side. */
static void scan_range(struct scan *s, uintptr_t anchor, uintptr_t from, uintptr_t to,
                       int from_state, int state)
{
    uintptr_t lo, hi;
    if (!cprof__mapping_bounds(anchor, &lo, &hi))
        return;
    scan_words(s, from > lo ? from : lo, to < hi ? to : hi, from_state, state);
}

static void drain(struct scan *s, int from_state, int state)
{
    while (s->nwork) {
        struct block *b = &s->blocks[s->work[--s->nwork]];
        scan_words(s, b->ptr, b->ptr + b->size, from_state, state);
    }
}

/* The writable segments of the loaded objects, listed before the world
 * stops: dl_iterate_phdr takes the loader's lock, which a stopped thread
 * may hold. */
#define MAX_SEGMENTS 4096
struct segments {
    uintptr_t self_base;
    size_t n;
    struct {
        uintptr_t from, to;
    } v[MAX_SEGMENTS];
};

static int list_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct segments *segs = arg;
    (void)size;
    if (info->dlpi_addr == segs->self_base)
        return 0; /* cprof's own data points at nothing of the program's */
    for (int i = 0; i < info->dlpi_phnum && segs->n < MAX_SEGMENTS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t from = info->dlpi_addr + ph->p_vaddr;
        segs->v[segs->n].from = from;
        segs->v[segs->n].to = from + ph->p_memsz;
        segs->n++;
    }
    return 0;
}

static struct segments *list_segments(void)
{
    struct segments *segs = scan_alloc(sizeof *segs);
    if (!segs)
        return NULL;
    Dl_info self;
    struct link_map *lm = NULL;
    if (dladdr1((void *)list_segments, &self, (void **)&lm, RTLD_DL_LINKMAP) && lm)
        segs->self_base = lm->l_addr;
    dl_iterate_phdr(list_object, segs);
    return segs;
}

/* The static TLS block below the thread pointer (x86-64 TLS variant II)
 * and the thread control block above it. */
static size_t static_tls_size(void)
{
    static size_t size = (size_t)-1;
    if (size == (size_t)-1) {
        void (*info)(size_t *, size_t *) =
            (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
        size_t align = 0;
        size = 0;
        if (info)
            info(&size, &align);
    }
    return size;
}

static void scan_thread(struct scan *s, uintptr_t sp, uintptr_t tp, const uintptr_t *regs,
                        int nregs, int from, int to)
{
    uintptr_t hi = cprof__stack_hi(sp);
    if (hi)
        scan_range(s, sp, sp, hi, from, to);
    size_t tls = static_tls_size();
    if (tp && tls)
        scan_range(s, tp, tp - tls, tp + TCB_BYTES, from, to);
    if (regs)
        scan_words(s, (uintptr_t)regs, (uintptr_t)(regs + nregs), from, to);
}

/* Marks from all roots the blocks in state `from` as `to`, and what they
 * reach. The calling thread's stack is scanned from `stack_from` up: the
 * frames of the leak checker itself hold addresses of blocks it is looking
 * at, which must not count as references. */
static void mark_roots(struct scan *s, const struct segments *segs, uintptr_t stack_from, int from,
                       int to)
{
    for (size_t i = 0; segs && i < segs->n; i++)
        scan_words(s, segs->v[i].from, segs->v[i].to, from, to);

    scan_thread(s, stack_from, thread_pointer(), NULL, 0, from, to);
    int n = atomic_load(&nstopped);
    for (int i = 0; stopped && i < n; i++) {
        struct stopped *t = &stopped[i];
        if (atomic_load(&t->state) == 1) /* 128: the red zone below sp holds live data */
            scan_thread(s, t->sp - 128, t->tp, t->regs, NGREG, from, to);
    }
    drain(s, from, to);
}

/* Marks as valgrind does: reachable through pointers to blocks' starts is
 * still reachable; reachable only with pointers into blocks' middles is
 * "possibly lost" (glibc's free-list pointers and stale data point into
 * blocks' middles all the time: counting them as references would hide
 * real leaks). */
static void mark(struct scan *s, const struct segments *segs, uintptr_t stack_from)
{
    s->interior = 0;
    mark_roots(s, segs, stack_from, UNREACHED, REACHABLE);
    s->interior = 1;
    mark_roots(s, segs, stack_from, UNREACHED, POSSIBLE);
    for (size_t i = 0; i < s->n; i++)
        if (s->blocks[i].state == REACHABLE || s->blocks[i].state == POSSIBLE)
            scan_words(s, s->blocks[i].ptr, s->blocks[i].ptr + s->blocks[i].size, UNREACHED,
                       POSSIBLE);
    drain(s, UNREACHED, POSSIBLE);
    s->interior = 0;
}

/* Steps 3: classify what is left. */
static void classify_lost(struct scan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct block *b = &s->blocks[i];
        if (b->state != UNREACHED)
            continue;
        b->state = DEFINITE;
        scan_words(s, b->ptr, b->ptr + b->size, UNREACHED, INDIRECT);
        drain(s, UNREACHED, INDIRECT);
        /* A definite block reached from this one is only indirectly lost. */
        scan_words(s, b->ptr, b->ptr + b->size, DEFINITE, INDIRECT);
        for (size_t k = 0; k < s->nwork; k++)
            if (&s->blocks[s->work[k]] == b)
                b->state = DEFINITE; /* a block pointing to itself stays definite */
        s->nwork = 0;
    }
}

/* ---- Reporting -------------------------------------------------------------------------- */

struct leak_group {
    long stack;
    int state;
    uint64_t bytes, blocks;
    int suppressed;
};

static int group_cmp(const void *a, const void *b)
{
    const struct leak_group *x = a, *y = b;
    if (x->state != y->state)
        return x->state - y->state;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* Blocks the C library keeps on purpose where no root shows them: the
 * thread-local storage vectors of exited threads, whose stacks glibc caches
 * for reuse (valgrind finds them because it scans all mapped memory). */
static const char *const builtin_suppressions[] = {"_dl_allocate_tls", "__GI__dl_allocate_tls"};

/* Suppressions: one pattern per line ("leak:" prefix optional, # comments),
 * matched with fnmatch against every function name of a leak's stack. */
static char **add_pattern(char **pats, int *n, const char *p)
{
    char **grown = realloc(pats, (size_t)(*n + 1) * sizeof *pats);
    if (!grown)
        return pats;
    grown[*n] = strdup(p);
    if (grown[*n])
        (*n)++;
    return grown;
}

static char **load_suppressions(const char *path, int *n)
{
    *n = 0;
    char **pats = NULL;
    for (size_t i = 0; i < sizeof builtin_suppressions / sizeof builtin_suppressions[0]; i++)
        pats = add_pattern(pats, n, builtin_suppressions[i]);
    if (!path || !*path)
        return pats;
    FILE *f = fopen(path, "r");
    if (!f) {
        cprof__warn("leak suppressions %s: %s", path, strerror(errno));
        return pats;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = '\0';
        if (!*p || *p == '#')
            continue;
        if (!strncmp(p, "leak:", 5))
            p += 5;
        pats = add_pattern(pats, n, p);
    }
    fclose(f);
    return pats;
}

static const char *const state_name[NSTATES] = {"", "still reachable", "definitely lost",
                                                "indirectly lost", "possibly lost"};

/* noinline, and built with frame pointers: its frame address separates its
 * own stack frames from its callers'. */
__attribute__((noinline)) int cprof__leak_check(const char *suppressions_path)
{
    uintptr_t callers_stack = (uintptr_t)__builtin_frame_address(0) + 16;
    cprof_samples *stacks = cprof__heap_table();
    if (!stacks)
        return 0;
    cprof__heap_enter_internal();
    struct scan s = {0};
    /* Twice the live blocks now: threads allocate until they are stopped. */
    s.cap = 2 * cprof__heap_live_count() + 1024;
    s.blocks = scan_alloc(s.cap * sizeof *s.blocks);
    s.work = scan_alloc(s.cap * sizeof *s.work);
    if (!s.blocks || !s.work) {
        cprof__heap_leave_internal();
        cprof__warn("leak check: cannot map %zu bytes for the scan", s.cap * sizeof *s.blocks);
        return 0;
    }

    cprof__threads_refresh_maps(); /* scan_range's bounds; it allocates: before the stop */
    struct segments *segs = list_segments();
    cprof__heap_lock_live(); /* no thread may be stopped while holding these */
    stop_world();
    cprof__heap_each_live_locked(gather, &s);
    qsort(s.blocks, s.n, sizeof *s.blocks, block_cmp);
    if (s.n) {
        s.lo = s.blocks[0].ptr;
        s.hi = s.blocks[s.n - 1].ptr + s.blocks[s.n - 1].size + 1;
    }
    mark(&s, segs, callers_stack);
    classify_lost(&s);
    resume_world();
    cprof__heap_unlock_live();

    /* From here on, malloc and symbols are fine again. */
    int nsup;
    char **sup = load_suppressions(suppressions_path, &nsup);
    struct leak_group *groups = calloc(s.n + 1, sizeof *groups);
    size_t ngroups = 0;
    uint64_t total_bytes[NSTATES] = {0}, total_blocks[NSTATES] = {0}, supp_bytes = 0,
             supp_blocks = 0;
    for (size_t i = 0; groups && i < s.n; i++) {
        struct block *b = &s.blocks[i];
        total_bytes[b->state] += b->size;
        total_blocks[b->state]++;
        if (b->state == REACHABLE)
            continue;
        size_t g;
        for (g = 0; g < ngroups; g++)
            if (groups[g].stack == b->stack && groups[g].state == b->state)
                break;
        if (g == ngroups)
            groups[ngroups++] = (struct leak_group){b->stack, b->state, 0, 0, 0};
        groups[g].bytes += b->size;
        groups[g].blocks++;
    }
    qsort(groups, ngroups, sizeof *groups, group_cmp);

    cprof_symbolizer *sym = cprof__symbolizer_new();
    uint64_t frames[CPROF_MAX_FRAMES];
    int shown = 0;
    for (size_t g = 0; g < ngroups; g++) {
        int n = cprof__samples_frames(stacks, groups[g].stack, frames, CPROF_MAX_FRAMES);
        char names[CPROF_MAX_FRAMES][256];
        for (int i = 0; i < n; i++)
            cprof__symbolize_text(sym, frames[i], names[i], sizeof names[i]);
        for (int p = 0; p < nsup && !groups[g].suppressed; p++)
            for (int i = 0; i < n && !groups[g].suppressed; i++) {
                char fn[256];
                size_t len = strcspn(names[i], " ");
                memcpy(fn, names[i], len);
                fn[len] = '\0';
                groups[g].suppressed = fnmatch(sup[p], fn, 0) == 0;
            }
        if (groups[g].suppressed) {
            supp_bytes += groups[g].bytes;
            supp_blocks += groups[g].blocks;
            total_bytes[groups[g].state] -= groups[g].bytes;
            total_blocks[groups[g].state] -= groups[g].blocks;
            continue;
        }
        if (shown++ >= MAX_REPORTED)
            continue;
        fprintf(stderr, "\ncprof: %s: %llu bytes in %llu blocks allocated at:\n",
                state_name[groups[g].state], (unsigned long long)groups[g].bytes,
                (unsigned long long)groups[g].blocks);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "    #%d %s\n", i, names[i]);
    }
    if (shown > MAX_REPORTED)
        fprintf(stderr, "\ncprof: ... and %d more leaks not shown\n", shown - MAX_REPORTED);
    fprintf(stderr, "\ncprof: leak check summary:\n");
    fprintf(stderr, "cprof: definitely lost: %llu bytes in %llu blocks\n",
            (unsigned long long)total_bytes[DEFINITE], (unsigned long long)total_blocks[DEFINITE]);
    fprintf(stderr, "cprof: indirectly lost: %llu bytes in %llu blocks\n",
            (unsigned long long)total_bytes[INDIRECT], (unsigned long long)total_blocks[INDIRECT]);
    fprintf(stderr, "cprof: possibly lost: %llu bytes in %llu blocks\n",
            (unsigned long long)total_bytes[POSSIBLE], (unsigned long long)total_blocks[POSSIBLE]);
    fprintf(stderr, "cprof: still reachable: %llu bytes in %llu blocks\n",
            (unsigned long long)total_bytes[REACHABLE],
            (unsigned long long)total_blocks[REACHABLE]);
    if (supp_blocks)
        fprintf(stderr, "cprof: suppressed: %llu bytes in %llu blocks\n",
                (unsigned long long)supp_bytes, (unsigned long long)supp_blocks);

    cprof__symbolizer_free(sym);
    for (int p = 0; p < nsup; p++)
        free(sup[p]);
    free(sup);
    free(groups);
    munmap(s.blocks, s.cap * sizeof *s.blocks);
    if (segs)
        munmap(segs, sizeof *segs);
    munmap(s.work, s.cap * sizeof *s.work);
    cprof__heap_leave_internal();
    return total_blocks[DEFINITE] ? 1 : 0;
}
