#!/usr/bin/env bash
# scripts/bench-heap.sh: the heap profiler's and leak checker's benchmarks;
# prints Markdown for docs/performance.md ("## Heap profiling").
#
#   scripts/bench-heap.sh [-n N] [-b BUILD_DIR] [--no-build] [-o OUT_DIR] [PART...]
#
# PART: mt, pair, leak (default: all three), ir (only when named: slow).
#   -n N          rounds (default 7; env N)
#   -b BUILD_DIR  build directory (default <repo>/build-bench; env BUILD_DIR);
#                 configured if it has no CMakeCache.txt
#   --no-build    use the programs already in BUILD_DIR
#   -o OUT_DIR    keep the raw results and profiles there (default: a temp dir, removed)
# Workload size (env): THREADS=2 OPS=2000000 LIVE=1024 (mt, per thread);
# PAIRS=20000000 (pair; a tenth of it at rate 1); LEAK_OPS=200000 (leak, per thread).
# COMPARE=0 leaves heaptrack and gperftools out of mt (they take most of its
# time): for more rounds of the cprof rows alone.
#
# mt:   bench/bench_heap.c's malloc-heavy workload (THREADS threads, random
#       sizes 16..4096, LIVE blocks live per thread) bare; with libcprof
#       preloaded but no profile on; under `cprof run -memprofile` at the
#       default rate (512 KiB); under heaptrack (`heaptrack -o FILE`); under
#       gperftools' heap profiler (LD_PRELOAD=libtcmalloc.so.4, HEAPPROFILE)
#       and, to tell its allocator from its profiler, under tcmalloc alone.
#       One round runs every configuration once, in an order shuffled each
#       round; ratios to bare are taken within a round, then the median over
#       rounds, with the ~95% interval of that median (1.58 IQR / sqrt(N)).
#       CPU s is the workload's own (getrusage over its work: threads
#       started to joined); end-to-end wall is process start to exit
#       (profile writing, heaptrack's interpreter process included).
# pair: one thread, malloc(32)/free in a loop: ns per pair (CPU time) bare,
#       preloaded with the heap profiler off, at the default rate, at rate 1.
#       Added cost = (ns - bare ns) per round, median.
# leak: bench_heap mt with LEAK_OPS operations per thread (it drops 1 block
#       in 64 of its first allocations: definite leaks) bare, under
#       `cprof run -leakcheck`, and under `valgrind --leak-check=full`: end to
#       end wall time, leak check included, and the definitely lost blocks
#       each reports.
# ir:   deterministic counts, for costs too small for the noise of timing:
#       bench_heap pair (IR_PAIRS=200000) and mt (THREADS threads, IR_OPS=200000
#       each) under valgrind --tool=callgrind --cache-sim=yes, counting only
#       the work loop (--toggle-collect), bare, preloaded with profiling off
#       and at the default rate: instructions, simulated L1d read misses and
#       last-level read and write misses per operation (one malloc/free
#       pair), and the instructions spent in libcprof's own code. Simulated caches (IR_CACHES):
#       L1d 48 KiB 12-way, LL 2 MiB 16-way, a core's L1d and L2 on the machine
#       of docs/performance.md (callgrind's LL stands for the L2 here: its
#       model has two levels). valgrind runs threads one at a time, so mt
#       counts the work, not contention; which glibc arena a thread gets
#       depends on that schedule, and moves mt's LL write misses by ~30%.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${N:-7}
build=${BUILD_DIR:-$here/build-bench}
do_build=1
out=""
parts=()
while [ $# -gt 0 ]; do
    case $1 in
    -n) rounds=$2; shift 2 ;;
    -n=*) rounds=${1#-n=}; shift ;;
    -b) build=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h | --help) sed -n '2,49p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    mt | pair | leak | ir) parts+=("$1"); shift ;;
    *) echo "bench-heap.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[ ${#parts[@]} -gt 0 ] || parts=(mt pair leak)
case $rounds in '' | *[!0-9]* | 0) echo "bench-heap.sh: -n wants a positive integer" >&2; exit 2 ;; esac

threads=${THREADS:-2}
ops=${OPS:-2000000}
live=${LIVE:-1024}
pairs=${PAIRS:-20000000}
leak_ops=${LEAK_OPS:-200000}
tcmalloc=${TCMALLOC_LIB:-/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4}

log() { echo "bench-heap.sh: $*" >&2; }

# ---- Build ----------------------------------------------------------------------------

if [ $do_build = 1 ]; then
    if [ ! -f "$build/CMakeCache.txt" ]; then
        log "configuring $build"
        cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCPROF_BUILD_EXAMPLES=OFF -DCPROF_BUILD_TESTS=OFF >/dev/null
    fi
    log "building in $build"
    cmake --build "$build" -j"$(nproc)" --target cprof cprof_tool bench_heap >/dev/null
fi
bin=$build/bin
for p in cprof bench_heap; do
    [ -x "$bin/$p" ] || { log "$bin/$p is missing (build it, or drop --no-build)"; exit 1; }
done
lib=$(ls "$build"/lib/libcprof.so 2>/dev/null) || { log "no libcprof.so in $build/lib"; exit 1; }

if [ -n "$out" ]; then
    mkdir -p "$out"
    work=$(cd "$out" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-heap.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/profiles"
have_heaptrack=0
command -v heaptrack >/dev/null && have_heaptrack=1
[ $have_heaptrack = 1 ] || log "heaptrack not found: its row is skipped"
have_gperf=0
[ -r "$tcmalloc" ] && have_gperf=1
[ $have_gperf = 1 ] || log "$tcmalloc not found: gperftools rows skipped"
have_valgrind=0
command -v valgrind >/dev/null && have_valgrind=1
[ $have_valgrind = 1 ] || log "valgrind not found: the leak part compares with nothing"

machine() {
    local model
    model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "$(nproc) CPUs, ${model:-unknown CPU}, Linux $(uname -r), load average at start" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
}

now_ns() { date +%s%N; }

# shuffled N SEED: 0..N-1 in a seeded random order (the same on every run).
shuffled() {
    awk -v n="$1" -v seed="$2" 'BEGIN {
        srand(seed); for (i = 0; i < n; i++) a[i] = i
        for (i = n - 1; i > 0; i--) { j = int(rand() * (i + 1)); t = a[i]; a[i] = a[j]; a[j] = t }
        for (i = 0; i < n; i++) printf "%d ", a[i] }'
}

# field LINE KEY: the value of KEY=value in LINE.
field() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# Median and ~95% interval of a median, over the values of column $2 of
# the rows of $1 (a TSV) whose column 1 is $3.
# Prints "median halfwidth".
stats() {
    awk -F'\t' -v want="$2" '$1 == want { v[++n] = $3 }
    function med(b, m) { return m % 2 ? b[(m + 1) / 2] : (b[m / 2] + b[m / 2 + 1]) / 2 }
    END {
        if (!n) { print "NA NA"; exit }
        for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
        h = int(n / 2)
        for (i = 1; i <= h; i++) { lo[i] = v[i]; hi[i] = v[n - h + i] }
        ci = n >= 4 ? 1.58 * (med(hi, h) - med(lo, h)) / sqrt(n) : 0
        printf "%.6g %.6g\n", med(v, n), ci
    }' "$1"
}

# ---- mt: CPU cost on a malloc-heavy multi-threaded workload --------------------------------

# run_mt CFG ROUND: one run; appends "cfg<TAB>round<TAB>cpu<TAB>wall<TAB>e2e" to mt.tsv.
run_mt() {
    local cfg=$1 r=$2 t0 t1 line
    local prog=("$bin/bench_heap" mt "$threads" "$ops" "$live")
    local prof=$work/profiles/mt-$cfg-r$r
    t0=$(now_ns)
    case $cfg in
    bare | bare2) line=$("${prog[@]}") ;;
    preload) line=$(LD_PRELOAD=$lib "${prog[@]}") ;;
    cprof) line=$("$bin/cprof" run -memprofile="$prof.pb.gz" -- "${prog[@]}" 2>>"$work/stderr.log") ;;
    heaptrack) line=$(heaptrack -o "$prof.heaptrack" "${prog[@]}" 2>>"$work/stderr.log" | grep cpu_s=) ;;
    tcmalloc) line=$(LD_PRELOAD=$tcmalloc "${prog[@]}") ;;
    gperf) line=$(HEAPPROFILE=$prof LD_PRELOAD=$tcmalloc "${prog[@]}" 2>>"$work/stderr.log") ;;
    esac
    t1=$(now_ns)
    printf '%s\t%s\t%s\t%s\t%s\n' "$cfg" "$r" "$(field "$line" cpu_s)" "$(field "$line" wall_s)" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')" >>"$work/mt.tsv"
}

bench_mt() {
    local configs=(bare bare2 preload cprof)
    if [ "${COMPARE:-1}" != 0 ]; then
        [ $have_heaptrack = 1 ] && configs+=(heaptrack)
        [ $have_gperf = 1 ] && configs+=(tcmalloc gperf)
    fi
    local nc=${#configs[@]} r i
    : >"$work/mt.tsv"
    log "mt: $rounds rounds x $nc configurations ($threads threads x $ops operations)"
    for ((r = 1; r <= rounds; r++)); do
        for i in $(shuffled "$nc" "$r"); do
            run_mt "${configs[$i]}" "$r"
        done
        log "mt: round $r/$rounds done"
    done
    # Ratios within each round.
    awk -F'\t' '{ cpu[$2, $1] = $3; e2e[$2, $1] = $5; rows[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(rows[i], f, "\t")
            printf "%s\t%s\t%.6f\n", f[1], "cpu", f[3] / cpu[f[2], "bare"] > "/dev/stdout"
            printf "%s\t%s\t%.6f\n", f[1], "e2e", f[5] / e2e[f[2], "bare"] > "/dev/stdout" } }' \
        "$work/mt.tsv" >"$work/mt-ratios.tsv"
    echo "### CPU cost on a malloc-heavy workload"
    echo
    echo "Workload: \`bench_heap mt $threads $ops $live\`: $threads threads, each $ops malloc/free" \
        "pairs of random sizes 16..4096 bytes with $live blocks live per thread. $rounds rounds," \
        "configurations shuffled in each. CPU s: the workload's own over its work (median)." \
        "Ratios: median over rounds of (run ÷ bare run of the same round), ± the ~95% interval" \
        "of the median. End-to-end: process start to exit, profile writing included."
    echo
    echo "| configuration | CPU s | CPU ratio | end-to-end wall ratio |"
    echo "|---|---:|---:|---:|"
    local cfg label cpu rc rci re rei
    for cfg in "${configs[@]}"; do
        case $cfg in
        bare) label="none (glibc malloc)" ;;
        bare2) label="none, again (A/A: the noise)" ;;
        preload) label="libcprof preloaded, no profile on" ;;
        cprof) label="**cprof -memprofile, default rate (512 KiB)**" ;;
        heaptrack) label="heaptrack" ;;
        tcmalloc) label="tcmalloc alone (another allocator, no profile)" ;;
        gperf) label="gperftools heap profiler (tcmalloc + HEAPPROFILE)" ;;
        esac
        awk -F'\t' '{ print $1 "\tx\t" $3 }' "$work/mt.tsv" >"$work/tmp.tsv"
        read -r cpu _ < <(stats "$work/tmp.tsv" "$cfg")
        awk -F'\t' '$2 == "cpu"' "$work/mt-ratios.tsv" >"$work/tmp.tsv"
        read -r rc rci < <(stats "$work/tmp.tsv" "$cfg")
        awk -F'\t' '$2 == "e2e"' "$work/mt-ratios.tsv" >"$work/tmp.tsv"
        read -r re rei < <(stats "$work/tmp.tsv" "$cfg")
        printf '| %s | %.3f | %.3f ± %.3f | %.2f ± %.2f |\n' "$label" "$cpu" "$rc" "$rci" "$re" "$rei"
    done
    echo
}

# ---- pair: the added cost of an unsampled malloc/free pair ------------------------------------

bench_pair() {
    local configs=(bare preload cprof rate1) nc=4 r i cfg line n
    : >"$work/pair.tsv"
    log "pair: $rounds rounds x $nc configurations ($pairs pairs)"
    for ((r = 1; r <= rounds; r++)); do
        for i in $(shuffled $nc "$((r + 100))"); do
            cfg=${configs[$i]}
            n=$pairs
            case $cfg in
            bare) line=$("$bin/bench_heap" pair "$n") ;;
            preload) line=$(LD_PRELOAD=$lib "$bin/bench_heap" pair "$n") ;;
            cprof) line=$(CPROF_MEMPROFILE="$work/profiles/pair-r$r.pb.gz" LD_PRELOAD=$lib \
                "$bin/bench_heap" pair "$n" 2>>"$work/stderr.log") ;;
            rate1)
                n=$((pairs / 10))
                line=$(CPROF_MEMPROFILE="$work/profiles/pair1-r$r.pb.gz" CPROF_MEMPROFILERATE=1 \
                    LD_PRELOAD=$lib "$bin/bench_heap" pair "$n" 2>>"$work/stderr.log") ;;
            esac
            printf '%s\t%s\t%s\n' "$cfg" "$r" "$(field "$line" ns_per_op)" >>"$work/pair.tsv"
        done
    done
    awk -F'\t' '{ ns[$2, $1] = $3; rows[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(rows[i], f, "\t")
            printf "%s\tx\t%.4f\n", f[1], f[3] - ns[f[2], "bare"] } }' "$work/pair.tsv" >"$work/pair-added.tsv"
    echo "### The cost of one malloc/free pair"
    echo
    echo "\`bench_heap pair $pairs\` (one thread, \`malloc(32)\` then \`free\`, CPU time per pair;" \
        "$((pairs / 10)) pairs at rate 1). Added: median over $rounds rounds of (ns − bare ns of" \
        "the same round), ± the ~95% interval of the median."
    echo
    echo "| configuration | ns per pair | added ns per pair |"
    echo "|---|---:|---:|"
    local label ns a ai
    for cfg in "${configs[@]}"; do
        case $cfg in
        bare) label="none (glibc malloc)" ;;
        preload) label="libcprof preloaded, heap profiling off" ;;
        cprof) label="**heap profiling at the default rate (unsampled pairs)**" ;;
        rate1) label="heap profiling at rate 1 (every pair sampled)" ;;
        esac
        awk -F'\t' '{ print $1 "\tx\t" $3 }' "$work/pair.tsv" >"$work/tmp.tsv"
        read -r ns _ < <(stats "$work/tmp.tsv" "$cfg")
        read -r a ai < <(stats "$work/pair-added.tsv" "$cfg")
        if [ "$cfg" = bare ]; then
            printf '| %s | %.1f | – |\n' "$label" "$ns"
        else
            printf '| %s | %.1f | %.1f ± %.1f |\n' "$label" "$ns" "$a" "$ai"
        fi
    done
    echo
}

# ---- leak: leak checking against valgrind memcheck ------------------------------------------------

bench_leak() {
    local configs=(bare cprof) r i cfg t0 t1 lost
    [ $have_valgrind = 1 ] && configs+=(valgrind)
    local nc=${#configs[@]}
    local prog=("$bin/bench_heap" mt "$threads" "$leak_ops" "$live")
    : >"$work/leak.tsv"
    log "leak: $rounds rounds x $nc configurations ($threads threads x $leak_ops operations)"
    for ((r = 1; r <= rounds; r++)); do
        for i in $(shuffled "$nc" "$((r + 200))"); do
            cfg=${configs[$i]}
            lost="–"
            t0=$(now_ns)
            case $cfg in
            bare) "${prog[@]}" >/dev/null ;;
            cprof)
                "$bin/cprof" run -leakcheck -- "${prog[@]}" >/dev/null 2>"$work/leak-cprof.log" || true
                lost=$(sed -n 's/^cprof: definitely lost: \([0-9]*\) bytes in \([0-9]*\) blocks$/\1 B in \2 blocks/p' \
                    "$work/leak-cprof.log") ;;
            valgrind)
                valgrind --leak-check=full --run-libc-freeres=no "${prog[@]}" >/dev/null 2>"$work/leak-vg.log" || true
                lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks/\1 B in \2 blocks/p' \
                    "$work/leak-vg.log" | tr -d ,) ;;
            esac
            t1=$(now_ns)
            printf '%s\t%s\t%s\t%s\n' "$cfg" "$r" \
                "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')" "$lost" >>"$work/leak.tsv"
        done
        log "leak: round $r/$rounds done"
    done
    awk -F'\t' '{ w[$2, $1] = $3; rows[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(rows[i], f, "\t")
            printf "%s\tx\t%.6f\n", f[1], f[3] / w[f[2], "bare"] } }' "$work/leak.tsv" >"$work/leak-ratios.tsv"
    echo "### Leak checking against valgrind"
    echo
    echo "\`bench_heap mt $threads $leak_ops $live\` (the same workload, smaller: it drops one block in" \
        "64 of its first allocations), end-to-end wall time including the leak check at exit," \
        "median of $rounds rounds; ratio: median of (run ÷ bare run of the same round)."
    echo
    echo "| configuration | wall s | wall ratio | definitely lost (last round) |"
    echo "|---|---:|---:|---|"
    local label w rr ri l
    for cfg in "${configs[@]}"; do
        case $cfg in
        bare) label="none" ;;
        cprof) label="**cprof run -leakcheck**" ;;
        valgrind) label="valgrind --leak-check=full" ;;
        esac
        awk -F'\t' '{ print $1 "\tx\t" $3 }' "$work/leak.tsv" >"$work/tmp.tsv"
        read -r w _ < <(stats "$work/tmp.tsv" "$cfg")
        read -r rr ri < <(stats "$work/leak-ratios.tsv" "$cfg")
        l=$(awk -F'\t' -v c="$cfg" '$1 == c { l = $4 } END { print l }' "$work/leak.tsv")
        printf '| %s | %.3f | %.2f ± %.2f | %s |\n' "$label" "$w" "$rr" "$ri" "$l"
    done
    echo
}

# ---- ir: instructions and simulated cache misses per operation (callgrind) --------------------

bench_ir() {
    if ! command -v callgrind_annotate >/dev/null; then
        log "ir: valgrind (callgrind) not found: skipped"
        return
    fi
    local caches=(${IR_CACHES:---I1=32768,8,64 --D1=49152,12,64 --LL=2097152,16,64})
    local irpairs=${IR_PAIRS:-200000} irops=${IR_OPS:-200000}
    echo "### Instructions and cache misses per operation (callgrind)"
    echo
    echo "\`valgrind --tool=callgrind --cache-sim=yes ${caches[*]} --toggle-collect=LOOP\`:" \
        "only the work loop counts. pair: \`bench_heap pair $irpairs\`; mt: \`bench_heap mt" \
        "$threads $irops $live\`. Per operation (one malloc/free pair); added: minus bare."
    echo
    echo "| workload | configuration | instructions | added | in libcprof | L1d read misses | LL read misses | LL write misses |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    local w cfg args tog ops out ir d1 llr llw cp bare_ir pre
    for w in pair mt; do
        if [ $w = pair ]; then
            args=(pair "$irpairs") tog=pair_loop ops=$irpairs
        else
            args=(mt "$threads" "$irops" "$live") tog=mt_worker ops=$((threads * irops))
        fi
        for cfg in bare preload cprof; do
            out=$work/callgrind-$w-$cfg.out
            pre=()
            case $cfg in
            preload) pre=(LD_PRELOAD="$lib") ;;
            cprof) pre=(LD_PRELOAD="$lib" CPROF_MEMPROFILE="$work/profiles/ir-$w.pb.gz") ;;
            esac
            env "${pre[@]}" valgrind --tool=callgrind --cache-sim=yes "${caches[@]}" \
                --toggle-collect="$tog" --callgrind-out-file="$out" \
                "$bin/bench_heap" "${args[@]}" >/dev/null 2>>"$work/stderr.log"
            # summary: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
            read -r ir d1 llr llw < <(awk '/^events:/ { for (i = 2; i <= NF; i++) col[$i] = i }
                /^summary:/ { print $col["Ir"], $col["D1mr"], $col["DLmr"], $col["DLmw"] }' "$out")
            cp=$(callgrind_annotate --inclusive=no --threshold=100 --show=Ir "$out" 2>/dev/null |
                awk '/libcprof/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
            [ $cfg = bare ] && bare_ir=$ir
            awk -v w="$w" -v c="$cfg" -v n="$ops" -v ir="$ir" -v b="$bare_ir" -v cp="$cp" \
                -v d1="$d1" -v llr="$llr" -v llw="$llw" 'BEGIN {
                label = c == "bare" ? "none (glibc malloc)" : c == "preload" ? \
                    "libcprof preloaded, heap profiling off" : "**heap profiling, default rate**"
                printf "| %s | %s | %.1f | %s | %.1f | %.3f | %.4f | %.3f |\n", w, label, ir / n,
                    c == "bare" ? "–" : sprintf("%+.1f", (ir - b) / n), cp / n, d1 / n, llr / n,
                    llw / n }'
        done
    done
    echo
}

echo "Machine: $(machine)."
echo
for p in "${parts[@]}"; do
    case $p in
    mt) bench_mt ;;
    pair) bench_pair ;;
    leak) bench_leak ;;
    ir) bench_ir ;;
    esac
done
echo "Measured with \`scripts/bench-heap.sh ${parts[*]}\` (N=$rounds) on $(date -u +%Y-%m-%d)" \
    "at $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo 'an unknown commit')$(
        [ -n "$(git -C "$here" status --porcelain -- src 2>/dev/null)" ] && echo ' (src/ with local changes)')."
[ -z "$out" ] || echo "Raw results: $work/mt.tsv, $work/pair.tsv, $work/leak.tsv."
