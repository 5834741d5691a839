/*
 * cpu.h: the CPU profiler's internal interface (the public one is
 * cprof_cpu_start/stop in cprof.h).
 */
#ifndef CPROF_CPU_H
#define CPROF_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "samples.h"

/* Which sampling engine a thread uses. */
enum cprof_cpu_engine { CPROF_ENGINE_AUTO = 0, CPROF_ENGINE_PERF, CPROF_ENGINE_TIMER };

/* Registers the fork handler; called once by the library constructor,
 * after the thread registry's. */
void cprof__cpu_init(void);

/* Sets the engine used by the next cprof_cpu_start (CPROF_CPU_ENGINE). */
void cprof__cpu_set_engine(enum cprof_cpu_engine engine);

/* Called by the process-exit path and by the SIGINT/SIGTERM flusher: stops
 * profiling if it runs and writes the profile. */
void cprof__cpu_flush(void);

/* Writes the samples of `t` as a pprof CPU profile (cpu_write.c). */
struct cprof_cpu_profile_info {
    int64_t period_ns;
    int64_t start_unix_ns, duration_ns;
    const char *engine;
    int hz;
    uint64_t merged_periods; /* timer periods folded into a later signal */
};
int cprof__cpu_write(const char *path, const cprof_samples *t,
                     const struct cprof_cpu_profile_info *info, uint8_t **out, size_t *out_len);

/* Profiling into memory, for the HTTP endpoint: start fails like
 * cprof_cpu_start when profiling already runs; stop returns the gzip'd
 * profile in a malloc'd buffer. */
int cprof__cpu_start_to_memory(int hz);
int cprof__cpu_stop_to_memory(uint8_t **out, size_t *out_len);

#endif
