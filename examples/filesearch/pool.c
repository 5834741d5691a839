/*
 * pool.c: the worker pool of pool.h. One mutex guards a FIFO of batches;
 * a worker takes one item at a time from the batch at the head, so the items
 * of a batch spread over the idle workers and batches run in arrival order.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct batch {
    void (*fn)(void *item);
    char *items;
    size_t item_size;
    size_t n;
    size_t next;    /* the next item to hand out */
    size_t pending; /* items not finished yet */
    pthread_cond_t done;
    struct batch *link;
};

struct worker {
    struct pool *pool;
    pthread_t thread;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a batch was queued, or the pool is stopping */
    struct batch *head, *tail;
    bool stopping;
    size_t nthreads;
    struct worker workers[];
};

static void *worker_main(void *arg)
{
    struct pool *pool = ((struct worker *)arg)->pool;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->work, &pool->lock);
        struct batch *b = pool->head;
        if (b == NULL)
            break; /* stopping, and nothing left to do */
        size_t i = b->next++;
        if (b->next == b->n) {
            pool->head = b->link;
            if (pool->head == NULL)
                pool->tail = NULL;
        }
        pthread_mutex_unlock(&pool->lock);

        b->fn(b->items + i * b->item_size);

        pthread_mutex_lock(&pool->lock);
        if (--b->pending == 0)
            pthread_cond_signal(&b->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void pool_stop(struct pool *pool, size_t started)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (size_t i = 0; i < started; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

struct pool *pool_new(size_t nthreads, const char *name)
{
    struct pool *pool = calloc(1, sizeof *pool + nthreads * sizeof pool->workers[0]);
    if (pool == NULL)
        return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pool->nthreads = nthreads;
    for (size_t i = 0; i < nthreads; i++) {
        pool->workers[i].pool = pool;
        int rc = pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]);
        if (rc != 0) {
            pool_stop(pool, i);
            errno = rc;
            return NULL;
        }
        char thread_name[16]; /* the kernel keeps 15 bytes */
        snprintf(thread_name, sizeof thread_name, "%.10s-%u", name, (unsigned)(i % 1000));
        pthread_setname_np(pool->workers[i].thread, thread_name);
    }
    return pool;
}

size_t pool_size(const struct pool *pool)
{
    return pool->nthreads;
}

void pool_run(struct pool *pool, void (*fn)(void *item), void *items, size_t n, size_t item_size)
{
    if (n == 0)
        return;
    struct batch b = {.fn = fn, .items = items, .item_size = item_size, .n = n, .pending = n};
    pthread_cond_init(&b.done, NULL);

    pthread_mutex_lock(&pool->lock);
    if (pool->tail)
        pool->tail->link = &b;
    else
        pool->head = &b;
    pool->tail = &b;
    pthread_cond_broadcast(&pool->work);
    while (b.pending > 0)
        pthread_cond_wait(&b.done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);

    pthread_cond_destroy(&b.done);
}

void pool_free(struct pool *pool)
{
    if (pool)
        pool_stop(pool, pool->nthreads);
}
