/*
 * keep_frame.h: KEEP_FRAME keeps a workload function on every stack under
 * its own name, so tests can look for it: never inlined, and (GCC) never
 * cloned into "name.constprop.0". Clang does not clone and lacks the
 * attribute.
 */
#ifndef CPROF_TESTS_KEEP_FRAME_H
#define CPROF_TESTS_KEEP_FRAME_H

#if defined(__clang__)
#define KEEP_FRAME __attribute__((noinline))
#else
#define KEEP_FRAME __attribute__((noinline, noclone))
#endif

#endif
