/*
 * web_json.c: the JSON answers of `cprof web` about profiles. Everything is
 * computed by report.c (graph, tree, lines, trimming) and written out here
 * as plain arrays indexed by function id, so that the page's views can be
 * drawn from numbers without parsing any text. Big structures (the call
 * tree, the graph's edges, the line table) are built on the first request
 * that needs them and kept.
 */
#include "web_json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

/* ---- the buffer ------------------------------------------------------------ */

static int wb_reserve(wbuf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void wb_put(wbuf *b, const void *p, size_t n)
{
    if (!n || wb_reserve(b, n))
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void wb_puts(wbuf *b, const char *s)
{
    wb_put(b, s, strlen(s));
}

void wb_printf(wbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        wb_put(b, small, (size_t)n);
        return;
    }
    if (wb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void wb_i64(wbuf *b, int64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *s = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--s = '-';
    wb_put(b, s, (size_t)(e - s));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
                 : s[0] >= 0xe0                 ? 3
                 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                                                : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

void wb_strn(wbuf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    wb_put(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<') {
            i++;
            run++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(s + i, n - i);
            if (k) {
                i += k;
                run += k;
                continue;
            }
        }
        wb_put(b, s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            wb_put(b, esc, 2);
        } else if (c == '\n') {
            wb_puts(b, "\\n");
        } else if (c == '\t') {
            wb_puts(b, "\\t");
        } else if (c >= 0x80) {
            wb_puts(b, "\\ufffd");
        } else {
            /* Control characters, and '<' so that no "</script" can appear. */
            wb_printf(b, "\\u%04x", c);
        }
        i++;
    }
    wb_put(b, s + n - run, run);
    wb_put(b, "\"", 1);
}

void wb_str(wbuf *b, const char *s)
{
    wb_strn(b, s ? s : "", s ? strlen(s) : 0);
}

void wb_free(wbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- names: one id space for the profile and its base ------------------------ */

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

static int names_grow(web_names *t)
{
    size_t cap = t->slots ? (t->mask + 1) * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = str_hash(t->s[i]) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->mask = cap - 1;
    return 0;
}

int64_t web_names_intern(web_names *t, const char *s)
{
    if ((t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0) && names_grow(t))
        return -1;
    size_t j = str_hash(s) & t->mask;
    while (t->slots[j]) {
        uint32_t id = t->slots[j] - 1;
        if (!strcmp(t->s[id], s))
            return id;
        j = (j + 1) & t->mask;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        const char **p = realloc(t->s, cap * sizeof *p);
        if (!p)
            return -1;
        t->s = p;
        t->cap = cap;
    }
    t->s[t->n] = s;
    t->slots[j] = (uint32_t)t->n + 1;
    return (int64_t)t->n++;
}

void web_names_free(web_names *t)
{
    free(t->s);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- the profile ------------------------------------------------------------- */

struct web_profile {
    report_input in, base;
    int have_base;
    report_options opts;
    char **files;
    size_t nfiles;
    char *base_path[1];
    /* The profile's own function ids (report_name) come first, in order;
     * names only the base has are added after them. */
    web_names names;
    uint32_t *base_ids; /* base name id → web id */

    int have_graph;
    report_graph graph, base_graph;

    int have_tree;
    report_tree tree;
    int64_t *tree_name; /* web name id per node (-1: the root) */
    int64_t *self, *bself;
    int64_t max_delta; /* largest |value - base| below the root, as svg.c colours */

    int have_lines;
    report_lines lines;
    struct source_reader *src;
};

struct web_profile *web_profile_open(const report_options *o, char **files, size_t nfiles,
                                     const char *sample_index, char *err, size_t errlen)
{
    struct web_profile *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->opts = *o;
    if (sample_index)
        p->opts.sample_index = sample_index;
    p->files = files;
    p->nfiles = nfiles;
    if (report_open_opts(&p->in, files, nfiles, &p->opts, err, errlen)) {
        report_close(&p->in);
        free(p);
        return NULL;
    }
    if (o->base) {
        /* The base's value is the same sample type as the profile's. */
        report_options bo = p->opts;
        bo.sample_index = p->in.sample_type;
        p->base_path[0] = (char *)o->base; /* the input keeps the array: not on the stack */
        char berr[512];
        if (report_open_opts(&p->base, p->base_path, 1, &bo, berr, sizeof berr)) {
            snprintf(err, errlen, "-base: %s", berr);
            report_close(&p->base);
            web_profile_free(p);
            return NULL;
        }
        p->have_base = 1;
        if (strcmp(p->base.sample_type, p->in.sample_type)) {
            snprintf(err, errlen, "cannot compare %s (%s) with %s (%s): not the same kind of value",
                     o->base, p->base.sample_type, files[0], p->in.sample_type);
            web_profile_free(p);
            return NULL;
        }
    }
    size_t n = report_name_count(&p->in);
    for (size_t i = 0; i < n; i++)
        if (web_names_intern(&p->names, report_name(&p->in, (uint32_t)i)) != (int64_t)i)
            goto oom;
    if (p->have_base) {
        size_t bn = report_name_count(&p->base);
        p->base_ids = calloc(bn + 1, sizeof *p->base_ids);
        if (!p->base_ids)
            goto oom;
        for (size_t i = 0; i < bn; i++) {
            int64_t id = web_names_intern(&p->names, report_name(&p->base, (uint32_t)i));
            if (id < 0)
                goto oom;
            p->base_ids[i] = (uint32_t)id;
        }
    }
    return p;
oom:
    snprintf(err, errlen, "out of memory");
    web_profile_free(p);
    return NULL;
}

void web_profile_free(struct web_profile *p)
{
    if (!p)
        return;
    if (p->have_graph) {
        report_graph_free(&p->graph);
        if (p->have_base)
            report_graph_free(&p->base_graph);
    }
    if (p->have_tree) {
        report_tree_free(&p->tree);
        free(p->tree_name);
        free(p->self);
        free(p->bself);
    }
    if (p->have_lines)
        report_lines_free(&p->lines);
    source_reader_free(p->src);
    web_names_free(&p->names);
    free(p->base_ids);
    if (p->have_base)
        report_close(&p->base);
    report_close(&p->in);
    free(p);
}

int web_profile_sample_index(const struct web_profile *p)
{
    return p->in.sample_index;
}

static int need_graph(struct web_profile *p)
{
    if (p->have_graph)
        return 0;
    if (report_graph_build(&p->in, NULL, &p->graph))
        return -1;
    if (p->have_base && report_graph_build(&p->base, NULL, &p->base_graph)) {
        report_graph_free(&p->graph);
        return -1;
    }
    p->have_graph = 1;
    return 0;
}

/* ---- meta: the header and the table of functions ------------------------------ */

static void put_sep(wbuf *b, size_t i)
{
    if (i)
        wb_put(b, ",", 1);
}

static void meta_values(wbuf *out, const char *key, const report_node *nodes, size_t n, int cum,
                        const uint32_t *map, size_t nweb)
{
    /* Values by web id; the base's ids are mapped. */
    int64_t *v = calloc(nweb + 1, sizeof *v);
    if (!v) {
        out->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[map ? map[i] : i] += cum ? nodes[i].cum : nodes[i].flat;
    wb_printf(out, ",\"%s\":[", key);
    for (size_t i = 0; i < nweb; i++) {
        put_sep(out, i);
        wb_i64(out, v[i]);
    }
    wb_put(out, "]", 1);
    free(v);
}

static void meta_input(wbuf *out, const report_input *in)
{
    wb_puts(out, "{\"type\":");
    wb_str(out, in->sample_type);
    wb_puts(out, ",\"unit\":");
    wb_str(out, in->sample_unit);
    wb_puts(out, ",\"total\":");
    wb_i64(out, in->total);
    wb_puts(out, ",\"mainFile\":");
    wb_str(out, in->main_file);
    wb_puts(out, ",\"buildId\":");
    wb_str(out, in->build_id);
    wb_puts(out, ",\"time\":");
    wb_i64(out, in->time_nanos);
    wb_puts(out, ",\"duration\":");
    wb_i64(out, in->duration_nanos);
    wb_puts(out, ",\"files\":[");
    for (size_t i = 0; i < in->nprofiles; i++) {
        put_sep(out, i);
        wb_str(out, in->paths[i]);
    }
    wb_puts(out, "]}");
}

int web_profile_meta(struct web_profile *p, wbuf *out)
{
    if (need_graph(p))
        return -1;
    wb_puts(out, "{\"profile\":");
    meta_input(out, &p->in);
    wb_puts(out, ",\"base\":");
    if (p->have_base)
        meta_input(out, &p->base);
    else
        wb_puts(out, "null");
    wb_printf(out, ",\"sampleIndex\":%d,\"sampleTypes\":[", p->in.sample_index);
    const Perftools__Profiles__Profile *pb = p->in.profiles[0]->pb;
    for (size_t i = 0; i < pb->n_sample_type; i++) {
        put_sep(out, i);
        wb_puts(out, "{\"type\":");
        wb_str(out, cprof_profile_str(p->in.profiles[0], pb->sample_type[i]->type));
        wb_puts(out, ",\"unit\":");
        wb_str(out, cprof_profile_str(p->in.profiles[0], pb->sample_type[i]->unit));
        wb_puts(out, "}");
    }
    wb_puts(out, "],\"filters\":[");
    const char *filters[16];
    size_t nf = report_active_filters(&p->in, filters, 16);
    for (size_t i = 0; i < nf; i++) {
        put_sep(out, i);
        wb_str(out, filters[i]);
    }
    wb_puts(out, "],\"comments\":[");
    for (size_t i = 0; i < pb->n_comment; i++) {
        put_sep(out, i);
        wb_str(out, cprof_profile_str(p->in.profiles[0], pb->comment[i]));
    }
    wb_puts(out, "],\"names\":[");
    for (size_t i = 0; i < p->names.n; i++) {
        put_sep(out, i);
        wb_str(out, p->names.s[i]);
    }
    wb_put(out, "]", 1);
    size_t n = report_name_count(&p->in);
    meta_values(out, "flat", p->graph.nodes, n, 0, NULL, p->names.n);
    meta_values(out, "cum", p->graph.nodes, n, 1, NULL, p->names.n);
    if (p->have_base) {
        size_t bn = report_name_count(&p->base);
        meta_values(out, "baseFlat", p->base_graph.nodes, bn, 0, p->base_ids, p->names.n);
        meta_values(out, "baseCum", p->base_graph.nodes, bn, 1, p->base_ids, p->names.n);
    }
    wb_puts(out, "}\n");
    return out->oom ? -1 : 0;
}

/* ---- flame: the call tree, a subtree at a time --------------------------------- */

static int need_tree(struct web_profile *p)
{
    if (p->have_tree)
        return 0;
    report_tree *t = &p->tree;
    memset(t, 0, sizeof *t);
    if (report_tree_add_input(t, &p->in, 0) ||
        (p->have_base && report_tree_add_input(t, &p->base, 1)))
        goto fail;
    report_tree_sort(t);
    p->tree_name = malloc((t->n + 1) * sizeof *p->tree_name);
    p->self = malloc((t->n + 1) * sizeof *p->self);
    p->bself = malloc((t->n + 1) * sizeof *p->bself);
    if (!p->tree_name || !p->self || !p->bself)
        goto fail;
    for (size_t i = 0; i < t->n; i++) {
        const report_tree_node *nd = &t->nodes[i];
        p->tree_name[i] = nd->name ? web_names_intern(&p->names, nd->name) : -1;
        if (nd->name && p->tree_name[i] < 0)
            goto fail;
        int64_t s = nd->value, bs = nd->base;
        for (uint32_t c = nd->child; c; c = t->nodes[c].next) {
            s -= t->nodes[c].value;
            bs -= t->nodes[c].base;
        }
        p->self[i] = s;
        p->bself[i] = bs;
        int64_t d = nd->value - nd->base;
        d = d < 0 ? -d : d;
        if (i && d > p->max_delta)
            p->max_delta = d;
    }
    p->have_tree = 1;
    return 0;
fail:
    report_tree_free(t);
    free(p->tree_name);
    free(p->self);
    free(p->bself);
    p->tree_name = NULL;
    p->self = p->bself = NULL;
    return -1;
}

/* One node as the arrays' next entry. */
struct flame_cols {
    wbuf id, parent, name, value, base, self, bself, x;
    size_t n;
};

static void flame_col(wbuf *b, size_t n, int64_t v)
{
    put_sep(b, n);
    wb_i64(b, v);
}

static void flame_node(struct flame_cols *c, const struct web_profile *p, uint32_t i,
                       int64_t parent, int64_t x)
{
    const report_tree_node *nd = &p->tree.nodes[i];
    flame_col(&c->id, c->n, i);
    flame_col(&c->parent, c->n, parent);
    flame_col(&c->name, c->n, p->tree_name[i]);
    flame_col(&c->value, c->n, nd->value);
    flame_col(&c->base, c->n, nd->base);
    flame_col(&c->self, c->n, p->self[i]);
    flame_col(&c->bself, c->n, p->bself[i]);
    flame_col(&c->x, c->n, x);
    c->n++;
}

struct flame_frame {
    uint32_t node;
    int64_t out_index, x;
};

int web_profile_flame(struct web_profile *p, uint32_t root, double frac, wbuf *out)
{
    if (need_tree(p))
        return -1;
    const report_tree *t = &p->tree;
    if (root >= t->n)
        return 1;
    int64_t top =
        t->nodes[root].value > t->nodes[root].base ? t->nodes[root].value : t->nodes[root].base;
    int64_t min = (int64_t)((double)top * frac);
    if (min < 1)
        min = 1;
    struct flame_cols c;
    memset(&c, 0, sizeof c);
    struct flame_frame *stack = malloc(sizeof *stack * 1024);
    size_t sp = 0, scap = 1024;
    if (!stack)
        return -1;
    int rc = 0;
    stack[sp++] = (struct flame_frame){root, -1, 0};
    while (sp) {
        struct flame_frame f = stack[--sp];
        int64_t me = (int64_t)c.n;
        flame_node(&c, p, f.node, f.out_index, f.x);
        /* Children in name order: pushed in reverse so that they come out in order. */
        size_t first = sp;
        int64_t x = f.x;
        for (uint32_t k = t->nodes[f.node].child; k; k = t->nodes[k].next) {
            int64_t v = t->nodes[k].value;
            if (v >= min) {
                if (sp == scap) {
                    struct flame_frame *ns = realloc(stack, sizeof *stack * scap * 2);
                    if (!ns) {
                        rc = -1;
                        goto done;
                    }
                    stack = ns;
                    scap *= 2;
                }
                stack[sp++] = (struct flame_frame){k, me, x};
            }
            x += v > 0 ? v : 0;
        }
        for (size_t a = first, b = sp; b > a + 1; a++, b--) {
            struct flame_frame tmp = stack[a];
            stack[a] = stack[b - 1];
            stack[b - 1] = tmp;
        }
    }
    wb_printf(out, "{\"root\":%u,\"min\":", root);
    wb_i64(out, min);
    wb_puts(out, ",\"path\":[");
    /* The ancestors of root, from the top (node 0): name ids and values. */
    size_t depth = 0;
    for (uint32_t a = root; a; a = t->nodes[a].parent)
        depth++;
    uint32_t *path = calloc(depth + 1, sizeof *path);
    if (!path) {
        rc = -1;
        goto done;
    }
    size_t k = depth;
    for (uint32_t a = root; a; a = t->nodes[a].parent)
        path[--k] = t->nodes[a].parent;
    for (size_t i = 0; i < depth; i++) {
        const report_tree_node *nd = &t->nodes[path[i]];
        put_sep(out, i);
        wb_printf(out, "[%u,", path[i]);
        wb_i64(out, p->tree_name[path[i]]);
        wb_put(out, ",", 1);
        wb_i64(out, nd->value);
        wb_put(out, ",", 1);
        wb_i64(out, nd->base);
        wb_put(out, "]", 1);
    }
    free(path);
    wb_puts(out, "],\"total\":");
    wb_i64(out, t->n ? t->nodes[0].value : 0);
    wb_puts(out, ",\"baseTotal\":");
    wb_i64(out, t->n ? t->nodes[0].base : 0);
    wb_puts(out, ",\"maxDelta\":");
    wb_i64(out, p->max_delta);
    static const char *const keys[] = {"id",   "parent", "name",  "value",
                                       "base", "self",   "bself", "x"};
    wbuf *cols[] = {&c.id, &c.parent, &c.name, &c.value, &c.base, &c.self, &c.bself, &c.x};
    for (size_t i = 0; i < 8; i++) {
        wb_printf(out, ",\"%s\":[", keys[i]);
        if (cols[i]->oom)
            out->oom = 1;
        if (cols[i]->len)
            wb_put(out, cols[i]->p, cols[i]->len);
        wb_put(out, "]", 1);
    }
    wb_puts(out, "}\n");
done:
    free(stack);
    wb_free(&c.id);
    wb_free(&c.parent);
    wb_free(&c.name);
    wb_free(&c.value);
    wb_free(&c.base);
    wb_free(&c.self);
    wb_free(&c.bself);
    wb_free(&c.x);
    if (!rc && out->oom)
        rc = -1;
    return rc;
}

int web_profile_prepare(struct web_profile *p)
{
    return need_graph(p) || need_tree(p) ? -1 : 0;
}

/* ---- graph: pprof's trimmed call graph -------------------------------------- */

int web_profile_graph(struct web_profile *p, long nodecount, wbuf *out)
{
    report_trimmed t;
    if (report_trim(&p->in, nodecount, 0.005, 0.001, 0, &t))
        return -1;
    wb_puts(out, "{\"nodes\":[");
    for (size_t i = 0; i < t.norder; i++) {
        uint32_t id = t.order[i];
        put_sep(out, i);
        wb_printf(out, "[%u,", id);
        wb_i64(out, t.g.nodes[id].flat);
        wb_put(out, ",", 1);
        wb_i64(out, t.g.nodes[id].cum);
        wb_put(out, "]", 1);
    }
    wb_puts(out, "],\"edges\":[");
    size_t k = 0;
    for (size_t e = 0; e < t.g.nedges; e++) {
        if (!report_trimmed_edge_kept(&t, e))
            continue;
        const report_edge *ed = &t.g.edges[e];
        put_sep(out, k++);
        wb_printf(out, "[%u,%u,", ed->caller, ed->callee);
        wb_i64(out, ed->weight);
        wb_printf(out, ",%d,%d]", ed->inline_only, ed->residual);
    }
    wb_printf(out, "],\"shown\":%zu,\"orig\":%zu,\"droppedNodes\":%zu,\"droppedEdges\":%zu}\n",
              t.norder, t.orig, t.dropped_nodes, t.dropped_edges);
    report_trimmed_free(&t);
    return out->oom ? -1 : 0;
}

/* ---- peek: callers and callees of one function ------------------------------- */

static int cmp_edge_weight(const void *x, const void *y)
{
    const report_edge *a = *(const report_edge *const *)x, *b = *(const report_edge *const *)y;
    int64_t wa = a->weight < 0 ? -a->weight : a->weight,
            wb = b->weight < 0 ? -b->weight : b->weight;
    return wa < wb ? 1 : wa > wb ? -1 : 0;
}

static void peek_list(wbuf *out, const report_edge **e, size_t n, int callers)
{
    qsort(e, n, sizeof *e, cmp_edge_weight);
    for (size_t i = 0; i < n; i++) {
        put_sep(out, i);
        wb_printf(out, "[%u,", callers ? e[i]->caller : e[i]->callee);
        wb_i64(out, e[i]->weight);
        wb_printf(out, ",%d]", e[i]->inline_only);
    }
}

int web_profile_peek(struct web_profile *p, uint32_t name, wbuf *out)
{
    if (need_graph(p))
        return -1;
    if (name >= report_name_count(&p->in))
        return 1;
    size_t nin = 0, nout = 0;
    for (size_t e = 0; e < p->graph.nedges; e++) {
        nin += p->graph.edges[e].callee == name;
        nout += p->graph.edges[e].caller == name;
    }
    const report_edge **in = calloc(nin + 1, sizeof *in), **o = calloc(nout + 1, sizeof *o);
    if (!in || !o) {
        free(in);
        free(o);
        return -1;
    }
    nin = nout = 0;
    for (size_t e = 0; e < p->graph.nedges; e++) {
        if (p->graph.edges[e].callee == name)
            in[nin++] = &p->graph.edges[e];
        if (p->graph.edges[e].caller == name)
            o[nout++] = &p->graph.edges[e];
    }
    wb_printf(out, "{\"name\":%u,\"flat\":", name);
    wb_i64(out, p->graph.nodes[name].flat);
    wb_puts(out, ",\"cum\":");
    wb_i64(out, p->graph.nodes[name].cum);
    wb_puts(out, ",\"callers\":[");
    peek_list(out, in, nin, 1);
    wb_puts(out, "],\"callees\":[");
    peek_list(out, o, nout, 0);
    wb_puts(out, "]}\n");
    free(in);
    free(o);
    return out->oom ? -1 : 0;
}

/* ---- source: lines of one function with their values -------------------------- */

/* Lines shown around the ones with values when the function's first line
 * is unknown (as `cprof list`). */
#define SOURCE_MARGIN 5

static int cmp_line_rows(const void *x, const void *y)
{
    const report_line *a = *(const report_line *const *)x, *b = *(const report_line *const *)y;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    return (a->line > b->line) - (a->line < b->line);
}

static void source_group(struct web_profile *p, wbuf *out, const report_line **rows, size_t n)
{
    const char *path = report_file(&p->in, rows[0]->file);
    int64_t flat = 0, cum = 0;
    for (size_t i = 0; i < n; i++) {
        flat += rows[i]->flat;
        cum += rows[i]->cum;
    }
    wb_puts(out, "{\"file\":");
    wb_str(out, rows[0]->file ? source_shown_path(p->src, path) : "");
    wb_puts(out, ",\"flat\":");
    wb_i64(out, flat);
    wb_puts(out, ",\"cum\":");
    wb_i64(out, cum);
    const char *err = rows[0]->file ? source_error(p->src, path) : "no source file in the profile";
    if (err) {
        wb_puts(out, ",\"error\":");
        wb_str(out, err);
    }
    wb_puts(out, ",\"lines\":[");
    /* As `cprof list`: from where the function starts when the profile
     * says, else a margin above the first line with values; to a margin
     * below the last. */
    long start = LONG_MAX, end = rows[n - 1]->line + SOURCE_MARGIN;
    for (size_t i = 0; i < n; i++) {
        long from =
            rows[i]->start_line > 0 ? rows[i]->start_line : (long)rows[i]->line - SOURCE_MARGIN;
        if (from < start)
            start = from;
    }
    if (start < 1)
        start = 1;
    size_t r = 0, k = 0;
    if (err) {
        /* The rows alone, without text. */
        for (size_t i = 0; i < n; i++) {
            put_sep(out, k++);
            wb_printf(out, "[%d,", rows[i]->line);
            wb_i64(out, rows[i]->flat);
            wb_put(out, ",", 1);
            wb_i64(out, rows[i]->cum);
            wb_puts(out, ",null]");
        }
    } else {
        for (long ln = start; ln <= end; ln++) {
            const char *text = source_line(p->src, path, ln);
            if (!text)
                break;
            int64_t f = 0, c = 0;
            for (; r < n && rows[r]->line <= ln; r++)
                if (rows[r]->line == ln) {
                    f += rows[r]->flat;
                    c += rows[r]->cum;
                }
            put_sep(out, k++);
            wb_printf(out, "[%ld,", ln);
            wb_i64(out, f);
            wb_put(out, ",", 1);
            wb_i64(out, c);
            wb_put(out, ",", 1);
            wb_str(out, text);
            wb_put(out, "]", 1);
        }
    }
    wb_puts(out, "]}");
}

int web_profile_source(struct web_profile *p, uint32_t name, wbuf *out)
{
    if (name >= report_name_count(&p->in))
        return 1;
    if (!p->have_lines) {
        if (report_lines_build(&p->in, &p->lines))
            return -1;
        p->have_lines = 1;
    }
    if (!p->src && !(p->src = source_reader_new(p->opts.source_path, p->opts.trim_path)))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < p->lines.n; i++)
        n += p->lines.rows[i].name == name;
    const report_line **rows = calloc(n + 1, sizeof *rows);
    if (!rows)
        return -1;
    n = 0;
    for (size_t i = 0; i < p->lines.n; i++) {
        const report_line *r = &p->lines.rows[i];
        if (r->name == name && (r->flat || r->cum))
            rows[n++] = r;
    }
    qsort(rows, n, sizeof *rows, cmp_line_rows);
    wb_printf(out, "{\"name\":%u,\"groups\":[", name);
    size_t g = 0;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && rows[j]->file == rows[i]->file;)
            j++;
        put_sep(out, g++);
        source_group(p, out, rows + i, j - i);
    }
    wb_puts(out, "]}\n");
    free(rows);
    return out->oom ? -1 : 0;
}
