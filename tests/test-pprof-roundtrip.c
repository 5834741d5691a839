/*
 * test-pprof-roundtrip.c: the builder and the reader against each other.
 * Builds a profile with known samples, labels, mappings and inlined lines,
 * encodes it, decodes it with our reader and compares every field; then
 * checks interning, determinism, atomic writes, scale (100k locations), and
 * that every malformed input the reader must reject gets the right error.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "pprof_build.h"
#include "pprof_read.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #a, a_, b_);     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (strcmp(a_, b_)) {                                                                      \
            fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, #a, a_, b_); \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(s, sub)                                                                     \
    do {                                                                                           \
        const char *s_ = (s), *sub_ = (sub);                                                       \
        if (!strstr(s_, sub_)) {                                                                   \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, s_,     \
                    sub_);                                                                         \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define MS 1000000LL

/* ---- the reference profile ---------------------------------------------- */

struct ids {
    uint64_t m1, m2, f_main, f_work, f_inl, f_libc, l1, l2, l3, l4, l5;
};

static const cprof_pb_mapping_info M1 = {0x400000, 0x500000, 0x1000, "/bin/prog", "deadbeef", 1,
                                         1,        1,        1};
static const cprof_pb_mapping_info M2 = {
    0x7f0000000000, 0x7f0000100000, 0, "/lib/libc.so.6", NULL, 1, 0, 0, 0};

static cprof_pb *reference(struct ids *id)
{
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample_type(pb, "cpu", "nanoseconds");
    cprof_pb_set_period(pb, "cpu", "nanoseconds", 10 * MS);
    cprof_pb_set_time(pb, 1234567890123456789LL, 3000 * MS);
    cprof_pb_set_default_sample_type(pb, "cpu");
    cprof_pb_add_comment(pb, "first comment");
    cprof_pb_add_comment(pb, "second");
    id->m1 = cprof_pb_mapping(pb, &M1);
    id->m2 = cprof_pb_mapping(pb, &M2);
    id->f_main = cprof_pb_function(pb, "main", "main", "/src/main.c", 5);
    id->f_work = cprof_pb_function(pb, "work", "work", "/src/work.c", 17);
    id->f_inl = cprof_pb_function(pb, "inl", "inl", "/src/work.h", 30);
    id->f_libc = cprof_pb_function(pb, "libc_fn", "__libc_fn", NULL, 0);
    cprof_pb_line l1[] = {{id->f_main, 10}};
    cprof_pb_line l2[] = {{id->f_inl, 33}, {id->f_work, 20}};
    cprof_pb_line l3[] = {{id->f_libc, 0}};
    cprof_pb_line l5[] = {{id->f_work, 21}};
    id->l1 = cprof_pb_location(pb, id->m1, 0x401000, l1, 1);
    id->l2 = cprof_pb_location(pb, id->m1, 0x401100, l2, 2);
    id->l3 = cprof_pb_location(pb, id->m2, 0x7f0000001000, l3, 1);
    id->l4 = cprof_pb_location(pb, id->m1, 0x401200, NULL, 0);
    id->l5 = cprof_pb_location(pb, 0, 0, l5, 1);

    cprof_pb_label lab1[] = {{"handler", "search", 0, NULL}, {"bytes", NULL, 4096, "bytes"}};
    cprof_pb_label lab4[] = {{"n", NULL, -7, NULL}};
    cprof_pb_add_sample(pb, (uint64_t[]){id->l2, id->l1}, 2, (int64_t[]){1, 10 * MS}, 2, lab1, 2);
    cprof_pb_add_sample(pb, (uint64_t[]){id->l3, id->l2, id->l1}, 3, (int64_t[]){2, 20 * MS}, 2,
                        NULL, 0);
    cprof_pb_add_sample(pb, NULL, 0, (int64_t[]){0, 0}, 2, NULL, 0);
    cprof_pb_add_sample(pb, (uint64_t[]){id->l4, id->l5, id->l1}, 3, (int64_t[]){5, 50 * MS}, 2,
                        lab4, 1);
    return pb;
}

static uint8_t *encode(cprof_pb *pb, size_t *len)
{
    uint8_t *out;
    char err[256] = "";
    if (cprof_pb_encode(pb, &out, len, err, sizeof err)) {
        fprintf(stderr, "encode failed: %s\n", err);
        exit(1);
    }
    return out;
}

static cprof_profile *parse_ok(const uint8_t *data, size_t len)
{
    char err[256] = "";
    cprof_profile *p = cprof_profile_parse(data, len, err, sizeof err);
    if (!p) {
        fprintf(stderr, "parse failed: %s\n", err);
        exit(1);
    }
    return p;
}

/* Parse must fail, with an error that contains want. */
static void parse_fails(const uint8_t *data, size_t len, const char *want, int line)
{
    char err[256] = "";
    cprof_profile *p = cprof_profile_parse(data, len, err, sizeof err);
    if (p) {
        fprintf(stderr, "%s:%d: parse succeeded, want \"%s\"\n", __FILE__, line, want);
        failures++;
        cprof_profile_free(p);
        return;
    }
    if (!strstr(err, want) || strchr(err, '\n')) {
        fprintf(stderr, "%s:%d: error \"%s\", want \"%s\"\n", __FILE__, line, err, want);
        failures++;
    }
}

/* ---- 1. every field back ------------------------------------------------ */

static void check_value_type(const cprof_profile *p, const Perftools__Profiles__ValueType *vt,
                             const char *type, const char *unit)
{
    CHECK(vt != NULL);
    if (!vt)
        return;
    CHECK_STR(cprof_profile_str(p, vt->type), type);
    CHECK_STR(cprof_profile_str(p, vt->unit), unit);
}

static void check_header(const cprof_profile *p)
{
    const Perftools__Profiles__Profile *pb = p->pb;
    CHECK(pb->n_string_table > 0);
    CHECK_STR(pb->string_table[0], "");
    for (size_t i = 0; i < pb->n_string_table; i++)
        for (size_t j = i + 1; j < pb->n_string_table; j++)
            CHECK(strcmp(pb->string_table[i], pb->string_table[j]) != 0);
    CHECK_EQ(pb->n_sample_type, 2);
    check_value_type(p, pb->sample_type[0], "samples", "count");
    check_value_type(p, pb->sample_type[1], "cpu", "nanoseconds");
    check_value_type(p, pb->period_type, "cpu", "nanoseconds");
    CHECK_EQ(pb->period, 10 * MS);
    CHECK_EQ(pb->time_nanos, 1234567890123456789LL);
    CHECK_EQ(pb->duration_nanos, 3000 * MS);
    CHECK_STR(cprof_profile_str(p, pb->default_sample_type), "cpu");
    CHECK_EQ(pb->n_comment, 2);
    CHECK_STR(cprof_profile_str(p, pb->comment[0]), "first comment");
    CHECK_STR(cprof_profile_str(p, pb->comment[1]), "second");
    CHECK_EQ(pb->drop_frames, 0);
    CHECK_EQ(pb->keep_frames, 0);
    CHECK_EQ(cprof_profile_sample_index(p, "cpu"), 1);
    CHECK_EQ(cprof_profile_sample_index(p, "samples"), 0);
    CHECK_EQ(cprof_profile_sample_index(p, "nope"), -1);
    CHECK_STR(cprof_profile_str(p, -1), "");
    CHECK_STR(cprof_profile_str(p, 1 << 30), "");
}

static void check_mapping(const cprof_profile *p, uint64_t id, const cprof_pb_mapping_info *want)
{
    const Perftools__Profiles__Mapping *m = cprof_profile_mapping(p, id);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_EQ(m->id, id);
    CHECK_EQ(m->memory_start, want->memory_start);
    CHECK_EQ(m->memory_limit, want->memory_limit);
    CHECK_EQ(m->file_offset, want->file_offset);
    CHECK_STR(cprof_profile_str(p, m->filename), want->filename ? want->filename : "");
    CHECK_STR(cprof_profile_str(p, m->build_id), want->build_id ? want->build_id : "");
    CHECK_EQ(m->has_functions, want->has_functions);
    CHECK_EQ(m->has_filenames, want->has_filenames);
    CHECK_EQ(m->has_line_numbers, want->has_line_numbers);
    CHECK_EQ(m->has_inline_frames, want->has_inline_frames);
}

static void check_function(const cprof_profile *p, uint64_t id, const char *name,
                           const char *system_name, const char *file, int64_t start)
{
    const Perftools__Profiles__Function *f = cprof_profile_function(p, id);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ(f->id, id);
    CHECK_STR(cprof_profile_str(p, f->name), name);
    CHECK_STR(cprof_profile_str(p, f->system_name), system_name);
    CHECK_STR(cprof_profile_str(p, f->filename), file);
    CHECK_EQ(f->start_line, start);
}

/* lines: function id, line number pairs, innermost first. */
static void check_location(const cprof_profile *p, uint64_t id, uint64_t mapping, uint64_t address,
                           size_t nlines, const uint64_t *lines)
{
    const Perftools__Profiles__Location *l = cprof_profile_location(p, id);
    CHECK(l != NULL);
    if (!l)
        return;
    CHECK_EQ(l->id, id);
    CHECK_EQ(l->mapping_id, mapping);
    CHECK_EQ(l->address, address);
    CHECK_EQ(l->is_folded, 0);
    CHECK_EQ(l->n_line, nlines);
    for (size_t i = 0; i < nlines && i < l->n_line; i++) {
        CHECK_EQ(l->line[i]->function_id, lines[2 * i]);
        CHECK_EQ(l->line[i]->line, lines[2 * i + 1]);
    }
}

static void check_sample(const cprof_profile *p, size_t i, size_t nlocs, const uint64_t *locs,
                         int64_t v0, int64_t v1, size_t nlabels)
{
    const Perftools__Profiles__Sample *s = p->pb->sample[i];
    CHECK_EQ(s->n_location_id, nlocs);
    for (size_t j = 0; j < nlocs && j < s->n_location_id; j++)
        CHECK_EQ(s->location_id[j], locs[j]);
    CHECK_EQ(s->n_value, 2);
    CHECK_EQ(s->value[0], v0);
    CHECK_EQ(s->value[1], v1);
    CHECK_EQ(s->n_label, nlabels);
}

static void check_label(const cprof_profile *p, const Perftools__Profiles__Label *l,
                        const char *key, const char *str, int64_t num, const char *unit)
{
    CHECK_STR(cprof_profile_str(p, l->key), key);
    CHECK_STR(cprof_profile_str(p, l->str), str);
    CHECK_EQ(l->num, num);
    CHECK_STR(cprof_profile_str(p, l->num_unit), unit);
}

static void check_reference(const cprof_profile *p, const struct ids *id)
{
    check_header(p);
    CHECK_EQ(p->pb->n_mapping, 2);
    check_mapping(p, id->m1, &M1);
    check_mapping(p, id->m2, &M2);
    CHECK_EQ(p->pb->n_function, 4);
    check_function(p, id->f_main, "main", "main", "/src/main.c", 5);
    check_function(p, id->f_work, "work", "work", "/src/work.c", 17);
    check_function(p, id->f_inl, "inl", "inl", "/src/work.h", 30);
    check_function(p, id->f_libc, "libc_fn", "__libc_fn", "", 0);
    CHECK_EQ(p->pb->n_location, 5);
    check_location(p, id->l1, id->m1, 0x401000, 1, (uint64_t[]){id->f_main, 10});
    check_location(p, id->l2, id->m1, 0x401100, 2, (uint64_t[]){id->f_inl, 33, id->f_work, 20});
    check_location(p, id->l3, id->m2, 0x7f0000001000, 1, (uint64_t[]){id->f_libc, 0});
    check_location(p, id->l4, id->m1, 0x401200, 0, NULL);
    check_location(p, id->l5, 0, 0, 1, (uint64_t[]){id->f_work, 21});
    CHECK(cprof_profile_location(p, 0) == NULL);
    CHECK(cprof_profile_location(p, 6) == NULL);
    CHECK(cprof_profile_function(p, 5) == NULL);
    CHECK(cprof_profile_mapping(p, 3) == NULL);
    CHECK_EQ(p->pb->n_sample, 4);
    if (p->pb->n_sample != 4)
        return;
    check_sample(p, 0, 2, (uint64_t[]){id->l2, id->l1}, 1, 10 * MS, 2);
    check_label(p, p->pb->sample[0]->label[0], "handler", "search", 0, "");
    check_label(p, p->pb->sample[0]->label[1], "bytes", "", 4096, "bytes");
    check_sample(p, 1, 3, (uint64_t[]){id->l3, id->l2, id->l1}, 2, 20 * MS, 0);
    check_sample(p, 2, 0, NULL, 0, 0, 0);
    check_sample(p, 3, 3, (uint64_t[]){id->l4, id->l5, id->l1}, 5, 50 * MS, 1);
    check_label(p, p->pb->sample[3]->label[0], "n", "", -7, "");
}

static void test_roundtrip(void)
{
    struct ids id;
    cprof_pb *pb = reference(&id);
    size_t len;
    uint8_t *gz = encode(pb, &len);
    CHECK(len > 2 && gz[0] == 0x1f && gz[1] == 0x8b);
    cprof_profile *p = parse_ok(gz, len);
    check_reference(p, &id);
    cprof_profile_free(p);
    free(gz);
    cprof_pb_free(pb);
}

/* ---- 2. interning and determinism --------------------------------------- */

static void test_interning(void)
{
    struct ids id;
    cprof_pb *pb = reference(&id);
    CHECK_EQ(cprof_pb_string(pb, NULL), 0);
    CHECK_EQ(cprof_pb_string(pb, ""), 0);
    CHECK_EQ(cprof_pb_string(pb, "main"), cprof_pb_string(pb, "main"));
    CHECK_EQ(cprof_pb_mapping(pb, &M1), id.m1);
    CHECK_EQ(cprof_pb_function(pb, "main", "main", "/src/main.c", 5), id.f_main);
    CHECK(cprof_pb_function(pb, "main", "main", "/src/other.c", 5) != id.f_main);
    /* (mapping, address) identifies a location, whatever lines come with it. */
    CHECK_EQ(cprof_pb_location(pb, id.m1, 0x401100, NULL, 0), id.l2);
    /* Address 0: the lines identify it. */
    cprof_pb_line same[] = {{id.f_work, 21}}, other[] = {{id.f_work, 22}};
    CHECK_EQ(cprof_pb_location(pb, 0, 0, same, 1), id.l5);
    CHECK(cprof_pb_location(pb, 0, 0, other, 1) != id.l5);
    cprof_pb_free(pb);
}

static void test_deterministic(void)
{
    struct ids a_ids, b_ids;
    cprof_pb *a = reference(&a_ids), *b = reference(&b_ids);
    size_t alen, blen, a2len;
    uint8_t *x = encode(a, &alen), *y = encode(b, &blen), *z = encode(a, &a2len);
    CHECK(alen == blen && memcmp(x, y, alen) == 0);
    CHECK(alen == a2len && memcmp(x, z, alen) == 0);
    free(x);
    free(y);
    free(z);
    cprof_pb_free(a);
    cprof_pb_free(b);
}

/* ---- 3. builder contract ------------------------------------------------ */

static void test_builder_errors(void)
{
    char err[256] = "";
    uint8_t *out;
    size_t len;
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample(pb, NULL, 0, (int64_t[]){1, 2}, 2, NULL, 0);
    CHECK(cprof_pb_encode(pb, &out, &len, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "2 values but the profile has 1 sample types");
    cprof_pb_free(pb);

    pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample(pb, (uint64_t[]){3}, 1, (int64_t[]){1}, 1, NULL, 0);
    CHECK(cprof_pb_encode(pb, &out, &len, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "unknown location 3");
    cprof_pb_free(pb);

    pb = cprof_pb_new();
    cprof_pb_line bad[] = {{9, 1}};
    CHECK_EQ(cprof_pb_location(pb, 0, 0x10, bad, 1), 0);
    CHECK(cprof_pb_encode(pb, &out, &len, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "unknown function 9");
    cprof_pb_free(pb);

    /* No labels, lines or locations anywhere: empty arrays all the way. */
    pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    uint64_t bare = cprof_pb_location(pb, 0, 0x10, NULL, 0);
    cprof_pb_add_sample(pb, NULL, 0, (int64_t[]){1}, 1, NULL, 0);
    cprof_pb_add_sample(pb, &bare, 1, (int64_t[]){2}, 1, NULL, 0);
    out = encode(pb, &len);
    cprof_profile *q = parse_ok(out, len);
    CHECK_EQ(q->pb->n_sample, 2);
    CHECK_EQ(q->pb->sample[1]->location_id[0], bare);
    CHECK_EQ(cprof_profile_location(q, bare)->n_line, 0);
    cprof_profile_free(q);
    free(out);
    cprof_pb_free(pb);

    /* An empty builder still makes a valid (empty) profile. */
    pb = cprof_pb_new();
    out = encode(pb, &len);
    cprof_profile *p = parse_ok(out, len);
    CHECK_EQ(p->pb->n_sample, 0);
    cprof_profile_free(p);
    free(out);
    cprof_pb_free(pb);
}

/* ---- 4. files ----------------------------------------------------------- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_files(void)
{
    char dir[] = "/tmp/cprof-roundtrip-XXXXXX", path[128], err[256] = "";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/cpu.pb.gz", dir);
    struct ids id;
    cprof_pb *pb = reference(&id);
    CHECK(cprof_pb_write_file(pb, path, err, sizeof err) == 0);
    CHECK(cprof_pb_write_file(pb, path, err, sizeof err) == 0); /* replaces */
    CHECK_EQ(count_entries(dir), 1);                            /* no temp file left */
    cprof_profile *p = cprof_profile_read_file(path, err, sizeof err);
    CHECK(p != NULL);
    if (p)
        check_reference(p, &id);
    cprof_profile_free(p);

    CHECK(cprof_pb_write_file(pb, "/nonexistent-dir/cpu.pb.gz", err, sizeof err) == -1);
    CHECK_STR(err, "/nonexistent-dir/cpu.pb.gz: No such file or directory");
    cprof_pb_free(pb);

    CHECK(cprof_profile_read_file("/nonexistent-dir/x.pb.gz", err, sizeof err) == NULL);
    CHECK_STR(err, "/nonexistent-dir/x.pb.gz: no such file");
    CHECK(cprof_profile_read_file(dir, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "is a directory");
    snprintf(path, sizeof path, "%s/empty", dir);
    fclose(fopen(path, "w"));
    CHECK(cprof_profile_read_file(path, err, sizeof err) == NULL);
    char want[160];
    snprintf(want, sizeof want, "%s: empty file", path);
    CHECK_STR(err, want);
    unlink(path);
    snprintf(path, sizeof path, "%s/cpu.pb.gz", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- 5. malformed messages ---------------------------------------------- */

typedef void (*mutate_fn)(Perftools__Profiles__Profile *pb);

/* Decodes the reference, lets m break one thing, re-encodes without gzip and
 * checks the reader's error. protobuf-c packs whatever the struct holds, so
 * this reaches states the builder would never produce. */
static void mutated(mutate_fn m, const char *want, int line)
{
    struct ids id;
    cprof_pb *b = reference(&id);
    size_t len;
    uint8_t *gz = encode(b, &len);
    cprof_profile *p = parse_ok(gz, len);
    size_t nstrings = p->pb->n_string_table;
    char *first = p->pb->string_table[0];
    m(p->pb);
    size_t n = perftools__profiles__profile__get_packed_size(p->pb);
    uint8_t *raw = malloc(n + 1);
    perftools__profiles__profile__pack(p->pb, raw);
    parse_fails(raw, n, want, line);
    free(raw);
    /* Undo what free_unpacked depends on; the other mutations only change
     * numbers it never follows. */
    p->pb->n_string_table = nstrings;
    p->pb->string_table[0] = first;
    cprof_profile_free(p);
    free(gz);
    cprof_pb_free(b);
}

static char not_empty[] = "x";

static void m_first_string(Perftools__Profiles__Profile *pb)
{
    pb->string_table[0] = not_empty;
}
static void m_no_strings(Perftools__Profiles__Profile *pb)
{
    pb->n_string_table = 0;
}
static void m_type_unit(Perftools__Profiles__Profile *pb)
{
    pb->sample_type[0]->unit = 999;
}
static void m_fn_name(Perftools__Profiles__Profile *pb)
{
    pb->function[1]->name = -1;
}
static void m_fn_file(Perftools__Profiles__Profile *pb)
{
    pb->function[0]->filename = 1000;
}
static void m_sample_loc(Perftools__Profiles__Profile *pb)
{
    pb->sample[1]->location_id[2] = 999;
}
static void m_line_fn(Perftools__Profiles__Profile *pb)
{
    pb->location[1]->line[1]->function_id = 77;
}
static void m_line_fn0(Perftools__Profiles__Profile *pb)
{
    pb->location[0]->line[0]->function_id = 0;
}
static void m_loc_map(Perftools__Profiles__Profile *pb)
{
    pb->location[2]->mapping_id = 9;
}
static void m_values(Perftools__Profiles__Profile *pb)
{
    pb->sample[3]->n_value = 1;
}
static void m_loc_id0(Perftools__Profiles__Profile *pb)
{
    pb->location[3]->id = 0;
}
static void m_dup_fn(Perftools__Profiles__Profile *pb)
{
    pb->function[2]->id = pb->function[0]->id;
}
static void m_dup_map(Perftools__Profiles__Profile *pb)
{
    pb->mapping[1]->id = pb->mapping[0]->id;
}
static void m_label_key(Perftools__Profiles__Profile *pb)
{
    pb->sample[0]->label[0]->key = 500;
}
static void m_label_unit(Perftools__Profiles__Profile *pb)
{
    pb->sample[0]->label[1]->num_unit = 500;
}
static void m_comment(Perftools__Profiles__Profile *pb)
{
    pb->comment[1] = 500;
}
static void m_default_type(Perftools__Profiles__Profile *pb)
{
    pb->default_sample_type = 500;
}
static void m_period_type(Perftools__Profiles__Profile *pb)
{
    pb->period_type->type = 500;
}
static void m_build_id(Perftools__Profiles__Profile *pb)
{
    pb->mapping[0]->build_id = 500;
}
static void m_drop_frames(Perftools__Profiles__Profile *pb)
{
    pb->drop_frames = -3;
}

static void test_malformed(void)
{
    mutated(m_first_string, "does not start with \"\"", __LINE__);
    mutated(m_no_strings, "no string table", __LINE__);
    mutated(m_type_unit, "sample type unit refers to string 999", __LINE__);
    mutated(m_fn_name, "function 2 name refers to string -1", __LINE__);
    mutated(m_fn_file, "function 1 filename refers to string 1000", __LINE__);
    mutated(m_sample_loc, "sample 1 refers to missing location 999", __LINE__);
    mutated(m_line_fn, "location 2 refers to missing function 77", __LINE__);
    mutated(m_line_fn0, "location 1 refers to missing function 0", __LINE__);
    mutated(m_loc_map, "location 3 refers to missing mapping 9", __LINE__);
    mutated(m_values, "sample 3 has 1 values but the profile has 2 sample types", __LINE__);
    mutated(m_loc_id0, "has id 0", __LINE__);
    mutated(m_dup_fn, "two functions have id 1", __LINE__);
    mutated(m_dup_map, "two mappings have id 1", __LINE__);
    mutated(m_label_key, "sample 0 label key refers to string 500", __LINE__);
    mutated(m_label_unit, "sample 0 label unit refers to string 500", __LINE__);
    mutated(m_comment, "comment 1 refers to string 500", __LINE__);
    mutated(m_default_type, "default_sample_type refers to string 500", __LINE__);
    mutated(m_period_type, "period type refers to string 500", __LINE__);
    mutated(m_build_id, "mapping 1 build id refers to string 500", __LINE__);
    mutated(m_drop_frames, "drop_frames refers to string -3", __LINE__);
}

/* Ids need not be 1..n in order; lookups must still find them. */
static void m_shuffle_ids(Perftools__Profiles__Profile *pb)
{
    static const uint64_t loc_ids[] = {50, 7, 1000, 3, 12};
    for (size_t i = 0; i < pb->n_location; i++) {
        uint64_t old = pb->location[i]->id;
        pb->location[i]->id = loc_ids[i];
        for (size_t s = 0; s < pb->n_sample; s++)
            for (size_t j = 0; j < pb->sample[s]->n_location_id; j++)
                if (pb->sample[s]->location_id[j] == old)
                    pb->sample[s]->location_id[j] = loc_ids[i] | 1ULL << 63;
    }
    for (size_t s = 0; s < pb->n_sample; s++)
        for (size_t j = 0; j < pb->sample[s]->n_location_id; j++)
            pb->sample[s]->location_id[j] &= ~(1ULL << 63);
}

static void test_sparse_ids(void)
{
    struct ids id;
    cprof_pb *b = reference(&id);
    size_t len;
    uint8_t *gz = encode(b, &len);
    cprof_profile *p = parse_ok(gz, len);
    m_shuffle_ids(p->pb);
    size_t n = perftools__profiles__profile__get_packed_size(p->pb);
    uint8_t *raw = malloc(n);
    perftools__profiles__profile__pack(p->pb, raw);
    cprof_profile *q = parse_ok(raw, n);
    static const uint64_t want[] = {50, 7, 1000, 3, 12};
    for (size_t i = 0; i < 5; i++) {
        CHECK(cprof_profile_location(q, want[i]) == q->pb->location[i]);
        CHECK_EQ(cprof_profile_location_pos(q, want[i]), i);
    }
    CHECK(cprof_profile_location(q, 1) == NULL);
    CHECK(cprof_profile_location(q, 4) == NULL);
    CHECK(cprof_profile_location(q, 2000) == NULL);
    CHECK_EQ(q->pb->sample[0]->location_id[0], 7);
    cprof_profile_free(q);
    free(raw);
    cprof_profile_free(p);
    free(gz);
    cprof_pb_free(b);
}

/* ---- 6. gzip ------------------------------------------------------------ */

static uint8_t *gzip_of(const uint8_t *data, size_t len, size_t *out_len)
{
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&zs, len) + 64;
    uint8_t *out = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

static uint8_t *gunzip_of(const uint8_t *gz, size_t len, size_t *out_len)
{
    size_t cap = 1 << 20;
    uint8_t *out = malloc(cap);
    z_stream zs = {0};
    inflateInit2(&zs, 15 + 16);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    *out_len = zs.total_out;
    inflateEnd(&zs);
    return out;
}

/* A gzip member that inflates to more than the reader's 1 GiB bound. One
 * MiB of zeros is deflated once, ending in a full flush (byte-aligned, no
 * reference to earlier data), and that chunk is repeated 1100 times. The
 * stream has no end or trailer: the reader must give up before needing them. */
static uint8_t *gzip_bomb(size_t *out_len)
{
    static const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    static uint8_t zeros[1 << 20], chunk[1 << 16];
    z_stream zs = {0};
    deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_RLE);
    zs.next_in = zeros;
    zs.avail_in = sizeof zeros;
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    CHECK(deflate(&zs, Z_FULL_FLUSH) == Z_OK && zs.avail_in == 0);
    size_t clen = zs.total_out;
    deflateEnd(&zs);
    enum { REPEAT = 1100 };
    uint8_t *out = malloc(sizeof header + REPEAT * clen);
    memcpy(out, header, sizeof header);
    for (size_t i = 0; i < REPEAT; i++)
        memcpy(out + sizeof header + i * clen, chunk, clen);
    *out_len = sizeof header + REPEAT * clen;
    return out;
}

static void test_gzip(void)
{
    struct ids id;
    cprof_pb *b = reference(&id);
    size_t len, raw_len;
    uint8_t *gz = encode(b, &len);
    uint8_t *raw = gunzip_of(gz, len, &raw_len);

    /* Plain protobuf is read as well. */
    cprof_profile *p = parse_ok(raw, raw_len);
    check_reference(p, &id);
    cprof_profile_free(p);

    /* Two gzip members are one stream, as for gzip(1) and Go. */
    size_t h1, h2;
    uint8_t *g1 = gzip_of(raw, raw_len / 2, &h1);
    uint8_t *g2 = gzip_of(raw + raw_len / 2, raw_len - raw_len / 2, &h2);
    uint8_t *cat = malloc(h1 + h2 + 8);
    memcpy(cat, g1, h1);
    memcpy(cat + h1, g2, h2);
    p = parse_ok(cat, h1 + h2);
    check_reference(p, &id);
    cprof_profile_free(p);
    parse_fails(cat, h1 + 5, "truncated gzip data", __LINE__);
    parse_fails(cat, h1 + h2 - 1, "truncated gzip data", __LINE__);
    memcpy(cat + h1 + h2, "garbage!", 8);
    parse_fails(cat, h1 + h2 + 8, "trailing garbage after gzip data", __LINE__);

    size_t cuts[] = {2, 10, 11, len / 2, len - 8, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        parse_fails(gz, cuts[i], "truncated gzip data", __LINE__);

    gz[len - 6] ^= 0xff; /* the CRC */
    parse_fails(gz, len, "corrupt gzip data", __LINE__);

    parse_fails(raw, raw_len / 2, "not a pprof profile", __LINE__);
    parse_fails((const uint8_t *)"", 0, "empty file", __LINE__);
    size_t elen;
    uint8_t *empty = gzip_of((const uint8_t *)"", 0, &elen);
    parse_fails(empty, elen, "empty profile", __LINE__);

    size_t blen;
    uint8_t *bomb = gzip_bomb(&blen);
    parse_fails(bomb, blen, "larger than 1024 MiB", __LINE__);

    free(bomb);
    free(empty);
    free(cat);
    free(g1);
    free(g2);
    free(raw);
    free(gz);
    cprof_pb_free(b);
}

/* ---- 7. scale ----------------------------------------------------------- */

/* 100k functions and locations, 200k samples: quadratic interning or lookups
 * would take minutes here; hash tables take well under a second. */
static void test_scale(void)
{
    enum { N = 100000 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_mapping_info mi = {0x400000, 0x40000000, 0, "/bin/big", NULL, 1, 1, 1, 1};
    uint64_t m = cprof_pb_mapping(pb, &mi);
    char name[32];
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t i = 0; i < N; i++) {
            snprintf(name, sizeof name, "fn_%llu", (unsigned long long)i);
            cprof_pb_line line = {cprof_pb_function(pb, name, name, "/src/big.c", 1), 1};
            uint64_t l = cprof_pb_location(pb, m, 0x400000 + 16 * i, &line, 1);
            if (l != i + 1) {
                CHECK_EQ(l, i + 1);
                break;
            }
            uint64_t stack[2] = {l, (i * 7919) % (i + 1) + 1};
            int64_t v = 1;
            cprof_pb_add_sample(pb, stack, 2, &v, 1, NULL, 0);
        }
    }
    size_t len;
    uint8_t *gz = encode(pb, &len);
    cprof_profile *p = parse_ok(gz, len);
    CHECK_EQ(p->pb->n_location, N);
    CHECK_EQ(p->pb->n_function, N);
    CHECK_EQ(p->pb->n_sample, 2 * N);
    CHECK_EQ(cprof_profile_location(p, N)->address, 0x400000 + 16 * (N - 1));
    cprof_profile_free(p);
    free(gz);
    cprof_pb_free(pb);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* Generous for sanitizer builds; a linear scan would take minutes. */
    CHECK(secs < 20);
}

int main(void)
{
    test_roundtrip();
    test_interning();
    test_deterministic();
    test_builder_errors();
    test_files();
    test_malformed();
    test_sparse_ids();
    test_gzip();
    test_scale();
    if (failures) {
        fprintf(stderr, "test-pprof-roundtrip: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test-pprof-roundtrip: all checks passed\n");
    return 0;
}
