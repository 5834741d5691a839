#!/bin/bash
# bench-demo-instructions.sh [-d SECONDS] [-b BUILD_DIR]: what the execution
# tracer and the flight recorder cost the demo server, counted in
# instructions rather than timed.
#
# On a shared machine the throughput of the demo server (bench-demo.sh) moves
# by ±12% from round to round, far more than the 5% (tracer) and 2% (flight
# recorder) the issues allow, so timing alone cannot show those targets. This
# counts the instructions the fixed server executes per request under
# valgrind's callgrind, which does not depend on what else runs: libcprof
# preloaded with nothing on (the baseline, as in bench-demo.sh), with the
# tracer writing a file, and with the flight recorder (5 s, 16 MiB). Each is
# run twice while filesearch-load sends requests on one connection, for
# SHORT (10) and SECONDS (default 40) seconds (callgrind runs the server
# ~50x slower); instructions per request are the difference of the two
# runs' totals over the difference of their requests, so that startup and
# exit cancel out. Instructions are not time: they leave out the
# kernel's work (the trace's write calls) and cache effects, which the
# tracer's per-event benchmark (bench-trace.sh) times directly.
set -euo pipefail

SECONDS_PER_RUN=40
SHORT=10
BUILD=build
while getopts "d:b:" opt; do
    case $opt in
    d) SECONDS_PER_RUN=$OPTARG ;;
    b) BUILD=$OPTARG ;;
    *) exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "bench-demo-instructions: valgrind is not installed" >&2; exit 1; }
BUILD=$(cd "$BUILD" && pwd)
LIB=$BUILD/lib/libcprof.so
SERVER=$BUILD/bin/filesearch
LOAD=$BUILD/bin/filesearch-load
PATHS=${DEMO_PATHS:-/usr/include/linux}
PATTERN='(define|enum) +[A-Z_]+_(MAX|MIN)\b'
OUT=$(mktemp -d /tmp/bench-demo-ir.XXXXXX)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$OUT"' EXIT

run_one() { # CONFIG SECONDS -> prints "requests instructions" for the whole run
    local config=$1 secs=$2 env=()
    case $config in
    trace) env=(CPROF_TRACE="$OUT/trace.cpt") ;;
    flight) env=(CPROF_FLIGHTRECORDER=5s,16MiB) ;;
    esac
    # Emptied here, not by the redirection below: that happens in the
    # background child, possibly after the loop below has read the last
    # run's port from it.
    : >"$OUT/log"
    env "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$config" \
        --trace-children=no "$SERVER" -fixed -port=0 2>"$OUT/log" &
    local pid=$! port=
    for _ in $(seq 600); do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$OUT/log")
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || { cat "$OUT/log" >&2; exit 1; }
    "$LOAD" -port="$port" -duration="${secs}s" -c=1 -pattern="$PATTERN" -paths="$PATHS" >"$OUT/load"
    kill -INT "$pid"
    wait "$pid" || true
    echo "$(awk '/requests:/ { print $2 }' "$OUT/load") $(awk '/^(summary|totals):/ { print $2; exit }' "$OUT/cg.$config")"
}

echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
echo "The fixed server under callgrind, one connection, runs of $SHORT s and $SECONDS_PER_RUN s over $PATHS"
echo
echo "| configuration | requests (short, long run) | instructions per request | vs baseline |"
echo "| --- | --- | --- | --- |"
base=
for config in baseline trace flight; do
    LD_PRELOAD=$LIB run_one $config "$SHORT" >"$OUT/short"
    LD_PRELOAD=$LIB run_one $config "$SECONDS_PER_RUN" >"$OUT/long"
    read -r r1 i1 <"$OUT/short"
    read -r r2 i2 <"$OUT/long"
    per=$(awk -v a="$i1" -v b="$i2" -v x="$r1" -v y="$r2" 'BEGIN { printf "%.0f", (b - a) / (y - x) }')
    [[ -z $base ]] && base=$per
    echo "| $config | $r1, $r2 | $per | $(awk -v p="$per" -v b="$base" 'BEGIN { printf "%.4f", p / b }') |"
done
