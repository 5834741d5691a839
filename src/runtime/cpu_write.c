/*
 * cpu_write.c: owns turning the CPU sample table into a pprof profile:
 * sample types samples/count and cpu/nanoseconds as Go writes them, stacks
 * symbolized through symbols.c, labels from labels.c, and the weight that
 * could not be recorded shown as a sample of its own rather than dropped.
 * Runs at stop, never in a signal handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "cpu.h"
#include "errors.h"
#include "labels.h"
#include "pprof_build.h"
#include "symbols.h"

struct write_ctx {
    cprof_pb *pb;
    cprof_symbolizer *sym;
    int64_t period_ns;
    uint64_t locs[CPROF_MAX_FRAMES + 1];
};

static void add_one(void *arg, const uint64_t *frames, int nframes, uint32_t labels,
                    uint64_t count)
{
    struct write_ctx *ctx = arg;
    for (int i = 0; i < nframes; i++)
        ctx->locs[i] = cprof__symbolize(ctx->sym, ctx->pb, frames[i]);
    cprof_pb_label pl[CPROF_LABEL_MAX_DEPTH];
    size_t npl = 0;
    const cprof_label_set *set = cprof__labels_get(labels);
    for (int i = 0; set && i < set->n; i++)
        pl[npl++] = (cprof_pb_label){.key = set->keys[i], .str = set->values[i]};
    int64_t values[2] = {(int64_t)count, (int64_t)count * ctx->period_ns};
    cprof_pb_add_sample(ctx->pb, ctx->locs, (size_t)nframes, values, 2, pl, npl);
}

/* Samples that had no room in the table still cost CPU: keep them visible. */
static void add_lost(struct write_ctx *ctx, uint64_t lost)
{
    if (!lost)
        return;
    cprof_pb_line line = {cprof_pb_function(ctx->pb, "[cprof: lost samples]", NULL, NULL, 0), 0};
    uint64_t loc = cprof_pb_location(ctx->pb, 0, 0, &line, 1);
    int64_t values[2] = {(int64_t)lost, (int64_t)lost * ctx->period_ns};
    cprof_pb_add_sample(ctx->pb, &loc, 1, values, 2, NULL, 0);
}

int cprof__cpu_write(const char *path, const cprof_samples *t,
                     const struct cprof_cpu_profile_info *info)
{
    struct write_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return cprof__fail("writing %s: out of memory", path);
    ctx->period_ns = info->period_ns;
    ctx->pb = cprof_pb_new();
    ctx->sym = cprof__symbolizer_new();
    int rc = -1;
    if (!ctx->pb || !ctx->sym) {
        cprof__fail("writing %s: out of memory", path);
        goto out;
    }
    cprof_pb_add_sample_type(ctx->pb, "samples", "count");
    cprof_pb_add_sample_type(ctx->pb, "cpu", "nanoseconds");
    cprof_pb_set_default_sample_type(ctx->pb, "cpu");
    cprof_pb_set_period(ctx->pb, "cpu", "nanoseconds", info->period_ns);
    cprof_pb_set_time(ctx->pb, info->start_unix_ns, info->duration_ns);
    char comment[128];
    snprintf(comment, sizeof comment, "cprof %s: engine=%s rate=%dHz", cprof_version(),
             info->engine, info->hz);
    cprof_pb_add_comment(ctx->pb, comment);
    cprof__symbolizer_add_mappings(ctx->sym, ctx->pb);

    cprof__samples_each(t, add_one, ctx);
    add_lost(ctx, cprof__samples_lost(t));

    char err[512];
    rc = cprof_pb_write_file(ctx->pb, path, err, sizeof err);
    if (rc < 0)
        cprof__fail("%s", err);
out:
    cprof__symbolizer_free(ctx->sym);
    cprof_pb_free(ctx->pb);
    free(ctx);
    return rc;
}
