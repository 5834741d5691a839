/*
 * stackask.c: owns asking running threads for their stacks (thread dumps,
 * the wall-clock profile's on-CPU samples).
 *
 * A running thread's stack can only be walked by the thread itself, from a
 * signal handler. But a signal sent with tgkill can land just as the thread
 * enters poll(), epoll_wait(), nanosleep() or sem_timedwait(), and those
 * return EINTR even with SA_RESTART: the program would see a failure it
 * never sees without cprof.
 *
 * So the signal is sent by the kernel at a moment of its choosing: each
 * thread asked gets a perf_event task-clock counter that counts user time
 * only (exclude_kernel), armed for one overflow (PERF_EVENT_IOC_REFRESH 1)
 * after 10 us of the thread's CPU time. The overflow fires from the timer
 * interrupt only when that interrupt caught the thread in user mode
 * (perf_exclude_event), and the signal is delivered on the way back to user
 * mode: never inside a system call. A thread that blocks instead of running
 * simply does not answer; the asker stops waiting and closes the counter.
 *
 * Where perf is refused (perf_event_paranoid, seccomp), thread dumps fall
 * back to tgkill and its small EINTR risk, and say so in docs/threads.md;
 * the wall-clock profile, which runs all the time, asks nothing then.
 *
 * The questions live in a table of slots, one per question: ticket = tid,
 * then BUSY while the handler writes the answer, then DONE. A question may
 * stay open across calls (the wall-clock profiler collects its answers at
 * its next tick), or be waited for (thread dumps).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "signals.h"
#include "stackask.h"
#include "threads.h"
#include "unwind.h"

#define STACK_SIGNAL (SIGRTMAX - 2)
#define ONE_SHOT_NS  10000 /* the kernel's shortest task-clock timer period */
#define TICKET_TID   ((1ULL << 40) - 1)
#define TICKET_BUSY  (1ULL << 40)
#define TICKET_DONE  (1ULL << 41)

struct slot {
    _Atomic uint64_t ticket; /* written by the asker and the handler */
    int n;                   /* the answer, written by the handler */
    uint64_t pcs[CPROF_MAX_FRAMES];
    int owned, fd; /* the asker's, under ask_lock */
    dev_t dev;     /* fd's identity, checked before closing it */
    ino_t ino;
};

static struct slot slots[CPROF_ASK_MAX];
static pthread_mutex_t ask_lock = PTHREAD_MUTEX_INITIALIZER;
static int handler_state; /* 0: not tried, 1: installed, -1: the program uses the signal */
static int perf_state;    /* 0: not tried, 1: works, -1: refused */

/* async-signal-safe: gettid, atomics, cprof__stack_hi and cprof__unwind are
 * (unwind.h), and the loop is bounded by the table. A thread finds its own
 * slot by tid; a stale signal (its question withdrawn) finds none. */
static void on_stack_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    int saved = errno;
    uint64_t tid = (uint64_t)syscall(SYS_gettid);
    for (int i = 0; i < CPROF_ASK_MAX; i++) {
        uint64_t t = atomic_load(&slots[i].ticket);
        if (t != tid) /* someone else's, or already answered */
            continue;
        /* Claim the slot; if the asker gave up meanwhile the ticket changed. */
        if (!atomic_compare_exchange_strong(&slots[i].ticket, &t, t | TICKET_BUSY))
            continue;
        const ucontext_t *ctx = uc;
        uintptr_t sp = (uintptr_t)ctx->uc_mcontext.gregs[REG_RSP];
        slots[i].n = cprof__unwind(uc, slots[i].pcs, CPROF_MAX_FRAMES, cprof__stack_hi(sp));
        atomic_store(&slots[i].ticket, t | TICKET_DONE);
    }
    errno = saved;
}

static int install_handler(void)
{
    if (handler_state)
        return handler_state;
    struct sigaction cur, sa = {0};
    cprof__real_sigaction(STACK_SIGNAL, NULL, &cur);
    handler_state = -1;
    if (cur.sa_handler == SIG_DFL && !(cur.sa_flags & SA_SIGINFO)) {
        sa.sa_sigaction = on_stack_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (cprof__real_sigaction(STACK_SIGNAL, &sa, NULL) == 0)
            handler_state = 1;
    }
    return handler_state;
}

/* A counter of tid's user-mode CPU time that signals tid once, 10 us of
 * user time from now; -1 when perf is refused. */
static int arm_one_shot(pid_t tid)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = ONE_SHOT_NS;
    attr.disabled = 1;
    attr.exclude_kernel = 1; /* the point: fire only in user mode */
    attr.exclude_hv = 1;
    int fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return -1;
    struct f_owner_ex owner = {F_OWNER_TID, tid};
    if (fcntl(fd, F_SETFL, O_ASYNC) < 0 || fcntl(fd, F_SETSIG, STACK_SIGNAL) < 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) < 0 || ioctl(fd, PERF_EVENT_IOC_REFRESH, 1) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* CPROF_CPU_ENGINE=timer says: no perf_event in this process (and lets the
 * tests take the path of a machine where perf is refused). */
static int probe_perf(void)
{
    const char *engine = getenv("CPROF_CPU_ENGINE");
    if (!perf_state && engine && !strcmp(engine, "timer"))
        perf_state = -1;
    if (!perf_state) {
        int fd = arm_one_shot(cprof__gettid());
        perf_state = fd >= 0 ? 1 : -1;
        if (fd >= 0)
            close(fd); /* closed before 10 us of this thread's user time: no signal */
    }
    return perf_state;
}

enum cprof_ask_mode cprof__stack_ask_mode(void)
{
    pthread_mutex_lock(&ask_lock);
    enum cprof_ask_mode mode = install_handler() < 0 ? CPROF_ASK_NONE
                               : probe_perf() > 0    ? CPROF_ASK_USER_ONLY
                                                     : CPROF_ASK_SIGNAL;
    pthread_mutex_unlock(&ask_lock);
    return mode;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Closes a question's counter, if the descriptor is still ours: a program
 * that closed every descriptor (close_range) may have reused the number. */
static void close_counter(struct slot *s)
{
    struct stat st;
    if (s->fd >= 0 && fstat(s->fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        close(s->fd);
    s->fd = -1;
}

/* Takes a free slot for tid and arms it; the slot, or -1. Under ask_lock. */
static int post_locked(pid_t tid, int allow_signal)
{
    int user_only = install_handler() > 0 && probe_perf() > 0;
    if (!user_only && !(handler_state > 0 && allow_signal))
        return -1;
    int i = 0;
    while (i < CPROF_ASK_MAX && slots[i].owned)
        i++;
    if (i == CPROF_ASK_MAX)
        return -1;
    atomic_store(&slots[i].ticket, (uint64_t)tid & TICKET_TID);
    slots[i].fd = -1;
    if (user_only)
        slots[i].fd = arm_one_shot(tid);
    struct stat st;
    if (slots[i].fd >= 0 && fstat(slots[i].fd, &st) == 0) {
        slots[i].dev = st.st_dev;
        slots[i].ino = st.st_ino;
    }
    if (user_only ? slots[i].fd < 0 : syscall(SYS_tgkill, getpid(), tid, STACK_SIGNAL) < 0) {
        atomic_store(&slots[i].ticket, 0); /* the thread is gone */
        return -1;
    }
    slots[i].owned = 1;
    return i;
}

int cprof__stack_ask_post(pid_t tid, int allow_signal)
{
    pthread_mutex_lock(&ask_lock);
    int slot = post_locked(tid, allow_signal);
    pthread_mutex_unlock(&ask_lock);
    return slot;
}

static int answered(int slot)
{
    return (atomic_load(&slots[slot].ticket) & TICKET_DONE) != 0;
}

/* Ends question `slot`: its answer's frame count, or -1. Under ask_lock. */
static int end_locked(int slot, uint64_t *pcs, int max)
{
    struct slot *s = &slots[slot];
    /* Closed first: no new signal once the slot is free. */
    close_counter(s);
    s->owned = 0;
    uint64_t t = atomic_load(&s->ticket);
    if (!(t & (TICKET_BUSY | TICKET_DONE)) && atomic_compare_exchange_strong(&s->ticket, &t, 0))
        return -1; /* not answered: withdrawn before a handler claimed it */
    while (!(atomic_load(&s->ticket) & TICKET_DONE))
        sched_yield(); /* a handler is writing the answer */
    int n = s->n < max ? s->n : max;
    memcpy(pcs, s->pcs, (size_t)n * sizeof pcs[0]);
    atomic_store(&s->ticket, 0);
    return n;
}

int cprof__stack_ask_take(int slot, uint64_t *pcs, int max, int give_up)
{
    pthread_mutex_lock(&ask_lock);
    int n = -1;
    if (give_up || answered(slot))
        n = end_locked(slot, pcs, max);
    pthread_mutex_unlock(&ask_lock);
    return n;
}

/* A child forked while a thread of its parent asked holds a copy of
 * ask_lock taken, and questions to threads it does not have: it starts
 * with none. */
static void atfork_child(void)
{
    pthread_mutex_init(&ask_lock, NULL);
    for (int i = 0; i < CPROF_ASK_MAX; i++) {
        if (slots[i].owned)
            close_counter(&slots[i]);
        slots[i].owned = 0;
        slots[i].fd = -1;
        atomic_store(&slots[i].ticket, 0);
    }
}

void cprof__stackask_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

int cprof__stack_ask(struct cprof_stack_answer *q, int n, int64_t wait_ns, int allow_signal)
{
    int slot[CPROF_ASK_MAX], got = 0;
    if (n > CPROF_ASK_MAX)
        n = CPROF_ASK_MAX;
    for (int i = 0; i < n; i++)
        slot[i] = cprof__stack_ask_post(q[i].tid, allow_signal);
    int64_t give_up = now_ns() + wait_ns;
    struct timespec pause = {0, 20000};
    for (int i = 0; i < n; i++)
        while (slot[i] >= 0 && !answered(slot[i]) && now_ns() < give_up)
            nanosleep(&pause, NULL);
    for (int i = 0; i < n; i++) {
        q[i].n = slot[i] < 0 ? -1 : cprof__stack_ask_take(slot[i], q[i].pcs, CPROF_MAX_FRAMES, 1);
        got += q[i].n >= 0;
    }
    return got;
}
