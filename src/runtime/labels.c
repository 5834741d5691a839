/*
 * labels.c: owns the label stacks of threads and the table of interned label
 * sets. A push computes the new set (the current one plus key=value, a later
 * key hiding an earlier one), interns it, and makes its id current; a pop
 * returns to the previous id. Only the id is read by signal handlers.
 *
 * Locking: `table_lock` protects the interned table. Sets are never freed
 * (ids in a profile being written must stay valid); the table is bounded by
 * CPROF_LABEL_MAX_SETS, after which pushes fail.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "errors.h"
#include "labels.h"

#define CPROF_LABEL_MAX_SETS 65536

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static cprof_label_set **sets; /* sets[id - 1] */
static uint32_t nsets, capsets;

static __thread uint32_t current_id __attribute__((tls_model("initial-exec")));
static __thread uint32_t id_stack[CPROF_LABEL_MAX_DEPTH] __attribute__((tls_model("initial-exec")));
static __thread int depth __attribute__((tls_model("initial-exec")));

uint32_t cprof__labels_current(void)
{
    return current_id;
}

const cprof_label_set *cprof__labels_get(uint32_t id)
{
    pthread_mutex_lock(&table_lock);
    const cprof_label_set *s = (id >= 1 && id <= nsets) ? sets[id - 1] : NULL;
    pthread_mutex_unlock(&table_lock);
    return s;
}

static int same_set(const cprof_label_set *a, const cprof_label_set *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->keys[i], b->keys[i]) || strcmp(a->values[i], b->values[i]))
            return 0;
    return 1;
}

/* Returns the id of a set equal to `want`, adding a copy if it is new; 0 when
 * the table is full or memory runs out. Linear search: label sets are few
 * (handlers, endpoints), and pushes are not on a hot path. */
static uint32_t intern(const cprof_label_set *want)
{
    pthread_mutex_lock(&table_lock);
    uint32_t id = 0;
    for (uint32_t i = 0; i < nsets && !id; i++)
        if (same_set(sets[i], want))
            id = i + 1;
    if (!id && nsets < CPROF_LABEL_MAX_SETS) {
        if (nsets == capsets) {
            uint32_t cap = capsets ? capsets * 2 : 64;
            cprof_label_set **grown = realloc(sets, cap * sizeof *sets);
            if (grown) {
                sets = grown;
                capsets = cap;
            }
        }
        cprof_label_set *copy = nsets < capsets ? calloc(1, sizeof *copy) : NULL;
        if (copy) {
            copy->n = want->n;
            for (int i = 0; i < want->n; i++) {
                copy->keys[i] = strdup(want->keys[i]);
                copy->values[i] = strdup(want->values[i]);
            }
            sets[nsets++] = copy;
            id = nsets;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return id;
}

uint32_t cprof__labels_intern(const char *const *keys, const char *const *values, int n)
{
    cprof_label_set set = {0};
    if (n > CPROF_LABEL_MAX_DEPTH)
        n = CPROF_LABEL_MAX_DEPTH;
    set.n = n;
    for (int i = 0; i < n; i++) {
        set.keys[i] = keys[i];
        set.values[i] = values[i];
    }
    return intern(&set);
}

CPROF_API int cprof_label_push(const char *key, const char *value)
{
    if (!key || !value)
        return cprof__fail("cprof_label_push: key and value must not be NULL");
    if (depth >= CPROF_LABEL_MAX_DEPTH)
        return cprof__fail("cprof_label_push: more than %d labels pushed", CPROF_LABEL_MAX_DEPTH);

    cprof_label_set next = {0};
    const cprof_label_set *cur = cprof__labels_get(current_id);
    if (cur)
        next = *cur;
    int i;
    for (i = 0; i < next.n; i++)
        if (!strcmp(next.keys[i], key))
            break;
    if (i == next.n)
        next.n++;
    next.keys[i] = key;
    next.values[i] = value;

    uint32_t id = intern(&next);
    if (!id)
        return cprof__fail("cprof_label_push: too many distinct label sets (max %d)",
                           CPROF_LABEL_MAX_SETS);
    id_stack[depth++] = current_id;
    current_id = id;
    return 0;
}

CPROF_API void cprof_label_pop(void)
{
    if (depth > 0)
        current_id = id_stack[--depth];
}
