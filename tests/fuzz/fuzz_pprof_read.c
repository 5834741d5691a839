/*
 * fuzz_pprof_read.c: libFuzzer entry point for the pprof reader. Feeds any
 * bytes to cprof_profile_parse and, when they parse, follows every
 * reference the reader promised to have checked (ids, string indices), so
 * that a hole in validation shows up as an ASan report here rather than in
 * `cprof top` on a user's file.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pprof_read.h"

static size_t sink;

static void touch_str(const cprof_profile *p, int64_t index)
{
    sink += strlen(cprof_profile_str(p, index));
}

static void walk_location(const cprof_profile *p, const Perftools__Profiles__Location *l)
{
    if (l->mapping_id) {
        const Perftools__Profiles__Mapping *m = cprof_profile_mapping(p, l->mapping_id);
        touch_str(p, m->filename);
        touch_str(p, m->build_id);
    }
    for (size_t i = 0; i < l->n_line; i++) {
        const Perftools__Profiles__Function *f = cprof_profile_function(p, l->line[i]->function_id);
        touch_str(p, f->name);
        touch_str(p, f->system_name);
        touch_str(p, f->filename);
    }
}

static void walk(const cprof_profile *p)
{
    const Perftools__Profiles__Profile *pb = p->pb;
    /* The reader guarantees string_table[0] and value counts. */
    sink += strlen(pb->string_table[0]);
    for (size_t i = 0; i < pb->n_sample_type; i++) {
        touch_str(p, pb->sample_type[i]->type);
        (void)cprof_profile_sample_index(p, cprof_profile_str(p, pb->sample_type[i]->type));
    }
    for (size_t i = 0; i < pb->n_sample; i++) {
        const Perftools__Profiles__Sample *s = pb->sample[i];
        for (size_t j = 0; j < pb->n_sample_type; j++)
            sink += (size_t)s->value[j];
        for (size_t j = 0; j < s->n_location_id; j++)
            walk_location(p, cprof_profile_location(p, s->location_id[j]));
        for (size_t j = 0; j < s->n_label; j++) {
            touch_str(p, s->label[j]->key);
            touch_str(p, s->label[j]->str);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    cprof_profile *p = cprof_profile_parse(data, size, err, sizeof err);
    if (!p) {
        /* Errors are one line: the tool prints them as they are. */
        if (!err[0] || strchr(err, '\n'))
            __builtin_trap();
        return 0;
    }
    walk(p);
    cprof_profile_free(p);
    return 0;
}
