#!/bin/bash
# demo.sh BUILD_DIR [SERVER FLAGS...]: the README's main job, the workshop's
# loop on the demo server, examples/filesearch:
#
#   1. starts it under `cprof run` (mutex and block profiles on; the server
#      mounts cprof's /debug/pprof/ endpoint on its own port),
#   2. puts load on it with filesearch-load,
#   3. while the load runs, takes a CPU profile, heap and allocation profiles,
#      mutex and block profiles, a thread dump and the threadcreate profile
#      from the live endpoint, the way `go tool pprof http://...` does,
#   4. stops the server and shows what each profile says, and what
#      `cprof explain` makes of them all.
#
# Server flags are passed on: `scripts/demo.sh build -fixed` profiles the fixed
# server (files out/fixed-*), to compare. Settings, from the environment:
#   DEMO_PATHS     what the searches look in (default /usr/include/linux)
#   DEMO_DURATION  how long the load runs, in seconds (default 12)
#   DEMO_CONNS     concurrent connections (default 4)
set -euo pipefail

if [[ $# -lt 1 || ! -d $1 ]]; then
    echo "usage: scripts/demo.sh BUILD_DIR [SERVER FLAGS...]" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/out
CPROF=$BUILD/bin/cprof
SERVER=$BUILD/bin/filesearch
LOAD=$BUILD/bin/filesearch-load
PATHS=${DEMO_PATHS:-/usr/include/linux}
DURATION=${DEMO_DURATION:-12}
CONNS=${DEMO_CONNS:-4}
CPU_SECONDS=$((DURATION > 4 ? DURATION - 4 : 1))
# Functions and macros whose name ends in _MAX or _MIN.
PATTERN='(define|enum) +[A-Z_]+_(MAX|MIN)\b'

for bin in "$CPROF" "$SERVER" "$LOAD"; do
    [[ -x $bin ]] || {
        echo "demo: $bin is missing: build first (cmake --build $BUILD)" >&2
        exit 1
    }
done
command -v curl >/dev/null || {
    echo "demo: curl is missing (scripts/setup.sh installs it)" >&2
    exit 1
}

name=slow
[[ " $* " == *" -fixed "* ]] && name=fixed
mkdir -p "$OUT"
P=$OUT/$name
LOG=$P.server.log
rm -f "$P".*
: >"$LOG"

RUN_PID=
LOAD_PID=
cleanup() {
    [[ -n $LOAD_PID ]] && kill "$LOAD_PID" 2>/dev/null || true
    if [[ -n $RUN_PID ]] && kill -0 "$RUN_PID" 2>/dev/null; then
        kill -TERM "$RUN_PID" 2>/dev/null || true
        sleep 1
        pkill -KILL -P "$RUN_PID" 2>/dev/null || true
        kill -KILL "$RUN_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rel() { echo "${1#"$ROOT"/}"; }

echo "== cprof run -memprofilerate=524288 -mutexprofilefraction=1 -blockprofilerate=1 -- filesearch -port=0 $*"
"$CPROF" run -memprofilerate=524288 -mutexprofilefraction=1 -blockprofilerate=1 -- "$SERVER" -port=0 "$@" 2>"$LOG" &
RUN_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$LOG")
    [[ -n $PORT ]] && break
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $PORT || $(curl -s "http://127.0.0.1:$PORT/health") != OK ]]; then
    echo "demo: the server did not start:" >&2
    cat "$LOG" >&2
    exit 1
fi
URL=http://127.0.0.1:$PORT/debug/pprof

echo "== load: $CONNS connections for ${DURATION}s, searching $PATHS for /$PATTERN/"
"$LOAD" -port="$PORT" -duration="${DURATION}s" -c="$CONNS" -pattern="$PATTERN" \
    -paths="$PATHS" >"$P.load.txt" 2>&1 &
LOAD_PID=$!
sleep 1
echo "== from the live endpoint $URL/ while the load runs:"
fetch() { # NAME QUERY FILE
    curl -sf -o "$3" "$URL/$1$2" || {
        echo "demo: GET $URL/$1$2 failed" >&2
        exit 1
    }
    echo "   $1$2 -> $(rel "$3")"
}
fetch profile "?seconds=$CPU_SECONDS" "$P.cpu.pb.gz"
fetch allocs "" "$P.allocs.pb.gz"
fetch heap "" "$P.heap.pb.gz"
fetch mutex "" "$P.mutex.pb.gz"
fetch block "" "$P.block.pb.gz"
fetch goroutine "?debug=1" "$P.threads.txt"
fetch threadcreate "" "$P.threadcreate.pb.gz"
wait "$LOAD_PID" || {
    echo "demo: the load had errors:" >&2
    cat "$P.load.txt" >&2
    exit 1
}
LOAD_PID=
sed 's/^/   /' "$P.load.txt"

kill -INT "$RUN_PID"
status=0
wait "$RUN_PID" || status=$?
RUN_PID=
if [[ $status != 0 ]]; then
    echo "demo: the server exited with status $status:" >&2
    cat "$LOG" >&2
    exit 1
fi

show() { # TITLE CPROF-TOP-ARGS...
    echo
    echo "== $1"
    shift
    echo "   cprof top $*" | sed "s|$ROOT/||g"
    "$CPROF" top "$@" | sed -n '/flat%/,$p'
}
show "CPU: where the time goes (cumulative)" -cum -n 18 "$P.cpu.pb.gz"
show "Memory: who allocates the most bytes" -sample_index=alloc_space -n 6 "$P.allocs.pb.gz"
show "Mutex: critical sections others waited for" -n 6 "$P.mutex.pb.gz"
show "Block: where threads waited" -n 6 "$P.block.pb.gz"
show "Threads: where they were created" -n 4 "$P.threadcreate.pb.gz"
echo
echo "== $(head -1 "$P.threads.txt") (a thread dump: $(rel "$P.threads.txt"))"
echo
echo "== cprof explain (all five profiles): what to fix, and where"
"$CPROF" explain "$P.cpu.pb.gz" "$P.allocs.pb.gz" "$P.mutex.pb.gz" "$P.block.pb.gz" \
    "$P.threadcreate.pb.gz" | sed -n '/^## Findings/,/^## Hot spots/p' | sed '$d'
echo "The whole report: cprof explain $(rel "$P").{cpu,allocs,mutex,block,threadcreate}.pb.gz"
echo "The web UI on them: $(rel "$CPROF") web $(rel "$P").cpu.pb.gz   (then open the URL it prints)"
echo
if [[ $name == slow ]]; then
    cat <<EOF
What the profiles show, each pointing at a planted problem in
examples/filesearch/search_slow.c and search_planted.c (look for PLANTED):
  - regcomp high in the CPU profile's cumulative list: the pattern is compiled
    again for every file searched;
  - read_whole_file and split_lines on top of the allocations: every file read
    whole, then copied again into a line array;
  - planted_add_match in the mutex and block profiles: every match appended
    to one global list under one global lock;
  - search_file_thread in threadcreate: one new thread per file.
The fixed server has none of them: scripts/demo.sh $(rel "$BUILD") -fixed
docs/tutorial.md fixes them one at a time (-fix=threads,regex,lines,lock).
All profiles are in $(rel "$OUT")/; any of them opens in go tool pprof too.
EOF
fi
