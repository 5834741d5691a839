/*
 * cpu_write.c: owns the CPU profile's shape: sample types samples/count and
 * cpu/nanoseconds as Go writes them, the period, and the weight that could
 * not be recorded shown as a sample of its own rather than dropped.
 */
#include <stdio.h>

#include "cprof.h"
#include "cpu.h"
#include "profile_write.h"

static int cpu_values(void *arg, const uint64_t *counters, int64_t *values)
{
    int64_t period = *(const int64_t *)arg;
    values[0] = (int64_t)counters[0];
    values[1] = (int64_t)counters[0] * period;
    return counters[0] != 0;
}

int cprof__cpu_write(const char *path, const cprof_samples *t,
                     const struct cprof_cpu_profile_info *info, uint8_t **out, size_t *out_len)
{
    static const char *const types[][2] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    cprof_profile_writer *w =
        cprof__profile_writer_begin(types, 2, "cpu", "cpu", "nanoseconds", info->period_ns,
                                    info->start_unix_ns, info->duration_ns);
    if (!w)
        return -1;
    char comment[128];
    snprintf(comment, sizeof comment, "engine=%s rate=%dHz merged=%llu", info->engine, info->hz,
             (unsigned long long)info->merged_periods);
    cprof_pb_add_comment(cprof__profile_writer_pb(w), comment);
    int64_t period = info->period_ns;
    cprof__profile_writer_add_table(w, t, cpu_values, &period);
    uint64_t lost = cprof__samples_lost(t);
    if (lost) {
        int64_t values[2] = {(int64_t)lost, (int64_t)lost * period};
        cprof__profile_writer_add_pseudo(w, "[cprof: lost samples]", values);
    }
    return cprof__profile_writer_end(w, path, out, out_len);
}
