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

/* The planted problems a search has fixed, so that the workshop can fix one
 * at a time: -fix=threads,regex,lines,lock (-fixed: all four).
 *   threads: a pool of workers instead of a thread per file;
 *   regex:   the pattern compiled once per request, not once per file;
 *   lines:   files streamed line by line, only matching lines copied;
 *   lock:    each worker collects its matches without a shared lock.
 * regex, lines and lock are fixes of the pooled search: they need threads
 * (a thread that lives for one file can only compile per file). */
struct search_fixes {
    bool threads, regex, lines, lock;
};

/* Parses a -fix list ("threads,regex"; "all"; "" for none) into *fixes.
 * False with a one-line message in err on an unknown name or a fix that
 * needs threads without it. */
bool search_fixes_parse(const char *list, struct search_fixes *fixes, char *err, size_t errlen);

/* The slow engine when nothing is fixed, else the pooled one (which starts
 * its worker pool here). NULL on failure, with errno set. */
struct search_engine *search_engine_new(const struct search_fixes *fixes);

/* "slow", "fixed" (all four fixes) or "fix=threads,regex" (some). */
const char *search_engine_name(const struct search_engine *engine);

/* Runs one search. Safe to call from many threads at once. On anything but
 * SEARCH_OK, `err` holds a one-line message and `out` is empty. */
enum search_status search_run(struct search_engine *engine, const struct search_request *req,
                              struct search_result *out, char *err, size_t errlen);

void search_engine_free(struct search_engine *engine);
void search_result_free(struct search_result *result);
void search_request_free(struct search_request *req);

#endif
