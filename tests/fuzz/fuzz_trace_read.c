/*
 * fuzz_trace_read.c: libFuzzer entry point for the trace reader. Feeds any
 * bytes to cprof_trace_parse and, when they parse, walks the model the way
 * `cprof trace` does (every event, its string, stack, symbols and log
 * text), so that a hole in the reader's checks shows up as an ASan report
 * here rather than in a user's `cprof trace summary`.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trace_read.h"

static size_t sink;

static void walk_stack(const cprof_trace *t, uint64_t id)
{
    const cprof_trace_stack *st = cprof_trace_stack_by_id(t, id);
    for (uint32_t i = 0; st && i < st->npcs; i++) {
        const cprof_trace_symbol *sym = cprof_trace_symbol_at(t, st->pcs[i]);
        for (uint32_t f = 0; sym && f < sym->nframes; f++)
            sink += strlen(sym->frames[f].func) + strlen(sym->frames[f].file);
    }
}

static void walk_event(const cprof_trace *t, const cprof_trace_ev *e)
{
    const char *s;
    switch (e->type) {
    case TRACE_EV_STATE:
        walk_stack(t, e->arg[1]);
        break;
    case TRACE_EV_CPU_SAMPLE:
        walk_stack(t, e->arg[0]);
        break;
    case TRACE_EV_TASK_BEGIN:
    case TRACE_EV_REGION_BEGIN:
        if ((s = cprof_trace_string(t, e->arg[2])))
            sink += strlen(s);
        break;
    case TRACE_EV_LOG:
        s = cprof_trace_text(t, e);
        for (uint32_t i = 0; i < e->text_len; i++)
            sink += (unsigned char)s[i];
        if ((s = cprof_trace_string(t, e->arg[1])))
            sink += strlen(s);
        break;
    default:
        break;
    }
}

static void walk(const cprof_trace *t)
{
    int64_t prev;
    for (size_t i = 0; i < t->nthreads; i++) {
        const cprof_trace_thread *th = &t->threads[i];
        sink += strlen(th->name);
        prev = INT64_MIN;
        for (size_t k = 0; k < th->nev; k++) {
            /* The reader promises time order within a thread, and every
             * event (and a system call's beginning) inside the span. */
            const cprof_trace_ev *e = &th->ev[k];
            if (e->ns < prev || e->ns < t->start_ns || e->ns > t->end_ns)
                __builtin_trap();
            if (e->type == TRACE_EV_SYSCALL && e->ns - (int64_t)e->arg[1] < t->start_ns)
                __builtin_trap();
            prev = th->ev[k].ns;
            walk_event(t, e);
        }
    }
    for (size_t i = 0; i < t->ninfo; i++)
        sink += strlen(t->info[i]);
    for (size_t i = 0; i < t->nnotes; i++)
        sink += strlen(t->notes[i].text);
    if (cprof_trace_info(t, "pid"))
        sink++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    cprof_trace *t = cprof_trace_parse(data, size, err, sizeof err);
    if (!t) {
        /* Errors are one line: the tool prints them as they are. */
        if (!err[0] || strchr(err, '\n'))
            __builtin_trap();
        return 0;
    }
    if (t->truncated && (!t->warning[0] || strchr(t->warning, '\n')))
        __builtin_trap();
    walk(t);
    cprof_trace_free(t);
    return 0;
}
