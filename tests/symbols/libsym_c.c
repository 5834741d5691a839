/* libcprof_symc.so: a C library with DWARF; see symlib.h. */
#include "symlib.h"

static volatile int sink;

const char *symlib_file(void)
{
    return __FILE__;
}

/* The declarator and the first statement share a line on purpose: lines[0]
 * must be the function's DW_AT_decl_line, whatever clang-format does. */
// clang-format off
int symlib_call(symlib_cb cb, int lines[2]) { lines[0] = __LINE__;
    lines[1] = __LINE__ + 1;
    int r = cb();
    sink = r; /* work after the call: no tail call */
    return r + 1;
}
// clang-format on
