/*
 * bench_filesearch.c: benchmarks of the filesearch demo's search (search.h),
 * the slow engine against the fixed one, with cprof's harness
 * (cprof/bench.h). One op is one search request, as POST /search runs it:
 * the load generator's pattern over a corpus of C sources.
 *
 *     bench_filesearch -bench=. -count=10 -benchmem > new.txt
 *     cprof benchstat old.txt new.txt
 *
 * The corpus is generated, not taken from the machine (/usr/include differs
 * from one machine to the next, and so would the figures): CORPUS_DIRS
 * directories of CORPUS_FILES_PER_DIR .c/.h files, CORPUS_LINES lines each,
 * from a fixed-seed generator, written to a temporary directory the first
 * time a benchmark needs it and removed at exit. Every twentieth line or so
 * matches the pattern. Engines are made and freed outside the timer: the
 * fixed engine starts its worker pool there, as the server does once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cprof/bench.h>

#include "search.h"

#define CORPUS_DIRS          4
#define CORPUS_FILES_PER_DIR 24
#define CORPUS_LINES         400
#define PATTERN              "pthread_(mutex|cond)_[a-z]+" /* filesearch-load's default */

static char corpus[4096];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_corpus(void)
{
    if (corpus[0])
        nftw(corpus, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* xorshift: the same corpus on every run and every machine. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void write_file(const char *path, uint64_t *seed)
{
    static const char *const plain[] = {
        "static int count_items(const struct list *l, size_t limit);",
        "    for (size_t i = 0; i < n; i++)",
        "        total += values[i] * weight;",
        "#define BUFFER_SIZE 4096",
        "    if (ptr == NULL)",
        "        return -1;",
        "/* Returns the number of bytes written, or -1 with errno set. */",
        "struct node *next; /* the following node, or NULL */",
        "    memcpy(dst, src, len);",
        "}",
    };
    static const char *const matching[] = {
        "    pthread_mutex_lock(&queue->lock);",
        "    pthread_mutex_unlock(&queue->lock);",
        "    pthread_cond_wait(&queue->nonempty, &queue->lock);",
        "    pthread_cond_signal(&queue->nonempty);",
    };
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_filesearch: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    for (int i = 0; i < CORPUS_LINES; i++) {
        uint64_t r = next_random(seed);
        if (r % 20 == 0)
            fprintf(f, "%s\n", matching[(r >> 8) % 4]);
        else
            fprintf(f, "%s\n", plain[(r >> 8) % 10]);
    }
    fclose(f);
}

static const char *corpus_dir(void)
{
    if (corpus[0])
        return corpus;
    const char *tmp = getenv("TMPDIR");
    snprintf(corpus, sizeof corpus, "%s/bench_filesearch.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(corpus)) {
        fprintf(stderr, "bench_filesearch: mkdtemp %s: %s\n", corpus, strerror(errno));
        exit(1);
    }
    atexit(remove_corpus);
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    for (int d = 0; d < CORPUS_DIRS; d++) {
        char dir[4200], path[4300];
        snprintf(dir, sizeof dir, "%s/dir%d", corpus, d);
        if (mkdir(dir, 0755) < 0) {
            fprintf(stderr, "bench_filesearch: mkdir %s: %s\n", dir, strerror(errno));
            exit(1);
        }
        for (int i = 0; i < CORPUS_FILES_PER_DIR; i++) {
            snprintf(path, sizeof path, "%s/file%02d.%c", dir, i, i % 3 ? 'c' : 'h');
            write_file(path, &seed);
        }
    }
    return corpus;
}

static void bench_search(cprof_b *b, const struct search_fixes *fixes)
{
    char *paths[] = {(char *)corpus_dir()};
    struct search_request req = {.pattern = (char *)PATTERN,
                                 .paths = paths,
                                 .npaths = 1,
                                 .max_results = SEARCH_DEFAULT_MAX_RESULTS};
    struct search_engine *engine = search_engine_new(fixes);
    if (!engine) {
        fprintf(stderr, "bench_filesearch: cannot make the engine: %s\n", strerror(errno));
        exit(1);
    }
    size_t matches = 0;
    char err[256];
    cprof_b_reset_timer(b);
    for (long i = 0; i < b->n; i++) {
        struct search_result out;
        if (search_run(engine, &req, &out, err, sizeof err) != SEARCH_OK) {
            fprintf(stderr, "bench_filesearch: search: %s\n", err);
            exit(1);
        }
        matches = out.count;
        search_result_free(&out);
    }
    cprof_b_stop_timer(b);
    search_engine_free(engine);
    /* Both engines must find the same: a fix that loses results is no fix. */
    cprof_b_report_metric(b, (double)matches, "matches/op");
}

static void BenchmarkSearchSlow(cprof_b *b)
{
    bench_search(b, &(struct search_fixes){0});
}
CPROF_BENCH(BenchmarkSearchSlow)

static void BenchmarkSearchFixed(cprof_b *b)
{
    bench_search(b, &(struct search_fixes){true, true, true, true});
}
CPROF_BENCH(BenchmarkSearchFixed)

/* The search with the fixes FILESEARCH_FIX names (the server's -fix list;
 * none: the slow search), under one name, so that `cprof benchstat` pairs a
 * run before a fix with one after it (the tutorial does). */
static void BenchmarkSearch(cprof_b *b)
{
    const char *list = getenv("FILESEARCH_FIX");
    struct search_fixes fixes;
    char err[160];
    if (!search_fixes_parse(list ? list : "", &fixes, err, sizeof err)) {
        fprintf(stderr, "bench_filesearch: FILESEARCH_FIX=%s: %s\n", list, err);
        exit(2);
    }
    bench_search(b, &fixes);
}
CPROF_BENCH(BenchmarkSearch)

int main(int argc, char **argv)
{
    return cprof_bench_main(argc, argv);
}
