/*
 * test-doctor-target.c: a small program that test-doctor.sh builds several
 * ways (with and without -g, frame pointers, symbols, dynamic linking) for
 * `cprof doctor` to tell apart. A dozen non-leaf functions that keep a
 * stack frame, so that the frame-pointer heuristic has something to sample.
 */
#include <stdio.h>
#include <stdlib.h>

#define STEP(name, prev)                                                                           \
    __attribute__((noinline)) long name(long x)                                                    \
    {                                                                                              \
        char buf[32];                                                                              \
        snprintf(buf, sizeof buf, "%ld", x);                                                       \
        return prev(atol(buf) + 1) * 3 + prev(x);                                                  \
    }

__attribute__((noinline)) long step0(long x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", x);
    return atol(buf) % 7;
}
STEP(step1, step0)
STEP(step2, step1)
STEP(step3, step2)
STEP(step4, step3)
STEP(step5, step4)
STEP(step6, step5)
STEP(step7, step6)
STEP(step8, step7)
STEP(step9, step8)
STEP(step10, step9)
STEP(step11, step10)

int main(int argc, char **argv)
{
    (void)argv;
    printf("%ld\n", step11(argc));
    return 0;
}
