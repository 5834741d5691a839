/*
 * test-trace-json: checks what `cprof trace export -format=json` wrote with a
 * JSON parser nobody here wrote (json-c, strict, UTF-8 validated), against
 * the rules of the Chrome trace-event format that Perfetto relies on, then
 * prints a digest for tests/test-trace-*.sh to compare with ground truth.
 *
 *   test-trace-json FILE.json
 *
 * Checks (exit 1 with "FAIL: ..." on the first that fails):
 * - a top-level object with a "traceEvents" array; every event has ph,
 *   name, pid, tid, ts >= 0; X has dur >= 0; b/e have cat and id; i has s;
 *   C has numeric args; M thread_name has args.name;
 * - the X slices of each thread nest: a slice that starts inside another
 *   ends inside it too;
 * - every async b has one e with the same cat and id, not earlier;
 * - every thread with events has a thread_name.
 * Digest lines (stdout):
 *   count PH NAME N               events per phase and name
 *   xsum TID NAME COUNT TOTAL_NS  X slices per thread and name
 *   nest TID PARENT CHILD N       X slices whose innermost parent is PARENT
 *   task NAME BEGIN_TID END_TID DUR_NS
 *   thread TID NAME
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static const char *path;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: %s: ", path);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(1);
}

static char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        fail("cannot open it");
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf)
        fail("out of memory");
    *len = n;
    return buf;
}

static json_object *parse(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (!root || e != json_tokener_success)
        fail("not valid JSON: %s (at byte %zu)", json_tokener_error_desc(e),
             json_tokener_get_parse_end(tok));
    json_tokener_free(tok);
    return root;
}

/* ---- One event, flattened -------------------------------------------------------- */

struct ev {
    char ph;
    const char *name, *cat, *id;
    int64_t tid, ts, dur; /* ns */
    size_t index;
};

static json_object *field(json_object *o, const char *key, json_type type, size_t i)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
        fail("event %zu: no %s field of the right type", i, key);
    return v;
}

static int64_t to_ns(json_object *v, const char *what, size_t i)
{
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        fail("event %zu: %s is not a number", i, what);
    double us = json_object_get_double(v);
    if (!(us >= 0) || us > 1e15)
        fail("event %zu: %s out of range", i, what);
    return (int64_t)llround(us * 1000);
}

static void check_args(char ph, json_object *o, size_t i)
{
    json_object *args;
    int has = json_object_object_get_ex(o, "args", &args);
    if (has && !json_object_is_type(args, json_type_object))
        fail("event %zu: args is not an object", i);
    if (ph == 'C') {
        if (!has)
            fail("event %zu: counter without args", i);
        json_object_object_foreach(args, k, v)
        {
            if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                fail("event %zu: counter arg %s is not a number", i, k);
        }
    }
    if (ph == 'M')
        field(has ? args : o, "name", json_type_string, i);
}

static struct ev flatten(json_object *o, size_t i)
{
    struct ev e = {.index = i};
    if (!json_object_is_type(o, json_type_object))
        fail("event %zu is not an object", i);
    const char *ph = json_object_get_string(field(o, "ph", json_type_string, i));
    if (strlen(ph) != 1 || !strchr("XbeiCM", ph[0]))
        fail("event %zu: unexpected phase \"%s\"", i, ph);
    e.ph = ph[0];
    e.name = json_object_get_string(field(o, "name", json_type_string, i));
    field(o, "pid", json_type_int, i);
    e.tid = json_object_get_int64(field(o, "tid", json_type_int, i));
    json_object *v;
    if (!json_object_object_get_ex(o, "ts", &v))
        fail("event %zu: no ts", i);
    e.ts = to_ns(v, "ts", i);
    if (e.ph == 'X') {
        if (!json_object_object_get_ex(o, "dur", &v))
            fail("event %zu: X without dur", i);
        e.dur = to_ns(v, "dur", i);
    }
    if (e.ph == 'b' || e.ph == 'e') {
        e.cat = json_object_get_string(field(o, "cat", json_type_string, i));
        e.id = json_object_get_string(field(o, "id", json_type_string, i));
    }
    if (e.ph == 'i')
        field(o, "s", json_type_string, i);
    check_args(e.ph, o, i);
    return e;
}

/* ---- Digest ------------------------------------------------------------------------ */

struct counter {
    char key[512];
    int64_t count, total;
};

static struct counter *counters;
static size_t ncounters, counters_cap;

static void bump(const char *key, int64_t value)
{
    for (size_t i = 0; i < ncounters; i++)
        if (!strcmp(counters[i].key, key)) {
            counters[i].count++;
            counters[i].total += value;
            return;
        }
    if (ncounters == counters_cap) {
        counters_cap = counters_cap ? counters_cap * 2 : 256;
        counters = realloc(counters, counters_cap * sizeof *counters);
        if (!counters)
            fail("out of memory");
    }
    struct counter *c = &counters[ncounters++];
    snprintf(c->key, sizeof c->key, "%s", key);
    c->count = 1;
    c->total = value;
}

static int cmp_slice(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->dur != y->dur)
        return x->dur > y->dur ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Walks each thread's X slices in start order with a stack of open ones. */
static void check_nesting(struct ev *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_slice);
    struct ev *stack[512];
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        char key[512];
        if (i && x[i].tid != x[i - 1].tid)
            depth = 0;
        while (depth && stack[depth - 1]->ts + stack[depth - 1]->dur <= x[i].ts)
            depth--;
        if (depth && x[i].ts + x[i].dur > stack[depth - 1]->ts + stack[depth - 1]->dur)
            fail("slice \"%s\" (event %zu) overlaps the end of the slice it began in", x[i].name,
                 x[i].index);
        snprintf(key, sizeof key, "nest %" PRId64 " %s %s", x[i].tid,
                 depth ? stack[depth - 1]->name : "-", x[i].name);
        bump(key, 0);
        snprintf(key, sizeof key, "xsum %" PRId64 " %s", x[i].tid, x[i].name);
        bump(key, x[i].dur);
        if (depth < sizeof stack / sizeof stack[0])
            stack[depth++] = &x[i];
    }
}

/* Every b has exactly one e with its cat and id, at or after it. */
static void check_async(const struct ev *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ev[i].ph != 'b')
            continue;
        const struct ev *end = NULL;
        for (size_t k = 0; k < n; k++)
            if (ev[k].ph == 'e' && !strcmp(ev[k].cat, ev[i].cat) && !strcmp(ev[k].id, ev[i].id)) {
                if (end)
                    fail("async id %s ended twice", ev[i].id);
                end = &ev[k];
            }
        if (!end)
            fail("async \"%s\" (event %zu) never ends", ev[i].name, ev[i].index);
        if (end->ts < ev[i].ts)
            fail("async id %s ends before it begins", ev[i].id);
        printf("task %s %" PRId64 " %" PRId64 " %" PRId64 "\n", ev[i].name, ev[i].tid, end->tid,
               end->ts - ev[i].ts);
    }
}

static void check_thread_names(json_object *events, const struct ev *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ev[i].ph == 'M' || ev[i].ph == 'C')
            continue;
        int named = 0;
        for (size_t k = 0; k < n && !named; k++)
            named = ev[k].ph == 'M' && ev[k].tid == ev[i].tid && !strcmp(ev[k].name, "thread_name");
        if (!named)
            fail("thread %" PRId64 " has events but no thread_name", ev[i].tid);
    }
    for (size_t i = 0; i < n; i++) {
        if (ev[i].ph != 'M' || strcmp(ev[i].name, "thread_name"))
            continue;
        json_object *args, *name;
        json_object_object_get_ex(json_object_array_get_idx(events, ev[i].index), "args", &args);
        json_object_object_get_ex(args, "name", &name);
        printf("thread %" PRId64 " %s\n", ev[i].tid, json_object_get_string(name));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test-trace-json FILE.json\n");
        return 2;
    }
    path = argv[1];
    size_t len;
    char *text = slurp(path, &len);
    json_object *root = parse(text, len);
    if (!json_object_is_type(root, json_type_object))
        fail("the top level is not an object");
    json_object *events = field(root, "traceEvents", json_type_array, 0);
    size_t n = json_object_array_length(events), nx = 0;
    struct ev *ev = calloc(n + 1, sizeof *ev), *x = calloc(n + 1, sizeof *x);
    for (size_t i = 0; i < n; i++) {
        ev[i] = flatten(json_object_array_get_idx(events, i), i);
        char key[512];
        snprintf(key, sizeof key, "count %c %s", ev[i].ph, ev[i].name);
        bump(key, 0);
        if (ev[i].ph == 'X')
            x[nx++] = ev[i];
    }
    check_nesting(x, nx);
    check_async(ev, n);
    check_thread_names(events, ev, n);
    for (size_t i = 0; i < ncounters; i++) {
        if (!strncmp(counters[i].key, "xsum ", 5))
            printf("%s %" PRId64 " %" PRId64 "\n", counters[i].key, counters[i].count,
                   counters[i].total);
        else
            printf("%s %" PRId64 "\n", counters[i].key, counters[i].count);
    }
    printf("events %zu\n", n);
    json_object_put(root);
    free(text);
    free(ev);
    free(x);
    free(counters);
    return 0;
}
