/*
 * heap_write.c: owns the heap profile's shape, as Go writes it: sample
 * types alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes (default inuse_space), period space/bytes = the
 * sampling rate, and values un-sampled.
 *
 * Un-sampling (Go's scaleHeapSample): a block of size S is sampled with
 * probability p = 1 - exp(-S/rate), so each sampled block stands for 1/p
 * blocks. Per stack, S is taken as the average size of its sampled blocks.
 * At rate 1 every block is sampled and the values are exact.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "cprof.h"
#include "errors.h"
#include "heap.h"
#include "heap_write.h"
#include "profile_write.h"
#include "settings.h"

static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;
static char exit_pattern[PATH_MAX];
static int64_t start_unix_ns;

static void unbias(uint64_t count, uint64_t bytes, long rate, int64_t *out_count,
                   int64_t *out_bytes)
{
    if (count == 0 || bytes == 0 || rate <= 1) {
        *out_count = (int64_t)count;
        *out_bytes = (int64_t)bytes;
        return;
    }
    double avg = (double)bytes / (double)count;
    double scale = 1.0 / (1.0 - exp(-avg / (double)rate));
    *out_count = (int64_t)((double)count * scale + 0.5);
    *out_bytes = (int64_t)((double)bytes * scale + 0.5);
}

static int heap_values(void *arg, const uint64_t *c, int64_t *values)
{
    long rate = *(const long *)arg;
    uint64_t live_count = c[HEAP_ALLOC_COUNT] - c[HEAP_FREE_COUNT];
    uint64_t live_bytes = c[HEAP_ALLOC_BYTES] - c[HEAP_FREE_BYTES];
    unbias(c[HEAP_ALLOC_COUNT], c[HEAP_ALLOC_BYTES], rate, &values[0], &values[1]);
    unbias(live_count, live_bytes, rate, &values[2], &values[3]);
    return c[HEAP_ALLOC_COUNT] != 0;
}

static int64_t now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Writes to path, or into *out when path is NULL. */
static int heap_write(const char *path, const char *default_type, uint8_t **out, size_t *out_len)
{
    static const char *const types[][2] = {{"alloc_objects", "count"},
                                           {"alloc_space", "bytes"},
                                           {"inuse_objects", "count"},
                                           {"inuse_space", "bytes"}};
    cprof_samples *t = cprof__heap_table();
    if (!t)
        return cprof__fail("heap profiling is not on (set a rate with cprof_heap_set_rate, "
                           "or CPROF_MEMPROFILE)");
    long rate = cprof__heap_rate();
    int64_t now = now_unix_ns();
    cprof_profile_writer *w = cprof__profile_writer_begin(types, 4, default_type, "space", "bytes",
                                                          rate, start_unix_ns ? start_unix_ns : now,
                                                          start_unix_ns ? now - start_unix_ns : 0);
    if (!w)
        return -1;
    cprof__profile_writer_add_table(w, t, heap_values, &rate);
    return cprof__profile_writer_end(w, path, out, out_len);
}

/* The peak profile: the same shape, values from the copy taken when the
 * heap estimate was highest. */
static int heap_peak_write(const char *path)
{
    static const char *const types[][2] = {{"alloc_objects", "count"},
                                           {"alloc_space", "bytes"},
                                           {"inuse_objects", "count"},
                                           {"inuse_space", "bytes"}};
    cprof_samples *t = cprof__heap_table();
    if (!t)
        return cprof__fail("heap profiling is not on");
    long rate = cprof__heap_rate();
    struct cprof_heap_peak_entry *entries;
    uint64_t bytes;
    size_t n = cprof__heap_peak_copy(&entries, &bytes);
    int64_t now = now_unix_ns();
    cprof_profile_writer *w = cprof__profile_writer_begin(types, 4, "inuse_space", "space", "bytes",
                                                          rate, start_unix_ns ? start_unix_ns : now,
                                                          start_unix_ns ? now - start_unix_ns : 0);
    if (!w) {
        free(entries);
        return -1;
    }
    char comment[96];
    snprintf(comment, sizeof comment, "peak: about %llu bytes in use", (unsigned long long)bytes);
    cprof_pb_add_comment(cprof__profile_writer_pb(w), comment);
    uint64_t frames[CPROF_MAX_FRAMES];
    for (size_t i = 0; i < n; i++) {
        int64_t values[4];
        if (!heap_values(&rate, entries[i].values, values))
            continue;
        int nf = cprof__samples_frames(t, entries[i].stack, frames, CPROF_MAX_FRAMES);
        cprof__profile_writer_add_stack(w, frames, nf, cprof__samples_labels(t, entries[i].stack),
                                        values);
    }
    free(entries);
    return cprof__profile_writer_end(w, path, NULL, NULL);
}

CPROF_API int cprof_heap_write(const char *path)
{
    if (!path || !*path)
        return cprof__fail("cprof_heap_write: no output path");
    char full[PATH_MAX];
    if (cprof__settings_expand_path(path, full, sizeof full) < 0)
        return -1;
    return heap_write(full, "inuse_space", NULL, NULL);
}

int cprof__heap_encode_default(const char *default_type, uint8_t **out, size_t *out_len)
{
    return heap_write(NULL, default_type, out, out_len);
}

static char peak_pattern[PATH_MAX];

int cprof__heap_set_peak_path(const char *pattern)
{
    char full[PATH_MAX];
    if (strlen(pattern) >= sizeof peak_pattern)
        return cprof__fail("peak heap profile path too long");
    if (cprof__settings_expand_path(pattern, full, sizeof full) < 0 ||
        cprof__settings_check_writable(full) < 0)
        return -1;
    pthread_mutex_lock(&exit_lock);
    strcpy(peak_pattern, pattern);
    if (!start_unix_ns)
        start_unix_ns = now_unix_ns();
    pthread_mutex_unlock(&exit_lock);
    cprof__heap_track_peak();
    return 0;
}

int cprof__heap_set_exit_path(const char *pattern)
{
    char full[PATH_MAX];
    if (strlen(pattern) >= sizeof exit_pattern)
        return cprof__fail("heap profile path too long");
    if (cprof__settings_expand_path(pattern, full, sizeof full) < 0 ||
        cprof__settings_check_writable(full) < 0)
        return -1;
    pthread_mutex_lock(&exit_lock);
    strcpy(exit_pattern, pattern);
    if (!start_unix_ns)
        start_unix_ns = now_unix_ns();
    pthread_mutex_unlock(&exit_lock);
    return 0;
}

/* A forked child writes its own heap profiles only when the path tells
 * processes apart (%p); otherwise it would overwrite its parent's. */
static void atfork_child(void)
{
    pthread_mutex_init(&exit_lock, NULL);
    if (!strstr(exit_pattern, "%p"))
        exit_pattern[0] = '\0';
    if (!strstr(peak_pattern, "%p"))
        peak_pattern[0] = '\0';
}

void cprof__heap_write_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

void cprof__heap_flush(void)
{
    pthread_mutex_lock(&exit_lock);
    if (exit_pattern[0] && cprof_heap_write(exit_pattern) < 0)
        cprof__warn("%s", cprof_last_error());
    char full[PATH_MAX];
    if (peak_pattern[0] && (cprof__settings_expand_path(peak_pattern, full, sizeof full) < 0 ||
                            heap_peak_write(full) < 0))
        cprof__warn("%s", cprof_last_error());
    pthread_mutex_unlock(&exit_lock);
}
