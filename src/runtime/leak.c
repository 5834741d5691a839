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
 *    pointer up, its static TLS (without cprof's own TLS block) and thread
 *    control block, exactly as glibc allocated them (measure_tls), and its
 *    registers. An aligned word that points to the start of a live block
 *    makes it still reachable, and its contents are scanned in turn; blocks
 *    reached only through pointers into their middles are "possibly lost",
 *    as valgrind calls them (see mark()).
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
 *
 * CPROF_LEAKCHECK_WHY=1 (off by default; a debugging aid) says why blocks
 * are not lost: the report is preceded by the thread roots scanned (stacks,
 * TLS, registers, with the mappings they lie in) and the objects' TLS
 * blocks, and then, for every block still reachable or possibly lost, one
 * line "cprof: why: ADDR (SIZE bytes, STATE): word W in WHERE", WHERE being
 * the root region that holds the first reference met: "data|bss of OBJECT
 * at +OFFSET (symbol)", "stack of thread TID at sp+OFFSET, in the frame
 * returning to FUNCTION", "static TLS of thread TID at tp-OFFSET (TLS block
 * of OBJECT)", "thread control block ...", "register R of thread TID"; or,
 * for a block reached through others, "block P+OFFSET, N blocks from word
 * W' in WHERE". tests/workloads/heap_leak_churn.c can list the blocks it
 * drops (HEAP_LEAK_CHURN_DROPS) to compare with.
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
#define TCB_BYTES    0x800 /* struct pthread's size if glibc does not say (measure_tls) */
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

/* Lists the other threads to stop, before the live table's locks are
 * taken: listing /proc/self/task allocates and frees (opendir), and a free
 * may look in the live table. Returns 0 when the world cannot be stopped. */
static int list_threads(void)
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
    return 1;
}

/* Stops the threads listed; returns how many answered. A thread that does
 * not answer within a second (blocking the signal) is scanned without its
 * registers: its stack is still scanned below. */
static int stop_world(void)
{
    int n = stopped ? atomic_load(&nstopped) : 0, parked = 0;
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

#define NO_INDEX UINT32_MAX

struct block {
    uintptr_t ptr;
    size_t size;
    long stack;
    int state;
    /* Why it was marked (CPROF_LEAKCHECK_WHY): the address of the first
     * word met that points into it, in root `why_root` or else in block
     * `why_parent`; for a word on a stack, the first code address above it
     * (the return address of the frame that holds it). */
    uint32_t why_root, why_parent;
    uintptr_t why_word, why_ret;
};

/* A root region: the words in [from, to). */
enum root_kind { ROOT_DATA, ROOT_STACK, ROOT_TLS, ROOT_REGS };
struct root {
    int kind;
    pid_t tid;      /* stack, TLS, registers: whose */
    uintptr_t base; /* data: the object's load address; stack: the stack
                     * pointer; TLS: the thread pointer; registers: regs[0] */
    uintptr_t from, to;
    size_t segment; /* data: its index in the segments */
};

/* The writable segments of the loaded objects (and, for the diagnostic,
 * their code), listed before the world stops: dl_iterate_phdr takes the
 * loader's lock, which a stopped thread may hold. */
#define MAX_SEGMENTS 4096
struct segments {
    uintptr_t self_base;
    uintptr_t self_tls_below; /* cprof's static TLS block: its offset below tp */
    size_t self_tls_size;
    size_t n, ncode;
    struct {
        uintptr_t from, to, base;
        size_t filesz; /* the rest is bss */
        const char *name;
    } v[MAX_SEGMENTS];
    struct {
        uintptr_t from, to;
    } code[MAX_SEGMENTS];
    size_t ntls;
    struct {
        uintptr_t below_tp; /* the block's start, as an offset below the thread pointer */
        size_t size;
        const char *name;
    } tls[MAX_SEGMENTS]; /* the objects' static TLS blocks */
};

struct scan {
    struct block *blocks;
    size_t n, cap;
    size_t *work; /* indices of blocks whose contents are still to scan */
    size_t nwork;
    uintptr_t lo, hi; /* all blocks lie in [lo, hi) */
    int interior;     /* whether a pointer inside a block counts, or only to its start */
    struct root *roots;
    size_t nroots, roots_cap;
    const struct segments *segs;
    uint32_t cur_root, cur_parent; /* what scan_words is scanning (one is NO_INDEX) */
    int why;                       /* CPROF_LEAKCHECK_WHY: record return addresses too */
};

static void gather(void *arg, uintptr_t ptr, size_t size, long stack)
{
    struct scan *s = arg;
    if (s->n < s->cap)
        s->blocks[s->n++] = (struct block){ptr, size, stack, UNREACHED, NO_INDEX, NO_INDEX, 0, 0};
}

/* Heapsort by address, in place: glibc's qsort mallocs, and while the
 * world is stopped a stopped thread may hold malloc's lock (and a free may
 * look in the live table, whose locks are held). */
static void sift_down(struct block *v, size_t i, size_t n)
{
    for (size_t c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && v[c + 1].ptr > v[c].ptr)
            c++;
        if (v[i].ptr >= v[c].ptr)
            return;
        struct block t = v[i];
        v[i] = v[c];
        v[c] = t;
    }
}

static void sort_blocks(struct block *v, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, i, n);
    for (size_t end = n; end-- > 1;) {
        struct block t = v[0];
        v[0] = v[end];
        v[end] = t;
        sift_down(v, 0, end);
    }
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

static int in_code(const struct segments *segs, uintptr_t v)
{
    for (size_t i = 0; segs && i < segs->ncode; i++)
        if (v >= segs->code[i].from && v < segs->code[i].to)
            return 1;
    return 0;
}

/* Records why b is marked: the word at `at`, in what scan_words scans. */
static void note_why(struct scan *s, struct block *b, uintptr_t at)
{
    b->why_root = s->cur_root;
    b->why_parent = s->cur_parent;
    b->why_word = at;
    if (!s->why || s->cur_root == NO_INDEX || s->roots[s->cur_root].kind != ROOT_STACK)
        return;
    const struct root *r = &s->roots[s->cur_root];
    for (uintptr_t up = at + 8; up + 8 <= r->to && up < at + 4096; up += 8)
        if (in_code(s->segs, *(const uintptr_t *)up)) {
            b->why_ret = *(const uintptr_t *)up;
            break;
        }
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
            note_why(s, b, at);
            s->work[s->nwork++] = (size_t)(b - s->blocks);
        }
    }
}

/* Scans the contents of block i. */
static void scan_block(struct scan *s, size_t i, int from_state, int state)
{
    s->cur_root = NO_INDEX;
    s->cur_parent = (uint32_t)i;
    scan_words(s, s->blocks[i].ptr, s->blocks[i].ptr + s->blocks[i].size, from_state, state);
}

static void drain(struct scan *s, int from_state, int state)
{
    while (s->nwork)
        scan_block(s, s->work[--s->nwork], from_state, state);
}

static void add_root(struct scan *s, struct root r)
{
    if (r.from < r.to && s->nroots < s->roots_cap)
        s->roots[s->nroots++] = r;
}

/* A root range (stack, TLS, thread control block) around `anchor`, an
 * address known to be in it: only the part inside anchor's read-write
 * mapping (from the maps snapshot taken before the world stopped) is read.
 * glibc's reserve for TLS and the size of its thread control block are
 * upper bounds that may run past the mapping on either side. */
static void add_range(struct scan *s, struct root r, uintptr_t anchor)
{
    uintptr_t lo, hi;
    if (!cprof__mapping_bounds(anchor, &lo, &hi))
        return;
    r.from = r.from > lo ? r.from : lo;
    r.to = r.to < hi ? r.to : hi;
    add_root(s, r);
}

static int list_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct segments *segs = arg;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t from = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && segs->ncode < MAX_SEGMENTS) {
            segs->code[segs->ncode].from = from;
            segs->code[segs->ncode].to = from + ph->p_memsz;
            segs->ncode++;
        }
        if (ph->p_type == PT_TLS && info->dlpi_tls_data && segs->ntls < MAX_SEGMENTS) {
            segs->tls[segs->ntls].below_tp = thread_pointer() - (uintptr_t)info->dlpi_tls_data;
            segs->tls[segs->ntls].size = ph->p_memsz;
            segs->tls[segs->ntls].name = info->dlpi_name;
            segs->ntls++;
        }
        /* cprof's own TLS, when cprof is a shared object of its own (not
         * linked into the executable, whose TLS block is the program's too). */
        if (ph->p_type == PT_TLS && info->dlpi_tls_data && info->dlpi_addr == segs->self_base &&
            info->dlpi_name && *info->dlpi_name) {
            segs->self_tls_below = thread_pointer() - (uintptr_t)info->dlpi_tls_data;
            segs->self_tls_size = ph->p_memsz;
        }
        if (info->dlpi_addr == segs->self_base)
            continue; /* cprof's own data points at nothing of the program's */
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || segs->n >= MAX_SEGMENTS)
            continue;
        segs->v[segs->n].from = from;
        segs->v[segs->n].to = from + ph->p_memsz;
        segs->v[segs->n].base = info->dlpi_addr;
        segs->v[segs->n].filesz = ph->p_filesz;
        segs->v[segs->n].name = info->dlpi_name;
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

/* Thread-local storage, x86-64 (TLS variant II), as glibc lays it out: one
 * allocation per thread holds the static TLS blocks of the objects, below
 * the thread pointer, and the thread control block (struct pthread) from
 * the thread pointer up. _dl_get_tls_static_info's size counts both, so
 * the TLS proper is that size minus the control block's: reading the whole
 * size below the thread pointer runs past the allocation's start into
 * whatever lies below it. For the main thread that is another mapping the
 * kernel merged with it, such as a shard of cprof's live table, whose
 * entries start with the address of every live block (the leak checker
 * then found dropped blocks "reachable"). Measured before the world stops
 * (dlsym takes the loader's lock). */
static struct {
    size_t below, above; /* the TLS proper below tp; the control block above */
} tls_span;

static void measure_tls(void)
{
    void (*info)(size_t *, size_t *) =
        (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    /* glibc exports sizeof(struct pthread) for libthread_db. */
    const unsigned *tcb = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
    size_t size = 0, align = 0;
    if (info)
        info(&size, &align);
    tls_span.above = tcb && *tcb ? *tcb : TCB_BYTES;
    tls_span.below = size > tls_span.above ? size - tls_span.above : 0;
}

static void add_thread(struct scan *s, pid_t tid, uintptr_t sp, uintptr_t tp, const uintptr_t *regs,
                       int nregs)
{
    uintptr_t hi = cprof__stack_hi(sp);
    if (hi)
        add_range(s, (struct root){ROOT_STACK, tid, sp, sp, hi, 0}, sp);
    if (tp && tls_span.below) {
        /* Without cprof's own TLS block: cprof's, not the program's. */
        uintptr_t from = tp - tls_span.below, to = tp + tls_span.above;
        const struct segments *segs = s->segs;
        if (segs && segs->self_tls_size && segs->self_tls_below <= tls_span.below) {
            uintptr_t self = tp - segs->self_tls_below;
            add_range(s, (struct root){ROOT_TLS, tid, tp, from, self, 0}, tp);
            from = self + segs->self_tls_size;
        }
        add_range(s, (struct root){ROOT_TLS, tid, tp, from, to, 0}, tp);
    }
    if (regs)
        add_root(s, (struct root){ROOT_REGS, tid, (uintptr_t)regs, (uintptr_t)regs,
                                  (uintptr_t)(regs + nregs), 0});
}

/* The roots, once the world is stopped. The calling thread's stack is
 * scanned from `stack_from` up: the frames of the leak checker itself hold
 * addresses of blocks it is looking at, which must not count as references. */
static void list_roots(struct scan *s, const struct segments *segs, uintptr_t stack_from)
{
    for (size_t i = 0; segs && i < segs->n; i++)
        add_root(s,
                 (struct root){ROOT_DATA, 0, segs->v[i].base, segs->v[i].from, segs->v[i].to, i});
    add_thread(s, cprof__gettid(), stack_from, thread_pointer(), NULL, 0);
    int n = atomic_load(&nstopped);
    for (int i = 0; stopped && i < n; i++) {
        struct stopped *t = &stopped[i];
        if (atomic_load(&t->state) == 1) /* 128: the red zone below sp holds live data */
            add_thread(s, t->tid, t->sp - 128, t->tp, t->regs, NGREG);
    }
}

/* Marks from all roots the blocks in state `from` as `to`, and what they
 * reach. */
static void mark_roots(struct scan *s, int from, int to)
{
    for (size_t i = 0; i < s->nroots; i++) {
        s->cur_root = (uint32_t)i;
        s->cur_parent = NO_INDEX;
        scan_words(s, s->roots[i].from, s->roots[i].to, from, to);
    }
    drain(s, from, to);
}

/* Marks as valgrind does: reachable through pointers to blocks' starts is
 * still reachable; reachable only with pointers into blocks' middles is
 * "possibly lost" (glibc's free-list pointers and stale data point into
 * blocks' middles all the time: counting them as references would hide
 * real leaks). */
static void mark(struct scan *s)
{
    s->interior = 0;
    mark_roots(s, UNREACHED, REACHABLE);
    s->interior = 1;
    mark_roots(s, UNREACHED, POSSIBLE);
    for (size_t i = 0; i < s->n; i++)
        if (s->blocks[i].state == REACHABLE || s->blocks[i].state == POSSIBLE)
            scan_block(s, i, UNREACHED, POSSIBLE);
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
        scan_block(s, i, UNREACHED, INDIRECT);
        drain(s, UNREACHED, INDIRECT);
        /* A definite block reached from this one is only indirectly lost. */
        scan_block(s, i, DEFINITE, INDIRECT);
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

/* CPROF_LEAKCHECK_WHY: for every block not lost, the first reference met
 * to it and the root its chain starts from. */
static const char *const reg_name[NGREG] = {
    "r8",  "r9",  "r10", "r11", "r12", "r13",    "r14",    "r15", "rdi",    "rsi",     "rbp", "rbx",
    "rdx", "rax", "rcx", "rsp", "rip", "eflags", "csgsfs", "err", "trapno", "oldmask", "cr2"};

static void describe_root(const struct scan *s, uint32_t r, uintptr_t at, uintptr_t ret,
                          cprof_symbolizer *sym, char *buf, size_t len)
{
    const struct root *root = &s->roots[r];
    switch (root->kind) {
    case ROOT_DATA: {
        const struct segments *segs = s->segs;
        const char *name = segs->v[root->segment].name;
        int bss = at - root->from >= segs->v[root->segment].filesz;
        Dl_info di;
        char sym_at[300] = "";
        if (dladdr((void *)at, &di) && di.dli_sname && di.dli_saddr)
            snprintf(sym_at, sizeof sym_at, " (%s+0x%lx)", di.dli_sname,
                     (unsigned long)(at - (uintptr_t)di.dli_saddr));
        snprintf(buf, len, "%s of %s at +0x%lx%s", bss ? "bss" : "data",
                 name && *name ? name : "the executable", (unsigned long)(at - root->base), sym_at);
        break;
    }
    case ROOT_STACK: {
        char fn[256] = "?";
        if (ret)
            cprof__symbolize_text(sym, ret - 1, fn, sizeof fn);
        snprintf(buf, len, "stack of thread %d at sp+0x%lx, in the frame returning to %s",
                 (int)root->tid, (unsigned long)(at - root->base), fn);
        break;
    }
    case ROOT_TLS:
        if (at < root->base) {
            const char *in = NULL;
            uintptr_t below = root->base - at, off = 0;
            for (size_t i = 0; s->segs && i < s->segs->ntls && !in; i++)
                if (below <= s->segs->tls[i].below_tp &&
                    below > s->segs->tls[i].below_tp - s->segs->tls[i].size) {
                    in = s->segs->tls[i].name;
                    off = s->segs->tls[i].below_tp - below;
                }
            if (in)
                snprintf(buf, len, "static TLS of thread %d at tp-0x%lx (TLS block of %s +0x%lx)",
                         (int)root->tid, (unsigned long)below, *in ? in : "the executable",
                         (unsigned long)off);
            else
                snprintf(buf, len, "static TLS of thread %d at tp-0x%lx (no object's block)",
                         (int)root->tid, (unsigned long)below);
        } else
            snprintf(buf, len, "thread control block of thread %d at tp+0x%lx", (int)root->tid,
                     (unsigned long)(at - root->base));
        break;
    default:
        snprintf(buf, len, "register %s of thread %d", reg_name[(at - root->base) / 8],
                 (int)root->tid);
    }
}

static void report_why(const struct scan *s, cprof_symbolizer *sym)
{
    static const char *const kind[] = {"data", "stack", "TLS", "registers"};
    const struct segments *segs = s->segs;
    fprintf(stderr,
            "cprof: why: TLS: 0x%zx bytes below the thread pointer, 0x%zx above; cprof's own "
            "0x%zx bytes at tp-0x%lx not scanned\n",
            tls_span.below, tls_span.above, segs ? segs->self_tls_size : 0,
            segs ? (unsigned long)segs->self_tls_below : 0UL);
    for (size_t i = 0; segs && i < segs->ntls; i++)
        fprintf(stderr, "cprof: why: TLS block of %s: tp-0x%lx, 0x%zx bytes\n",
                *segs->tls[i].name ? segs->tls[i].name : "the executable",
                (unsigned long)segs->tls[i].below_tp, segs->tls[i].size);
    for (size_t i = 0; i < s->nroots; i++) {
        const struct root *r = &s->roots[i];
        uintptr_t lo = 0, hi = 0;
        if (r->kind == ROOT_DATA)
            continue;
        cprof__mapping_bounds(r->from, &lo, &hi);
        fprintf(stderr,
                "cprof: why: root: %s of thread %d: [0x%lx, 0x%lx) in mapping [0x%lx, 0x%lx)\n",
                kind[r->kind], (int)r->tid, (unsigned long)r->from, (unsigned long)r->to,
                (unsigned long)lo, (unsigned long)hi);
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct block *b = &s->blocks[i];
        if (b->state != REACHABLE && b->state != POSSIBLE)
            continue;
        const struct block *top = b;
        int depth = 0;
        while (top->why_parent != NO_INDEX && depth < (int)s->n) {
            top = &s->blocks[top->why_parent];
            depth++;
        }
        char where[640] = "no root";
        if (top->why_root != NO_INDEX)
            describe_root(s, top->why_root, top->why_word, top->why_ret, sym, where, sizeof where);
        if (b->why_parent == NO_INDEX) {
            fprintf(stderr, "cprof: why: 0x%lx (%zu bytes, %s): word 0x%lx in %s\n",
                    (unsigned long)b->ptr, b->size, state_name[b->state],
                    (unsigned long)b->why_word, where);
        } else {
            const struct block *p = &s->blocks[b->why_parent];
            fprintf(stderr,
                    "cprof: why: 0x%lx (%zu bytes, %s): word 0x%lx in block 0x%lx+0x%lx "
                    "(%zu bytes), %d blocks from word 0x%lx in %s\n",
                    (unsigned long)b->ptr, b->size, state_name[b->state],
                    (unsigned long)b->why_word, (unsigned long)p->ptr,
                    (unsigned long)(b->why_word - p->ptr), p->size, depth,
                    (unsigned long)top->why_word, where);
        }
    }
}

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

    cprof__threads_refresh_maps(); /* add_range's bounds; it allocates: before the stop */
    struct segments *segs = list_segments();
    measure_tls();
    const char *why = getenv("CPROF_LEAKCHECK_WHY");
    s.why = why && *why && strcmp(why, "0");
    s.segs = segs;
    s.roots_cap = MAX_SEGMENTS + 4 * (MAX_THREADS + 1); /* stack, TLS in two, registers */
    s.roots = scan_alloc(s.roots_cap * sizeof *s.roots);
    if (!s.roots)
        s.roots_cap = 0;
    list_threads();
    cprof__heap_lock_live(); /* no thread may be stopped while holding these */
    stop_world();
    cprof__heap_each_live_locked(gather, &s);
    sort_blocks(s.blocks, s.n);
    if (s.n) {
        s.lo = s.blocks[0].ptr;
        s.hi = s.blocks[s.n - 1].ptr + s.blocks[s.n - 1].size + 1;
    }
    list_roots(&s, segs, callers_stack);
    mark(&s);
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

    if (s.why)
        report_why(&s, sym);
    cprof__symbolizer_free(sym);
    for (int p = 0; p < nsup; p++)
        free(sup[p]);
    free(sup);
    free(groups);
    munmap(s.blocks, s.cap * sizeof *s.blocks);
    if (segs)
        munmap(segs, sizeof *segs);
    munmap(s.work, s.cap * sizeof *s.work);
    if (s.roots)
        munmap(s.roots, s.roots_cap * sizeof *s.roots);
    cprof__heap_leave_internal();
    return total_blocks[DEFINITE] ? 1 : 0;
}
