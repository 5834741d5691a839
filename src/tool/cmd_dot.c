/*
 * cmd_dot.c: `cprof dot`, the call graph of `go tool pprof -dot`/-svg:
 * boxes sized by flat value, arrows weighted by the value through the call,
 * small nodes and edges dropped (-nodecount, -nodefraction, -edgefraction),
 * calls through dropped frames dotted. Owns the Graphviz text and running
 * Graphviz's `dot` to render it; the graph itself comes from report.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "report_args.h"
#include "tool.h"

/* pprof's defaults for graphs. */
#define DEFAULT_NODE_COUNT    80
#define DEFAULT_NODE_FRACTION 0.005
#define DEFAULT_EDGE_FRACTION 0.001

static const char dot_usage[] =
    "usage: cprof dot [flags] [-o graph.svg] FILE...\n"
    "\n"
    "Draws the call graph: a box per function (font size by flat value, colour by\n"
    "cum), an arrow per call (width by value; dotted when it skips dropped frames).\n"
    "  -o FILE   graph.svg, .png or .pdf: rendered by Graphviz's dot when it is\n"
    "            installed; FILE.dot (or no -o): the Graphviz text. Without Graphviz\n"
    "            the text is written next to FILE with a .dot name instead.\n"
    "  (defaults here: -nodecount=80 -nodefraction=0.005 -edgefraction=0.001)\n";

struct dot_ctx {
    const report_input *in;
    const report_trimmed *t;
    char unit[32];
    int64_t max_flat;
};

/* ---- the Graphviz text ----------------------------------------------------- */

static void put_quoted(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
}

static const char *fmt(const struct dot_ctx *c, char *buf, size_t len, int64_t v)
{
    report_format_value(buf, len, v, c->in->sample_unit, c->unit);
    return buf;
}

/* Grey for a small share of the total, deep red for a large one. */
static void colour(int64_t v, int64_t total, char *edge, char *fill, size_t len)
{
    double r = total ? fabs((double)v / (double)total) : 0;
    r = sqrt(r > 1 ? 1 : r);
    int red = 0xb2, other = (int)(0xb2 * (1 - r) * 0.9);
    snprintf(edge, len, "#%02x%02x%02x", red, other, other);
    int fother = 0xed - (int)(0x18 * r);
    snprintf(fill, len, "#ed%02x%02x", fother, fother);
}

static void put_legend(FILE *out, const struct dot_ctx *c, double nf, double ef)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return;
    report_print_header(m, c->in, c->unit);
    report_print_showing(m, c->in, c->t, nf, ef, c->unit, 1);
    fclose(m);
    fprintf(out, "subgraph cluster_L { \"legend\" [shape=box fontsize=16 label=\"");
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        put_quoted(out, line);
        fputs("\\l", out);
    }
    fputs("\" tooltip=\"legend\"] }\n", out);
    free(text);
}

static void put_node(FILE *out, const struct dot_ctx *c, size_t i)
{
    uint32_t id = c->t->order[i];
    const report_node *n = &c->t->g.nodes[id];
    const char *name = report_name(c->in, id);
    char flat[64], cum[64], fp[32], cp[32], edge[16], fill[16];
    fmt(c, flat, sizeof flat, n->flat);
    fmt(c, cum, sizeof cum, n->cum);
    report_format_percent(fp, sizeof fp, n->flat, c->in->total);
    report_format_percent(cp, sizeof cp, n->cum, c->in->total);
    colour(n->cum, c->in->total, edge, fill, sizeof edge);
    double share = c->max_flat ? fabs((double)n->flat / (double)c->max_flat) : 0;
    int font = (int)ceil(8 + 16 * sqrt(share));
    fprintf(out, "N%zu [label=\"", i + 1);
    put_quoted(out, name);
    if (n->flat == 0)
        fprintf(out, "\\n0 of %s (%s)\"", cum, cp + strspn(cp, " "));
    else if (n->flat == n->cum)
        fprintf(out, "\\n%s (%s)\"", flat, fp + strspn(fp, " "));
    else
        fprintf(out, "\\n%s (%s)\\nof %s (%s)\"", flat, fp + strspn(fp, " "), cum,
                cp + strspn(cp, " "));
    fprintf(out, " id=\"node%zu\" fontsize=%d shape=box tooltip=\"", i + 1, font);
    put_quoted(out, name);
    fprintf(out, " (%s)\" color=\"%s\" fillcolor=\"%s\"]\n", cum, edge, fill);
}

static size_t node_index(const struct dot_ctx *c, uint32_t id)
{
    for (size_t i = 0; i < c->t->norder; i++)
        if (c->t->order[i] == id)
            return i + 1;
    return 0;
}

static void put_edge(FILE *out, const struct dot_ctx *c, const report_edge *e)
{
    size_t from = node_index(c, e->caller), to = node_index(c, e->callee);
    if (!from || !to)
        return;
    int64_t total = c->in->total ? c->in->total : 1;
    double share = fabs((double)e->weight / (double)total);
    char w[64], edge[16], fill[16];
    fmt(c, w, sizeof w, e->weight);
    colour(e->weight, c->in->total, edge, fill, sizeof edge);
    fprintf(out, "N%zu -> N%zu [label=\" %s%s\" weight=%d", from, to, w,
            e->inline_only ? "\\n (inline)" : "", (int)(1 + share * 100));
    int pen = (int)(1 + 5 * share);
    if (pen > 1)
        fprintf(out, " penwidth=%d", pen);
    if (e->residual)
        fputs(" style=dotted", out);
    fprintf(out, " color=\"%s\" tooltip=\"", edge);
    put_quoted(out, report_name(c->in, e->caller));
    fputs(" -> ", out);
    put_quoted(out, report_name(c->in, e->callee));
    fprintf(out, " (%s)\"]\n", w);
}

static int write_dot(FILE *out, const struct dot_ctx *c, double nf, double ef)
{
    fputs("digraph \"", out);
    const char *main_file = c->in->main_file, *slash = strrchr(main_file, '/');
    put_quoted(out, slash ? slash + 1 : main_file[0] ? main_file : "cprof");
    fputs("\" {\nnode [style=filled fillcolor=\"#f8f8f8\"]\n", out);
    put_legend(out, c, nf, ef);
    for (size_t i = 0; i < c->t->norder; i++)
        put_node(out, c, i);
    const report_edge **edges = calloc(c->t->g.nedges + 1, sizeof *edges);
    if (!edges)
        return -1;
    size_t n = 0;
    for (size_t e = 0; e < c->t->g.nedges; e++)
        if (report_trimmed_edge_kept(c->t, e))
            edges[n++] = &c->t->g.edges[e];
    report_sort_edges(c->in, edges, n);
    for (size_t i = 0; i < n; i++)
        put_edge(out, c, edges[i]);
    free(edges);
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}

/* ---- output -------------------------------------------------------------- */

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int have_graphviz(void)
{
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
    int found = 0;
    for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char full[4096];
        snprintf(full, sizeof full, "%s/dot", d);
        found = access(full, X_OK) == 0;
    }
    free(dirs);
    return found;
}

/* Feeds the text to `dot -TFORMAT -o path`. 0, or -1 (said). */
static int render(const struct dot_ctx *c, const char *path, const char *format, double nf,
                  double ef)
{
    int fds[2];
    if (pipe(fds)) {
        tool_error("dot: pipe: %s", strerror(errno));
        return -1;
    }
    char t[32];
    snprintf(t, sizeof t, "-T%s", format);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execlp("dot", "dot", t, "-o", path, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    FILE *out = pid > 0 ? fdopen(fds[1], "w") : NULL;
    int rc = out ? write_dot(out, c, nf, ef) : -1;
    if (out ? fclose(out) : close(fds[1]))
        rc = -1;
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        tool_error("dot: Graphviz's dot failed to render %s (exit status %d)", path,
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return rc;
}

static int write_text(const struct dot_ctx *c, const char *path, double nf, double ef)
{
    FILE *out = path ? fopen(path, "w") : stdout;
    if (!out) {
        tool_error("dot: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = write_dot(out, c, nf, ef);
    if (out != stdout ? fclose(out) : fflush(out))
        rc = -1;
    if (rc)
        tool_error("dot: writing %s failed", path ? path : "the graph");
    return rc;
}

static int output(const struct dot_ctx *c, const char *path, double nf, double ef)
{
    const char *ext = path ? extension(path) : "dot";
    if (!strcmp(ext, "dot") || !strcmp(ext, "gv") || !strcmp(path, "-"))
        return write_text(c, strcmp(path ? path : "-", "-") ? path : NULL, nf, ef);
    if (have_graphviz())
        return render(c, path, ext[0] ? ext : "svg", nf, ef);
    size_t stem = strlen(path) - (ext[0] ? strlen(ext) + 1 : 0);
    char alt[4096];
    snprintf(alt, sizeof alt, "%.*s.dot", (int)stem, path);
    if (write_text(c, alt, nf, ef))
        return -1;
    tool_error("dot: Graphviz's dot is not installed (Debian: graphviz); wrote the graph as %s",
               alt);
    return 0;
}

static int run_dot(report_input *in, const report_options *o)
{
    double nf = o->nodefraction >= 0 ? o->nodefraction : DEFAULT_NODE_FRACTION;
    double ef = o->edgefraction >= 0 ? o->edgefraction : DEFAULT_EDGE_FRACTION;
    long nc = o->nodecount >= 0 ? o->nodecount : DEFAULT_NODE_COUNT;
    report_trimmed t;
    if (report_trim(in, nc, nf, ef, o->cum, &t)) {
        tool_error("dot: out of memory");
        return 1;
    }
    struct dot_ctx c = {in, &t, "", 0};
    report_trimmed_unit(in, &t, c.unit, sizeof c.unit);
    for (size_t i = 0; i < t.norder; i++) {
        int64_t f = t.g.nodes[t.order[i]].flat;
        f = f < 0 ? -f : f;
        if (f > c.max_flat)
            c.max_flat = f;
    }
    int rc = output(&c, o->output, nf, ef) ? 1 : 0;
    report_trimmed_free(&t);
    return rc;
}

int cmd_dot(int argc, char **argv)
{
    struct report_cmd cmd = {"dot", dot_usage, 1, NULL, NULL};
    report_options o;
    int rc = report_parse_args(argc, argv, &cmd, &o);
    if (rc) {
        report_args_free(&o);
        return rc == 1 ? 0 : 2;
    }
    report_input in;
    if (report_open_or_say(&in, o.args, o.nargs, &o)) {
        report_args_free(&o);
        return 1;
    }
    rc = run_dot(&in, &o);
    report_close(&in);
    report_args_free(&o);
    return rc;
}
