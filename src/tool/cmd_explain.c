/*
 * cmd_explain.c: `cprof explain [-base OLD] FILE...`, a short Markdown
 * report to paste into an issue or a chat: the findings of the rules
 * (explain_rules.c), the hot spots with their hottest paths, the hottest
 * source lines with their text, one line per other profile, and with -base
 * what got better and worse. Profiles of different kinds (CPU, heap, mutex,
 * block, threadcreate) can be given together; those of one kind are added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "report_args.h"
#include "tool.h"

#define HOT_SPOTS  5
#define HOT_LINES  5
#define HOT_PATHS  2
#define PATH_SHOWN 4    /* frames of a path shown, the leaf end */
#define PLUMBING   95.0 /* % of the total: entry points (main, thread starts) */

static const char explain_usage[] =
    "usage: cprof explain [flags] [-base OLD] FILE...\n"
    "\n"
    "Writes a short Markdown report for an issue or a chat: findings of rules that\n"
    "know C (a regex compiled in a loop, allocation and copying in hot paths, lock\n"
    "contention in one critical section, a thread per unit of work, time in system\n"
    "calls), each naming the function and line and what to try; the hot spots with\n"
    "their hottest paths; the hottest source lines. Give it several profiles of\n"
    "different kinds at once (cpu, allocs/heap, mutex, block, threadcreate: files or\n"
    "live endpoint URLs).\n"
    "  -base=OLD          also say what got better and worse since OLD\n"
    "  -source_path=DIRS  where to look for sources (see 'cprof list -h')\n"
    "  -trim_path=PREFIX  prefixes to remove from the profile's source paths\n";

static const char *const kind_names[EK_NKINDS] = {"cpu",   "heap",         "mutex",
                                                  "block", "threadcreate", "profile"};

const char *explain_kind_name(enum explain_kind k)
{
    return kind_names[k];
}

/* ---- sorting the profiles by kind ------------------------------------------ */

static int has_type(const cprof_profile *p, const char *type)
{
    return cprof_profile_sample_index(p, type) >= 0;
}

/* Mutex and block profiles have the same sample types; the mutex profile's
 * stacks end in an unlock (the releaser), the block profile's in a wait. */
static int ends_in_unlock(const cprof_profile *p)
{
    size_t unlock = 0;
    for (size_t i = 0; i < p->pb->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->pb->sample[i];
        const Perftools__Profiles__Location *l =
            s->n_location_id ? cprof_profile_location(p, s->location_id[0]) : NULL;
        const Perftools__Profiles__Function *f =
            l && l->n_line ? cprof_profile_function(p, l->line[0]->function_id) : NULL;
        unlock += f && strstr(cprof_profile_str(p, f->name), "nlock") != NULL;
    }
    return unlock * 2 > p->pb->n_sample;
}

static enum explain_kind classify(const cprof_profile *p, const char *path)
{
    if (has_type(p, "alloc_space") || has_type(p, "inuse_space"))
        return EK_HEAP;
    if (has_type(p, "contentions") && has_type(p, "delay")) {
        if (strstr(path, "mutex"))
            return EK_MUTEX;
        if (strstr(path, "block"))
            return EK_BLOCK;
        return ends_in_unlock(p) ? EK_MUTEX : EK_BLOCK;
    }
    if (has_type(p, "threadcreate"))
        return EK_THREADS;
    if (has_type(p, "cpu"))
        return EK_CPU;
    return EK_OTHER;
}

/* The value explain reads for a kind, unless -sample_index says otherwise. */
static const char *kind_index(enum explain_kind k, const report_options *o)
{
    if (o->sample_index)
        return o->sample_index;
    switch (k) {
    case EK_CPU:
        return "cpu";
    case EK_HEAP:
        return "alloc_space";
    case EK_MUTEX:
    case EK_BLOCK:
        return "delay";
    default:
        return NULL;
    }
}

struct loaded {
    cprof_profile *p;
    char *path;
    enum explain_kind kind;
};

static int open_kind(struct explain_set *set, struct loaded *l, size_t n, enum explain_kind k,
                     const report_options *o)
{
    struct explain_profile *ep = &set->all[set->n];
    cprof_profile **profiles = calloc(n, sizeof *profiles);
    ep->paths = calloc(n, sizeof *ep->paths);
    if (!profiles || !ep->paths) {
        free(profiles);
        tool_error("explain: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (l[i].kind == k) {
            ep->paths[ep->npaths] = l[i].path;
            profiles[ep->npaths++] = l[i].p;
            l[i].p = NULL;
        }
    report_options ko = *o;
    ko.sample_index = kind_index(k, o);
    char err[512];
    ep->kind = k;
    int rc = report_open_parsed(&ep->in, profiles, ep->paths, ep->npaths, &ko, err, sizeof err);
    free(profiles);
    set->n++;
    set->p[k] = ep;
    if (rc)
        tool_error("explain: %s", err);
    return rc;
}

/* Reads every path, then opens the profiles of each kind together. */
static int load_set(struct explain_set *set, char **paths, size_t n, const report_options *o)
{
    struct loaded *l = calloc(n, sizeof *l);
    set->all = calloc(EK_NKINDS, sizeof *set->all);
    int rc = l && set->all ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char err[512];
        l[i].path = paths[i];
        if (!(l[i].p = report_read(paths[i], err, sizeof err))) {
            tool_error("%s", err);
            rc = -1;
        } else {
            l[i].kind = classify(l[i].p, paths[i]);
        }
    }
    for (int k = 0; rc == 0 && k < EK_NKINDS; k++)
        for (size_t i = 0; i < n; i++)
            if (l[i].p && l[i].kind == (enum explain_kind)k) {
                rc = open_kind(set, l, n, (enum explain_kind)k, o);
                break;
            }
    for (size_t i = 0; l && i < n; i++)
        cprof_profile_free(l[i].p);
    free(l);
    return rc;
}

static void free_set(struct explain_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        report_close(&set->all[i].in);
        free(set->all[i].paths);
    }
    free(set->all);
    memset(set, 0, sizeof *set);
}

/* ---- printing helpers ------------------------------------------------------ */

static double pct(int64_t v, int64_t total)
{
    return total ? 100.0 * (double)v / (double)total : 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* "cpu", "heap alloc_space", "mutex delay". */
static const char *kind_label(const struct explain_profile *ep)
{
    static char buf[128];
    const char *k = explain_kind_name(ep->kind);
    if (!strcmp(k, ep->in.sample_type))
        return k;
    snprintf(buf, sizeof buf, "%s %s", k, ep->in.sample_type);
    return buf;
}

static void print_profiles(const struct explain_set *set)
{
    printf("Profiles:");
    for (size_t i = 0; i < set->n; i++) {
        const struct explain_profile *ep = &set->all[i];
        char total[64], dur[64];
        printf("%s %s `%s`%s (%s", i ? ";" : "", kind_label(ep), base_name(ep->paths[0]),
               ep->npaths > 1 ? " and more" : "",
               report_fmt(total, sizeof total, &ep->in, ep->in.total));
        if (ep->in.duration_nanos && ep->kind == EK_CPU) {
            report_format_value(dur, sizeof dur, ep->in.duration_nanos, "nanoseconds", "auto");
            printf(" in %s", dur);
        }
        printf(")");
    }
    printf("\n");
}

static void print_findings(struct explain_finding *f, size_t n)
{
    printf("\n## Findings\n\n");
    if (n == 0)
        printf("None of the rules (regex-in-loop, alloc-copy, lock-contention, "
               "thread-per-item, syscalls) found anything.\n");
    for (size_t i = 0; i < n; i++)
        printf("%zu. %s\n", i + 1, f[i].text);
}

/* ---- hot spots ---------------------------------------------------------------- */

/* Per name: 1 = the program's own code, 2 = a library function it calls. */
struct roles {
    unsigned char *role;
};

static int role_sample(void *ctx, const report_frame *f, size_t n, int64_t v)
{
    unsigned char *role = ctx;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].lib)
            role[f[i].name] |= 1;
        else if (i + 1 < n && !f[i + 1].lib)
            role[f[i].name] |= 2;
    }
    return 0;
}

static int cmp_cum_desc(const void *a, const void *b, void *arg)
{
    const report_graph *g = arg;
    int64_t x = g->nodes[*(const uint32_t *)a].cum, y = g->nodes[*(const uint32_t *)b].cum;
    return x > y ? -1 : x < y;
}

/* A function with the cum of one already chosen is, almost always, one of
 * its callers or callees on the same path: it adds nothing. */
static int redundant(const report_graph *g, const uint32_t *chosen, size_t n, uint32_t id,
                     int64_t total)
{
    for (size_t i = 0; i < n; i++) {
        int64_t d = g->nodes[chosen[i]].cum - g->nodes[id].cum;
        if (pct(d < 0 ? -d : d, total) < 0.5)
            return 1;
    }
    return 0;
}

static size_t pick_spots(report_input *in, const report_graph *g, const unsigned char *role,
                         uint32_t *out)
{
    size_t n = report_name_count(in), ncand = 0, chosen = 0;
    uint32_t *cand = calloc(n + 1, sizeof *cand);
    if (!cand)
        return 0;
    for (uint32_t id = 0; id < n; id++)
        if (role[id] && g->nodes[id].cum > 0 && pct(g->nodes[id].cum, in->total) < PLUMBING)
            cand[ncand++] = id;
    qsort_r(cand, ncand, sizeof *cand, cmp_cum_desc, (void *)g);
    for (size_t i = 0; i < ncand && chosen < HOT_SPOTS; i++)
        if (!redundant(g, out, chosen, cand[i], in->total))
            out[chosen++] = cand[i];
    free(cand);
    return chosen;
}

struct path_walk {
    uint32_t target;
    report_stacks *st;
    uint32_t *ids;
    size_t cap;
};

/* The path from the root to the outermost call of the target, through the
 * program's own frames only (library plumbing says little). */
static int path_sample(void *ctx, const report_frame *f, size_t n, int64_t v)
{
    struct path_walk *w = ctx;
    size_t t = n;
    while (t-- > 0 && f[t].name != w->target)
        ;
    if (t == (size_t)-1)
        return 0;
    if (n + 1 > w->cap) {
        uint32_t *p = realloc(w->ids, (n + 1) * sizeof *p);
        if (!p)
            return -1;
        w->ids = p;
        w->cap = n + 1;
    }
    size_t k = 0;
    for (size_t i = n; i-- > t + 1;)
        if (!f[i].lib && (k == 0 || w->ids[k - 1] != f[i].name))
            w->ids[k++] = f[i].name;
    w->ids[k++] = w->target;
    return report_stacks_add(w->st, w->ids, k, v);
}

static void print_paths(report_input *in, uint32_t id)
{
    report_stacks st = {0};
    struct path_walk w = {id, &st, NULL, 0};
    if (report_each_sample(in, path_sample, &w) == 0) {
        for (int shown = 0; shown < HOT_PATHS; shown++) {
            size_t best = st.n;
            for (size_t i = 0; i < st.n; i++)
                if (st.value[i] > 0 && (best == st.n || st.value[i] > st.value[best]))
                    best = i;
            if (best == st.n)
                break;
            printf("%s", shown ? "<br>" : "");
            uint32_t len = st.len[best], from = len > PATH_SHOWN ? len - PATH_SHOWN : 0;
            printf("%s", from ? "… → " : "");
            for (uint32_t j = from; j < len; j++)
                printf("%s`%s`", j > from ? " → " : "", report_name(in, st.ids[st.off[best] + j]));
            printf(" (%.1f%%)", pct(st.value[best], in->total));
            st.value[best] = 0;
        }
    }
    free(w.ids);
    report_stacks_free(&st);
}

static int print_hot_spots(struct explain_profile *ep, unsigned char *role)
{
    report_input *in = &ep->in;
    report_graph g;
    uint32_t spots[HOT_SPOTS];
    if (report_graph_build(in, NULL, &g))
        return -1;
    size_t n = pick_spots(in, &g, role, spots);
    char total[64];
    printf("\n## Hot spots (%s, total %s)\n\n", kind_label(ep),
           report_fmt(total, sizeof total, in, in->total));
    printf("| cum | flat | function | hottest paths |\n|---:|---:|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const report_node *nd = &g.nodes[spots[i]];
        printf("| %.1f%% | %.1f%% | `%s`%s | ", pct(nd->cum, in->total), pct(nd->flat, in->total),
               report_name(in, spots[i]), role[spots[i]] & 1 ? "" : " (library)");
        print_paths(in, spots[i]);
        printf(" |\n");
    }
    report_graph_free(&g);
    return 0;
}

/* ---- hottest lines ------------------------------------------------------------ */

static int cmp_line_cum(const void *a, const void *b)
{
    int64_t x = (*(const report_line *const *)a)->cum, y = (*(const report_line *const *)b)->cum;
    return x > y ? -1 : x < y;
}

static void print_line(struct explain_set *set, report_input *in, const report_line *r)
{
    const char *file = report_file(in, r->file);
    const char *text = source_line(set->src, file, r->line);
    printf("- %.1f%% `%s:%d` in `%s`", pct(r->cum, in->total), base_name(file), r->line,
           report_name(in, r->name));
    if (text) {
        text += strspn(text, " \t");
        printf(strlen(text) > 90 ? ": `%.87s...`\n" : ": `%s`\n", text);
    } else {
        printf(" (source not found)\n");
    }
}

static int print_hot_lines(struct explain_set *set, struct explain_profile *ep,
                           const unsigned char *role)
{
    report_input *in = &ep->in;
    report_lines l;
    if (report_lines_build(in, &l))
        return -1;
    const report_line **rows = calloc(l.n + 1, sizeof *rows);
    size_t n = 0;
    for (size_t i = 0; rows && i < l.n; i++)
        if ((role[l.rows[i].name] & 1) && l.rows[i].file && l.rows[i].line > 0 &&
            pct(l.rows[i].cum, in->total) < PLUMBING && pct(l.rows[i].cum, in->total) >= 1)
            rows[n++] = &l.rows[i];
    if (rows && n) {
        qsort(rows, n, sizeof *rows, cmp_line_cum);
        printf("\n## Hottest lines (%s, cum)\n\n", in->sample_type);
        for (size_t i = 0; i < n && i < HOT_LINES; i++)
            print_line(set, in, rows[i]);
    }
    int rc = rows ? 0 : -1;
    free(rows);
    report_lines_free(&l);
    return rc;
}

/* ---- the other profiles, one line each ------------------------------------------ */

static int print_other(struct explain_profile *ep)
{
    report_input *in = &ep->in;
    struct explain_sites s;
    if (explain_sites(in, NULL, NULL, &s))
        return -1;
    char total[64], where[256];
    printf("- %s, total %s: ", kind_label(ep), report_fmt(total, sizeof total, in, in->total));
    /* Per function, the program's own frame nearest the leaf. */
    explain_sites_by_function(&s);
    for (size_t i = 0; i < s.n && i < 3; i++)
        printf("%s`%s` (%s) %.1f%%", i ? ", " : "", report_name(in, s.s[i].name),
               explain_where(in, &s.s[i], where, sizeof where), pct(s.s[i].value, in->total));
    if (s.n == 0)
        printf("nothing");
    printf("\n");
    explain_sites_free(&s);
    return 0;
}

/* ---- -base ------------------------------------------------------------------------ */

struct change {
    const char *name;
    int64_t before, after;
};

static int cmp_change(const void *a, const void *b)
{
    const struct change *x = a, *y = b;
    int64_t dx = x->after - x->before, dy = y->after - y->before;
    return dx < dy ? -1 : dx > dy;
}

static void print_changes(report_input *in, struct change *c, size_t n, int worse)
{
    printf("- %s: ", worse ? "worse" : "better");
    int shown = 0;
    for (size_t k = 0; k < n && shown < 3; k++) {
        struct change *x = worse ? &c[n - 1 - k] : &c[k];
        int64_t d = x->after - x->before;
        if ((worse && d <= 0) || (!worse && d >= 0) || pct(d < 0 ? -d : d, in->total) < 1)
            break;
        char b[64], a[64];
        printf("%s`%s` %s → %s", shown++ ? ", " : "", x->name,
               report_fmt(b, sizeof b, in, x->before), report_fmt(a, sizeof a, in, x->after));
    }
    printf("%s\n", shown ? "" : "nothing above 1% of the total");
}

static int compare_kind(report_input *old, report_input *cur)
{
    report_graph g0, g1;
    int rc = -1;
    size_t n1 = report_name_count(cur), n0 = report_name_count(old), n = 0;
    struct change *c = calloc(n0 + n1 + 1, sizeof *c);
    if (c && !report_graph_build(old, NULL, &g0)) {
        if (!report_graph_build(cur, NULL, &g1)) {
            for (uint32_t id = 0; id < n1; id++) {
                int64_t o = report_name_id(old, report_name(cur, id));
                c[n++] = (struct change){report_name(cur, id), o >= 0 ? g0.nodes[o].cum : 0,
                                         g1.nodes[id].cum};
            }
            for (uint32_t id = 0; id < n0; id++)
                if (report_name_id(cur, report_name(old, id)) < 0)
                    c[n++] = (struct change){report_name(old, id), g0.nodes[id].cum, 0};
            qsort(c, n, sizeof *c, cmp_change);
            char b[64], a[64];
            printf("- total %s: %s → %s (%+.1f%%)\n", cur->sample_type,
                   report_fmt(b, sizeof b, cur, old->total),
                   report_fmt(a, sizeof a, cur, cur->total),
                   old->total ? pct(cur->total - old->total, old->total) : 0.0);
            print_changes(cur, c, n, 0);
            print_changes(cur, c, n, 1);
            report_graph_free(&g1);
            rc = 0;
        }
        report_graph_free(&g0);
    }
    free(c);
    return rc;
}

static void print_finding_changes(struct explain_finding *now, size_t n,
                                  struct explain_finding *was, size_t m)
{
    printf("- findings of the base no longer found:");
    int any = 0;
    for (size_t i = 0; i < m; i++) {
        size_t j = 0;
        while (j < n && strcmp(now[j].id, was[i].id))
            j++;
        if (j == n) {
            printf(" %s", was[i].id);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " none");
}

static int print_base(struct explain_set *set, struct explain_set *base, const char *path,
                      struct explain_finding *f, size_t nf)
{
    struct explain_profile *old = &base->all[0], *cur = set->p[old->kind];
    printf("\n## Compared with the base `%s`\n\n", base_name(path));
    int rc = 0;
    if (!cur)
        printf("- no %s profile was given to compare with it\n", explain_kind_name(old->kind));
    else
        rc = compare_kind(&old->in, &cur->in);
    struct explain_finding *bf = NULL;
    size_t nb = 0;
    if (rc == 0 && (rc = explain_rules(base, &bf, &nb)) == 0)
        print_finding_changes(f, nf, bf, nb);
    explain_findings_free(bf, nb);
    return rc;
}

/* ---- the report ----------------------------------------------------------------- */

static int print_main(struct explain_set *set, struct explain_profile *main_p)
{
    unsigned char *role = calloc(report_name_count(&main_p->in) + 1, 1);
    if (!role || report_each_sample(&main_p->in, role_sample, role) ||
        print_hot_spots(main_p, role) || print_hot_lines(set, main_p, role)) {
        free(role);
        return -1;
    }
    free(role);
    int others = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (&set->all[i] == main_p)
            continue;
        if (!others++)
            printf("\n## Other profiles (where the program's own code is nearest)\n\n");
        if (print_other(&set->all[i]))
            return -1;
    }
    return 0;
}

static int explain(struct explain_set *set, struct explain_set *base, const report_options *o)
{
    struct explain_finding *f = NULL;
    size_t nf = 0;
    if (explain_rules(set, &f, &nf)) {
        tool_error("explain: out of memory");
        return 1;
    }
    struct explain_profile *main_p = set->p[EK_CPU] ? set->p[EK_CPU] : &set->all[0];
    const char *file = main_p->in.main_file;
    printf("# cprof explain%s%s\n\n", file[0] ? ": " : "", file[0] ? base_name(file) : "");
    print_profiles(set);
    print_findings(f, nf);
    int rc = print_main(set, main_p) ? 1 : 0;
    if (rc == 0 && o->base)
        rc = print_base(set, base, o->base, f, nf) ? 1 : 0;
    explain_findings_free(f, nf);
    if (rc)
        tool_error("explain: out of memory");
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    struct report_cmd cmd = {"explain", explain_usage, 1, NULL, NULL};
    report_options o;
    int rc = report_parse_args(argc, argv, &cmd, &o);
    if (rc) {
        report_args_free(&o);
        return rc == 1 ? 0 : 2;
    }
    struct explain_set set = {0}, base = {0};
    struct source_reader *src = source_reader_new(o.source_path, o.trim_path);
    set.src = base.src = src;
    /* Everything is read before anything is printed: a bad file gives an
     * error line, not half a report. */
    if (!src) {
        tool_error("explain: out of memory");
        rc = 1;
    } else if (load_set(&set, o.args, o.nargs, &o) ||
               (o.base && load_set(&base, (char *[]){(char *)o.base}, 1, &o))) {
        rc = 1;
    } else {
        rc = explain(&set, &base, &o);
    }
    free_set(&set);
    free_set(&base);
    source_reader_free(src);
    report_args_free(&o);
    return report_finish_stdout("explain", rc);
}
