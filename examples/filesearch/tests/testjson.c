/*
 * testjson.c: the tests' JSON helper, so that shell scripts neither quote
 * JSON by hand nor parse it with sed.
 *
 *   testjson request PATTERN MAX_RESULTS PATH...
 *       prints the body of a search request (MAX_RESULTS "-" leaves it out)
 *   testjson answer < ANSWER
 *       prints a search answer in grep's format, one "file:line:content"
 *       line per match, or "error: MESSAGE" for an error answer. Exits 1
 *       if the input is neither, if "total" is not the number of matches,
 *       or if a match lacks a field or has one of the wrong type.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(const char *why)
{
    fprintf(stderr, "testjson: %s\n", why);
    return 1;
}

static int request(int argc, char **argv)
{
    struct json_object *root = json_object_new_object();
    struct json_object *paths = json_object_new_array();
    json_object_object_add(root, "pattern", json_object_new_string(argv[0]));
    if (strcmp(argv[1], "-") != 0)
        json_object_object_add(root, "max_results", json_object_new_int64(atoll(argv[1])));
    for (int i = 2; i < argc; i++)
        json_object_array_add(paths, json_object_new_string(argv[i]));
    json_object_object_add(root, "paths", paths);
    puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
    return 0;
}

/* Prints one parsed answer; returns the exit status. */
static int print_answer(struct json_object *root)
{
    struct json_object *v, *matches, *total;
    if (!json_object_is_type(root, json_type_object))
        return bad("not a JSON object");
    if (json_object_object_get_ex(root, "error", &v)) {
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
            return bad("\"error\" is not a non-empty string");
        printf("error: %s\n", json_object_get_string(v));
        return 0;
    }
    if (!json_object_object_get_ex(root, "matches", &matches) ||
        !json_object_is_type(matches, json_type_array))
        return bad("no \"matches\" array");
    if (!json_object_object_get_ex(root, "total", &total) ||
        !json_object_is_type(total, json_type_int))
        return bad("no integer \"total\"");
    size_t count = json_object_array_length(matches);
    if ((size_t)json_object_get_int64(total) != count)
        return bad("\"total\" is not the number of matches");

    for (size_t i = 0; i < count; i++) {
        struct json_object *m = json_object_array_get_idx(matches, i), *file, *line, *content;
        if (!json_object_object_get_ex(m, "file", &file) ||
            !json_object_is_type(file, json_type_string) ||
            !json_object_object_get_ex(m, "line", &line) ||
            !json_object_is_type(line, json_type_int) ||
            !json_object_object_get_ex(m, "content", &content) ||
            !json_object_is_type(content, json_type_string))
            return bad("a match without a string file, an integer line and a string content");
        printf("%s:%lld:%s\n", json_object_get_string(file), (long long)json_object_get_int64(line),
               json_object_get_string(content));
    }
    return 0;
}

static int answer(void)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
        }
    }
    struct json_tokener *tok = json_tokener_new();
    if (buf == NULL || tok == NULL) {
        free(buf);
        if (tok)
            json_tokener_free(tok);
        return bad("out of memory");
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
    int status = root ? print_answer(root) : bad("not JSON");
    json_object_put(root);
    json_tokener_free(tok);
    free(buf);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "request") == 0)
        return request(argc - 2, argv + 2);
    if (argc == 2 && strcmp(argv[1], "answer") == 0)
        return answer();
    fprintf(stderr, "usage: testjson request PATTERN MAX_RESULTS PATH... | testjson answer\n");
    return 2;
}
