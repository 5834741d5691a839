/*
 * heap_leak_roots: blocks reachable only from the less obvious roots, and
 * nothing lost. A leak checker that misses a root reports a false leak.
 *
 *   thread_stack_block  4000 B: its only pointer is on the stack of a
 *                       thread that is blocked in read() when main exits
 *   thread_tls_block    3000 B: only in that thread's __thread variable
 *   main_tls_block      2000 B: only in the main thread's __thread variable
 *   chain_head -> chain_tail   1000 B -> 500 B: a global points at the head,
 *                       whose first word points at the tail (both reachable)
 *
 * Expected from a checker: definitely and indirectly lost 0, still
 * reachable 10500 bytes in 5 blocks (plus what the C library keeps for the
 * live thread; see test-leak-valgrind.sh), exit status 0 under -leakcheck.
 * Nothing goes through stdio. Built with -fno-builtin.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not static, and volatile: a store to a static nobody reads may be dropped. */
__thread void *volatile tls_slot;
void **chain; /* global root of the chain */
static int ready_pipe[2], never_pipe[2];

__attribute__((noinline)) static void *thread_stack_block(void)
{
    void *p = malloc(4000);
    memset(p, 1, 4000);
    return p;
}

__attribute__((noinline)) static void *thread_tls_block(void)
{
    void *p = malloc(3000);
    memset(p, 2, 3000);
    return p;
}

__attribute__((noinline)) static void *main_tls_block(void)
{
    void *p = malloc(2000);
    memset(p, 3, 2000);
    return p;
}

__attribute__((noinline)) static void **chain_head(void)
{
    void **p = malloc(1000);
    memset(p, 0, 1000);
    return p;
}

__attribute__((noinline)) static void *chain_tail(void)
{
    void *p = malloc(500);
    memset(p, 0, 500);
    return p;
}

/* Holds its block in a stack slot and blocks for good. */
__attribute__((noinline)) static void hold_and_block(void)
{
    void *volatile held = thread_stack_block();
    char c = held ? 0 : 1;
    tls_slot = thread_tls_block();
    if (write(ready_pipe[1], &c, 1) != 1)
        abort();
    while (read(never_pipe[0], &c, 1) != 0) /* no writer ever writes */
        ;
    held = NULL;
}

static void *blocked_thread(void *arg)
{
    (void)arg;
    hold_and_block();
    return NULL;
}

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

int main(void)
{
    if (pipe(ready_pipe) || pipe(never_pipe))
        return 1;
    tls_slot = main_tls_block();
    chain = chain_head();
    chain[0] = chain_tail();
    pthread_t t;
    if (pthread_create(&t, NULL, blocked_thread, NULL))
        return 1;
    char c;
    if (read(ready_pipe[0], &c, 1) != 1)
        return 1;
    scrub_stack();
    return 0; /* exit while the thread is still blocked */
}
