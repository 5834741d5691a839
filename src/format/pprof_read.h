/*
 * pprof_read.h: reads pprof profiles, gzip'd or plain, cprof's and Go's, and
 * checks that every reference in them is valid, so that code reading the
 * result can follow ids without checking again.
 */
#ifndef CPROF_PPROF_READ_H
#define CPROF_PPROF_READ_H

#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

/* A decoded profile: `pb` is protobuf-c's message; the rest is an index by id
 * built at parse time (ids in pprof are arbitrary, not positions). */
typedef struct cprof_profile {
    Perftools__Profiles__Profile *pb;
    struct cprof_profile_index *index; /* private */
} cprof_profile;

/* Parses a profile from memory (gzip'd or not). On failure returns NULL and
 * writes a one-line reason into err ("truncated gzip data", "not a pprof
 * profile (protobuf decode failed)", "location 7 refers to missing function
 * 12", ...). Several gzip members in a row are read as one stream. The
 * decompressed size is bounded (1 GiB), and so is the memory decoding may
 * take, so that a hostile file gives an error, not an OOM. */
cprof_profile *cprof_profile_parse(const uint8_t *data, size_t len, char *err, size_t errlen);

/* Reads and parses a file; the error names what is wrong ("no such file",
 * "empty file", ...). */
cprof_profile *cprof_profile_read_file(const char *path, char *err, size_t errlen);

void cprof_profile_free(cprof_profile *p);

/* String-table lookup that never fails: out-of-range indices give "". */
const char *cprof_profile_str(const cprof_profile *p, int64_t index);

/* Index of the sample type named `name`, or -1. */
int cprof_profile_sample_index(const cprof_profile *p, const char *name);

/* Lookups by id; NULL when absent (cannot happen after a successful parse
 * for ids that the profile references). */
const Perftools__Profiles__Location *cprof_profile_location(const cprof_profile *p, uint64_t id);
const Perftools__Profiles__Function *cprof_profile_function(const cprof_profile *p, uint64_t id);
const Perftools__Profiles__Mapping *cprof_profile_mapping(const cprof_profile *p, uint64_t id);

/* Position in pb->location / pb->function / pb->mapping of the item with
 * that id, or -1. Lets callers keep per-item tables in plain arrays. */
ptrdiff_t cprof_profile_location_pos(const cprof_profile *p, uint64_t id);
ptrdiff_t cprof_profile_function_pos(const cprof_profile *p, uint64_t id);
ptrdiff_t cprof_profile_mapping_pos(const cprof_profile *p, uint64_t id);

#endif
