/*
 * threads.c: owns the thread registry: each thread's kernel id and stack
 * bounds (in initial-exec TLS, readable from signal handlers), the
 * interposed pthread_create that makes new threads known before they run
 * user code, and a snapshot of /proc/self/maps for threads cprof did not see
 * start (those that existed before a linked program called cprof_cpu_start).
 *
 * Locking: `registry_lock` serialises thread start/end hooks with samplers
 * attaching to all threads. The maps snapshot is an atomic pointer; replaced
 * snapshots are freed only when no signal handler is reading (`readers`).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cprof.h"
#include "errors.h"
#include "heap.h"
#include "labels.h"
#include "samples.h"
#include "sync.h"
#include "threads.h"
#include "trace.h"
#include "unwind.h"

struct thread_tls {
    pid_t tid;
    uintptr_t stack_lo, stack_hi;
    int internal;
};
static __thread struct thread_tls self __attribute__((tls_model("initial-exec")));

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* Threads seen starting, and the main thread: a list under registry_lock. */
struct record {
    struct cprof_thread_info info;
    struct record *prev, *next;
};
static struct record *records;
static __thread struct record *own_record __attribute__((tls_model("initial-exec")));
static __thread struct cprof_thread_slot own_slot __attribute__((tls_model("initial-exec")));
static _Atomic(cprof_samples *) creation_stacks;
static cprof_thread_hooks hooks;
static pthread_key_t exit_key;

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static pthread_create_fn real_pthread_create;

/* ---- Stack bounds ---------------------------------------------------------- */

struct range {
    uintptr_t lo, hi;
};
struct maps_snapshot {
    size_t n;
    struct range r[];
};
static _Atomic(struct maps_snapshot *) maps;
static _Atomic int readers;

pid_t cprof__gettid(void)
{
    if (!self.tid)
        self.tid = (pid_t)syscall(SYS_gettid);
    return self.tid;
}

/* Finds the calling thread's stack from pthread: exact for threads started by
 * pthread_create, /proc/self/maps + RLIMIT_STACK for the main thread. */
static void learn_own_stack(void)
{
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    void *addr;
    size_t size;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        self.stack_lo = (uintptr_t)addr;
        self.stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

/* async-signal-safe: TLS reads, atomics and a binary search. */
uintptr_t cprof__stack_hi(uintptr_t sp)
{
    if (sp >= self.stack_lo && sp < self.stack_hi)
        return self.stack_hi;
    uintptr_t hi = 0;
    atomic_fetch_add_explicit(&readers, 1, memory_order_acquire);
    const struct maps_snapshot *m = atomic_load_explicit(&maps, memory_order_acquire);
    size_t lo = 0, n = m ? m->n : 0;
    while (lo < n) {
        size_t mid = lo + (n - lo) / 2;
        if (m->r[mid].lo <= sp)
            lo = mid + 1;
        else
            n = mid;
    }
    if (lo && sp < m->r[lo - 1].hi)
        hi = m->r[lo - 1].hi;
    atomic_fetch_sub_explicit(&readers, 1, memory_order_release);
    return hi;
}

int cprof__mapping_bounds(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    int found = 0;
    atomic_fetch_add_explicit(&readers, 1, memory_order_acquire);
    const struct maps_snapshot *m = atomic_load_explicit(&maps, memory_order_acquire);
    size_t l = 0, n = m ? m->n : 0;
    while (l < n) {
        size_t mid = l + (n - l) / 2;
        if (m->r[mid].lo <= addr)
            l = mid + 1;
        else
            n = mid;
    }
    if (l && addr < m->r[l - 1].hi) {
        *lo = m->r[l - 1].lo;
        *hi = m->r[l - 1].hi;
        found = 1;
    }
    atomic_fetch_sub_explicit(&readers, 1, memory_order_release);
    return found;
}

/* Reads a whole small /proc file into a malloc'd, NUL-terminated buffer. */
static char *read_proc_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got <= 0)
            break;
        len += (size_t)got;
        if (len + 1 == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

void cprof__threads_refresh_maps(void)
{
    char *text = read_proc_file("/proc/self/maps");
    if (!text)
        return;
    size_t lines = 1;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    struct maps_snapshot *snap = malloc(sizeof *snap + lines * sizeof(struct range));
    if (!snap) {
        free(text);
        return;
    }
    snap->n = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        unsigned long lo, hi;
        char perms[8];
        /* Stacks are private read-write mappings; /proc/self/maps is sorted. */
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' && perms[1] == 'w')
            snap->r[snap->n++] = (struct range){lo, hi};
        line = next;
    }
    free(text);
    struct maps_snapshot *old = atomic_exchange(&maps, snap);
    /* A handler may still be searching the old snapshot: wait (briefly; a
     * search is a few hundred nanoseconds) before freeing it. */
    for (int i = 0; old && i < 100000 && atomic_load(&readers); i++)
        sched_yield();
    if (old && !atomic_load(&readers))
        free(old);
}

/* ---- Thread start and end ----------------------------------------------------- */

static void note_internal(pid_t tid);

struct start_args {
    void *(*fn)(void *);
    void *arg;
    int internal;
    long create_stack;
};

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Registry lock held. */
static void add_record(long create_stack)
{
    cprof__heap_enter_internal(); /* cprof's memory, not the program's */
    struct record *r = calloc(1, sizeof *r);
    cprof__heap_leave_internal();
    if (!r)
        return;
    own_slot.tid = self.tid;
    r->info = (struct cprof_thread_info){.tid = self.tid,
                                         .stack_hi = self.stack_hi,
                                         .wait = cprof__wait_self(),
                                         .create_stack = create_stack,
                                         .slot = &own_slot,
                                         .heap_countdown = cprof__heap_countdown_self(),
                                         .start_ns = monotonic_ns()};
    r->next = records;
    if (records)
        records->prev = r;
    records = r;
    own_record = r;
}

/* Registry lock held. */
static void remove_record(void)
{
    struct record *r = own_record;
    if (!r)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        records = r->next;
    if (r->next)
        r->next->prev = r->prev;
    own_record = NULL;
    free(r);
}

void cprof__threads_each_countdown(void (*fn)(int64_t *countdown))
{
    pthread_mutex_lock(&registry_lock);
    for (struct record *r = records; r; r = r->next)
        fn(r->info.heap_countdown);
    pthread_mutex_unlock(&registry_lock);
}

size_t cprof__threads_registered(struct cprof_thread_info *out, size_t max)
{
    size_t n = 0;
    for (const struct record *r = records; r; r = r->next, n++)
        if (n < max)
            out[n] = r->info;
    return n;
}

static void on_thread_exit(void *unused)
{
    (void)unused;
    if (self.internal)
        return;
    cprof__trace_thread_end();
    cprof__heap_enter_internal(); /* cprof's own lock: not the program's contention */
    pthread_mutex_lock(&registry_lock);
    remove_record();
    pthread_mutex_unlock(&registry_lock);
    cprof__heap_leave_internal();
    /* After the record is gone: a profiler starting on another thread opens
     * samplers for the registered threads under the registry lock, so it
     * either saw this thread (and what it opened is closed here) or it
     * never will. Closing first could miss a sampler opened just after. */
    cprof_thread_hooks h = hooks;
    if (h.thread_end)
        h.thread_end(&own_slot);
}

static void *thread_entry(void *p)
{
    struct start_args a = *(struct start_args *)p;
    free(p);
    self.tid = (pid_t)syscall(SYS_gettid);
    self.internal = a.internal;
    learn_own_stack();
    if (a.internal)
        note_internal(self.tid);
    if (!a.internal) {
        /* The key's destructor runs at pthread_exit and on return from fn. */
        pthread_setspecific(exit_key, (void *)1);
        cprof__heap_enter_internal(); /* cprof's own lock: not the program's contention */
        pthread_mutex_lock(&registry_lock);
        add_record(a.create_stack);
        pthread_mutex_unlock(&registry_lock);
        cprof__heap_leave_internal();
        cprof_thread_hooks h = hooks;
        if (h.thread_start)
            h.thread_start(&own_slot);
        cprof__trace_thread_start();
    }
    return a.fn(a.arg);
}

static pthread_create_fn resolve_pthread_create(void)
{
    if (!real_pthread_create)
        real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    return real_pthread_create;
}

__attribute__((noinline)) static int create(pthread_t *thread, const pthread_attr_t *attr,
                                            void *(*fn)(void *), void *arg, int internal)
{
    pthread_create_fn real = resolve_pthread_create();
    if (!real)
        return EAGAIN;
    cprof__heap_enter_internal(); /* cprof's memory, not the program's */
    struct start_args *a = malloc(sizeof *a);
    cprof__heap_leave_internal();
    if (!a)
        return real(thread, attr, fn, arg); /* run it unwatched rather than fail the program */
    *a = (struct start_args){fn, arg, internal, -1};
    cprof_samples *t = atomic_load(&creation_stacks);
    if (t && !internal) {
        /* Frames left out: create and pthread_create, so that the stack
         * starts at the program's call. */
        uint64_t pcs[CPROF_MAX_FRAMES];
        int n = cprof__unwind_here(pcs, CPROF_MAX_FRAMES, 2);
        a->create_stack = cprof__samples_intern(t, pcs, n, cprof__labels_current());
        if (a->create_stack >= 0)
            cprof__samples_add_value(t, a->create_stack, 0, 1);
    }
    int err = real(thread, attr, thread_entry, a);
    if (err)
        free(a);
    return err;
}

/* The interposed pthread_create: the program's threads start in thread_entry. */
CPROF_API int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    int rc = create(thread, attr, fn, arg, 0);
    /* Keeps this frame on the stack (no tail call into create): the
     * creation stack skips exactly create and pthread_create. */
    __asm__ volatile("" ::: "memory");
    return rc;
}

int cprof__thread_create_internal(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits this mask */
    int err = create(thread, NULL, fn, arg, 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

cprof_samples *cprof__threads_track_creation(void)
{
    if (!atomic_load(&creation_stacks)) {
        cprof_samples *t = cprof__samples_new(16 * 1024, 1024 * 1024);
        cprof_samples *expected = NULL;
        if (t && !atomic_compare_exchange_strong(&creation_stacks, &expected, t))
            cprof__samples_free(t);
        cprof__unwind_refresh();
    }
    return atomic_load(&creation_stacks);
}

cprof_samples *cprof__threadcreate_table(void)
{
    return atomic_load(&creation_stacks);
}

int cprof__threads_is_internal(void)
{
    return self.internal;
}

void cprof__threads_set_hooks(const cprof_thread_hooks *h)
{
    hooks = h ? *h : (cprof_thread_hooks){0};
}

void cprof__threads_lock(void)
{
    pthread_mutex_lock(&registry_lock);
}

void cprof__threads_unlock(void)
{
    pthread_mutex_unlock(&registry_lock);
}

/* Lists /proc/self/task, skipping cprof's own threads by their tids. */
static pid_t internal_tids[8];
static _Atomic int ninternal;

void cprof__threads_each(void (*fn)(pid_t tid, void *arg), void *arg)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        int skip = 0;
        for (int i = 0; i < atomic_load(&ninternal); i++)
            skip |= internal_tids[i] == tid;
        if (!skip)
            fn(tid, arg);
    }
    closedir(d);
}

/* Internal threads record their tid here when they start; few exist. */
static void note_internal(pid_t tid)
{
    int i = atomic_load(&ninternal);
    if (i < (int)(sizeof internal_tids / sizeof internal_tids[0])) {
        internal_tids[i] = tid;
        atomic_store(&ninternal, i + 1);
    }
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&registry_lock);
}

static void atfork_child(void)
{
    pthread_mutex_init(&registry_lock, NULL);
    self.tid = (pid_t)syscall(SYS_gettid);
    /* Only the forking thread lives on: forget the others' records (their
     * memory is the child's copy; freeing it could take malloc's locks in
     * an odd state, so it is left). */
    records = NULL;
    own_record = NULL;
    add_record(-1);
    atomic_store(&ninternal, 0); /* cprof's threads do not survive fork */
}

void cprof__threads_init(void)
{
    resolve_pthread_create();
    pthread_key_create(&exit_key, on_thread_exit);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    self.tid = (pid_t)syscall(SYS_gettid);
    learn_own_stack();
    cprof__threads_refresh_maps();
    add_record(-1);
}
