/*
 * search_slow.c: the search as it was first written, with the problems the
 * workshop plants for the profilers to find. Each is marked PLANTED, with
 * what the fix does; search_fixed.c is the same search without them.
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

/* PLANTED: one process-wide lock around every result list, taken once per
 * match; the fix gives each worker its own list and merges them at the end. */
static pthread_mutex_t results_lock = PTHREAD_MUTEX_INITIALIZER;

struct file_task {
    const char *pattern;
    const char *path;
    struct match_list *results; /* the request's, shared by its tasks: results_lock */
    cprof_task_t trace_task;
    pthread_t thread;
    bool started;
    bool failed; /* out of memory */
};

/* Reads a whole file into a malloc'd buffer. False if it cannot be opened or
 * read (the file is skipped, as grep skips it) or on out of memory. */
static bool read_whole_file(const char *path, char **data, size_t *size, bool *failed)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    bool ok = buf != NULL && !ferror(f);
    fclose(f);
    if (buf == NULL)
        *failed = true;
    if (!ok) {
        free(buf);
        return false;
    }
    *data = buf;
    *size = len;
    return true;
}

/* Splits the text into lines, each its own string without the newline. */
static char **split_lines(const char *data, size_t size, size_t *nlines)
{
    size_t count = 0;
    for (size_t i = 0; i < size; i++)
        if (data[i] == '\n' || i == size - 1)
            count++;
    char **lines = calloc(count ? count : 1, sizeof *lines);
    if (lines == NULL)
        return NULL;
    const char *p = data, *end = data + size;
    for (size_t i = 0; i < count; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lines[i] = strndup(p, len);
        if (lines[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(lines[j]);
            free(lines);
            return NULL;
        }
        p += len + 1;
    }
    *nlines = count;
    return lines;
}

static void free_lines(char **lines, size_t nlines)
{
    for (size_t i = 0; i < nlines; i++)
        free(lines[i]);
    free(lines);
}

/* A copy of the line without its surrounding whitespace. */
static char *trim_copy(const char *line)
{
    char *copy = strdup(line);
    if (copy == NULL)
        return NULL;
    char *start = copy;
    while (is_space(*start))
        start++;
    memmove(copy, start, strlen(start) + 1);
    size_t len = strlen(copy);
    while (len > 0 && is_space(copy[len - 1]))
        copy[--len] = '\0';
    return copy;
}

static void add_match(struct file_task *task, long line, char *content)
{
    pthread_mutex_lock(&results_lock);
    char *file = strdup(task->path);
    bool ok = file != NULL && match_list_push(task->results, file, line, content);
    pthread_mutex_unlock(&results_lock);
    if (!ok) {
        free(file);
        free(content);
        task->failed = true;
    }
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
    /* PLANTED: the pattern is compiled again for every file; the fix compiles
     * it once per request. */
    if (regcomp(&re, task->pattern, SEARCH_REGEX_FLAGS) != 0) {
        task->failed = true; /* it compiled when the request was checked */
        return;
    }

    /* PLANTED: the whole file is read into memory, then copied again line by
     * line into an array; the fix streams the file with getline(). */
    char *data;
    size_t size;
    if (!read_whole_file(task->path, &data, &size, &task->failed)) {
        regfree(&re);
        return;
    }
    size_t nlines = 0;
    char **lines = NULL;
    if (memchr(data, '\0', size) == NULL) { /* a NUL byte: binary, grep prints no lines */
        lines = split_lines(data, size, &nlines);
        if (lines == NULL)
            task->failed = true;
    }

    for (size_t i = 0; i < nlines && !task->failed; i++) {
        /* PLANTED: every line is copied and trimmed before we know whether it
         * matches; the fix trims only the lines that match, in place. */
        char *content = trim_copy(lines[i]);
        if (content == NULL) {
            task->failed = true;
        } else if (regexec(&re, lines[i], 0, NULL, 0) == 0) {
            add_match(task, (long)i + 1, content);
        } else {
            free(content);
        }
    }

    free_lines(lines, nlines);
    free(data);
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
    /* PLANTED: one new thread per file, however many files there are, started
     * and joined by every request; the fix hands the files to a pool of as
     * many workers as there are CPUs, started once. */
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

static const struct search_engine_ops slow_ops = {"slow", slow_run, slow_free};

struct search_engine *search_slow_new(void)
{
    struct slow_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->base.ops = &slow_ops;
    return &e->base;
}
