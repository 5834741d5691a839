/*
 * heap_leak_interior: blocks whose only pointer points inside them.
 *
 *   interior_block  800 B: a global holds its address + 16 (a common
 *                   layout trick: a header before the user's data)
 *   interior_child  200 B: pointed at (from its start) only by the first
 *                   word of interior_block
 *   lost_block      300 B: every pointer dropped, definitely lost
 *
 * cprof, like LeakSanitizer, counts a pointer into a block as a reference:
 * interior_block and interior_child are still reachable, lost_block is
 * definitely lost. valgrind calls interior_block "possibly lost" and
 * interior_child still reachable (valgrind marks what a possibly lost block
 * points at by where the pointer points, not by how the parent was found).
 * Nothing goes through stdio. Built with -fno-builtin.
 */
#include <stdlib.h>
#include <string.h>

char *interior; /* global: points 16 bytes into interior_block */
void *volatile sink;

__attribute__((noinline)) static void **interior_block(void)
{
    void **p = malloc(800);
    memset(p, 0, 800);
    return p;
}

__attribute__((noinline)) static void *interior_child(void)
{
    void *p = malloc(200);
    memset(p, 0, 200);
    return p;
}

__attribute__((noinline)) static void lost_block(void)
{
    void *p = malloc(300);
    memset(p, 0, 300);
    sink = p;
    sink = NULL;
}

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

int main(void)
{
    void **b = interior_block();
    b[0] = interior_child();
    interior = (char *)b + 16;
    b = NULL;
    lost_block();
    scrub_stack();
    return 0;
}
