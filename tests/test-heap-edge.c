/*
 * test-heap-edge: the corners of the malloc family under cprof's heap
 * profiler. Linked with libcprof (so it can use the API), built with
 * -fno-builtin. One mode per corner; each checks the C library's contract
 * itself (exit 1 on a broken one, with the file and line) and, with
 * -rate=N, turns heap sampling on with cprof_heap_set_rate(N) first and
 * writes a profile with cprof_heap_write(-out=FILE) at the end, whose
 * figures test-heap-edge.sh checks (at rate 1 they are exact).
 *
 *   test-heap-edge MODE [-rate=N] [-out=FILE] [-absent=FILE]
 *
 *   realloc      growth and shrink (heap and mmap sizes), realloc(NULL, n),
 *                realloc(p, 0), a failing realloc that must leave p alone
 *   align        posix_memalign, aligned_alloc, memalign, valloc, pvalloc
 *   calloc       calloc(SIZE_MAX, 2) and other overflows: NULL and ENOMEM;
 *                zeroed memory even where a dirty block is reused
 *   freenull     free(NULL), many times
 *   reallocarray overflow: NULL, ENOMEM, the block untouched
 *   usable       malloc_usable_size on blocks of every allocator
 *   xthread      THREADS threads in a ring, each freeing the blocks that
 *                the previous one allocated
 *   fork         forks while other threads allocate; each child allocates,
 *                checks its blocks and exits normally. -absent=FILE: FILE
 *                must not exist after the children exit (a child is not the
 *                profiled process and must not write its profile)
 *   signal       a SIGALRM handler that mallocs, at a high rate, while
 *                main mallocs in a loop (SECONDS of CPU: -seconds=S)
 *   api          cprof_heap_set_rate / cprof_heap_write contracts
 *   tag          sampled blocks' tag: there when sampled, harmless by chance
 *
 * Each mode allocates from functions of its own (NOIPA), so that the
 * profile's figures per function are known; the expected values are in
 * test-heap-edge.sh beside each check.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"
#include "test.h"

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static int argc_;
static char **argv_;

static const char *flag(const char *name, const char *fallback)
{
    size_t n = strlen(name);
    for (int i = 2; i < argc_; i++)
        if (strncmp(argv_[i], name, n) == 0 && argv_[i][n] == '=')
            return argv_[i] + n + 1;
    return fallback;
}

/* SIZE_MAX through a volatile: the compiler would warn about the
 * impossible sizes this test asks for on purpose. */
static volatile size_t size_max_ = SIZE_MAX;
#define SIZE_MAX_ size_max_

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void fill(void *p, size_t n, int c)
{
    memset(p, c, n);
}

static int all_are(const void *p, size_t n, int c)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)c)
            return 0;
    return 1;
}

/* ---- realloc --------------------------------------------------------------------------------- */

void *realloc_kept;

/* 6 allocations, 1201160 bytes, all freed (realloc(p, 0) frees in glibc). */
NOIPA static void realloc_grow_shrink(void)
{
    char *p = realloc(NULL, 100); /* as malloc(100) */
    CHECK(p);
    fill(p, 100, 'a');
    p = realloc(p, 1000); /* growth */
    CHECK(p && all_are(p, 100, 'a'));
    fill(p, 1000, 'b');
    p = realloc(p, 10); /* shrink */
    CHECK(p && all_are(p, 10, 'b'));
    p = realloc(p, 200000); /* to mmap'ed size */
    CHECK(p && all_are(p, 10, 'b'));
    fill(p, 200000, 'c');
    p = realloc(p, 1000000); /* mmap growth (mremap) */
    CHECK(p && all_are(p, 200000, 'c'));
    p = realloc(p, 50); /* back from mmap */
    CHECK(p && all_are(p, 50, 'c'));
    errno = 0;
    p = realloc(p, 0); /* glibc: frees and returns NULL */
    CHECK(p == NULL);
}

/* 2 allocations, 8000 bytes; 5000 bytes in 1 block kept. */
NOIPA static void realloc_keep(void)
{
    char *p = realloc(NULL, 3000);
    CHECK(p);
    fill(p, 3000, 'k');
    p = realloc(p, 5000);
    CHECK(p && all_are(p, 3000, 'k'));
    realloc_kept = p;
}

/* 1 allocation of 64 bytes, freed; the realloc fails and leaves it be. */
NOIPA static void realloc_fail(void)
{
    char *p = malloc(64);
    CHECK(p);
    fill(p, 64, 'f');
    errno = 0;
    char *q = realloc(p, SIZE_MAX_ / 2);
    CHECK(q == NULL);
    CHECK(errno == ENOMEM);
    CHECK(all_are(p, 64, 'f'));
    free(p);
}

static void mode_realloc(void)
{
    realloc_grow_shrink();
    realloc_keep();
    realloc_fail();
}

/* ---- memalign family ------------------------------------------------------------------------- */

void *align_kept;

/* 6 allocations of 1912 requested bytes (pvalloc's 100 may count as a
 * page), all freed. */
NOIPA static void align_family(void)
{
    long page = sysconf(_SC_PAGESIZE);
    void *a = NULL, *x = (void *)&x, *y = NULL;
    CHECK(posix_memalign(&a, 64, 100) == 0 && a && aligned(a, 64));
    CHECK(posix_memalign(&x, 3, 100) == EINVAL); /* not a power of two */
    CHECK(x == (void *)&x);                      /* untouched on failure */
    CHECK(posix_memalign(&y, 65536, 1000) == 0 && y && aligned(y, 65536));
    void *b = aligned_alloc(256, 512);
    CHECK(b && aligned(b, 256));
    void *c = memalign(4096, 100);
    CHECK(c && aligned(c, 4096));
    void *d = valloc(100);
    CHECK(d && aligned(d, (size_t)page));
    void *e = pvalloc(100);
    CHECK(e && aligned(e, (size_t)page));
    CHECK(malloc_usable_size(e) >= (size_t)page); /* pvalloc rounds up to a page */
    fill(a, 100, 1);
    fill(y, 1000, 2);
    fill(b, 512, 3);
    fill(c, 100, 4);
    fill(d, 100, 5);
    fill(e, (size_t)page, 6);
    free(a);
    free(y);
    free(b);
    free(c);
    free(d);
    free(e);
}

/* 1 allocation of 777 bytes, kept. */
NOIPA static void align_keep(void)
{
    align_kept = memalign(128, 777);
    CHECK(align_kept && aligned(align_kept, 128));
}

static void mode_align(void)
{
    align_family();
    align_keep();
}

/* ---- calloc ---------------------------------------------------------------------------------- */

/* 4 allocations: malloc 4096, calloc 4096, calloc 0, calloc 10000; all freed. */
NOIPA static void calloc_cases(void)
{
    errno = 0;
    CHECK(calloc(SIZE_MAX_, 2) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc(2, SIZE_MAX_) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc(SIZE_MAX_ / 2 + 1, 2) == NULL); /* wraps to 0 exactly */
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(calloc((size_t)1 << 62, 1) == NULL); /* no overflow, just too big */
    CHECK(errno == ENOMEM);

    char *dirty = malloc(4096);
    CHECK(dirty);
    fill(dirty, 4096, 0xff);
    free(dirty);
    char *z = calloc(1, 4096); /* likely the same block: must be zeroed anyway */
    CHECK(z && all_are(z, 4096, 0));
    void *none = calloc(0, 10);
    free(none);
    char *big = calloc(1000, 10);
    CHECK(big && all_are(big, 10000, 0));
    free(z);
    free(big);
}

/* ---- free(NULL), reallocarray, malloc_usable_size -------------------------------------------- */

NOIPA static void free_null(void)
{
    for (int i = 0; i < 1000000; i++)
        free(NULL);
}

/* 2 allocations: 80 and 160 bytes, both freed. */
NOIPA static void reallocarray_cases(void)
{
    errno = 0;
    CHECK(reallocarray(NULL, SIZE_MAX_ / 2 + 1, 4) == NULL);
    CHECK(errno == ENOMEM);
    char *q = malloc(80);
    CHECK(q);
    fill(q, 80, 'r');
    errno = 0;
    CHECK(reallocarray(q, SIZE_MAX_, 2) == NULL);
    CHECK(errno == ENOMEM);
    CHECK(all_are(q, 80, 'r')); /* untouched, still ours */
    q = reallocarray(q, 20, 8);
    CHECK(q && all_are(q, 80, 'r'));
    fill(q, 160, 's');
    free(q);
}

NOIPA static void usable_sizes(void)
{
    static const size_t sizes[] = {1, 24, 100, 1000, 4096, 100000, 1 << 20};
    CHECK(malloc_usable_size(NULL) == 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        char *p = malloc(n);
        CHECK(p && malloc_usable_size(p) >= n);
        fill(p, malloc_usable_size(p), 1); /* all of it is ours */
        p = realloc(p, 2 * n);
        CHECK(p && malloc_usable_size(p) >= 2 * n);
        fill(p, malloc_usable_size(p), 2);
        free(p);
        char *c = calloc(n, 1);
        CHECK(c && malloc_usable_size(c) >= n);
        free(c);
        char *m = memalign(256, n);
        CHECK(m && malloc_usable_size(m) >= n);
        fill(m, malloc_usable_size(m), 3);
        free(m);
    }
}

/* ---- Sampled blocks' tag ----------------------------------------------------------------------
 */

/* heap.c's SAMPLED_TAG: a sampled block carries it in the 8 bytes before it,
 * and free looks up only blocks that do. tag_sampled checks that this copy
 * is the library's, so that tag_by_chance tests what it means to. */
#define SAMPLED_TAG 0x9c3b6f0e5a1d4c27ULL

static uint64_t word_before(const void *p)
{
    uint64_t w;
    memcpy(&w, (const char *)p - 16, sizeof w);
    return w;
}

/* At rate 1: sampled, so tagged. */
NOIPA static void tag_sampled(void)
{
    char *p = malloc(40);
    CHECK(p && word_before(p) == SAMPLED_TAG);
    free(p);
    p = realloc(NULL, 0); /* as malloc(0): a block, not NULL */
    CHECK(p);
    free(p);
}

/* With nothing sampled: a block whose 8 bytes before hold the tag by
 * chance (the last 8 of the block before it, in glibc's layout) is looked
 * up, not found, and freed: glibc's per-thread cache hands it back at once.
 * A free that kept it (the safe answer for a tagged block it cannot look
 * up) or gave glibc a wrong address would fail here. */
NOIPA static void tag_by_chance(void)
{
    enum { N = 1024 }; /* past the free chunks the heap holds already */
    char *blocks[N], *a = NULL, *b = NULL;
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(24);
        CHECK(blocks[i]);
    }
    for (int i = 0; i < N && !a; i++) /* two neighbours: b's chunk right after a's */
        for (int j = 0; j < N; j++)
            if (blocks[j] - blocks[i] == 32) {
                a = blocks[i];
                b = blocks[j];
                blocks[j] = NULL;
                break;
            }
    if (!a) {
        printf("tag: no two neighbouring blocks: not checked\n");
    } else {
        uint64_t tag = SAMPLED_TAG;
        memcpy(a + 16, &tag, sizeof tag);
        CHECK(word_before(b) == SAMPLED_TAG);
        free(b);
        char *c = malloc(24);
        CHECK(c == b);
        free(c);
        printf("tag: by chance checked\n");
    }
    for (int i = 0; i < N; i++)
        free(blocks[i]);
}

static void mode_tag(void)
{
    tag_sampled();
    CHECK(cprof_heap_set_rate(1L << 50) == 0);
    tag_by_chance();
    CHECK(cprof_heap_set_rate(1) == 0);
}

/* ---- Threads freeing each other's blocks ----------------------------------------------------- */

#define XT_THREADS 4
#define XT_BLOCKS  20000
#define XT_QUEUE   256

struct xqueue {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    void *slot[XT_QUEUE];
    int head, n;
};

static struct xqueue xq[XT_THREADS];

static void xq_push(struct xqueue *q, void *p)
{
    pthread_mutex_lock(&q->lock);
    while (q->n == XT_QUEUE)
        pthread_cond_wait(&q->changed, &q->lock);
    q->slot[(q->head + q->n++) % XT_QUEUE] = p;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* Pops one block, or NULL if none is there and `wait` is 0. */
static void *xq_pop(struct xqueue *q, int wait)
{
    pthread_mutex_lock(&q->lock);
    while (wait && q->n == 0)
        pthread_cond_wait(&q->changed, &q->lock);
    void *p = NULL;
    if (q->n) {
        p = q->slot[q->head];
        q->head = (q->head + 1) % XT_QUEUE;
        q->n--;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->lock);
    return p;
}

/* Sizes 16..2047 bytes, from the block's index: the total is known. */
static size_t xt_size(int i)
{
    return 16 + (size_t)(i * 7919) % 2032;
}

NOIPA static void *xthread_alloc(int i)
{
    unsigned char *p = malloc(xt_size(i));
    CHECK(p);
    p[0] = (unsigned char)i;
    return p;
}

NOIPA static void xthread_free(void *p)
{
    free(p);
}

static void *xthread_main(void *arg)
{
    int me = (int)(intptr_t)arg, got = 0;
    struct xqueue *mine = &xq[me], *next = &xq[(me + 1) % XT_THREADS];
    for (int i = 0; i < XT_BLOCKS; i++) {
        xq_push(next, xthread_alloc(i));
        void *p = xq_pop(mine, 0);
        if (p) {
            xthread_free(p);
            got++;
        }
    }
    while (got < XT_BLOCKS) {
        xthread_free(xq_pop(mine, 1));
        got++;
    }
    return NULL;
}

static void mode_xthread(void)
{
    pthread_t t[XT_THREADS];
    for (int i = 0; i < XT_THREADS; i++) {
        pthread_mutex_init(&xq[i].lock, NULL);
        pthread_cond_init(&xq[i].changed, NULL);
    }
    for (int i = 0; i < XT_THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, xthread_main, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < XT_THREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t bytes = 0;
    for (int i = 0; i < XT_BLOCKS; i++)
        bytes += xt_size(i);
    printf("xthread_blocks=%d xthread_bytes=%llu\n", XT_THREADS * XT_BLOCKS,
           (unsigned long long)(bytes * XT_THREADS));
}

/* ---- fork while other threads allocate ------------------------------------------------------- */

#define FORK_WORKERS  3
#define FORK_CHILDREN 20

static atomic_int fork_stop;

NOIPA static void fork_worker_churn(unsigned *seed)
{
    void *keep[64] = {0};
    for (int i = 0; i < 4096; i++) {
        int k = rand_r(seed) % 64;
        free(keep[k]);
        keep[k] = malloc(16 + rand_r(seed) % 4000);
        CHECK(keep[k]);
    }
    for (int k = 0; k < 64; k++)
        free(keep[k]);
}

static void *fork_worker(void *arg)
{
    unsigned seed = (unsigned)(intptr_t)arg;
    while (!atomic_load(&fork_stop))
        fork_worker_churn(&seed);
    return NULL;
}

/* In the child: allocates, checks, frees. */
NOIPA static int fork_child_work(int n)
{
    char *blocks[256];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 256; i++) {
            blocks[i] = malloc(32 + (size_t)(i + n) * 16);
            if (!blocks[i])
                return 1;
            memset(blocks[i], i & 0xff, 32);
        }
        for (int i = 0; i < 256; i++) {
            if (!all_are(blocks[i], 32, i & 0xff))
                return 2;
            free(blocks[i]);
        }
    }
    return 0;
}

static void mode_fork(void)
{
    const char *absent = flag("-absent", NULL);
    pthread_t t[FORK_WORKERS];
    for (int i = 0; i < FORK_WORKERS; i++)
        CHECK(pthread_create(&t[i], NULL, fork_worker, (void *)(intptr_t)(i + 1)) == 0);
    for (int c = 0; c < FORK_CHILDREN; c++) {
        usleep(2000);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(30); /* a deadlocked child dies of SIGALRM, and says so below */
            exit(fork_child_work(c));
        }
        /* A child that deadlocks inside fork() (in an atfork handler) never
         * gets to its alarm(): wait 30 s at most, then say so. */
        int status, waited = 0;
        pid_t got;
        while ((got = waitpid(pid, &status, WNOHANG)) == 0 && waited++ < 3000)
            usleep(10000);
        if (got == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "fork: child %d hung for 30 s (killed)\n", c);
            exit(1);
        }
        CHECK(got == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "fork: child %d: %s %d\n", c,
                    WIFEXITED(status) ? "exit status" : "killed by signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            exit(1);
        }
        if (absent && access(absent, F_OK) == 0) {
            fprintf(stderr, "fork: child %d wrote %s, the parent's profile\n", c, absent);
            exit(1);
        }
    }
    atomic_store(&fork_stop, 1);
    for (int i = 0; i < FORK_WORKERS; i++)
        pthread_join(t[i], NULL);
    printf("fork_children=%d\n", FORK_CHILDREN);
}

/* ---- A signal handler that mallocs ----------------------------------------------------------- */

#define HANDLER_SIZE 1000 /* a size class of glibc's tcache (<= 1032) main never uses */

static volatile sig_atomic_t handled;
static void *volatile handler_sink;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    char *p = malloc(HANDLER_SIZE);
    if (p) {
        p[0] = 1;
        handler_sink = p;
        free(p);
    }
    handled = handled + 1;
    errno = saved;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keeps 256 blocks of random sizes, replacing one at random: their
 * addresses spread over the whole heap (and over cprof's live-table
 * shards), while the handler's size class stays warm in glibc's per-thread
 * cache, so that glibc itself never needs a lock in the handler. */
NOIPA static void signal_main_loop(double seconds)
{
    static void *keep[256];
    unsigned seed = 1;
    double until = cpu_s() + seconds;
    while (cpu_s() < until) {
        for (int i = 0; i < 1000; i++) {
            int k = rand_r(&seed) % 256;
            free(keep[k]);
            keep[k] = malloc(16 + rand_r(&seed) % 497);
            CHECK(keep[k]);
            ((char *)keep[k])[0] = 1;
        }
    }
    for (int k = 0; k < 256; k++) {
        free(keep[k]);
        keep[k] = NULL;
    }
}

static void mode_signal(void)
{
    double seconds = atof(flag("-seconds", "1"));
    free(malloc(HANDLER_SIZE)); /* the handler's size class is warm: glibc needs no lock */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = {{0, 50}, {0, 50}}; /* every 50 us: as often as the kernel can */
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    signal_main_loop(seconds);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("handled=%d\n", (int)handled);
    CHECK(handled > 100);
}

/* ---- the API's contracts --------------------------------------------------------------------- */

void *api_kept[3];

/* 100 blocks of 1000 bytes, freed: at 512 KiB, almost surely none sampled,
 * but the thread's countdown is drawn. */
NOIPA static void api_warm(void)
{
    for (int i = 0; i < 100; i++)
        free(malloc(1000));
}

NOIPA static void api_while_on(void)
{
    api_kept[0] = malloc(1234);
}

NOIPA static void api_while_off(void)
{
    api_kept[1] = malloc(4321);
}

NOIPA static void api_on_again(void)
{
    api_kept[2] = malloc(2345);
}

/* Expected profile: api_while_on 1 allocation of 1234 bytes, freed;
 * api_while_off absent (allocated while off); api_on_again 1 allocation of
 * 2345 bytes, in use. */
static void mode_api(void)
{
    const char *out = flag("-out", NULL);
    CHECK(out);
    /* Before any rate: writing fails with a reason, and writes nothing. */
    CHECK(cprof_heap_write(out) == -1);
    CHECK(cprof_last_error() && *cprof_last_error());
    CHECK(access(out, F_OK) != 0);
    CHECK(cprof_heap_set_rate(-1) == -1);
    CHECK(cprof_heap_write("") == -1);
    /* Sampling at the default rate first, then every allocation: from the
     * moment the rate is 1, every allocation is recorded (a countdown drawn
     * at the old rate must not hide the next ones). */
    CHECK(cprof_heap_set_rate(512 * 1024) == 0);
    api_warm();
    CHECK(cprof_heap_set_rate(1) == 0);
    api_while_on();
    CHECK(cprof_heap_set_rate(0) == 0); /* off: not recorded */
    api_while_off();                    /* draws a countdown: threads count down while off too */
    CHECK(cprof_heap_set_rate(1) == 0);
    free(api_kept[0]); /* recorded as freed: sampled while on */
    api_kept[0] = NULL;
    /* Recorded: the countdown drawn while off must not hide it. */
    api_on_again();
    CHECK(cprof_heap_write(out) == 0);
}

/* Run with CPROF_TEST_HEAP_BOOT=1: the heap hooks, finding the next
 * allocator, also look up a symbol that does not exist, and the dynamic
 * loader allocates its error from cprof's bootstrap arena (heap.c says so
 * on stderr). glibc frees such a result at the next dl* call or dlerror,
 * through free, long after the allocator was found (cprof's own lookups of
 * the pthread functions come later too): free must recognise the arena's
 * blocks (glibc's free would abort on one). More lookups and dlerror here,
 * then the calloc cases, as in that mode. */
static void mode_boot(void)
{
    printf("boot_dlerror=%s\n", dlerror() ? "pending" : "(none)");
    CHECK(dlsym(RTLD_DEFAULT, "cprof_test_missing_symbol") == NULL);
    CHECK(dlerror() != NULL);
    CHECK(dlerror() == NULL);
    calloc_cases();
}

int main(int argc, char **argv)
{
    argc_ = argc;
    argv_ = argv;
    if (argc < 2) {
        fprintf(stderr, "usage: test-heap-edge MODE [-rate=N] [-out=FILE] [-absent=FILE]\n");
        return 2;
    }
    const char *mode = argv[1];
    long rate = atol(flag("-rate", "0"));
    const char *out = flag("-out", NULL);
    if (strcmp(mode, "api") == 0) {
        mode_api();
        printf("api: ok\n");
        return 0;
    }
    if (rate > 0)
        CHECK(cprof_heap_set_rate(rate) == 0);

    if (strcmp(mode, "realloc") == 0)
        mode_realloc();
    else if (strcmp(mode, "align") == 0)
        mode_align();
    else if (strcmp(mode, "calloc") == 0)
        calloc_cases();
    else if (strcmp(mode, "boot") == 0)
        mode_boot();
    else if (strcmp(mode, "freenull") == 0)
        free_null();
    else if (strcmp(mode, "reallocarray") == 0)
        reallocarray_cases();
    else if (strcmp(mode, "usable") == 0)
        usable_sizes();
    else if (strcmp(mode, "tag") == 0)
        mode_tag();
    else if (strcmp(mode, "xthread") == 0)
        mode_xthread();
    else if (strcmp(mode, "fork") == 0)
        mode_fork();
    else if (strcmp(mode, "signal") == 0)
        mode_signal();
    else {
        fprintf(stderr, "test-heap-edge: unknown mode %s\n", mode);
        return 2;
    }
    if (out && cprof_heap_write(out) != 0) {
        fprintf(stderr, "cprof_heap_write(%s): %s\n", out, cprof_last_error());
        return 1;
    }
    printf("%s: ok\n", mode);
    return 0;
}
