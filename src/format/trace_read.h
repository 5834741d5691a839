/*
 * trace_read.h: reads a cprof trace file (trace_format.h, described in
 * docs/trace-format.md) into memory: threads with their events in time
 * order and with absolute times in nanoseconds, strings, stacks, symbols,
 * info and the totals the writer kept.
 *
 * Every byte is untrusted. A file cut short (the process was killed) is read
 * up to the damage and flagged; a file that is not a trace, or whose
 * records are inconsistent, gives a one-line error and no model.
 */
#ifndef CPROF_TRACE_READ_H
#define CPROF_TRACE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "trace_format.h"

/* One event. Times are CLOCK_MONOTONIC nanoseconds of the traced process. */
typedef struct cprof_trace_ev {
    int64_t ns;
    uint8_t type; /* TRACE_EV_* */
    /* The event's arguments as trace_format.h lists them, except that a
     * SYSCALL's "ticks blocked" (arg[1]) is converted to nanoseconds (and
     * is at most `ns`). */
    uint64_t arg[3];
    /* A LOG's message: `text_len` bytes at cprof_trace_text(t, ev). */
    uint32_t text_off, text_len;
} cprof_trace_ev;

/* A thread: one tid from its first event to its THREAD_END (a tid reused
 * later in the same trace is another cprof_trace_thread). */
typedef struct cprof_trace_thread {
    uint32_t tid;
    const char *name; /* from a THREAD record; "" if the file has none */
    cprof_trace_ev *ev;
    size_t nev;
    uint64_t lost; /* events lost on this thread, as its EVENTS records said */
} cprof_trace_thread;

typedef struct cprof_trace_frame {
    const char *func, *file;
    int64_t line;
} cprof_trace_frame;

typedef struct cprof_trace_symbol {
    uint64_t pc;
    cprof_trace_frame *frames; /* innermost (inlined) first */
    uint32_t nframes;
} cprof_trace_symbol;

typedef struct cprof_trace_stack {
    uint64_t id;
    uint64_t *pcs; /* leaf first */
    uint32_t npcs;
} cprof_trace_stack;

typedef struct cprof_trace {
    uint32_t version, flags; /* flags bit 0: ticks are TSC ticks */
    uint64_t start_unix_ns;  /* the header's wall-clock start */
    /* The monotonic span: from the first CLOCK record, event or system
     * call's beginning to the last CLOCK or event. Every event is in it. */
    int64_t start_ns, end_ns;

    cprof_trace_thread *threads; /* sorted by first event time, then tid */
    size_t nthreads;
    uint64_t nevents; /* events decoded */

    char **info; /* INFO records' "key=value" texts */
    size_t ninfo;
    struct cprof_trace_note {
        /* As written: trace_format.h says ns since the trace began, the
         * flight recorder writes CLOCK_MONOTONIC ns (docs/trace-format.md). */
        int64_t ns;
        const char *text;
    } * notes;
    size_t nnotes;
    /* SCHED records, in file order: a thread's schedstat at a moment
     * (CLOCK_MONOTONIC ns, the events' timebase). Differences give the time
     * it was runnable but waiting for a CPU. */
    struct cprof_trace_sched {
        uint32_t tid;
        int64_t ns;
        uint64_t run_ns, wait_ns, slices;
    } * sched;
    size_t nsched;

    /* The END record's totals; has_end 0 means the file was cut short. */
    int has_end;
    uint64_t end_written, end_lost, end_duration_ns;
    uint64_t lost_in_records; /* the sum of the EVENTS records' lost counts */

    /* Cut short: the offset of the first byte that could not be read, and a
     * one-line warning ("truncated at byte N: ..."). */
    int truncated;
    uint64_t truncated_at;
    char warning[160];
    /* Other oddities the reader tolerated (clock points out of order,
     * duplicate ids): a count and the first one, for -v style reports. */
    uint64_t nanomalies;
    char anomaly[160];

    struct cprof_trace_priv *priv;
} cprof_trace;

/* Reads a trace from memory. NULL with a one-line reason in err when the
 * bytes are not a readable trace. `data` may be freed afterwards. */
cprof_trace *cprof_trace_parse(const uint8_t *data, size_t len, char *err, size_t errlen);
/* Reads a trace file; the error names the file's problem ("no such file",
 * "empty file", "not a cprof trace (bad magic)", ...). */
cprof_trace *cprof_trace_read_file(const char *path, char *err, size_t errlen);
void cprof_trace_free(cprof_trace *t);

/* Lookups; NULL when the file has no such id (a trace cut short lacks the
 * STACK, SYMBOL and THREAD records, which come last). */
const char *cprof_trace_string(const cprof_trace *t, uint64_t id);
const cprof_trace_stack *cprof_trace_stack_by_id(const cprof_trace *t, uint64_t id);
const cprof_trace_symbol *cprof_trace_symbol_at(const cprof_trace *t, uint64_t pc);
/* A LOG event's message (not NUL-terminated: ev->text_len bytes). */
const char *cprof_trace_text(const cprof_trace *t, const cprof_trace_ev *ev);
/* The value of an INFO key ("pid"), or NULL. */
const char *cprof_trace_info(const cprof_trace *t, const char *key);

#endif
