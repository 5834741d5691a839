/*
 * wall.h: the wall-clock profiler's internal interface (the public one is
 * cprof_wall_start/stop in cprof.h).
 */
#ifndef CPROF_WALL_H
#define CPROF_WALL_H

/* Registers the fork handler; called once by the library constructor. */
void cprof__wall_init(void);

/* Stops the wall-clock profile if it runs and writes it (exit path). */
void cprof__wall_flush(void);

#endif
