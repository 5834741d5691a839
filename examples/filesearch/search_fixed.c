/*
 * search_fixed.c: the search with every planted problem of search_slow.c
 * fixed (the server's -fixed flag).
 *
 * - The pattern is compiled once per request (a copy per worker: see struct
 *   shard), not once per file.
 * - Files are streamed line by line with getline(); only the lines that match
 *   are trimmed and copied.
 * - A pool of as many workers as there are CPUs, started with the server,
 *   searches the files; a request does not start threads.
 * - Each worker collects its matches in a list of its own, without a lock;
 *   the request merges the lists when the workers are done.
 *
 * A request is cut into one shard per worker. Each shard takes the next file
 * from a shared counter until none is left, so that a few big files do not
 * leave the other workers idle.
 */
#include "search_impl.h"

#include <cprof.h>

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

struct fixed_engine {
    struct search_engine base;
    struct pool *pool;
};

struct request_ctx {
    const struct file_list *files; /* sorted by path */
    cprof_task_t trace_task;
    atomic_size_t next_file;
    size_t max_results;
};

struct shard {
    struct request_ctx *ctx;
    /* Each shard has its own compiled copy of the pattern: glibc's regexec()
     * holds a lock inside the regex_t, so threads sharing one would take
     * turns. The copies are made once per request, before the search. */
    const regex_t *re;
    struct match_list found; /* this shard's alone: no lock */
    bool failed;             /* out of memory */
};

/* Searches one file, adding its matching lines to the shard's list. */
static void search_file(struct shard *s, const char *path, char **line, size_t *cap)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return; /* unreadable: skipped, as grep skips it */
    size_t first = s->found.count;
    long lineno = 0;
    ssize_t len;
    while ((len = getline(line, cap, f)) != -1) {
        char *text = *line;
        lineno++;
        if (memchr(text, '\0', (size_t)len) != NULL) {
            match_list_truncate(&s->found, first); /* binary: grep prints no lines */
            break;
        }
        if (len > 0 && text[len - 1] == '\n')
            text[--len] = '\0';
        if (regexec(s->re, text, 0, NULL, 0) != 0)
            continue;
        /* A shard sees its files in path order, so once it holds max_results
         * matches none of its later ones can make the cut. */
        if (s->found.count >= s->ctx->max_results)
            continue;
        size_t tlen;
        const char *trimmed = trim_span(text, (size_t)len, &tlen);
        char *file = strdup(path);
        char *content = strndup(trimmed, tlen);
        if (file == NULL || content == NULL || !match_list_push(&s->found, file, lineno, content)) {
            free(file);
            free(content);
            s->failed = true;
            break;
        }
    }
    fclose(f);
}

static void search_shard(void *item)
{
    struct shard *s = item;
    const struct file_list *files = s->ctx->files;
    char *line = NULL;
    size_t cap = 0;
    while (!s->failed) {
        size_t i = atomic_fetch_add_explicit(&s->ctx->next_file, 1, memory_order_relaxed);
        if (i >= files->count)
            break;
        cprof_region_t region = cprof_region_begin(s->ctx->trace_task, "file");
        search_file(s, files->paths[i], &line, &cap);
        cprof_region_end(region);
    }
    free(line);
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum search_status fixed_run(struct search_engine *engine, const struct search_request *req,
                                    struct search_result *out, char *err, size_t errlen)
{
    struct fixed_engine *e = (struct fixed_engine *)engine;
    size_t nworkers = pool_size(e->pool);
    regex_t *patterns = calloc(nworkers, sizeof *patterns);
    struct shard *shards = calloc(nworkers, sizeof *shards);
    if (patterns == NULL || shards == NULL) {
        free(patterns);
        free(shards);
        snprintf(err, errlen, "out of memory");
        return SEARCH_FAILED;
    }

    /* The pattern first, so that a bad one is reported before any path. */
    size_t ncompiled = 0;
    enum search_status status = search_compile(&patterns[0], req->pattern, err, errlen);
    if (status == SEARCH_OK)
        ncompiled = 1;

    struct file_list files = {0};
    if (status == SEARCH_OK)
        status = file_list_collect(&files, req->paths, req->npaths, err, errlen);
    size_t nshards = nworkers < files.count ? nworkers : files.count;
    while (status == SEARCH_OK && ncompiled < nshards) {
        status = search_compile(&patterns[ncompiled], req->pattern, err, errlen);
        if (status == SEARCH_OK)
            ncompiled++;
    }

    struct match_list all = {0};
    if (status == SEARCH_OK) {
        if (files.count > 1)
            qsort(files.paths, files.count, sizeof *files.paths, compare_paths);
        struct request_ctx ctx = {
            .files = &files, .trace_task = req->task, .max_results = req->max_results};
        atomic_init(&ctx.next_file, 0);
        for (size_t i = 0; i < nshards; i++)
            shards[i] = (struct shard){.ctx = &ctx, .re = &patterns[i]};

        pool_run(e->pool, search_shard, shards, nshards, sizeof *shards);

        for (size_t i = 0; i < nshards; i++) {
            if (status == SEARCH_OK &&
                (shards[i].failed || !match_list_move(&all, &shards[i].found))) {
                snprintf(err, errlen, "out of memory");
                status = SEARCH_FAILED;
            }
            match_list_free(&shards[i].found);
        }
    }

    for (size_t i = 0; i < ncompiled; i++)
        regfree(&patterns[i]);
    free(patterns);
    free(shards);
    file_list_free(&files);
    if (status != SEARCH_OK) {
        match_list_free(&all);
        return status;
    }
    match_list_finish(&all, req->max_results, out);
    return SEARCH_OK;
}

static void fixed_free(struct search_engine *engine)
{
    struct fixed_engine *e = (struct fixed_engine *)engine;
    pool_free(e->pool);
    free(e);
}

static const struct search_engine_ops fixed_ops = {"fixed", fixed_run, fixed_free};

/* The CPUs this process may run on. */
static size_t cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

struct search_engine *search_fixed_new(void)
{
    struct fixed_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->base.ops = &fixed_ops;
    e->pool = pool_new(cpu_count(), "fs-worker");
    if (e->pool == NULL) {
        free(e);
        return NULL;
    }
    return &e->base;
}
