/*
 * test-symbols.c: the symbolizer (src/runtime/symbols.c) against ground truth
 * the test makes itself: functions whose lines it records with __LINE__, an
 * always_inline function inlined into another, small shared libraries built
 * for the test (C with DWARF, C stripped, C++ with DWARF and stripped), the
 * vDSO, and an anonymous executable page. Build ids are compared with what
 * binutils' readelf prints. Every check reads the profile back through
 * cprof_pb_encode and the pprof reader, as a consumer would see it.
 *
 * Built three ways (see symbols.cmake): -O0 -g, -O2 -g, and -O2 stripped
 * (linked with -rdynamic so that .dynsym names the test's own functions).
 *
 * Usage: test-symbols [PROFILE_OUT]  (writes the profile for go tool pprof)
 *        test-symbols --cost LIB N   (symbolizes N pcs spread over LIB)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pprof_build.h"
#include "pprof_read.h"
#include "symbols.h"
#include "symlib.h"

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa)) /* no inlining, cloning or IPA rewrites */
#endif

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* ---- ground truth: code whose addresses and lines we know ------------------ */

static volatile int sink;
static uintptr_t captured[4]; /* the call instructions that called capture() */
static int ncaptured;

NOIPA static int capture(void)
{
    if (ncaptured < 4)
        captured[ncaptured++] = (uintptr_t)__builtin_return_address(0) - 1;
    __asm__ volatile("" ::: "memory");
    return 1;
}

/* lines[0], lines[2]: the lines naming symtest_inner and symtest_outer (their
 * DW_AT_decl_line); lines[1]: the call to capture() inside symtest_inner;
 * lines[3]: the call of symtest_inner in symtest_outer. The declarator and the
 * first statement share a line so that __LINE__ gives the decl line. */
// clang-format off
static inline __attribute__((always_inline)) void symtest_inner(int lines[4]) { lines[0] = __LINE__;
    lines[1] = __LINE__ + 1;
    capture();
    sink++; /* work after the call: no tail call */
}

NOIPA void symtest_outer(int lines[4]) { lines[2] = __LINE__;
    lines[3] = __LINE__ + 1;
    symtest_inner(lines);
    sink++;
}
// clang-format on

/* ---- helpers ------------------------------------------------------------------ */

/* The build id as binutils' readelf prints it, or "" (no note, no readelf). */
static void readelf_build_id(const char *path, char *out, size_t outlen)
{
    char cmd[PATH_MAX + 64], line[512], id[256];
    out[0] = '\0';
    snprintf(cmd, sizeof cmd, "readelf -n '%s' 2>/dev/null", path);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "Build ID: ");
        if (p && sscanf(p + 10, "%255s", id) == 1)
            snprintf(out, outlen, "%s", id);
    }
    pclose(f);
}

static const char *str(const cprof_profile *p, int64_t i)
{
    return cprof_profile_str(p, i);
}

static const Perftools__Profiles__Mapping *mapping_named(const cprof_profile *p, const char *file)
{
    for (size_t i = 0; i < p->pb->n_mapping; i++)
        if (strcmp(str(p, p->pb->mapping[i]->filename), file) == 0)
            return p->pb->mapping[i];
    return NULL;
}

struct want_line {
    const char *name;        /* Function.name */
    const char *system_name; /* Function.system_name; NULL: not checked */
    const char *file;        /* Function.filename ("" when unknown) */
    int64_t line, start_line;
};

/* Checks the Location `id` for `pc`: its lines, and that its mapping is the
 * one whose file is `map_file` (NULL: no mapping). */
static void check_location(const cprof_profile *p, const char *what, uint64_t id, uint64_t pc,
                           const struct want_line *want, size_t nwant, const char *map_file)
{
    const Perftools__Profiles__Location *loc = cprof_profile_location(p, id);
    CHECK(loc != NULL, "%s: location %" PRIu64 " missing", what, id);
    if (loc == NULL)
        return;
    CHECK(loc->address == pc, "%s: address %#" PRIx64 ", want %#" PRIx64, what, loc->address, pc);
    const Perftools__Profiles__Mapping *m = cprof_profile_mapping(p, loc->mapping_id);
    if (map_file == NULL) {
        CHECK(loc->mapping_id == 0, "%s: mapping %" PRIu64 ", want none", what, loc->mapping_id);
    } else {
        CHECK(m && strcmp(str(p, m->filename), map_file) == 0, "%s: mapping file %s, want %s", what,
              m ? str(p, m->filename) : "(none)", map_file);
        CHECK(m && pc >= m->memory_start && pc < m->memory_limit, "%s: pc outside its mapping",
              what);
    }
    CHECK(loc->n_line == nwant, "%s: %zu lines, want %zu", what, loc->n_line, nwant);
    for (size_t i = 0; want && i < loc->n_line && i < nwant; i++) {
        const Perftools__Profiles__Function *f =
            cprof_profile_function(p, loc->line[i]->function_id);
        CHECK(f != NULL, "%s: line %zu: no function", what, i);
        if (f == NULL)
            continue;
        CHECK(strcmp(str(p, f->name), want[i].name) == 0, "%s: line %zu: function %s, want %s",
              what, i, str(p, f->name), want[i].name);
        CHECK(!want[i].system_name || strcmp(str(p, f->system_name), want[i].system_name) == 0,
              "%s: line %zu: system name %s, want %s", what, i, str(p, f->system_name),
              want[i].system_name);
        CHECK(strcmp(str(p, f->filename), want[i].file) == 0, "%s: line %zu: file %s, want %s",
              what, i, str(p, f->filename), want[i].file);
        CHECK(loc->line[i]->line == want[i].line, "%s: line %zu: line %" PRId64 ", want %" PRId64,
              what, i, loc->line[i]->line, want[i].line);
        CHECK(f->start_line == want[i].start_line,
              "%s: line %zu: start_line %" PRId64 ", want %" PRId64, what, i, f->start_line,
              want[i].start_line);
    }
}

static void check_mapping_build_id(const cprof_profile *p, const char *file, const char *elf_path,
                                   int has_lines)
{
    const Perftools__Profiles__Mapping *m = mapping_named(p, file);
    CHECK(m != NULL, "no mapping for %s", file);
    if (m == NULL)
        return;
    char want[256];
    readelf_build_id(elf_path, want, sizeof want);
    CHECK(want[0] != '\0', "readelf shows no build id for %s", elf_path);
    CHECK(strcmp(str(p, m->build_id), want) == 0, "%s: build id %s, readelf says %s", file,
          str(p, m->build_id), want);
    CHECK(m->has_functions, "%s: has_functions not set", file);
    CHECK(m->has_filenames == has_lines && m->has_line_numbers == has_lines &&
              m->has_inline_frames == has_lines,
          "%s: has_filenames/line_numbers/inline_frames %d/%d/%d, want %d", file, m->has_filenames,
          m->has_line_numbers, m->has_inline_frames, has_lines);
}

static cprof_profile *encode_and_read(cprof_pb *pb, const char *out_path)
{
    uint8_t *buf;
    size_t len;
    char err[256];
    if (cprof_pb_encode(pb, &buf, &len, err, sizeof err) != 0) {
        fprintf(stderr, "cprof_pb_encode: %s\n", err);
        exit(1);
    }
    if (out_path) {
        FILE *f = fopen(out_path, "wb");
        if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
            perror(out_path);
            exit(1);
        }
    }
    cprof_profile *p = cprof_profile_parse(buf, len, err, sizeof err);
    free(buf);
    if (p == NULL) {
        fprintf(stderr, "cprof_profile_parse: %s\n", err);
        exit(1);
    }
    return p;
}

static void add_sample(cprof_pb *pb, uint64_t loc)
{
    int64_t v = 1;
    cprof_pb_add_sample(pb, &loc, 1, &v, 1, NULL, 0);
}

/* Where the vDSO's function `name` is, from its own ELF headers (the test's
 * own reading, independent of the symbolizer), or 0. */
static uintptr_t vdso_symbol(const char *name)
{
    uintptr_t base = getauxval(AT_SYSINFO_EHDR);
    if (base == 0)
        return 0;
    const ElfW(Ehdr) *eh = (const void *)base;
    const ElfW(Phdr) *ph = (const void *)(base + eh->e_phoff);
    uintptr_t bias = 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
            bias = base - ph[i].p_vaddr;
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const void *)ph[i].p_vaddr; /* relative until bias is known */
    }
    if (dyn == NULL)
        return 0;
    dyn = (const void *)((uintptr_t)dyn + bias);
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *hash = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB)
            symtab = (const void *)(dyn->d_un.d_ptr + bias);
        else if (dyn->d_tag == DT_STRTAB)
            strtab = (const void *)(dyn->d_un.d_ptr + bias);
        else if (dyn->d_tag == DT_HASH)
            hash = (const void *)(dyn->d_un.d_ptr + bias);
    }
    if (!symtab || !strtab || !hash)
        return 0;
    for (uint32_t i = 0; i < hash[1]; i++) /* nchain = number of symbols */
        if (strcmp(strtab + symtab[i].st_name, name) == 0 && symtab[i].st_value)
            return symtab[i].st_value + bias;
    return 0;
}

/* Copies `lib` to a new file named by the template `path` and dlopens it. */
static void *copy_and_load(const char *lib, char *path)
{
    int out = mkstemp(path);
    FILE *in = fopen(lib, "rb");
    char buf[65536];
    size_t n;
    int ok = out >= 0 && in != NULL;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = write(out, buf, n) == (ssize_t)n;
    if (in)
        fclose(in);
    if (out >= 0 && close(out) != 0)
        ok = 0;
    return ok ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
}

/* Whether this process may open /proc/self/map_files entries (the kernel
 * asks for CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN). */
static int map_files_readable(const void *addr)
{
    char line[PATH_MAX + 128], path[96];
    int ok = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        uint64_t a, b;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64, &a, &b) == 2 && (uintptr_t)addr >= a &&
            (uintptr_t)addr < b) {
            snprintf(path, sizeof path, "/proc/self/map_files/%" PRIx64 "-%" PRIx64, a, b);
            int fd = open(path, O_RDONLY);
            ok = fd >= 0;
            if (fd >= 0)
                close(fd);
        }
    }
    if (maps)
        fclose(maps);
    return ok;
}

/* Writes the vDSO image to a file, for readelf. */
static int dump_vdso(const char *path)
{
    uintptr_t base = getauxval(AT_SYSINFO_EHDR);
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    uint64_t start = 0, end = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "[vdso]"))
            sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end);
    if (maps)
        fclose(maps);
    if (start != base || end <= start)
        return -1;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite((const void *)(uintptr_t)start, 1, end - start, f);
    return fclose(f) == 0 && n == end - start ? 0 : -1;
}

/* A local TCP port that DEBUGINFOD_URLS points at: nothing must connect. */
static int debuginfod_trap(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        perror("debuginfod trap socket");
        exit(1);
    }
    char url[64], cache[] = "/tmp/cprof-test-symbols-XXXXXX";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    if (mkdtemp(cache) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    setenv("DEBUGINFOD_URLS", url, 1);
    setenv("DEBUGINFOD_CACHE_PATH", cache, 1); /* never the user's own cache */
    setenv("DEBUGINFOD_TIMEOUT", "2", 1);
    return fd;
}

/* ---- the maps parser: a table of inputs ------------------------------------- */

static void test_maps_table(void)
{
    /* A main program at a higher address than a library; a deleted library;
     * anonymous executable memory; a fake [vdso] (never read: not the real
     * one); [vsyscall]; a path with spaces; a line with no path at all. */
    static const char maps[] =
        "00100000-00101000 r-xp 00000000 08:01 50 /nonexistent/libearly.so\n"
        "00400000-00401000 r--p 00000000 08:01 100 /nonexistent/main prog\n"
        "00401000-00402000 r-xp 00001000 08:01 100 /nonexistent/main prog\n"
        "00402000-00403000 rw-p 00002000 08:01 100 /nonexistent/main prog\n"
        "00403000-00404000 rw-p 00000000 00:00 0 \n"
        "10000000-10001000 r-xp 00000000 00:00 0\n"
        "20000000-20001000 r--p 00000000 08:01 200 /nonexistent/libgone.so (deleted)\n"
        "20001000-20003000 r-xp 00001000 08:01 200 /nonexistent/libgone.so (deleted)\n"
        "30000000-30002000 r-xp 00000000 00:00 0 [vdso]\n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";
    static const struct {
        uint64_t start, limit, offset;
        const char *file;
    } want[] = {
        {0x401000, 0x402000, 0x1000, "/nonexistent/main prog"},
        {0x100000, 0x101000, 0, "/nonexistent/libearly.so"},
        {0x20001000, 0x20003000, 0x1000, "/nonexistent/libgone.so"},
        {0x30000000, 0x30002000, 0, "[vdso]"},
    };
    static const struct {
        uint64_t pc;
        int mapping; /* index into want, -1: none */
    } pcs[] = {{0x401010, 0},   {0x100fff, 1},  {0x10000010, -1},        {0x20002000, 2},
               {0x30000100, 3}, {0x402000, -1}, {0xffffffffff600400, -1}};
    const size_t nwant = sizeof want / sizeof want[0];

    for (int with_exe = 1; with_exe >= 0; with_exe--) {
        cprof_symbolizer *s =
            cprof__symbolizer_new_from_maps(maps, with_exe ? "/nonexistent/main prog" : NULL);
        CHECK(s != NULL, "new_from_maps failed");
        if (s == NULL)
            return;
        cprof_pb *pb = cprof_pb_new();
        cprof_pb_add_sample_type(pb, "samples", "count");
        cprof__symbolizer_begin(s, pb);
        uint64_t ids[sizeof pcs / sizeof pcs[0]];
        for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++)
            ids[i] = cprof__symbolize(s, pb, pcs[i].pc);
        cprof_profile *p = encode_and_read(pb, NULL);
        CHECK(p->pb->n_mapping == nwant, "maps table: %zu mappings, want %zu", p->pb->n_mapping,
              nwant);
        /* Without the exe's name the first executable file mapping is main. */
        const char *first = with_exe ? want[0].file : want[1].file;
        const Perftools__Profiles__Mapping *m1 = cprof_profile_mapping(p, 1);
        CHECK(m1 && strcmp(str(p, m1->filename), first) == 0, "maps table: mapping 1 is %s",
              m1 ? str(p, m1->filename) : "(none)");
        for (size_t i = 0; with_exe && i < nwant && i < p->pb->n_mapping; i++) {
            const Perftools__Profiles__Mapping *m = p->pb->mapping[i];
            CHECK(m->memory_start == want[i].start && m->memory_limit == want[i].limit &&
                      m->file_offset == want[i].offset &&
                      strcmp(str(p, m->filename), want[i].file) == 0,
                  "maps table: mapping %zu is %#" PRIx64 "-%#" PRIx64 " @%#" PRIx64 " %s", i,
                  m->memory_start, m->memory_limit, m->file_offset, str(p, m->filename));
            CHECK(!m->has_functions && str(p, m->build_id)[0] == '\0',
                  "maps table: %s claims symbols it cannot have", want[i].file);
        }
        for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++) {
            char what[64];
            snprintf(what, sizeof what, "maps table pc %#" PRIx64, pcs[i].pc);
            check_location(p, what, ids[i], pcs[i].pc, NULL, 0,
                           pcs[i].mapping < 0 ? NULL : want[pcs[i].mapping].file);
        }
        cprof_profile_free(p);
        cprof_pb_free(pb);
        cprof__symbolizer_free(s);
    }
}

/* ---- cost -------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Symbolizes n distinct pcs spread evenly over the executable mappings of
 * `lib` (dlopen'ed here), and reports the time and how many got names. */
static int cost(const char *lib, int n, double limit_s)
{
    if (dlopen(lib, RTLD_NOW | RTLD_LOCAL) == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", dlerror(), lib);
        return 1;
    }
    char real[PATH_MAX], line[PATH_MAX + 128], path[PATH_MAX];
    if (realpath(lib, real) == NULL)
        return 1;
    uint64_t lo = 0, hi = 0, total = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        uint64_t a, b;
        char perms[8];
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %4095s", &a, &b, perms, path) ==
                4 &&
            perms[2] == 'x' && strcmp(path, real) == 0 && lo == 0) {
            lo = a;
            hi = b;
        }
    }
    if (maps)
        fclose(maps);
    if (hi - lo < (uint64_t)n) {
        fprintf(stderr, "%s: no executable mapping of at least %d bytes\n", lib, n);
        return 1;
    }
    double t0 = now();
    cprof_symbolizer *s = cprof__symbolizer_new();
    cprof_pb *pb = cprof_pb_new();
    cprof__symbolizer_begin(s, pb);
    double t1 = now();
    uint64_t step = (hi - lo) / (uint64_t)n;
    for (int i = 0; i < n; i++)
        cprof__symbolize(s, pb, lo + (uint64_t)i * step);
    double t2 = now();
    for (int i = 0; i < n; i++) /* the same pcs again: the cache */
        cprof__symbolize(s, pb, lo + (uint64_t)i * step);
    double t3 = now();
    cprof_profile *p = encode_and_read(pb, NULL);
    size_t named = 0, lines = 0;
    for (size_t i = 0; i < p->pb->n_location; i++) {
        const Perftools__Profiles__Location *l = p->pb->location[i];
        if (l->mapping_id == 0 || l->address < lo || l->address >= hi)
            continue;
        total++;
        named += l->n_line > 0;
        lines += l->n_line;
    }
    printf("cost: %s: %d pcs: setup %.1f ms, first pass %.1f ms (%.2f us/pc), cached pass "
           "%.1f ms; %zu of %" PRIu64 " named, %zu lines\n",
           lib, n, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t2 - t1) * 1e6 / n, (t3 - t2) * 1e3, named,
           total, lines);
    CHECK(total == (uint64_t)n, "cost: %" PRIu64 " locations for %d pcs", total, n);
    CHECK(t2 - t0 < limit_s, "cost: %.3f s, limit %.1f s", t2 - t0, limit_s);
    cprof_profile_free(p);
    cprof_pb_free(pb);
    cprof__symbolizer_free(s);
    return failures != 0;
}

/* ---- the main test ----------------------------------------------------------------- */

/* The path of the file that holds `addr`, as /proc/self/maps names it
 * (the loader's name may differ: RPATH with "..", symlinks). */
static void maps_path_of(const void *addr, char *out, size_t outlen)
{
    char line[PATH_MAX + 128], path[PATH_MAX];
    out[0] = '\0';
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        uint64_t a, b;
        path[0] = '\0';
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %*s %*s %4095[^\n]", &a, &b, path) >= 2 &&
            (uintptr_t)addr >= a && (uintptr_t)addr < b)
            snprintf(out, outlen, "%s", path);
    }
    if (maps)
        fclose(maps);
}

/* Regression: the frames of one pc named their functions by pointer into an
 * array that a later frame of the same pc could grow (realloc), so the first
 * frame's name was read after free (a thread dump crashed on it). For every
 * k, a fresh symbolizer names k other functions first, then the inlined pc,
 * whose two frames add two functions: for some k the array grows between
 * them. Under AddressSanitizer a read after free fails at once; without it,
 * the names are checked. */
static void test_frames_survive_growth(uintptr_t pc_inline)
{
    void *others[] = {(void *)strlen,   (void *)strcmp, (void *)memcpy,  (void *)malloc,
                      (void *)free,     (void *)printf, (void *)qsort,   (void *)fopen,
                      (void *)fclose,   (void *)strtol, (void *)atoi,    (void *)getenv,
                      (void *)puts,     (void *)fputs,  (void *)fwrite,  (void *)fread,
                      (void *)snprintf, (void *)strchr, (void *)strrchr, (void *)memset,
                      (void *)strncmp,  (void *)strstr, (void *)calloc,  (void *)realloc,
                      (void *)abort,    (void *)exit,   (void *)fflush,  (void *)fgets,
                      (void *)sscanf,   (void *)strdup, (void *)memmove, (void *)memcmp,
                      (void *)strtoul,  (void *)atof,   (void *)rand,    (void *)srand};
    enum { NOTHERS = sizeof others / sizeof others[0] };
    for (int k = 0; k <= NOTHERS; k++) {
        cprof_symbolizer *s = cprof__symbolizer_new();
        if (s == NULL)
            return;
        char text[512];
        for (int i = 0; i < k; i++)
            cprof__symbolize_text(s, (uint64_t)(uintptr_t)others[i], text, sizeof text);
        const char *funcs[8], *files[8];
        int64_t lines[8];
        int n = cprof__symbolize_frames(s, pc_inline, funcs, files, lines, 8);
#ifndef SYMTEST_STRIPPED
        CHECK(n == 2 && !strcmp(funcs[0], "symtest_inner") && !strcmp(funcs[1], "symtest_outer"),
              "after %d other functions, the inlined pc gives %d frames (%s, %s)", k, n,
              n > 0 ? funcs[0] : "-", n > 1 ? funcs[1] : "-");
#else
        (void)n;
#endif
        cprof__symbolizer_free(s);
    }
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--cost") == 0) {
        const char *limit = getenv("CPROF_SYMBOLS_COST_LIMIT");
        return cost(argv[2], atoi(argv[3]), limit ? atof(limit) : 1.0);
    }
    const char *out_path = argc > 1 ? argv[1] : NULL;
    int trap = debuginfod_trap(); /* before anything looks for debug files */

    /* Ground truth: run the code, keeping the addresses of the calls. */
    int in_lines[4], c_lines[2], cxx_lines[4], scxx_lines[4];
    ncaptured = 0;
    symtest_outer(in_lines);
    uintptr_t pc_inline = captured[0];

    ncaptured = 0;
    symlib_call(capture, c_lines);
    uintptr_t pc_c = captured[0];

    ncaptured = 0;
    symcxx_call(capture, cxx_lines);
    uintptr_t pc_method = captured[0], pc_twice = captured[1];

    void *hs = dlopen(SYMTEST_STRIPPED_LIB, RTLD_NOW | RTLD_LOCAL);
    void *hx = dlopen(SYMTEST_CXX_STRIPPED_LIB, RTLD_NOW | RTLD_LOCAL);
    CHECK(hs && hx, "dlopen: %s", dlerror());
    if (!hs || !hx)
        return 1;
    int (*strip_call)(symlib_cb) = (int (*)(symlib_cb))dlsym(hs, "symstrip_call");
    int (*scxx_call)(symlib_cb, int *) = (int (*)(symlib_cb, int *))dlsym(hx, "symcxx_call");
    CHECK(strip_call && scxx_call && (void *)scxx_call != (void *)symcxx_call, "dlsym");
    if (!strip_call || !scxx_call)
        return 1;
    ncaptured = 0;
    strip_call(capture);
    uintptr_t pc_strip = captured[0];
    ncaptured = 0;
    scxx_call(capture, scxx_lines);
    uintptr_t pc_smethod = captured[0], pc_stwice = captured[1];

    /* A library deleted after loading (an upgrade under a running program):
     * named through /proc/self/map_files when the kernel lets us open it. */
    char gone_lib[] = "/tmp/cprof-test-symc-XXXXXX";
    void *hg = copy_and_load(SYMTEST_C_LIB, gone_lib);
    int (*gone_call)(symlib_cb, int *) =
        hg ? (int (*)(symlib_cb, int *))dlsym(hg, "symlib_call") : NULL;
    CHECK(gone_call && (void *)gone_call != (void *)symlib_call, "loading a copy: %s", dlerror());
    if (!gone_call)
        return 1;
    int gone_lines[2];
    ncaptured = 0;
    gone_call(capture, gone_lines);
    uintptr_t pc_gone = captured[0];
    unlink(gone_lib);

    uintptr_t pc_vdso = vdso_symbol("__vdso_clock_gettime");
    if (pc_vdso == 0)
        pc_vdso = vdso_symbol("clock_gettime");
    CHECK(pc_vdso != 0, "no clock_gettime in the vDSO");
    pc_vdso += 1; /* an instruction inside it, not its entry */

    void *page = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uintptr_t pc_anon = page == MAP_FAILED ? 0 : (uintptr_t)page + 16;

    char exe[PATH_MAX], c_lib[PATH_MAX], s_lib[PATH_MAX], cxx_lib[PATH_MAX], scxx_lib[PATH_MAX];
    maps_path_of((void *)pc_inline, exe, sizeof exe);
    maps_path_of((void *)pc_c, c_lib, sizeof c_lib);
    maps_path_of((void *)pc_strip, s_lib, sizeof s_lib);
    maps_path_of((void *)pc_method, cxx_lib, sizeof cxx_lib);
    maps_path_of((void *)pc_smethod, scxx_lib, sizeof scxx_lib);

    /* Symbolize everything, twice: the second time must hit the cache. */
    cprof_symbolizer *s = cprof__symbolizer_new();
    CHECK(s != NULL, "cprof__symbolizer_new");
    if (s == NULL)
        return 1;
    cprof_pb *pb = cprof_pb_new();
    cprof_pb_add_sample_type(pb, "samples", "count");
    cprof__symbolizer_begin(s, pb);
    const uintptr_t pcs[] = {pc_inline,  pc_c,      pc_strip, pc_method, pc_twice,
                             pc_smethod, pc_stwice, pc_gone,  pc_vdso,   pc_anon};
    enum { INLINE, C, STRIP, METHOD, TWICE, SMETHOD, STWICE, GONE, VDSO, ANON, NPCS };
    uint64_t ids[NPCS];
    for (int i = 0; i < NPCS; i++)
        ids[i] = pcs[i] ? cprof__symbolize(s, pb, pcs[i]) : 0;
    for (int i = 0; i < NPCS; i++) {
        CHECK(!pcs[i] || cprof__symbolize(s, pb, pcs[i]) == ids[i], "pc %d: new id", i);
        if (ids[i])
            add_sample(pb, ids[i]);
    }

    /* A second builder: the symbolizer rebinds, ids are those of the new one. */
    cprof_pb *pb2 = cprof_pb_new();
    cprof_pb_add_sample_type(pb2, "samples", "count");
    cprof__symbolizer_begin(s, pb2);
    uint64_t id2 = cprof__symbolize(s, pb2, pc_c);
    add_sample(pb2, id2);

    cprof_profile *p = encode_and_read(pb, out_path);
    cprof_profile *p2 = encode_and_read(pb2, NULL);

    /* Mappings: the main executable first, build ids as readelf shows them. */
    const Perftools__Profiles__Mapping *m1 = cprof_profile_mapping(p, 1);
    CHECK(m1 && strcmp(str(p, m1->filename), exe) == 0, "mapping 1 is %s, want %s",
          m1 ? str(p, m1->filename) : "(none)", exe);
    CHECK(p->pb->n_location == NPCS - (pc_anon == 0), "%zu locations", p->pb->n_location);
    for (size_t i = 0; i < p->pb->n_mapping; i++)
        CHECK(str(p, p->pb->mapping[i]->filename)[0] != '\0', "mapping %zu has no file", i);
#ifdef SYMTEST_STRIPPED
    check_mapping_build_id(p, exe, exe, 0);
#else
    check_mapping_build_id(p, exe, exe, 1);
#endif
    check_mapping_build_id(p, c_lib, c_lib, 1);
    check_mapping_build_id(p, s_lib, s_lib, 0);
    check_mapping_build_id(p, cxx_lib, cxx_lib, 1);
    check_mapping_build_id(p, scxx_lib, scxx_lib, 0);
    char vdso_file[] = "/tmp/cprof-test-vdso-XXXXXX";
    int vfd = mkstemp(vdso_file);
    if (vfd >= 0 && (close(vfd), dump_vdso(vdso_file) == 0))
        check_mapping_build_id(p, "[vdso]", vdso_file, 0);
    else
        CHECK(0, "cannot dump the vDSO");
    unlink(vdso_file);

    /* 1. Inlined frames: innermost first, each at its line in that function. */
#ifdef SYMTEST_STRIPPED
    const struct want_line w_inline[] = {{"symtest_outer", "symtest_outer", "", 0, 0}};
#else
    const struct want_line w_inline[] = {
        {"symtest_inner", "symtest_inner", __FILE__, in_lines[1], in_lines[0]},
        {"symtest_outer", "symtest_outer", __FILE__, in_lines[3], in_lines[2]}};
#endif
    check_location(p, "inlined", ids[INLINE], pc_inline, w_inline,
                   sizeof w_inline / sizeof w_inline[0], exe);

    /* 2. A shared library with DWARF. */
    const struct want_line w_c[] = {
        {"symlib_call", "symlib_call", symlib_file(), c_lines[1], c_lines[0]}};
    check_location(p, "C library", ids[C], pc_c, w_c, 1, c_lib);
    check_location(p2, "C library, second builder", id2, pc_c, w_c, 1, c_lib);

    /* 3. Stripped: .dynsym gives the name, nothing gives a line. */
    const struct want_line w_strip[] = {{"symstrip_call", "symstrip_call", "", 0, 0}};
    check_location(p, "stripped C library", ids[STRIP], pc_strip, w_strip, 1, s_lib);

    /* 4. C++, demangled from DWARF's linkage name and from .dynsym. */
    const struct want_line w_method[] = {{"ns::Klass::method(int)", "_ZN2ns5Klass6methodEi",
                                          symcxx_file(), cxx_lines[0], cxx_lines[2]}};
    const struct want_line w_twice[] = {{"long ns::twice<long>(long)", "_ZN2ns5twiceIlEET_S1_",
                                         symcxx_file(), cxx_lines[1], cxx_lines[3]}};
    check_location(p, "C++ method", ids[METHOD], pc_method, w_method, 1, cxx_lib);
    check_location(p, "C++ template", ids[TWICE], pc_twice, w_twice, 1, cxx_lib);
    const struct want_line w_smethod[] = {
        {"ns::Klass::method(int)", "_ZN2ns5Klass6methodEi", "", 0, 0}};
    const struct want_line w_stwice[] = {
        {"long ns::twice<long>(long)", "_ZN2ns5twiceIlEET_S1_", "", 0, 0}};
    check_location(p, "stripped C++ method", ids[SMETHOD], pc_smethod, w_smethod, 1, scxx_lib);
    check_location(p, "stripped C++ template", ids[STWICE], pc_stwice, w_stwice, 1, scxx_lib);

    /* The deleted library: its Mapping is named without " (deleted)". */
    if (map_files_readable((void *)pc_gone)) {
        const struct want_line w_gone[] = {
            {"symlib_call", "symlib_call", symlib_file(), gone_lines[1], gone_lines[0]}};
        check_location(p, "deleted library", ids[GONE], pc_gone, w_gone, 1, gone_lib);
        check_mapping_build_id(p, gone_lib, c_lib, 1); /* a copy: same build id */
    } else {
        printf("map_files not readable: deleted library checked by its Mapping only\n");
        check_location(p, "deleted library", ids[GONE], pc_gone, NULL, 0, gone_lib);
    }

    /* The vDSO: named from its own .dynsym, read from memory. */
    const Perftools__Profiles__Location *lv = cprof_profile_location(p, ids[VDSO]);
    const Perftools__Profiles__Function *fv =
        lv && lv->n_line == 1 ? cprof_profile_function(p, lv->line[0]->function_id) : NULL;
    CHECK(fv && strstr(str(p, fv->name), "clock_gettime"), "vDSO pc named %s",
          fv ? str(p, fv->name) : "(nothing)");
    check_location(p, "vDSO", ids[VDSO], pc_vdso, NULL, lv ? lv->n_line : 0, "[vdso]");

    /* Anonymous executable memory: the address alone. */
    if (pc_anon)
        check_location(p, "anonymous", ids[ANON], pc_anon, NULL, 0, NULL);

    /* No debug file was looked for over the network. */
    int conn = accept4(trap, NULL, NULL, SOCK_NONBLOCK);
    CHECK(conn < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
          "something connected to DEBUGINFOD_URLS");
    if (conn >= 0)
        close(conn);
    close(trap);
    rmdir(getenv("DEBUGINFOD_CACHE_PATH"));

    cprof_profile_free(p);
    cprof_profile_free(p2);
    cprof_pb_free(pb);
    cprof_pb_free(pb2);
    cprof__symbolizer_free(s);
    if (page != MAP_FAILED)
        munmap(page, 4096);
    dlclose(hs);
    dlclose(hx);
    dlclose(hg);

    test_maps_table();
    test_frames_survive_growth(pc_inline);

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
