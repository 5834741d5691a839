#!/usr/bin/env bash
# scripts/bench-flight.sh: what the flight recorder costs; prints Markdown for
# docs/performance.md ("## Flight recorder").
#
#   scripts/bench-flight.sh [-b BUILD_DIR] [--no-build] [-r ROUNDS] [-n DEMO_ROUNDS]
#                           [-d DEMO_SECONDS] [--no-demo]
#
#   -b BUILD_DIR    build directory (default <repo>/build-bench; env BUILD_DIR);
#                   configured if it has no CMakeCache.txt
#   --no-build      use the programs already in BUILD_DIR
#   -r ROUNDS       snapshots timed per size (default 5)
#   -n, -d          rounds and seconds per run of scripts/bench-demo.sh (3, 6)
#   --no-demo       skip the demo server under load (the longest part)
#
# 1. Snapshot time (bench/bench_flight.c): the ring filled to max_bytes (16 MiB,
#    and 1 MiB for the part that does not depend on size) by 2 threads in tight
#    region loops, then cprof_flight_write timed ROUNDS times: the median.
# 2. Resident memory: VmRSS before cprof_flight_start, after it, with the ring
#    full (the threads still writing) and after a snapshot, for 4, 16, 64 MiB.
#    Each size in a process of its own.
# 3. Always-on cost, measured: scripts/bench-demo.sh, the filesearch demo under
#    load, whose "fixed+flight" row runs `cprof run -flightrecorder=5s,16MiB`,
#    alternated with "fixed" (the same preload without the recorder).
# 4. Always-on cost, predicted (robust to a loaded machine): the recorder's CPU
#    per event on the emitting thread (bench_flight event: thread CPU time,
#    recorder off/on), times the events the fixed demo server records per
#    request (a -trace run under load, counted by `cprof trace summary`),
#    over the server's CPU per request (utime + stime of a run without it).
# The load average is printed before and after each part: on a shared machine
# it says how far to trust the figures.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build-bench}
do_build=1
rounds=5
demo_rounds=3
demo_seconds=6
demo=1
while [ $# -gt 0 ]; do
    case $1 in
    -b) build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -r) rounds=$2; shift 2 ;;
    -n) demo_rounds=$2; shift 2 ;;
    -d) demo_seconds=$2; shift 2 ;;
    --no-demo) demo=0; shift ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-flight.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
for v in "$rounds" "$demo_rounds" "$demo_seconds"; do
    case $v in '' | *[!0-9]* | 0) echo "bench-flight.sh: -r, -n and -d want positive integers" >&2; exit 2 ;; esac
done

log() { echo "bench-flight.sh: $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

if [ $do_build = 1 ]; then
    if [ ! -f "$build/CMakeCache.txt" ]; then
        log "configuring $build"
        cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    log "building in $build"
    cmake --build "$build" -j"$(nproc)" --target cprof cprof_tool filesearch filesearch-load \
        bench_flight >/dev/null
fi
bench=$build/bin/bench_flight
[ -x "$bench" ] || { log "no $bench (build it, or drop --no-build)"; exit 1; }

out=$(mktemp -d /tmp/bench-flight.XXXXXX)
server=""
trap '[ -z "$server" ] || kill -INT "$server" 2>/dev/null; wait; rm -rf "$out"' EXIT
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# ---- 1. Snapshot time ----------------------------------------------------------
load_snap_before=$(load)
for mib in 1 16; do
    log "snapshot of a full ${mib} MiB ring, $rounds rounds"
    "$bench" snapshot "$mib" "$rounds" "$out" >"$out/snap-$mib" 2>"$out/snap-$mib.err" ||
        { cat "$out/snap-$mib.err" >&2; exit 1; }
done
load_snap_after=$(load)

# ---- 2. Resident memory ----------------------------------------------------------
load_rss_before=$(load)
for mib in 4 16 64; do
    log "VmRSS with a ${mib} MiB ring"
    OUT=$out "$bench" rss "$mib" >"$out/rss-$mib" 2>"$out/rss-$mib.err" ||
        { cat "$out/rss-$mib.err" >&2; exit 1; }
done
load_rss_after=$(load)

# ---- 3. The demo under load ----------------------------------------------------------
if [ $demo = 1 ]; then
    load_demo_before=$(load)
    log "scripts/bench-demo.sh -n $demo_rounds -d $demo_seconds (5 configurations per round)"
    demo_status=0
    bash -x "$here/scripts/bench-demo.sh" -b "$build" -n "$demo_rounds" -d "$demo_seconds" \
        >"$out/demo" 2>"$out/demo.err" || demo_status=$?
    grep '^round ' "$out/demo.err" >&2 || true
    if [ $demo_status != 0 ]; then
        log "scripts/bench-demo.sh failed (status $demo_status); its last commands:"
        grep '^+' "$out/demo.err" | tail -15 >&2
    fi
    load_demo_after=$(load)
fi

# ---- 4. Per-event cost, events and CPU per request ------------------------------------
load_event_before=$(load)
log "CPU per event, recorder off and on, $rounds rounds"
"$bench" event "$rounds" >"$out/event" 2>"$out/event.err" || { cat "$out/event.err" >&2; exit 1; }
load_event_after=$(load)
if [ $demo = 1 ]; then
    demo_run() { # NAME CPROF-RUN-FLAGS...: the fixed server under load; $out/NAME.{load,cpu}
        local name=$1 run port='' spid
        shift
        : >"$out/$name.log"
        "$build/bin/cprof" run "$@" -- "$build/bin/filesearch" -port=0 -fixed 2>>"$out/$name.log" &
        run=$!
        server=$run
        for _ in $(seq 200); do
            port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$out/$name.log")
            [ -n "$port" ] && break
            sleep 0.1
        done
        [ -n "$port" ] || { cat "$out/$name.log" >&2; exit 1; }
        "$build/bin/filesearch-load" -port="$port" -duration="${demo_seconds}s" -c=4 \
            -pattern='(define|enum) +[A-Z_]+_(MAX|MIN)\b' -paths=/usr/include/linux >"$out/$name.load"
        spid=$(pgrep -P "$run" | head -1)
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' \
            "/proc/$spid/stat" >"$out/$name.cpu"
        kill -INT "$run"
        wait "$run" || true
        server=""
    }
    log "events per request (fixed server, -trace) and CPU per request (without)"
    demo_run traced -trace="$out/demo.cpt"
    demo_run plain
    "$build/bin/cprof" trace summary "$out/demo.cpt" >"$out/demo.sum" 2>/dev/null || true
fi

# ---- Markdown ------------------------------------------------------------------------
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "**Machine:** $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"
echo "Linux $(uname -r). Commit $commit (with uncommitted changes in the tree: $(git -C "$here" status --short 2>/dev/null | wc -l) files), $(date +%F)."
echo
echo "### Snapshot time"
echo
echo "Load average (1, 5, 15 min) before: $load_snap_before; after: $load_snap_after."
echo
echo "| max_bytes | snapshot file | cprof_flight_write, median of $rounds | min | max |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for mib in 1 16; do
    f=$out/snap-$mib
    echo "| $mib MiB | $(awk -v b="$(kv "$f" snapshot_bytes)" 'BEGIN { printf "%.1f MiB", b / 1048576 }') |" \
        "$(kv "$f" median_ms) ms | $(kv "$f" min_ms) ms | $(kv "$f" max_ms) ms |"
done
echo
echo "### Resident memory"
echo
echo "Load average before: $load_rss_before; after: $load_rss_after."
echo
echo "| max_bytes | VmRSS before start | after start | ring full | after a snapshot | full − before | ÷ max_bytes | snapshot file |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for mib in 4 16 64; do
    f=$out/rss-$mib
    b=$(kv "$f" rss_before_kib) s=$(kv "$f" rss_started_kib) full=$(kv "$f" rss_filled_kib)
    a=$(kv "$f" rss_after_snapshot_kib) size=$(kv "$f" snapshot_bytes)
    awk -v m="$mib" -v b="$b" -v s="$s" -v f="$full" -v a="$a" -v z="$size" 'BEGIN {
        printf "| %d MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.2f | %.1f MiB |\n",
            m, b / 1024, s / 1024, f / 1024, a / 1024, (f - b) / 1024, (f - b) / 1024 / m, z / 1048576 }'
done
echo
echo "### CPU per event on the emitting thread"
echo
echo "Load average before: $load_event_before; after: $load_event_after."
echo
echo "| pair of events | recorder off | recorder on (16 MiB) | on, with a trigger on the name |"
echo "| --- | ---: | ---: | ---: |"
echo "| region begin + end | $(kv "$out/event" region_off_ns) ns | $(kv "$out/event" region_on_ns) ns | $(kv "$out/event" region_on_trigger_ns) ns |"
echo "| task begin + end | – | – | $(kv "$out/event" task_on_trigger_ns) ns |"
if [ $demo = 1 ]; then
    reqs() { sed -n 's/^requests: *\([0-9]*\) ok.*/\1/p' "$1"; }
    events=$(sed -n 's/.*events: \([0-9]*\) read.*/\1/p' "$out/demo.sum")
    echo
    echo "### Always-on cost, predicted from the cost per event"
    echo
    awk -v ev="${events:-0}" -v rt="$(reqs "$out/traced.load")" -v rp="$(reqs "$out/plain.load")" \
        -v cpu="$(cat "$out/plain.cpu")" -v pair="$(kv "$out/event" region_on_ns)" 'BEGIN {
        epr = rt ? ev / rt : 0; cpr = rp ? cpu * 1e9 / rp : 0
        printf "The fixed server records %.0f events per request (%d events for %d requests, `-trace`)", epr, ev, rt
        printf " and uses %.2f ms of CPU per request (%.2f s for %d requests, without).", cpr / 1e6, cpu, rp
        printf " At %.1f ns per event (half a region pair, recorder on), the recorder adds", pair / 2
        printf " %.0f us per request on the threads that emit: **%.2f%%** of its CPU.\n", epr * pair / 2 / 1e3, cpr ? 100 * epr * pair / 2 / cpr : 0 }'
fi
if [ $demo = 1 ]; then
    echo
    echo "### Always-on cost: the demo under load"
    echo
    echo "Load average before: $load_demo_before; after: $load_demo_after."
    echo
    if [ $demo_status = 0 ]; then
        cat "$out/demo"
        echo
        echo "Per round, fixed+flight ÷ fixed (requests/s):" "$(awk '
            / fixed\+flight:/ { f[$2] = $4 } / fixed:/ { b[$2] = $4 }
            END { for (r = 1; (r "") in f; r++) printf "%s%.2f", (r > 1 ? ", " : ""), (b[r] ? f[r] / b[r] : 0) }' \
            "$out/demo.err")."
    else
        echo "scripts/bench-demo.sh failed (status $demo_status): see the messages above."
    fi
fi
