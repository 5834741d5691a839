# shellcheck shell=bash
# common.sh: sourced by filesearch's test scripts. A scratch directory,
# starting and stopping servers, HTTP requests with curl, a corpus of sources.
#
# Environment (set by ctest): FILESEARCH, FILESEARCH_LOAD, TESTJSON.

set -euo pipefail
export LC_ALL=C # grep and sort compare bytes, as the server does

: "${FILESEARCH:?path to the filesearch binary}"
: "${FILESEARCH_LOAD:?path to the filesearch-load binary}"
: "${TESTJSON:?path to the filesearch-testjson binary}"
command -v curl >/dev/null || {
    echo "SKIP: curl is not installed" >&2
    exit 77
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/filesearch-test.XXXXXX")
SERVER_PID=
SERVER_LOG=
PORT=

cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [[ -n $SERVER_LOG && -s $SERVER_LOG ]]; then
        echo "--- server log:" >&2
        tail -n 20 "$SERVER_LOG" >&2
    fi
    exit 1
}

# start_server NAME [FLAGS...]: starts filesearch on a free port (it binds
# port 0 and prints the one it got) in $TMP, and waits until it answers.
start_server() {
    local name=$1
    shift
    SERVER_LOG=$TMP/$name.log
    : >"$SERVER_LOG"
    (cd "$TMP" && exec "$FILESEARCH" -port=0 "$@") 2>"$SERVER_LOG" &
    SERVER_PID=$!
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$SERVER_LOG")
        [[ -n $PORT ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "$name: the server exited at start"
        sleep 0.1
    done
    [[ -n $PORT ]] || fail "$name: the server did not start listening"
    [[ $(curl -s "http://127.0.0.1:$PORT/health") == OK ]] || fail "$name: /health is not OK"
}

# stop_server SIGNAL: sends the signal and checks that the server exits with
# status 0 within 30 seconds.
stop_server() {
    local sig=$1 status=0
    kill "-$sig" "$SERVER_PID"
    # The watchdog ends by itself once the server is gone: killing it could
    # land between bash's fork and exec of it, and the forked bash would then
    # run the EXIT trap (cleanup) and delete $TMP under the test's feet.
    sh -c 'for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || exit 0; sleep 0.1; done
           kill -KILL "$1"' sh "$SERVER_PID" >/dev/null 2>&1 &
    local watchdog=$!
    wait "$SERVER_PID" || status=$?
    wait "$watchdog" 2>/dev/null || true
    local pid=$SERVER_PID
    SERVER_PID=
    [[ $status == 0 ]] || fail "server $pid exited with status $status after SIG$sig"
    grep -q "shutting down" "$SERVER_LOG" || fail "server did not say it was shutting down"
}

# http METHOD PATH [CURL ARGS...]: sends a request; the status code goes to
# $TMP/status, headers to $TMP/headers, the body to $TMP/body.
http() {
    local method=$1 path=$2
    shift 2
    curl -s -X "$method" -D "$TMP/headers" -o "$TMP/body" -w '%{http_code}' "$@" \
        "http://127.0.0.1:$PORT$path" >"$TMP/status" || fail "curl $method $path failed"
}

# post_search BODY: POST /search with the given body.
post_search() {
    http POST /search -H 'Content-Type: application/json' --data-binary "$1"
}

status() { cat "$TMP/status"; }

# make_corpus DIR: a tree of sources with known content: nested directories,
# files that are not .c or .h, a binary file, symlinks (grep -r skips them), a
# hidden directory, a directory named like a source file, long lines, lines
# with surrounding whitespace and CRLF, a file without a final newline, and a
# few of the system's headers (libc6-dev).
make_corpus() {
    local c=$1
    mkdir -p "$c/src/net" "$c/src/util/deep/er" "$c/include" "$c/.hidden" "$c/notes.c" \
        "$c/empty" "$c/gen"
    cat >"$c/src/main.c" <<'EOF'
#include <stdio.h>
#include "util.h"

/* foo: the entry point */
int main(int argc, char **argv)
{
    int count = 12345;
	if (argc > 1)   
		return foo(argv[1]);   
    return bar(count);
}
EOF
    cat >"$c/src/util.h" <<'EOF'
#ifndef UTIL_H
#define UTIL_H
struct foo_state { int x; };
struct bar_state { long y; };
int foo(const char *s);
int bar(int n);
#endif
EOF
    cat >"$c/src/net/sock.c" <<'EOF'
#include <sys/socket.h>
   #include "sock.h"
static int port = 8080;
int sock_open(void) { return socket(AF_INET, SOCK_STREAM, 0); }   
void sock_close(int fd) { (void)fd; }
EOF
    printf '#define CRLF 1\r\nint crlf_line = 2;\r\n  \r\nint crlf_end;\r\n' >"$c/src/net/crlf.h"
    printf 'int last_line_without_newline = 999;' >"$c/src/util/nonl.c"
    printf '' >"$c/src/util/empty.c"
    printf 'int binary_before;\n\0\001\002 int binary_after;\n' >"$c/src/util/blob.c"
    {
        printf '\t  int long_line = 1; /* '
        head -c 300000 /dev/zero | tr '\0' x
        printf ' */   \n'
        printf 'int after_long_line;\n'
    } >"$c/src/util/deep/er/long.c"
    printf 'int deep_foo(void);\n\n\n#define DEEP 123456\n' >"$c/src/util/deep/er/deep.h"
    printf 'int hidden_foo = 1;\n' >"$c/.hidden/h.h"
    printf 'int inside_notes_dir = 1;\n' >"$c/notes.c/inner.h"
    printf 'int not_a_source = 1; foo bar\n' >"$c/README.txt"
    printf 'int cplusplus = 1; foo\n' >"$c/src/main.cpp"
    printf 'int upper_c = 1; foo\n' >"$c/src/upper.C"
    printf 'int header_hh = 1;\n' >"$c/src/x.hh"
    ln -s ../src/main.c "$c/include/link.c"
    ln -s ../src "$c/include/srclink"
    for h in stdio.h stdlib.h string.h pthread.h regex.h; do
        [[ -f /usr/include/$h ]] && cp "/usr/include/$h" "$c/include/"
    done
    local i
    for i in $(seq 1 60); do
        mkdir -p "$c/gen/d$((i % 6))"
        {
            printf '/* generated file %d */\n' "$i"
            printf 'static int value_%d = %d;\n' "$i" "$((i * 37))"
            printf 'int foo_%d(void) { return value_%d; }\n' "$i" "$i"
            if ((i % 3 == 0)); then printf 'struct bar_%d { int n; };\n' "$i"; fi
            printf '\n'
        } >"$c/gen/d$((i % 6))/file$i.$([[ $((i % 4)) == 0 ]] && echo h || echo c)"
    done
}

# grep_answer PATTERN MAX PATH...: what the server must answer, from grep,
# run in $TMP: the lines of `grep -rnE` with surrounding whitespace trimmed
# and binary files left out, sorted by (file, line), the first MAX.
grep_answer() {
    local pattern=$1 max=$2
    shift 2
    (
        cd "$TMP"
        # grep tells of binary files that match on stderr (3.8) or stdout (older).
        { grep -rnE -e "$pattern" --include='*.c' --include='*.h' -- "$@" 2>/dev/null || true; } |
            { grep -Ev '^(grep: .*: binary file matches|Binary file .* matches)$' || true; } |
            sed -E 's/^([^:]*:[0-9]+:)[[:space:]]+/\1/; s/[[:space:]]+$//' |
            sort -t: -k1,1 -k2,2n | awk -v max="$max" 'NR <= max'
    )
}
