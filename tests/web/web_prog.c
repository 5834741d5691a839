/*
 * web_prog.c: the small program the web UI's tests run under `cprof run
 * -cpuprofile -trace`: one task "web-request" per round on the main thread,
 * with a region "web-parse" that burns 100 ms of CPU in burn_alpha and a
 * region "web-render" that burns 50 ms in burn_beta, so that burn_alpha
 * holds about two thirds of the CPU samples; and one log message. The
 * burning is measured on the thread's CPU clock, so the split holds on a
 * loaded machine.
 */
#include <cprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

__attribute__((noinline)) static void burn_alpha(double ms)
{
    double until = thread_cpu_ms() + ms, x = 0;
    while (thread_cpu_ms() < until)
        for (int i = 0; i < 20000; i++)
            x += (double)i * 0.5; /* the alpha loop */
    sink = x;
}

__attribute__((noinline)) static void burn_beta(double ms)
{
    double until = thread_cpu_ms() + ms, x = 0;
    while (thread_cpu_ms() < until)
        for (int i = 0; i < 20000; i++)
            x += (double)i * 0.25; /* the beta loop */
    sink = x;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    for (int r = 0; r < rounds; r++) {
        cprof_task_t task = cprof_task_begin(0, "web-request");
        cprof_region_t parse = cprof_region_begin(task, "web-parse");
        burn_alpha(100);
        cprof_region_end(parse);
        cprof_region_t render = cprof_region_begin(task, "web-render");
        burn_beta(50);
        cprof_region_end(render);
        cprof_task_end(task);
    }
    cprof_log(0, "web", "web_prog done after %d rounds", rounds);
    printf("web_prog: %d rounds\n", rounds);
    return 0;
}
