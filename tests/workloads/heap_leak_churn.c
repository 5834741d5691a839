/*
 * heap_leak_churn: leaks in a busy heap. A table of LIVE blocks (reachable
 * from a global) is refilled at random with blocks of random sizes
 * 16..4096, OPS times; one replaced block in 64 is dropped instead of
 * freed: definitely lost. The blocks are written only at their ends, as
 * real buffers often are, so the rest of each holds whatever the memory
 * held before: stale pointers left by the C library's allocator and by
 * earlier blocks. A leak checker must not take those for references.
 *
 * The seed is fixed: every run drops the same blocks. Prints
 * "dropped_blocks=N dropped_bytes=M" (what a checker must call definitely
 * lost; nothing is indirectly lost: no block stores a pointer) and
 * "live_blocks=N live_bytes=M" (still reachable: the table, its sizes and
 * the blocks in it; stdout's buffer comes on top).
 * Usage: heap_leak_churn [OPS] [LIVE]   (defaults 50000 and 1024)
 *
 * Debugging: with HEAP_LEAK_CHURN_DROPS=FILE it also writes the address and
 * size of every dropped block to FILE ("0xADDR SIZE" a line, with write(2)
 * from a stack buffer: no heap block is allocated for it, so the heap's
 * layout stays that of a run without it). Compare with the leak checker's
 * CPROF_LEAKCHECK_WHY=1 lines to see what still references a dropped block.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void **volatile table; /* globals: the live blocks are reachable */
size_t *volatile sizes;
void *volatile sink;

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

__attribute__((noinline)) static void *new_buffer(size_t size)
{
    char *p = malloc(size);
    if (!p)
        abort();
    p[0] = 1;
    p[size - 1] = 1;
    return p;
}

/* HEAP_LEAK_CHURN_DROPS: one line per dropped block, no allocation. */
__attribute__((noinline)) static void note_drop(int fd, void *p, size_t size)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%p %zu\n", p, size);
    if (n > 0 && write(fd, line, (size_t)n) != n)
        abort();
}

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char junk[8192];
    memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 50000;
    long live = argc > 2 ? atol(argv[2]) : 1024;
    if (ops < 1 || live < 1) {
        fprintf(stderr, "usage: heap_leak_churn [OPS] [LIVE]\n");
        return 2;
    }
    const char *drops = getenv("HEAP_LEAK_CHURN_DROPS");
    int drops_fd =
        drops && *drops ? open(drops, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (drops && *drops && drops_fd < 0)
        return 1;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    sizes = calloc((size_t)live, sizeof *sizes);
    table = calloc((size_t)live, sizeof *table);
    if (!sizes || !table)
        return 1;
    long dropped = 0, dropped_bytes = 0;
    for (long i = 0; i < ops; i++) {
        size_t k = next_random(&seed) % (size_t)live;
        size_t size = 16 + next_random(&seed) % 4081;
        if (table[k] && i % 64 == 0) {
            sink = table[k]; /* dropped */
            if (drops_fd >= 0)
                note_drop(drops_fd, table[k], sizes[k]);
            dropped++;
            dropped_bytes += (long)sizes[k];
        } else {
            free(table[k]);
        }
        table[k] = new_buffer(size);
        sizes[k] = size;
    }
    sink = NULL;
    scrub_stack();
    long live_blocks = 2, live_bytes = 2 * live * 8;
    for (long k = 0; k < live; k++)
        if (table[k]) {
            live_blocks++;
            live_bytes += (long)sizes[k];
        }
    printf("dropped_blocks=%ld dropped_bytes=%ld\n", dropped, dropped_bytes);
    printf("live_blocks=%ld live_bytes=%ld\n", live_blocks, live_bytes);
    return 0;
}
