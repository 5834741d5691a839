/*
 * search_fixed.c: the search with the planted problems of search_slow.c
 * fixed: all of them with the server's -fixed flag, or those named by -fix
 * (threads, the pool, always; then any of regex, lines, lock). A fix left
 * out keeps the planted code of search_planted.c.
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
    struct search_fixes fixes;
};

struct request_ctx {
    const struct file_list *files; /* sorted by path */
    const struct search_fixes *fixes;
    const char *pattern;
    cprof_task_t trace_task;
    atomic_size_t next_file;
    size_t max_results;
    struct match_list shared; /* without the lock fix: every shard's matches */
};

struct shard {
    struct request_ctx *ctx;
    /* Each shard has its own compiled copy of the pattern: glibc's regexec()
     * holds a lock inside the regex_t, so threads sharing one would take
     * turns. The copies are made once per request, before the search
     * (NULL without the regex fix: each file compiles its own). */
    const regex_t *re;
    struct match_list found; /* this shard's alone: no lock */
    bool failed;             /* out of memory */
};

/* Adds a match found in `path` to the shard's list (or, without the lock
 * fix, to the request's shared one, under the planted lock). */
static bool add_found(struct shard *s, const char *path, long line, char *content)
{
    if (!s->ctx->fixes->lock)
        return planted_add_match(&s->ctx->shared, path, line, content);
    char *file = strdup(path);
    if (file == NULL || !match_list_push(&s->found, file, line, content)) {
        free(file);
        free(content);
        return false;
    }
    return true;
}

struct planted_file {
    struct shard *shard;
    const char *path;
};

static bool add_planted_found(void *arg, long line, char *content)
{
    struct planted_file *f = arg;
    return add_found(f->shard, f->path, line, content);
}

/* Without the lock fix: moves the shard's matches from index `first` on to
 * the request's shared list, one planted lock per match. (They are first
 * kept here because a NUL byte further down takes the file's back.) */
static void hand_over(struct shard *s, size_t first)
{
    for (size_t i = first; i < s->found.count; i++) {
        struct search_match *m = &s->found.items[i];
        if (!s->failed && !planted_add_match(&s->ctx->shared, m->file, m->line, m->content))
            s->failed = true;
        else if (s->failed)
            free(m->content);
        free(m->file);
    }
    s->found.count = first;
}

/* Searches one file streamed with getline(), adding its matching lines. */
static void search_stream(struct shard *s, const char *path, const regex_t *re, char **line,
                          size_t *cap)
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
        if (regexec(re, text, 0, NULL, 0) != 0)
            continue;
        /* A shard sees its files in path order, so once it holds max_results
         * matches none of its later ones can make the cut. */
        if (s->ctx->fixes->lock && s->found.count >= s->ctx->max_results)
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
    if (!s->ctx->fixes->lock)
        hand_over(s, first);
}

/* Searches one file with the fixes the engine has. */
static void search_file(struct shard *s, const char *path, char **line, size_t *cap)
{
    regex_t own;
    const regex_t *re = s->re;
    if (re == NULL) { /* planted: compiled for every file */
        if (regcomp(&own, s->ctx->pattern, SEARCH_REGEX_FLAGS) != 0) {
            s->failed = true; /* it compiled when the request was checked */
            return;
        }
        re = &own;
    }
    if (s->ctx->fixes->lines) {
        search_stream(s, path, re, line, cap);
    } else {
        struct planted_file f = {s, path};
        if (!planted_search_file(path, re, add_planted_found, &f))
            s->failed = true;
    }
    if (re == &own)
        regfree(&own);
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
    while (status == SEARCH_OK && e->fixes.regex && ncompiled < nshards) {
        status = search_compile(&patterns[ncompiled], req->pattern, err, errlen);
        if (status == SEARCH_OK)
            ncompiled++;
    }

    struct match_list all = {0};
    if (status == SEARCH_OK) {
        if (files.count > 1)
            qsort(files.paths, files.count, sizeof *files.paths, compare_paths);
        struct request_ctx ctx = {.files = &files,
                                  .fixes = &e->fixes,
                                  .pattern = req->pattern,
                                  .trace_task = req->task,
                                  .max_results = req->max_results};
        atomic_init(&ctx.next_file, 0);
        for (size_t i = 0; i < nshards; i++)
            shards[i] = (struct shard){.ctx = &ctx, .re = e->fixes.regex ? &patterns[i] : NULL};

        pool_run(e->pool, search_shard, shards, nshards, sizeof *shards);
        if (!match_list_move(&all, &ctx.shared)) {
            snprintf(err, errlen, "out of memory");
            status = SEARCH_FAILED;
        }
        match_list_free(&ctx.shared);

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

static const struct search_engine_ops fixed_ops = {fixed_run, fixed_free};

/* The CPUs this process may run on. */
static size_t cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

/* "fixed" with every fix, else "fix=" and the list. */
static void name_engine(struct fixed_engine *e)
{
    const struct search_fixes *f = &e->fixes;
    if (f->threads && f->regex && f->lines && f->lock) {
        snprintf(e->base.name, sizeof e->base.name, "fixed");
        return;
    }
    snprintf(e->base.name, sizeof e->base.name, "fix=threads%s%s%s", f->regex ? ",regex" : "",
             f->lines ? ",lines" : "", f->lock ? ",lock" : "");
}

struct search_engine *search_fixed_new(const struct search_fixes *fixes)
{
    struct fixed_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->base.ops = &fixed_ops;
    e->fixes = *fixes;
    name_engine(e);
    e->pool = pool_new(cpu_count(), "fs-worker");
    if (e->pool == NULL) {
        free(e);
        return NULL;
    }
    return &e->base;
}
