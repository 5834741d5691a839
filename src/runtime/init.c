/*
 * init.c: owns the library's life cycle: the constructor that sets cprof up
 * in every process it is loaded into (preloaded or linked), in dependency
 * order, and the version.
 */
#include "cprof.h"
#include "agent.h"
#include "cpu.h"
#include "contention.h"
#include "flight.h"
#include "heap.h"
#include "heap_write.h"
#include "trace.h"
#include "settings.h"
#include "stackask.h"
#include "sync.h"
#include "threads.h"
#include "unwind.h"
#include "wall.h"

CPROF_API const char *cprof_version(void)
{
#define CPROF_STR2(x) #x
#define CPROF_STR(x)  CPROF_STR2(x)
    return CPROF_STR(CPROF_VERSION_MAJOR) "." CPROF_STR(CPROF_VERSION_MINOR) "." CPROF_STR(
        CPROF_VERSION_PATCH);
}

/* Runs before main. The order matters: the thread registry must exist (and
 * its fork handler be registered first) before any profiler starts. */
__attribute__((constructor)) static void cprof_init(void)
{
    /* Fork handlers: prepare handlers run in the reverse order of
     * registration, so the heap's (its table locks) is registered first and
     * runs last: code that holds the thread registry's lock may allocate,
     * so the registry lock must be taken before the heap's. */
    cprof__heap_init();
    cprof__unwind_init();
    cprof__threads_init();
    cprof__agent_init();
    cprof__heap_write_init();
    cprof__contention_init();
    cprof__trace_file_init();
    cprof__cpu_init();
    cprof__wall_init();
    cprof__flight_init();
    cprof__stackask_init();
    cprof__exec_init();
    cprof__settings_apply();
    /* Thread dumps and threadcreate work in every process cprof is in, as
     * Go's goroutine dump does: waits record their state (a look at the
     * mutex's owner more per lock), pthread_create its caller's stack. */
    cprof__sync_consumer(CPROF_SYNC_STATE, 1);
    cprof__threads_track_creation();
}
