/*
 * source.c: reads the source files of `cprof list` and `cprof explain`.
 * Owns the search (pprof's: a path is first trimmed, by -trim_path or, when
 * none is given, up to a component named like a search directory; an
 * absolute path is opened as it is; a relative one is tried under each
 * search directory and their parents) and a cache of files read whole.
 * Going further than pprof: an absolute path that does not exist here (a
 * profile from another machine) is also tried relative to the search path.
 */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct source_file {
    char *path; /* as the profile names it */
    char *text;
    char **lines; /* lines[i] is line i + 1 */
    size_t nlines;
    char *error;
    struct source_file *next;
};

struct source_reader {
    char *search_path, *trim_path;
    struct source_file *files;
};

struct source_reader *source_reader_new(const char *search_path, const char *trim_path)
{
    struct source_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    char cwd[4096];
    if (!search_path || !search_path[0])
        search_path = getcwd(cwd, sizeof cwd) ? cwd : ".";
    r->search_path = strdup(search_path);
    r->trim_path = strdup(trim_path ? trim_path : "");
    if (!r->search_path || !r->trim_path) {
        source_reader_free(r);
        return NULL;
    }
    return r;
}

void source_reader_free(struct source_reader *r)
{
    if (!r)
        return;
    for (struct source_file *f = r->files, *next; f; f = next) {
        next = f->next;
        free(f->path);
        free(f->text);
        free(f->lines);
        free(f->error);
        free(f);
    }
    free(r->search_path);
    free(r->trim_path);
    free(r);
}

/* ---- finding the file --------------------------------------------------- */

/* The tail of path after "/NAME/", NAME being the last component of one of
 * the search directories; NULL if none. */
static const char *trim_by_search_dirs(const char *path, const char *search)
{
    char *dirs = strdup(search), *save = NULL;
    const char *out = NULL;
    for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !out;
         d = strtok_r(NULL, ":", &save)) {
        size_t len = strlen(d);
        while (len > 1 && d[len - 1] == '/')
            d[--len] = '\0';
        const char *base = strrchr(d, '/') ? strrchr(d, '/') + 1 : d;
        char want[4096];
        snprintf(want, sizeof want, "/%s/", base);
        const char *hit = base[0] ? strstr(path, want) : NULL;
        if (hit)
            out = hit + strlen(want);
    }
    free(dirs);
    return out;
}

static const char *trim_prefixes(const char *path, const char *trim)
{
    char *list = malloc(strlen(trim) + 64), *save = NULL;
    if (!list)
        return path;
    sprintf(list, "%s%s/proc/self/cwd/./:/proc/self/cwd/", trim, trim[0] ? ":" : "");
    const char *out = path;
    for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        size_t len = strlen(p);
        int slash = len > 0 && p[len - 1] == '/';
        if (!strncmp(path, p, len) && (slash || path[len] == '/')) {
            out = path + len + !slash;
            break;
        }
    }
    free(list);
    return out;
}

static const char *trimmed(const struct source_reader *r, const char *path)
{
    if (!r->trim_path[0]) {
        const char *t = trim_by_search_dirs(path, r->search_path);
        if (t)
            return t;
    }
    return trim_prefixes(path, r->trim_path);
}

const char *source_shown_path(const struct source_reader *r, const char *path)
{
    return trimmed(r, path);
}

/* rel under dir or any of dir's parents. */
static FILE *open_under(const char *dir, const char *rel)
{
    char d[4096], full[8192];
    snprintf(d, sizeof d, "%s", dir);
    for (;;) {
        snprintf(full, sizeof full, "%s/%s", d, rel);
        FILE *f = fopen(full, "r");
        if (f)
            return f;
        char *slash = strrchr(d, '/');
        if (!slash || slash == d)
            return NULL;
        *slash = '\0';
    }
}

static FILE *search(const struct source_reader *r, const char *rel)
{
    char *dirs = strdup(r->search_path), *save = NULL;
    FILE *f = NULL;
    for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !f;
         d = strtok_r(NULL, ":", &save))
        f = open_under(d, rel);
    free(dirs);
    return f;
}

static FILE *find(const struct source_reader *r, const char *path)
{
    const char *p = trimmed(r, path);
    if (p[0] != '/')
        return search(r, p);
    FILE *f = fopen(p, "r");
    while (!f && *p == '/')
        p++;
    return f ? f : search(r, p);
}

/* ---- reading it ---------------------------------------------------------- */

static int split(struct source_file *sf)
{
    size_t cap = 0;
    for (char *p = sf->text; *p;) {
        if (sf->nlines == cap) {
            cap = cap ? cap * 2 : 256;
            char **l = realloc(sf->lines, cap * sizeof *l);
            if (!l)
                return -1;
            sf->lines = l;
        }
        sf->lines[sf->nlines++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        if (nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        p = nl + 1;
    }
    return 0;
}

static void load(struct source_reader *r, struct source_file *sf)
{
    FILE *f = find(r, sf->path);
    char msg[8192];
    if (!f) {
        snprintf(msg, sizeof msg, "could not find file %s on path %s", sf->path, r->search_path);
        sf->error = strdup(msg);
        return;
    }
    size_t len = 0;
    FILE *m = open_memstream(&sf->text, &len);
    char buf[65536];
    size_t n;
    while (m && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, m);
    int bad = ferror(f) || !m;
    fclose(f);
    if (m && fclose(m))
        bad = 1;
    if (bad || !sf->text || split(sf)) {
        snprintf(msg, sizeof msg, "cannot read %s", sf->path);
        sf->error = strdup(msg);
    }
}

static struct source_file *get(struct source_reader *r, const char *path)
{
    for (struct source_file *f = r->files; f; f = f->next)
        if (!strcmp(f->path, path))
            return f;
    struct source_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    load(r, f);
    f->next = r->files;
    r->files = f;
    return f;
}

const char *source_line(struct source_reader *r, const char *path, long lineno)
{
    struct source_file *f = get(r, path);
    if (!f || f->error || lineno < 1 || (size_t)lineno > f->nlines)
        return NULL;
    return f->lines[lineno - 1];
}

const char *source_error(struct source_reader *r, const char *path)
{
    struct source_file *f = get(r, path);
    return !f ? "out of memory" : f->error;
}
