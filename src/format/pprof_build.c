/*
 * pprof_build.c: the pprof profile builder. Owns the in-memory tables of a
 * profile under construction (string table, mappings, functions, locations,
 * samples), their interning by content through open-addressing hash tables,
 * and the output path: protobuf-c serialisation, gzip compression with zlib,
 * and the atomic write of the result to a file.
 *
 * Everything is stored in flat growable arrays and turned into protobuf-c's
 * pointer-linked messages only at encode time, so that adding 100k samples
 * costs a few reallocs instead of 100k small mallocs. Ids are handed out in
 * insertion order and the output preserves that order, so the same calls
 * produce byte-identical files.
 *
 * Allocation failures and contract violations (a sample with the wrong
 * number of values, an unknown location id) are sticky: the builder keeps
 * accepting calls, returns id 0, and encode reports the first problem.
 */
#include "pprof_build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "profile.pb-c.h"

/* ---- growable arrays and hashing ---------------------------------------- */

/* Makes room for `need` elements of `elem` bytes in *data. 0 or -1. */
static int grow(void **data, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return -1;
    void *p = realloc(*data, ncap * elem);
    if (!p)
        return -1;
    *data = p;
    *cap = ncap;
    return 0;
}

/* A finaliser so that keys differing in a few low bits spread over the whole
 * table (linear probing degrades badly on clustered hashes). */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (h == 0)
        h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
    return mix64(h ^ mix64(v + 0x9e3779b97f4a7c15ULL));
}

/* Open addressing over element indices: slot value 0 is empty, otherwise
 * element index + 1. Each element kind keeps its hashes next to it so that
 * the table can be rebuilt without recomputing them. */
struct itab {
    uint32_t *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
};

typedef int (*itab_eq)(const cprof_pb *pb, uint32_t idx, const void *key);

static void itab_free(struct itab *t)
{
    free(t->slots);
}

static uint32_t itab_find(const struct itab *t, uint64_t hash, const uint64_t *hashes, itab_eq eq,
                          const cprof_pb *pb, const void *key)
{
    if (!t->slots)
        return 0;
    for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        uint32_t s = t->slots[i];
        if (s == 0)
            return 0;
        if (hashes[s - 1] == hash && eq(pb, s - 1, key))
            return s;
    }
}

static void itab_place(uint32_t *slots, size_t mask, uint64_t hash, uint32_t value)
{
    size_t i = hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = value;
}

/* Inserts element idx (not already present). Keeps the load under 1/2. */
static int itab_insert(struct itab *t, uint32_t idx, const uint64_t *hashes)
{
    if ((t->count + 1) * 2 > (t->slots ? t->mask + 1 : 0)) {
        size_t ncap = t->slots ? (t->mask + 1) * 2 : 64;
        uint32_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; t->slots && i <= t->mask; i++)
            if (t->slots[i])
                itab_place(ns, ncap - 1, hashes[t->slots[i] - 1], t->slots[i]);
        free(t->slots);
        t->slots = ns;
        t->mask = ncap - 1;
    }
    itab_place(t->slots, t->mask, hashes[idx], idx + 1);
    t->count++;
    return 0;
}

/* ---- the builder -------------------------------------------------------- */

struct loc {
    uint64_t mapping_id, address;
    size_t line_off, nlines;
};

struct sample {
    size_t loc_off, nlocs, val_off, nvals, label_off, nlabels;
};

struct cprof_pb {
    char err[256]; /* first sticky failure, "" while healthy */

    char **strs;
    uint64_t *str_hash;
    size_t nstrs, strs_cap, str_hash_cap;
    struct itab str_tab;

    Perftools__Profiles__Mapping *maps;
    uint64_t *map_hash;
    size_t nmaps, maps_cap, map_hash_cap;
    struct itab map_tab;

    Perftools__Profiles__Function *fns;
    uint64_t *fn_hash;
    size_t nfns, fns_cap, fn_hash_cap;
    struct itab fn_tab;

    struct loc *locs;
    uint64_t *loc_hash;
    size_t nlocs, locs_cap, loc_hash_cap;
    struct itab loc_tab;
    Perftools__Profiles__Line *lines;
    size_t nlines, lines_cap;

    struct sample *samples;
    size_t nsamples, samples_cap;
    uint64_t *sample_locs;
    size_t nsample_locs, sample_locs_cap;
    int64_t *values;
    size_t nvalues, values_cap;
    Perftools__Profiles__Label *labels;
    size_t nlabels, labels_cap;

    Perftools__Profiles__ValueType *stypes;
    size_t nstypes, stypes_cap;
    int64_t *comments;
    size_t ncomments, comments_cap;

    Perftools__Profiles__ValueType period_type;
    int has_period;
    int64_t period, time_nanos, duration_nanos, default_sample_type;
};

static void fail(cprof_pb *pb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(cprof_pb *pb, const char *fmt, ...)
{
    if (pb->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pb->err, sizeof pb->err, fmt, ap);
    va_end(ap);
}

static int oom(cprof_pb *pb)
{
    fail(pb, "out of memory building the profile");
    return -1;
}

cprof_pb *cprof_pb_new(void)
{
    cprof_pb *pb = calloc(1, sizeof *pb);
    if (!pb)
        return NULL;
    /* pprof requires string_table[0] == "". */
    if (cprof_pb_string(pb, "") != 0) {
        cprof_pb_free(pb);
        return NULL;
    }
    return pb;
}

void cprof_pb_free(cprof_pb *pb)
{
    if (!pb)
        return;
    for (size_t i = 0; i < pb->nstrs; i++)
        free(pb->strs[i]);
    free(pb->strs);
    free(pb->str_hash);
    itab_free(&pb->str_tab);
    free(pb->maps);
    free(pb->map_hash);
    itab_free(&pb->map_tab);
    free(pb->fns);
    free(pb->fn_hash);
    itab_free(&pb->fn_tab);
    free(pb->locs);
    free(pb->loc_hash);
    itab_free(&pb->loc_tab);
    free(pb->lines);
    free(pb->samples);
    free(pb->sample_locs);
    free(pb->values);
    free(pb->labels);
    free(pb->stypes);
    free(pb->comments);
    free(pb);
}

/* ---- strings ------------------------------------------------------------ */

static int str_eq(const cprof_pb *pb, uint32_t idx, const void *key)
{
    return strcmp(pb->strs[idx], key) == 0;
}

int64_t cprof_pb_string(cprof_pb *pb, const char *s)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    uint64_t h = mix64(hash_bytes(0, s, len));
    uint32_t found = itab_find(&pb->str_tab, h, pb->str_hash, str_eq, pb, s);
    if (found)
        return found - 1;
    if (pb->nstrs >= UINT32_MAX - 1 ||
        grow((void **)&pb->strs, &pb->strs_cap, pb->nstrs + 1, sizeof *pb->strs) ||
        grow((void **)&pb->str_hash, &pb->str_hash_cap, pb->nstrs + 1, sizeof *pb->str_hash))
        return oom(pb), 0;
    char *copy = malloc(len + 1);
    if (!copy)
        return oom(pb), 0;
    memcpy(copy, s, len + 1);
    size_t idx = pb->nstrs;
    pb->strs[idx] = copy;
    pb->str_hash[idx] = h;
    if (itab_insert(&pb->str_tab, idx, pb->str_hash)) {
        free(copy);
        return oom(pb), 0;
    }
    pb->nstrs++;
    return (int64_t)idx;
}

/* ---- header fields ------------------------------------------------------ */

static void value_type(cprof_pb *pb, Perftools__Profiles__ValueType *vt, const char *type,
                       const char *unit)
{
    perftools__profiles__value_type__init(vt);
    vt->type = cprof_pb_string(pb, type);
    vt->unit = cprof_pb_string(pb, unit);
}

void cprof_pb_add_sample_type(cprof_pb *pb, const char *type, const char *unit)
{
    if (grow((void **)&pb->stypes, &pb->stypes_cap, pb->nstypes + 1, sizeof *pb->stypes)) {
        oom(pb);
        return;
    }
    value_type(pb, &pb->stypes[pb->nstypes++], type, unit);
}

void cprof_pb_set_period(cprof_pb *pb, const char *type, const char *unit, int64_t period)
{
    value_type(pb, &pb->period_type, type, unit);
    pb->has_period = 1;
    pb->period = period;
}

void cprof_pb_set_time(cprof_pb *pb, int64_t time_nanos, int64_t duration_nanos)
{
    pb->time_nanos = time_nanos;
    pb->duration_nanos = duration_nanos;
}

void cprof_pb_set_default_sample_type(cprof_pb *pb, const char *type)
{
    pb->default_sample_type = cprof_pb_string(pb, type);
}

void cprof_pb_add_comment(cprof_pb *pb, const char *comment)
{
    if (grow((void **)&pb->comments, &pb->comments_cap, pb->ncomments + 1, sizeof *pb->comments)) {
        oom(pb);
        return;
    }
    pb->comments[pb->ncomments++] = cprof_pb_string(pb, comment);
}

/* ---- mappings ----------------------------------------------------------- */

static int map_eq(const cprof_pb *pb, uint32_t idx, const void *key)
{
    const Perftools__Profiles__Mapping *a = &pb->maps[idx], *b = key;
    return a->memory_start == b->memory_start && a->memory_limit == b->memory_limit &&
           a->file_offset == b->file_offset && a->filename == b->filename &&
           a->build_id == b->build_id && a->has_functions == b->has_functions &&
           a->has_filenames == b->has_filenames && a->has_line_numbers == b->has_line_numbers &&
           a->has_inline_frames == b->has_inline_frames;
}

static uint64_t map_hash(const Perftools__Profiles__Mapping *m)
{
    uint64_t h = hash_u64(0, m->memory_start);
    h = hash_u64(h, m->memory_limit);
    h = hash_u64(h, m->file_offset);
    h = hash_u64(h, (uint64_t)m->filename);
    h = hash_u64(h, (uint64_t)m->build_id);
    unsigned flags = (unsigned)(m->has_functions | m->has_filenames << 1 |
                                m->has_line_numbers << 2 | m->has_inline_frames << 3);
    return hash_u64(h, flags);
}

uint64_t cprof_pb_mapping(cprof_pb *pb, const cprof_pb_mapping_info *m)
{
    Perftools__Profiles__Mapping key;
    perftools__profiles__mapping__init(&key);
    key.memory_start = m->memory_start;
    key.memory_limit = m->memory_limit;
    key.file_offset = m->file_offset;
    key.filename = cprof_pb_string(pb, m->filename);
    key.build_id = cprof_pb_string(pb, m->build_id);
    key.has_functions = m->has_functions != 0;
    key.has_filenames = m->has_filenames != 0;
    key.has_line_numbers = m->has_line_numbers != 0;
    key.has_inline_frames = m->has_inline_frames != 0;
    uint64_t h = map_hash(&key);
    uint32_t found = itab_find(&pb->map_tab, h, pb->map_hash, map_eq, pb, &key);
    if (found)
        return found;
    if (pb->nmaps >= UINT32_MAX - 1 ||
        grow((void **)&pb->maps, &pb->maps_cap, pb->nmaps + 1, sizeof *pb->maps) ||
        grow((void **)&pb->map_hash, &pb->map_hash_cap, pb->nmaps + 1, sizeof *pb->map_hash))
        return oom(pb), 0;
    size_t idx = pb->nmaps;
    key.id = idx + 1;
    pb->maps[idx] = key;
    pb->map_hash[idx] = h;
    if (itab_insert(&pb->map_tab, idx, pb->map_hash))
        return oom(pb), 0;
    pb->nmaps++;
    return idx + 1;
}

/* ---- functions ---------------------------------------------------------- */

static int fn_eq(const cprof_pb *pb, uint32_t idx, const void *key)
{
    const Perftools__Profiles__Function *a = &pb->fns[idx], *b = key;
    return a->name == b->name && a->system_name == b->system_name && a->filename == b->filename &&
           a->start_line == b->start_line;
}

uint64_t cprof_pb_function(cprof_pb *pb, const char *name, const char *system_name,
                           const char *filename, int64_t start_line)
{
    Perftools__Profiles__Function key;
    perftools__profiles__function__init(&key);
    key.name = cprof_pb_string(pb, name);
    key.system_name = cprof_pb_string(pb, system_name);
    key.filename = cprof_pb_string(pb, filename);
    key.start_line = start_line;
    uint64_t h =
        hash_u64(hash_u64(hash_u64(hash_u64(0, (uint64_t)key.name), (uint64_t)key.system_name),
                          (uint64_t)key.filename),
                 (uint64_t)start_line);
    uint32_t found = itab_find(&pb->fn_tab, h, pb->fn_hash, fn_eq, pb, &key);
    if (found)
        return found;
    if (pb->nfns >= UINT32_MAX - 1 ||
        grow((void **)&pb->fns, &pb->fns_cap, pb->nfns + 1, sizeof *pb->fns) ||
        grow((void **)&pb->fn_hash, &pb->fn_hash_cap, pb->nfns + 1, sizeof *pb->fn_hash))
        return oom(pb), 0;
    size_t idx = pb->nfns;
    key.id = idx + 1;
    pb->fns[idx] = key;
    pb->fn_hash[idx] = h;
    if (itab_insert(&pb->fn_tab, idx, pb->fn_hash))
        return oom(pb), 0;
    pb->nfns++;
    return idx + 1;
}

/* ---- locations ---------------------------------------------------------- */

/* The key of a location being looked up: either (mapping, address) or, for
 * address 0 (synthetic or unsymbolisable frames), the whole line list. */
struct loc_key {
    uint64_t mapping_id, address;
    const cprof_pb_line *lines;
    size_t nlines;
};

static int loc_eq(const cprof_pb *pb, uint32_t idx, const void *key)
{
    const struct loc *a = &pb->locs[idx];
    const struct loc_key *b = key;
    if (a->mapping_id != b->mapping_id || a->address != b->address)
        return 0;
    if (b->address != 0)
        return 1;
    if (a->nlines != b->nlines)
        return 0;
    for (size_t i = 0; i < b->nlines; i++) {
        const Perftools__Profiles__Line *l = &pb->lines[a->line_off + i];
        if (l->function_id != b->lines[i].function_id || l->line != b->lines[i].line)
            return 0;
    }
    return 1;
}

static uint64_t loc_hash(const struct loc_key *k)
{
    uint64_t h = hash_u64(hash_u64(0, k->mapping_id), k->address);
    if (k->address != 0)
        return h;
    for (size_t i = 0; i < k->nlines; i++)
        h = hash_u64(hash_u64(h, k->lines[i].function_id), (uint64_t)k->lines[i].line);
    return h;
}

static int check_location_refs(cprof_pb *pb, uint64_t mapping_id, const cprof_pb_line *lines,
                               size_t nlines)
{
    if (mapping_id > pb->nmaps) {
        fail(pb, "location refers to unknown mapping %llu", (unsigned long long)mapping_id);
        return -1;
    }
    for (size_t i = 0; i < nlines; i++) {
        if (lines[i].function_id == 0 || lines[i].function_id > pb->nfns) {
            fail(pb, "location line refers to unknown function %llu",
                 (unsigned long long)lines[i].function_id);
            return -1;
        }
    }
    return 0;
}

uint64_t cprof_pb_location(cprof_pb *pb, uint64_t mapping_id, uint64_t address,
                           const cprof_pb_line *lines, size_t nlines)
{
    if (check_location_refs(pb, mapping_id, lines, nlines))
        return 0;
    struct loc_key key = {mapping_id, address, lines, nlines};
    uint64_t h = loc_hash(&key);
    uint32_t found = itab_find(&pb->loc_tab, h, pb->loc_hash, loc_eq, pb, &key);
    if (found)
        return found;
    if (pb->nlocs >= UINT32_MAX - 1 ||
        grow((void **)&pb->locs, &pb->locs_cap, pb->nlocs + 1, sizeof *pb->locs) ||
        grow((void **)&pb->loc_hash, &pb->loc_hash_cap, pb->nlocs + 1, sizeof *pb->loc_hash) ||
        grow((void **)&pb->lines, &pb->lines_cap, pb->nlines + nlines, sizeof *pb->lines))
        return oom(pb), 0;
    for (size_t i = 0; i < nlines; i++) {
        Perftools__Profiles__Line *l = &pb->lines[pb->nlines + i];
        perftools__profiles__line__init(l);
        l->function_id = lines[i].function_id;
        l->line = lines[i].line;
    }
    size_t idx = pb->nlocs;
    pb->locs[idx] = (struct loc){mapping_id, address, pb->nlines, nlines};
    pb->loc_hash[idx] = h;
    if (itab_insert(&pb->loc_tab, idx, pb->loc_hash))
        return oom(pb), 0;
    pb->nlines += nlines;
    pb->nlocs++;
    return idx + 1;
}

/* ---- samples ------------------------------------------------------------ */

static int check_sample(cprof_pb *pb, const uint64_t *location_ids, size_t nlocs, size_t nvalues)
{
    if (nvalues != pb->nstypes) {
        fail(pb, "sample has %zu values but the profile has %zu sample types", nvalues,
             pb->nstypes);
        return -1;
    }
    for (size_t i = 0; i < nlocs; i++) {
        if (location_ids[i] == 0 || location_ids[i] > pb->nlocs) {
            fail(pb, "sample refers to unknown location %llu", (unsigned long long)location_ids[i]);
            return -1;
        }
    }
    return 0;
}

static void set_label(cprof_pb *pb, Perftools__Profiles__Label *out, const cprof_pb_label *in)
{
    perftools__profiles__label__init(out);
    out->key = cprof_pb_string(pb, in->key);
    if (in->str) {
        out->str = cprof_pb_string(pb, in->str);
        return;
    }
    out->num = in->num;
    out->num_unit = cprof_pb_string(pb, in->num_unit);
}

void cprof_pb_add_sample(cprof_pb *pb, const uint64_t *location_ids, size_t nlocs,
                         const int64_t *values, size_t nvalues, const cprof_pb_label *labels,
                         size_t nlabels)
{
    if (check_sample(pb, location_ids, nlocs, nvalues))
        return;
    if (grow((void **)&pb->samples, &pb->samples_cap, pb->nsamples + 1, sizeof *pb->samples) ||
        grow((void **)&pb->sample_locs, &pb->sample_locs_cap, pb->nsample_locs + nlocs,
             sizeof *pb->sample_locs) ||
        grow((void **)&pb->values, &pb->values_cap, pb->nvalues + nvalues, sizeof *pb->values) ||
        grow((void **)&pb->labels, &pb->labels_cap, pb->nlabels + nlabels, sizeof *pb->labels)) {
        oom(pb);
        return;
    }
    struct sample *s = &pb->samples[pb->nsamples++];
    *s = (struct sample){pb->nsample_locs, nlocs, pb->nvalues, nvalues, pb->nlabels, nlabels};
    if (nlocs)
        memcpy(pb->sample_locs + pb->nsample_locs, location_ids, nlocs * sizeof *location_ids);
    if (nvalues)
        memcpy(pb->values + pb->nvalues, values, nvalues * sizeof *values);
    for (size_t i = 0; i < nlabels; i++)
        set_label(pb, &pb->labels[pb->nlabels + i], &labels[i]);
    pb->nsample_locs += nlocs;
    pb->nvalues += nvalues;
    pb->nlabels += nlabels;
}

/* ---- encoding ----------------------------------------------------------- */

/* The pointer arrays protobuf-c wants, pointing into the builder's storage.
 * Built just for one pack call and freed right after. */
struct msg {
    Perftools__Profiles__Profile prof;
    Perftools__Profiles__ValueType **stypes;
    Perftools__Profiles__Sample *samples, **sample_ptrs;
    Perftools__Profiles__Label **label_ptrs;
    Perftools__Profiles__Mapping **map_ptrs;
    Perftools__Profiles__Location *locs, **loc_ptrs;
    Perftools__Profiles__Line **line_ptrs;
    Perftools__Profiles__Function **fn_ptrs;
};

static void msg_free(struct msg *m)
{
    free(m->stypes);
    free(m->samples);
    free(m->sample_ptrs);
    free(m->label_ptrs);
    free(m->map_ptrs);
    free(m->locs);
    free(m->loc_ptrs);
    free(m->line_ptrs);
    free(m->fn_ptrs);
}

/* calloc that treats a zero count as success (NULL is then fine for
 * protobuf-c, which never reads a zero-length array). */
static int alloc_array(void *out, size_t n, size_t elem)
{
    void **p = out;
    *p = NULL;
    if (n == 0)
        return 0;
    *p = calloc(n, elem);
    return *p ? 0 : -1;
}

static int msg_alloc(struct msg *m, const cprof_pb *pb)
{
    return alloc_array(&m->stypes, pb->nstypes, sizeof *m->stypes) ||
           alloc_array(&m->samples, pb->nsamples, sizeof *m->samples) ||
           alloc_array(&m->sample_ptrs, pb->nsamples, sizeof *m->sample_ptrs) ||
           alloc_array(&m->label_ptrs, pb->nlabels, sizeof *m->label_ptrs) ||
           alloc_array(&m->map_ptrs, pb->nmaps, sizeof *m->map_ptrs) ||
           alloc_array(&m->locs, pb->nlocs, sizeof *m->locs) ||
           alloc_array(&m->loc_ptrs, pb->nlocs, sizeof *m->loc_ptrs) ||
           alloc_array(&m->line_ptrs, pb->nlines, sizeof *m->line_ptrs) ||
           alloc_array(&m->fn_ptrs, pb->nfns, sizeof *m->fn_ptrs);
}

static void msg_link_samples(struct msg *m, cprof_pb *pb)
{
    for (size_t i = 0; i < pb->nlabels; i++)
        m->label_ptrs[i] = &pb->labels[i];
    for (size_t i = 0; i < pb->nsamples; i++) {
        const struct sample *s = &pb->samples[i];
        Perftools__Profiles__Sample *out = &m->samples[i];
        perftools__profiles__sample__init(out);
        /* Empty arrays stay NULL: the storage behind them may not exist. */
        out->n_location_id = s->nlocs;
        out->location_id = s->nlocs ? pb->sample_locs + s->loc_off : NULL;
        out->n_value = s->nvals;
        out->value = s->nvals ? pb->values + s->val_off : NULL;
        out->n_label = s->nlabels;
        out->label = s->nlabels ? m->label_ptrs + s->label_off : NULL;
        m->sample_ptrs[i] = out;
    }
}

static void msg_link_locations(struct msg *m, cprof_pb *pb)
{
    for (size_t i = 0; i < pb->nlines; i++)
        m->line_ptrs[i] = &pb->lines[i];
    for (size_t i = 0; i < pb->nlocs; i++) {
        const struct loc *l = &pb->locs[i];
        Perftools__Profiles__Location *out = &m->locs[i];
        perftools__profiles__location__init(out);
        out->id = i + 1;
        out->mapping_id = l->mapping_id;
        out->address = l->address;
        out->n_line = l->nlines;
        out->line = l->nlines ? m->line_ptrs + l->line_off : NULL;
        m->loc_ptrs[i] = out;
    }
}

static int msg_build(struct msg *m, cprof_pb *pb)
{
    memset(m, 0, sizeof *m);
    if (msg_alloc(m, pb))
        return -1;
    Perftools__Profiles__Profile *p = &m->prof;
    perftools__profiles__profile__init(p);
    for (size_t i = 0; i < pb->nstypes; i++)
        m->stypes[i] = &pb->stypes[i];
    for (size_t i = 0; i < pb->nmaps; i++)
        m->map_ptrs[i] = &pb->maps[i];
    for (size_t i = 0; i < pb->nfns; i++)
        m->fn_ptrs[i] = &pb->fns[i];
    msg_link_samples(m, pb);
    msg_link_locations(m, pb);
    p->n_sample_type = pb->nstypes;
    p->sample_type = m->stypes;
    p->n_sample = pb->nsamples;
    p->sample = m->sample_ptrs;
    p->n_mapping = pb->nmaps;
    p->mapping = m->map_ptrs;
    p->n_location = pb->nlocs;
    p->location = m->loc_ptrs;
    p->n_function = pb->nfns;
    p->function = m->fn_ptrs;
    p->n_string_table = pb->nstrs;
    p->string_table = pb->strs;
    p->time_nanos = pb->time_nanos;
    p->duration_nanos = pb->duration_nanos;
    p->period_type = pb->has_period ? &pb->period_type : NULL;
    p->period = pb->period;
    p->n_comment = pb->ncomments;
    p->comment = pb->comments;
    p->default_sample_type = pb->default_sample_type;
    return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Go's runtime/pprof compresses with BestSpeed too: profiles are written
 * while the program is exiting, where time matters more than a few kB. */
static int gzip_buffer(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 16: a gzip header and trailer instead of zlib's; the header's
     * mtime stays 0, which keeps the output deterministic. */
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&zs, in_len) + 32;
    uint8_t *buf = malloc(bound);
    if (!buf) {
        deflateEnd(&zs);
        return -1;
    }
    int rc = Z_OK;
    zs.next_in = (Bytef *)in;
    zs.next_out = buf;
    /* zlib's counters are uInt: feed huge inputs in pieces. */
    size_t in_left = in_len, out_left = bound;
    while (rc == Z_OK) {
        uInt in_chunk = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
        uInt out_chunk = out_left > UINT32_MAX ? UINT32_MAX : (uInt)out_left;
        zs.avail_in = in_chunk;
        zs.avail_out = out_chunk;
        rc = deflate(&zs, in_chunk == in_left ? Z_FINISH : Z_NO_FLUSH);
        in_left -= in_chunk - zs.avail_in;
        out_left -= out_chunk - zs.avail_out;
    }
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = bound - out_left;
    return 0;
}

int cprof_pb_encode(cprof_pb *pb, uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    if (pb->err[0]) {
        set_err(err, errlen, "%s", pb->err);
        return -1;
    }
    struct msg m;
    if (msg_build(&m, pb)) {
        msg_free(&m);
        set_err(err, errlen, "out of memory encoding the profile");
        return -1;
    }
    size_t len = perftools__profiles__profile__get_packed_size(&m.prof);
    uint8_t *raw = malloc(len ? len : 1);
    if (!raw) {
        msg_free(&m);
        set_err(err, errlen, "out of memory encoding the profile");
        return -1;
    }
    perftools__profiles__profile__pack(&m.prof, raw);
    msg_free(&m);
    int rc = gzip_buffer(raw, len, out, out_len);
    free(raw);
    if (rc) {
        set_err(err, errlen, "gzip compression of the profile failed");
        return -1;
    }
    return 0;
}

/* ---- writing a file ----------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates a fresh temporary file next to path, so that rename() stays within
 * one file system. O_EXCL with a unique name rather than mkstemp: mkstemp
 * forces mode 0600, and fixing that up would need umask(), which is not
 * thread-safe in a library. */
static int open_temp(const char *path, char *tmp, size_t tmplen)
{
    static unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        int len = snprintf(tmp, tmplen, "%s.tmp.%ld.%u", path, (long)getpid(), n);
        if (len < 0 || (size_t)len >= tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* A path that is not a plain file (a device such as /dev/null or
 * /dev/stdout, a FIFO, a symbolic link) is written in place: renaming a
 * temporary file over it would replace the device or the link itself. */
static int write_in_place(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return -1;
    if (write_all(fd, data, len)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return close(fd);
}

static int write_data(const char *path, const uint8_t *data, size_t len)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return write_in_place(path, data, len);
    char tmp[4096 + 64];
    int fd = open_temp(path, tmp, sizeof tmp);
    if (fd < 0)
        return -1;
    /* fsync before rename: otherwise a crash can leave a renamed but empty
     * file, which is worse than the old one. */
    if (write_all(fd, data, len) || fsync(fd)) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (close(fd) || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int cprof_pb_write_file(cprof_pb *pb, const char *path, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    if (cprof_pb_encode(pb, &data, &len, err, errlen))
        return -1;
    int rc = write_data(path, data, len);
    int e = errno;
    free(data);
    if (rc) {
        set_err(err, errlen, "%s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}
