/*
 * cmd_doctor.c: `cprof doctor [PROGRAM]`, what will and will not work before
 * a user starts, and how to fix it.
 *
 * The machine: kernel.perf_event_paranoid and whether perf_event_open's
 * task-clock opens for this user (cprof's high-resolution CPU sampler; see
 * src/runtime/cpu.c, which tries it the same way, kernel time first), the
 * kernel tick (the cap of the POSIX-timer fallback: CONFIG_HZ from
 * /boot/config-RELEASE or /proc/config.gz, and always measured too, since it
 * is the measured rate that matters), kernel.kptr_restrict, and whether
 * `go` (go tool pprof) and `dot` (Graphviz) are installed.
 *
 * A program: static or dynamic (cprof run preloads libcprof, which needs
 * the dynamic loader), then for it and each library it loads: symbols
 * (.symtab, or only .dynsym), DWARF (in the file, or in a separate debug
 * file found the way cprof's symbolizer looks: /usr/lib/debug/.build-id,
 * then .gnu_debuglink beside the file, in .debug/ and under
 * /usr/lib/debug), .eh_frame (what cprof's unwinder reads), and frame
 * pointers.
 *
 * Libraries are found by reading the ELF files, not by running ldd: ldd
 * runs the program's own interpreter, which for an untrusted binary can run
 * its code (ldd(1) says so), and fails for a binary of another
 * architecture. The search follows the loader's rules: DT_RPATH (of the
 * object, then of the executable, when the object has no DT_RUNPATH),
 * LD_LIBRARY_PATH, DT_RUNPATH, the directories of /etc/ld.so.conf (the
 * ld.so.cache is built from them), then the default directories; a
 * candidate of the wrong ELF class or machine is skipped, as the loader
 * skips it. tests/test-doctor.sh checks the result against ldd's.
 *
 * Frame pointers, heuristically (x86-64), from the first 32 bytes of a
 * sample of functions. A function sets up a frame pointer when a push %rbp
 * (55) is followed by mov %rsp,%rbp (48 89 e5, or the other encoding
 * 48 8b ec) in those bytes: not necessarily adjacent nor at the start,
 * since endbr64 comes first under -fcf-protection, GCC schedules other
 * instructions between the two, and its shrink-wrapping puts early exits
 * before the prologue. Code built without frame pointers has no reason to
 * copy rsp into rbp, so the pattern does not appear by chance in practice.
 * Functions that set up no stack frame at all (no push of a callee-saved
 * register, no sub from rsp: leaves and tail calls, which compilers leave
 * frameless even with -fno-omit-frame-pointer) say nothing either way and
 * are not counted. Up to 200 functions are sampled, evenly spread over the
 * symbol table (.symtab, the debug file's, else .dynsym, minus the C
 * runtime's start-up code), or over .eh_frame_hdr's table of function
 * starts when there are no symbols (a stripped program). At least half of
 * the framed functions with the pattern: built with frame pointers; at most
 * a tenth: without; in between: partly.
 */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "tool.h"

#define MAX_OBJECTS  512
#define FP_SAMPLE    200
#define FP_WINDOW    32
#define TICK_MEASURE 0.25 /* CPU seconds spent measuring the tick */
#define MAX_FIXES    32

static const char doctor_usage[] =
    "usage: cprof doctor [PROGRAM]\n"
    "\n"
    "Checks this machine, and PROGRAM and every library it loads, for what profiling with cprof\n"
    "needs: kernel settings that limit sampling, symbols, debug info, unwind tables, frame\n"
    "pointers, Graphviz and Go for the viewers. Says what will and will not work, and how to\n"
    "fix what can be fixed. PROGRAM is a path, or a name looked up in PATH.\n";

/* ---- Output ------------------------------------------------------------------------ */

static char *fixes[MAX_FIXES];
static int nfixes;

static void line(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  %-5s ", tag);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

/* A step for the closing "How to fix" list; duplicates are dropped. */
static void fix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fix(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (int i = 0; i < nfixes; i++)
        if (!strcmp(fixes[i], buf))
            return;
    if (nfixes < MAX_FIXES && (fixes[nfixes] = strdup(buf)))
        nfixes++;
}

/* ---- Small helpers ----------------------------------------------------------------- */

static int read_int_file(const char *path, long *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fscanf(f, "%ld", out) == 1;
    fclose(f);
    return ok;
}

/* The full path of an executable `name` in PATH, into out. */
static int find_in_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len == 0) {
            path++;
            continue;
        }
        if ((size_t)snprintf(out, size, "%.*s/%s", (int)len, path, name) < size) {
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
                return 1;
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return 0;
}

/* Runs argv (no shell: paths go through as they are) and captures its
 * stdout, up to size - 1 bytes. Returns the number of bytes captured, or -1
 * if it could not run. */
static ssize_t run_capture(char *const argv[], char *out, size_t size)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(fds[1], 1);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 2);
        }
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    char drain[4096];
    while ((n = read(fds[0], len < size - 1 ? out + len : drain,
                     len < size - 1 ? size - 1 - len : sizeof drain)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (len < size - 1)
            len += (size_t)n;
    }
    out[len] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -1 : (ssize_t)len;
}

/* ---- The machine ------------------------------------------------------------------- */

struct machine {
    int privileged; /* root, CAP_PERFMON or CAP_SYS_ADMIN: perf limits do not apply */
    long paranoid;
    int perf; /* 0: refused, 1: user time only, 2: user and kernel time */
    int perf_errno;
    long hz_config; /* 0: unknown */
    char hz_source[PATH_MAX];
    double hz_measured; /* 0: not measured */
};

static int has_capability(int cap)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char buf[256];
    unsigned long long eff = 0;
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "CapEff: %llx", &eff) == 1)
            break;
    fclose(f);
    return (eff >> cap) & 1;
}

static void check_paranoid(struct machine *m)
{
    m->privileged = geteuid() == 0 || has_capability(38 /* CAP_PERFMON */) ||
                    has_capability(21 /* CAP_SYS_ADMIN */);
    if (!read_int_file("/proc/sys/kernel/perf_event_paranoid", &m->paranoid)) {
        line("warn", "kernel.perf_event_paranoid: cannot read it (no perf events in this kernel?)");
        m->paranoid = 99;
        return;
    }
    const char *means = m->paranoid <= -1  ? "no restrictions"
                        : m->paranoid == 0 ? "user and kernel profiling of any process"
                        : m->paranoid == 1 ? "user and kernel profiling of your own processes"
                        : m->paranoid == 2 ? "user-space profiling of your own processes only"
                                           : "no perf events for unprivileged users";
    line(m->paranoid <= 2 || m->privileged ? "ok" : "warn",
         "kernel.perf_event_paranoid = %ld: allows %s%s", m->paranoid, means,
         m->privileged ? " (you are privileged: the limit does not apply to you)" : "");
}

static int perf_try(int exclude_kernel)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.disabled = 1;
    attr.exclude_hv = 1;
    attr.exclude_kernel = (unsigned)exclude_kernel;
    return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Opens the task clock as cprof's sampler does and checks that it counts. */
static void check_perf(struct machine *m)
{
    int fd = perf_try(0);
    m->perf = 2;
    if (fd < 0 && errno == EACCES) {
        fd = perf_try(1);
        m->perf = 1;
    }
    if (fd < 0) {
        m->perf = 0;
        m->perf_errno = errno;
        line("warn",
             "perf_event_open (task clock): refused (%s): cprof samples with POSIX CPU "
             "timers instead, thread dumps signal running threads (a call they enter just "
             "then may return EINTR), and the wall-clock profile has no stacks for running "
             "threads",
             strerror(errno));
        if (errno == EACCES || errno == EPERM)
            fix("to sample with perf events (rates above the kernel tick, exact per-thread "
                "CPU time): sudo sysctl kernel.perf_event_paranoid=2 (1 to count kernel time "
                "too); in a container, the runtime's seccomp profile must allow "
                "perf_event_open");
        return;
    }
    uint64_t count = 0;
    if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) == 0) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do /* 5 ms of CPU */
            clock_gettime(CLOCK_MONOTONIC, &t);
        while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 5000000);
        if (read(fd, &count, sizeof count) != sizeof count)
            count = 0;
    }
    close(fd);
    if (count == 0) {
        m->perf = 0;
        line("warn", "perf_event_open (task clock): opens, but did not count: cprof samples "
                     "with POSIX CPU timers instead");
        return;
    }
    line("ok", "perf_event_open (task clock): works, %s",
         m->perf == 2 ? "counting kernel time too"
                      : "user time only (time in system calls is not sampled)");
    if (m->perf == 1)
        fix("to sample time spent in the kernel too (system calls, page faults): sudo sysctl "
            "kernel.perf_event_paranoid=1");
}

/* CONFIG_HZ from the kernel's configuration, if it ships one. */
static void config_hz(struct machine *m)
{
    struct utsname u;
    char path[PATH_MAX], buf[512];
    if (uname(&u) == 0) {
        snprintf(path, sizeof path, "/boot/config-%s", u.release);
        FILE *f = fopen(path, "r");
        if (f) {
            while (fgets(buf, sizeof buf, f))
                if (sscanf(buf, "CONFIG_HZ=%ld", &m->hz_config) == 1) {
                    snprintf(m->hz_source, sizeof m->hz_source, "%s", path);
                    break;
                }
            fclose(f);
            if (m->hz_config)
                return;
        }
    }
    gzFile gz = gzopen("/proc/config.gz", "rb");
    if (!gz)
        return;
    while (gzgets(gz, buf, sizeof buf))
        if (sscanf(buf, "CONFIG_HZ=%ld", &m->hz_config) == 1) {
            snprintf(m->hz_source, sizeof m->hz_source, "/proc/config.gz");
            break;
        }
    gzclose(gz);
}

static volatile sig_atomic_t tick_signals;

static void on_tick(int sig)
{
    (void)sig;
    tick_signals++;
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Asks a thread CPU-time timer for 1000 Hz while spinning, and counts what
 * arrives per CPU-second: the kernel fires these timers from its tick, so
 * the count is min(1000, HZ). This is the rate cprof's timer engine gets. */
static void measure_tick(struct machine *m)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGPROF, &sa, &old) < 0)
        return;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGPROF;
    timer_t timer;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) < 0) {
        sigaction(SIGPROF, &old, NULL);
        return;
    }
    struct itimerspec its = {{0, 1000000}, {0, 1000000}};
    tick_signals = 0;
    double c0 = thread_cpu_seconds(), c;
    struct timespec w0, w;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    timer_settime(timer, 0, &its, NULL);
    do { /* spin; give up after 3 s of wall time on a very busy machine */
        c = thread_cpu_seconds();
        clock_gettime(CLOCK_MONOTONIC, &w);
    } while (c - c0 < TICK_MEASURE && (double)(w.tv_sec - w0.tv_sec) < 3);
    timer_delete(timer);
    sigaction(SIGPROF, &old, NULL);
    if (c - c0 > 0.05)
        m->hz_measured = tick_signals / (c - c0);
}

static void check_tick(struct machine *m)
{
    config_hz(m);
    measure_tick(m);
    char measured[128] = "";
    if (m->hz_measured > 0)
        snprintf(measured, sizeof measured,
                 "; measured: %.0f timer signals per CPU-second at "
                 "1000 Hz asked",
                 m->hz_measured);
    if (m->hz_config)
        line("ok", "kernel tick: CONFIG_HZ=%ld (from %s)%s", m->hz_config, m->hz_source, measured);
    else if (m->hz_measured > 0)
        line("ok",
             "kernel tick: about %.0f Hz (measured; no kernel config in /boot or "
             "/proc/config.gz)",
             m->hz_measured);
    else
        line("warn", "kernel tick: unknown (no kernel config, and the measurement failed)");
}

/* The tick the timer engine is capped at: the kernel's word if it gives
 * one (a measurement on a busy or virtual machine strays by tens of Hz). */
static double tick_hz(const struct machine *m)
{
    return m->hz_config ? (double)m->hz_config : m->hz_measured;
}

static void check_kptr(const struct machine *m)
{
    long v;
    if (!read_int_file("/proc/sys/kernel/kptr_restrict", &v)) {
        line("info", "kernel.kptr_restrict: cannot read it");
        return;
    }
    /* The real test: does /proc/kallsyms show us addresses? */
    int visible = 0;
    FILE *f = fopen("/proc/kallsyms", "r");
    if (f) {
        char buf[256];
        for (int i = 0; i < 64 && fgets(buf, sizeof buf, f); i++)
            if (strtoull(buf, NULL, 16) != 0)
                visible = 1;
        fclose(f);
    }
    line("info",
         "kernel.kptr_restrict = %ld: kernel symbol addresses are %s to you. cprof's "
         "stacks are user space only: kernel frames never appear; %s",
         v, visible ? "visible" : "hidden",
         m->perf == 2 ? "time in the kernel is charged to the user frame that entered it"
                      : "time in the kernel is not sampled");
}

static void check_tools(void)
{
    char path[PATH_MAX];
    if (find_in_path("go", path, sizeof path)) {
        line("ok", "go: %s (go tool pprof reads every profile cprof writes)", path);
    } else {
        line("info", "go: not installed (optional: go tool pprof, its web UI and flame graphs)");
        fix("for go tool pprof: apt install golang-go");
    }
    if (find_in_path("dot", path, sizeof path)) {
        line("ok", "dot: %s (Graphviz, for cprof dot and call graphs)", path);
    } else {
        line("warn", "dot: not installed: cprof dot and pprof's graph views cannot draw");
        fix("for cprof dot and pprof's graphs: apt install graphviz");
    }
}

/* ---- ELF objects --------------------------------------------------------------------- */

struct strv {
    char **v;
    size_t n;
};

static void strv_add(struct strv *s, const char *str)
{
    char **v = realloc(s->v, (s->n + 1) * sizeof *v);
    char *copy = strdup(str);
    if (!v || !copy) {
        free(copy);
        if (v)
            s->v = v;
        return;
    }
    s->v = v;
    s->v[s->n++] = copy;
}

static void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

struct object {
    char *name; /* as asked for: the program, or a NEEDED entry */
    char *path; /* where it was found; NULL if not found */
    int loader; /* the program's interpreter */
    /* What the file says. */
    int elf_class, machine, type;
    char interp[PATH_MAX];
    int has_dynamic;
    struct strv needed;
    char *rpath, *runpath;
    size_t symtab_funcs, dynsym_funcs;
    int debug_info, eh_frame, eh_frame_hdr;
    char build_id[129];
    char debuglink[256];
    /* A separate debug file, if one was found. */
    char *debug_file;
    int debug_file_info, debug_file_symtab;
    /* Frame pointers. */
    int fp_checked, fp_with, fp_total;
    const char *fp_source;
};

/* Opens path as ELF; NULL (and *fd -1) if it is not one. */
static Elf *elf_open(const char *path, int *fd)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return NULL;
    Elf *e = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        if (e)
            elf_end(e);
        close(*fd);
        *fd = -1;
        return NULL;
    }
    return e;
}

static const char *section_name(Elf *e, size_t shstrndx, const GElf_Shdr *sh)
{
    const char *n = elf_strptr(e, shstrndx, sh->sh_name);
    return n ? n : "";
}

/* Counts STT_FUNC symbols with an address in a symbol table section. */
static size_t count_funcs(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !sh->sh_entsize)
        return 0;
    size_t n = sh->sh_size / sh->sh_entsize, funcs = 0;
    for (size_t i = 0; i < n; i++) {
        GElf_Sym sym;
        if (gelf_getsym(d, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
            sym.st_shndx != SHN_UNDEF && sym.st_value)
            funcs++;
    }
    (void)e;
    return funcs;
}

/* Whether a debug file has DWARF and a symbol table. */
static int inspect_debug_file(const char *path, int *info, int *symtab)
{
    int fd;
    Elf *e = elf_open(path, &fd);
    if (!e)
        return 0;
    size_t shstrndx;
    *info = *symtab = 0;
    if (elf_getshdrstrndx(e, &shstrndx) == 0) {
        for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh))
                continue;
            const char *n = section_name(e, shstrndx, &sh);
            if ((!strcmp(n, ".debug_info") || !strcmp(n, ".zdebug_info")) &&
                sh.sh_type != SHT_NOBITS && sh.sh_size > 0)
                *info = 1;
            if (sh.sh_type == SHT_SYMTAB && count_funcs(e, scn, &sh) > 0)
                *symtab = 1;
        }
    }
    elf_end(e);
    close(fd);
    return *info || *symtab;
}

/* The separate debug file, searched as cprof's symbolizer searches. */
static void find_debug_file(struct object *o)
{
    char path[PATH_MAX * 2];
    if (o->build_id[0] && strlen(o->build_id) > 2) {
        snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%.2s/%s.debug", o->build_id,
                 o->build_id + 2);
        if (inspect_debug_file(path, &o->debug_file_info, &o->debug_file_symtab)) {
            o->debug_file = strdup(path);
            return;
        }
    }
    if (!o->debuglink[0])
        return;
    char real[PATH_MAX];
    const char *bases[2] = {o->path, realpath(o->path, real) ? real : NULL};
    for (int b = 0; b < 2; b++) {
        if (!bases[b] || (b == 1 && !strcmp(bases[0], bases[1])))
            continue;
        const char *slash = strrchr(bases[b], '/');
        int dirlen = slash ? (int)(slash - bases[b]) : 0;
        static const char *const fmts[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
        for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
            snprintf(path, sizeof path, fmts[i], dirlen, bases[b], o->debuglink);
            if (!strcmp(path, o->path))
                continue; /* a debuglink naming the file itself */
            if (inspect_debug_file(path, &o->debug_file_info, &o->debug_file_symtab)) {
                o->debug_file = strdup(path);
                return;
            }
        }
    }
}

/* Function starts (and sizes, 0 if unknown) to sample for frame pointers. */
struct func {
    uint64_t addr, size;
};

static int cmp_func(const void *a, const void *b)
{
    uint64_t x = ((const struct func *)a)->addr, y = ((const struct func *)b)->addr;
    return x < y ? -1 : x > y;
}

/* The C runtime's start-up code, never built with frame pointers. */
static int crt_function(const char *name)
{
    static const char *const names[] = {"_start",
                                        "_init",
                                        "_fini",
                                        "deregister_tm_clones",
                                        "register_tm_clones",
                                        "__do_global_dtors_aux",
                                        "frame_dummy",
                                        "_dl_relocate_static_pie",
                                        "__libc_csu_init",
                                        "__libc_csu_fini"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

static size_t funcs_from_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct func **out)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !sh->sh_entsize)
        return 0;
    size_t n = sh->sh_size / sh->sh_entsize, k = 0;
    struct func *f = malloc((n ? n : 1) * sizeof *f);
    if (!f)
        return 0;
    for (size_t i = 0; i < n; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
            sym.st_shndx == SHN_UNDEF || !sym.st_value)
            continue;
        const char *name = elf_strptr(e, sh->sh_link, sym.st_name);
        if (name && crt_function(name))
            continue;
        f[k++] = (struct func){sym.st_value, sym.st_size};
    }
    *out = f;
    return k;
}

/* .eh_frame_hdr's search table: every function with an FDE, symbols or
 * not. Only the encoding every toolchain emits (datarel sdata4) is read. */
static size_t funcs_from_eh_frame_hdr(Elf_Scn *scn, const GElf_Shdr *sh, struct func **out)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || d->d_size < 12)
        return 0;
    const uint8_t *p = d->d_buf;
    if (p[0] != 1 || p[1] != 0x1b || p[2] != 0x03 || p[3] != 0x3b)
        return 0;
    uint32_t count;
    memcpy(&count, p + 8, 4);
    if (12 + (size_t)count * 8 > d->d_size)
        return 0;
    struct func *f = malloc((count ? count : 1) * sizeof *f);
    if (!f)
        return 0;
    for (uint32_t i = 0; i < count; i++) {
        int32_t rel;
        memcpy(&rel, p + 12 + (size_t)i * 8, 4);
        f[i] = (struct func){sh->sh_addr + (uint64_t)(int64_t)rel, 0};
    }
    *out = f;
    return count;
}

/* 1: the function sets up a frame pointer; 0: it sets up a stack frame
 * without one (pushes a callee-saved register or moves rsp down); -1:
 * neither (a leaf or a tail call that needs no frame: no evidence). */
static int fp_prologue(const uint8_t *code, size_t len)
{
    int frame = 0;
    size_t start = len >= 4 && !memcmp(code, "\xf3\x0f\x1e\xfa", 4) ? 4 : 0; /* endbr64 */
    if (start < len && (code[start] == 0x53 || code[start] == 0x55))         /* push %rbx / %rbp */
        frame = 1;
    int pushed_rbp = 0;
    for (size_t i = 0; i + 3 <= len; i++) {
        pushed_rbp |= code[i] == 0x55;
        if (pushed_rbp && code[i] == 0x48 &&
            ((code[i + 1] == 0x89 && code[i + 2] == 0xe5) ||
             (code[i + 1] == 0x8b && code[i + 2] == 0xec)))
            return 1;
        if ((code[i] == 0x41 && code[i + 1] >= 0x54 && code[i + 1] <= 0x57) || /* push %r12-15 */
            (code[i] == 0x48 && (code[i + 1] == 0x83 || code[i + 1] == 0x81) &&
             code[i + 2] == 0xec)) /* sub $n,%rsp */
            frame = 1;
    }
    return frame ? 0 : -1;
}

/* Samples functions for the frame-pointer prologue (see the file's top). */
static void check_frame_pointers(struct object *o, Elf *e, size_t shstrndx, Elf *debug_elf)
{
    struct func *funcs = NULL;
    size_t n = 0;
    /* Symbols: the file's .symtab, the debug file's, .dynsym, in that order. */
    for (int pass = 0; pass < 3 && n < 8; pass++) {
        Elf *src = pass == 1 ? debug_elf : e;
        if (!src)
            continue;
        Elf64_Word want = pass == 2 ? SHT_DYNSYM : SHT_SYMTAB;
        for (Elf_Scn *scn = NULL; (scn = elf_nextscn(src, scn));) {
            GElf_Shdr sh;
            if (gelf_getshdr(scn, &sh) && sh.sh_type == want) {
                free(funcs);
                funcs = NULL;
                n = funcs_from_symtab(src, scn, &sh, &funcs);
                o->fp_source = pass == 0 ? ".symtab" : pass == 1 ? "debug file" : ".dynsym";
                break;
            }
        }
    }
    if (n < 8) {
        for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
            GElf_Shdr sh;
            if (gelf_getshdr(scn, &sh) &&
                !strcmp(section_name(e, shstrndx, &sh), ".eh_frame_hdr")) {
                free(funcs);
                funcs = NULL;
                n = funcs_from_eh_frame_hdr(scn, &sh, &funcs);
                o->fp_source = ".eh_frame_hdr";
                break;
            }
        }
    }
    if (n == 0) {
        free(funcs);
        return;
    }
    qsort(funcs, n, sizeof *funcs, cmp_func);
    size_t step = n > FP_SAMPLE ? n / FP_SAMPLE : 1;
    for (size_t i = 0; i < n && o->fp_total < FP_SAMPLE; i += step) {
        uint64_t addr = funcs[i].addr, size = funcs[i].size;
        if (!size && i + 1 < n)
            size = funcs[i + 1].addr - addr; /* eh_frame_hdr: up to the next start */
        if (size && size < 4)
            continue;
        for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
                !(sh.sh_flags & SHF_EXECINSTR) || addr < sh.sh_addr ||
                addr >= sh.sh_addr + sh.sh_size)
                continue;
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d || !d->d_buf)
                break;
            size_t off = (size_t)(addr - sh.sh_addr);
            size_t len = d->d_size - off < FP_WINDOW ? d->d_size - off : FP_WINDOW;
            if (size && size < len)
                len = (size_t)size;
            int fp = fp_prologue((const uint8_t *)d->d_buf + off, len);
            if (fp >= 0) {
                o->fp_with += fp;
                o->fp_total++;
            }
            break;
        }
    }
    o->fp_checked = o->fp_total > 0;
    free(funcs);
}

/* Reads everything doctor wants to know from one ELF file. 0, or -1 if it
 * is not an ELF file. */
static int inspect(struct object *o)
{
    int fd;
    Elf *e = elf_open(o->path, &fd);
    if (!e)
        return -1;
    GElf_Ehdr eh;
    if (!gelf_getehdr(e, &eh)) {
        elf_end(e);
        close(fd);
        return -1;
    }
    o->elf_class = eh.e_ident[EI_CLASS];
    o->machine = eh.e_machine;
    o->type = eh.e_type;
    size_t nph = 0;
    elf_getphdrnum(e, &nph);
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_INTERP) {
            size_t size;
            const char *raw = elf_rawfile(e, &size);
            if (raw && ph.p_offset < size && ph.p_filesz > 0 && ph.p_filesz < sizeof o->interp &&
                ph.p_offset + ph.p_filesz <= size) {
                memcpy(o->interp, raw + ph.p_offset, ph.p_filesz);
                o->interp[ph.p_filesz] = '\0';
            }
        } else if (ph.p_type == PT_DYNAMIC) {
            o->has_dynamic = 1;
        }
    }
    size_t shstrndx;
    if (elf_getshdrstrndx(e, &shstrndx) != 0)
        shstrndx = 0;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        const char *n = section_name(e, shstrndx, &sh);
        if (sh.sh_type == SHT_SYMTAB)
            o->symtab_funcs += count_funcs(e, scn, &sh);
        else if (sh.sh_type == SHT_DYNSYM)
            o->dynsym_funcs += count_funcs(e, scn, &sh);
        else if ((!strcmp(n, ".debug_info") || !strcmp(n, ".zdebug_info")) &&
                 sh.sh_type != SHT_NOBITS && sh.sh_size > 0)
            o->debug_info = 1;
        else if (!strcmp(n, ".eh_frame") && sh.sh_type == SHT_PROGBITS && sh.sh_size > 4)
            o->eh_frame = 1;
        else if (!strcmp(n, ".eh_frame_hdr") && sh.sh_size > 0)
            o->eh_frame_hdr = 1;
        if (sh.sh_type == SHT_NOTE) {
            Elf_Data *d = elf_getdata(scn, NULL);
            size_t off = 0, noff, doff;
            GElf_Nhdr nh;
            while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
                if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                    !memcmp((const char *)d->d_buf + noff, "GNU", 4) &&
                    nh.n_descsz * 2 < sizeof o->build_id) {
                    const uint8_t *id = (const uint8_t *)d->d_buf + doff;
                    for (size_t k = 0; k < nh.n_descsz; k++)
                        snprintf(o->build_id + 2 * k, 3, "%02x", id[k]);
                }
            }
        }
        if (!strcmp(n, ".gnu_debuglink")) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (d && d->d_size > 1)
                snprintf(o->debuglink, sizeof o->debuglink, "%.*s", (int)d->d_size,
                         (const char *)d->d_buf);
        }
        if (sh.sh_type == SHT_DYNAMIC) {
            Elf_Data *d = elf_getdata(scn, NULL);
            size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; d && i < count; i++) {
                GElf_Dyn dyn;
                if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
                    break;
                const char *s = NULL;
                if (dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_RPATH || dyn.d_tag == DT_RUNPATH)
                    s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
                if (!s)
                    continue;
                if (dyn.d_tag == DT_NEEDED)
                    strv_add(&o->needed, s);
                else if (dyn.d_tag == DT_RPATH && !o->rpath)
                    o->rpath = strdup(s);
                else if (dyn.d_tag == DT_RUNPATH && !o->runpath)
                    o->runpath = strdup(s);
            }
        }
    }
    if (!o->debug_info || !o->symtab_funcs)
        find_debug_file(o);
    Elf *debug_elf = NULL;
    int debug_fd = -1;
    if (o->debug_file && !o->symtab_funcs)
        debug_elf = elf_open(o->debug_file, &debug_fd);
    if (o->machine == EM_X86_64)
        check_frame_pointers(o, e, shstrndx, debug_elf);
    if (debug_elf) {
        elf_end(debug_elf);
        close(debug_fd);
    }
    elf_end(e);
    close(fd);
    return 0;
}

/* ---- Finding libraries as the loader does ------------------------------------------------ */

static struct strv ld_conf_dirs;

static void parse_ld_conf(const char *path, int depth)
{
    FILE *f = fopen(path, "r");
    if (!f || depth > 8) {
        if (f)
            fclose(f);
        return;
    }
    char buf[PATH_MAX];
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "#\n")] = '\0';
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        size_t len = strlen(s);
        while (len && isspace((unsigned char)s[len - 1]))
            s[--len] = '\0';
        if (!*s || !strncmp(s, "hwcap", 5))
            continue;
        if (!strncmp(s, "include", 7) && isspace((unsigned char)s[7])) {
            char *pattern = s + 8;
            while (isspace((unsigned char)*pattern))
                pattern++;
            char full[PATH_MAX];
            if (pattern[0] != '/') { /* relative to the including file's directory */
                const char *slash = strrchr(path, '/');
                snprintf(full, sizeof full, "%.*s/%s", slash ? (int)(slash - path) : 1,
                         slash ? path : ".", pattern);
                pattern = full;
            }
            glob_t g;
            if (glob(pattern, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++)
                    parse_ld_conf(g.gl_pathv[i], depth + 1);
                globfree(&g);
            }
            continue;
        }
        strv_add(&ld_conf_dirs, s);
    }
    fclose(f);
}

/* Whether path is an ELF shared object the loader would take for `like`. */
static int compatible(const char *path, const struct object *like)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char h[20];
    int ok = read(fd, h, sizeof h) == (ssize_t)sizeof h && !memcmp(h, ELFMAG, SELFMAG) &&
             h[EI_CLASS] == like->elf_class;
    if (ok) {
        uint16_t machine;
        memcpy(&machine, h + 18, 2); /* host byte order: foreign-endian files do not match */
        ok = machine == like->machine;
    }
    close(fd);
    return ok;
}

/* Tries each directory of a ':'-separated list ($ORIGIN expanded). */
static char *search_list(const char *list, const char *name, const struct object *from)
{
    if (!list)
        return NULL;
    char origin[PATH_MAX] = ".";
    char real[PATH_MAX];
    if (from && from->path && realpath(from->path, real)) {
        char *slash = strrchr(real, '/');
        if (slash) {
            *slash = '\0';
            snprintf(origin, sizeof origin, "%s", real[0] ? real : "/");
        }
    }
    while (*list) {
        size_t len = strcspn(list, ":;");
        char dir[PATH_MAX], *out = dir;
        const char *p = list, *end = list + len;
        while (p < end && out < dir + sizeof dir - 1) {
            const char *token = NULL, *value = NULL;
            size_t tlen = 0;
            if (!strncmp(p, "$ORIGIN", 7) || !strncmp(p, "${ORIGIN}", 9)) {
                token = p, tlen = p[1] == '{' ? 9 : 7, value = origin;
            } else if (!strncmp(p, "$LIB", 4) || !strncmp(p, "${LIB}", 6)) {
                token = p, tlen = p[1] == '{' ? 6 : 4, value = "lib";
            } else if (!strncmp(p, "$PLATFORM", 9) || !strncmp(p, "${PLATFORM}", 11)) {
                token = p, tlen = p[1] == '{' ? 11 : 9, value = "x86_64";
            }
            if (token) {
                size_t vlen = strlen(value);
                if (out + vlen >= dir + sizeof dir - 1)
                    break;
                memcpy(out, value, vlen);
                out += vlen;
                p += tlen;
            } else {
                *out++ = *p++;
            }
        }
        *out = '\0';
        if (dir[0]) {
            char path[PATH_MAX * 2];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            if (compatible(path, from))
                return strdup(path);
        } else { /* an empty entry means the current directory */
            if (compatible(name, from))
                return strdup(name);
        }
        list = *end ? end + 1 : end;
    }
    return NULL;
}

static char *resolve(const char *name, const struct object *from, const struct object *exe)
{
    if (strchr(name, '/'))
        return compatible(name, from) ? strdup(name) : NULL;
    char *found = NULL;
    if (!from->runpath) {
        found = search_list(from->rpath, name, from);
        if (!found && exe != from && !exe->runpath)
            found = search_list(exe->rpath, name, exe);
    }
    if (!found)
        found = search_list(getenv("LD_LIBRARY_PATH"), name, from);
    if (!found)
        found = search_list(from->runpath, name, from);
    for (size_t i = 0; !found && i < ld_conf_dirs.n; i++)
        found = search_list(ld_conf_dirs.v[i], name, from);
    if (!found)
        found = search_list("/lib64:/usr/lib64:/lib:/usr/lib", name, from);
    return found;
}

/* ---- Reporting on a program -------------------------------------------------------------- */

/* The Debian packages that own the files in paths, one dpkg-query for all
 * (it takes a few hundred milliseconds per call). pkgs[i] is set to a
 * malloc'd name, or left NULL. Debian registers a library under /lib or
 * /usr/lib, whichever the package installs it to, so both are asked. */
static void packages_of(const struct strv *paths, char **pkgs)
{
    struct strv ask = {0};
    for (size_t i = 0; i < paths->n; i++) {
        char real[PATH_MAX], alt[PATH_MAX + 8];
        const char *r = realpath(paths->v[i], real) ? real : paths->v[i];
        strv_add(&ask, paths->v[i]);
        strv_add(&ask, r);
        if (!strncmp(r, "/usr/lib/", 9))
            snprintf(alt, sizeof alt, "%s", r + 4);
        else if (!strncmp(r, "/lib/", 5))
            snprintf(alt, sizeof alt, "/usr%s", r);
        else
            continue;
        strv_add(&ask, alt);
    }
    char **argv = calloc(ask.n + 3, sizeof *argv);
    char *out = malloc(256 * 1024);
    if (argv && out && ask.n) {
        argv[0] = "dpkg-query";
        argv[1] = "-S";
        for (size_t i = 0; i < ask.n; i++)
            argv[i + 2] = ask.v[i];
        if (run_capture(argv, out, 256 * 1024) > 0) {
            /* Lines "pkg[:arch][, pkg2...]: /path". */
            for (char *save, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *sep = strstr(l, ": /");
                if (!sep)
                    continue;
                const char *file = sep + 2;
                char real[PATH_MAX];
                const char *rf = realpath(file, real) ? real : file;
                for (size_t i = 0; i < paths->n; i++) {
                    char rp[PATH_MAX];
                    const char *r = realpath(paths->v[i], rp) ? rp : paths->v[i];
                    if (pkgs[i] || (strcmp(file, paths->v[i]) && strcmp(rf, r)))
                        continue;
                    pkgs[i] = strndup(l, strcspn(l, ":,"));
                }
            }
        }
    }
    free(out);
    free(argv);
    strv_free(&ask);
}

static const char *symbols_word(const struct object *o)
{
    if (o->symtab_funcs)
        return ".symtab";
    if (o->debug_file && o->debug_file_symtab)
        return "debug file";
    if (o->dynsym_funcs)
        return ".dynsym only";
    return "none";
}

static const char *debug_word(const struct object *o)
{
    if (o->debug_info)
        return "DWARF";
    if (o->debug_file && o->debug_file_info)
        return "debug file";
    return "none";
}

static void fp_text(const struct object *o, char *buf, size_t size)
{
    if (!o->fp_checked) {
        snprintf(buf, size,
                 o->machine == EM_X86_64 ? "unknown (no functions found)"
                                         : "not checked (x86-64 only)");
        return;
    }
    const char *verdict = o->fp_with * 2 >= o->fp_total    ? "yes"
                          : o->fp_with * 10 <= o->fp_total ? "no"
                                                           : "partly";
    snprintf(buf, size, "%s (%d/%d framed functions, from %s)", verdict, o->fp_with, o->fp_total,
             o->fp_source);
}

static int has_names(const struct object *o)
{
    return o->symtab_funcs || (o->debug_file && o->debug_file_symtab);
}

static int has_dwarf(const struct object *o)
{
    return o->debug_info || (o->debug_file && o->debug_file_info);
}

static void free_object(struct object *o)
{
    free(o->name);
    free(o->path);
    free(o->rpath);
    free(o->runpath);
    free(o->debug_file);
    strv_free(&o->needed);
}

/* Finds PROGRAM (a path, or a name in PATH) and checks that it is an ELF
 * file, before anything else is said. 0, or -1 after printing why. */
static int locate_program(const char *arg, char *path, size_t size)
{
    if (strchr(arg, '/')) {
        snprintf(path, size, "%s", arg);
    } else if (!find_in_path(arg, path, size)) {
        tool_error("doctor: %s: not found in PATH", arg);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        tool_error("doctor: %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        tool_error("doctor: %s: not a regular file", path);
        return -1;
    }
    int fd;
    Elf *e = elf_open(path, &fd);
    if (e) {
        elf_end(e);
        close(fd);
        return 0;
    }
    char head[2] = "";
    FILE *f = fopen(path, "r");
    int script = f && fread(head, 1, 2, f) == 2 && head[0] == '#' && head[1] == '!';
    if (f)
        fclose(f);
    if (script)
        tool_error("doctor: %s is a script: check its interpreter instead (cprof doctor "
                   "INTERPRETER)",
                   path);
    else if (!f)
        tool_error("doctor: %s: %s", path, strerror(errno));
    else
        tool_error("doctor: %s: not an ELF file", path);
    return -1;
}

static int check_program(const char *path, const struct machine *m)
{
    struct object *objs = calloc(MAX_OBJECTS, sizeof *objs);
    if (!objs) {
        tool_error("doctor: out of memory");
        return 1;
    }
    size_t nobjs = 1;
    objs[0].name = strdup(path);
    objs[0].path = strdup(path);
    if (!objs[0].name || !objs[0].path || inspect(&objs[0]) < 0) {
        tool_error("doctor: %s: cannot read it as ELF", path);
        free_object(&objs[0]);
        free(objs);
        return 1;
    }
    struct object *exe = &objs[0];
    int dynamic = exe->interp[0] != '\0';
    parse_ld_conf("/etc/ld.so.conf", 0);

    /* Breadth first, as the loader orders them; each library once. */
    size_t unresolved = 0;
    if (dynamic && nobjs < MAX_OBJECTS) {
        objs[nobjs].name = strdup(exe->interp);
        objs[nobjs].path = strdup(exe->interp);
        objs[nobjs].loader = 1;
        if (inspect(&objs[nobjs]) == 0)
            nobjs++;
        else
            free_object(&objs[nobjs]), memset(&objs[nobjs], 0, sizeof objs[nobjs]);
    }
    for (size_t i = 0; i < nobjs; i++) {
        if (!objs[i].path)
            continue;
        for (size_t k = 0; k < objs[i].needed.n && nobjs < MAX_OBJECTS; k++) {
            const char *name = objs[i].needed.v[k];
            int seen = 0;
            for (size_t j = 0; j < nobjs && !seen; j++) {
                const char *base = objs[j].path ? strrchr(objs[j].path, '/') : NULL;
                seen = !strcmp(objs[j].name, name) || (base && !strcmp(base + 1, name));
            }
            if (seen)
                continue;
            struct object *o = &objs[nobjs];
            o->name = strdup(name);
            o->path = resolve(name, &objs[i], exe);
            char real[PATH_MAX], other[PATH_MAX];
            for (size_t j = 0; o->path && j < nobjs && !seen; j++)
                seen = objs[j].path && realpath(o->path, real) && realpath(objs[j].path, other) &&
                       !strcmp(real, other);
            if (seen) {
                free_object(o);
                memset(o, 0, sizeof *o);
                continue;
            }
            if (!o->path)
                unresolved++;
            else if (inspect(o) < 0)
                o->fp_source = NULL;
            nobjs++;
        }
    }

    printf("\nProgram %s\n", path);
    int links_cprof = 0;
    for (size_t k = 0; k < exe->needed.n; k++)
        links_cprof |= !strncmp(exe->needed.v[k], "libcprof.so", 11);
    if (dynamic) {
        line("ok", "dynamically linked (interpreter %s): cprof run can preload libcprof",
             exe->interp);
    } else {
        line("fail", "statically linked: cprof run cannot preload libcprof into it (no dynamic "
                     "loader), and CPROF_* variables do nothing");
        fix("%s: link it dynamically (drop -static) to use cprof run; or link libcprof into it "
            "and start profiles from the code (cprof.h)",
            path);
    }
    if (links_cprof)
        line("ok", "linked with libcprof: the API (cprof.h) and CPROF_* variables work");
    if (exe->machine != EM_X86_64)
        line("fail", "not an x86-64 program: cprof's unwinder supports x86-64 only");
    if (unresolved) {
        line("warn",
             "%zu librar%s not found (the loader would refuse to start it): see the "
             "table",
             unresolved, unresolved == 1 ? "y" : "ies");
    }

    /* The table. */
    size_t wname = strlen("object");
    for (size_t i = 0; i < nobjs; i++) {
        const char *shown = objs[i].path ? objs[i].path : objs[i].name;
        if (strlen(shown) > wname)
            wname = strlen(shown);
    }
    printf("\n  %-*s  %-12s  %-10s  %-9s  %s\n", (int)wname, "object", "symbols", "debug info",
           ".eh_frame", "frame pointers");
    for (size_t i = 0; i < nobjs; i++) {
        struct object *o = &objs[i];
        if (!o->path) {
            printf("  %-*s  not found\n", (int)wname, o->name);
            continue;
        }
        char fp[128];
        fp_text(o, fp, sizeof fp);
        printf("  %-*s  %-12s  %-10s  %-9s  %s\n", (int)wname, o->path, symbols_word(o),
               debug_word(o), o->eh_frame ? "yes" : "no", fp);
    }
    for (size_t i = 0; i < nobjs; i++)
        if (objs[i].debug_file)
            printf("  (%s: debug file %s)\n", objs[i].path, objs[i].debug_file);

    /* What it means. */
    printf("\nWhat will work for %s\n", path);
    double hz = tick_hz(m);
    if (!dynamic)
        line("no", "cprof run (LD_PRELOAD): the program is static");
    else
        line("yes", "cprof run, CPROF_* variables%s", links_cprof ? ", the linked API" : "");
    if (!dynamic && !links_cprof)
        ; /* no way in for any profile: said above */
    else if (m->perf)
        line("yes", "CPU profiles at any rate up to 10000 Hz (perf events%s)",
             m->perf == 2 ? ", kernel time included" : ", user time only");
    else if (hz > 0)
        line("part",
             "CPU profiles, but the timer engine fires at most about %.0f times per "
             "CPU-second per thread: faster rates add weight, not stacks",
             hz);
    else
        line("part", "CPU profiles with POSIX CPU timers, at most one sample per kernel tick");

    /* Names. */
    if (has_names(exe))
        line("yes", "function names in %s", path);
    else if (exe->dynsym_funcs)
        line("part",
             "function names in %s: only its %zu exported functions (it is stripped); "
             "the rest show as the nearest exported name or an address",
             path, exe->dynsym_funcs);
    else
        line("no",
             "function names in %s: it has no symbols at all (stripped); stacks show "
             "addresses",
             path);
    if (!has_names(exe))
        fix("%s: do not strip it, or keep its symbols in a debug file: objcopy --only-keep-debug "
            "PROG PROG.debug && objcopy --add-gnu-debuglink=PROG.debug PROG",
            path);
    if (has_dwarf(exe))
        line("yes", "file:line and inlined functions (cprof list, -lines) in %s", path);
    else
        line("no", "file:line and inlined functions in %s: no DWARF (built without -g)", path);
    if (!has_dwarf(exe))
        fix("%s: rebuild with -g (keep -O2; -g does not slow the code) for file:line and "
            "inlined frames",
            path);

    size_t libs = 0, libs_named = 0, libs_dwarf = 0;
    struct strv bare = {0}, no_unwind = {0};
    for (size_t i = 1; i < nobjs; i++) {
        struct object *o = &objs[i];
        if (!o->path)
            continue;
        libs++;
        libs_named += has_names(o) != 0;
        libs_dwarf += has_dwarf(o) != 0;
        if (!has_names(o))
            strv_add(&bare, o->path);
        if (!o->eh_frame && !(o->fp_checked && o->fp_with * 2 >= o->fp_total))
            strv_add(&no_unwind, o->path);
    }
    if (!exe->eh_frame && !(exe->fp_checked && exe->fp_with * 2 >= exe->fp_total))
        strv_add(&no_unwind, path);
    if (libs) {
        if (libs_named == libs)
            line("yes", "function names in all %zu libraries (%zu with file:line)", libs,
                 libs_dwarf);
        else
            line("part",
                 "function names in %zu of %zu libraries; in the other %zu only "
                 "exported functions are named (internal ones show as the nearest "
                 "exported name)",
                 libs_named, libs, libs - libs_named);
    }
    if (no_unwind.n == 0) {
        line("yes", "complete stacks: every object has .eh_frame (cprof unwinds with it; frame "
                    "pointers are not needed)");
    } else {
        for (size_t i = 0; i < no_unwind.n; i++)
            line("no",
                 "complete stacks through %s: neither .eh_frame nor frame pointers; "
                 "stacks stop there",
                 no_unwind.v[i]);
        fix("objects without .eh_frame: build them with -fasynchronous-unwind-tables (the "
            "default on x86-64) or -fno-omit-frame-pointer");
    }
    line("no", "kernel frames: cprof records user-space stacks only");

    /* Packages for the libraries without names. */
    if (bare.n) {
        char **owners = calloc(bare.n, sizeof *owners);
        char pkgs[1024] = "";
        size_t len = 0;
        int libc = 0;
        if (owners)
            packages_of(&bare, owners);
        for (size_t i = 0; i < bare.n; i++) {
            const char *pkg = owners && owners[i] ? owners[i] : "";
            if (!strcmp(pkg, "libc6")) {
                libc = 1;
                continue;
            }
            const char *item = pkg[0] ? pkg : bare.v[i];
            int dup = 0;
            for (size_t j = 0; j < i && !dup; j++)
                dup = owners && owners[j] && !strcmp(owners[j], item);
            if (dup)
                continue;
            int w = snprintf(pkgs + len, sizeof pkgs - len, "%s%s%s", len ? ", " : "", item,
                             pkg[0] ? "-dbgsym" : "");
            if (w > 0 && (size_t)w < sizeof pkgs - len)
                len += (size_t)w;
        }
        for (size_t i = 0; owners && i < bare.n; i++)
            free(owners[i]);
        free(owners);
        if (libc)
            fix("names inside glibc: apt install libc6-dbg");
        if (len)
            fix("names inside the other libraries: install their debug symbols (%s, from "
                "Debian's or Ubuntu's debug-symbol archive)",
                pkgs);
    }
    strv_free(&bare);
    strv_free(&no_unwind);
    for (size_t i = 0; i < nobjs; i++)
        free_object(&objs[i]);
    free(objs);
    strv_free(&ld_conf_dirs);
    return 0;
}

int cmd_doctor(int argc, char **argv)
{
    const char *program = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "-help") || !strcmp(argv[i], "--help")) {
            fputs(doctor_usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--")) {
            if (i + 1 < argc)
                program = argv[++i];
            if (i + 1 < argc) {
                tool_error("doctor: one program at a time (got \"%s\" too)", argv[i + 1]);
                return 2;
            }
            break;
        }
        if (argv[i][0] == '-') {
            tool_error("doctor: unknown flag %s (see 'cprof doctor -h')", argv[i]);
            return 2;
        }
        if (program) {
            tool_error("doctor: one program at a time (got \"%s\" and \"%s\")", program, argv[i]);
            return 2;
        }
        program = argv[i];
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        tool_error("doctor: libelf is out of date");
        return 1;
    }

    char path[PATH_MAX];
    if (program && locate_program(program, path, sizeof path) < 0)
        return 1;
    struct machine m = {0};
    printf("Machine\n");
    check_paranoid(&m);
    check_perf(&m);
    check_tick(&m);
    check_kptr(&m);
    check_tools();

    int rc = 0;
    if (program)
        rc = check_program(path, &m);
    if (rc == 0) {
        printf("\nHow to fix\n");
        if (nfixes == 0)
            printf("  nothing to fix\n");
        for (int i = 0; i < nfixes; i++)
            printf("  %d. %s\n", i + 1, fixes[i]);
    }
    for (int i = 0; i < nfixes; i++)
        free(fixes[i]);
    nfixes = 0;
    return rc;
}
