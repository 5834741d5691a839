/*
 * unwind.h: stack walking from a signal handler, through code with or
 * without frame pointers, using the DWARF call-frame information (.eh_frame)
 * of every loaded object, compiled ahead of time into compact tables in
 * cprof's own memory.
 */
#ifndef CPROF_UNWIND_H
#define CPROF_UNWIND_H

#include <stddef.h>
#include <stdint.h>

/* (Re)builds the tables for the objects loaded now (dl_iterate_phdr).
 * Objects already known keep their tables. Not async-signal-safe: it
 * allocates and takes the loader's lock. Returns 0, or -1 if out of memory. */
int cprof__unwind_refresh(void);

/* Registers the fork handlers; called once by the library constructor. */
void cprof__unwind_init(void);

/* Frees tables that no signal handler can still be reading. */
void cprof__unwind_reclaim(void);

/* Walks the stack of the interrupted context `ucontext` (a ucontext_t *),
 * writing at most `max` code addresses into pcs: the interrupted pc first,
 * then for each caller the return address minus one (inside the call
 * instruction, so that symbolization names the call's line). Reads memory
 * only inside [sp - 128, stack_hi) of the interrupted thread; with
 * stack_hi == 0 only the interrupted pc is returned.
 * async-signal-safe: no locks, no allocation, bounded loops; the module
 * tables it reads are never freed while a walk is in progress. */
int cprof__unwind(const void *ucontext, uint64_t *pcs, int max, uintptr_t stack_hi);

/* Walks the calling thread's own stack, leaving out this function and the
 * `skip` callers nearest to it: for stacks of allocations and lock waits.
 * async-signal-safe, like cprof__unwind. */
int cprof__unwind_here(uint64_t *pcs, int max, int skip);

/* Walks from registers captured earlier in a frame that is still live (a
 * wrapper that is now waiting): pc exact, sp and fp as they were at pc, and
 * the top of that stack (0: the calling thread's, looked up). The frame
 * must belong to the calling thread, or to a thread blocked inside it.
 * async-signal-safe, like cprof__unwind. */
int cprof__unwind_regs(uintptr_t pc, uintptr_t sp, uintptr_t fp, uintptr_t stack_hi, uint64_t *pcs,
                       int max);

/* Walks the calling thread's stack from a caller's frame: ra the address a
 * call returns to in it, sp and fp its registers once returned there (a
 * frame of the calling thread that is still live). The stack is the one
 * cprof__unwind_here gives from that frame on (none when the thread's stack
 * is unknown). async-signal-safe, like cprof__unwind. */
int cprof__unwind_caller(uintptr_t ra, uintptr_t sp, uintptr_t fp, uint64_t *pcs, int max);

/* Reads pc, sp and fp of the function it is inlined into (always). */
static inline __attribute__((always_inline)) void cprof__capture_regs(uintptr_t *pc, uintptr_t *sp,
                                                                      uintptr_t *fp)
{
    __asm__ volatile("leaq 0(%%rip), %0\n\tmovq %%rsp, %1\n\tmovq %%rbp, %2"
                     : "=r"(*pc), "=r"(*sp), "=r"(*fp));
}

/* Whether pc lies in libcprof's own code (when it is a library of its own;
 * never when linked into the executable). For trimming cprof's frames off
 * stacks it takes of itself. async-signal-safe. */
int cprof__unwind_own_code(uint64_t pc);

/* Lines in /proc/self/maps format for the objects loaded at some time and
 * no longer mapped (dlclose'd), given the current maps text. A malloc'd
 * string (maybe empty), or NULL. */
char *cprof__unwind_unloaded_maps(const char *current_maps);

/* Counters for diagnostics and tests. */
typedef struct cprof_unwind_stats {
    uint64_t modules, rows; /* in the current tables */
    uint64_t unknown_pc;    /* walks that met a pc in no known object */
    uint64_t fp_steps;      /* steps taken by frame pointer, for lack of CFI */
} cprof_unwind_stats;
void cprof__unwind_stats(cprof_unwind_stats *out);

#endif
