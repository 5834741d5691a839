/*
 * web_json.h: what `cprof web` serves about profiles, as JSON built from
 * report.h's structures: the table of functions (Top), the call tree (Flame
 * graph, a subtree at a time), the trimmed call graph (Graph), callers and
 * callees of one function (Peek) and its source lines with values (Source).
 * Also the growing buffer every web_* file writes its answers into.
 */
#ifndef CPROF_WEB_JSON_H
#define CPROF_WEB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* ---- a growing byte buffer, with JSON helpers ----------------------------- */

typedef struct wbuf {
    char *p;
    size_t len, cap;
    int oom; /* an allocation failed: the content is incomplete */
} wbuf;

void wb_put(wbuf *b, const void *p, size_t n);
void wb_puts(wbuf *b, const char *s);
void wb_printf(wbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal (quotes included); invalid UTF-8 bytes become U+FFFD. */
void wb_str(wbuf *b, const char *s);
void wb_strn(wbuf *b, const char *s, size_t n);
void wb_i64(wbuf *b, int64_t v);
void wb_free(wbuf *b);

/* ---- names: strings interned to dense ids ----------------------------------- */

typedef struct web_names {
    const char **s; /* by id; the strings must outlive the table */
    size_t n, cap;
    uint32_t *slots; /* id + 1 */
    size_t mask;
} web_names;

/* The id of s, added when new; -1 when out of memory. */
int64_t web_names_intern(web_names *t, const char *s);
void web_names_free(web_names *t);

/* ---- a profile as the web UI shows it -------------------------------------- */

struct web_profile;

/* Opens o's files (o->args[0..nfiles)) with o's filters and sample_index
 * overridden by sample_index (NULL: o's), and o->base when set. NULL with
 * a one-line reason in err. */
struct web_profile *web_profile_open(const report_options *o, char **files, size_t nfiles,
                                     const char *sample_index, char *err, size_t errlen);
void web_profile_free(struct web_profile *p);
/* The index of the sample type it shows. */
int web_profile_sample_index(const struct web_profile *p);

/* Builds the call graph and the call tree now (the answers below build
 * them on first use otherwise): for a thread started right after opening,
 * while the trace loads and the browser starts. 0 or -1. */
int web_profile_prepare(struct web_profile *p);

/* The answers. Each returns 0, or -1 when out of memory; data built on the
 * first call is kept for the next ones. */

/* Header facts, sample types, the function names (ids used by every other
 * answer) and each function's flat and cum (and the base's, with -base). */
int web_profile_meta(struct web_profile *p, wbuf *out);
/* The subtree of the call tree under node `root` (0: the whole tree),
 * leaving out nodes under `frac` of the root's value, and the path from
 * the top to it. 1 when root is not a node. */
int web_profile_flame(struct web_profile *p, uint32_t root, double frac, wbuf *out);
/* pprof's trimmed graph of at most nodecount functions. */
int web_profile_graph(struct web_profile *p, long nodecount, wbuf *out);
/* Callers and callees of function `name` with the calls' weights. */
int web_profile_peek(struct web_profile *p, uint32_t name, wbuf *out);
/* The source of function `name`, per file, lines with flat and cum. */
int web_profile_source(struct web_profile *p, uint32_t name, wbuf *out);

#endif
