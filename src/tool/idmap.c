/*
 * idmap.c: open addressing with linear probing, kept at most half full so
 * probes stay short; ids from a file may be anything, so they are mixed
 * (a 64-bit finalizer) before use.
 */
#include "idmap.h"

#include <stdlib.h>
#include <string.h>

static size_t id_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

static int idmap_grow(struct idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    struct idmap g = {calloc(cap, sizeof *g.keys), calloc(cap, sizeof *g.vals), cap, 0};
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->vals[i])
            continue;
        size_t j = id_hash(m->keys[i]) & (cap - 1);
        while (g.vals[j])
            j = (j + 1) & (cap - 1);
        g.keys[j] = m->keys[i];
        g.vals[j] = m->vals[i];
        g.n++;
    }
    free(m->keys);
    free(m->vals);
    *m = g;
    return 0;
}

int idmap_put(struct idmap *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap && idmap_grow(m))
        return -1;
    size_t j = id_hash(key) & (m->cap - 1);
    while (m->vals[j] && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    if (!m->vals[j])
        m->n++;
    m->keys[j] = key;
    m->vals[j] = val;
    return 0;
}

uint32_t idmap_get(const struct idmap *m, uint64_t key)
{
    if (!m->cap)
        return 0;
    for (size_t j = id_hash(key) & (m->cap - 1); m->vals[j]; j = (j + 1) & (m->cap - 1))
        if (m->keys[j] == key)
            return m->vals[j];
    return 0;
}

void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
