#!/bin/bash
# bench-demo.sh [-n ROUNDS] [-d SECONDS] [-c CONNS] [-b BUILD_DIR]: the demo
# server, examples/filesearch, under the same load in several configurations,
# rounds alternating so that drift on a shared machine hits all alike:
#
#   slow            the server with its planted problems
#   fixed           the fixed server
#   fixed+trace     the fixed server with the execution tracer on (cprof run -trace)
#   fixed+flight    the fixed server with the flight recorder on (5s, 16MiB)
#   slow+trace      the slow server with the tracer (a thread per file: many events)
#
# Prints, per configuration, the median requests/s, p50/p99 latency and the
# server's CPU time per request, and the medians of per-round ratios to the
# baseline (fixed for the tracer rows, slow for fixed) of throughput and of CPU
# per request, as Markdown for docs/performance.md. CPU per request is the
# steadier measure of what a feature costs on a shared machine: throughput
# moves with whatever else runs, CPU time per request much less.
set -euo pipefail

ROUNDS=3
SECONDS_PER_RUN=6
CONNS=4
BUILD=build
while getopts "n:d:c:b:" opt; do
    case $opt in
    n) ROUNDS=$OPTARG ;;
    d) SECONDS_PER_RUN=$OPTARG ;;
    c) CONNS=$OPTARG ;;
    b) BUILD=$OPTARG ;;
    *) exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
CPROF=$BUILD/bin/cprof
SERVER=$BUILD/bin/filesearch
LOAD=$BUILD/bin/filesearch-load
PATHS=${DEMO_PATHS:-/usr/include/linux}
PATTERN='(define|enum) +[A-Z_]+_(MAX|MIN)\b'
OUT=$(mktemp -d /tmp/bench-demo.XXXXXX)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$OUT"' EXIT

configs=(slow fixed fixed+trace fixed+flight slow+trace)

run_one() { # CONFIG ROUND -> appends "reqs p50 p99" to $OUT/CONFIG
    local config=$1 round=$2 flags=() pre=()
    [[ $config == fixed* ]] && flags+=(-fixed)
    case $config in
    *+trace) pre=("$CPROF" run -trace="$OUT/trace-$round.cpt" --) ;;
    *+flight) pre=("$CPROF" run -flightrecorder=5s,16MiB --) ;;
    *) pre=("$CPROF" run --) ;; # the same preload in every row: only the feature differs
    esac
    # Emptied here, not by the redirection below: that happens in the
    # background child, possibly after the loop below has read the last
    # run's port from it.
    : >"$OUT/log"
    "${pre[@]}" "$SERVER" -port=0 "${flags[@]}" 2>"$OUT/log" &
    local pid=$! port=
    for _ in $(seq 100); do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$OUT/log")
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || { cat "$OUT/log" >&2; exit 1; }
    "$LOAD" -port="$port" -duration="${SECONDS_PER_RUN}s" -c="$CONNS" -pattern="$PATTERN" \
        -paths="$PATHS" >"$OUT/load" || echo "round $round $config: the load reported errors" >&2
    # The server's CPU time (user + system, in clock ticks): `cprof run`
    # forks it, so it is the child of $pid.
    local server ticks
    server=$(pgrep -P "$pid" -n || echo "$pid")
    ticks=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$server/stat" 2>/dev/null || echo 0)
    kill -INT "$pid"
    wait "$pid" || true
    awk -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" -v secs="$SECONDS_PER_RUN" '
         /requests:/ { for (i = 1; i <= NF; i++) if ($i == "requests/s,") r = $(i - 1);
                       if (!r) for (i = 1; i <= NF; i++) if ($i ~ /requests\/s/) r = $(i - 1) }
         /latency:/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i + 1); if ($i == "p99") p99 = $(i + 1) } }
         END { gsub(/,/, "", r); printf "%s %s %s %.3f\n", r, p50, p99, (r > 0 ? 1000 * ticks / hz / (r * secs) : 0) }' \
        "$OUT/load" >>"$OUT/$config"
}

for round in $(seq "$ROUNDS"); do
    order=("${configs[@]}")
    (( round % 2 == 0 )) && order=($(printf '%s\n' "${configs[@]}" | tac))
    for config in "${order[@]}"; do
        run_one "$config" "$round"
        echo "round $round $config: $(tail -1 "$OUT/$config")" >&2
    done
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratios() { # A B: median over rounds of reqs(A)/reqs(B)
    paste -d' ' "$OUT/$1" "$OUT/$2" | awk '{ print $1 / $5 }' | median
}
cpu_ratios() { # A B: median over rounds of cpu-per-request(A)/cpu-per-request(B)
    paste -d' ' "$OUT/$1" "$OUT/$2" | awk '$8 > 0 { print $4 / $8 }' | median
}

echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
echo "Load: filesearch-load -c=$CONNS for ${SECONDS_PER_RUN}s over $PATHS, $ROUNDS rounds alternated"
echo
echo "| configuration | requests/s (median) | p50 | p99 | server CPU per request | throughput vs baseline (median of rounds) | CPU per request vs baseline (median of rounds) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for config in "${configs[@]}"; do
    r=$(cut -d' ' -f1 "$OUT/$config" | median)
    p50=$(cut -d' ' -f2 "$OUT/$config" | sed 's/ms//' | median)
    p99=$(cut -d' ' -f3 "$OUT/$config" | sed 's/ms//' | median)
    case $config in
    fixed) base=slow ;;
    fixed+*) base=fixed ;;
    slow+*) base=slow ;;
    *) base= ;;
    esac
    cpu=$(cut -d' ' -f4 "$OUT/$config" | median)
    rel=— cpu_rel=—
    [[ -n $base ]] && rel="$(ratios "$config" "$base") × $base" &&
        cpu_rel="$(cpu_ratios "$config" "$base") × $base"
    echo "| $config | $r | ${p50} ms | ${p99} ms | ${cpu} ms | $rel | $cpu_rel |"
done
