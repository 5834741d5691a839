/*
 * report_data.c: the aggregates of report.h beyond the call graph: unique
 * stacks (folded output, hot paths), the call tree (flame graphs, also of
 * two profiles at once), and values per source line (list, explain). Each
 * is a set of plain arrays indexed by position, so that a web view can
 * serialise it as it is.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **data, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*data, ncap * elem);
    if (!p)
        return -1;
    *data = p;
    *cap = ncap;
    return 0;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_ids(const uint32_t *ids, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    for (size_t i = 0; i < n; i++)
        h = mix(h ^ ids[i]);
    return h;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return mix(h);
}

static int64_t add_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* Open-addressing tables below keep load under a half; this doubles one. */
static uint32_t *rehash(const uint32_t *old, size_t old_cap, size_t ncap,
                        uint64_t (*hash_of)(const void *ctx, uint32_t idx), const void *ctx)
{
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return NULL;
    for (size_t i = 0; old && i < old_cap; i++) {
        if (!old[i])
            continue;
        size_t j = hash_of(ctx, old[i] - 1) & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = old[i];
    }
    return ns;
}

/* ---- unique stacks -------------------------------------------------------- */

static uint64_t stack_hash(const void *ctx, uint32_t i)
{
    const report_stacks *st = ctx;
    return hash_ids(st->ids + st->off[i], st->len[i]);
}

static int stacks_grow_table(report_stacks *st)
{
    size_t old = st->slots ? st->mask + 1 : 0;
    size_t ncap = old ? old * 2 : 1024;
    uint32_t *ns = rehash(st->slots, old, ncap, stack_hash, st);
    if (!ns)
        return -1;
    free(st->slots);
    st->slots = ns;
    st->mask = ncap - 1;
    return 0;
}

static int stacks_append(report_stacks *st, const uint32_t *ids, size_t n, int64_t value)
{
    size_t cap = st->cap;
    if (grow((void **)&st->ids, &st->ids_cap, st->nids + n + 1, sizeof *st->ids) ||
        grow((void **)&st->off, &cap, st->n + 1, sizeof *st->off))
        return -1;
    size_t cap2 = st->cap;
    if (grow((void **)&st->len, &cap2, st->n + 1, sizeof *st->len))
        return -1;
    size_t cap3 = st->cap;
    if (grow((void **)&st->value, &cap3, st->n + 1, sizeof *st->value))
        return -1;
    st->cap = cap;
    memcpy(st->ids + st->nids, ids, n * sizeof *ids);
    st->off[st->n] = st->nids;
    st->len[st->n] = (uint32_t)n;
    st->value[st->n] = value;
    st->nids += n;
    st->n++;
    return 0;
}

int report_stacks_add(report_stacks *st, const uint32_t *ids, size_t n, int64_t value)
{
    if ((st->n + 1) * 2 > (st->slots ? st->mask + 1 : 0) && stacks_grow_table(st))
        return -1;
    uint64_t h = hash_ids(ids, n);
    size_t i = h & st->mask;
    for (; st->slots[i]; i = (i + 1) & st->mask) {
        uint32_t s = st->slots[i] - 1;
        if (st->len[s] == n && !memcmp(st->ids + st->off[s], ids, n * sizeof *ids)) {
            st->value[s] = add_wrap(st->value[s], value);
            return 0;
        }
    }
    if (stacks_append(st, ids, n, value))
        return -1;
    st->slots[i] = (uint32_t)st->n;
    return 0;
}

struct collect {
    report_stacks *st;
    uint32_t *ids;
    size_t cap;
};

static int collect_sample(void *ctx, const report_frame *f, size_t n, int64_t v)
{
    struct collect *c = ctx;
    if (grow((void **)&c->ids, &c->cap, n + 1, sizeof *c->ids))
        return -1;
    for (size_t i = 0; i < n; i++)
        c->ids[i] = f[n - 1 - i].name;
    return report_stacks_add(c->st, c->ids, n, v);
}

int report_stacks_collect(report_input *in, report_stacks *st)
{
    memset(st, 0, sizeof *st);
    struct collect c = {st, NULL, 0};
    int rc = report_each_sample(in, collect_sample, &c);
    free(c.ids);
    return rc ? -1 : 0;
}

void report_stacks_free(report_stacks *st)
{
    free(st->ids);
    free(st->off);
    free(st->len);
    free(st->value);
    free(st->slots);
    memset(st, 0, sizeof *st);
}

/* ---- the call tree -------------------------------------------------------- */

static uint64_t child_hash(uint32_t parent, const char *name)
{
    return mix(hash_str(name) ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ULL));
}

static uint64_t tree_hash(const void *ctx, uint32_t i)
{
    const report_tree *t = ctx;
    return child_hash(t->nodes[i].parent, t->nodes[i].name);
}

static int tree_root(report_tree *t)
{
    if (t->n)
        return 0;
    if (grow((void **)&t->nodes, &t->cap, 1, sizeof *t->nodes))
        return -1;
    t->nodes[0] = (report_tree_node){NULL, 0, 0, 0, 0, 0};
    t->n = 1;
    return 0;
}

/* The child of parent called name, created when missing; -1 when out of memory. */
static int64_t tree_child(report_tree *t, uint32_t parent, const char *name)
{
    if ((t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0)) {
        size_t old = t->slots ? t->mask + 1 : 0, ncap = old ? old * 2 : 1024;
        uint32_t *ns = rehash(t->slots, old, ncap, tree_hash, t);
        if (!ns)
            return -1;
        free(t->slots);
        t->slots = ns;
        t->mask = ncap - 1;
    }
    size_t i = child_hash(parent, name) & t->mask;
    for (; t->slots[i]; i = (i + 1) & t->mask) {
        report_tree_node *c = &t->nodes[t->slots[i] - 1];
        if (c->parent == parent && !strcmp(c->name, name))
            return t->slots[i] - 1;
    }
    if (grow((void **)&t->nodes, &t->cap, t->n + 1, sizeof *t->nodes))
        return -1;
    uint32_t id = (uint32_t)t->n++;
    t->nodes[id] = (report_tree_node){name, parent, 0, t->nodes[parent].child, 0, 0};
    t->nodes[parent].child = id;
    t->slots[i] = id + 1;
    return id;
}

int report_tree_add(report_tree *t, const char *const *names, size_t n, int64_t v, int is_base)
{
    if (tree_root(t))
        return -1;
    uint32_t at = 0;
    for (size_t i = 0;; i++) {
        int64_t *slot = is_base ? &t->nodes[at].base : &t->nodes[at].value;
        *slot = add_wrap(*slot, v);
        if (i == n)
            return 0;
        int64_t c = tree_child(t, at, names[i]);
        if (c < 0)
            return -1;
        at = (uint32_t)c;
    }
}

struct tree_walk {
    report_tree *t;
    const report_input *in;
    const char **names;
    size_t cap;
    int is_base;
};

static int tree_sample(void *ctx, const report_frame *f, size_t n, int64_t v)
{
    struct tree_walk *w = ctx;
    if (grow((void **)&w->names, &w->cap, n + 1, sizeof *w->names))
        return -1;
    for (size_t i = 0; i < n; i++)
        w->names[i] = report_name(w->in, f[n - 1 - i].name);
    return report_tree_add(w->t, w->names, n, v, w->is_base);
}

int report_tree_add_input(report_tree *t, report_input *in, int is_base)
{
    struct tree_walk w = {t, in, NULL, 0, is_base};
    int rc = tree_root(t) ? -1 : report_each_sample(in, tree_sample, &w);
    free(w.names);
    return rc ? -1 : 0;
}

static int cmp_node_names(const void *x, const void *y, void *arg)
{
    const report_tree *t = arg;
    return strcmp(t->nodes[*(const uint32_t *)x].name, t->nodes[*(const uint32_t *)y].name);
}

/* Relinks each node's children in name order, as flamegraph.pl draws them. */
void report_tree_sort(report_tree *t)
{
    uint32_t *kids = NULL;
    size_t cap = 0;
    for (size_t p = 0; p < t->n; p++) {
        size_t nk = 0;
        for (uint32_t c = t->nodes[p].child; c; c = t->nodes[c].next) {
            if (grow((void **)&kids, &cap, nk + 1, sizeof *kids))
                goto out; /* unsorted is still a valid tree */
            kids[nk++] = c;
        }
        if (nk > 1)
            qsort_r(kids, nk, sizeof *kids, cmp_node_names, t);
        t->nodes[p].child = nk ? kids[0] : 0;
        for (size_t i = 0; i < nk; i++)
            t->nodes[kids[i]].next = i + 1 < nk ? kids[i + 1] : 0;
    }
out:
    free(kids);
}

void report_tree_free(report_tree *t)
{
    free(t->nodes);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- per source line ------------------------------------------------------ */

struct line_walk {
    report_lines *l;
    uint64_t serial;
};

static uint64_t line_key_hash(uint32_t name, uint32_t file, int32_t line)
{
    return mix(((uint64_t)name << 32 | file) ^ mix((uint64_t)(uint32_t)line + 1));
}

static uint64_t line_hash(const void *ctx, uint32_t i)
{
    const report_line *r = &((const report_lines *)ctx)->rows[i];
    return line_key_hash(r->name, r->file, r->line);
}

static int64_t line_find(report_lines *l, const report_frame *f)
{
    if ((l->n + 1) * 2 > (l->slots ? l->mask + 1 : 0)) {
        size_t old = l->slots ? l->mask + 1 : 0, ncap = old ? old * 2 : 1024;
        uint32_t *ns = rehash(l->slots, old, ncap, line_hash, l);
        if (!ns)
            return -1;
        free(l->slots);
        l->slots = ns;
        l->mask = ncap - 1;
    }
    size_t i = line_key_hash(f->name, f->file, f->line) & l->mask;
    for (; l->slots[i]; i = (i + 1) & l->mask) {
        report_line *r = &l->rows[l->slots[i] - 1];
        if (r->name == f->name && r->file == f->file && r->line == f->line)
            return l->slots[i] - 1;
    }
    size_t cap = l->cap;
    if (grow((void **)&l->rows, &l->cap, l->n + 1, sizeof *l->rows) ||
        grow((void **)&l->stamp, &cap, l->n + 1, sizeof *l->stamp))
        return -1;
    l->rows[l->n] = (report_line){f->name, f->file, f->line, f->start_line, 0, 0};
    l->stamp[l->n] = 0;
    l->slots[i] = (uint32_t)l->n + 1;
    return (int64_t)l->n++;
}

static int line_sample(void *ctx, const report_frame *f, size_t n, int64_t v)
{
    struct line_walk *w = ctx;
    w->serial++;
    for (size_t i = 0; i < n; i++) {
        int64_t r = line_find(w->l, &f[i]);
        if (r < 0)
            return -1;
        if (i == 0)
            w->l->rows[r].flat = add_wrap(w->l->rows[r].flat, v);
        if (w->l->stamp[r] != w->serial) {
            w->l->stamp[r] = w->serial;
            w->l->rows[r].cum = add_wrap(w->l->rows[r].cum, v);
        }
    }
    return 0;
}

int report_lines_build(report_input *in, report_lines *out)
{
    memset(out, 0, sizeof *out);
    struct line_walk w = {out, 0};
    return report_each_sample(in, line_sample, &w) ? -1 : 0;
}

void report_lines_free(report_lines *l)
{
    free(l->rows);
    free(l->slots);
    free(l->stamp);
    memset(l, 0, sizeof *l);
}
