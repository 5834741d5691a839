/*
 * trace.h: the execution tracer's internal interface (the public one is
 * cprof_trace_* and the task/region/log functions in cprof.h).
 */
#ifndef CPROF_TRACE_H
#define CPROF_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cprof_wait;

/* Where a trace goes: a file (trace_file.c) or the flight recorder's ring.
 * `header` gets the file header and first records once; `write` gets whole
 * records, chunk_end set at the end of each flush; `close` ends the trace. */
struct cprof_trace_sink {
    int (*header)(void *arg, const void *bytes, size_t len);
    int (*write)(void *arg, const void *bytes, size_t len, int chunk_end);
    int (*close)(void *arg);
    void (*tick)(void *arg); /* optional: called by the writer after each flush */
};

/* Wakes the writer thread for its tick now (its sink's tick: a snapshot
 * waits there) instead of at the end of its 20 ms. async-signal-safe: an
 * atomic store and sem_post. */
void cprof__trace_tick_soon(void);

/* A thread's event buffer, the unit of the budget below. */
#define TRACE_BUFFER_BYTES (64 * 1024)

/* Starts tracing into the sink. max_bytes bounds the event buffers handed
 * to the writer and not yet drained (whole 64 KiB buffers, at least one);
 * each thread that traces holds one more buffer, its own. */
int cprof__trace_begin(const struct cprof_trace_sink *sink, void *arg, size_t max_bytes);
/* Stops tracing, writes what remains and the closing records, closes. */
int cprof__trace_end(void);

/* Whether tracing is on. Async-signal-safe (an atomic load). */
int cprof__trace_on(void);

/* Events from the rest of cprof. */
void cprof__trace_state(int state, const struct cprof_wait *where); /* sync.c */
void cprof__trace_cpu_sample(const uint64_t *pcs, int n);           /* cpu.c, in the handler */
void cprof__trace_thread_start(void);                               /* threads.c */
void cprof__trace_thread_end(void);                                 /* threads.c */

/* Blocking system calls (trace_syscalls.c): the clock before the call, and
 * after it whether it lasted long enough to be worth recording. */
uint64_t cprof__trace_ticks(void);
int cprof__trace_slow_syscall(uint64_t began);
void cprof__trace_syscall(long nr, uint64_t began);

/* In a forked child: tracing is off, and the writer thread gone. */
void cprof__trace_forget(void);
/* Registers the fork handler of the trace file; called by the constructor. */
void cprof__trace_file_init(void);

/* For a flight-recorder snapshot, two malloc'd buffers of records: first
 * the events threads wrote that the sink does not have yet (EVENTS; on the
 * writer thread complete up to one moment per thread, see trace.c), then
 * what makes the whole a complete trace: every string, thread names,
 * schedstat, stacks with symbols, END. */
int cprof__trace_snapshot_events(uint8_t **out, size_t *len);
int cprof__trace_snapshot_records(uint8_t **out, size_t *len);

/* Whether the calling thread is the tracer's writer (a sink's tick runs
 * there), and a flush of the full buffers into the sink right now, for a
 * snapshot about to be taken there (does nothing on another thread). */
int cprof__trace_on_writer(void);
void cprof__trace_flush_now(void);
/* The id a name has in the current trace (interning it if new). */
uint64_t cprof__trace_name_id(const char *name);
/* CLOCK_MONOTONIC ns when the current trace began. */
uint64_t cprof__trace_start_ns(void);
/* Ticks (TSC or ns) to nanoseconds, for durations. */
uint64_t cprof__trace_ticks_to_ns(uint64_t ticks);

/* Stops tracing at exit, writing the file (agent.c). */
void cprof__trace_flush(void);

#endif
