/*
 * heapgt: heap ground truth. Every allocation site below allocates a known
 * number of blocks of known sizes, so tests can check a heap profile and a
 * leak report against exact figures:
 *
 *   keep_live     100 blocks x 10000 B, kept (reachable from a global) until exit
 *   leak_direct    50 blocks x  2000 B, every pointer dropped: definitely lost
 *   make_lost_list  1 head + 9 nodes x 48 B, the head's pointer dropped: the
 *                  head definitely lost, the 9 nodes indirectly lost
 *   churn        3200 blocks x 65536 B (200 MiB), each freed at once
 *
 * Built with -fno-builtin so that the compiler cannot remove malloc/free
 * pairs. Usage: heapgt [threads]   (churn split across that many threads)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_BLOCKS  100
#define KEEP_SIZE    10000
#define LEAK_BLOCKS  50
#define LEAK_SIZE    2000
#define LIST_NODES   10
#define CHURN_BLOCKS 3200
#define CHURN_SIZE   65536

struct node {
    struct node *next;
    char payload[40];
};

void *volatile sink;
void *kept[KEEP_BLOCKS]; /* global: the stores must stay */
static int churn_threads = 1;

__attribute__((noinline)) static void keep_live(void)
{
    for (int i = 0; i < KEEP_BLOCKS; i++)
        kept[i] = malloc(KEEP_SIZE);
}

__attribute__((noinline)) static void leak_direct(void)
{
    for (int i = 0; i < LEAK_BLOCKS; i++) {
        char *p = malloc(LEAK_SIZE);
        memset(p, 0, LEAK_SIZE);
        sink = p;
    }
    sink = NULL;
}

__attribute__((noinline)) static struct node *make_node(struct node *next)
{
    struct node *n = malloc(sizeof *n);
    memset(n, 0, sizeof *n);
    n->next = next;
    return n;
}

__attribute__((noinline)) static void make_lost_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < LIST_NODES; i++)
        head = make_node(head);
    sink = head;
    sink = NULL;
}

__attribute__((noinline)) static void churn(int blocks)
{
    for (int i = 0; i < blocks; i++) {
        char *p = malloc(CHURN_SIZE);
        p[0] = 1;
        sink = p;
        free(p);
    }
}

static void *churn_thread(void *arg)
{
    (void)arg;
    churn(CHURN_BLOCKS / churn_threads);
    return NULL;
}

/* Clears the registers and stack slots that may still hold the dropped
 * pointers, so that the leak is a leak for any conservative checker. */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        churn_threads = atoi(argv[1]);
    if (churn_threads < 1 || churn_threads > 64 || CHURN_BLOCKS % churn_threads) {
        fprintf(stderr, "usage: heapgt [threads dividing %d]\n", CHURN_BLOCKS);
        return 2;
    }
    keep_live();
    leak_direct();
    make_lost_list();
    pthread_t t[64];
    for (int i = 0; i < churn_threads; i++)
        pthread_create(&t[i], NULL, churn_thread, NULL);
    for (int i = 0; i < churn_threads; i++)
        pthread_join(t[i], NULL);
    scrub_stack();
    printf("heapgt: done\n");
    return 0;
}
