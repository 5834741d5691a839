#!/usr/bin/env bash
# scripts/bench-sync.sh: the costs of the threads, mutex, block and wall-clock
# profiles (bench/bench_sync.c); prints Markdown for docs/performance.md.
#
#   scripts/bench-sync.sh [-n N] [-b BUILD_DIR] [--no-build]
#
#   -n N          rounds (default 7; env N)
#   -b BUILD_DIR  build directory (default <repo>/build-bench; env BUILD_DIR);
#                 configured if it has no CMakeCache.txt
#   --no-build    use the programs already in BUILD_DIR
#
# 1. Uncontended lock/unlock pair, one thread, ns per pair (the thread's CPU
#    time, median of 5 loops of 20M pairs per run): bare; libcprof preloaded
#    with no profile on; preloaded with the mutex and block profiles on
#    (fraction 1, rate 1). In a process with an idle second thread (what any
#    program with a mutex worth profiling is) and in a single-threaded one.
#    One round runs the three configurations in an order rotated each round;
#    the added cost is the median over rounds of (config - bare) in a round.
# 2. Contended: 4 threads, one mutex, 50 steps of arithmetic inside and
#    outside, 2 s: lock/unlock pairs per second, bare and with the mutex and
#    block profiles on; median over rounds.
# 3. Thread dump (cprof_threads_write to /dev/null, debug 0, 1, 2) with 100
#    and 1000 threads waiting on a condition variable, ms per dump: libcprof
#    preloaded with no profile on (cprof does not know they wait: /proc) and
#    with the block profile on (they are seen waiting in the wrapper).
# 4. Wall-clock profiler with 100 idle threads (condition wait) for 5 s: CPU
#    ms used by the whole process per second, bare and with the profiler at
#    100 Hz (the default) and 1000 Hz.
# 5. Wall-clock profiler with 2 computing threads for 3 s: they are found
#    running at every tick and asked for their stacks (stackask.c). The
#    threads' own CPU ns per step of work (what the signal handler costs
#    them) as a ratio to bare in the same round, and the CPU ms per second
#    of every other thread (cprof's ticker); bare, 100 Hz, 1000 Hz, and
#    1000 Hz with CPROF_CPU_ENGINE=timer (nothing asked: the ticker's own
#    cost without the questions).
set -euo pipefail

. "$(dirname "$0")/bench-lib.sh"
bench_args 30 "$@"
bench_build cprof bench_sync
bench=$build/bin/bench_sync
lib=$build/lib/libcprof.so
[ -x "$bench" ] && [ -e "$lib" ] || { log "$bench or $lib is missing"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-sync.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# run CONFIG ARGS...: one run of bench_sync; CONFIG is bare, off, on (mutex
# and block), wall100, wall1000. Prints its key=value output.
run() {
    local config=$1
    shift
    case $config in
    bare) "$bench" "$@" ;;
    off) LD_PRELOAD=$lib "$bench" "$@" ;;
    on) LD_PRELOAD=$lib CPROF_MUTEXPROFILE=$tmp/m.pb.gz CPROF_BLOCKPROFILE=$tmp/b.pb.gz \
        "$bench" "$@" 2>/dev/null ;;
    block) LD_PRELOAD=$lib CPROF_BLOCKPROFILE=$tmp/b.pb.gz "$bench" "$@" 2>/dev/null ;;
    wall100) LD_PRELOAD=$lib CPROF_WALLPROFILE=$tmp/w.pb.gz "$bench" "$@" 2>/dev/null ;;
    wall1000) LD_PRELOAD=$lib CPROF_WALLPROFILE=$tmp/w.pb.gz CPROF_WALLRATE=1000 \
        "$bench" "$@" 2>/dev/null ;;
    wall1000noask) CPROF_CPU_ENGINE=timer LD_PRELOAD=$lib CPROF_WALLPROFILE=$tmp/w.pb.gz \
        CPROF_WALLRATE=1000 "$bench" "$@" 2>/dev/null ;;
    esac
}

value() { sed -n "s/^$1=//p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))," \
    "Linux $(uname -r), $(ldd --version | head -1 | sed 's/^ldd //'); load average at start" \
    "$(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds."
echo

# ---- 1. Uncontended pair ----------------------------------------------------------
configs=(bare off on)
for threaded in 1 0; do
    : >"$tmp/pairs.tsv"
    for ((r = 0; r < rounds; r++)); do
        for ((i = 0; i < 3; i++)); do
            c=${configs[$(((i + r) % 3))]}
            echo "$r $c $(run "$c" uncontended -threaded=$threaded | value ns_per_pair)" >>"$tmp/pairs.tsv"
        done
        log "uncontended (threaded=$threaded) round $((r + 1))/$rounds"
    done
    for c in bare off on; do
        eval "med_$c=$(awk -v c=$c '$2 == c { print $3 }' "$tmp/pairs.tsv" | median)"
    done
    add_off=$(awk '{ v[$1, $2] = $3 } END { for (r = 0; (r, "bare") in v; r++) print v[r, "off"] - v[r, "bare"] }' "$tmp/pairs.tsv" | median)
    add_on=$(awk '{ v[$1, $2] = $3 } END { for (r = 0; (r, "bare") in v; r++) print v[r, "on"] - v[r, "bare"] }' "$tmp/pairs.tsv" | median)
    if [ $threaded = 1 ]; then
        echo "Uncontended lock/unlock pair, one thread looping, an idle second thread in the process (ns per pair, medians):"
    else
        echo "The same in a single-threaded process (glibc's non-atomic shortcut; cprof's own thread, started with any profile, ends it):"
    fi
    echo
    echo "| configuration | ns per pair | added over bare |"
    echo "|---|---|---|"
    printf '| bare | %.1f | |\n' "$med_bare"
    printf '| libcprof preloaded, profiles off | %.1f | %+.1f |\n' "$med_off" "$add_off"
    printf '| mutex + block profiles on | %.1f | %+.1f |\n' "$med_on" "$add_on"
    echo
done

# ---- 2. Contended throughput ----------------------------------------------------------
: >"$tmp/cont.tsv"
for ((r = 0; r < rounds; r++)); do
    for c in bare on; do
        echo "$c $(run $c contended -threads=4 -seconds=2 | value ops_per_sec)" >>"$tmp/cont.tsv"
    done
    log "contended round $((r + 1))/$rounds"
done
bare_ops=$(awk '$1 == "bare" { print $2 }' "$tmp/cont.tsv" | median)
on_ops=$(awk '$1 == "on" { print $2 }' "$tmp/cont.tsv" | median)
echo "Contended: 4 threads, one mutex, short critical sections (lock/unlock pairs per second, medians):"
echo
echo "| configuration | pairs/s | relative |"
echo "|---|---|---|"
printf '| bare | %.0f | 1.00 |\n' "$bare_ops"
printf '| mutex + block profiles on (every wait) | %.0f | %.2f |\n' "$on_ops" \
    "$(awk -v a="$on_ops" -v b="$bare_ops" 'BEGIN { print a / b }')"
echo

# ---- 3. Thread dumps ------------------------------------------------------------------------
echo "Thread dump, cprof_threads_write to /dev/null, threads waiting on a condition variable (ms per dump, median of 5):"
echo
echo "| threads | cprof watching waits | debug=0 (pprof) | debug=1 | debug=2 |"
echo "|---|---|---|---|---|"
for n in 100 1000; do
    for c in off block; do
        out=$(run $c dump -threads=$n -reps=5)
        printf '| %d | %s | %.1f | %.1f | %.1f |\n' "$n" \
            "$([ $c = off ] && echo "no (no profile on)" || echo "yes (block profile on)")" \
            "$(echo "$out" | value dump0_ms)" "$(echo "$out" | value dump1_ms)" \
            "$(echo "$out" | value dump2_ms)"
        log "dump $n threads ($c)"
    done
done
echo

# ---- 4. Wall-clock profiler with idle threads ---------------------------------------------------
: >"$tmp/idle.tsv"
idle_rounds=$((rounds < 3 ? rounds : 3))
for ((r = 0; r < idle_rounds; r++)); do
    for c in bare wall100 wall1000; do
        echo "$c $(run $c idle -threads=100 -seconds=5 | value cpu_ms_per_s)" >>"$tmp/idle.tsv"
    done
    log "idle round $((r + 1))/$idle_rounds"
done
echo "Wall-clock profiler, 100 idle threads (condition wait) for 5 s: CPU used by the process (ms per second, median of $idle_rounds):"
echo
echo "| configuration | CPU ms/s |"
echo "|---|---|"
for c in bare wall100 wall1000; do
    printf '| %s | %.2f |\n' \
        "$(case $c in bare) echo "bare" ;; wall100) echo "wall profile, 100 Hz" ;; wall1000) echo "wall profile, 1000 Hz" ;; esac)" \
        "$(awk -v c=$c '$1 == c { print $2 }' "$tmp/idle.tsv" | median)"
done
echo

# ---- 5. Wall-clock profiler with running threads --------------------------------------------------
: >"$tmp/busy.tsv"
busy_configs=(bare wall100 wall1000 wall1000noask)
for ((r = 0; r < rounds; r++)); do
    base=
    for c in "${busy_configs[@]}"; do
        out=$(run $c busy -threads=2 -seconds=3)
        step=$(echo "$out" | value ns_per_step)
        [ $c = bare ] && base=$step
        echo "$c $(awk -v a="$step" -v b="$base" 'BEGIN { print a / b }') $(echo "$out" | value other_cpu_ms_per_s)" >>"$tmp/busy.tsv"
    done
    log "busy round $((r + 1))/$rounds"
done
echo "Wall-clock profiler, 2 computing threads for 3 s (median of $rounds rounds):"
echo
echo "| configuration | CPU per step of work, ratio to bare | other threads' CPU, ms/s |"
echo "|---|---|---|"
for c in "${busy_configs[@]}"; do
    printf '| %s | %.3f | %.2f |\n' \
        "$(case $c in bare) echo "bare" ;; wall100) echo "wall profile, 100 Hz" ;; wall1000) echo "wall profile, 1000 Hz" ;; wall1000noask) echo "wall profile, 1000 Hz, running threads not asked" ;; esac)" \
        "$(awk -v c=$c '$1 == c { print $2 }' "$tmp/busy.tsv" | median)" \
        "$(awk -v c=$c '$1 == c { print $3 }' "$tmp/busy.tsv" | median)"
done
