/*
 * filter.h: pprof's sample filters for every report: -focus, -ignore, -hide,
 * -show (regular expressions on function and file names) and -tagfocus,
 * -tagignore (on sample labels).
 */
#ifndef CPROF_FILTER_H
#define CPROF_FILTER_H

#include <stddef.h>

#include "report.h"

struct report_filter;

/* Compiles the options' filters (POSIX extended regular expressions). *out
 * is NULL when no filter is set. -1 with a one-line reason in err when a
 * flag's value is malformed. */
int report_filter_new(const report_options *o, struct report_filter **out, char *err,
                      size_t errlen);
void report_filter_free(struct report_filter *f);

/* Decides on one sample of profile k of in, whose frames (leaf first) are
 * frames[0..*n). Returns 0 to drop it; 1 to keep it, with the frames
 * hidden by -hide / not shown by -show removed (*n updated). */
int report_filter_sample(struct report_filter *f, const report_input *in, size_t k,
                         const Perftools__Profiles__Sample *s, report_frame *frames, size_t *n);

/* "focus=RE", ... in pprof's order, for the report's header. */
size_t report_filter_describe(const struct report_filter *f, const char **out, size_t max);

#endif
