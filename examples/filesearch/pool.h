/*
 * pool.h: a fixed set of worker threads, started once, that many callers
 * share. A caller hands over a batch of items and waits until the workers
 * have run a function on each; batches from concurrent callers queue up.
 */
#ifndef FILESEARCH_POOL_H
#define FILESEARCH_POOL_H

#include <stddef.h>

struct pool;

/* Starts `nthreads` workers named "<name>-N". NULL on failure, with errno set. */
struct pool *pool_new(size_t nthreads, const char *name);

size_t pool_size(const struct pool *pool);

/* Runs fn(item) on the workers for each of the n items of `items` (an array
 * of n elements of item_size bytes) and returns when every call has returned.
 * Safe to call from many threads at once. */
void pool_run(struct pool *pool, void (*fn)(void *item), void *items, size_t n, size_t item_size);

/* Lets the queued batches finish, then stops and joins the workers. */
void pool_free(struct pool *pool);

#endif
