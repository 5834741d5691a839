// libcprof_symcxx.so: C++ names to demangle (a namespaced member function and
// a function template); see symlib.h.
#include "symlib.h"

#include <memory>

namespace ns
{
static volatile int sink;
static symlib_cb the_cb; // passed out of band so the signatures stay simple
static int *the_lines;

struct Klass {
    int base;
    __attribute__((noinline)) int method(int x);
};

// The declarators and first statements share a line on purpose: __LINE__
// there is the function's DW_AT_decl_line, whatever clang-format does.
// clang-format off
int Klass::method(int x) { the_lines[2] = __LINE__;
    the_lines[0] = __LINE__ + 1;
    int r = the_cb();
    sink = r; // work after the call: no tail call
    return r + x + base;
}

template <typename T> __attribute__((noinline)) T twice(T v) { the_lines[3] = __LINE__;
    the_lines[1] = __LINE__ + 1;
    T r = (T)the_cb();
    sink = (int)r;
    return r + v * 2;
}
// clang-format on
} // namespace ns

extern "C" int symcxx_call(symlib_cb cb, int lines[4])
{
    ns::the_cb = cb;
    ns::the_lines = lines;
    // operator new: a real use of libstdc++, which must be loaded for the
    // symbolizer to find __cxa_demangle (the linker drops unused libraries).
    auto k = std::make_unique<ns::Klass>(ns::Klass{1});
    return k->method(2) + (int)ns::twice<long>(3);
}

extern "C" const char *symcxx_file(void)
{
    return __FILE__;
}
