/*
 * symbols.c: code addresses of this process -> pprof Mappings, Locations and
 * Functions, with elfutils' libdwfl/libdw.
 *
 * Owns: a snapshot of /proc/self/maps taken at cprof__symbolizer_new(), a
 * Dwfl session over the ELF objects mapped at that moment (one module per
 * mapped file with an executable segment, plus [vdso]; each opened, and its
 * DWARF loaded, only when a pc first lands in it), and caches:
 *   - pc -> Location id in the bound builder (cleared when the builder changes);
 *   - function (DWARF DIE or ELF symbol) -> name, file, start line, and its
 *     Function id in the bound builder (ids tagged with the binding generation);
 *   - per DWARF compile unit, a sorted table of its functions' address ranges,
 *     so that naming a pc is a binary search plus a walk down one function's
 *     inlined-call tree instead of a walk over the whole unit.
 * Nothing here is shared between symbolizers and nothing is thread-safe: a
 * symbolizer is used by one thread at a time, at profile-write time only
 * (it allocates, opens files and takes locks inside libdw).
 *
 * Names come from, in order: DWARF (function, file, line, inlined frames);
 * the ELF symbol table, .symtab if present (also from a separate debug file),
 * else .dynsym; else nothing (a Location with only its address and mapping).
 *
 * Debug-file search order, for a module whose own file has no DWARF/.symtab:
 *   1. build-id directory: /usr/lib/debug/.build-id/xx/yyyy.debug (libdwfl's
 *      dwfl_build_id_find_debuginfo, which also finds dwz alt files);
 *   2. .gnu_debuglink name, validated by build id (or CRC when the object has
 *      no build id), in: the object's directory, its .debug/ subdirectory, and
 *      /usr/lib/debug/<object's directory>; then the same for the object's
 *      realpath when it differs (symlinked library directories).
 * Never debuginfod: elfutils 0.188's dwfl_standard_find_debuginfo falls back
 * to debuginfod (the network, whenever DEBUGINFOD_URLS is set; Debian ships
 * an opt-in profile script that sets it) each time the local search fails;
 * against an unresponsive server that stalled the test program for minutes.
 * Unsetting the variable around the call is not an option inside a running
 * multi-threaded program (setenv races with getenv in other threads), so the
 * search above is our own find_debuginfo callback, which never reaches
 * libdebuginfod. tests/test-symbols.c checks that nothing connects.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- small containers ---------------------------------------------------- */

/* Open-addressing hash map uint64 -> uint64. Key 0 is the empty slot, so
 * callers never store key 0 (pc 0 is not cached; pointers are never 0). */
struct u64map {
    uint64_t *keys, *vals;
    size_t cap, len;
};

static uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static int map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
    if (m->cap == 0)
        return 0;
    for (size_t i = mix64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            *val = m->vals[i];
            return 1;
        }
        if (m->keys[i] == 0)
            return 0;
    }
}

static int map_put(struct u64map *m, uint64_t key, uint64_t val)
{
    if ((m->len + 1) * 4 > m->cap * 3) { /* keep the load under 3/4 */
        size_t ncap = m->cap ? m->cap * 2 : 256;
        uint64_t *nk = calloc(ncap, sizeof *nk), *nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] == 0)
                continue;
            size_t j = mix64(m->keys[i]) & (ncap - 1);
            while (nk[j] != 0)
                j = (j + 1) & (ncap - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    size_t i = mix64(key) & (m->cap - 1);
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == 0)
        m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

static void map_clear(struct u64map *m)
{
    if (m->cap) {
        memset(m->keys, 0, m->cap * sizeof *m->keys);
        m->len = 0;
    }
}

static void map_free(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Grows *arr (of elements of size elsz) so that it holds at least `need`. */
static int grow(void **arr, size_t *cap, size_t need, size_t elsz)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*arr, ncap * elsz);
    if (!n)
        return -1;
    *arr = n;
    *cap = ncap;
    return 0;
}

/* ---- the symbolizer ------------------------------------------------------ */

/* One ELF symbol kept for address lookups (functions only). */
struct sym {
    uint64_t addr, size;
    const char *name; /* in the module's string table; lives as long as the Dwfl */
    int rank;         /* preference among symbols at the same address */
};

/* One mapped file with at least one executable segment (or [vdso]). */
struct obj {
    char *path;         /* as in maps, without " (deleted)" */
    int deleted, vdso;  /* vdso: path is "[vdso]" */
    uint64_t ino;       /* from maps, to check the path still names that file */
    uint64_t low, high; /* span of all its mappings */
    uint64_t any_start; /* one mapping's range, for /proc/self/map_files */
    uint64_t any_end;
    Dwfl_Module *mod; /* NULL if libdwfl refused it */
    void *image;      /* [vdso]: private copy of the image libelf reads */
    int info_done;    /* the fields below are valid */
    char *build_id;   /* lowercase hex, or NULL */
    int has_dwarf, has_symtab;
    int syms_done;
    struct sym *syms;
    size_t nsyms;
};

/* One executable mapping: becomes one pprof Mapping. */
struct xmap {
    uint64_t start, end, offset;
    size_t obj;      /* index into objs */
    uint64_t pb_id;  /* Mapping id in the bound builder, */
    uint64_t pb_gen; /* if this is the binding generation */
};

/* A function as named in the profile; pb_id is valid when gen matches. */
struct fn {
    char *name, *system_name, *file;
    int64_t start_line;
    uint64_t pb_id, gen;
};

/* One function at a pc (several when inlined), with the line in it. */
/* A frame names its function by index into s->fns, not by pointer: a
 * later frame of the same pc may add a function, and growing s->fns moves
 * it (a pointer kept here was read after free: a crash in a thread dump). */
struct frame {
    size_t fn;
    int64_t line;
};

/* Address range of one concrete DW_TAG_subprogram of a compile unit. */
struct fnrange {
    Dwarf_Addr lo, hi;
    Dwarf_Die die;
};

struct cu_index {
    struct fnrange *r;
    size_t n, cap;
};

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

struct cprof_symbolizer {
    Dwfl *dwfl;
    struct obj *objs;
    size_t nobjs, capobjs;
    struct xmap *maps; /* sorted by start, as in /proc/self/maps */
    size_t nmaps, capmaps;
    size_t main_obj; /* index of the main executable in objs, or SIZE_MAX */

    cprof_pb *bound;    /* builder the id caches refer to */
    uint64_t gen;       /* bumped on every binding */
    struct u64map locs; /* pc -> Location id in `bound` */

    struct u64map fn_by_key; /* DIE address or struct sym address -> index+1 in fns */
    struct fn *fns;
    size_t nfns, capfns;

    struct u64map cu_by_key; /* CU DIE address -> index+1 in cus */
    struct cu_index *cus;
    size_t ncus, capcus;

    /* Scratch, reused across calls. */
    Dwarf_Die *chain;
    size_t capchain;
    struct frame *frames; /* the functions and lines at one pc, innermost first */
    size_t capframes;
    cprof_pb_line *lines;
    size_t caplines;

    demangle_fn demangle;
};

/* ---- libdwfl callbacks ----------------------------------------------------- */

/* Opens the ELF image of a module. Only regular files that are still the
 * file that was mapped; a deleted file through /proc/self/map_files; the vDSO
 * from our own memory (no /proc/pid/mem, no ptrace: it is our process). */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                    char **file_name, Elf **elfp)
{
    (void)mod, (void)modname, (void)base; /* all in `o` */
    struct obj *o = *userdata;
    *file_name = NULL;
    if (o == NULL)
        return -1;
    if (o->vdso) {
        /* Only the real vDSO is read from memory: a maps text given to
         * cprof__symbolizer_new_from_maps may name any address. */
        if (o->low != getauxval(AT_SYSINFO_EHDR))
            return -1;
        size_t len = o->high - o->low;
        o->image = malloc(len);
        if (o->image == NULL)
            return -1;
        memcpy(o->image, (const void *)(uintptr_t)o->low, len);
        *elfp = elf_memory(o->image, len);
        return -1;
    }
    /* A file that is gone or was replaced under its name (rebuilt binary,
     * upgraded library) is still reachable through map_files, when the
     * kernel lets us open it; a replaced one is opened by name otherwise
     * (best effort), a deleted one is not (its name may be a new build). */
    struct stat st;
    int same = !o->deleted && stat(o->path, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == o->ino;
    int fd = -1;
    if (!same) {
        char mf[64];
        snprintf(mf, sizeof mf, "/proc/self/map_files/%" PRIx64 "-%" PRIx64, o->any_start,
                 o->any_end);
        if ((fd = open(mf, O_RDONLY | O_CLOEXEC)) >= 0) {
            *file_name = strdup(mf);
            return fd;
        }
        if (o->deleted || stat(o->path, &st) != 0 || !S_ISREG(st.st_mode))
            return -1; /* never open devices: they may block */
    }
    fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        *file_name = strdup(o->path);
    return fd;
}

/* Reads the GNU build-id note of an open file; returns its length or -1. */
static int fd_build_id(int fd, const void **id, Elf **elfp)
{
    *elfp = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (*elfp == NULL)
        return -1;
    ssize_t n = dwelf_elf_gnu_build_id(*elfp, id);
    return n > 0 ? (int)n : -1;
}

/* The .gnu_debuglink CRC is zlib's CRC-32 of the whole debug file. */
static int crc_matches(int fd, uint32_t want)
{
    enum { BUFSZ = 1 << 16 };
    unsigned char *buf = malloc(BUFSZ); /* the writer may run on a small stack */
    if (buf == NULL)
        return 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    ssize_t n;
    off_t off = 0;
    while ((n = pread(fd, buf, BUFSZ, off)) > 0) {
        crc = crc32(crc, buf, (uInt)n);
        off += n;
    }
    free(buf);
    return n == 0 && (uint32_t)crc == want;
}

/* Tries one candidate debug file; returns an fd when it belongs to `mod`. */
static int try_debug_file(Dwfl_Module *mod, const struct stat *main_st, const char *path,
                          uint32_t crc, char **debuginfo_file_name)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (main_st && st.st_ino == main_st->st_ino && st.st_dev == main_st->st_dev)) {
        close(fd); /* the main file under its own debuglink name */
        return -1;
    }
    const unsigned char *want;
    GElf_Addr vaddr;
    int want_len = dwfl_module_build_id(mod, &want, &vaddr);
    int ok;
    if (want_len > 0) {
        const void *have;
        Elf *elf;
        int have_len = fd_build_id(fd, &have, &elf);
        ok = have_len == want_len && memcmp(have, want, (size_t)want_len) == 0;
        if (elf)
            elf_end(elf);
    } else {
        ok = crc == 0 || crc_matches(fd, crc);
    }
    if (!ok) {
        close(fd);
        return -1;
    }
    *debuginfo_file_name = strdup(path);
    return fd;
}

static int debuglink_search(Dwfl_Module *mod, const char *file_name, const char *link, uint32_t crc,
                            char **debuginfo_file_name)
{
    const char *slash = strrchr(file_name, '/');
    if (slash == NULL)
        return -1;
    int dirlen = (int)(slash - file_name);
    struct stat main_st;
    int have_main = stat(file_name, &main_st) == 0;
    char path[PATH_MAX];
    static const char *const fmts[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        if (snprintf(path, sizeof path, fmts[i], dirlen, file_name, link) >= (int)sizeof path)
            continue;
        int fd = try_debug_file(mod, have_main ? &main_st : NULL, path, crc, debuginfo_file_name);
        if (fd >= 0)
            return fd;
    }
    return -1;
}

/* See the search order at the top of the file. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                          debuglink_crc, debuginfo_file_name);
    if (fd >= 0 || file_name == NULL || debuglink_file == NULL)
        return fd;
    /* An absolute debuglink (never written by objcopy) is taken as is. */
    if (debuglink_file[0] == '/')
        return try_debug_file(mod, NULL, debuglink_file, debuglink_crc, debuginfo_file_name);
    fd = debuglink_search(mod, file_name, debuglink_file, debuglink_crc, debuginfo_file_name);
    if (fd >= 0)
        return fd;
    char *canon = realpath(file_name, NULL);
    if (canon && strcmp(canon, file_name) != 0)
        fd = debuglink_search(mod, canon, debuglink_file, debuglink_crc, debuginfo_file_name);
    free(canon);
    return fd;
}

static char *no_debuginfo_path = NULL; /* libdwfl's default: ":.debug:/usr/lib/debug" */

static const Dwfl_Callbacks callbacks = {
    .find_elf = find_elf,
    .find_debuginfo = find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &no_debuginfo_path,
};

/* ---- /proc/self/maps ------------------------------------------------------- */

static const char deleted_suffix[] = " (deleted)";

/* Strips " (deleted)" in place; returns 1 if it was there. */
static int strip_deleted(char *path)
{
    size_t n = strlen(path), k = sizeof deleted_suffix - 1;
    if (n > k && strcmp(path + n - k, deleted_suffix) == 0) {
        path[n - k] = '\0';
        return 1;
    }
    return 0;
}

/* Adds one maps line. Mappings of the same file are grouped into one object
 * while they follow each other (anonymous gaps, like .bss, allowed), the way
 * the loader lays out an ELF file's segments. */
static int add_maps_line(cprof_symbolizer *s, char *line, size_t *last_file_obj,
                         unsigned *last_dev_maj, unsigned *last_dev_min)
{
    uint64_t start, end, offset, ino;
    unsigned dmaj, dmin;
    char perms[8];
    int pathpos = -1;
    if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &start, &end,
               perms, &offset, &dmaj, &dmin, &ino, &pathpos) < 7 ||
        pathpos < 0)
        return 0; /* not a mapping line: skip it */
    char *path = line + pathpos;
    int exec = perms[2] == 'x';
    int is_file = path[0] == '/' && !(ino == 0 && dmaj == 0 && dmin == 0);
    int is_vdso = strcmp(path, "[vdso]") == 0;
    if (!is_file && !is_vdso)
        return 0; /* anonymous, heap, stack, [vsyscall] (not readable), JIT code */
    int deleted = strip_deleted(path);

    size_t oi;
    struct obj *last = *last_file_obj != SIZE_MAX ? &s->objs[*last_file_obj] : NULL;
    if (is_file && last && !last->vdso && last->ino == ino && *last_dev_maj == dmaj &&
        *last_dev_min == dmin && strcmp(last->path, path) == 0 && start >= last->high) {
        oi = *last_file_obj;
        last->high = end;
    } else {
        if (grow((void **)&s->objs, &s->capobjs, s->nobjs + 1, sizeof *s->objs) != 0)
            return -1;
        oi = s->nobjs;
        struct obj *o = &s->objs[oi];
        memset(o, 0, sizeof *o);
        o->path = strdup(path);
        if (o->path == NULL)
            return -1;
        s->nobjs++;
        o->deleted = deleted;
        o->vdso = is_vdso;
        o->ino = ino;
        o->low = start;
        o->high = end;
        o->any_start = start;
        o->any_end = end;
        if (is_file) {
            *last_file_obj = oi;
            *last_dev_maj = dmaj;
            *last_dev_min = dmin;
        }
    }
    if (!exec)
        return 0;
    if (grow((void **)&s->maps, &s->capmaps, s->nmaps + 1, sizeof *s->maps) != 0)
        return -1;
    s->maps[s->nmaps++] = (struct xmap){.start = start, .end = end, .offset = offset, .obj = oi};
    return 0;
}

static int parse_maps(cprof_symbolizer *s, const char *text)
{
    size_t last_file_obj = SIZE_MAX;
    unsigned dmaj = 0, dmin = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (line == NULL)
            return -1;
        int rc = add_maps_line(s, line, &last_file_obj, &dmaj, &dmin);
        free(line);
        if (rc != 0)
            return -1;
        p += len + (nl != NULL);
    }
    return 0;
}

static char *read_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf) {
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Reports every object with an executable mapping to libdwfl. */
static int report_modules(cprof_symbolizer *s)
{
    s->dwfl = dwfl_begin(&callbacks);
    if (s->dwfl == NULL)
        return -1;
    dwfl_report_begin(s->dwfl);
    for (size_t m = 0; m < s->nmaps; m++) {
        struct obj *o = &s->objs[s->maps[m].obj];
        if (o->mod != NULL)
            continue; /* a second executable segment of the same file */
        o->any_start = s->maps[m].start;
        o->any_end = s->maps[m].end;
        o->mod = dwfl_report_module(s->dwfl, o->path, o->low, o->high);
        if (o->mod) {
            void **userdata;
            dwfl_module_info(o->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
            *userdata = o;
        }
    }
    dwfl_report_end(s->dwfl, NULL, NULL);
    return 0;
}

cprof_symbolizer *cprof__symbolizer_new_from_maps(const char *maps_text, const char *exe)
{
    elf_version(EV_CURRENT);
    cprof_symbolizer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->main_obj = SIZE_MAX;
    if (parse_maps(s, maps_text) != 0 || report_modules(s) != 0) {
        cprof__symbolizer_free(s);
        return NULL;
    }
    /* The main executable is the first Mapping of a profile (pprof reads
     * mapping 1 as the main binary). Found by name; else the first file. */
    for (size_t m = 0; m < s->nmaps && exe; m++) {
        if (strcmp(s->objs[s->maps[m].obj].path, exe) == 0) {
            s->main_obj = s->maps[m].obj;
            break;
        }
    }
    for (size_t m = 0; m < s->nmaps && s->main_obj == SIZE_MAX; m++) {
        if (!s->objs[s->maps[m].obj].vdso)
            s->main_obj = s->maps[m].obj;
    }
    /* C++ programs carry libstdc++'s demangler; C programs have nothing to
     * demangle. Looked up at run time so that libcprof needs no libstdc++. */
    *(void **)&s->demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    return s;
}

static int maps_line_cmp(const void *a, const void *b)
{
    unsigned long x = strtoul(*(char *const *)a, NULL, 16),
                  y = strtoul(*(char *const *)b, NULL, 16);
    return x < y ? -1 : x > y;
}

/* The maps text with the lines of unloaded objects (unwind.c) merged in,
 * in address order, as the parser expects. */
char *(*cprof__symbols_unloaded_maps)(const char *current_maps);

static char *with_unloaded(char *maps)
{
    char *extra = cprof__symbols_unloaded_maps ? cprof__symbols_unloaded_maps(maps) : NULL;
    if (!extra || !*extra) {
        free(extra);
        return maps;
    }
    size_t total = strlen(maps) + strlen(extra) + 2, n = 0, cap = 256;
    char *both = malloc(total), **lines = malloc(cap * sizeof *lines);
    char *out = malloc(total + 1);
    if (!both || !lines || !out) {
        free(both), free(lines), free(out), free(extra);
        return maps;
    }
    snprintf(both, total, "%s%s%s", maps, maps[0] && maps[strlen(maps) - 1] != '\n' ? "\n" : "",
             extra);
    for (char *l = strtok(both, "\n"); l; l = strtok(NULL, "\n")) {
        if (n == cap) {
            char **grown = realloc(lines, cap * 2 * sizeof *lines);
            if (!grown)
                break;
            lines = grown;
            cap *= 2;
        }
        lines[n++] = l;
    }
    qsort(lines, n, sizeof *lines, maps_line_cmp);
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, total + 1 - at, "%s\n", lines[i]);
    free(lines), free(both), free(extra), free(maps);
    return out;
}

cprof_symbolizer *cprof__symbolizer_new(void)
{
    char *maps = read_file("/proc/self/maps");
    if (maps == NULL)
        maps = strdup(""); /* no /proc: every pc becomes a bare address */
    if (maps == NULL)
        return NULL;
    maps = with_unloaded(maps);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        strip_deleted(exe);
    }
    cprof_symbolizer *s = cprof__symbolizer_new_from_maps(maps, n > 0 ? exe : NULL);
    free(maps);
    return s;
}

void cprof__symbolizer_free(cprof_symbolizer *s)
{
    if (s == NULL)
        return;
    if (s->dwfl)
        dwfl_end(s->dwfl); /* before the vDSO copies its Elf handles read */
    for (size_t i = 0; i < s->nobjs; i++) {
        free(s->objs[i].path);
        free(s->objs[i].image);
        free(s->objs[i].build_id);
        free(s->objs[i].syms);
    }
    free(s->objs);
    free(s->maps);
    for (size_t i = 0; i < s->nfns; i++) {
        free(s->fns[i].name);
        free(s->fns[i].system_name);
        free(s->fns[i].file);
    }
    free(s->fns);
    for (size_t i = 0; i < s->ncus; i++)
        free(s->cus[i].r);
    free(s->cus);
    map_free(&s->locs);
    map_free(&s->fn_by_key);
    map_free(&s->cu_by_key);
    free(s->chain);
    free(s->lines);
    free(s->frames);
    free(s);
}

/* ---- per-object facts: build id, what symbols exist ---------------------- */

static void obj_info(struct obj *o)
{
    if (o->info_done)
        return;
    o->info_done = 1;
    if (o->mod == NULL)
        return;
    Dwarf_Addr bias;
    if (dwfl_module_getelf(o->mod, &bias) == NULL)
        return;
    const unsigned char *id;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(o->mod, &id, &vaddr);
    if (len > 0 && (o->build_id = malloc((size_t)len * 2 + 1)) != NULL) {
        for (int i = 0; i < len; i++)
            snprintf(o->build_id + 2 * i, 3, "%02x", id[i]);
    }
    o->has_dwarf = dwfl_module_getdwarf(o->mod, &bias) != NULL;
    o->has_symtab = dwfl_module_getsymtab(o->mod) > 1; /* entry 0 is the null symbol */
}

/* ---- ELF symbol table ------------------------------------------------------ */

static int sym_rank(const GElf_Sym *sym, const char *name)
{
    int bind = GELF_ST_BIND(sym->st_info);
    int r = bind == STB_GLOBAL ? 300 : bind == STB_WEAK ? 200 : 100;
    if (GELF_ST_TYPE(sym->st_info) != STT_NOTYPE)
        r += 50;
    /* Of aliases, the plain name (malloc, not __libc_malloc) reads best. */
    while (*name == '_' && r > 0) {
        name++;
        r -= 10;
    }
    return r;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Builds a sorted table of the module's function symbols, one per address:
 * libdwfl's own lookup scans the whole table per address, which is too slow
 * for tens of thousands of pcs against a .symtab of 100k entries. */
static void obj_syms(struct obj *o)
{
    if (o->syms_done)
        return;
    o->syms_done = 1;
    obj_info(o);
    if (!o->has_symtab)
        return;
    int n = dwfl_module_getsymtab(o->mod);
    o->syms = malloc((size_t)n * sizeof *o->syms);
    if (o->syms == NULL)
        return;
    size_t k = 0;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name = dwfl_module_getsym_info(o->mod, i, &sym, &addr, &shndx, NULL, NULL);
        if (name == NULL || name[0] == '\0' || sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS)
            continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (!(type == STT_FUNC || type == STT_GNU_IFUNC ||
              (type == STT_NOTYPE && GELF_ST_BIND(sym.st_info) != STB_LOCAL && sym.st_size > 0)))
            continue;
        o->syms[k++] = (struct sym){addr, sym.st_size, name, sym_rank(&sym, name)};
    }
    qsort(o->syms, k, sizeof *o->syms, sym_cmp);
    /* Keep the best name per address, with the largest size of its aliases. */
    size_t w = 0;
    for (size_t i = 0; i < k; i++) {
        if (w > 0 && o->syms[w - 1].addr == o->syms[i].addr) {
            if (o->syms[i].size > o->syms[w - 1].size)
                o->syms[w - 1].size = o->syms[i].size;
            continue;
        }
        o->syms[w++] = o->syms[i];
    }
    o->nsyms = w;
}

static const struct sym *sym_lookup(struct obj *o, uint64_t pc)
{
    obj_syms(o);
    size_t lo = 0, hi = o->nsyms; /* find the last symbol at or below pc */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->syms[mid].addr <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct sym *sy = &o->syms[lo - 1];
    /* A sized symbol must cover pc; a sizeless one (hand-written assembly)
     * extends to the next symbol. */
    if (sy->size > 0 && pc - sy->addr >= sy->size)
        return NULL;
    return sy;
}

/* ---- functions ------------------------------------------------------------- */

static char *demangle(cprof_symbolizer *s, const char *name)
{
    if (s->demangle && name[0] == '_' && name[1] == 'Z') {
        int status = -1;
        char *d = s->demangle(name, NULL, NULL, &status);
        if (status == 0 && d)
            return d;
        free(d);
    }
    return strdup(name);
}

/* Finds the DIE that carries `attr` for `die`, following the abstract origin
 * (inlined and out-of-line instances) and the specification (C++ members
 * defined outside their class). The holder matters for DW_AT_decl_file: its
 * index is into the file table of the holder's own unit. */
static int attr_holder(Dwarf_Die *die, int attr, Dwarf_Die *holder)
{
    Dwarf_Die cur = *die;
    for (int hop = 0; hop < 8; hop++) {
        if (dwarf_hasattr(&cur, attr)) {
            *holder = cur;
            return 1;
        }
        Dwarf_Attribute a;
        Dwarf_Die next;
        if ((dwarf_attr(&cur, DW_AT_abstract_origin, &a) == NULL &&
             dwarf_attr(&cur, DW_AT_specification, &a) == NULL) ||
            dwarf_formref_die(&a, &next) == NULL)
            return 0;
        cur = next;
    }
    return 0;
}

static const char *die_string(Dwarf_Die *die, int attr)
{
    Dwarf_Die h;
    Dwarf_Attribute a;
    if (!attr_holder(die, attr, &h))
        return NULL;
    return dwarf_formstring(dwarf_attr(&h, attr, &a));
}

/* The declaring file of a function as an absolute path: DWARF 5 file tables
 * usually give it already; older ones are relative to the unit's comp_dir. */
static char *die_decl_file(Dwarf_Die *die, int64_t *line)
{
    Dwarf_Die h;
    int l = 0;
    *line = 0;
    if (attr_holder(die, DW_AT_decl_line, &h) && dwarf_decl_line(&h, &l) == 0)
        *line = l;
    if (!attr_holder(die, DW_AT_decl_file, &h))
        return NULL;
    const char *file = dwarf_decl_file(&h);
    if (file == NULL)
        return NULL;
    if (file[0] == '/')
        return strdup(file);
    Dwarf_Die cu;
    Dwarf_Attribute a;
    const char *dir = NULL;
    if (dwarf_diecu(&h, &cu, NULL, NULL) != NULL)
        dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &a));
    char *out;
    if (dir == NULL || asprintf(&out, "%s/%s", dir, file) < 0)
        return strdup(file);
    return out;
}

static struct fn *fn_new(cprof_symbolizer *s, uint64_t key)
{
    if (grow((void **)&s->fns, &s->capfns, s->nfns + 1, sizeof *s->fns) != 0)
        return NULL;
    if (map_put(&s->fn_by_key, key, s->nfns + 1) != 0)
        return NULL;
    struct fn *f = &s->fns[s->nfns++];
    memset(f, 0, sizeof *f);
    return f;
}

static struct fn *fn_cached(cprof_symbolizer *s, uint64_t key)
{
    uint64_t v;
    return map_get(&s->fn_by_key, key, &v) ? &s->fns[v - 1] : NULL;
}

/* The Function for a DWARF function DIE (subprogram or inlined instance).
 * Cached by the DIE that owns the name, so that all inlined copies of one
 * function in a unit share one entry. NULL when the DIE has no name. */
static struct fn *fn_for_die(cprof_symbolizer *s, Dwarf_Die *die)
{
    Dwarf_Die origin;
    if (!attr_holder(die, DW_AT_name, &origin))
        return NULL;
    uint64_t key = (uint64_t)(uintptr_t)origin.addr;
    struct fn *f = fn_cached(s, key);
    if (f)
        return f;
    Dwarf_Attribute a;
    const char *name = dwarf_formstring(dwarf_attr(&origin, DW_AT_name, &a));
    const char *linkage = die_string(die, DW_AT_linkage_name);
    if (linkage == NULL)
        linkage = die_string(die, DW_AT_MIPS_linkage_name);
    if (name == NULL)
        return NULL;
    if ((f = fn_new(s, key)) == NULL)
        return NULL;
    f->name = demangle(s, linkage ? linkage : name);
    f->system_name = strdup(linkage ? linkage : name);
    f->file = die_decl_file(die, &f->start_line);
    return f;
}

static struct fn *fn_for_sym(cprof_symbolizer *s, const struct sym *sy)
{
    uint64_t key = (uint64_t)(uintptr_t)sy;
    struct fn *f = fn_cached(s, key);
    if (f == NULL && (f = fn_new(s, key)) != NULL) {
        f->name = demangle(s, sy->name);
        f->system_name = strdup(sy->name);
    }
    return f;
}

static uint64_t fn_id(cprof_symbolizer *s, cprof_pb *pb, struct fn *f)
{
    if (f->gen != s->gen || f->pb_id == 0) {
        f->pb_id = cprof_pb_function(pb, f->name, f->system_name, f->file, f->start_line);
        f->gen = s->gen;
    }
    return f->pb_id;
}

/* ---- DWARF: which functions contain a pc ------------------------------------ */

static int range_cmp(const void *a, const void *b)
{
    const struct fnrange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void index_subprograms(struct cu_index *ci, Dwarf_Die *parent)
{
    Dwarf_Die c;
    if (dwarf_child(parent, &c) != 0)
        return;
    do {
        int tag = dwarf_tag(&c);
        if (tag == DW_TAG_subprogram) {
            Dwarf_Addr base, lo, hi;
            ptrdiff_t off = 0;
            while ((off = dwarf_ranges(&c, off, &base, &lo, &hi)) > 0) {
                if (lo >= hi || grow((void **)&ci->r, &ci->cap, ci->n + 1, sizeof *ci->r) != 0)
                    continue;
                ci->r[ci->n++] = (struct fnrange){lo, hi, c};
            }
        } else if (tag == DW_TAG_namespace || tag == DW_TAG_module) {
            index_subprograms(ci, &c); /* some producers nest definitions here */
        }
    } while (dwarf_siblingof(&c, &c) == 0);
}

static struct cu_index *cu_index_for(cprof_symbolizer *s, Dwarf_Die *cudie)
{
    uint64_t key = (uint64_t)(uintptr_t)cudie->addr, v;
    if (map_get(&s->cu_by_key, key, &v))
        return &s->cus[v - 1];
    if (grow((void **)&s->cus, &s->capcus, s->ncus + 1, sizeof *s->cus) != 0 ||
        map_put(&s->cu_by_key, key, s->ncus + 1) != 0)
        return NULL;
    struct cu_index *ci = &s->cus[s->ncus++];
    memset(ci, 0, sizeof *ci);
    index_subprograms(ci, cudie);
    qsort(ci->r, ci->n, sizeof *ci->r, range_cmp);
    return ci;
}

static int push_chain(cprof_symbolizer *s, size_t *n, Dwarf_Die *die)
{
    if (grow((void **)&s->chain, &s->capchain, *n + 1, sizeof *s->chain) != 0)
        return -1;
    s->chain[(*n)++] = *die;
    return 0;
}

/* Appends the inlined instances containing `pc` below `parent`, outermost
 * first. Lexical blocks are looked through; a block without any address
 * attribute is searched too (its children carry the ranges). */
static void descend_inlined(cprof_symbolizer *s, Dwarf_Die *parent, Dwarf_Addr pc, size_t *n)
{
    Dwarf_Die c;
    if (dwarf_child(parent, &c) != 0)
        return;
    do {
        int tag = dwarf_tag(&c);
        if (tag == DW_TAG_inlined_subroutine) {
            if (dwarf_haspc(&c, pc) == 1) {
                if (push_chain(s, n, &c) != 0)
                    return;
                descend_inlined(s, &c, pc, n);
                return;
            }
        } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
                   tag == DW_TAG_catch_block) {
            int has = dwarf_haspc(&c, pc);
            if (has == 1 || (has == 0 && !dwarf_hasattr(&c, DW_AT_low_pc) &&
                             !dwarf_hasattr(&c, DW_AT_ranges))) {
                size_t before = *n;
                descend_inlined(s, &c, pc, n);
                if (has == 1 || *n != before)
                    return;
            }
        }
    } while (dwarf_siblingof(&c, &c) == 0);
}

/* Fills s->chain with the function DIEs containing pc (module-relative),
 * outermost (the real function) first; returns how many. */
static size_t scope_chain(cprof_symbolizer *s, Dwarf_Die *cudie, Dwarf_Addr pc)
{
    struct cu_index *ci = cu_index_for(s, cudie);
    if (ci == NULL || ci->n == 0)
        return 0;
    size_t lo = 0, hi = ci->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ci->r[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || pc >= ci->r[lo - 1].hi)
        return 0;
    size_t n = 0;
    Dwarf_Die sub = ci->r[lo - 1].die;
    if (push_chain(s, &n, &sub) != 0)
        return 0;
    descend_inlined(s, &sub, pc, &n);
    return n;
}

static int64_t call_line(Dwarf_Die *inlined)
{
    Dwarf_Attribute a;
    Dwarf_Word v;
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &a), &v) != 0)
        return 0;
    return (int64_t)v;
}

static int push_line(cprof_symbolizer *s, size_t *n, struct fn *f, int64_t line)
{
    if (grow((void **)&s->frames, &s->capframes, *n + 1, sizeof *s->frames) != 0)
        return -1;
    s->frames[(*n)++] = (struct frame){(size_t)(f - s->fns), line};
    return 0;
}

/* Fills s->frames for pc in object o; returns their number. */
static size_t resolve(cprof_symbolizer *s, struct obj *o, uint64_t pc)
{
    size_t nl = 0;
    int64_t pc_line = 0;
    obj_info(o);
    if (o->has_dwarf) {
        Dwfl_Line *dl = dwfl_module_getsrc(o->mod, pc);
        int l;
        if (dl && dwfl_lineinfo(dl, NULL, &l, NULL, NULL, NULL) != NULL)
            pc_line = l;
        Dwarf_Addr bias;
        Dwarf_Die *cu = dwfl_module_addrdie(o->mod, pc, &bias);
        size_t n = cu ? scope_chain(s, cu, pc - bias) : 0;
        /* pprof wants the innermost inlined function first, each with the
         * line being executed in it: the pc's line for the innermost, the
         * call site (DW_AT_call_line of the next-inner instance) for the rest. */
        for (size_t i = n; i-- > 0;) {
            struct fn *f = fn_for_die(s, &s->chain[i]);
            if (f == NULL) {
                if (i == 0)
                    break; /* nameless real function: the symbol table names it */
                continue;  /* an unnamed inlined instance adds nothing */
            }
            int64_t line = i == n - 1 ? pc_line : call_line(&s->chain[i + 1]);
            if (push_line(s, &nl, f, line) != 0)
                return nl;
            if (i == 0)
                return nl;
        }
        nl = 0;
    }
    const struct sym *sy = sym_lookup(o, pc);
    struct fn *f = sy ? fn_for_sym(s, sy) : NULL;
    if (f)
        push_line(s, &nl, f, pc_line);
    return nl;
}

/* ---- builder binding ------------------------------------------------------- */

/* Adds the Mapping for m to the bound builder. Called for the main
 * executable when binding, for the others when a pc first lands in them, so
 * that libraries no pc names cost nothing: loading DWARF is most of the
 * cost of a symbolizer (libc6-dbg's compressed sections: ~160 ms). */
static void add_mapping(cprof_symbolizer *s, cprof_pb *pb, struct xmap *m)
{
    struct obj *o = &s->objs[m->obj];
    obj_info(o);
    /* The has_* flags say what this module can give (pprof re-symbolizes
     * mappings that lack them), known before any of its pcs is named. */
    cprof_pb_mapping_info mi = {
        .memory_start = m->start,
        .memory_limit = m->end,
        .file_offset = m->offset,
        .filename = o->path,
        .build_id = o->build_id,
        .has_functions = o->has_dwarf || o->has_symtab,
        .has_filenames = o->has_dwarf,
        .has_line_numbers = o->has_dwarf,
        .has_inline_frames = o->has_dwarf,
    };
    m->pb_id = cprof_pb_mapping(pb, &mi);
    m->pb_gen = s->gen;
}

void cprof__symbolizer_begin(cprof_symbolizer *s, cprof_pb *pb)
{
    s->bound = pb;
    s->gen++;
    map_clear(&s->locs);
    for (size_t i = 0; i < s->nmaps; i++)
        if (s->maps[i].obj == s->main_obj)
            add_mapping(s, pb, &s->maps[i]);
}

static struct xmap *find_xmap(cprof_symbolizer *s, uint64_t pc)
{
    size_t lo = 0, hi = s->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->maps[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || pc >= s->maps[lo - 1].end)
        return NULL;
    return &s->maps[lo - 1];
}

uint64_t cprof__symbolize(cprof_symbolizer *s, cprof_pb *pb, uint64_t pc)
{
    if (pb != s->bound)
        cprof__symbolizer_begin(s, pb);
    uint64_t id;
    if (pc != 0 && map_get(&s->locs, pc, &id))
        return id;
    struct xmap *m = find_xmap(s, pc);
    if (m && m->pb_gen != s->gen)
        add_mapping(s, pb, m);
    size_t nl = 0;
    if (m && s->objs[m->obj].mod)
        nl = resolve(s, &s->objs[m->obj], pc);
    if (grow((void **)&s->lines, &s->caplines, nl, sizeof *s->lines) != 0)
        nl = 0;
    for (size_t i = 0; i < nl; i++)
        s->lines[i] = (cprof_pb_line){fn_id(s, pb, &s->fns[s->frames[i].fn]), s->frames[i].line};
    id = cprof_pb_location(pb, m ? m->pb_id : 0, pc, s->lines, nl);
    if (pc != 0)
        map_put(&s->locs, pc, id); /* on failure, only the cache is lost */
    return id;
}

int cprof__symbolize_text(cprof_symbolizer *s, uint64_t pc, char *buf, size_t len)
{
    struct xmap *m = find_xmap(s, pc);
    size_t nl = m && s->objs[m->obj].mod ? resolve(s, &s->objs[m->obj], pc) : 0;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < nl && used < len; i++) {
        const struct fn *f = &s->fns[s->frames[i].fn];
        const char *file = f->file ? strrchr(f->file, '/') : NULL;
        file = file ? file + 1 : f->file;
        int w = file && s->frames[i].line
                    ? snprintf(buf + used, len - used, "%s%s %s:%lld", used ? " in " : "", f->name,
                               file, (long long)s->frames[i].line)
                    : snprintf(buf + used, len - used, "%s%s", used ? " in " : "", f->name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (nl == 0) {
        const char *obj = m ? s->objs[m->obj].path : NULL;
        const char *base = obj ? strrchr(obj, '/') : NULL;
        snprintf(buf, len, "0x%llx%s%s%s", (unsigned long long)pc, obj ? " (" : "",
                 obj ? (base ? base + 1 : obj) : "", obj ? ")" : "");
    }
    return (int)nl;
}

int cprof__symbolize_frames(cprof_symbolizer *s, uint64_t pc, const char **funcs,
                            const char **files, int64_t *lines, int max)
{
    struct xmap *m = find_xmap(s, pc);
    size_t nl = m && s->objs[m->obj].mod ? resolve(s, &s->objs[m->obj], pc) : 0;
    int n = 0;
    for (size_t i = 0; i < nl && n < max; i++, n++) {
        const struct fn *f = &s->fns[s->frames[i].fn];
        funcs[n] = f->name;
        files[n] = f->file ? f->file : "";
        lines[n] = s->frames[i].line;
    }
    return n;
}
