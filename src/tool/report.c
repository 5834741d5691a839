/*
 * report.c: the shared core of the text reports. Owns opening and merging
 * profiles for a report, the choice of the sample value, the naming of
 * frames at function granularity (one interned name table across all
 * files), the per-location frame cache that makes walking samples cheap,
 * the function call graph (flat, cum, caller → callee edges), and pprof's
 * rules for units, value labels, percentages and header lines.
 *
 * The pprof rules are reproduced from the behaviour of `go tool pprof`
 * (github.com/google/pprof, internal/measurement and internal/report):
 * matching them lets users compare our output with Go's line for line.
 */
#include "report.h"
#include "fetch.h"
#include "filter.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers ------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

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

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

/* Profile values are untrusted: sums wrap like Go's instead of being
 * undefined behaviour. */
static int64_t add_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* ---- private state ------------------------------------------------------ */

/* Where each location's frames start in the frame cache, per profile. */
struct prof_frames {
    size_t *off;   /* by location position */
    uint32_t *len; /* by location position */
};

/* Interned strings with dense ids. */
struct strtab {
    char **str;
    uint64_t *hash;
    size_t n, cap, hash_cap;
    uint32_t *slots; /* open addressing: id + 1, 0 = empty */
    size_t mask;
};

struct report_priv {
    struct strtab names, files;

    struct prof_frames *pf;
    report_frame *frames;
    size_t nframes, frames_cap;

    report_frame *stack; /* scratch for report_each_sample */
    size_t stack_cap;
};

/* ---- the string tables ------------------------------------------------- */

static int strtab_rehash(struct strtab *t)
{
    size_t ncap = t->slots ? (t->mask + 1) * 2 : 256;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t id = 0; id < t->n; id++) {
        size_t i = t->hash[id] & (ncap - 1);
        while (ns[i])
            i = (i + 1) & (ncap - 1);
        ns[i] = (uint32_t)id + 1;
    }
    free(t->slots);
    t->slots = ns;
    t->mask = ncap - 1;
    return 0;
}

/* Returns the id of s, adding it if new; -1 when out of memory. */
static int64_t strtab_intern(struct strtab *t, const char *s)
{
    uint64_t h = hash_str(s);
    for (size_t i = t->slots ? h & t->mask : 0; t->slots; i = (i + 1) & t->mask) {
        uint32_t slot = t->slots[i];
        if (!slot)
            break;
        if (t->hash[slot - 1] == h && !strcmp(t->str[slot - 1], s))
            return slot - 1;
    }
    if ((t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0) && strtab_rehash(t))
        return -1;
    if (grow((void **)&t->str, &t->cap, t->n + 1, sizeof *t->str) ||
        grow((void **)&t->hash, &t->hash_cap, t->n + 1, sizeof *t->hash))
        return -1;
    char *copy = strdup(s);
    if (!copy)
        return -1;
    size_t id = t->n++;
    t->str[id] = copy;
    t->hash[id] = h;
    size_t i = h & t->mask;
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = (uint32_t)id + 1;
    return (int64_t)id;
}

static int64_t strtab_find(const struct strtab *t, const char *s)
{
    uint64_t h = hash_str(s);
    for (size_t i = t->slots ? h & t->mask : 0; t->slots && t->slots[i]; i = (i + 1) & t->mask) {
        uint32_t slot = t->slots[i];
        if (t->hash[slot - 1] == h && !strcmp(t->str[slot - 1], s))
            return slot - 1;
    }
    return -1;
}

static void strtab_free(struct strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->str[i]);
    free(t->str);
    free(t->hash);
    free(t->slots);
}

static int64_t name_intern(struct report_priv *r, const char *name)
{
    return strtab_intern(&r->names, name);
}

size_t report_name_count(const report_input *in)
{
    return in->priv->names.n;
}

const char *report_name(const report_input *in, uint32_t id)
{
    return id < in->priv->names.n ? in->priv->names.str[id] : "";
}

int64_t report_name_id(const report_input *in, const char *name)
{
    return strtab_find(&in->priv->names, name);
}

size_t report_file_count(const report_input *in)
{
    return in->priv->files.n;
}

const char *report_file(const report_input *in, uint32_t id)
{
    return id < in->priv->files.n ? in->priv->files.str[id] : "";
}

/* ---- frames of each location -------------------------------------------- */

/* What pprof calls a frame it has no function name for: the binary it came
 * from in brackets. At function granularity pprof drops addresses, so all
 * unsymbolised code of one binary adds up in one row; we do the same so that
 * both tools agree. Without a binary name pprof says "<unknown>"; the
 * address is more use there (addr2line, a disassembler), so we show it. */
static int64_t nameless(struct report_priv *r, const cprof_profile *p,
                        const Perftools__Profiles__Location *l)
{
    char buf[512];
    const Perftools__Profiles__Mapping *m = cprof_profile_mapping(p, l->mapping_id);
    const char *file = m ? cprof_profile_str(p, m->filename) : "";
    if (file[0])
        snprintf(buf, sizeof buf, "[%s]", base_name(file));
    else if (l->address)
        snprintf(buf, sizeof buf, "0x%" PRIx64, l->address);
    else
        snprintf(buf, sizeof buf, "<unknown>");
    return name_intern(r, buf);
}

static int64_t line_name(struct report_priv *r, const cprof_profile *p,
                         const Perftools__Profiles__Location *l,
                         const Perftools__Profiles__Line *line)
{
    const Perftools__Profiles__Function *f = cprof_profile_function(p, line->function_id);
    const char *name = f ? cprof_profile_str(p, f->name) : "";
    return name[0] ? name_intern(r, name) : nameless(r, p, l);
}

static int32_t clamp_line(int64_t v)
{
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

static int push_frame(struct report_priv *r, int64_t name, int inlined, int64_t file, int32_t line,
                      int32_t start)
{
    if (name < 0 || file < 0 ||
        grow((void **)&r->frames, &r->frames_cap, r->nframes + 1, sizeof *r->frames))
        return -1;
    r->frames[r->nframes++] =
        (report_frame){(uint32_t)name, (uint32_t)inlined, (uint32_t)file, line, start, 0};
    return 0;
}

/* In a profile with mappings, a location without one is a synthetic frame
 * (a profiler's wrapper, e.g. the pthread_mutex_unlock that cprof's mutex
 * profile ends in), not the program's code; in one without any, every
 * location counts as the program's. */
static int in_library(const cprof_profile *p, const Perftools__Profiles__Location *l)
{
    if (p->pb->n_mapping == 0)
        return 0;
    return !l->mapping_id || l->mapping_id != p->pb->mapping[0]->id;
}

static int line_frame(struct report_priv *r, const cprof_profile *p,
                      const Perftools__Profiles__Location *l, size_t j)
{
    const Perftools__Profiles__Line *line = l->line[j];
    const Perftools__Profiles__Function *f = cprof_profile_function(p, line->function_id);
    int64_t file = strtab_intern(&r->files, f ? cprof_profile_str(p, f->filename) : "");
    int32_t start = f ? clamp_line(f->start_line) : 0;
    return push_frame(r, line_name(r, p, l, line), j + 1 < l->n_line, file, clamp_line(line->line),
                      start);
}

static int location_frames(struct report_priv *r, const cprof_profile *p,
                           const Perftools__Profiles__Location *l)
{
    if (l->n_line == 0)
        return push_frame(r, nameless(r, p, l), 0, 0, 0, 0);
    for (size_t j = 0; j < l->n_line; j++)
        if (line_frame(r, p, l, j))
            return -1;
    return 0;
}

static int profile_frames(struct report_priv *r, const cprof_profile *p, struct prof_frames *pf)
{
    size_t n = p->pb->n_location;
    pf->off = calloc(n ? n : 1, sizeof *pf->off);
    pf->len = calloc(n ? n : 1, sizeof *pf->len);
    if (!pf->off || !pf->len)
        return -1;
    for (size_t i = 0; i < n; i++) {
        pf->off[i] = r->nframes;
        if (location_frames(r, p, p->pb->location[i]))
            return -1;
        pf->len[i] = (uint32_t)(r->nframes - pf->off[i]);
        int lib = in_library(p, p->pb->location[i]);
        for (size_t j = pf->off[i]; j < r->nframes; j++)
            r->frames[j].lib = (uint32_t)lib;
    }
    return 0;
}

/* ---- opening ------------------------------------------------------------ */

static int same_sample_types(const cprof_profile *a, const cprof_profile *b)
{
    if (a->pb->n_sample_type != b->pb->n_sample_type)
        return 0;
    for (size_t i = 0; i < a->pb->n_sample_type; i++) {
        const Perftools__Profiles__ValueType *x = a->pb->sample_type[i], *y = b->pb->sample_type[i];
        if (strcmp(cprof_profile_str(a, x->type), cprof_profile_str(b, y->type)) ||
            strcmp(cprof_profile_str(a, x->unit), cprof_profile_str(b, y->unit)))
            return 0;
    }
    return 1;
}

static void list_sample_types(const cprof_profile *p, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->pb->n_sample_type && used < len; i++) {
        const char *t = cprof_profile_str(p, p->pb->sample_type[i]->type);
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", t);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* pprof's rules: a number is an index; a name matches a sample type, with
 * a leading "inuse_" optional for the legacy heap names; nothing given
 * means the profile's default sample type, else the last one. */
static int choose_sample_index(const report_input *in, const char *want, char *err, size_t errlen)
{
    const cprof_profile *p = in->profiles[0];
    int n = (int)p->pb->n_sample_type;
    if (!want || !want[0]) {
        /* The first file that names a default decides, as in pprof's merge. */
        for (size_t k = 0; k < in->nprofiles; k++) {
            const cprof_profile *q = in->profiles[k];
            const char *def = cprof_profile_str(q, q->pb->default_sample_type);
            if (!def[0])
                continue;
            int i = cprof_profile_sample_index(q, def);
            return i >= 0 ? i : n - 1;
        }
        return n - 1;
    }
    char *end;
    long v = strtol(want, &end, 10);
    if (end != want && *end == '\0') {
        if (v >= 0 && v < n)
            return (int)v;
        set_err(err, errlen, "-sample_index=%s is outside the range [0..%d]", want, n - 1);
        return -1;
    }
    int i = cprof_profile_sample_index(p, want);
    if (i < 0 && !strncmp(want, "inuse_", 6))
        i = cprof_profile_sample_index(p, want + 6);
    if (i >= 0)
        return i;
    char types[256];
    list_sample_types(p, types, sizeof types);
    set_err(err, errlen, "unknown -sample_index \"%s\" (the profile has: %s)", want, types);
    return -1;
}

/* A file, or the answer of a live endpoint for an http(s):// URL. */
cprof_profile *report_read(const char *path, char *err, size_t errlen)
{
    if (strncmp(path, "http://", 7) && strncmp(path, "https://", 8))
        return cprof_profile_read_file(path, err, errlen);
    uint8_t *data;
    size_t len;
    if (tool_fetch_url(path, &data, &len, err, errlen))
        return NULL;
    char why[256];
    cprof_profile *p = cprof_profile_parse(data, len, why, sizeof why);
    free(data);
    if (!p)
        set_err(err, errlen, "%s: %s", path, why);
    return p;
}

/* Checks that profiles[0..n) can be added up. */
static int check_profiles(report_input *in, char **paths, char *err, size_t errlen)
{
    for (size_t i = 0; i < in->nprofiles; i++) {
        if (in->profiles[i]->pb->n_sample_type == 0) {
            set_err(err, errlen, "%s: profile has no sample types", paths[i]);
            return -1;
        }
        if (i > 0 && !same_sample_types(in->profiles[0], in->profiles[i])) {
            set_err(err, errlen, "%s: sample types differ from those of %s; cannot merge", paths[i],
                    paths[0]);
            return -1;
        }
    }
    return 0;
}

static int load_profiles(report_input *in, char **paths, size_t npaths, char *err, size_t errlen)
{
    in->profiles = calloc(npaths, sizeof *in->profiles);
    if (!in->profiles) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < npaths; i++) {
        in->profiles[i] = report_read(paths[i], err, errlen);
        if (!in->profiles[i])
            return -1;
        in->nprofiles = i + 1;
        if (check_profiles(in, paths, err, errlen))
            return -1;
    }
    return 0;
}

static void merge_header(report_input *in)
{
    int have_mapping = 0;
    in->main_file = "";
    in->build_id = "";
    for (size_t k = 0; k < in->nprofiles; k++) {
        const cprof_profile *p = in->profiles[k];
        const Perftools__Profiles__Profile *pb = p->pb;
        if (pb->time_nanos && (!in->time_nanos || pb->time_nanos < in->time_nanos))
            in->time_nanos = pb->time_nanos;
        in->duration_nanos += pb->duration_nanos;
        if (!have_mapping && pb->n_mapping > 0) {
            have_mapping = 1;
            in->main_file = cprof_profile_str(p, pb->mapping[0]->filename);
            in->build_id = cprof_profile_str(p, pb->mapping[0]->build_id);
        }
    }
}

static void compute_total(report_input *in)
{
    int64_t total = 0;
    for (size_t k = 0; k < in->nprofiles; k++) {
        const Perftools__Profiles__Profile *pb = in->profiles[k]->pb;
        for (size_t i = 0; i < pb->n_sample; i++)
            total = add_wrap(total, abs64(pb->sample[i]->value[in->sample_index]));
    }
    in->total = total;
}

static int build_frames(report_input *in)
{
    struct report_priv *r = in->priv;
    r->pf = calloc(in->nprofiles, sizeof *r->pf);
    if (!r->pf)
        return -1;
    for (size_t k = 0; k < in->nprofiles; k++)
        if (profile_frames(r, in->profiles[k], &r->pf[k]))
            return -1;
    return 0;
}

static int open_start(report_input *in, char **paths, char *err, size_t errlen)
{
    memset(in, 0, sizeof *in);
    in->paths = paths;
    in->priv = calloc(1, sizeof *in->priv);
    /* File id 0 is "": frames without a file. */
    if (!in->priv || strtab_intern(&in->priv->files, "") != 0) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Everything after the profiles are in. */
static int open_finish(report_input *in, const char *sample_index, char *err, size_t errlen)
{
    int si = choose_sample_index(in, sample_index, err, errlen);
    if (si < 0)
        return -1;
    const cprof_profile *p0 = in->profiles[0];
    in->sample_index = si;
    in->sample_type = cprof_profile_str(p0, p0->pb->sample_type[si]->type);
    in->sample_unit = cprof_profile_str(p0, p0->pb->sample_type[si]->unit);
    merge_header(in);
    compute_total(in);
    if (build_frames(in)) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int report_open(report_input *in, char **paths, size_t npaths, const char *sample_index, char *err,
                size_t errlen)
{
    if (open_start(in, paths, err, errlen) || load_profiles(in, paths, npaths, err, errlen))
        return -1;
    return open_finish(in, sample_index, err, errlen);
}

int report_open_parsed(report_input *in, cprof_profile **profiles, char **paths, size_t n,
                       const report_options *o, char *err, size_t errlen)
{
    if (open_start(in, paths, err, errlen) ||
        !(in->profiles = calloc(n ? n : 1, sizeof *in->profiles))) {
        for (size_t i = 0; i < n; i++)
            cprof_profile_free(profiles[i]);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    memcpy(in->profiles, profiles, n * sizeof *profiles);
    in->nprofiles = n;
    if (check_profiles(in, paths, err, errlen) || open_finish(in, o->sample_index, err, errlen))
        return -1;
    return report_filter_new(o, &in->filter, err, errlen);
}

int report_open_opts(report_input *in, char **paths, size_t npaths, const report_options *o,
                     char *err, size_t errlen)
{
    if (report_open(in, paths, npaths, o->sample_index, err, errlen))
        return -1;
    return report_filter_new(o, &in->filter, err, errlen);
}

size_t report_active_filters(const report_input *in, const char **out, size_t max)
{
    return in->filter ? report_filter_describe(in->filter, out, max) : 0;
}

void report_close(report_input *in)
{
    struct report_priv *r = in->priv;
    if (r) {
        strtab_free(&r->names);
        strtab_free(&r->files);
        for (size_t k = 0; r->pf && k < in->nprofiles; k++) {
            free(r->pf[k].off);
            free(r->pf[k].len);
        }
        free(r->pf);
        free(r->frames);
        free(r->stack);
        free(r);
    }
    report_filter_free(in->filter);
    for (size_t k = 0; k < in->nprofiles; k++)
        cprof_profile_free(in->profiles[k]);
    free(in->profiles);
    memset(in, 0, sizeof *in);
}

/* ---- walking samples ---------------------------------------------------- */

static int sample_stack(report_input *in, size_t k, const Perftools__Profiles__Sample *s,
                        size_t *nframes)
{
    struct report_priv *r = in->priv;
    const cprof_profile *p = in->profiles[k];
    size_t n = 0;
    for (size_t j = 0; j < s->n_location_id; j++) {
        ptrdiff_t pos = cprof_profile_location_pos(p, s->location_id[j]);
        if (pos < 0)
            continue; /* cannot happen: the reader checked every id */
        size_t len = r->pf[k].len[pos];
        if (grow((void **)&r->stack, &r->stack_cap, n + len, sizeof *r->stack))
            return -1;
        memcpy(r->stack + n, r->frames + r->pf[k].off[pos], len * sizeof *r->stack);
        n += len;
    }
    *nframes = n;
    return 0;
}

int report_each_sample(report_input *in, report_sample_cb cb, void *ctx)
{
    for (size_t k = 0; k < in->nprofiles; k++) {
        const Perftools__Profiles__Profile *pb = in->profiles[k]->pb;
        for (size_t i = 0; i < pb->n_sample; i++) {
            const Perftools__Profiles__Sample *s = pb->sample[i];
            int64_t v = s->value[in->sample_index];
            size_t n;
            if (v == 0)
                continue;
            if (sample_stack(in, k, s, &n))
                return -1;
            if (in->filter && !report_filter_sample(in->filter, in, k, s, in->priv->stack, &n))
                continue;
            int rc = cb(ctx, in->priv->stack, n, v);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- the call graph ----------------------------------------------------- */

struct report_edge_tab {
    uint32_t *slots; /* edge index + 1 */
    size_t mask;
    uint64_t *stamp; /* last sample that touched each edge */
    size_t stamp_cap;
};

struct graph_walk {
    report_graph *g;
    const unsigned char *keep;
    uint64_t *seen; /* by name id: last sample counted in cum */
    uint64_t serial;
};

static uint64_t edge_hash(uint32_t caller, uint32_t callee)
{
    return mix64(((uint64_t)caller << 32 | callee) + 0x9e3779b97f4a7c15ULL);
}

static int edges_rehash(report_graph *g)
{
    struct report_edge_tab *t = g->tab;
    size_t ncap = t->slots ? (t->mask + 1) * 2 : 256;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t e = 0; e < g->nedges; e++) {
        size_t i = edge_hash(g->edges[e].caller, g->edges[e].callee) & (ncap - 1);
        while (ns[i])
            i = (i + 1) & (ncap - 1);
        ns[i] = (uint32_t)e + 1;
    }
    free(t->slots);
    t->slots = ns;
    t->mask = ncap - 1;
    return 0;
}

/* Returns the edge's index, creating it; -1 when out of memory. */
static ptrdiff_t edge_find(report_graph *g, uint32_t caller, uint32_t callee, int inlined)
{
    struct report_edge_tab *t = g->tab;
    uint64_t h = edge_hash(caller, callee);
    size_t i = t->slots ? h & t->mask : 0;
    for (; t->slots && t->slots[i]; i = (i + 1) & t->mask) {
        const report_edge *e = &g->edges[t->slots[i] - 1];
        if (e->caller == caller && e->callee == callee)
            return t->slots[i] - 1;
    }
    if ((g->nedges + 1) * 2 > (t->slots ? t->mask + 1 : 0)) {
        if (edges_rehash(g))
            return -1;
        return edge_find(g, caller, callee, inlined);
    }
    size_t cap = t->stamp_cap;
    if (grow((void **)&g->edges, &g->edges_cap, g->nedges + 1, sizeof *g->edges) ||
        grow((void **)&t->stamp, &cap, g->nedges + 1, sizeof *t->stamp))
        return -1;
    t->stamp_cap = cap;
    size_t e = g->nedges++;
    g->edges[e] = (report_edge){caller, callee, 0, inlined, 0};
    t->stamp[e] = 0;
    t->slots[i] = (uint32_t)e + 1;
    return (ptrdiff_t)e;
}

/* Once per sample per edge, as pprof: recursion must not inflate weights.
 * Only that first occurrence votes on whether the call was inlined. */
static int edge_add(struct graph_walk *w, uint32_t caller, uint32_t callee, int64_t v, int inlined,
                    int residual)
{
    ptrdiff_t e = edge_find(w->g, caller, callee, inlined);
    if (e < 0)
        return -1;
    if (w->g->tab->stamp[e] == w->serial)
        return 0;
    w->g->tab->stamp[e] = w->serial;
    w->g->edges[e].weight = add_wrap(w->g->edges[e].weight, v);
    if (!inlined)
        w->g->edges[e].inline_only = 0;
    if (residual)
        w->g->edges[e].residual = 1;
    return 0;
}

/* Root to leaf, the order pprof walks a stack in, so that "the nearest kept
 * caller" is simply the last kept frame seen. */
static int graph_sample(void *ctx, const report_frame *f, size_t n, int64_t v)
{
    struct graph_walk *w = ctx;
    int64_t parent = -1;
    int residual = 0; /* frames were skipped since the parent */
    w->serial++;
    for (size_t k = n; k-- > 0;) {
        uint32_t id = f[k].name;
        if (w->keep && !w->keep[id]) {
            residual = 1;
            continue;
        }
        if (w->seen[id] != w->serial) {
            w->seen[id] = w->serial;
            w->g->nodes[id].cum = add_wrap(w->g->nodes[id].cum, v);
        }
        if (parent >= 0 && (uint32_t)parent != id &&
            edge_add(w, (uint32_t)parent, id, v, (int)f[k].inlined, residual))
            return -1;
        parent = id;
        residual = 0;
    }
    if (n > 0 && (!w->keep || w->keep[f[0].name]))
        w->g->nodes[f[0].name].flat = add_wrap(w->g->nodes[f[0].name].flat, v);
    return 0;
}

int report_graph_build(report_input *in, const unsigned char *keep, report_graph *g)
{
    memset(g, 0, sizeof *g);
    size_t n = report_name_count(in);
    struct graph_walk w = {g, keep, calloc(n ? n : 1, sizeof *w.seen), 0};
    g->nodes = calloc(n ? n : 1, sizeof *g->nodes);
    g->tab = calloc(1, sizeof *g->tab);
    int rc = -1;
    if (w.seen && g->nodes && g->tab)
        rc = report_each_sample(in, graph_sample, &w);
    free(w.seen);
    return rc ? -1 : 0;
}

void report_graph_free(report_graph *g)
{
    free(g->nodes);
    free(g->edges);
    if (g->tab) {
        free(g->tab->slots);
        free(g->tab->stamp);
        free(g->tab);
    }
    memset(g, 0, sizeof *g);
}

/* ---- the trimmed graph -------------------------------------------------- */

/* The order pprof sorts a report's nodes in, with names to break ties. */
struct sort_ctx {
    const report_input *in;
    const report_node *nodes;
    int cum;
};

static int cmp_abs_desc(int64_t a, int64_t b)
{
    a = abs64(a);
    b = abs64(b);
    return a > b ? -1 : a < b;
}

static int cmp_nodes(const void *x, const void *y, void *arg)
{
    const struct sort_ctx *c = arg;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    const report_node *na = &c->nodes[a], *nb = &c->nodes[b];
    int r = c->cum ? cmp_abs_desc(na->cum, nb->cum) : cmp_abs_desc(na->flat, nb->flat);
    if (!r)
        r = strcmp(report_name(c->in, a), report_name(c->in, b));
    if (!r)
        r = c->cum ? cmp_abs_desc(na->flat, nb->flat) : cmp_abs_desc(na->cum, nb->cum);
    return r;
}

/* Nodes with a value whose cum reaches the cutoff, in report order. */
static int trim_nodes(report_input *in, const report_graph *g, int64_t cutoff, int cum,
                      report_trimmed *t)
{
    size_t n = report_name_count(in);
    t->order = calloc(n ? n : 1, sizeof *t->order);
    if (!t->order)
        return -1;
    for (uint32_t id = 0; id < n; id++) {
        const report_node *node = &g->nodes[id];
        if (node->flat == 0 && node->cum == 0)
            continue;
        t->flat_total = add_wrap(t->flat_total, node->flat);
        t->order[t->norder++] = id;
    }
    size_t kept = 0;
    for (size_t i = 0; i < t->norder; i++)
        if (cutoff <= 0 || abs64(g->nodes[t->order[i]].cum) >= cutoff)
            t->order[kept++] = t->order[i];
    t->dropped_nodes = t->norder - kept;
    t->norder = t->orig = kept;
    struct sort_ctx c = {in, g->nodes, cum};
    qsort_r(t->order, t->norder, sizeof *t->order, cmp_nodes, &c);
    return 0;
}

int report_trim(report_input *in, long nodecount, double nodefraction, double edgefraction, int cum,
                report_trimmed *t)
{
    memset(t, 0, sizeof *t);
    report_graph full;
    if (report_graph_build(in, NULL, &full))
        goto fail_full;
    int64_t total = 0;
    for (size_t id = 0; id < report_name_count(in); id++)
        total = add_wrap(total, full.nodes[id].flat);
    /* Cut on the sum of flat values (not the profile total, which also
     * counts samples without any location), as pprof does. */
    int64_t node_cut = abs64((int64_t)((double)total * nodefraction));
    if (trim_nodes(in, &full, node_cut, cum, t))
        goto fail_full;
    report_graph_free(&full);
    if (nodecount > 0 && (size_t)nodecount < t->norder)
        t->norder = (size_t)nodecount;
    t->keep = calloc(report_name_count(in) + 1, 1);
    if (!t->keep)
        goto fail;
    for (size_t i = 0; i < t->norder; i++)
        t->keep[t->order[i]] = 1;
    if (report_graph_build(in, t->keep, &t->g))
        goto fail;
    struct sort_ctx c = {in, t->g.nodes, cum};
    qsort_r(t->order, t->norder, sizeof *t->order, cmp_nodes, &c);
    int64_t edge_cut = abs64((int64_t)((double)total * edgefraction));
    for (size_t e = 0; e < t->g.nedges; e++)
        if (abs64(t->g.edges[e].weight) < edge_cut) {
            t->g.edges[e].weight = 0; /* marks it dropped: see report_trimmed_edge_kept */
            t->dropped_edges++;
        }
    return 0;
fail_full:
    report_graph_free(&full);
fail:
    report_trimmed_free(t);
    return -1;
}

int report_trimmed_edge_kept(const report_trimmed *t, size_t e)
{
    return t->g.edges[e].weight != 0;
}

void report_trimmed_free(report_trimmed *t)
{
    report_graph_free(&t->g);
    free(t->order);
    free(t->keep);
    memset(t, 0, sizeof *t);
}

void report_trimmed_unit(const report_input *in, const report_trimmed *t, char *unit, size_t len)
{
    if (t->norder == 0) {
        snprintf(unit, len, "minimum");
        return;
    }
    int64_t min = 0;
    for (size_t i = 0; i < t->norder; i++) {
        const report_node *n = &t->g.nodes[t->order[i]];
        int64_t v = abs64(n->flat) ? abs64(n->flat) : abs64(n->cum);
        if (v > 0 && (min == 0 || v < min))
            min = v;
    }
    report_pick_unit(in->sample_unit, min, in->total, unit, len);
}

void report_print_showing(FILE *out, const report_input *in, const report_trimmed *t,
                          double nodefraction, double edgefraction, const char *unit,
                          int with_edges)
{
    int64_t shown = 0;
    for (size_t i = 0; i < t->norder; i++)
        shown = add_wrap(shown, t->g.nodes[t->order[i]].flat);
    char v[64], pct[32], total[64];
    report_format_value(v, sizeof v, shown, in->sample_unit, unit);
    report_format_percent(pct, sizeof pct, shown, in->total);
    report_format_value(total, sizeof total, in->total, in->sample_unit, unit);
    const char *p = pct;
    while (*p == ' ')
        p++;
    fprintf(out, "Showing nodes accounting for %s, %s of %s total\n", v, p, total);
    if (in->total == 0)
        return;
    char cut[64];
    if (t->dropped_nodes > 0) {
        report_format_value(cut, sizeof cut, abs64((int64_t)((double)in->total * nodefraction)),
                            in->sample_unit, unit);
        fprintf(out, "Dropped %zu node%s (cum <= %s)\n", t->dropped_nodes,
                t->dropped_nodes > 1 ? "s" : "", cut);
    }
    if (with_edges && t->dropped_edges > 0) {
        report_format_value(cut, sizeof cut, abs64((int64_t)((double)in->total * edgefraction)),
                            in->sample_unit, unit);
        fprintf(out, "Dropped %zu edge%s (freq <= %s)\n", t->dropped_edges,
                t->dropped_edges > 1 ? "s" : "", cut);
    }
    if (t->norder > 0 && t->norder < t->orig)
        fprintf(out, "Showing top %zu nodes out of %zu\n", t->norder, t->orig);
}

static int cmp_edges(const void *x, const void *y, void *arg)
{
    const report_input *in = arg;
    const report_edge *a = *(const report_edge *const *)x, *b = *(const report_edge *const *)y;
    int r = cmp_abs_desc(a->weight, b->weight);
    if (!r)
        r = strcmp(report_name(in, a->caller), report_name(in, b->caller));
    if (!r)
        r = strcmp(report_name(in, a->callee), report_name(in, b->callee));
    return r;
}

void report_sort_edges(const report_input *in, const report_edge **edges, size_t n)
{
    qsort_r(edges, n, sizeof *edges, cmp_edges, (void *)in);
}

/* ---- units -------------------------------------------------------------- */

struct unit {
    const char *name; /* as printed */
    const char *aliases[4];
    double factor; /* in the family's base unit */
};

struct unit_family {
    const struct unit *units;
    size_t n;
    const struct unit *fallback; /* when the wanted unit is not of this family */
};

static const struct unit memory_units[] = {
    {"B", {"b", "byte"}, 1},
    {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
    {"MB", {"mb", "mbyte", "megabyte"}, 1024.0 * 1024},
    {"GB", {"gb", "gbyte", "gigabyte"}, 1024.0 * 1024 * 1024},
    {"TB", {"tb", "tbyte", "terabyte"}, 1024.0 * 1024 * 1024 * 1024},
    {"PB", {"pb", "pbyte", "petabyte"}, 1024.0 * 1024 * 1024 * 1024 * 1024},
};

/* "\xce\xbcs" is "μs" in UTF-8. */
// clang-format off
static const struct unit time_units[] = {
    {"ns", {"ns", "nanosecond"}, 1},
    {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
    {"ms", {"ms", "millisecond"}, 1e6},
    {"s", {"s", "sec", "second"}, 1e9},
    {"hrs", {"hour", "hr"}, 3600e9},
};
// clang-format on

static const struct unit_family unit_families[] = {
    {memory_units, sizeof memory_units / sizeof memory_units[0], &memory_units[0]},
    {time_units, sizeof time_units / sizeof time_units[0], &time_units[3]},
};

/* pprof's sniffing: lower case, and a plural 's' dropped from names longer
 * than two characters ("bytes", "nanoseconds"; but "ms" stays). */
static const struct unit *find_unit(const struct unit_family *fam, const char *unit)
{
    char u[32];
    size_t len = strlen(unit);
    if (len >= sizeof u)
        return NULL;
    for (size_t i = 0; i <= len; i++)
        u[i] = (char)tolower((unsigned char)unit[i]);
    if (len > 2 && u[len - 1] == 's')
        u[len - 1] = '\0';
    for (size_t i = 0; i < fam->n; i++)
        for (size_t a = 0; a < 4 && fam->units[i].aliases[a]; a++)
            if (!strcmp(u, fam->units[i].aliases[a]))
                return &fam->units[i];
    return NULL;
}

static int is_auto(const char *unit)
{
    return !strcmp(unit, "minimum") || !strcmp(unit, "auto");
}

/* The largest unit that keeps the value at or above 1. */
static const struct unit *auto_unit(const struct unit_family *fam, double v)
{
    const struct unit *best = NULL;
    for (size_t i = 0; i < fam->n; i++)
        if ((!best || fam->units[i].factor >= best->factor) && v / fam->units[i].factor >= 1.0)
            best = &fam->units[i];
    return best ? best : fam->fallback;
}

/* value in from converted to to; *out_unit gets the printed unit ("" when
 * pprof prints none, as for counts). */
static double scale(int64_t value, const char *from, const char *to, const char **out_unit)
{
    if (value < 0 && value != INT64_MIN)
        return -scale(-value, from, to, out_unit);
    for (size_t f = 0; f < sizeof unit_families / sizeof unit_families[0]; f++) {
        const struct unit_family *fam = &unit_families[f];
        const struct unit *u = find_unit(fam, from);
        if (!u)
            continue;
        double v = (double)value * u->factor;
        const struct unit *t = is_auto(to) ? auto_unit(fam, v) : find_unit(fam, to);
        if (!t)
            t = fam->fallback;
        *out_unit = t->name;
        return v / t->factor;
    }
    static const char *const plain[] = {"count", "sample", "unit", "minimum", "auto"};
    *out_unit = to;
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!strcmp(to, plain[i]))
            *out_unit = "";
    return (double)value;
}

void report_pick_unit(const char *sample_unit, int64_t min_value, int64_t max_value, char *out,
                      size_t outlen)
{
    const char *min_unit, *max_unit, *unit;
    if (min_value == 0)
        min_value = max_value;
    scale(min_value, sample_unit, "minimum", &min_unit);
    scale(max_value, sample_unit, "minimum", &max_unit);
    unit = min_unit;
    /* Values spanning units: scale the smallest by 100 so that it still
     * shows as at least 0.01 of the larger unit. */
    if (strcmp(min_unit, max_unit) && min_value <= INT64_MAX / 100 && min_value * 100 < max_value)
        scale(min_value * 100, sample_unit, "minimum", &unit);
    snprintf(out, outlen, "%s", unit[0] ? unit : sample_unit);
}

void report_format_value(char *buf, size_t len, int64_t value, const char *from_unit,
                         const char *to_unit)
{
    const char *unit;
    double v = scale(value, from_unit, to_unit, &unit);
    char num[64];
    snprintf(num, sizeof num, "%.2f", v);
    size_t n = strlen(num);
    if (n > 3 && !strcmp(num + n - 3, ".00"))
        num[n - 3] = '\0';
    if (!strcmp(num, "0") || !strcmp(num, "-0")) {
        snprintf(buf, len, "0");
        return;
    }
    snprintf(buf, len, "%s%s", num, unit);
}

void report_format_percent(char *buf, size_t len, int64_t value, int64_t total)
{
    double ratio = 0;
    if (total != 0) {
        ratio = (double)value / (double)total * 100;
        if (ratio < 0)
            ratio = -ratio;
    }
    if (ratio >= 99.95 && ratio <= 100.05)
        snprintf(buf, len, "  100%%");
    else if (ratio >= 1.0)
        snprintf(buf, len, "%5.2f%%", ratio);
    else
        snprintf(buf, len, "%5.2g%%", ratio);
}

/* ---- header ------------------------------------------------------------- */

/* Go's "Jan 2, 2006 at 3:04pm (MST)", in local time as pprof prints it. */
static void format_time(char *buf, size_t len, int64_t nanos)
{
    time_t t = (time_t)(nanos / 1000000000);
    if (nanos < 0 && nanos % 1000000000)
        t--;
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        snprintf(buf, len, "?");
        return;
    }
    char month[16], zone[64];
    strftime(month, sizeof month, "%b", &tm);
    strftime(zone, sizeof zone, "%Z", &tm);
    int hour = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
    snprintf(buf, len, "%s %d, %d at %d:%02d%s (%s)", month, tm.tm_mday, tm.tm_year + 1900, hour,
             tm.tm_min, tm.tm_hour < 12 ? "am" : "pm", zone);
}

static void print_comments(FILE *out, const report_input *in)
{
    /* The same comment in several merged files is printed once. */
    for (size_t k = 0; k < in->nprofiles; k++) {
        const cprof_profile *p = in->profiles[k];
        for (size_t i = 0; i < p->pb->n_comment; i++) {
            const char *c = cprof_profile_str(p, p->pb->comment[i]);
            int dup = 0;
            for (size_t k2 = 0; k2 <= k && !dup; k2++) {
                const cprof_profile *q = in->profiles[k2];
                size_t lim = k2 == k ? i : q->pb->n_comment;
                for (size_t j = 0; j < lim && !dup; j++)
                    dup = !strcmp(c, cprof_profile_str(q, q->pb->comment[j]));
            }
            if (!dup && c[0] != '#')
                fprintf(out, "%s\n", c);
        }
    }
}

static void print_duration(FILE *out, const report_input *in, const char *out_unit)
{
    char dur[64], total[64], ratio[64] = "";
    report_format_value(dur, sizeof dur, in->duration_nanos, "nanoseconds", "auto");
    report_format_value(total, sizeof total, in->total, in->sample_unit, out_unit);
    const char *unit;
    double total_ns = scale(in->total, in->sample_unit, "nanoseconds", &unit);
    if (!strcmp(unit, "ns") && total_ns != 0) {
        char pct[32];
        int64_t ns = total_ns >= 9.2e18    ? INT64_MAX
                     : total_ns <= -9.2e18 ? INT64_MIN
                                           : (int64_t)total_ns;
        report_format_percent(pct, sizeof pct, ns, in->duration_nanos);
        snprintf(ratio, sizeof ratio, "(%s)", pct);
    }
    /* pprof leaves the space before an absent ratio; so do we, so that the
     * two outputs can be compared byte for byte. */
    fprintf(out, "Duration: %s, Total samples = %s %s\n", dur, total, ratio);
}

const char *report_fmt(char *buf, size_t len, const report_input *in, int64_t v)
{
    report_format_value(buf, len, v, in->sample_unit, "auto");
    return buf;
}

/* pprof cuts a long filter at 80 bytes and marks the cut. */
static void print_active_filters(FILE *out, const report_input *in)
{
    const char *f[16];
    size_t n = report_active_filters(in, f, 16);
    if (n == 0)
        return;
    fprintf(out, "Active filters:\n");
    for (size_t i = 0; i < n; i++) {
        if (strlen(f[i]) > 80)
            fprintf(out, "   %.80s\xe2\x80\xa6\n", f[i]);
        else
            fprintf(out, "   %s\n", f[i]);
    }
}

void report_print_header(FILE *out, const report_input *in, const char *out_unit)
{
    if (in->main_file[0])
        fprintf(out, "File: %s\n", base_name(in->main_file));
    if (in->build_id[0])
        fprintf(out, "Build ID: %s\n", in->build_id);
    print_comments(out, in);
    if (in->sample_type[0])
        fprintf(out, "Type: %s\n", in->sample_type);
    if (in->time_nanos) {
        char when[128];
        format_time(when, sizeof when, in->time_nanos);
        fprintf(out, "Time: %s\n", when);
    }
    if (in->duration_nanos)
        print_duration(out, in, out_unit);
    print_active_filters(out, in);
}
