/*
 * dlwork: the small library the dlopen stress tests load and unload in a
 * loop (libcprof_dlwork.so). dl_spin burns CPU inside the library, so that
 * samples land in code that comes and goes.
 */
#include <stdint.h>
#include <time.h>

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

volatile uint64_t dl_sink;

/* Spins for `ns` nanoseconds of the calling thread's CPU time. */
__attribute__((visibility("default"), noinline)) void dl_spin(long ns)
{
    uint64_t h = (uint64_t)ns;
    int64_t end = thread_cpu_ns() + ns;
    while (thread_cpu_ns() < end)
        for (int i = 0; i < 500; i++) {
            h ^= h << 13;
            h ^= h >> 7;
            __asm__ volatile("" : "+r"(h));
        }
    dl_sink += h;
}
