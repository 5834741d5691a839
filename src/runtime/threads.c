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
#include "threads.h"

struct thread_tls {
    pid_t tid;
    uintptr_t stack_lo, stack_hi;
    int internal;
};
static __thread struct thread_tls self __attribute__((tls_model("initial-exec")));

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
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
};

static void on_thread_exit(void *unused)
{
    (void)unused;
    if (self.internal)
        return;
    pthread_mutex_lock(&registry_lock);
    if (hooks.thread_end)
        hooks.thread_end(cprof__gettid());
    pthread_mutex_unlock(&registry_lock);
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
        pthread_mutex_lock(&registry_lock);
        if (hooks.thread_start)
            hooks.thread_start(self.tid);
        pthread_mutex_unlock(&registry_lock);
    }
    return a.fn(a.arg);
}

static pthread_create_fn resolve_pthread_create(void)
{
    if (!real_pthread_create)
        real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    return real_pthread_create;
}

static int create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg,
                  int internal)
{
    pthread_create_fn real = resolve_pthread_create();
    if (!real)
        return EAGAIN;
    struct start_args *a = malloc(sizeof *a);
    if (!a)
        return real(thread, attr, fn, arg); /* run it unwatched rather than fail the program */
    *a = (struct start_args){fn, arg, internal};
    int err = real(thread, attr, thread_entry, a);
    if (err)
        free(a);
    return err;
}

/* The interposed pthread_create: the program's threads start in thread_entry. */
CPROF_API int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    return create(thread, attr, fn, arg, 0);
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
}
