/*
 * threads_churn: threads created and destroyed as fast as two creators can
 * go, while a dumper thread writes thread dumps (debug 0, 1, 2) and the
 * threadcreate profile in a loop, through the linked API. Run under
 * `cprof run -wallprofile -wallrate=1000 -mutexprofile -blockprofile` the
 * wall-clock profiler samples them all at 1000 Hz too. Nothing may crash
 * or hang; every dump must be written.
 *
 *   threads_churn DIR [-seconds=S]
 *
 * The short-lived threads name themselves, take a shared mutex (contended),
 * wait on a semaphore or a condition variable, and end in one of three
 * ways: return, pthread_exit, or as detached threads. Dumps overwrite
 * DIR/churn.pb.gz, DIR/churn1.txt, DIR/churn2.txt, DIR/create.pb.gz.
 *
 * Prints threads=N (created) and dumps=D (rounds of the four writes).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof.h"

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static atomic_long created, detached_live;
static atomic_int stop;
static volatile uint64_t sink;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *short_life(void *arg)
{
    long kind = (long)arg;
    char name[16];
    snprintf(name, sizeof name, "churn-%ld", kind);
    pthread_setname_np(pthread_self(), name);
    pthread_mutex_lock(&shared);
    for (int i = 0; i < 200; i++)
        sink += (uint64_t)i;
    pthread_mutex_unlock(&shared);
    if (kind % 2) {
        sem_post(&sem);
        sem_wait(&sem);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_nsec -= 1000000000;
            ts.tv_sec++;
        }
        pthread_mutex_lock(&cond_lock);
        pthread_cond_timedwait(&cond, &cond_lock, &ts);
        pthread_mutex_unlock(&cond_lock);
    }
    if (kind == 2)
        atomic_fetch_sub(&detached_live, 1);
    if (kind == 1)
        pthread_exit(NULL);
    return NULL;
}

static void *creator(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop)) {
        pthread_t t[8];
        int n = 0;
        for (long i = 0; i < 8; i++) {
            long kind = i % 3;
            if (kind == 2 && atomic_load(&detached_live) > 64)
                kind = 0;
            if (kind == 2)
                atomic_fetch_add(&detached_live, 1);
            pthread_t th;
            if (pthread_create(&th, NULL, short_life, (void *)kind) != 0) {
                if (kind == 2)
                    atomic_fetch_sub(&detached_live, 1);
                continue;
            }
            atomic_fetch_add(&created, 1);
            if (kind == 2)
                pthread_detach(th);
            else
                t[n++] = th;
        }
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: threads_churn DIR [-seconds=S]\n");
        return 2;
    }
    long seconds = 3;
    for (int i = 2; i < argc; i++)
        if (!strncmp(argv[i], "-seconds=", 9))
            seconds = atol(argv[i] + 9);
    sem_init(&sem, 0, 0);
    pthread_t c[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&c[i], NULL, creator, NULL) != 0) {
            fprintf(stderr, "threads_churn: pthread_create failed\n");
            return 1;
        }
    static const char *const names[] = {"churn.pb.gz", "churn1.txt", "churn2.txt"};
    char path[4096];
    long dumps = 0;
    int64_t end = now_ns() + seconds * 1000000000;
    int rc = 0;
    while (now_ns() < end && rc == 0) {
        for (int debug = 0; debug <= 2 && rc == 0; debug++) {
            snprintf(path, sizeof path, "%s/%s", argv[1], names[debug]);
            rc = cprof_threads_write(path, debug);
        }
        snprintf(path, sizeof path, "%s/create.pb.gz", argv[1]);
        if (rc == 0)
            rc = cprof_threadcreate_write(path);
        dumps++;
    }
    if (rc != 0)
        fprintf(stderr, "threads_churn: writing a dump: %s\n", cprof_last_error());
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(c[i], NULL);
    while (atomic_load(&detached_live) > 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    printf("threads=%ld\ndumps=%ld\n", atomic_load(&created), dumps);
    return rc == 0 ? 0 : 1;
}
