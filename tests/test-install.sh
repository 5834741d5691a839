#!/bin/sh
# test-install: `cmake --install` puts the tool, both libraries, the header
# and cprof.pc under a prefix, and a program built from them with pkg-config
# (shared, then static) profiles itself; `cprof run` from the prefix finds its
# libcprof.so beside it.
. "$CPROF_SOURCE_DIR/tests/lib.sh"

prefix=$T/prefix
cmake --install "$CPROF_BUILD_DIR" --prefix "$prefix" >"$T/install.log" 2>&1 ||
    fail "cmake --install failed: $(tail -3 "$T/install.log")"
for f in bin/cprof include/cprof.h; do
    [ -e "$prefix/$f" ] || fail "$f was not installed"
done
pc=$(find "$prefix" -name cprof.pc | head -1)
[ -n "$pc" ] || fail "cprof.pc was not installed"
libdir=$(dirname "$(dirname "$pc")")
for f in libcprof.so libcprof.a; do
    [ -e "$libdir/$f" ] || fail "$f was not installed in $libdir"
done

cat >"$T/prog.c" <<'PROG'
#include <cprof.h>
#include <stdio.h>
volatile double sink;
__attribute__((noinline)) static void work(void)
{
    for (long i = 0; i < 60000000; i++)
        sink += (double)i;
}
int main(int argc, char **argv)
{
    if (argc < 2 || cprof_cpu_start(argv[1], 1000) != 0) {
        fprintf(stderr, "start: %s\n", cprof_last_error());
        return 1;
    }
    work();
    return cprof_cpu_stop() == 0 ? 0 : 1;
}
PROG
export PKG_CONFIG_PATH="$(dirname "$pc")"
# shellcheck disable=SC2046
cc -O1 -g "$T/prog.c" -o "$T/prog-shared" $(pkg-config --cflags --libs cprof) \
    -Wl,-rpath,"$libdir" 2>"$T/cc.log" || fail "building against the shared library: $(cat "$T/cc.log")"
"$T/prog-shared" "$T/shared.pb.gz" || fail "the program linked against libcprof.so failed"
profile_has "$T/shared.pb.gz" work || fail "the shared-library profile lacks work()"

# shellcheck disable=SC2046
# libcprof.a itself, its dependencies as the shared libraries Debian ships
# (their own static closures, libcurl's above all, are not installed).
cc -O1 -g "$T/prog.c" -o "$T/prog-static" $(pkg-config --cflags cprof) "$libdir/libcprof.a" \
    $(pkg-config --libs $(pkg-config --print-requires-private cprof)) -lpthread -ldl -lrt -lm \
    2>"$T/cc.log" ||
    fail "building against the static library: $(cat "$T/cc.log")"
"$T/prog-static" "$T/static.pb.gz" || fail "the program linked against libcprof.a failed"
profile_has "$T/static.pb.gz" work || fail "the static-library profile lacks work()"

"$prefix/bin/cprof" run -cpuprofile="$T/run.pb.gz" -- "$T/prog-shared" "$T/ignored.pb.gz" \
    >/dev/null 2>&1 || true
"$prefix/bin/cprof" run -cpuprofile="$T/run2.pb.gz" -- /bin/true ||
    fail "the installed cprof run cannot run a program"
[ -s "$T/run2.pb.gz" ] || fail "the installed cprof run wrote no profile (libcprof.so not found?)"
echo "ok: installed; shared and static programs profile themselves; cprof run works from the prefix"
