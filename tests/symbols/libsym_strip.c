/* libcprof_symstrip.so: stripped after the build, so only .dynsym names it. */
#include "symlib.h"

static volatile int sink;

int symstrip_call(symlib_cb cb)
{
    int r = cb();
    sink = r; /* work after the call: no tail call */
    return r + 1;
}
