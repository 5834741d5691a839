/*
 * test-pprof-write.c: writes the profiles the shell tests feed to `cprof top`
 * and `go tool pprof`: synthetic profiles with known numbers built with the
 * builder, a profile with a dangling reference crafted by hand (the builder
 * refuses to make one), and seeded pseudo-random bytes.
 *
 *   test-pprof-write golden|heap|labels|dangling|random FILE
 *   test-pprof-write golden-hot2x|listing|tagged|large FILE   (the reports' tests)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof_build.h"
#include "profile.pb-c.h"

#define MS 1000000LL

static int finish(cprof_pb *pb, const char *path)
{
    char err[256];
    int rc = cprof_pb_write_file(pb, path, err, sizeof err);
    if (rc)
        fprintf(stderr, "test-pprof-write: %s\n", err);
    cprof_pb_free(pb);
    return rc ? 1 : 0;
}

static uint64_t fn(cprof_pb *pb, const char *name)
{
    return cprof_pb_function(pb, name, name, "/src/golden.c", 1);
}

/* A location in the main binary whose lines are (innermost first) f0, f1. */
static uint64_t loc(cprof_pb *pb, uint64_t map, uint64_t addr, uint64_t f0, uint64_t f1)
{
    cprof_pb_line lines[2] = {{f0, 10}, {f1, 20}};
    return cprof_pb_location(pb, map, addr, lines, f1 ? 2 : 1);
}

/* Adds n samples of 10ms each, one call at a time like a sampler would. */
static void cpu_samples(cprof_pb *pb, const uint64_t *stack, size_t depth, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t v[2] = {1, 10 * MS};
        cprof_pb_add_sample(pb, stack, depth, v, 2, NULL, 0);
    }
}

/*
 * The golden CPU profile, 2.5 s in 250 samples over a 3 s duration:
 *   main;work;hot            150  (1.50s)
 *   main;work;helper(inline)  50  (0.50s)  helper inlined into work
 *   main;rec;rec;rec          30  (0.30s)  recursion: rec's cum is 0.30s once
 *   main;0x401600             15  (0.15s)  a frame without symbols
 *   main                       4  (0.04s)
 *   main;work;tiny             1  (0.01s)  under pprof's 0.5% node fraction
 */
static int golden(const char *path)
{
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample_type(pb, "cpu", "nanoseconds");
    cprof_pb_set_period(pb, "cpu", "nanoseconds", 10 * MS);
    cprof_pb_set_time(pb, 1700000000LL * 1000000000LL, 3000 * MS);
    cprof_pb_mapping_info mi = {0x400000, 0x500000, 0, "/usr/bin/golden", "0123abcd", 1, 1, 1, 1};
    uint64_t m = cprof_pb_mapping(pb, &mi);
    uint64_t main_ = loc(pb, m, 0x401000, fn(pb, "main"), 0);
    uint64_t work = loc(pb, m, 0x401100, fn(pb, "work"), 0);
    uint64_t hot = loc(pb, m, 0x401200, fn(pb, "hot"), 0);
    uint64_t inl = loc(pb, m, 0x401300, fn(pb, "helper"), fn(pb, "work"));
    uint64_t rec = loc(pb, m, 0x401400, fn(pb, "rec"), 0);
    uint64_t tiny = loc(pb, m, 0x401500, fn(pb, "tiny"), 0);
    uint64_t bare = cprof_pb_location(pb, m, 0x401600, NULL, 0);
    cpu_samples(pb, (uint64_t[]){hot, work, main_}, 3, 150);
    cpu_samples(pb, (uint64_t[]){inl, main_}, 2, 50);
    cpu_samples(pb, (uint64_t[]){rec, rec, rec, main_}, 4, 30);
    cpu_samples(pb, (uint64_t[]){bare, main_}, 2, 15);
    cpu_samples(pb, (uint64_t[]){main_}, 1, 4);
    cpu_samples(pb, (uint64_t[]){tiny, work, main_}, 3, 1);
    return finish(pb, path);
}

/* A heap profile shaped like Go's, with values in bytes that need kB/MB. */
static int heap(const char *path)
{
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "alloc_objects", "count");
    cprof_pb_add_sample_type(pb, "alloc_space", "bytes");
    cprof_pb_add_sample_type(pb, "inuse_objects", "count");
    cprof_pb_add_sample_type(pb, "inuse_space", "bytes");
    cprof_pb_set_period(pb, "space", "bytes", 512 * 1024);
    cprof_pb_mapping_info mi = {0x400000, 0x500000, 0, "/usr/bin/heapy", NULL, 1, 1, 1, 0};
    uint64_t m = cprof_pb_mapping(pb, &mi);
    uint64_t main_ = loc(pb, m, 0x401000, fn(pb, "main"), 0);
    uint64_t big = loc(pb, m, 0x401100, fn(pb, "alloc_big"), 0);
    uint64_t small = loc(pb, m, 0x401200, fn(pb, "alloc_small"), 0);
    int64_t v1[4] = {10, 10 * 1024 * 1024, 4, 4 * 1024 * 1024};
    int64_t v2[4] = {3000, 3000 * 100, 1000, 1000 * 100};
    cprof_pb_add_sample(pb, (uint64_t[]){big, main_}, 2, v1, 4, NULL, 0);
    cprof_pb_add_sample(pb, (uint64_t[]){small, main_}, 2, v2, 4, NULL, 0);
    return finish(pb, path);
}

/* Labels of both kinds, for `go tool pprof -raw` to show. */
static int labels(const char *path)
{
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample_type(pb, "cpu", "nanoseconds");
    cprof_pb_set_period(pb, "cpu", "nanoseconds", 10 * MS);
    uint64_t f = fn(pb, "handler");
    uint64_t l = loc(pb, 0, 0, f, 0);
    cprof_pb_label lab[2] = {{"handler", "search", 0, NULL}, {"bytes", NULL, 4096, "bytes"}};
    int64_t v[2] = {7, 70 * MS};
    cprof_pb_add_sample(pb, &l, 1, v, 2, lab, 2);
    return finish(pb, path);
}

/* Valid in every way except that the sample names location 99. */
static int dangling(const char *path)
{
    char *strs[] = {"", "samples", "count", "main"};
    Perftools__Profiles__ValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, *vts[] = {&vt};
    vt.type = 1;
    vt.unit = 2;
    Perftools__Profiles__Function f = PERFTOOLS__PROFILES__FUNCTION__INIT, *fs[] = {&f};
    f.id = 1;
    f.name = 3;
    Perftools__Profiles__Line ln = PERFTOOLS__PROFILES__LINE__INIT, *lns[] = {&ln};
    ln.function_id = 1;
    Perftools__Profiles__Location l = PERFTOOLS__PROFILES__LOCATION__INIT, *ls[] = {&l};
    l.id = 1;
    l.n_line = 1;
    l.line = lns;
    uint64_t ids[] = {1, 99};
    int64_t vals[] = {5};
    Perftools__Profiles__Sample s = PERFTOOLS__PROFILES__SAMPLE__INIT, *ss[] = {&s};
    s.n_location_id = 2;
    s.location_id = ids;
    s.n_value = 1;
    s.value = vals;
    Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
    p.n_sample_type = 1;
    p.sample_type = vts;
    p.n_sample = 1;
    p.sample = ss;
    p.n_location = 1;
    p.location = ls;
    p.n_function = 1;
    p.function = fs;
    p.n_string_table = 4;
    p.string_table = strs;
    size_t len = perftools__profiles__profile__get_packed_size(&p);
    uint8_t *buf = malloc(len);
    perftools__profiles__profile__pack(&p, buf);
    FILE *out = fopen(path, "wb");
    int ok = out && fwrite(buf, 1, len, out) == len;
    if (out && fclose(out))
        ok = 0;
    free(buf);
    return ok ? 0 : 1;
}

/* 4 KiB from a fixed-seed generator: "random" bytes that are the same on
 * every run, and that do not start with the gzip magic. */
static int random_bytes(const char *path)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return 1;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 4096; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        fputc((int)(x >> 56), out);
    }
    return fclose(out) ? 1 : 0;
}

/* ==== Profiles for the report tests (tests/test-report-*.sh) ==============
 * Kept apart from the ones above so that the top tests' numbers never move.
 */

/* The golden profile with hot's weight doubled (300 samples instead of
 * 150): `cprof diff` against golden must report +1.50s on hot and on work
 * and main's cum, and nothing else. */
static int golden_hot2x(const char *path)
{
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample_type(pb, "cpu", "nanoseconds");
    cprof_pb_set_period(pb, "cpu", "nanoseconds", 10 * MS);
    cprof_pb_set_time(pb, 1700000000LL * 1000000000LL, 3000 * MS);
    cprof_pb_mapping_info mi = {0x400000, 0x500000, 0, "/usr/bin/golden", "0123abcd", 1, 1, 1, 1};
    uint64_t m = cprof_pb_mapping(pb, &mi);
    uint64_t main_ = loc(pb, m, 0x401000, fn(pb, "main"), 0);
    uint64_t work = loc(pb, m, 0x401100, fn(pb, "work"), 0);
    uint64_t hot = loc(pb, m, 0x401200, fn(pb, "hot"), 0);
    uint64_t inl = loc(pb, m, 0x401300, fn(pb, "helper"), fn(pb, "work"));
    uint64_t rec = loc(pb, m, 0x401400, fn(pb, "rec"), 0);
    uint64_t tiny = loc(pb, m, 0x401500, fn(pb, "tiny"), 0);
    uint64_t bare = cprof_pb_location(pb, m, 0x401600, NULL, 0);
    cpu_samples(pb, (uint64_t[]){hot, work, main_}, 3, 300);
    cpu_samples(pb, (uint64_t[]){inl, main_}, 2, 50);
    cpu_samples(pb, (uint64_t[]){rec, rec, rec, main_}, 4, 30);
    cpu_samples(pb, (uint64_t[]){bare, main_}, 2, 15);
    cpu_samples(pb, (uint64_t[]){main_}, 1, 4);
    cpu_samples(pb, (uint64_t[]){tiny, work, main_}, 3, 1);
    return finish(pb, path);
}

/* A location at a source line of listing.c (tests/golden/report/src/). */
static uint64_t src_loc(cprof_pb *pb, uint64_t map, uint64_t addr, uint64_t f, int64_t line)
{
    cprof_pb_line l = {f, line};
    return cprof_pb_location(pb, map, addr, &l, 1);
}

/*
 * For `cprof list`: functions of src/listing.c with known lines, 1 s in
 * 100 samples of 10ms:
 *   main (starts line 20) calls sum at line 24 (70) and scale at line 26 (30)
 *   sum (starts line 5) spends 40 at line 8 and 30 at line 9
 *   scale (no start line) spends 30 at line 15
 *   nofile: a function without a source file (10 samples, under main:24)
 *   beyond: a function whose line 200 is past the end of the file (5)
 */
static int listing(const char *path)
{
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample_type(pb, "cpu", "nanoseconds");
    cprof_pb_set_period(pb, "cpu", "nanoseconds", 10 * MS);
    cprof_pb_mapping_info mi = {0x400000, 0x500000, 0, "/usr/bin/listing", NULL, 1, 1, 1, 0};
    uint64_t m = cprof_pb_mapping(pb, &mi);
    const char *file = "/build/project/src/listing.c";
    uint64_t fmain = cprof_pb_function(pb, "main", "main", file, 20);
    uint64_t fsum = cprof_pb_function(pb, "sum", "sum", file, 5);
    uint64_t fscale = cprof_pb_function(pb, "scale", "scale", file, 0);
    uint64_t fnofile = cprof_pb_function(pb, "nofile", "nofile", NULL, 0);
    uint64_t fbeyond = cprof_pb_function(pb, "beyond", "beyond", file, 0);
    uint64_t m24 = src_loc(pb, m, 0x1024, fmain, 24), m26 = src_loc(pb, m, 0x1026, fmain, 26);
    uint64_t s8 = src_loc(pb, m, 0x1008, fsum, 8), s9 = src_loc(pb, m, 0x1009, fsum, 9);
    uint64_t c15 = src_loc(pb, m, 0x1015, fscale, 15);
    uint64_t nf = src_loc(pb, m, 0x2000, fnofile, 3);
    uint64_t b200 = src_loc(pb, m, 0x2200, fbeyond, 200);
    cpu_samples(pb, (uint64_t[]){s8, m24}, 2, 40);
    cpu_samples(pb, (uint64_t[]){s9, m24}, 2, 30);
    cpu_samples(pb, (uint64_t[]){c15, m26}, 2, 30);
    cpu_samples(pb, (uint64_t[]){nf, m24}, 2, 10);
    cpu_samples(pb, (uint64_t[]){b200, m26}, 2, 5);
    return finish(pb, path);
}

/* For -tagfocus: the same stack under two labels, 60 and 40 samples, and
 * a numeric label. */
static int tagged(const char *path)
{
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample_type(pb, "cpu", "nanoseconds");
    cprof_pb_set_period(pb, "cpu", "nanoseconds", 10 * MS);
    uint64_t main_ = loc(pb, 0, 0, fn(pb, "main"), 0);
    uint64_t a = loc(pb, 0, 0, fn(pb, "handle_search"), 0);
    uint64_t b = loc(pb, 0, 0, fn(pb, "handle_health"), 0);
    cprof_pb_label ls[2] = {{"handler", "search", 0, NULL}, {"bytes", NULL, 4096, "bytes"}};
    cprof_pb_label lh[2] = {{"handler", "health", 0, NULL}, {"bytes", NULL, 16, "bytes"}};
    int64_t v[2] = {60, 600 * MS}, w[2] = {40, 400 * MS};
    cprof_pb_add_sample(pb, (uint64_t[]){a, main_}, 2, v, 2, ls, 2);
    cprof_pb_add_sample(pb, (uint64_t[]){b, main_}, 2, w, 2, lh, 2);
    return finish(pb, path);
}

/* For the benchmark (scripts/bench-report.sh): 100,000 samples over 10,000
 * locations of 2,000 functions, stacks 8 to 40 deep, from a fixed seed. */
static int large(const char *path)
{
    enum { NFUNC = 2000, NLOC = 10000, NSAMPLE = 100000 };
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof_pb_add_sample_type(pb, "cpu", "nanoseconds");
    cprof_pb_set_period(pb, "cpu", "nanoseconds", 10 * MS);
    cprof_pb_set_time(pb, 1700000000LL * 1000000000LL, 1000000 * MS);
    cprof_pb_mapping_info mi = {0x400000, 0x4000000, 0, "/usr/bin/large", NULL, 1, 1, 1, 0};
    uint64_t m = cprof_pb_mapping(pb, &mi);
    static uint64_t funcs[NFUNC], locs[NLOC];
    char name[64];
    for (int i = 0; i < NFUNC; i++) {
        snprintf(name, sizeof name, "module%d_function%d", i % 50, i);
        funcs[i] = cprof_pb_function(pb, name, name, "/src/large.c", i * 10 + 1);
    }
    for (int i = 0; i < NLOC; i++) {
        cprof_pb_line l = {funcs[i % NFUNC], (i % NFUNC) * 10 + 2 + i / NFUNC};
        locs[i] = cprof_pb_location(pb, m, 0x400000 + (uint64_t)i * 16, &l, 1);
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL, stack[40];
    for (int s = 0; s < NSAMPLE; s++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t depth = 8 + x % 33;
        /* Shared roots, varied leaves: like a real program's tree. */
        for (size_t d = 0; d < depth; d++) {
            uint64_t r = x >> (d % 48);
            size_t pick = d < 3 ? d * 7 + (r % 3) : (r * 2654435761u + d * 131) % NLOC;
            stack[depth - 1 - d] = locs[pick];
        }
        int64_t v[2] = {1, 10 * MS};
        cprof_pb_add_sample(pb, stack, depth, v, 2, NULL, 0);
    }
    return finish(pb, path);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test-pprof-write golden|heap|labels|dangling|random|"
                        "golden-hot2x|listing|tagged|large FILE\n");
        return 2;
    }
    const char *kind = argv[1], *path = argv[2];
    if (!strcmp(kind, "golden"))
        return golden(path);
    if (!strcmp(kind, "heap"))
        return heap(path);
    if (!strcmp(kind, "labels"))
        return labels(path);
    if (!strcmp(kind, "dangling"))
        return dangling(path);
    if (!strcmp(kind, "random"))
        return random_bytes(path);
    if (!strcmp(kind, "golden-hot2x"))
        return golden_hot2x(path);
    if (!strcmp(kind, "listing"))
        return listing(path);
    if (!strcmp(kind, "tagged"))
        return tagged(path);
    if (!strcmp(kind, "large"))
        return large(path);
    fprintf(stderr, "test-pprof-write: unknown kind %s\n", kind);
    return 2;
}
