/*
 * search.h: the search behind POST /search, as `grep -rnE PATTERN
 * --include='*.c' --include='*.h' PATHS` would do it. Two engines implement
 * it: the slow one keeps the problems planted for the workshop
 * (search_slow.c), the fixed one removes them (search_fixed.c). Both give the
 * same answers.
 */
#ifndef FILESEARCH_SEARCH_H
#define FILESEARCH_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#define SEARCH_DEFAULT_MAX_RESULTS 100
#define SEARCH_MAX_MAX_RESULTS     100000 /* largest max_results a request may ask for */
#define SEARCH_MAX_FILES           100000 /* a request that would search more files is refused */

struct search_request {
    char *pattern; /* POSIX extended regular expression */
    char **paths;  /* directories (searched recursively) or files */
    size_t npaths;
    size_t max_results;      /* 1..SEARCH_MAX_MAX_RESULTS */
    unsigned long long task; /* the request's trace task (cprof_task_t; 0 when not tracing) */
};

struct search_match {
    char *file;    /* as grep prints it: the path given, joined with the path below it */
    long line;     /* 1-based */
    char *content; /* the line, without surrounding whitespace */
};

/* Matches sorted by (file, line), at most max_results of them. */
struct search_result {
    struct search_match *matches;
    size_t count;
};

enum search_status {
    SEARCH_OK,
    SEARCH_BAD_REQUEST, /* the request is at fault: invalid pattern, missing path, ... */
    SEARCH_FAILED,      /* the server is: out of memory, out of threads */
};

struct search_engine;

/* The slow engine, or with `fixed` the fixed one (which starts its worker
 * pool here). NULL on failure, with errno set. */
struct search_engine *search_engine_new(bool fixed);

/* "slow" or "fixed". */
const char *search_engine_name(const struct search_engine *engine);

/* Runs one search. Safe to call from many threads at once. On anything but
 * SEARCH_OK, `err` holds a one-line message and `out` is empty. */
enum search_status search_run(struct search_engine *engine, const struct search_request *req,
                              struct search_result *out, char *err, size_t errlen);

void search_engine_free(struct search_engine *engine);
void search_result_free(struct search_result *result);
void search_request_free(struct search_request *req);

#endif
