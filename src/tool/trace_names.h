/*
 * trace_names.h: what the tool calls a trace's thread states and system
 * calls, shared by `cprof trace` (cmd_trace.c) and the web Timeline
 * (web_trace.c) so that the two always agree.
 */
#ifndef CPROF_TOOL_TRACE_NAMES_H
#define CPROF_TOOL_TRACE_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* The name of a thread state (TRACE_STATE_*): "mutex", "sleep", ...;
 * "unknown" for a number this reader does not know. */
const char *trace_state_name(uint64_t state);

/* The name of an interposed system call, or NULL if nr is not one of them. */
const char *trace_syscall_known_name(uint64_t nr);

/* The name of system call nr: its known name, else "syscall <nr>" in buf. */
const char *trace_syscall_name(uint64_t nr, char *buf, size_t len);

/* Whether nr is one of the sleeps (nanosleep, clock_nanosleep). */
int trace_is_sleep_syscall(uint64_t nr);

#endif
