/*
 * search_planted.c: the problems the workshop plants, in one place, so that
 * the slow search (search_slow.c) and the pooled search with only some fixes
 * (search_fixed.c, -fix=threads,...) have the very same ones. Each is marked
 * PLANTED, with what its fix does.
 */
#include "search_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PLANTED (-fix=lock): one process-wide lock around every result list, taken
 * once per match; the fix gives each worker its own list and merges them at
 * the end. */
static pthread_mutex_t results_lock = PTHREAD_MUTEX_INITIALIZER;

bool planted_add_match(struct match_list *results, const char *path, long line, char *content)
{
    pthread_mutex_lock(&results_lock);
    char *file = strdup(path);
    bool ok = file != NULL && match_list_push(results, file, line, content);
    pthread_mutex_unlock(&results_lock);
    if (!ok) {
        free(file);
        free(content);
    }
    return ok;
}

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

bool planted_search_file(const char *path, const regex_t *re, planted_found_fn found, void *arg)
{
    /* PLANTED (-fix=lines): the whole file is read into memory, then copied
     * again line by line into an array; the fix streams the file with
     * getline(). */
    char *data;
    size_t size;
    bool failed = false;
    if (!read_whole_file(path, &data, &size, &failed))
        return !failed;
    size_t nlines = 0;
    char **lines = NULL;
    if (memchr(data, '\0', size) == NULL) { /* a NUL byte: binary, grep prints no lines */
        lines = split_lines(data, size, &nlines);
        if (lines == NULL)
            failed = true;
    }

    for (size_t i = 0; i < nlines && !failed; i++) {
        /* PLANTED (-fix=lines): every line is copied and trimmed before we
         * know whether it matches; the fix trims only the lines that match,
         * in place. */
        char *content = trim_copy(lines[i]);
        if (content == NULL)
            failed = true;
        else if (regexec(re, lines[i], 0, NULL, 0) == 0)
            failed = !found(arg, (long)i + 1, content);
        else
            free(content);
    }

    free_lines(lines, nlines);
    free(data);
    return !failed;
}
