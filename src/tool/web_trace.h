/*
 * web_trace.h: a trace file as `cprof web`'s Timeline draws it: the events
 * of trace_read.h paired into spans (waits, system calls, regions, tasks),
 * laid out in lanes that never overlap, and instants (logs, CPU samples,
 * the heap counter). Served as a JSON description plus one binary block of
 * columns that the page maps onto typed arrays without parsing, so that a
 * trace of a million events loads in a fraction of a second.
 *
 * The binary block (little-endian), every column 8-byte aligned:
 *   "CPWT" u32 version(1) u32 nspans u32 npoints
 *   spans:  f64 begin[n] f64 end[n]  (ns since the trace began)
 *           u32 what[n]   index into the JSON "names"
 *           u32 aux[n]    wait: stack + 1; region: task number; task: parent task number
 *           u32 id[n]     task: its number (from 1); wait: its state
 *                         (trace_format.h's enum); others 0
 *           u8  kind[n]   WEB_SPAN_* | WEB_SPAN_OPEN_END | WEB_SPAN_NO_BEGIN
 *   points: f64 ns[m] f64 value[m] u32 what[m] u32 aux[m] u8 kind[m]
 *           log: what = category, value = index into "logs", aux = task number
 *           cpu: aux = stack + 1; heap: value = bytes in use
 * Spans are ordered by lane (JSON "lanes": [thread or -1, group, lane,
 * first, count]) and by begin within a lane; points by (thread, kind, ns).
 */
#ifndef CPROF_WEB_TRACE_H
#define CPROF_WEB_TRACE_H

#include <stdint.h>

#include "web_json.h"

enum web_span_kind { WEB_SPAN_WAIT, WEB_SPAN_SYSCALL, WEB_SPAN_REGION, WEB_SPAN_TASK };
#define WEB_SPAN_OPEN_END 0x80 /* no end in the trace: ends with the thread or the trace */
#define WEB_SPAN_NO_BEGIN 0x40

enum web_point_kind { WEB_POINT_LOG, WEB_POINT_CPU, WEB_POINT_HEAP };

struct web_trace;

/* Reads and lays out the trace. NULL with a one-line reason in err. */
struct web_trace *web_trace_open(const char *path, char *err, size_t errlen);
/* The same from a trace in memory (fetched from a live endpoint); name
 * (kept, not copied) says where it came from. */
struct web_trace *web_trace_parse(const char *name, const uint8_t *data, size_t len, char *err,
                                  size_t errlen);
void web_trace_free(struct web_trace *t);

/* The answers, built at open: the JSON description and the binary block. */
const wbuf *web_trace_meta(const struct web_trace *t);
const wbuf *web_trace_data(const struct web_trace *t);

/* One line for the terminal: "N threads, M events, K spans". */
void web_trace_describe(const struct web_trace *t, char *buf, size_t len);

#endif
