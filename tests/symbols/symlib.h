/*
 * symlib.h: the small shared libraries test-symbols.c names addresses in.
 * Each library function calls `cb` once and does some work after the call,
 * so that the callback's return address lies inside the library function,
 * on a line the function reports through `lines`.
 */
#ifndef CPROF_TEST_SYMLIB_H
#define CPROF_TEST_SYMLIB_H

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*symlib_cb)(void);

/* libcprof_symc.so, built with -g. lines[0]: the line naming the function
 * (DW_AT_decl_line); lines[1]: the line of the call to cb. */
int symlib_call(symlib_cb cb, int lines[2]);
/* The source file as the compiler saw it. */
const char *symlib_file(void);

/* libcprof_symstrip.so, stripped with strip --strip-all after the build. */
int symstrip_call(symlib_cb cb);

/* libcprof_symcxx.so (C++, -g; also a stripped copy): calls
 * ns::Klass::method(int) and ns::twice<long>(long), each of which calls cb
 * once. lines[0], lines[1]: the lines of those calls; lines[2], lines[3]:
 * the lines naming the two functions. */
int symcxx_call(symlib_cb cb, int lines[4]);
const char *symcxx_file(void);

#ifdef __cplusplus
}
#endif

#endif
