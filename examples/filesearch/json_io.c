/*
 * json_io.c: reading search requests and writing answers with json-c.
 * Every error message names the field at fault ("paths[2]: must be a
 * non-empty string"), because it goes back to the client in a 400.
 */
#include "json_io.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 8

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* A JSON string without NUL bytes (a C string can hold no others). */
static bool is_plain_string(struct json_object *v)
{
    return json_object_is_type(v, json_type_string) &&
           strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v);
}

static bool only_space_left(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

static struct json_object *parse_json(const char *body, size_t len, char *err, size_t errlen)
{
    if (only_space_left(body, len)) {
        fail(err, errlen, "body: empty, expected a JSON object");
        return NULL;
    }
    if (len > INT_MAX) {
        fail(err, errlen, "body: too large");
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (tok == NULL) {
        fail(err, errlen, "body: out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (root == NULL && jerr == json_tokener_continue)
        fail(err, errlen, "body: invalid JSON: unexpected end of input");
    else if (root == NULL)
        fail(err, errlen, "body: invalid JSON: %s at byte %zu", json_tokener_error_desc(jerr),
             json_tokener_get_parse_end(tok));
    else if (!only_space_left(body + json_tokener_get_parse_end(tok),
                              len - json_tokener_get_parse_end(tok))) {
        fail(err, errlen, "body: invalid JSON: unexpected data after the object at byte %zu",
             json_tokener_get_parse_end(tok));
        json_object_put(root);
        root = NULL;
    }
    json_tokener_free(tok);
    return root;
}

static bool read_pattern(struct json_object *root, struct search_request *req, char *err,
                         size_t errlen)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, "pattern", &v))
        return fail(err, errlen, "pattern: missing");
    if (!is_plain_string(v))
        return fail(err, errlen, "pattern: must be a string");
    if (json_object_get_string_len(v) == 0)
        return fail(err, errlen, "pattern: must not be empty");
    req->pattern = strdup(json_object_get_string(v));
    return req->pattern != NULL || fail(err, errlen, "out of memory");
}

static bool read_paths(struct json_object *root, struct search_request *req, char *err,
                       size_t errlen)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, "paths", &v))
        return fail(err, errlen, "paths: missing");
    if (!json_object_is_type(v, json_type_array))
        return fail(err, errlen, "paths: must be an array of strings");
    size_t n = json_object_array_length(v);
    if (n == 0)
        return fail(err, errlen, "paths: must not be empty");
    if (n > JSON_IO_MAX_PATHS)
        return fail(err, errlen, "paths: at most %d paths", JSON_IO_MAX_PATHS);
    req->paths = calloc(n, sizeof *req->paths);
    if (req->paths == NULL)
        return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(v, i);
        if (!is_plain_string(p) || json_object_get_string_len(p) == 0)
            return fail(err, errlen, "paths[%zu]: must be a non-empty string", i);
        req->paths[i] = strdup(json_object_get_string(p));
        if (req->paths[i] == NULL)
            return fail(err, errlen, "out of memory");
        req->npaths = i + 1;
    }
    return true;
}

static bool read_max_results(struct json_object *root, struct search_request *req, char *err,
                             size_t errlen)
{
    struct json_object *v;
    req->max_results = SEARCH_DEFAULT_MAX_RESULTS;
    if (!json_object_object_get_ex(root, "max_results", &v) || v == NULL)
        return true; /* missing or null */
    if (!json_object_is_type(v, json_type_int))
        return fail(err, errlen, "max_results: must be an integer");
    int64_t n = json_object_get_int64(v);
    if (n < 0)
        return fail(err, errlen, "max_results: must not be negative");
    if (n > SEARCH_MAX_MAX_RESULTS)
        return fail(err, errlen, "max_results: at most %d", SEARCH_MAX_MAX_RESULTS);
    if (n > 0)
        req->max_results = (size_t)n;
    return true;
}

bool json_io_parse_request(const char *body, size_t len, struct search_request *req, char *err,
                           size_t errlen)
{
    *req = (struct search_request){0};
    struct json_object *root = parse_json(body, len, err, errlen);
    if (root == NULL)
        return false;
    bool ok = false;
    if (!json_object_is_type(root, json_type_object))
        fail(err, errlen, "body: must be a JSON object");
    else
        ok = read_pattern(root, req, err, errlen) && read_paths(root, req, err, errlen) &&
             read_max_results(root, req, err, errlen);
    json_object_put(root);
    if (!ok)
        search_request_free(req);
    return ok;
}

/* The object's text as a malloc'd string; drops the object. */
static char *to_string(struct json_object *obj, size_t *len)
{
    char *copy = NULL;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
    if (text != NULL) {
        copy = malloc(*len + 1);
        if (copy)
            memcpy(copy, text, *len + 1);
    }
    json_object_put(obj);
    return copy;
}

/* json-c's constructors return NULL when out of memory; adding checks each one. */
static bool add(struct json_object *obj, const char *key, struct json_object *value)
{
    if (value == NULL)
        return false;
    if (json_object_object_add(obj, key, value) != 0) {
        json_object_put(value);
        return false;
    }
    return true;
}

static struct json_object *match_object(const struct search_match *m)
{
    struct json_object *obj = json_object_new_object();
    if (obj == NULL)
        return NULL;
    if (!add(obj, "file", json_object_new_string(m->file)) ||
        !add(obj, "line", json_object_new_int64(m->line)) ||
        !add(obj, "content", json_object_new_string(m->content))) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

char *json_io_format_result(const struct search_result *result, size_t *len)
{
    struct json_object *root = json_object_new_object();
    if (root == NULL)
        return NULL;
    struct json_object *matches = json_object_new_array_ext((int)result->count);
    bool ok = add(root, "matches", matches);
    for (size_t i = 0; ok && i < result->count; i++) {
        struct json_object *m = match_object(&result->matches[i]);
        ok = m != NULL && json_object_array_add(matches, m) == 0;
        if (!ok)
            json_object_put(m);
    }
    ok = ok && add(root, "total", json_object_new_int64((int64_t)result->count));
    if (!ok) {
        json_object_put(root);
        return NULL;
    }
    return to_string(root, len);
}

char *json_io_format_error(const char *message, size_t *len)
{
    struct json_object *root = json_object_new_object();
    if (root == NULL || !add(root, "error", json_object_new_string(message))) {
        json_object_put(root);
        return NULL;
    }
    return to_string(root, len);
}
