/*
 * unwind.c: owns the unwind tables and the stack walk done in signal
 * handlers (x86-64).
 *
 * Why not libunwind or libgcc's unwinder in the handler: both find the
 * unwind info of a pc through dl_iterate_phdr, which takes the loader's lock;
 * a sample landing inside dlopen would deadlock. Why not copy the stack and
 * unwind later (perf --call-graph=dwarf): kilobytes per sample at 1000 Hz.
 * Instead, off the signal path, we interpret every FDE of every loaded
 * object's .eh_frame once and keep, per object, a sorted array of rows
 * "from this pc on, CFA = rsp|rbp + off, caller's rbp at CFA + k, return
 * address at CFA - 8". In the handler a walk is then two binary searches and
 * two loads per frame, and it reads only cprof's tables and the thread's own
 * stack (bounds-checked), never the objects' memory: a dlclose racing with a
 * sample cannot make it fault.
 *
 * Code without CFI (JIT, hand-written stubs) falls back to the frame-pointer
 * chain, with the same bounds checks.
 *
 * Locking: `refresh_lock` serialises rebuilds. The published table set is an
 * atomic pointer; a set that is replaced goes to a retired list and is freed
 * only when no walk is running (`walkers` == 0).
 */
#include <link.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "heap.h"
#include "symbols.h"
#include "threads.h"
#include "unwind.h"

#if !defined(__x86_64__)
#error "cprof's unwinder supports x86-64 only for now"
#endif

/* How a row computes the CFA (the caller's stack pointer). */
enum {
    CFA_RSP = 1, /* CFA = rsp + off */
    CFA_RBP,     /* CFA = rbp + off */
    CFA_PLT,     /* PLT stub: CFA = rsp + 8 + ((rip & 15) >= k ? 8 : 0) */
    CFA_SIGNAL,  /* signal trampoline: a ucontext_t sits at rsp */
    CFA_END,     /* outermost frame: the return address is undefined */
    CFA_UNKNOWN, /* a rule we do not model: fall back to frame pointers */
};

/* What happened to rbp in this frame. */
enum { FP_SAME = 0, FP_SAVED, FP_LOST };

struct row {
    uint32_t pc; /* offset from the module's base */
    int32_t cfa_off;
    int16_t fp_off; /* FP_SAVED: rbp saved at CFA + fp_off; CFA_PLT: k */
    uint8_t cfa_rule;
    uint8_t fp_rule;
};

struct module {
    uintptr_t lo, hi; /* executable range [lo, hi) */
    uintptr_t base;   /* row pcs are relative to this */
    uintptr_t eh_hdr; /* identity, with lo and hi */
    struct row *rows;
    uint32_t nrows;
    _Atomic int refs; /* sets that hold this module */
};

struct module_set {
    uint32_t n;
    struct module **mods; /* sorted by lo */
    struct module_set *next_retired;
    uint64_t gen; /* distinct for every set made: keys the row cache */
};

/* libcprof's own code, when it is a library of its own (preloaded or
 * linked as libcprof.so); empty when it is linked into the executable. */
static uintptr_t own_lo, own_hi;

static _Atomic(struct module_set *) current_set;
static _Atomic int walkers;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module_set *retired;
static _Atomic uint64_t unknown_pc_count, fp_step_count;

/* ---- Reading .eh_frame (not in signal handlers) ---------------------------- */

enum {
    PE_ABSPTR = 0x00,
    PE_ULEB128 = 0x01,
    PE_UDATA2 = 0x02,
    PE_UDATA4 = 0x03,
    PE_UDATA8 = 0x04,
    PE_SLEB128 = 0x09,
    PE_SDATA2 = 0x0a,
    PE_SDATA4 = 0x0b,
    PE_SDATA8 = 0x0c,
    PE_PCREL = 0x10,
    PE_DATAREL = 0x30,
    PE_INDIRECT = 0x80,
    PE_OMIT = 0xff,
};

struct reader {
    const uint8_t *p, *end;
    int bad;
};

static uint64_t rd_u(struct reader *r, int size)
{
    if (r->bad || r->end - r->p < size) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, (size_t)size); /* x86-64 is little-endian */
    r->p += size;
    return v;
}

static uint64_t rd_uleb(struct reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = (uint8_t)rd_u(r, 1);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return v;
}

static int64_t rd_sleb(struct reader *r)
{
    int64_t v = 0;
    int shift = 0;
    uint8_t b;
    do {
        b = (uint8_t)rd_u(r, 1);
        v |= (int64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && shift < 64 && !r->bad);
    if (shift < 64 && (b & 0x40))
        v |= -((int64_t)1 << shift);
    return v;
}

/* Reads a pointer in DW_EH_PE encoding `enc`; `datarel` is the base for
 * datarel values (the .eh_frame_hdr section). */
static uintptr_t rd_encoded(struct reader *r, uint8_t enc, uintptr_t datarel)
{
    if (enc == PE_OMIT)
        return 0;
    uintptr_t at = (uintptr_t)r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case PE_ABSPTR:
        v = rd_u(r, 8);
        break;
    case PE_ULEB128:
        v = rd_uleb(r);
        break;
    case PE_UDATA2:
        v = rd_u(r, 2);
        break;
    case PE_UDATA4:
        v = rd_u(r, 4);
        break;
    case PE_UDATA8:
        v = rd_u(r, 8);
        break;
    case PE_SLEB128:
        v = (uint64_t)rd_sleb(r);
        break;
    case PE_SDATA2:
        v = (uint64_t)(int64_t)(int16_t)rd_u(r, 2);
        break;
    case PE_SDATA4:
        v = (uint64_t)(int64_t)(int32_t)rd_u(r, 4);
        break;
    case PE_SDATA8:
        v = rd_u(r, 8);
        break;
    default:
        r->bad = 1;
        return 0;
    }
    switch (enc & 0x70) {
    case 0:
        break;
    case PE_PCREL:
        v += at;
        break;
    case PE_DATAREL:
        v += datarel;
        break;
    default:
        r->bad = 1;
        return 0; /* textrel/funcrel/aligned: not used on x86-64 Linux */
    }
    if (enc & PE_INDIRECT)
        v = *(const uint64_t *)(uintptr_t)v;
    return (uintptr_t)v;
}

/* A growable row array for one module. */
struct rows {
    struct row *v;
    size_t n, cap;
    int oom;
};

static void rows_push(struct rows *rs, struct row row)
{
    if (rs->n && rs->v[rs->n - 1].pc == row.pc) {
        rs->v[rs->n - 1] = row; /* a later rule for the same pc wins */
        return;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 1024;
        struct row *grown = realloc(rs->v, cap * sizeof *grown);
        if (!grown) {
            rs->oom = 1;
            return;
        }
        rs->v = grown;
        rs->cap = cap;
    }
    rs->v[rs->n++] = row;
}

/* The part of the DWARF register state we model. */
struct cfi_state {
    int cfa_kind; /* CFA_RSP, CFA_RBP, CFA_PLT, CFA_UNKNOWN */
    int64_t cfa_off;
    int plt_k;
    int fp_rule;
    int64_t fp_off;
    int ra_ok; /* 1: RA at CFA-8; 0: unmodelled; -1: undefined (outermost) */
};

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    int has_z; /* FDEs carry augmentation data */
    int signal_frame;
    const uint8_t *insns, *insns_end;
};

#define DW_REG_RBP 6
#define DW_REG_RSP 7
#define DW_REG_RA  16

/* Recognises the CFA expression binutils emits for .plt entries:
 * rsp + 8 + ((rip & 15) >= k) << 3. Returns k, or 0. */
static int plt_expression(const uint8_t *e, uint64_t len)
{
    static const uint8_t head[] = {0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a};
    static const uint8_t tail[] = {0x2a, 0x33, 0x24, 0x22};
    if (len != 11 || memcmp(e, head, sizeof head) || memcmp(e + 7, tail, sizeof tail))
        return 0;
    if (e[6] < 0x30 || e[6] > 0x4f) /* DW_OP_lit0..lit31 */
        return 0;
    return e[6] - 0x30;
}

static struct row make_row(uintptr_t pc, uintptr_t base, const struct cfi_state *s, int sig)
{
    struct row row = {.pc = (uint32_t)(pc - base), .cfa_rule = CFA_UNKNOWN, .fp_rule = FP_LOST};
    if (sig) {
        row.cfa_rule = CFA_SIGNAL;
        return row;
    }
    if (s->ra_ok < 0) {
        row.cfa_rule = CFA_END;
        return row;
    }
    if (!s->ra_ok || s->cfa_kind == CFA_UNKNOWN || s->cfa_off != (int32_t)s->cfa_off)
        return row;
    row.cfa_rule = (uint8_t)s->cfa_kind;
    row.cfa_off = (int32_t)s->cfa_off;
    if (s->cfa_kind == CFA_PLT)
        row.fp_off = (int16_t)s->plt_k;
    if (s->fp_rule == FP_SAME) {
        row.fp_rule = FP_SAME;
    } else if (s->fp_rule == FP_SAVED && s->fp_off == (int16_t)s->fp_off) {
        row.fp_rule = FP_SAVED;
        if (s->cfa_kind != CFA_PLT)
            row.fp_off = (int16_t)s->fp_off;
    }
    return row;
}

/* Applies a register rule "saved at CFA + off" (or anything else) to the
 * registers we model. */
static void set_reg_offset(struct cfi_state *s, uint64_t reg, int64_t off)
{
    if (reg == DW_REG_RBP) {
        s->fp_rule = FP_SAVED;
        s->fp_off = off;
    } else if (reg == DW_REG_RA) {
        s->ra_ok = off == -8 ? 1 : 0;
    }
}

static void set_reg_other(struct cfi_state *s, uint64_t reg, int undefined)
{
    if (reg == DW_REG_RBP)
        s->fp_rule = FP_LOST;
    else if (reg == DW_REG_RA)
        s->ra_ok = undefined ? -1 : 0;
}

static void restore_reg(struct cfi_state *s, const struct cfi_state *init, uint64_t reg)
{
    if (reg == DW_REG_RBP) {
        s->fp_rule = init->fp_rule;
        s->fp_off = init->fp_off;
    } else if (reg == DW_REG_RA) {
        s->ra_ok = init->ra_ok;
    }
}

#define STATE_STACK 8

/* Runs call-frame instructions [p, end). With `rows` NULL it only evolves
 * the state (the CIE's initial instructions). Returns 0, or -1 on an
 * instruction it cannot parse (the rest of the FDE is then unknown). */
static int run_cfi(const struct cie *cie, const uint8_t *p, const uint8_t *end, struct cfi_state *s,
                   const struct cfi_state *init, uintptr_t *loc, uintptr_t base, struct rows *rows)
{
    struct reader r = {p, end, 0};
    struct cfi_state stack[STATE_STACK];
    int depth = 0;
    while (r.p < r.end && !r.bad) {
        uint8_t op = (uint8_t)rd_u(&r, 1);
        uint8_t hi2 = op & 0xc0, low = op & 0x3f;
        uint64_t delta = 0, reg;
        int64_t off;
        if (hi2 == 0x40) { /* DW_CFA_advance_loc */
            delta = low * cie->code_align;
        } else if (hi2 == 0x80) { /* DW_CFA_offset */
            set_reg_offset(s, low, (int64_t)rd_uleb(&r) * cie->data_align);
            continue;
        } else if (hi2 == 0xc0) { /* DW_CFA_restore */
            restore_reg(s, init, low);
            continue;
        } else {
            switch (op) {
            case 0x00:
                continue; /* nop */
            case 0x01:    /* set_loc */
                rd_encoded(&r, cie->fde_enc, 0);
                return -1; /* absolute relocation inside a FDE: not produced by any toolchain we
                              know */
            case 0x02:
                delta = rd_u(&r, 1) * cie->code_align;
                break;
            case 0x03:
                delta = rd_u(&r, 2) * cie->code_align;
                break;
            case 0x04:
                delta = rd_u(&r, 4) * cie->code_align;
                break;
            case 0x05: /* offset_extended */
                reg = rd_uleb(&r);
                set_reg_offset(s, reg, (int64_t)rd_uleb(&r) * cie->data_align);
                continue;
            case 0x06:
                restore_reg(s, init, rd_uleb(&r));
                continue;
            case 0x07:
                set_reg_other(s, rd_uleb(&r), 1);
                continue; /* undefined */
            case 0x08:    /* same_value */
                reg = rd_uleb(&r);
                if (reg == DW_REG_RBP)
                    s->fp_rule = FP_SAME;
                continue;
            case 0x09: /* register */
                set_reg_other(s, rd_uleb(&r), 0);
                rd_uleb(&r);
                continue;
            case 0x0a: /* remember_state */
                if (depth == STATE_STACK)
                    return -1;
                stack[depth++] = *s;
                continue;
            case 0x0b: /* restore_state */
                if (depth == 0)
                    return -1;
                *s = stack[--depth];
                continue;
            case 0x0c: /* def_cfa */
                reg = rd_uleb(&r);
                s->cfa_off = (int64_t)rd_uleb(&r);
                s->cfa_kind = reg == DW_REG_RSP   ? CFA_RSP
                              : reg == DW_REG_RBP ? CFA_RBP
                                                  : CFA_UNKNOWN;
                continue;
            case 0x0d: /* def_cfa_register */
                reg = rd_uleb(&r);
                s->cfa_kind = reg == DW_REG_RSP   ? CFA_RSP
                              : reg == DW_REG_RBP ? CFA_RBP
                                                  : CFA_UNKNOWN;
                continue;
            case 0x0e:
                s->cfa_off = (int64_t)rd_uleb(&r);
                continue; /* def_cfa_offset */
            case 0x0f: {  /* def_cfa_expression */
                uint64_t len = rd_uleb(&r);
                if ((uint64_t)(r.end - r.p) < len)
                    return -1;
                int k = plt_expression(r.p, len);
                s->cfa_kind = k ? CFA_PLT : CFA_UNKNOWN;
                s->plt_k = k;
                r.p += len;
                continue;
            }
            case 0x10:   /* expression */
            case 0x16: { /* val_expression */
                set_reg_other(s, rd_uleb(&r), 0);
                uint64_t len = rd_uleb(&r);
                if ((uint64_t)(r.end - r.p) < len)
                    return -1;
                r.p += len;
                continue;
            }
            case 0x11: /* offset_extended_sf */
                reg = rd_uleb(&r);
                set_reg_offset(s, reg, rd_sleb(&r) * cie->data_align);
                continue;
            case 0x12: /* def_cfa_sf */
                reg = rd_uleb(&r);
                s->cfa_off = rd_sleb(&r) * cie->data_align;
                s->cfa_kind = reg == DW_REG_RSP   ? CFA_RSP
                              : reg == DW_REG_RBP ? CFA_RBP
                                                  : CFA_UNKNOWN;
                continue;
            case 0x13:
                s->cfa_off = rd_sleb(&r) * cie->data_align;
                continue; /* def_cfa_offset_sf */
            case 0x14:    /* val_offset */
            case 0x15:    /* val_offset_sf */
                set_reg_other(s, rd_uleb(&r), 0);
                if (op == 0x14)
                    rd_uleb(&r);
                else
                    rd_sleb(&r);
                continue;
            case 0x2e:
                rd_uleb(&r);
                continue; /* GNU_args_size */
            case 0x2f:    /* GNU_negative_offset_extended */
                reg = rd_uleb(&r);
                off = -(int64_t)rd_uleb(&r) * cie->data_align;
                set_reg_offset(s, reg, off);
                continue;
            default:
                return -1;
            }
        }
        if (rows) {
            rows_push(rows, make_row(*loc, base, s, cie->signal_frame));
        }
        *loc += delta;
    }
    return r.bad ? -1 : 0;
}

static int parse_cie(const uint8_t *p, struct cie *cie, struct cfi_state *init)
{
    struct reader r = {p, p + 12, 0};
    uint64_t len = rd_u(&r, 4);
    if (len == 0xffffffff)
        return -1; /* 64-bit DWARF .eh_frame: not produced on x86-64 Linux */
    r.end = p + 4 + len;
    if (rd_u(&r, 4) != 0)
        return -1; /* not a CIE */
    uint8_t version = (uint8_t)rd_u(&r, 1);
    const char *aug = (const char *)r.p;
    size_t auglen = strnlen(aug, (size_t)(r.end - r.p));
    r.p += auglen + 1;
    memset(cie, 0, sizeof *cie);
    cie->code_align = rd_uleb(&r);
    cie->data_align = rd_sleb(&r);
    cie->ra_reg = version == 1 ? rd_u(&r, 1) : rd_uleb(&r);
    cie->fde_enc = PE_ABSPTR;
    if (aug[0] == 'z') {
        cie->has_z = 1;
        uint64_t auglen_data = rd_uleb(&r);
        const uint8_t *data_end = r.p + auglen_data;
        for (const char *a = aug + 1; *a && !r.bad; a++) {
            if (*a == 'R') {
                cie->fde_enc = (uint8_t)rd_u(&r, 1);
            } else if (*a == 'P') {
                uint8_t enc = (uint8_t)rd_u(&r, 1);
                rd_encoded(&r, enc & ~PE_INDIRECT, 0); /* the personality routine: skipped */
            } else if (*a == 'L') {
                rd_u(&r, 1);
            } else if (*a == 'S') {
                cie->signal_frame = 1;
            } else {
                break; /* unknown letters: the length tells where the data ends */
            }
        }
        r.p = data_end;
    } else if (aug[0] != '\0') {
        return -1;
    }
    if (r.bad || cie->ra_reg != DW_REG_RA || r.p > r.end)
        return -1;
    cie->insns = r.p;
    cie->insns_end = r.end;
    /* The state every FDE starts from: on x86-64, CFA = rsp + 8, RA at CFA-8. */
    memset(init, 0, sizeof *init);
    init->cfa_kind = CFA_UNKNOWN;
    init->fp_rule = FP_SAME;
    uintptr_t loc = 0;
    return run_cfi(cie, cie->insns, cie->insns_end, init, init, &loc, 0, NULL);
}

/* Interprets one FDE into rows. */
static void parse_fde(const uint8_t *fde, uintptr_t base, struct rows *rows)
{
    struct reader r = {fde, fde + 8, 0};
    uint64_t len = rd_u(&r, 4);
    if (len == 0 || len == 0xffffffff)
        return;
    r.end = fde + 4 + len;
    const uint8_t *id_at = r.p;
    uint32_t cie_off = (uint32_t)rd_u(&r, 4);
    if (cie_off == 0)
        return; /* a CIE, not a FDE */
    struct cie cie;
    struct cfi_state init;
    if (parse_cie(id_at - cie_off, &cie, &init) < 0)
        return;
    uintptr_t start = rd_encoded(&r, cie.fde_enc, 0);
    uintptr_t range = rd_encoded(&r, cie.fde_enc & 0x0f, 0);
    if (r.bad || start < base || start + range - base > UINT32_MAX)
        return;
    if (cie.has_z) {
        /* The FDE's augmentation data (an LSDA pointer): skip it. */
        uint64_t n = rd_uleb(&r);
        if (n > (uint64_t)(r.end - r.p))
            return;
        r.p += n;
    }
    struct cfi_state s = init;
    uintptr_t loc = start;
    if (run_cfi(&cie, r.p, r.end, &s, &init, &loc, base, rows) < 0) {
        s.cfa_kind = CFA_UNKNOWN; /* from here to the end of the FDE */
    }
    rows_push(rows, make_row(loc, base, &s, cie.signal_frame));
    /* Past the function: unknown until the next FDE says otherwise. */
    struct cfi_state gap = {.cfa_kind = CFA_UNKNOWN, .fp_rule = FP_LOST};
    rows_push(rows, make_row(start + range, base, &gap, 0));
}

static int row_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct row *)a)->pc, y = ((const struct row *)b)->pc;
    return x < y ? -1 : x > y;
}

/* Builds the rows of one object from its .eh_frame_hdr search table. */
static struct module *build_module(const struct dl_phdr_info *info, uintptr_t lo, uintptr_t hi,
                                   uintptr_t hdr)
{
    struct module *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->lo = lo;
    m->hi = hi;
    m->base = lo;
    m->eh_hdr = hdr;
    const uint8_t *h = (const uint8_t *)hdr;
    if (!hdr || h[0] != 1 || h[3] != (PE_DATAREL | PE_SDATA4))
        return m; /* no usable table: the module walks by frame pointer */
    struct reader r = {h + 4, h + 4 + 16, 0};
    rd_encoded(&r, h[1], hdr); /* eh_frame_ptr */
    uint64_t count = rd_encoded(&r, h[2], hdr);
    if (r.bad)
        return m;
    const int32_t *table = (const int32_t *)r.p;
    struct rows rows = {0};
    for (uint64_t i = 0; i < count && !rows.oom; i++) {
        int32_t fde_off = table[2 * i + 1];
        parse_fde((const uint8_t *)(hdr + (intptr_t)fde_off), m->base, &rows);
    }
    /* FDEs come sorted by start, but a FDE's closing "gap" row can follow
     * the next FDE's first row when ranges touch: sort and keep, for equal
     * pcs, the row that is not a gap. */
    qsort(rows.v, rows.n, sizeof *rows.v, row_cmp);
    size_t out = 0;
    for (size_t i = 0; i < rows.n; i++) {
        if (out && rows.v[out - 1].pc == rows.v[i].pc) {
            if (rows.v[i].cfa_rule != CFA_UNKNOWN)
                rows.v[out - 1] = rows.v[i];
            continue;
        }
        rows.v[out++] = rows.v[i];
    }
    m->rows = rows.v;
    m->nrows = (uint32_t)out;
    (void)info;
    return m;
}

struct build_ctx {
    struct module_set *old;
    struct module **mods;
    size_t n, cap;
    int oom;
};

static struct module *find_same(const struct module_set *set, uintptr_t lo, uintptr_t hi,
                                uintptr_t hdr)
{
    for (uint32_t i = 0; set && i < set->n; i++) {
        struct module *m = set->mods[i];
        if (m->lo == lo && m->hi == hi && m->eh_hdr == hdr)
            return m;
    }
    return NULL;
}

/* Every object ever loaded, for naming the pcs of libraries unloaded since
 * they were sampled: the symbolizer reads them back as if they were still
 * in /proc/self/maps (their files are usually still on disk). Append-only,
 * under refresh_lock. */
struct loaded {
    char *path;
    uintptr_t lo, hi, offset;
    unsigned long dev_major, dev_minor, ino;
};
static struct loaded *history;
static size_t nhistory, caphistory;

static void remember(const struct dl_phdr_info *info, uintptr_t lo, uintptr_t hi)
{
    if (!info->dlpi_name || info->dlpi_name[0] != '/')
        return; /* the executable, the vdso: never unloaded */
    for (size_t i = 0; i < nhistory; i++)
        if (history[i].lo == (lo & ~(uintptr_t)4095) && !strcmp(history[i].path, info->dlpi_name))
            return;
    uintptr_t offset = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            offset = ph->p_offset & ~(uintptr_t)4095;
            break;
        }
    }
    struct stat st;
    if (stat(info->dlpi_name, &st) != 0)
        return;
    if (nhistory == caphistory) {
        size_t cap = caphistory ? caphistory * 2 : 64;
        struct loaded *grown = realloc(history, cap * sizeof *grown);
        if (!grown)
            return;
        history = grown;
        caphistory = cap;
    }
    char *path = strdup(info->dlpi_name);
    if (!path)
        return;
    history[nhistory++] = (struct loaded){path,
                                          lo & ~(uintptr_t)4095,
                                          (hi + 4095) & ~(uintptr_t)4095,
                                          offset,
                                          major(st.st_dev),
                                          minor(st.st_dev),
                                          (unsigned long)st.st_ino};
}

char *cprof__unwind_unloaded_maps(const char *current_maps)
{
    pthread_mutex_lock(&refresh_lock);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (size_t i = 0; f && i < nhistory; i++) {
        char start[32];
        snprintf(start, sizeof start, "%lx-", (unsigned long)history[i].lo);
        /* Still mapped (at this address), or something else mapped there now. */
        int mapped = !strncmp(current_maps, start, strlen(start));
        for (const char *p = strchr(current_maps, '\n'); p && !mapped; p = strchr(p + 1, '\n'))
            mapped = !strncmp(p + 1, start, strlen(start));
        if (!mapped)
            fprintf(f, "%lx-%lx r-xp %08lx %02lx:%02lx %lu %s\n", (unsigned long)history[i].lo,
                    (unsigned long)history[i].hi, (unsigned long)history[i].offset,
                    history[i].dev_major, history[i].dev_minor, history[i].ino, history[i].path);
    }
    if (f)
        fclose(f);
    pthread_mutex_unlock(&refresh_lock);
    return out;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct build_ctx *ctx = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0, hdr = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            uintptr_t s = info->dlpi_addr + ph->p_vaddr;
            if (s < lo)
                lo = s;
            if (s + ph->p_memsz > hi)
                hi = s + ph->p_memsz;
        } else if (ph->p_type == PT_GNU_EH_FRAME) {
            hdr = info->dlpi_addr + ph->p_vaddr;
        }
    }
    if (lo >= hi)
        return 0;
    remember(info, lo, hi);
    struct module *m = find_same(ctx->old, lo, hi, hdr);
    if (!m)
        m = build_module(info, lo, hi, hdr);
    if (!m) {
        ctx->oom = 1;
        return 1;
    }
    if (ctx->n == ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap * 2 : 64;
        struct module **grown = realloc(ctx->mods, cap * sizeof *grown);
        if (!grown) {
            ctx->oom = 1;
            return 1;
        }
        ctx->mods = grown;
        ctx->cap = cap;
    }
    atomic_fetch_add(&m->refs, 1);
    ctx->mods[ctx->n++] = m;
    (void)size;
    return 0;
}

static int module_cmp(const void *a, const void *b)
{
    uintptr_t x = (*(struct module *const *)a)->lo, y = (*(struct module *const *)b)->lo;
    return x < y ? -1 : x > y;
}

static void release_set(struct module_set *set)
{
    for (uint32_t i = 0; i < set->n; i++) {
        struct module *m = set->mods[i];
        if (atomic_fetch_sub(&m->refs, 1) == 1) {
            free(m->rows);
            free(m);
        }
    }
    free(set->mods);
    free(set);
}

void cprof__unwind_reclaim(void)
{
    pthread_mutex_lock(&refresh_lock);
    if (atomic_load(&walkers) == 0) {
        while (retired) {
            struct module_set *next = retired->next_retired;
            release_set(retired);
            retired = next;
        }
    }
    pthread_mutex_unlock(&refresh_lock);
}

static int find_own(struct dl_phdr_info *info, size_t size, void *arg);

static int refresh(void)
{
    cprof__symbols_unloaded_maps = cprof__unwind_unloaded_maps;
    pthread_mutex_lock(&refresh_lock);
    if (!own_hi)
        dl_iterate_phdr(find_own, NULL);
    struct build_ctx ctx = {.old = atomic_load(&current_set)};
    dl_iterate_phdr(add_object, &ctx);
    struct module_set *set = ctx.oom ? NULL : calloc(1, sizeof *set);
    if (!set) {
        struct module_set tmp = {.n = (uint32_t)ctx.n, .mods = ctx.mods};
        for (uint32_t i = 0; i < tmp.n; i++)
            atomic_fetch_sub(&tmp.mods[i]->refs,
                             1); /* modules new here leak: out of memory anyway */
        free(ctx.mods);
        pthread_mutex_unlock(&refresh_lock);
        return -1;
    }
    qsort(ctx.mods, ctx.n, sizeof *ctx.mods, module_cmp);
    static uint64_t last_gen; /* under refresh_lock */
    set->gen = ++last_gen;
    set->n = (uint32_t)ctx.n;
    set->mods = ctx.mods;
    struct module_set *old = atomic_exchange(&current_set, set);
    if (old) {
        old->next_retired = retired;
        retired = old;
    }
    pthread_mutex_unlock(&refresh_lock);
    cprof__unwind_reclaim();
    return 0;
}

/* A child forked while another thread refreshed would find the lock held
 * for good. Registered after the heap's handlers: a refresh allocates. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&refresh_lock);
}

static void atfork_release(void)
{
    pthread_mutex_unlock(&refresh_lock);
}

void cprof__unwind_init(void)
{
    pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

int cprof__unwind_refresh(void)
{
    cprof__heap_enter_internal();
    int rc = refresh();
    cprof__heap_leave_internal();
    return rc;
}

static int find_own(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    uintptr_t here = (uintptr_t)find_own;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && here >= lo &&
            here < lo + ph->p_memsz) {
            if (info->dlpi_name && info->dlpi_name[0]) { /* "": the executable */
                own_lo = lo;
                own_hi = lo + ph->p_memsz;
            }
            return 1;
        }
    }
    return 0;
}

/* async-signal-safe: two compares. Valid after the first refresh. */
int cprof__unwind_own_code(uint64_t pc)
{
    return pc >= own_lo && pc < own_hi;
}

void cprof__unwind_stats(cprof_unwind_stats *out)
{
    memset(out, 0, sizeof *out);
    atomic_fetch_add(&walkers, 1);
    const struct module_set *set = atomic_load(&current_set);
    for (uint32_t i = 0; set && i < set->n; i++) {
        out->modules++;
        out->rows += set->mods[i]->nrows;
    }
    atomic_fetch_sub(&walkers, 1);
    out->unknown_pc = atomic_load(&unknown_pc_count);
    out->fp_steps = atomic_load(&fp_step_count);
}

/* ---- The walk (async-signal-safe) --------------------------------------------- */

/* async-signal-safe: binary search over cprof's own arrays. */
static const struct module *find_module(const struct module_set *set, uintptr_t pc)
{
    uint32_t lo = 0, hi = set ? set->n : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (set->mods[mid]->lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct module *m = set->mods[lo - 1];
    return pc < m->hi ? m : NULL;
}

/* async-signal-safe: binary search over cprof's own arrays. */
static const struct row *find_row(const struct module *m, uintptr_t pc)
{
    uint32_t off = (uint32_t)(pc - m->base);
    uint32_t lo = 0, hi = m->nrows;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->rows[mid].pc <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &m->rows[lo - 1] : NULL;
}

/* The rows found for recent pcs. A heap or CPU sample walks mostly the
 * same frames as the samples before it, and each step's two binary
 * searches (module, then row among tens of thousands) were most of a
 * walk's instructions: 80% of a heap sample's ~2,700. A hit is three loads
 * and a compare.
 *
 * Lock-free, from signal handlers on any thread: an entry is three words
 * written one by one, and `check` ties them together (pc ^ row ^ set
 * generation). A reader that catches an entry half rewritten by another
 * thread sees a check that does not match and takes it for a miss; one
 * that mixes two writes of the same pc gets the same row either way. The
 * generation, not the set's address, keys it: a new set (dlopen, dlclose)
 * makes every older entry a miss, and its rows may since have been freed. */
#define ROW_CACHE_BITS 12
struct row_cache_entry {
    _Atomic uintptr_t pc, row, check;
};
static struct row_cache_entry row_cache[1 << ROW_CACHE_BITS];

static struct row_cache_entry *row_cache_slot(uintptr_t pc)
{
    return &row_cache[(pc * 0x9e3779b97f4a7c15ULL) >> (64 - ROW_CACHE_BITS)];
}

/* async-signal-safe: loads from a static array. */
static const struct row *row_cache_get(const struct module_set *set, uintptr_t pc)
{
    struct row_cache_entry *e = row_cache_slot(pc);
    uintptr_t key = atomic_load_explicit(&e->pc, memory_order_relaxed);
    uintptr_t row = atomic_load_explicit(&e->row, memory_order_relaxed);
    uintptr_t check = atomic_load_explicit(&e->check, memory_order_relaxed);
    if (key != pc || !row || check != (key ^ row ^ (uintptr_t)set->gen))
        return NULL;
    return (const struct row *)row;
}

/* async-signal-safe: stores to a static array. */
static void row_cache_put(const struct module_set *set, uintptr_t pc, const struct row *row)
{
    struct row_cache_entry *e = row_cache_slot(pc);
    atomic_store_explicit(&e->check, 0, memory_order_relaxed);
    atomic_store_explicit(&e->pc, pc, memory_order_relaxed);
    atomic_store_explicit(&e->row, (uintptr_t)row, memory_order_relaxed);
    atomic_store_explicit(&e->check, pc ^ (uintptr_t)row ^ (uintptr_t)set->gen,
                          memory_order_relaxed);
}

/* The row for pc in set, or NULL (m: whether a module holds pc). */
static const struct row *lookup_row(const struct module_set *set, uintptr_t pc, int *in_module)
{
    const struct row *row = set ? row_cache_get(set, pc) : NULL;
    if (row) {
        *in_module = 1;
        return row;
    }
    const struct module *m = find_module(set, pc);
    *in_module = m != NULL;
    row = m ? find_row(m, pc) : NULL;
    if (row)
        row_cache_put(set, pc, row);
    return row;
}

struct bounds {
    uintptr_t lo, hi;
};

/* async-signal-safe: a bounds-checked load from the interrupted thread's stack. */
static int load(const struct bounds *b, uintptr_t addr, uintptr_t *out)
{
    if (addr < b->lo || addr > b->hi - 8 || (addr & 7))
        return 0;
    *out = *(const uintptr_t *)addr;
    return 1;
}

struct regs {
    uintptr_t pc, sp, fp;
};

/* One step through a signal trampoline: the interrupted registers are in the
 * ucontext_t the kernel pushed at sp. async-signal-safe: bounded loads. */
static int step_signal(const struct bounds *b, struct regs *r)
{
    uintptr_t uc = r->sp;
    uintptr_t base = uc + offsetof(ucontext_t, uc_mcontext.gregs);
    uintptr_t pc, sp, fp;
    if (!load(b, base + 8 * REG_RIP, &pc) || !load(b, base + 8 * REG_RSP, &sp) ||
        !load(b, base + 8 * REG_RBP, &fp))
        return 0;
    r->pc = pc;
    r->sp = sp;
    r->fp = fp;
    return 1;
}

/* One step by frame pointer. async-signal-safe: bounded loads. */
static int step_fp(const struct bounds *b, struct regs *r)
{
    uintptr_t ra, fp;
    if (r->fp < r->sp || !load(b, r->fp + 8, &ra) || !load(b, r->fp, &fp))
        return 0;
    r->sp = r->fp + 16;
    r->fp = fp;
    r->pc = ra;
    atomic_fetch_add_explicit(&fp_step_count, 1, memory_order_relaxed);
    return 1;
}

/* One step by a CFI row. async-signal-safe: bounded loads. */
static int step_cfi(const struct bounds *b, const struct row *row, struct regs *r)
{
    uintptr_t cfa;
    if (row->cfa_rule == CFA_RSP)
        cfa = r->sp + (intptr_t)row->cfa_off;
    else if (row->cfa_rule == CFA_RBP)
        cfa = r->fp + (intptr_t)row->cfa_off;
    else
        cfa = r->sp + 8 + (((r->pc & 15) >= (uintptr_t)row->fp_off) ? 8 : 0);
    uintptr_t ra;
    if (cfa <= r->sp || !load(b, cfa - 8, &ra))
        return 0;
    if (row->fp_rule == FP_SAVED) {
        if (!load(b, cfa + row->fp_off, &r->fp))
            return 0;
    } else if (row->fp_rule == FP_LOST) {
        r->fp = 0;
    }
    r->sp = cfa;
    r->pc = ra;
    return 1;
}

/* The walk shared by the entry points. `skip` frames are walked but not
 * recorded. exact: r.pc is an interrupted pc, not a return address.
 * async-signal-safe: see cprof__unwind in the header. */
static int walk(struct regs r, int exact, uint64_t *pcs, int max, int skip, uintptr_t stack_hi)
{
    struct bounds b = {r.sp - 128, stack_hi};
    int n = 0;
    if (max <= 0)
        return 0;
    atomic_fetch_add_explicit(&walkers, 1, memory_order_acquire);
    const struct module_set *set = atomic_load_explicit(&current_set, memory_order_acquire);
    for (int depth = 0; n < max && depth < max + skip; depth++) {
        uintptr_t at = exact ? r.pc : r.pc - 1;
        if (depth >= skip)
            pcs[n++] = at;
        if (stack_hi == 0)
            break;
        int in_module;
        const struct row *row = lookup_row(set, at, &in_module);
        int rule = row ? row->cfa_rule : CFA_UNKNOWN;
        if (!in_module)
            atomic_fetch_add_explicit(&unknown_pc_count, 1, memory_order_relaxed);
        uintptr_t old_sp = r.sp;
        int ok;
        exact = 0;
        if (rule == CFA_END) {
            break;
        } else if (rule == CFA_SIGNAL) {
            ok = step_signal(&b, &r);
            exact = 1;
        } else if (rule == CFA_UNKNOWN) {
            ok = step_fp(&b, &r);
        } else {
            ok = step_cfi(&b, row, &r);
        }
        if (!ok || r.pc < 4096)
            break;
        /* Stacks grow down: a caller's frame is above its callee's, except
         * across a signal frame, which may come from an alternate stack. */
        if (rule != CFA_SIGNAL && r.sp <= old_sp)
            break;
        if (rule == CFA_SIGNAL && (r.sp < b.lo || r.sp >= b.hi))
            break;
    }
    atomic_fetch_sub_explicit(&walkers, 1, memory_order_release);
    return n;
}

/* async-signal-safe: see the header. */
int cprof__unwind(const void *ucontext, uint64_t *pcs, int max, uintptr_t stack_hi)
{
    const ucontext_t *uc = ucontext;
    struct regs r = {
        .pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
        .sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
        .fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP],
    };
    return walk(r, 1, pcs, max, 0, stack_hi);
}

/* async-signal-safe: see the header. */
int cprof__unwind_regs(uintptr_t pc, uintptr_t sp, uintptr_t fp, uintptr_t stack_hi, uint64_t *pcs,
                       int max)
{
    struct regs r = {pc, sp, fp};
    return walk(r, 1, pcs, max, 0, stack_hi ? stack_hi : cprof__stack_hi(sp));
}

/* async-signal-safe: see the header. noinline: the registers read below must
 * be this function's own, described by its own CFI rows. */
__attribute__((noinline)) int cprof__unwind_here(uint64_t *pcs, int max, int skip)
{
    struct regs r;
    __asm__ volatile("leaq 0(%%rip), %0\n\t"
                     "movq %%rsp, %1\n\t"
                     "movq %%rbp, %2"
                     : "=r"(r.pc), "=r"(r.sp), "=r"(r.fp));
    return walk(r, 1, pcs, max, skip + 1, cprof__stack_hi(r.sp));
}

/* async-signal-safe: see the header. */
int cprof__unwind_caller(uintptr_t ra, uintptr_t sp, uintptr_t fp, uint64_t *pcs, int max)
{
    struct regs r = {ra, sp, fp};
    uintptr_t stack_hi = cprof__stack_hi(sp);
    /* An unknown stack (a thread's, before cprof learns its bounds) gives
     * no frames, as cprof__unwind_here gives none past the frames it skips:
     * not the caller's pc alone. */
    if (!stack_hi)
        return 0;
    return walk(r, 0, pcs, max, 0, stack_hi);
}
