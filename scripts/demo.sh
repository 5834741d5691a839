#!/bin/bash
# demo.sh BUILD_DIR [SERVER FLAGS...]: the README's main job. Profiles the
# demo server, examples/filesearch, with no change to its code:
#
#   1. starts it under `cprof run -cpuprofile=out/cpu.pb.gz`,
#   2. puts load on it with filesearch-load (searches over /usr/include),
#   3. stops it with SIGINT, which writes the profile,
#   4. prints the load's results and `cprof top`, flat and cumulative.
#
# Server flags are passed on: `scripts/demo.sh build -fixed` profiles the fixed
# server into out/cpu-fixed.pb.gz, to compare. Settings, from the environment:
#   DEMO_PATHS     what the searches look in (default /usr/include; comma-separated)
#   DEMO_DURATION  how long the load runs (default 10s)
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
PATHS=${DEMO_PATHS:-/usr/include}
DURATION=${DEMO_DURATION:-10s}
CONNS=${DEMO_CONNS:-4}
# Functions that return a pointer to a struct.
PATTERN='^(extern |static )?(const )?struct [a-z_][a-z0-9_]{0,31} ?\*+ ?[a-z_][a-z0-9_]{0,31} ?\('

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

name=cpu
[[ " $* " == *" -fixed "* ]] && name=cpu-fixed
mkdir -p "$OUT"
PROFILE=$OUT/$name.pb.gz
LOG=$OUT/$name.server.log
rm -f "$PROFILE"
: >"$LOG"

# cprof run passes a SIGINT or SIGTERM sent to it on to the program.
RUN_PID=
cleanup() {
    if [[ -n $RUN_PID ]] && kill -0 "$RUN_PID" 2>/dev/null; then
        kill -TERM "$RUN_PID" 2>/dev/null || true
        sleep 1
        pkill -KILL -P "$RUN_PID" 2>/dev/null || true
        kill -KILL "$RUN_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting: cprof run -cpuprofile=${PROFILE#"$ROOT"/} -- filesearch -port=0 $*"
"$CPROF" run -cpuprofile="$PROFILE" -- "$SERVER" -port=0 "$@" 2>"$LOG" &
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

echo "== load: $CONNS connections for $DURATION, searching $PATHS for"
echo "   $PATTERN"
"$LOAD" -port="$PORT" -duration="$DURATION" -c="$CONNS" -pattern="$PATTERN" -paths="$PATHS" |
    tee "$OUT/$name.load.txt" || {
    echo "demo: the load had errors" >&2
    exit 1
}

echo "== stopping the server (SIGINT): the profile is written"
kill -INT "$RUN_PID"
status=0
wait "$RUN_PID" || status=$?
RUN_PID=
sed 's/^/   /' "$LOG"
if [[ $status != 0 || ! -s $PROFILE ]]; then
    echo "demo: the server exited with status $status, profile ${PROFILE#"$ROOT"/} $([[ -s $PROFILE ]] && echo written || echo missing)" >&2
    exit 1
fi

echo
echo "== cprof top -n 15 ${PROFILE#"$ROOT"/}"
"$CPROF" top -n 15 "$PROFILE"
echo
echo "== cprof top -cum -n 15 ${PROFILE#"$ROOT"/}"
"$CPROF" top -cum -n 15 "$PROFILE"
echo
if [[ $name == cpu ]]; then
    echo "regcomp near the top of the cumulative list is the planted problem: the pattern is"
    echo "compiled again for every file (examples/filesearch/search_slow.c). Compare with the"
    echo "fixed server: scripts/demo.sh ${BUILD#"$ROOT"/} -fixed"
fi
