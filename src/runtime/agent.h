/*
 * agent.h: what happens at the end of a profiled process, whatever ends it,
 * and cprof's one background thread.
 */
#ifndef CPROF_AGENT_H
#define CPROF_AGENT_H

/* Starts cprof's background thread (once per process) and the watch on
 * SIGINT/SIGTERM. Called by every profiler when it starts. */
void cprof__agent_start(void);

/* Writes every profile that is due at the end of the process (CPU, heap,
 * leak report). Runs at exit, and before a SIGINT/SIGTERM kill. */
void cprof__flush_all(void);

/* Asks for a leak check at exit, with suppressions from a file (or none). */
void cprof__agent_set_leak_check(const char *suppressions);

/* Whether any profile has started the agent in this process. */
int cprof__agent_started(void);

/* The exec and _exit wrappers' fork handler (exec.c). */
void cprof__exec_init(void);

/* Registered by the library constructor with atexit. */
void cprof__agent_init(void);

#endif
