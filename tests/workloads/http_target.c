/*
 * http_target: the program the live-endpoint and push tests look at. What it
 * does is known, so that what the endpoint answers can be checked:
 *
 *   - thread "burner" spends its time in http_hot_spin (the CPU profile's
 *     hot function);
 *   - thread "waiter" is blocked in http_wait_cond (pthread_cond_wait),
 *     "sleeper" in http_sleep_loop (nanosleep), "reader" in
 *     http_block_read (read on a pipe nobody writes to until the end);
 *   - http_alloc_retained allocates 256 blocks of 64 KiB at the start and
 *     keeps them (the heap profile's allocating function); the burner
 *     allocates and frees a little as it goes, so that allocs move.
 *
 *   http_target [-listen ADDR] [-stop FILE] [-seconds N] [-trim FILE]
 *
 * -listen starts the endpoint with the linked API (cprof_http_start) and
 * prints "port N" (ADDR may have port 0: the kernel picks). Under `cprof run
 * -http=...` it is not needed. The program runs until FILE exists or N
 * seconds have passed (default 120), then ends its threads and exits 0. It
 * prints "ready" once every thread is in place. When FILE of -trim appears,
 * it calls malloc_trim(0), removes FILE and prints "trimmed": glibc keeps
 * memory that concurrent requests freed, and the soak test wants to see
 * what is still in use, not what malloc keeps at hand.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keep_frame.h"

#include "cprof.h"

static atomic_int done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int pipe_fds[2];
static volatile uint64_t sink;
static void *retained[256];

KEEP_FRAME static uint64_t http_hot_spin(uint64_t h)
{
    for (int i = 0; i < 200000; i++) {
        h ^= h >> 29;
        h *= 0x9E3779B97F4A7C15ull;
        __asm__ volatile("" : "+r"(h));
    }
    return h;
}

static void *burner(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "burner");
    uint64_t h = 1;
    for (unsigned n = 0; !atomic_load(&done); n++) {
        h = http_hot_spin(h);
        if (n % 64 == 0) { /* a little churn: allocs grows, inuse does not */
            char *p = malloc(4096);
            if (p)
                p[0] = (char)h;
            sink += p ? (uint64_t)p[0] : 0;
            free(p);
        }
    }
    sink = h;
    return NULL;
}

KEEP_FRAME static void http_wait_cond(void)
{
    pthread_mutex_lock(&lock);
    while (!atomic_load(&done))
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void *waiter(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "waiter");
    http_wait_cond();
    return NULL;
}

KEEP_FRAME static void http_sleep_loop(void)
{
    struct timespec t = {0, 50 * 1000000};
    while (!atomic_load(&done))
        nanosleep(&t, NULL);
}

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sleeper");
    http_sleep_loop();
    return NULL;
}

KEEP_FRAME static void http_block_read(void)
{
    char c;
    while (read(pipe_fds[0], &c, 1) < 0)
        ;
}

static void *reader(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "reader");
    http_block_read();
    return NULL;
}

KEEP_FRAME static void http_alloc_retained(void)
{
    for (size_t i = 0; i < sizeof retained / sizeof retained[0]; i++) {
        retained[i] = malloc(64 * 1024);
        if (retained[i])
            memset(retained[i], (int)i, 64 * 1024);
    }
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *stop = NULL, *trim = NULL;
    long seconds = 120;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-listen"))
            listen = argv[i + 1];
        else if (!strcmp(argv[i], "-stop"))
            stop = argv[i + 1];
        else if (!strcmp(argv[i], "-trim"))
            trim = argv[i + 1];
        else if (!strcmp(argv[i], "-seconds"))
            seconds = atol(argv[i + 1]);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (listen) {
        if (cprof_http_start(listen) < 0) {
            fprintf(stderr, "http_target: %s\n", cprof_last_error());
            return 1;
        }
        printf("port %d\n", cprof_http_port());
    }
    if (pipe(pipe_fds) < 0)
        return 1;
    http_alloc_retained();
    pthread_t t[4];
    void *(*fns[4])(void *) = {burner, waiter, sleeper, reader};
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, fns[i], NULL) != 0)
            return 1;
    printf("ready\n");

    struct timespec tick = {0, 50 * 1000000};
    for (long n = 0; n < seconds * 20; n++) {
        if (stop && access(stop, F_OK) == 0)
            break;
        if (trim && access(trim, F_OK) == 0) {
            malloc_trim(0);
            unlink(trim);
            printf("trimmed\n");
        }
        nanosleep(&tick, NULL);
    }
    atomic_store(&done, 1);
    pthread_mutex_lock(&lock);
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    if (write(pipe_fds[1], "x", 1) != 1)
        return 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (size_t i = 0; i < sizeof retained / sizeof retained[0]; i++)
        free(retained[i]);
    if (listen)
        cprof_http_stop();
    printf("exiting\n");
    return 0;
}
