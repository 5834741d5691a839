/*
 * flight.h: the flight recorder's internal interface (the public one is
 * cprof_flight_* in cprof.h).
 */
#ifndef CPROF_FLIGHT_H
#define CPROF_FLIGHT_H

#include <stddef.h>
#include <stdint.h>

/* Registers the fork handler; called once by the library constructor. */
void cprof__flight_init(void);

/* Whether the recorder runs. */
int cprof__flight_running(void);

/* A snapshot of what is in memory now, as a complete trace, into a malloc'd
 * buffer of exactly its size (about max_bytes more in memory while it is
 * held); `note` says why (a NOTE record). 0, or -1 (one at a time). */
int cprof__flight_snapshot(const char *note, uint8_t **out, size_t *out_len);
/* The same, written to `fd` from the ring as it is, through a 64 KiB
 * staging buffer: no copy of the ring. */
int cprof__flight_snapshot_fd(const char *note, int fd);

/* Latency triggers, fed by trace.c. Cheap when no trigger is set. */
int cprof__flight_watching(void);
void cprof__flight_span_ended(uint64_t name_id, uint64_t ticks);
void cprof__flight_task_began(uint64_t id, uint64_t name_id, uint64_t ticks);
void cprof__flight_task_ended(uint64_t id, uint64_t ticks);

/* Snapshot on signal `sig` to files named by pattern (%p, %t). */
int cprof__flight_on_signal(int sig, const char *pattern);

#endif
