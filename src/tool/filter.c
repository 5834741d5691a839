/*
 * filter.c: the sample filters every report takes, with pprof's meanings:
 *
 *   -focus=RE    keep samples with a frame matching RE
 *   -ignore=RE   drop samples with a frame matching RE
 *   -hide=RE     remove frames matching RE from every stack
 *   -show=RE     keep only frames matching RE
 *   -tagfocus=[KEY=]VALUE, -tagignore=...: samples by label; VALUE is a
 *                regular expression for string labels, or N, LO:, :HI,
 *                LO:HI for numeric ones (in the label's own unit)
 *
 * A frame matches when RE matches its function name or its source file
 * name, as in pprof. Matching results are cached per name and file id, so
 * a regular expression runs once per distinct name, not once per frame.
 */
#include "filter.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RE_FOCUS, RE_IGNORE, RE_HIDE, RE_SHOW, NRE };

static const char *const re_names[NRE] = {"focus", "ignore", "hide", "show"};

/* One -tagfocus or -tagignore. */
struct tag_filter {
    char *key;  /* NULL: any label */
    regex_t re; /* for string labels */
    int have_re;
    int numeric; /* value is a number or a range */
    int64_t lo, hi;
};

struct report_filter {
    regex_t re[NRE];
    int have[NRE];
    struct tag_filter tags[2]; /* focus, ignore */
    int have_tag[2];
    const char *describe[NRE + 2];
    char *describe_buf[NRE + 2];
    size_t ndescribe;

    /* Cached matches: bit i + 1 for regex i, bit 0 = computed. */
    unsigned char *name_bits, *file_bits;
    size_t nname_bits, nfile_bits;
};

static int compile(regex_t *re, const char *flag, const char *src, char *err, size_t errlen)
{
    int rc = regcomp(re, src, REG_EXTENDED | REG_NOSUB);
    if (rc == 0)
        return 0;
    char why[128];
    regerror(rc, re, why, sizeof why);
    snprintf(err, errlen, "-%s=%s: invalid regular expression: %s", flag, src, why);
    return -1;
}

/* "N", "LO:", ":HI", "LO:HI" (integers). 1 when value is one, else 0. */
static int parse_range(const char *v, int64_t *lo, int64_t *hi)
{
    char *end;
    const char *colon = strchr(v, ':');
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    if (!colon) {
        errno = 0;
        *lo = *hi = strtoll(v, &end, 10);
        return end != v && *end == '\0' && !errno;
    }
    if (colon != v) {
        errno = 0;
        *lo = strtoll(v, &end, 10);
        if (end != colon || errno)
            return 0;
    }
    if (colon[1]) {
        errno = 0;
        *hi = strtoll(colon + 1, &end, 10);
        if (*end || errno)
            return 0;
    }
    return 1;
}

static int tag_compile(struct tag_filter *t, const char *flag, const char *spec, char *err,
                       size_t errlen)
{
    const char *eq = strchr(spec, '=');
    const char *value = eq ? eq + 1 : spec;
    if (eq) {
        t->key = strndup(spec, (size_t)(eq - spec));
        if (!t->key) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (value[0] == '\0') {
        snprintf(err, errlen, "-%s=%s: no value to match", flag, spec);
        return -1;
    }
    t->numeric = parse_range(value, &t->lo, &t->hi);
    if (compile(&t->re, flag, value, err, errlen))
        return -1;
    t->have_re = 1;
    return 0;
}

static int add_describe(struct report_filter *f, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *d = malloc(len);
    if (!d)
        return -1;
    snprintf(d, len, "%s=%s", name, value);
    f->describe_buf[f->ndescribe] = d;
    f->describe[f->ndescribe++] = d;
    return 0;
}

static int setup(struct report_filter *f, const report_options *o, char *err, size_t errlen)
{
    const char *res[NRE] = {o->focus, o->ignore, o->hide, o->show};
    for (int i = 0; i < NRE; i++) {
        if (!res[i] || !res[i][0])
            continue;
        if (compile(&f->re[i], re_names[i], res[i], err, errlen))
            return -1;
        f->have[i] = 1;
        if (add_describe(f, re_names[i], res[i]))
            goto oom;
    }
    const char *tags[2] = {o->tagfocus, o->tagignore};
    static const char *const tag_names[2] = {"tagfocus", "tagignore"};
    for (int i = 0; i < 2; i++) {
        if (!tags[i] || !tags[i][0])
            continue;
        f->have_tag[i] = 1;
        if (tag_compile(&f->tags[i], tag_names[i], tags[i], err, errlen))
            return -1;
        if (add_describe(f, tag_names[i], tags[i]))
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int report_filter_new(const report_options *o, struct report_filter **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!o->focus && !o->ignore && !o->hide && !o->show && !o->tagfocus && !o->tagignore)
        return 0;
    struct report_filter *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (setup(f, o, err, errlen)) {
        report_filter_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

void report_filter_free(struct report_filter *f)
{
    if (!f)
        return;
    for (int i = 0; i < NRE; i++)
        if (f->have[i])
            regfree(&f->re[i]);
    for (int i = 0; i < 2; i++) {
        if (f->tags[i].have_re)
            regfree(&f->tags[i].re);
        free(f->tags[i].key);
    }
    for (size_t i = 0; i < f->ndescribe; i++)
        free(f->describe_buf[i]);
    free(f->name_bits);
    free(f->file_bits);
    free(f);
}

size_t report_filter_describe(const struct report_filter *f, const char **out, size_t max)
{
    size_t n = f->ndescribe < max ? f->ndescribe : max;
    for (size_t i = 0; i < n; i++)
        out[i] = f->describe[i];
    return n;
}

/* ---- frames ------------------------------------------------------------- */

static unsigned char match_bits(const struct report_filter *f, const char *s)
{
    unsigned char bits = 1;
    for (int i = 0; i < NRE; i++)
        if (f->have[i] && s[0] && regexec(&f->re[i], s, 0, NULL, 0) == 0)
            bits |= (unsigned char)(1u << (i + 1));
    return bits;
}

/* The cached bits of string id in a table of n strings. */
static unsigned char cached(struct report_filter *f, unsigned char **bits, size_t *nbits, size_t n,
                            uint32_t id, const char *s)
{
    if (*nbits < n) {
        unsigned char *p = realloc(*bits, n);
        if (!p)
            return match_bits(f, s); /* uncached, still right */
        memset(p + *nbits, 0, n - *nbits);
        *bits = p;
        *nbits = n;
    }
    if (!(*bits)[id])
        (*bits)[id] = match_bits(f, s);
    return (*bits)[id];
}

static unsigned char frame_bits(struct report_filter *f, const report_input *in,
                                const report_frame *fr)
{
    unsigned char b = cached(f, &f->name_bits, &f->nname_bits, report_name_count(in), fr->name,
                             report_name(in, fr->name));
    if (fr->file)
        b |= cached(f, &f->file_bits, &f->nfile_bits, report_file_count(in), fr->file,
                    report_file(in, fr->file));
    return b;
}

static int has(unsigned char bits, int re)
{
    return (bits >> (re + 1)) & 1;
}

/* ---- labels ------------------------------------------------------------- */

static int label_matches(const struct tag_filter *t, const cprof_profile *p,
                         const Perftools__Profiles__Label *l)
{
    if (t->key && strcmp(t->key, cprof_profile_str(p, l->key)))
        return 0;
    if (l->str)
        return regexec(&t->re, cprof_profile_str(p, l->str), 0, NULL, 0) == 0;
    return t->numeric && l->num >= t->lo && l->num <= t->hi;
}

static int sample_has_tag(const struct tag_filter *t, const cprof_profile *p,
                          const Perftools__Profiles__Sample *s)
{
    for (size_t i = 0; i < s->n_label; i++)
        if (label_matches(t, p, s->label[i]))
            return 1;
    return 0;
}

/* ---- samples ------------------------------------------------------------ */

int report_filter_sample(struct report_filter *f, const report_input *in, size_t k,
                         const Perftools__Profiles__Sample *s, report_frame *frames, size_t *n)
{
    const cprof_profile *p = in->profiles[k];
    if (f->have_tag[0] && !sample_has_tag(&f->tags[0], p, s))
        return 0;
    if (f->have_tag[1] && sample_has_tag(&f->tags[1], p, s))
        return 0;
    int focused = !f->have[RE_FOCUS];
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        unsigned char b = frame_bits(f, in, &frames[i]);
        if (has(b, RE_IGNORE))
            return 0;
        if (has(b, RE_FOCUS))
            focused = 1;
        if (has(b, RE_HIDE) || (f->have[RE_SHOW] && !has(b, RE_SHOW))) {
            /* The function an inlined frame was inlined into is gone: that
             * frame now stands alone in its location, as in pprof. */
            if (!frames[i].inlined && kept > 0)
                frames[kept - 1].inlined = 0;
            continue;
        }
        frames[kept++] = frames[i];
    }
    if (!focused)
        return 0;
    *n = kept;
    return 1;
}
