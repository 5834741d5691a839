/*
 * search_impl.h: what the two search engines share (search_common.c) and
 * nobody else needs: the engine's table of operations, compiling the
 * pattern, walking the paths the way grep -r does, and the list of matches.
 */
#ifndef FILESEARCH_SEARCH_IMPL_H
#define FILESEARCH_SEARCH_IMPL_H

#include <regex.h>

#include "search.h"

#define SEARCH_REGEX_FLAGS (REG_EXTENDED | REG_NOSUB)

struct search_engine_ops {
    enum search_status (*run)(struct search_engine *engine, const struct search_request *req,
                              struct search_result *out, char *err, size_t errlen);
    void (*free)(struct search_engine *engine);
};

/* Every engine starts with this. */
struct search_engine {
    const struct search_engine_ops *ops;
    char name[48]; /* "slow", "fixed" or "fix=threads,regex" */
};

struct search_engine *search_slow_new(void);
/* The pooled search, with the fixes asked for (fixes->threads is true). */
struct search_engine *search_fixed_new(const struct search_fixes *fixes);

/* Compiles the request's pattern; on failure says why in err (the request is bad). */
enum search_status search_compile(regex_t *re, const char *pattern, char *err, size_t errlen);

/* The files a request searches, in the order the walk found them. */
struct file_list {
    char **paths;
    size_t count, cap;
};

/* Collects the .c and .h files under the given paths the way grep -r does:
 * each path as given (symlinks followed), then recursively below directories
 * without following symlinks; files named as paths are kept if their name
 * ends in .c or .h. A path that does not exist or cannot be read makes the
 * request bad; an unreadable directory further down is skipped, as grep does. */
enum search_status file_list_collect(struct file_list *files, char *const *paths, size_t npaths,
                                     char *err, size_t errlen);
void file_list_free(struct file_list *files);

struct match_list {
    struct search_match *items;
    size_t count, cap;
};

/* Appends a match, taking ownership of `file` and `content` on success only. */
bool match_list_push(struct match_list *list, char *file, long line, char *content);
/* Frees the matches from index `count` on. */
void match_list_truncate(struct match_list *list, size_t count);
/* Moves every match of src to the end of dst; src is left empty. */
bool match_list_move(struct match_list *dst, struct match_list *src);
void match_list_free(struct match_list *list);
/* Sorts the list by (file, line), keeps the first max_results and hands them to out. */
void match_list_finish(struct match_list *list, size_t max_results, struct search_result *out);

/* ---- The planted problems (search_planted.c) ---------------------------------- */

/* Appends a match to `results` under the lock every search shares, taking
 * ownership of `content` (freed on failure). False on out of memory. */
bool planted_add_match(struct match_list *results, const char *path, long line, char *content);

/* Receives each matching line of planted_search_file: its number and a
 * trimmed copy it now owns. Returns false on out of memory. */
typedef bool (*planted_found_fn)(void *arg, long line, char *content);

/* Searches one file the planted way: read whole, split into copied lines,
 * every line trimmed into a copy before it is matched. An unreadable file is
 * skipped (true); false on out of memory. */
bool planted_search_file(const char *path, const regex_t *re, planted_found_fn found, void *arg);

/* The part of s[0..len) without leading and trailing whitespace. */
const char *trim_span(const char *s, size_t len, size_t *trimmed_len);
bool is_space(char c);

#endif
