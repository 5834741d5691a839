/*
 * pprof_read.c: the pprof profile reader. Owns getting a profile from bytes
 * to a checked, indexed message: gzip detection and bounded decompression
 * (zlib), protobuf-c decoding under a memory budget, validation of every
 * reference the format allows (string indices, ids, value counts), and the
 * id → position index that later lookups use.
 *
 * Everything that comes in is untrusted: files are fuzzed, and a gzip bomb
 * or a crafted message must end in an error line, not a crash or an OOM.
 */
#include "pprof_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "file_read.h"

/* Go's own profiles stay far below this; anything bigger is a bomb or junk. */
#define MAX_PROFILE_BYTES ((size_t)1 << 30)
/* protobuf-c's structs are several times larger than their wire form; this
 * caps the blow-up of a message made of millions of tiny sub-messages. */
#define MAX_DECODE_BYTES            ((size_t)4 << 30)
#define DECODE_BYTES_PER_INPUT_BYTE 32

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

/* ---- gzip --------------------------------------------------------------- */

static int is_gzip(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Doubles the output buffer, within MAX_PROFILE_BYTES. 0, or -1 with err. */
static int grow_output(uint8_t **buf, size_t *cap, char *err, size_t errlen)
{
    if (*cap >= MAX_PROFILE_BYTES) {
        set_err(err, errlen, "decompressed profile is larger than %zu MiB (gzip bomb?)",
                MAX_PROFILE_BYTES >> 20);
        return -1;
    }
    size_t ncap = *cap * 2 > MAX_PROFILE_BYTES ? MAX_PROFILE_BYTES : *cap * 2;
    uint8_t *p = realloc(*buf, ncap);
    if (!p) {
        set_err(err, errlen, "out of memory decompressing the profile");
        return -1;
    }
    *buf = p;
    *cap = ncap;
    return 0;
}

/* Reacts to what inflate() returned. 1: keep going, 0: all input consumed
 * at a member boundary, -1: error (err set). Several gzip members in a row
 * are one stream, as gzip(1) and Go's reader treat them. */
static int after_inflate(z_stream *zs, int rc, size_t in_left, char *err, size_t errlen)
{
    switch (rc) {
    case Z_OK:
        return 1;
    case Z_BUF_ERROR:
        /* No progress possible: either the output is full (the caller grows
         * it) or the input ended inside a member. */
        if (zs->avail_out == 0)
            return 1;
        set_err(err, errlen, "truncated gzip data");
        return -1;
    case Z_STREAM_END:
        if (in_left == 0)
            return 0;
        if (!is_gzip(zs->next_in, in_left)) {
            set_err(err, errlen, "trailing garbage after gzip data");
            return -1;
        }
        inflateReset(zs);
        return 1;
    case Z_MEM_ERROR:
        set_err(err, errlen, "out of memory decompressing the profile");
        return -1;
    default:
        set_err(err, errlen, "corrupt gzip data (%s)", zs->msg ? zs->msg : "bad stream");
        return -1;
    }
}

static int inflate_loop(z_stream *zs, const uint8_t *data, size_t len, uint8_t **buf, size_t *cap,
                        size_t *out_len, char *err, size_t errlen)
{
    size_t in_left = len;
    zs->next_in = (Bytef *)data;
    for (;;) {
        if (*out_len == *cap && grow_output(buf, cap, err, errlen))
            return -1;
        uInt in_chunk = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
        size_t room = *cap - *out_len;
        uInt out_chunk = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        zs->avail_in = in_chunk;
        zs->next_out = *buf + *out_len;
        zs->avail_out = out_chunk;
        int rc = inflate(zs, Z_NO_FLUSH);
        in_left -= in_chunk - zs->avail_in;
        *out_len += out_chunk - zs->avail_out;
        if (rc == Z_OK && in_left == 0 && zs->avail_out != 0) {
            set_err(err, errlen, "truncated gzip data");
            return -1;
        }
        int next = after_inflate(zs, rc, in_left, err, errlen);
        if (next <= 0)
            return next;
    }
}

static int gunzip(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len, char *err,
                  size_t errlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        set_err(err, errlen, "out of memory decompressing the profile");
        return -1;
    }
    size_t cap = len < (MAX_PROFILE_BYTES >> 3) ? len * 4 + 4096 : MAX_PROFILE_BYTES;
    uint8_t *buf = malloc(cap);
    *out_len = 0;
    int rc = -1;
    if (!buf)
        set_err(err, errlen, "out of memory decompressing the profile");
    else
        rc = inflate_loop(&zs, data, len, &buf, &cap, out_len, err, errlen);
    inflateEnd(&zs);
    if (rc) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* ---- protobuf-c with a memory budget ------------------------------------ */

/* Each block carries its size so that free can give the budget back. */
struct budget {
    ProtobufCAllocator a;
    size_t used, limit;
    int exceeded; /* so that the error can say why decoding failed */
};

union block_head {
    size_t size;
    max_align_t align;
};

static void *budget_alloc(void *data, size_t size)
{
    struct budget *b = data;
    if (size > b->limit - b->used || size > SIZE_MAX - sizeof(union block_head)) {
        b->exceeded = 1;
        return NULL;
    }
    union block_head *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    b->used += size;
    return h + 1;
}

static void budget_free(void *data, void *p)
{
    struct budget *b = data;
    if (!p)
        return;
    union block_head *h = (union block_head *)p - 1;
    b->used -= h->size;
    free(h);
}

/* ---- the index ---------------------------------------------------------- */

/* ids → positions. Go and cprof number ids 1..n in order, so the common case
 * is a direct array lookup; anything else is a sorted array searched by
 * bisection. */
struct id_pos {
    uint64_t id;
    size_t pos;
};

struct id_index {
    int dense;
    size_t n;
    struct id_pos *sorted; /* NULL when dense */
};

struct cprof_profile_index {
    struct budget budget;
    struct id_index loc, fn, map;
};

static int cmp_id_pos(const void *a, const void *b)
{
    const struct id_pos *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The id of item i of one of the profile's tables. */
typedef uint64_t (*id_at_fn)(const Perftools__Profiles__Profile *pb, size_t i);

static uint64_t loc_id(const Perftools__Profiles__Profile *pb, size_t i)
{
    return pb->location[i]->id;
}

static uint64_t fn_id(const Perftools__Profiles__Profile *pb, size_t i)
{
    return pb->function[i]->id;
}

static uint64_t map_id(const Perftools__Profiles__Profile *pb, size_t i)
{
    return pb->mapping[i]->id;
}

/* Builds the index of a table of n items and checks ids are non-zero and unique. */
static int index_build(struct id_index *ix, const Perftools__Profiles__Profile *pb, size_t n,
                       id_at_fn id_at, const char *what, char *err, size_t errlen)
{
    ix->n = n;
    ix->dense = 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = id_at(pb, i);
        if (id == 0) {
            set_err(err, errlen, "%s %zu of the profile has id 0 (ids start at 1)", what, i);
            return -1;
        }
        if (id != i + 1)
            ix->dense = 0;
    }
    if (ix->dense)
        return 0;
    ix->sorted = malloc((n ? n : 1) * sizeof *ix->sorted);
    if (!ix->sorted) {
        set_err(err, errlen, "out of memory indexing the profile");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ix->sorted[i] = (struct id_pos){id_at(pb, i), i};
    qsort(ix->sorted, n, sizeof *ix->sorted, cmp_id_pos);
    for (size_t i = 1; i < n; i++) {
        if (ix->sorted[i].id == ix->sorted[i - 1].id) {
            set_err(err, errlen, "two %ss have id %llu", what,
                    (unsigned long long)ix->sorted[i].id);
            return -1;
        }
    }
    return 0;
}

static ptrdiff_t index_find(const struct id_index *ix, uint64_t id)
{
    if (ix->dense)
        return id >= 1 && id <= ix->n ? (ptrdiff_t)(id - 1) : -1;
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->sorted[mid].id == id)
            return (ptrdiff_t)ix->sorted[mid].pos;
        if (ix->sorted[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int build_indexes(cprof_profile *p, char *err, size_t errlen)
{
    const Perftools__Profiles__Profile *pb = p->pb;
    struct cprof_profile_index *ix = p->index;
    if (index_build(&ix->map, pb, pb->n_mapping, map_id, "mapping", err, errlen))
        return -1;
    if (index_build(&ix->fn, pb, pb->n_function, fn_id, "function", err, errlen))
        return -1;
    return index_build(&ix->loc, pb, pb->n_location, loc_id, "location", err, errlen);
}

/* ---- validation --------------------------------------------------------- */

/* A string index found in the message; `what` names its place for the error. */
static int check_str(const Perftools__Profiles__Profile *pb, int64_t index, char *err,
                     size_t errlen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int check_str(const Perftools__Profiles__Profile *pb, int64_t index, char *err,
                     size_t errlen, const char *fmt, ...)
{
    if (index >= 0 && (uint64_t)index < pb->n_string_table)
        return 0;
    char where[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    set_err(err, errlen, "%s refers to string %lld, but the string table has %zu entries", where,
            (long long)index, pb->n_string_table);
    return -1;
}

static int check_value_type(const Perftools__Profiles__Profile *pb,
                            const Perftools__Profiles__ValueType *vt, const char *what, char *err,
                            size_t errlen)
{
    return check_str(pb, vt->type, err, errlen, "%s type", what) ||
           check_str(pb, vt->unit, err, errlen, "%s unit", what);
}

static int check_header(const Perftools__Profiles__Profile *pb, char *err, size_t errlen)
{
    if (pb->n_string_table == 0) {
        set_err(err, errlen, "not a pprof profile (no string table)");
        return -1;
    }
    if (pb->string_table[0][0] != '\0') {
        set_err(err, errlen, "not a pprof profile (string table does not start with \"\")");
        return -1;
    }
    for (size_t i = 0; i < pb->n_sample_type; i++)
        if (check_value_type(pb, pb->sample_type[i], "sample type", err, errlen))
            return -1;
    if (pb->period_type && check_value_type(pb, pb->period_type, "period", err, errlen))
        return -1;
    for (size_t i = 0; i < pb->n_comment; i++)
        if (check_str(pb, pb->comment[i], err, errlen, "comment %zu", i))
            return -1;
    return check_str(pb, pb->drop_frames, err, errlen, "drop_frames") ||
           check_str(pb, pb->keep_frames, err, errlen, "keep_frames") ||
           check_str(pb, pb->default_sample_type, err, errlen, "default_sample_type") ||
           check_str(pb, pb->doc_url, err, errlen, "doc_url");
}

static int check_mappings(const Perftools__Profiles__Profile *pb, char *err, size_t errlen)
{
    for (size_t i = 0; i < pb->n_mapping; i++) {
        const Perftools__Profiles__Mapping *m = pb->mapping[i];
        unsigned long long id = (unsigned long long)m->id;
        if (check_str(pb, m->filename, err, errlen, "mapping %llu filename", id) ||
            check_str(pb, m->build_id, err, errlen, "mapping %llu build id", id))
            return -1;
    }
    return 0;
}

static int check_functions(const Perftools__Profiles__Profile *pb, char *err, size_t errlen)
{
    for (size_t i = 0; i < pb->n_function; i++) {
        const Perftools__Profiles__Function *f = pb->function[i];
        unsigned long long id = (unsigned long long)f->id;
        if (check_str(pb, f->name, err, errlen, "function %llu name", id) ||
            check_str(pb, f->system_name, err, errlen, "function %llu system name", id) ||
            check_str(pb, f->filename, err, errlen, "function %llu filename", id))
            return -1;
    }
    return 0;
}

static int check_locations(const cprof_profile *p, char *err, size_t errlen)
{
    const Perftools__Profiles__Profile *pb = p->pb;
    for (size_t i = 0; i < pb->n_location; i++) {
        const Perftools__Profiles__Location *l = pb->location[i];
        unsigned long long id = (unsigned long long)l->id;
        if (l->mapping_id != 0 && index_find(&p->index->map, l->mapping_id) < 0) {
            set_err(err, errlen, "location %llu refers to missing mapping %llu", id,
                    (unsigned long long)l->mapping_id);
            return -1;
        }
        for (size_t j = 0; j < l->n_line; j++) {
            uint64_t fid = l->line[j]->function_id;
            if (index_find(&p->index->fn, fid) < 0) {
                set_err(err, errlen, "location %llu refers to missing function %llu", id,
                        (unsigned long long)fid);
                return -1;
            }
        }
    }
    return 0;
}

static int check_sample(const cprof_profile *p, size_t i, char *err, size_t errlen)
{
    const Perftools__Profiles__Profile *pb = p->pb;
    const Perftools__Profiles__Sample *s = pb->sample[i];
    if (s->n_value != pb->n_sample_type) {
        set_err(err, errlen, "sample %zu has %zu values but the profile has %zu sample types", i,
                s->n_value, pb->n_sample_type);
        return -1;
    }
    for (size_t j = 0; j < s->n_location_id; j++) {
        if (index_find(&p->index->loc, s->location_id[j]) < 0) {
            set_err(err, errlen, "sample %zu refers to missing location %llu", i,
                    (unsigned long long)s->location_id[j]);
            return -1;
        }
    }
    for (size_t j = 0; j < s->n_label; j++) {
        const Perftools__Profiles__Label *l = s->label[j];
        if (check_str(pb, l->key, err, errlen, "sample %zu label key", i) ||
            check_str(pb, l->str, err, errlen, "sample %zu label value", i) ||
            check_str(pb, l->num_unit, err, errlen, "sample %zu label unit", i))
            return -1;
    }
    return 0;
}

static int validate(cprof_profile *p, char *err, size_t errlen)
{
    const Perftools__Profiles__Profile *pb = p->pb;
    if (check_header(pb, err, errlen) || check_mappings(pb, err, errlen) ||
        check_functions(pb, err, errlen) || build_indexes(p, err, errlen) ||
        check_locations(p, err, errlen))
        return -1;
    for (size_t i = 0; i < pb->n_sample; i++)
        if (check_sample(p, i, err, errlen))
            return -1;
    return 0;
}

/* ---- public API --------------------------------------------------------- */

void cprof_profile_free(cprof_profile *p)
{
    if (!p)
        return;
    if (p->index) {
        if (p->pb)
            perftools__profiles__profile__free_unpacked(p->pb, &p->index->budget.a);
        free(p->index->loc.sorted);
        free(p->index->fn.sorted);
        free(p->index->map.sorted);
        free(p->index);
    }
    free(p);
}

static cprof_profile *profile_alloc(size_t wire_len)
{
    cprof_profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->index = calloc(1, sizeof *p->index);
    if (!p->index) {
        free(p);
        return NULL;
    }
    struct budget *b = &p->index->budget;
    b->a.alloc = budget_alloc;
    b->a.free = budget_free;
    b->a.allocator_data = b;
    b->limit = MAX_DECODE_BYTES;
    if (wire_len < MAX_DECODE_BYTES / DECODE_BYTES_PER_INPUT_BYTE)
        b->limit = wire_len * DECODE_BYTES_PER_INPUT_BYTE + (64 << 20);
    return p;
}

static cprof_profile *decode(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    if (len == 0) {
        set_err(err, errlen, "empty profile (no data after decompression)");
        return NULL;
    }
    cprof_profile *p = profile_alloc(len);
    if (!p) {
        set_err(err, errlen, "out of memory reading the profile");
        return NULL;
    }
    p->pb = perftools__profiles__profile__unpack(&p->index->budget.a, len, data);
    if (!p->pb && p->index->budget.exceeded) {
        set_err(err, errlen, "profile too large to decode (over %zu MiB of memory)",
                p->index->budget.limit >> 20);
        cprof_profile_free(p);
        return NULL;
    }
    if (!p->pb) {
        set_err(err, errlen, "not a pprof profile (protobuf decode failed)");
        cprof_profile_free(p);
        return NULL;
    }
    if (validate(p, err, errlen)) {
        cprof_profile_free(p);
        return NULL;
    }
    return p;
}

cprof_profile *cprof_profile_parse(const uint8_t *data, size_t len, char *err, size_t errlen)
{
    if (len == 0) {
        set_err(err, errlen, "empty file");
        return NULL;
    }
    if (!is_gzip(data, len))
        return decode(data, len, err, errlen);
    uint8_t *raw;
    size_t raw_len;
    if (gunzip(data, len, &raw, &raw_len, err, errlen))
        return NULL;
    cprof_profile *p = decode(raw, raw_len, err, errlen);
    free(raw);
    return p;
}

static const char *open_error(int e)
{
    switch (e) {
    case ENOENT:
        return "no such file";
    case EACCES:
        return "permission denied";
    case EISDIR:
        return "is a directory, not a profile";
    case EFBIG:
        return "file too large to be a profile";
    default:
        return strerror(e);
    }
}

cprof_profile *cprof_profile_read_file(const char *path, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    if (format_read_file(path, MAX_PROFILE_BYTES, &data, &len)) {
        set_err(err, errlen, "%s: %s", path, open_error(errno));
        return NULL;
    }
    char why[256] = "";
    cprof_profile *p = cprof_profile_parse(data, len, why, sizeof why);
    free(data);
    if (!p)
        set_err(err, errlen, "%s: %s", path, why);
    return p;
}

const char *cprof_profile_str(const cprof_profile *p, int64_t index)
{
    if (!p || !p->pb || index < 0 || (uint64_t)index >= p->pb->n_string_table)
        return "";
    return p->pb->string_table[index];
}

int cprof_profile_sample_index(const cprof_profile *p, const char *name)
{
    for (size_t i = 0; i < p->pb->n_sample_type; i++)
        if (!strcmp(cprof_profile_str(p, p->pb->sample_type[i]->type), name))
            return (int)i;
    return -1;
}

ptrdiff_t cprof_profile_location_pos(const cprof_profile *p, uint64_t id)
{
    return index_find(&p->index->loc, id);
}

ptrdiff_t cprof_profile_function_pos(const cprof_profile *p, uint64_t id)
{
    return index_find(&p->index->fn, id);
}

ptrdiff_t cprof_profile_mapping_pos(const cprof_profile *p, uint64_t id)
{
    return index_find(&p->index->map, id);
}

const Perftools__Profiles__Location *cprof_profile_location(const cprof_profile *p, uint64_t id)
{
    ptrdiff_t i = index_find(&p->index->loc, id);
    return i < 0 ? NULL : p->pb->location[i];
}

const Perftools__Profiles__Function *cprof_profile_function(const cprof_profile *p, uint64_t id)
{
    ptrdiff_t i = index_find(&p->index->fn, id);
    return i < 0 ? NULL : p->pb->function[i];
}

const Perftools__Profiles__Mapping *cprof_profile_mapping(const cprof_profile *p, uint64_t id)
{
    ptrdiff_t i = index_find(&p->index->map, id);
    return i < 0 ? NULL : p->pb->mapping[i];
}
