/*
 * search_common.c: the parts of a search that both engines do the same way
 * and that are not part of the workshop's planted problems: the engine
 * interface, compiling the pattern, walking directories the way grep -r does,
 * and sorting and cutting the matches.
 */
#include "search_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- The engine interface ------------------------------------------------------ */

bool search_fixes_parse(const char *list, struct search_fixes *fixes, char *err, size_t errlen)
{
    *fixes = (struct search_fixes){0};
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 3 && !strncmp(p, "all", 3))
            *fixes = (struct search_fixes){true, true, true, true};
        else if (len == 7 && !strncmp(p, "threads", 7))
            fixes->threads = true;
        else if (len == 5 && !strncmp(p, "regex", 5))
            fixes->regex = true;
        else if (len == 5 && !strncmp(p, "lines", 5))
            fixes->lines = true;
        else if (len == 4 && !strncmp(p, "lock", 4))
            fixes->lock = true;
        else if (len > 0) {
            snprintf(err, errlen, "unknown fix \"%.*s\" (want threads, regex, lines, lock or all)",
                     (int)len, p);
            return false;
        }
        p += len + (p[len] == ',');
    }
    if (!fixes->threads && (fixes->regex || fixes->lines || fixes->lock)) {
        snprintf(err, errlen, "regex, lines and lock are fixes of the pooled search: add threads");
        return false;
    }
    return true;
}

struct search_engine *search_engine_new(const struct search_fixes *fixes)
{
    return fixes->threads ? search_fixed_new(fixes) : search_slow_new();
}

const char *search_engine_name(const struct search_engine *engine)
{
    return engine->name;
}

enum search_status search_run(struct search_engine *engine, const struct search_request *req,
                              struct search_result *out, char *err, size_t errlen)
{
    out->matches = NULL;
    out->count = 0;
    return engine->ops->run(engine, req, out, err, errlen);
}

void search_engine_free(struct search_engine *engine)
{
    if (engine)
        engine->ops->free(engine);
}

void search_result_free(struct search_result *result)
{
    for (size_t i = 0; i < result->count; i++) {
        free(result->matches[i].file);
        free(result->matches[i].content);
    }
    free(result->matches);
    result->matches = NULL;
    result->count = 0;
}

void search_request_free(struct search_request *req)
{
    free(req->pattern);
    for (size_t i = 0; i < req->npaths; i++)
        free(req->paths[i]);
    free(req->paths);
    req->pattern = NULL;
    req->paths = NULL;
    req->npaths = 0;
}

enum search_status search_compile(regex_t *re, const char *pattern, char *err, size_t errlen)
{
    int rc = regcomp(re, pattern, SEARCH_REGEX_FLAGS);
    if (rc == 0)
        return SEARCH_OK;
    char why[256];
    regerror(rc, re, why, sizeof why);
    if (rc == REG_ESPACE) {
        snprintf(err, errlen, "out of memory compiling the pattern");
        return SEARCH_FAILED;
    }
    snprintf(err, errlen, "pattern: invalid regular expression: %s", why);
    return SEARCH_BAD_REQUEST;
}

/* ---- Walking the paths --------------------------------------------------------- */

static bool is_source_name(const char *name)
{
    size_t len = strlen(name);
    return len >= 2 && name[len - 2] == '.' && (name[len - 1] == 'c' || name[len - 1] == 'h');
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool file_list_push(struct file_list *files, char *path)
{
    if (files->count == files->cap) {
        size_t cap = files->cap ? files->cap * 2 : 256;
        char **paths = realloc(files->paths, cap * sizeof *paths);
        if (paths == NULL)
            return false;
        files->paths = paths;
        files->cap = cap;
    }
    files->paths[files->count++] = path;
    return true;
}

void file_list_free(struct file_list *files)
{
    for (size_t i = 0; i < files->count; i++)
        free(files->paths[i]);
    free(files->paths);
    files->paths = NULL;
    files->count = files->cap = 0;
}

/* dir + "/" + name, without doubling a slash that dir already ends with. */
static char *join_path(const char *dir, const char *name)
{
    size_t dlen = strlen(dir), nlen = strlen(name);
    bool slash = dlen > 0 && dir[dlen - 1] == '/';
    char *path = malloc(dlen + !slash + nlen + 1);
    if (path == NULL)
        return NULL;
    memcpy(path, dir, dlen);
    if (!slash)
        path[dlen++] = '/';
    memcpy(path + dlen, name, nlen + 1);
    return path;
}

struct walk {
    struct file_list *files;
    char *err;
    size_t errlen;
};

static enum search_status walk_add(struct walk *w, char *path)
{
    if (w->files->count >= SEARCH_MAX_FILES) {
        free(path);
        snprintf(w->err, w->errlen, "paths: more than %d files to search", SEARCH_MAX_FILES);
        return SEARCH_BAD_REQUEST;
    }
    if (!file_list_push(w->files, path)) {
        free(path);
        snprintf(w->err, w->errlen, "out of memory listing files");
        return SEARCH_FAILED;
    }
    return SEARCH_OK;
}

static enum search_status walk_dir(struct walk *w, const char *dir, bool top)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (!top)
            return SEARCH_OK; /* grep warns and carries on */
        snprintf(w->err, w->errlen, "paths: %s: %s", dir, strerror(errno));
        return SEARCH_BAD_REQUEST;
    }
    enum search_status status = SEARCH_OK;
    struct dirent *e;
    while (status == SEARCH_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        unsigned char type = e->d_type;
        bool wanted =
            type == DT_DIR || type == DT_UNKNOWN || (type == DT_REG && is_source_name(e->d_name));
        if (!wanted)
            continue; /* symlinks, devices, other files */
        char *path = join_path(dir, e->d_name);
        if (path == NULL) {
            snprintf(w->err, w->errlen, "out of memory listing files");
            status = SEARCH_FAILED;
            break;
        }
        if (type == DT_UNKNOWN) { /* some file systems do not fill d_type */
            struct stat st;
            if (lstat(path, &st) != 0)
                type = DT_UNKNOWN;
            else if (S_ISDIR(st.st_mode))
                type = DT_DIR;
            else if (S_ISREG(st.st_mode) && is_source_name(e->d_name))
                type = DT_REG;
        }
        if (type == DT_DIR) {
            status = walk_dir(w, path, false);
            free(path);
        } else if (type == DT_REG) {
            status = walk_add(w, path);
        } else {
            free(path);
        }
    }
    closedir(d);
    return status;
}

enum search_status file_list_collect(struct file_list *files, char *const *paths, size_t npaths,
                                     char *err, size_t errlen)
{
    struct walk w = {.files = files, .err = err, .errlen = errlen};
    for (size_t i = 0; i < npaths; i++) {
        /* grep names files below "dir/" as "dir/x.c", not "dir//x.c". */
        char *root = strdup(paths[i]);
        if (root == NULL) {
            snprintf(err, errlen, "out of memory listing files");
            return SEARCH_FAILED;
        }
        for (size_t len = strlen(root); len > 1 && root[len - 1] == '/'; len--)
            root[len - 1] = '\0';

        enum search_status status;
        struct stat st;
        if (stat(root, &st) != 0) {
            snprintf(err, errlen, "paths: %s: %s", paths[i], strerror(errno));
            status = SEARCH_BAD_REQUEST;
        } else if (S_ISDIR(st.st_mode)) {
            status = walk_dir(&w, root, true);
        } else if (S_ISREG(st.st_mode)) {
            status = SEARCH_OK;
            if (is_source_name(base_name(root))) {
                status = walk_add(&w, root); /* takes root */
                root = NULL;
            }
        } else {
            snprintf(err, errlen, "paths: %s: not a directory or a regular file", paths[i]);
            status = SEARCH_BAD_REQUEST;
        }
        free(root);
        if (status != SEARCH_OK)
            return status;
    }
    return SEARCH_OK;
}

/* ---- Matches -------------------------------------------------------------------- */

bool match_list_push(struct match_list *list, char *file, long line, char *content)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        struct search_match *items = realloc(list->items, cap * sizeof *items);
        if (items == NULL)
            return false;
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = (struct search_match){file, line, content};
    return true;
}

void match_list_truncate(struct match_list *list, size_t count)
{
    for (size_t i = count; i < list->count; i++) {
        free(list->items[i].file);
        free(list->items[i].content);
    }
    if (count < list->count)
        list->count = count;
}

bool match_list_move(struct match_list *dst, struct match_list *src)
{
    if (dst->count + src->count > dst->cap) {
        size_t cap = dst->count + src->count;
        struct search_match *items = realloc(dst->items, cap * sizeof *items);
        if (items == NULL)
            return false;
        dst->items = items;
        dst->cap = cap;
    }
    if (src->count > 0)
        memcpy(dst->items + dst->count, src->items, src->count * sizeof *src->items);
    dst->count += src->count;
    free(src->items);
    *src = (struct match_list){0};
    return true;
}

void match_list_free(struct match_list *list)
{
    match_list_truncate(list, 0);
    free(list->items);
    *list = (struct match_list){0};
}

static int compare_matches(const void *a, const void *b)
{
    const struct search_match *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c != 0)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

void match_list_finish(struct match_list *list, size_t max_results, struct search_result *out)
{
    if (list->count > 1)
        qsort(list->items, list->count, sizeof *list->items, compare_matches);
    match_list_truncate(list, max_results);
    out->matches = list->items;
    out->count = list->count;
    if (out->count == 0) {
        free(list->items);
        out->matches = NULL;
    }
    *list = (struct match_list){0};
}

/* ---- Lines -------------------------------------------------------------------- */

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

const char *trim_span(const char *s, size_t len, size_t *trimmed_len)
{
    while (len > 0 && is_space(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_space(s[len - 1]))
        len--;
    *trimmed_len = len;
    return s;
}
