/*
 * symbols.h: turns code addresses of this process into pprof Mappings,
 * Locations and Functions, with elfutils (libdwfl). Runs at profile-write
 * time, never in a signal handler: it allocates, opens files and takes locks.
 */
#ifndef CPROF_SYMBOLS_H
#define CPROF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "pprof_build.h"

typedef struct cprof_symbolizer cprof_symbolizer;

/* Where the symbolizer learns of objects loaded once and unloaded since
 * (unwind.c sets it; NULL: none). Returns maps-format lines, malloc'd. */
extern char *(*cprof__symbols_unloaded_maps)(const char *current_maps);

/* Snapshots /proc/self/maps and reports every mapped ELF object to libdwfl.
 * Returns NULL only when out of memory. Not thread-safe: one thread uses a
 * symbolizer at a time. Never reaches debuginfod (no network). */
cprof_symbolizer *cprof__symbolizer_new(void);
void cprof__symbolizer_free(cprof_symbolizer *s);

/* As cprof__symbolizer_new, from the text of a maps file, with `exe` naming
 * the main executable (NULL: the first executable file mapping). For tests
 * (a table of maps texts), and for reading a maps snapshot taken earlier. */
cprof_symbolizer *cprof__symbolizer_new_from_maps(const char *maps_text, const char *exe);

/* Binds the symbolizer to the new builder `pb` and adds the main
 * executable's Mapping to it first, because pprof takes mapping 1 as the
 * main binary. Other executable mappings are added when a pc first lands in
 * them (libraries no pc names add no Mapping and cost nothing). Call it once
 * per new builder, before anything else adds a Mapping to it and before the
 * first cprof__symbolize for it: the id caches refer to the bound builder,
 * and a new builder at a freed one's address would get stale ids.
 * (cprof__symbolize binds by itself when it sees a different pointer.) */
void cprof__symbolizer_begin(cprof_symbolizer *s, cprof_pb *pb);

/* Returns the id in `pb` of the Location for the code address `pc` (exactly
 * the instruction to name: callers already pass return address - 1). Adds the
 * Mapping and Functions it needs. Addresses are cached per symbolizer, so the
 * same pc always gives the same id. Never fails: an address nothing is known
 * about gets a Location with no lines (pprof prints its address). */
uint64_t cprof__symbolize(cprof_symbolizer *s, cprof_pb *pb, uint64_t pc);

/* Names pc as text for reports: "function file:line", and for inlined
 * code the functions it is inlined into after " in ", or "0xADDR (object)" when nothing is known.
 * Returns how many functions were named. */
int cprof__symbolize_text(cprof_symbolizer *s, uint64_t pc, char *buf, size_t len);

/* The functions at pc, innermost (inlined) first, with their files and
 * lines; at most max. The strings live as long as the symbolizer. Returns
 * how many (0 when nothing is known). */
int cprof__symbolize_frames(cprof_symbolizer *s, uint64_t pc, const char **funcs,
                            const char **files, int64_t *lines, int max);

#endif
