/*
 * svg.c: writes a flame graph as one self-contained SVG file: frames as
 * <g> elements holding a <title> (the full name, value and share: the
 * tooltip, and what tests and assistive tools read), a <rect> and a <text>
 * label; the CSS and the JavaScript for zoom, search and hover details are
 * inline, so the file opens anywhere with nothing fetched.
 *
 * Layout follows flamegraph.pl: the root at the bottom, children in name
 * order left to right, widths proportional to value, frames narrower than a
 * tenth of a pixel left out. Colours come from a hash of the name (warm
 * palette), so the same function has the same colour in every graph; a
 * differential graph colours by change instead (red grew, blue shrank).
 */
#include "flame.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#define WIDTH      1200.0
#define FRAME_H    16
#define PAD_X      10.0
#define PAD_TOP    (FRAME_H * 3)
#define PAD_BOTTOM (FRAME_H * 2 + 8)
#define FONT_SIZE  12
#define CHAR_W     (FONT_SIZE * 0.59) /* average glyph width of the font below */
#define MIN_W      0.1

/* ---- text ----------------------------------------------------------------- */

static void put_escaped(FILE *out, const char *s, size_t max)
{
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            /* XML 1.0 forbids most control characters, even escaped. */
            fputc(c < 0x20 ? ' ' : c, out);
        }
    }
}

/* A label that fits w pixels: the name, cut with ".." when too long, or
 * nothing when not even three characters fit. */
static void put_label(FILE *out, const char *name, double w)
{
    size_t fit = (size_t)(w / CHAR_W);
    if (fit < 3)
        return;
    size_t len = strlen(name);
    if (len <= fit) {
        put_escaped(out, name, len);
        return;
    }
    /* Do not cut inside a UTF-8 sequence. */
    size_t cut = fit - 2;
    while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
        cut--;
    put_escaped(out, name, cut);
    fputs("..", out);
}

/* ---- colours ---------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* flamegraph.pl's "hot" palette, with the random draws replaced by bits of
 * the name's hash. */
static void warm(const char *name, char *buf, size_t len)
{
    uint32_t h = name_hash(name);
    double v1 = (h & 0xff) / 255.0, v2 = ((h >> 8) & 0xff) / 255.0, v3 = ((h >> 16) & 0xff) / 255.0;
    snprintf(buf, len, "rgb(%d,%d,%d)", 205 + (int)(50 * v3), (int)(230 * v1), (int)(55 * v2));
}

/* White for no change, deeper red or blue as the change nears the largest. */
static void delta_colour(int64_t delta, int64_t max_abs, char *buf, size_t len)
{
    double r = max_abs ? fabs((double)delta) / (double)max_abs : 0;
    int fade = 255 - (int)(r * 200);
    if (delta > 0)
        snprintf(buf, len, "rgb(255,%d,%d)", fade, fade);
    else if (delta < 0)
        snprintf(buf, len, "rgb(%d,%d,255)", fade, fade);
    else
        snprintf(buf, len, "rgb(250,250,250)");
}

/* ---- layout --------------------------------------------------------------- */

struct layout {
    FILE *out;
    const report_tree *t;
    const struct flame_opts *o;
    double scale; /* pixels per unit of value */
    int64_t total;
    int64_t max_delta;
    int height;
    int max_depth;
};

static int64_t pos(int64_t v)
{
    return v > 0 ? v : 0;
}

static void max_delta(struct layout *l)
{
    for (size_t i = 1; i < l->t->n; i++) {
        int64_t d = l->t->nodes[i].value - l->t->nodes[i].base;
        d = d < 0 ? -d : d;
        if (d > l->max_delta)
            l->max_delta = d;
    }
}

static void depth_of(struct layout *l, uint32_t n, int depth)
{
    if (pos(l->t->nodes[n].value) * l->scale < MIN_W)
        return;
    if (depth > l->max_depth)
        l->max_depth = depth;
    for (uint32_t c = l->t->nodes[n].child; c; c = l->t->nodes[c].next)
        depth_of(l, c, depth + 1);
}

static void put_title(struct layout *l, const report_tree_node *n, const char *name)
{
    char v[64], b[64], d[64];
    const char *u = l->o->sample_unit;
    report_format_value(v, sizeof v, n->value, u, "auto");
    fputs("<title>", l->out);
    put_escaped(l->out, name, SIZE_MAX);
    double pct = l->total ? 100.0 * (double)n->value / (double)l->total : 0;
    if (!l->o->diff) {
        fprintf(l->out, " (%s, %.2f%%)</title>", v, pct);
        return;
    }
    report_format_value(b, sizeof b, n->base, u, "auto");
    report_format_value(d, sizeof d, n->value - n->base, u, "auto");
    fprintf(l->out, " (%s, %.2f%%; base %s; %s%s)</title>", v, pct, b,
            n->value - n->base > 0 ? "+" : "", d);
}

static void put_frame(struct layout *l, uint32_t id, double x, int depth)
{
    const report_tree_node *n = &l->t->nodes[id];
    double w = (double)pos(n->value) * l->scale;
    double y = l->height - PAD_BOTTOM - (depth + 1) * FRAME_H;
    const char *name = id ? n->name : "all";
    char fill[48];
    if (l->o->diff)
        delta_colour(n->value - n->base, l->max_delta, fill, sizeof fill);
    else
        warm(name, fill, sizeof fill);
    fprintf(l->out, "<g class=\"f\" data-x=\"%.6f\" data-w=\"%.6f\" data-d=\"%d\">", (x - PAD_X), w,
            depth);
    put_title(l, n, name);
    fprintf(l->out, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", x, y,
            w, FRAME_H - 1, fill);
    fprintf(l->out, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + FRAME_H - 4.5);
    put_label(l->out, name, w - 6);
    fputs("</text></g>\n", l->out);
}

static void put_frames(struct layout *l, uint32_t id, double x, int depth)
{
    if (pos(l->t->nodes[id].value) * l->scale < MIN_W)
        return;
    put_frame(l, id, x, depth);
    for (uint32_t c = l->t->nodes[id].child; c; c = l->t->nodes[c].next) {
        put_frames(l, c, x, depth + 1);
        x += (double)pos(l->t->nodes[c].value) * l->scale;
    }
}

/* ---- the page --------------------------------------------------------------- */

static const char css[] = "text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}\n"
                          "#title{font-size:17px;text-anchor:middle}\n"
                          "#subtitle{fill:#555;text-anchor:middle}\n"
                          ".f{cursor:pointer}.f:hover rect{stroke:#000;stroke-width:0.5}\n"
                          ".f text{pointer-events:none}\n"
                          ".hide{display:none}.dim rect{opacity:0.5}\n"
                          ".hit rect{fill:rgb(230,0,230)!important}\n"
                          "#unzoom,#clear{cursor:pointer}\n";

/* Zoom: a clicked frame takes the whole width, its callers stay as full-width
 * (dimmed) bars below it, everything else beside it is hidden. Search: frames
 * whose name matches the regular expression turn purple, and the share of
 * the total they cover (once each, nested matches not counted twice) shows. */
static const char js[] =
    "var W, PAD = 10, CW = 12 * 0.59, frames, details, unzoomBtn, matched;\n"
    "function init() {\n"
    "  W = +document.documentElement.getAttribute('width');\n"
    "  frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));\n"
    "  details = document.getElementById('details');\n"
    "  unzoomBtn = document.getElementById('unzoom');\n"
    "  matched = document.getElementById('matched');\n"
    "  frames.forEach(function (g) {\n"
    "    g.fx = +g.getAttribute('data-x'); g.fw = +g.getAttribute('data-w');\n"
    "    g.fd = +g.getAttribute('data-d'); g.name = fname(g);\n"
    "    g.addEventListener('click', function () { zoom(g); });\n"
    "    g.addEventListener('mouseover', function () {\n"
    "      details.textContent = g.querySelector('title').textContent; });\n"
    "    g.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
    "  });\n"
    "  unzoomBtn.addEventListener('click', function () { zoom(frames[0]); });\n"
    "  var box = document.getElementById('search');\n"
    "  if (box) box.addEventListener('input', function () { search(box.value); });\n"
    "  document.getElementById('clear').addEventListener('click', function () {\n"
    "    if (box) box.value = ''; search(''); });\n"
    "  document.addEventListener('keydown', function (e) {\n"
    "    if ((e.ctrlKey && e.key === 'f') || e.key === '/') { e.preventDefault();\n"
    "      if (box) box.focus(); }\n"
    "    if (e.key === 'Escape') zoom(frames[0]); });\n"
    "}\n"
    "function fname(g) {\n"
    "  var t = g.querySelector('title').textContent;\n"
    "  return t.replace(/ \\([^()]*\\)$/, '');\n"
    "}\n"
    "function fit(g, w) {\n"
    "  var t = g.querySelector('text'), n = Math.floor((w - 6) / CW);\n"
    "  t.textContent = n < 3 ? '' : g.name.length <= n ? g.name : g.name.slice(0, n - 2) + '..';\n"
    "}\n"
    "function place(g, x, w) {\n"
    "  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
    "  r.setAttribute('x', x); r.setAttribute('width', w);\n"
    "  t.setAttribute('x', x + 3); fit(g, w);\n"
    "}\n"
    "function zoom(z) {\n"
    "  var s = (W - 2 * PAD) / z.fw, eps = 1e-6;\n"
    "  frames.forEach(function (g) {\n"
    "    g.classList.remove('hide'); g.classList.remove('dim');\n"
    "    if (g.fd < z.fd && g.fx <= z.fx + eps && g.fx + g.fw >= z.fx + z.fw - eps) {\n"
    "      place(g, PAD, W - 2 * PAD); if (g !== frames[0] || z !== frames[0]) "
    "g.classList.add('dim');\n"
    "    } else if (g.fd >= z.fd && g.fx >= z.fx - eps && g.fx + g.fw <= z.fx + z.fw + eps) {\n"
    "      var w = g.fw * s;\n"
    "      if (w < 0.1) g.classList.add('hide'); else place(g, PAD + (g.fx - z.fx) * s, w);\n"
    "    } else { g.classList.add('hide'); }\n"
    "  });\n"
    "  unzoomBtn.classList.toggle('hide', z === frames[0]);\n"
    "}\n"
    "function search(re) {\n"
    "  var rx = null;\n"
    "  try { rx = re ? new RegExp(re) : null; } catch (e) { return; }\n"
    "  var hits = [];\n"
    "  frames.forEach(function (g) {\n"
    "    var hit = rx !== null && g !== frames[0] && rx.test(g.name);\n"
    "    g.classList.toggle('hit', hit); if (hit) hits.push(g);\n"
    "  });\n"
    "  hits.sort(function (a, b) { return a.fx - b.fx || b.fw - a.fw; });\n"
    "  var covered = 0, end = -1;\n"
    "  hits.forEach(function (g) {\n"
    "    if (g.fx >= end - 1e-6) { covered += g.fw; end = g.fx + g.fw; } });\n"
    "  matched.textContent = rx === null ? ' ' :\n"
    "    'Matched: ' + (frames[0].fw ? 100 * covered / frames[0].fw : 0).toFixed(1) + '%';\n"
    "}\n";

static void put_head(struct layout *l)
{
    FILE *out = l->out;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    fprintf(out,
            "<svg version=\"1.1\" width=\"%.0f\" height=\"%d\" viewBox=\"0 0 %.0f %d\" "
            "onload=\"init(evt)\" xmlns=\"http://www.w3.org/2000/svg\">\n",
            WIDTH, l->height, WIDTH, l->height);
    fprintf(out, "<style type=\"text/css\">\n%s</style>\n", css);
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", js);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"%s\"/>\n",
            l->o->diff ? "#f8f8f8" : "#fff8ee");
    fprintf(out, "<text id=\"title\" x=\"%.0f\" y=\"20\">", WIDTH / 2);
    put_escaped(out, l->o->title ? l->o->title : "Flame Graph", SIZE_MAX);
    fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%.0f\" y=\"36\">", WIDTH / 2);
    put_escaped(out, l->o->subtitle ? l->o->subtitle : "", SIZE_MAX);
    fprintf(out,
            "</text>\n<text id=\"unzoom\" class=\"hide\" x=\"%.0f\" y=\"20\">Reset Zoom</text>\n",
            PAD_X);
    fprintf(out,
            "<foreignObject x=\"%.0f\" y=\"4\" width=\"220\" height=\"24\">"
            "<input xmlns=\"http://www.w3.org/1999/xhtml\" id=\"search\" type=\"search\" "
            "placeholder=\"Search (regular expression)\" style=\"width:200px\"/></foreignObject>\n",
            WIDTH - 270);
    fprintf(out, "<text id=\"clear\" x=\"%.0f\" y=\"20\">Clear</text>\n", WIDTH - 45);
    fprintf(out, "<text id=\"details\" x=\"%.0f\" y=\"%d\"> </text>\n", PAD_X, l->height - 12);
    fprintf(out, "<text id=\"matched\" x=\"%.0f\" y=\"%d\" text-anchor=\"end\"> </text>\n",
            WIDTH - PAD_X, l->height - 12);
}

int flame_write_svg(FILE *out, const report_tree *t, const struct flame_opts *o)
{
    struct layout l = {out, t, o, 0, 0, 0, 0, 0};
    l.total = t->n ? pos(t->nodes[0].value) : 0;
    l.scale = l.total ? (WIDTH - 2 * PAD_X) / (double)l.total : 0;
    if (o->diff)
        max_delta(&l);
    if (t->n)
        depth_of(&l, 0, 0);
    l.height = PAD_TOP + (l.max_depth + 1) * FRAME_H + PAD_BOTTOM;
    put_head(&l);
    fputs("<g id=\"frames\">\n", out);
    if (t->n)
        put_frames(&l, 0, PAD_X, 0);
    fputs("</g>\n</svg>\n", out);
    return ferror(out) ? -1 : 0;
}

int flame_write_file(const char *cmd, const char *path, const report_tree *t,
                     const struct flame_opts *o)
{
    FILE *out = path && strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!out) {
        tool_error("%s: cannot write %s: %s", cmd, path, strerror(errno));
        return 1;
    }
    int rc = flame_write_svg(out, t, o);
    if (out != stdout ? fclose(out) != 0 : fflush(out) != 0)
        rc = -1;
    if (rc) {
        tool_error("%s: writing %s failed", cmd, path ? path : "the flame graph");
        return 1;
    }
    return 0;
}
