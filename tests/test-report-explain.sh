#!/bin/bash
# test-report-explain.sh: `cprof explain` on the filesearch demo finds each
# problem planted in the slow server, once, and none of them in the fixed
# one. Each server runs under `cprof run` with the heap, mutex and block
# profilers on, under 3 s of load; explain reads its CPU, allocs, mutex,
# block and threadcreate profiles straight from the live endpoint that the
# server mounts (/debug/pprof/), so the URL path of every report is tested
# too.
#
# Needs FILESEARCH and FILESEARCH_LOAD (set by ctest) and curl.
. "$(dirname "$0")/test-report-lib.sh"
: "${FILESEARCH:?path to the filesearch binary}"
: "${FILESEARCH_LOAD:?path to the filesearch-load binary}"
command -v curl >/dev/null || {
    echo "SKIP: curl is not installed"
    exit 77
}
cd "$tmp" || exit 1
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$tmp"' EXIT

# 300 sources of 800 lines: enough per file that reading it whole and
# copying its lines shows, enough files that per-file costs (compiling the
# pattern, a thread) show too.
awk 'BEGIN {
    for (d = 0; d < 10; d++) {
        system("mkdir -p corpus/mod" d)
        for (f = 0; f < 30; f++) {
            path = sprintf("corpus/mod%d/unit%d.%s", d, f, f % 5 ? "c" : "h")
            printf "/* unit %d of module %d */\n#include <stddef.h>\n\n", f, d > path
            for (k = 0; k < 80; k++) {
                printf "struct n%d_%d { struct n%d_%d *next; int value; };\n", f, k, f, k > path
                printf "static struct n%d_%d *find_%d_%d(struct n%d_%d *n, int v)\n{\n", f, k, f, k, f, k > path
                printf "    for (; n != NULL; n = n->next)\n        if (n->value == v)\n" > path
                printf "            return n;\n    return NULL;\n}\n\n" > path
            }
            close(path)
        }
    }
}'
pattern='^(extern |static )?(const )?struct [a-z_][a-z0-9_]{0,31} ?\*+ ?[a-z_][a-z0-9_]{0,31} ?\('

# explain_server NAME [FLAGS...]: serves under load, explains from the live
# endpoint into NAME.md.
explain_server() {
    local name=$1 port= i
    shift
    "$CPROF" run -memprofilerate=524288 -mutexprofilefraction=1 -blockprofilerate=1 -- \
        "$FILESEARCH" -port=0 "$@" 2>"$name.log" &
    SERVER_PID=$!
    for i in $(seq 100); do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$name.log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "$name: the server did not start: $(cat "$name.log")"
        return
    fi
    "$FILESEARCH_LOAD" -port="$port" -duration=3s -c=4 -pattern="$pattern" -paths=corpus \
        >"$name.load" 2>&1 &
    local load=$!
    local url="http://127.0.0.1:$port/debug/pprof"
    "$CPROF" explain "$url/profile?seconds=2" "$url/allocs" "$url/mutex" "$url/block" \
        "$url/threadcreate" >"$name.md" 2>"$name.err" || fail "$name: explain failed: $(cat "$name.err")"
    wait "$load" || fail "$name: the load failed: $(cat "$name.load")"
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID"
    SERVER_PID=
    echo "--- cprof explain ($name):"
    cat "$name.md"
}

explain_server slow
for id in regex-in-loop alloc-copy lock-contention thread-per-item; do
    n=$(grep -c "\[$id\]" slow.md)
    [ "$n" -eq 1 ] || fail "slow: want one [$id] finding, got $n"
    # The planted code: search_slow.c and search_planted.c (shared with -fix).
    grep "\[$id\]" slow.md | grep -Eq 'search_(slow|planted)\.c:[0-9]' ||
        fail "slow: the [$id] finding does not name a line of search_slow.c or search_planted.c"
done
[ "$(wc -l <slow.md)" -le 50 ] || fail "slow: the report is longer than a page ($(wc -l <slow.md) lines)"

explain_server fixed -fixed
for id in regex-in-loop alloc-copy lock-contention thread-per-item; do
    grep -q "\[$id\]" fixed.md && fail "fixed: still finds [$id]"
done
grep -q '^## Hot spots' fixed.md || fail "fixed: no hot spots"
finish
