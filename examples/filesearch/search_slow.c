/*
 * search_slow.c: the search as it was first written, with the problems the
 * workshop plants for the profilers to find. Each is marked PLANTED, with
 * what the fix does (search_planted.c has the others); search_fixed.c is the
 * same search without them.
 *
 * A request checks its pattern and lists its files, then starts one thread
 * per file. Each thread compiles the pattern, reads its file into memory,
 * splits it into lines, and appends every matching line to the request's
 * result list under a lock that every search shares.
 */
#include "search_impl.h"

#include <cprof.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slow_engine {
    struct search_engine base;
};

struct file_task {
    const char *pattern;
    const char *path;
    struct match_list *results; /* the request's, shared by its tasks: results_lock */
    cprof_task_t trace_task;
    pthread_t thread;
    bool started;
    bool failed; /* out of memory */
};

/* planted_search_file's callback: the match goes to the request's list,
 * under the lock that every search shares. */
static bool add_match(void *arg, long line, char *content)
{
    struct file_task *task = arg;
    return planted_add_match(task->results, task->path, line, content);
}

static void search_file_traced(struct file_task *task);

static void search_file(struct file_task *task)
{
    cprof_region_t region = cprof_region_begin(task->trace_task, "file");
    search_file_traced(task);
    cprof_region_end(region);
}

static void search_file_traced(struct file_task *task)
{
    regex_t re;
    /* PLANTED (-fix=regex): the pattern is compiled again for every file; the
     * fix compiles it once per request (which needs threads that outlive a
     * file: -fix=threads). */
    if (regcomp(&re, task->pattern, SEARCH_REGEX_FLAGS) != 0) {
        task->failed = true; /* it compiled when the request was checked */
        return;
    }
    if (!planted_search_file(task->path, &re, add_match, task))
        task->failed = true;
    regfree(&re);
}

static void *search_file_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "fs-file"); /* not "MHD-connection", inherited */
    search_file(arg);
    return NULL;
}

static enum search_status slow_run(struct search_engine *engine, const struct search_request *req,
                                   struct search_result *out, char *err, size_t errlen)
{
    (void)engine;
    regex_t re;
    enum search_status status = search_compile(&re, req->pattern, err, errlen);
    if (status != SEARCH_OK)
        return status;
    regfree(&re); /* only checking that it compiles */

    struct file_list files = {0};
    status = file_list_collect(&files, req->paths, req->npaths, err, errlen);
    if (status != SEARCH_OK) {
        file_list_free(&files);
        return status;
    }

    struct match_list results = {0};
    struct file_task *tasks = calloc(files.count ? files.count : 1, sizeof *tasks);
    if (tasks == NULL) {
        file_list_free(&files);
        snprintf(err, errlen, "out of memory");
        return SEARCH_FAILED;
    }
    /* PLANTED (-fix=threads): one new thread per file, however many files
     * there are, started and joined by every request; the fix hands the files
     * to a pool of as many workers as there are CPUs, started once. */
    for (size_t i = 0; i < files.count; i++) {
        tasks[i] = (struct file_task){.pattern = req->pattern,
                                      .path = files.paths[i],
                                      .results = &results,
                                      .trace_task = req->task};
        if (pthread_create(&tasks[i].thread, NULL, search_file_thread, &tasks[i]) == 0)
            tasks[i].started = true;
        else
            search_file(&tasks[i]); /* out of threads: search it here */
    }
    bool failed = false;
    for (size_t i = 0; i < files.count; i++) {
        if (tasks[i].started)
            pthread_join(tasks[i].thread, NULL);
        failed |= tasks[i].failed;
    }
    free(tasks);
    file_list_free(&files);

    if (failed) {
        match_list_free(&results);
        snprintf(err, errlen, "out of memory");
        return SEARCH_FAILED;
    }
    match_list_finish(&results, req->max_results, out);
    return SEARCH_OK;
}

static void slow_free(struct search_engine *engine)
{
    free(engine);
}

static const struct search_engine_ops slow_ops = {slow_run, slow_free};

struct search_engine *search_slow_new(void)
{
    struct slow_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->base.ops = &slow_ops;
    snprintf(e->base.name, sizeof e->base.name, "slow");
    return &e->base;
}
