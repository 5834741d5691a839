/*
 * explain.h: what `cprof explain` (cmd_explain.c) and its rules
 * (explain_rules.c) share: the profiles given, sorted by kind, and the
 * walks that find where in the program's own code a cost comes from.
 */
#ifndef CPROF_EXPLAIN_H
#define CPROF_EXPLAIN_H

#include <regex.h>
#include <stdio.h>

#include "report.h"
#include "source.h"

enum explain_kind { EK_CPU, EK_HEAP, EK_MUTEX, EK_BLOCK, EK_THREADS, EK_OTHER, EK_NKINDS };

/* The profiles of one kind, added up. */
struct explain_profile {
    enum explain_kind kind;
    report_input in;
    char **paths;
    size_t npaths;
};

struct explain_set {
    struct explain_profile *p[EK_NKINDS]; /* NULL when that kind was not given */
    struct explain_profile *all;
    size_t n;
    struct source_reader *src;
};

const char *explain_kind_name(enum explain_kind k);

/* A place in the program's own code, and how much of a cost goes through it. */
struct explain_site {
    uint32_t name, file; /* ids of the profile's input */
    int32_t line;
    uint32_t callee; /* the function it calls that matched (or the leaf) */
    int64_t value;
};

struct explain_sites {
    struct explain_site *s;
    size_t n;
    int64_t matched; /* the value of every sample that matched */
};

/* For each sample with a frame whose name matches target (and none matching
 * exclude, when given), finds the site: the nearest frame on the root side
 * of the outermost matching frame that is the program's own code (not a
 * shared library), and adds the sample's value to it. target NULL matches
 * the leaf. Sites are returned largest first. 0 or -1. */
int explain_sites(report_input *in, const regex_t *target, const regex_t *exclude,
                  struct explain_sites *out);
void explain_sites_free(struct explain_sites *s);
/* Merges the sites of each function: values summed, the line kept that of
 * its heaviest site; largest first again. */
void explain_sites_by_function(struct explain_sites *s);

/* "search_slow.c:153" for a site, into buf. */
const char *explain_where(const report_input *in, const struct explain_site *s, char *buf,
                          size_t len);

/* A finding: id is a stable tag ("regex-in-loop"), text one paragraph. */
struct explain_finding {
    const char *id;
    char *text;
};

/* Runs every rule over the set; findings are malloc'd (free with
 * explain_findings_free). 0 or -1. */
int explain_rules(struct explain_set *set, struct explain_finding **out, size_t *n);
void explain_findings_free(struct explain_finding *f, size_t n);

#endif
