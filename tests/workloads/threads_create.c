/*
 * threads_create: the threadcreate profile's ground truth. spawn_workers
 * creates WORKERS threads, spawn_other creates OTHER threads (all joined),
 * then main writes the threadcreate profile through the linked API.
 *
 *   threads_create FILE [-workers=N] [-other=M]
 *
 * Prints created=N+M.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static volatile int sink;

static void *work(void *arg)
{
    sink += (int)(long)arg;
    return NULL;
}

/* Each has its own pthread_create call, so that the creating stacks
 * differ in their leaf function. */
NOIPA static int spawn_workers(int n)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    int created = 0;
    for (; t && created < n; created++)
        if (pthread_create(&t[created], NULL, work, (void *)(long)created) != 0)
            break;
    for (int i = 0; i < created; i++)
        pthread_join(t[i], NULL);
    free(t);
    return created == n ? 0 : -1;
}

NOIPA static int spawn_other(int n)
{
    pthread_t t[64];
    if (n > 64)
        return -1;
    int created = 0;
    for (; created < n; created++)
        if (pthread_create(&t[created], NULL, work, (void *)(long)created) != 0)
            break;
    for (int i = 0; i < created; i++)
        pthread_join(t[i], NULL);
    return created == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: threads_create FILE [-workers=N] [-other=M]\n");
        return 2;
    }
    int workers = 50, other = 3;
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "-workers=", 9))
            workers = atoi(argv[i] + 9);
        else if (!strncmp(argv[i], "-other=", 7))
            other = atoi(argv[i] + 7);
    }
    if (spawn_workers(workers) < 0 || spawn_other(other) < 0) {
        fprintf(stderr, "threads_create: pthread_create failed\n");
        return 1;
    }
    if (cprof_threadcreate_write(argv[1]) != 0) {
        fprintf(stderr, "threads_create: %s\n", cprof_last_error());
        return 1;
    }
    printf("created=%d\n", workers + other);
    return 0;
}
