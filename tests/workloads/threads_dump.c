/*
 * threads_dump: named threads blocked in known places, and a thread dump of
 * them through the linked API. Each thread names itself, says its kernel
 * id, and blocks (or spins) in a function of its own:
 *
 *   t-mutex   block_on_mutex   pthread_mutex_lock of a mutex main holds
 *   t-cond    block_on_cond    pthread_cond_wait, never signalled
 *   t-sem     block_on_sem     sem_wait on a semaphore at 0
 *   t-sleep   block_in_sleep   nanosleep of an hour
 *   t-read    block_on_read    read of a pipe nobody writes
 *   t-busy    busy_loop        spinning on the CPU
 *   t-group   group_wait       N threads at one pthread_barrier_wait call
 *
 *   threads_dump DIR [-group=N]
 *
 * Once every blocking thread sleeps in the kernel (/proc/self/task/TID/stat
 * says S), main writes DIR/dump2.txt (cprof_threads_write debug=2),
 * DIR/dump1.txt (debug=1) and DIR/threads.pb.gz (debug=0), prints each
 * thread's "name=tid" and exits without waking anyone (exit ends them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cprof.h"

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

#define MAX_GROUP 64

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static sem_t zero;
static int pipe_fds[2];
static pthread_barrier_t barrier;
static volatile uint64_t sink;

struct role {
    const char *name;
    void (*block)(void);
    _Atomic pid_t tid;
};

NOIPA static void block_on_mutex(void)
{
    pthread_mutex_lock(&held);
    sink++;
}

NOIPA static void block_on_cond(void)
{
    pthread_mutex_lock(&cond_lock);
    for (;;)
        pthread_cond_wait(&never, &cond_lock);
}

NOIPA static void block_on_sem(void)
{
    while (sem_wait(&zero) != 0)
        ;
    sink++;
}

NOIPA static void block_in_sleep(void)
{
    struct timespec ts = {3600, 0};
    while (nanosleep(&ts, &ts) != 0)
        ;
    sink++;
}

NOIPA static void block_on_read(void)
{
    char c;
    while (read(pipe_fds[0], &c, 1) < 0 && errno == EINTR)
        ;
    sink++;
}

NOIPA static void busy_loop(void)
{
    uint64_t h = 1;
    for (;;) {
        h = h * 6364136223846793005ULL + 1;
        __asm__ volatile("" : "+r"(h));
    }
}

NOIPA static void group_wait(void)
{
    pthread_barrier_wait(&barrier);
    sink++;
}

static struct role roles[6 + MAX_GROUP] = {
    {"t-mutex", block_on_mutex, 0}, {"t-cond", block_on_cond, 0}, {"t-sem", block_on_sem, 0},
    {"t-sleep", block_in_sleep, 0}, {"t-read", block_on_read, 0}, {"t-busy", busy_loop, 0},
};

static void *role_main(void *arg)
{
    struct role *r = arg;
    pthread_setname_np(pthread_self(), r->name);
    atomic_store(&r->tid, (pid_t)syscall(SYS_gettid));
    r->block();
    return NULL;
}

/* The scheduler state letter of a thread of this process. */
static char state_of(pid_t tid)
{
    char path[64], buf[512] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: threads_dump DIR [-group=N]\n");
        return 2;
    }
    int group = 5;
    for (int i = 2; i < argc; i++)
        if (!strncmp(argv[i], "-group=", 7))
            group = atoi(argv[i] + 7);
    if (group < 1 || group > MAX_GROUP) {
        fprintf(stderr, "threads_dump: -group wants 1..%d\n", MAX_GROUP);
        return 2;
    }
    int nroles = 6 + group;
    for (int i = 6; i < nroles; i++)
        roles[i] = (struct role){"t-group", group_wait, 0};
    if (sem_init(&zero, 0, 0) || pipe(pipe_fds) ||
        pthread_barrier_init(&barrier, NULL, (unsigned)group + 1)) {
        perror("threads_dump: setup");
        return 1;
    }
    pthread_mutex_lock(&held);
    for (int i = 0; i < nroles; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, role_main, &roles[i]) != 0) {
            fprintf(stderr, "threads_dump: pthread_create failed\n");
            return 1;
        }
        pthread_detach(t);
    }
    /* Every thread but the busy one asleep in the kernel: at most 10 s. */
    for (int tries = 0;; tries++) {
        int asleep = 1;
        for (int i = 0; i < nroles; i++)
            if (roles[i].block != busy_loop)
                asleep &= atomic_load(&roles[i].tid) != 0 && state_of(roles[i].tid) == 'S';
        if (asleep)
            break;
        if (tries == 1000) {
            fprintf(stderr, "threads_dump: the threads did not all block within 10 s\n");
            return 1;
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    const char *dir = argv[1];
    char path[4096];
    static const char *const files[3] = {"threads.pb.gz", "dump1.txt", "dump2.txt"};
    for (int debug = 2; debug >= 0; debug--) {
        snprintf(path, sizeof path, "%s/%s", dir, files[debug]);
        if (cprof_threads_write(path, debug) != 0) {
            fprintf(stderr, "threads_dump: cprof_threads_write(%s, %d): %s\n", path, debug,
                    cprof_last_error());
            return 1;
        }
    }
    for (int i = 0; i < nroles; i++)
        printf("%s=%d\n", roles[i].name, (int)atomic_load(&roles[i].tid));
    printf("main=%d\n", (int)syscall(SYS_gettid));
    fflush(stdout);
    exit(0);
}
