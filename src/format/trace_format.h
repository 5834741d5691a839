/*
 * trace_format.h: the constants of cprof's trace file format, shared by the
 * writer (src/runtime/trace.c) and the reader (trace_read.c). The format is
 * described for people in docs/trace-format.md; keep the two in step.
 *
 * A file is a 32-byte header followed by records. Every record is
 *   u8 kind, u8 0, u16 0, u32 length, then `length` bytes of payload,
 * little-endian, so that a reader can skip kinds it does not know and stop
 * cleanly at a record cut short (a process killed while writing).
 */
#ifndef CPROF_TRACE_FORMAT_H
#define CPROF_TRACE_FORMAT_H

#include <stdint.h>

#define CPROF_TRACE_MAGIC   "CPROFTRC"
#define CPROF_TRACE_VERSION 1
#define CPROF_TRACE_HEADER  32 /* magic[8] u32 version u32 flags u64 start_unix_ns u64 0 */
#define CPROF_TRACE_RECORD  8  /* u8 kind, 3 bytes 0, u32 length */

/* Record kinds. */
enum cprof_trace_record {
    /* u64 ticks, u64 monotonic ns: a point for converting event ticks to
     * time (events count in TSC ticks or in ns; the reader interpolates
     * between the first and last CLOCK records). */
    TRACE_REC_CLOCK = 1,
    /* u64 id, then the string's bytes (no NUL): names of tasks, regions and
     * log categories, referred to by id. */
    TRACE_REC_STRING = 2,
    /* u32 tid, u32 0, then the thread's name bytes. */
    TRACE_REC_THREAD = 3,
    /* u32 tid, u32 events lost on this thread before these, u64 base ticks,
     * then events (below) to the end of the payload. */
    TRACE_REC_EVENTS = 4,
    /* u64 id, u32 n, u32 0, then n u64 program counters, leaf first
     * (callers' entries are return address - 1). */
    TRACE_REC_STACK = 5,
    /* u64 pc, u32 n, u32 0, then n frames, innermost (inlined) first:
     * uvarint line, uvarint len + function name, uvarint len + file name. */
    TRACE_REC_SYMBOL = 6,
    /* u64 events written, u64 events lost, u64 duration ns: the trace is
     * complete. A file without it was cut short. */
    TRACE_REC_END = 7,
    /* key=value text, one per record: pid, command line, cprof version. */
    TRACE_REC_INFO = 8,
    /* u64 ns since the trace began, then text: a note from the tracer
     * itself (e.g. a flight-recorder snapshot written, and why). */
    TRACE_REC_NOTE = 9,
    /* u32 tid, u32 0, u64 CLOCK_MONOTONIC ns (as CLOCK records give it),
     * then the thread's /proc/.../schedstat at that moment: u64 ns on a CPU, u64 ns runnable
     * but waiting for one (on a run queue), u64 timeslices. Written when
     * tracing starts and stops, every second, at snapshots and as a thread
     * ends: differences give each thread's scheduling latency. */
    TRACE_REC_SCHED = 10,
};

/* Events inside an EVENTS record: u8 type, uvarint ticks since the previous
 * event of the record (the first: since base ticks), then the arguments,
 * each a uvarint. */
enum cprof_trace_event {
    TRACE_EV_THREAD_START = 1, /* (no arguments) */
    TRACE_EV_THREAD_END = 2,   /* (no arguments) */
    TRACE_EV_STATE = 3,        /* state (sync.h's enum; 0 = running again), stack id (0: none) */
    TRACE_EV_TASK_BEGIN = 4,   /* task id, parent task id (0: none), name string id */
    TRACE_EV_TASK_END = 5,     /* task id */
    TRACE_EV_REGION_BEGIN = 6, /* region id, task id (0: none), name string id */
    TRACE_EV_REGION_END = 7,   /* region id */
    TRACE_EV_LOG = 8,          /* task id, category string id, length, then length bytes */
    TRACE_EV_HEAP = 9,         /* bytes in use (estimated from heap sampling) */
    TRACE_EV_CPU_SAMPLE = 10,  /* stack id */
    TRACE_EV_SYSCALL = 11,     /* system call number, ticks blocked: the thread was in the call
                                * from (this event's time - ticks blocked) to this event */
};

/* Thread states carried by TRACE_EV_STATE (the same numbers as
 * src/runtime/sync.h's enum cprof_thread_state). */
enum cprof_trace_state {
    TRACE_STATE_RUNNING = 0,
    TRACE_STATE_MUTEX,
    TRACE_STATE_RWLOCK,
    TRACE_STATE_COND,
    TRACE_STATE_SEM,
    TRACE_STATE_JOIN,
    TRACE_STATE_BARRIER,
    TRACE_STATE_SLEEP,
    TRACE_STATE_SYSCALL,
    TRACE_STATE_COUNT
};

#endif
