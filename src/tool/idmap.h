/*
 * idmap.h: a map from 64-bit ids (trace stack, region and task ids) to
 * 32-bit values, open addressing. Values are index + 1: 0 means absent.
 */
#ifndef CPROF_TOOL_IDMAP_H
#define CPROF_TOOL_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
    uint64_t *keys;
    uint32_t *vals; /* 0 = empty slot */
    size_t cap, n;
};

/* Sets key → val (val != 0), replacing any previous value; -1 when out of memory. */
int idmap_put(struct idmap *m, uint64_t key, uint32_t val);

/* The value of key, or 0 if absent. */
uint32_t idmap_get(const struct idmap *m, uint64_t key);

/* Frees the map and leaves it empty (usable again). */
void idmap_free(struct idmap *m);

#endif
