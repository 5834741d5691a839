/*
 * pprof_build.h: builds a pprof profile (profile.proto) in memory and writes
 * it gzip-compressed. Strings, functions, mappings and locations are
 * interned: adding the same one twice returns the same id. Samples with the
 * same locations and labels are NOT merged here; the caller aggregates.
 *
 * Not thread-safe: one builder per thread. Allocates with malloc.
 */
#ifndef CPROF_PPROF_BUILD_H
#define CPROF_PPROF_BUILD_H

#include <stddef.h>
#include <stdint.h>

typedef struct cprof_pb cprof_pb;

typedef struct cprof_pb_line {
    uint64_t function_id;
    int64_t line;
} cprof_pb_line;

typedef struct cprof_pb_label {
    const char *key;
    const char *str; /* NULL for a numeric label */
    int64_t num;
    const char *num_unit; /* may be NULL */
} cprof_pb_label;

typedef struct cprof_pb_mapping_info {
    uint64_t memory_start, memory_limit, file_offset;
    const char *filename; /* may be NULL */
    const char *build_id; /* hex string; may be NULL */
    int has_functions, has_filenames, has_line_numbers, has_inline_frames;
} cprof_pb_mapping_info;

cprof_pb *cprof_pb_new(void);
void cprof_pb_free(cprof_pb *pb);

/* Interns a string; NULL is "". Returns its string-table index. */
int64_t cprof_pb_string(cprof_pb *pb, const char *s);

/* Appends a sample type (e.g. "cpu", "nanoseconds"), in value order. */
void cprof_pb_add_sample_type(cprof_pb *pb, const char *type, const char *unit);
void cprof_pb_set_period(cprof_pb *pb, const char *type, const char *unit, int64_t period);
void cprof_pb_set_time(cprof_pb *pb, int64_t time_nanos, int64_t duration_nanos);
void cprof_pb_set_default_sample_type(cprof_pb *pb, const char *type);
void cprof_pb_add_comment(cprof_pb *pb, const char *comment);

/* Returns the id (>= 1) of the mapping, function or location. */
uint64_t cprof_pb_mapping(cprof_pb *pb, const cprof_pb_mapping_info *m);
uint64_t cprof_pb_function(cprof_pb *pb, const char *name, const char *system_name,
                           const char *filename, int64_t start_line);
/* Locations are interned by (mapping_id, address) when address != 0, and by
 * (mapping_id, lines) when address == 0. */
uint64_t cprof_pb_location(cprof_pb *pb, uint64_t mapping_id, uint64_t address,
                           const cprof_pb_line *lines, size_t nlines);

/* Appends a sample. values has one entry per sample type. */
void cprof_pb_add_sample(cprof_pb *pb, const uint64_t *location_ids, size_t nlocs,
                         const int64_t *values, size_t nvalues, const cprof_pb_label *labels,
                         size_t nlabels);

/* Serialises and gzips the profile into a malloc'd buffer. 0 or -1 (err). */
int cprof_pb_encode(cprof_pb *pb, uint8_t **out, size_t *out_len, char *err, size_t errlen);

/* Writes the gzip'd profile to path (atomically: a temporary file renamed
 * into place). 0 or -1, with a one-line reason in err. */
int cprof_pb_write_file(cprof_pb *pb, const char *path, char *err, size_t errlen);

#endif
