/*
 * heap_leak_cycle: lost structures whose blocks point at each other, for
 * the leak checker against valgrind. Every block is 64 bytes:
 *
 *   lose_pair       A <-> B, both pointers dropped: a lost cycle. valgrind
 *                   and cprof report the first block met as definitely
 *                   lost and the other as indirectly lost.
 *   lose_self       one block that points at itself: definitely lost.
 *   lose_ring       a ring of RING blocks, dropped: 1 definite, RING-1 indirect.
 *   keep_pair       C <-> D, C held by a global: both still reachable.
 *
 * Expected: definitely lost 192 bytes in 3 blocks, indirectly lost 320
 * bytes in 5 blocks, still reachable 128 bytes in 2 blocks. Nothing is
 * printed through stdio, so that no stdio buffer joins the reachable
 * blocks. Built with -fno-builtin.
 */
#include <stdlib.h>
#include <string.h>

#define RING 5

struct cell {
    struct cell *next;
    char payload[56];
};

void *volatile sink;
struct cell *kept; /* global: the root of keep_pair */

__attribute__((noinline)) static struct cell *new_cell(void)
{
    struct cell *c = malloc(sizeof *c);
    memset(c, 0, sizeof *c);
    return c;
}

__attribute__((noinline)) static void lose_pair(void)
{
    struct cell *a = new_cell(), *b = new_cell();
    a->next = b;
    b->next = a;
    sink = a;
    sink = NULL;
}

__attribute__((noinline)) static void lose_self(void)
{
    struct cell *a = new_cell();
    a->next = a;
    sink = a;
    sink = NULL;
}

__attribute__((noinline)) static void lose_ring(void)
{
    struct cell *first = new_cell(), *last = first;
    for (int i = 1; i < RING; i++) {
        struct cell *c = new_cell();
        last->next = c;
        last = c;
    }
    last->next = first;
    sink = first;
    sink = NULL;
}

__attribute__((noinline)) static void keep_pair(void)
{
    struct cell *c = new_cell(), *d = new_cell();
    c->next = d;
    d->next = c;
    kept = c;
}

/* Clears the stack slots and registers that may still hold dropped
 * pointers (as heapgt does). */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

int main(void)
{
    lose_pair();
    lose_self();
    lose_ring();
    keep_pair();
    scrub_stack();
    return 0;
}
