#!/usr/bin/env bash
# scripts/bench.sh: cprof's benchmarks; prints Markdown for docs/performance.md.
#
#   scripts/bench.sh [-n N] [-b BUILD_DIR] [--no-build] [-o OUT_DIR] [AREA...]
#
# AREA: cpu (the default, and the only one so far).
#   -n N          rounds (default 7; env N)
#   -b BUILD_DIR  build directory (default <repo>/build-bench; env BUILD_DIR);
#                 configured if it has no CMakeCache.txt
#   --no-build    use the programs already in BUILD_DIR
#   -o OUT_DIR    keep the raw results and profiles there (default: a temp dir, removed)
# Workload size (env): THREADS=2 ITERATIONS=12000 DEPTH=16; SAMPLE_CALLS=1000000.
# gperftools: GPERF_LIB (default Debian's libprofiler.so.0); skipped if absent.
#
# cpu: a fixed amount of CPU-bound work on THREADS threads (bench/cpu_workload.c,
# built with and without frame pointers), run bare, under cprof (perf and timer
# engines) and under gperftools' libprofiler at 100 and 1000 Hz. One round runs
# every configuration once, in a new (seeded, shuffled) order each round, so that drift hits
# all alike; ratios to bare are taken within a round, then the median over rounds.
# CPU seconds are the workload's own getrusage over its work (threads started
# to joined), so the profile writing at exit is not in them; the end-to-end
# wall time (process start to exit, profile writing included) is reported apart.
# Samples are counted in each profile with `go tool pprof -raw`.
# Then bench/bench_sample.c times cprof's unwind + record directly.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${N:-7}
build=${BUILD_DIR:-$here/build-bench}
do_build=1
out=""
areas=()
while [ $# -gt 0 ]; do
    case $1 in
    -n) rounds=$2; shift 2 ;;
    -n=*) rounds=${1#-n=}; shift ;;
    -b) build=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    cpu) areas+=("$1"); shift ;;
    *) echo "bench.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[ ${#areas[@]} -gt 0 ] || areas=(cpu)
case $rounds in '' | *[!0-9]* | 0) echo "bench.sh: -n wants a positive integer" >&2; exit 2 ;; esac

threads=${THREADS:-2}
iterations=${ITERATIONS:-12000}
depth=${DEPTH:-16}
sample_calls=${SAMPLE_CALLS:-1000000}
gperf_lib=${GPERF_LIB:-/usr/lib/x86_64-linux-gnu/libprofiler.so.0}

log() { echo "bench.sh: $*" >&2; }

# ---- Build -----------------------------------------------------------------------

if [ $do_build = 1 ]; then
    if [ ! -f "$build/CMakeCache.txt" ]; then
        log "configuring $build"
        cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCPROF_BUILD_EXAMPLES=OFF -DCPROF_BUILD_TESTS=OFF >/dev/null
    fi
    log "building in $build"
    cmake --build "$build" -j"$(nproc)" --target cprof cprof_tool cprof_bench >/dev/null
fi
bin=$build/bin
for p in cprof cpu_workload_fp cpu_workload_nofp bench_sample_fp bench_sample_nofp; do
    [ -x "$bin/$p" ] || { log "$bin/$p is missing (build it, or drop --no-build)"; exit 1; }
done

# ---- Scratch space and pprof ------------------------------------------------------

if [ -n "$out" ]; then
    mkdir -p "$out"
    work=$(cd "$out" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/profiles" "$work/home"
# go tool pprof, offline and without touching the user's home or caches.
export HOME=$work/home GOCACHE=$work/home/gocache GOTOOLCHAIN=local GOPROXY=off GOFLAGS=
have_go=0
command -v go >/dev/null && go tool pprof -h >/dev/null 2>&1 && have_go=1
[ $have_go = 1 ] || log "go tool pprof not found: sample counts will be n/a"
have_gperf=0
[ -r "$gperf_lib" ] && have_gperf=1
[ $have_gperf = 1 ] || log "$gperf_lib not found: gperftools rows skipped"

# Sum of the first sample value (samples/count) over all samples of a profile.
count_samples() {
    if [ $have_go = 0 ] || [ ! -s "$1" ]; then
        echo NA
        return
    fi
    go tool pprof -raw "$1" 2>/dev/null | awk '
        /^Samples:/ { s = 1; next }
        /^Locations/ { s = 0 }
        s && $1 ~ /^[0-9]+$/ { n += $1; seen = 1 }
        END { print seen ? n : "NA" }'
}

machine() {
    local model
    model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "$(nproc) CPUs, ${model:-unknown CPU}, Linux $(uname -r)," \
        "perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo '?')," \
        "$( [ "$(id -u)" = 0 ] && echo root || echo 'not root')"
}

# ---- cpu ----------------------------------------------------------------------------

# One run of configuration $1 (bare | cprof-perf | cprof-timer | gperf) at rate $2
# on build $3 in round $4; appends a line to results.tsv.
run_one() {
    local cfg=$1 hz=$2 variant=$3 round=$4
    local prog=$bin/cpu_workload_$variant
    local prof=$work/profiles/$cfg-$hz-$variant-r$round.prof
    local args=("$threads" "$iterations" "$depth")
    local t0 t1 line
    t0=$(date +%s%N)
    case $cfg in
    bare | bare2) line=$("$prog" "${args[@]}") ;;
    cprof-perf | cprof-timer)
        line=$(CPROF_CPU_ENGINE=${cfg#cprof-} "$bin/cprof" run -cpuprofile="$prof" \
            -cpurate="$hz" -- "$prog" "${args[@]}" 2>>"$work/stderr.log") ;;
    gperf)
        line=$(CPUPROFILE=$prof CPUPROFILE_FREQUENCY=$hz LD_PRELOAD=$gperf_lib \
            "$prog" "${args[@]}" 2>>"$work/stderr.log") ;;
    esac
    t1=$(date +%s%N)
    echo "$line" | awk -v r="$round" -v v="$variant" -v c="$cfg" -v hz="$hz" \
        -v ext="$(((t1 - t0) / 1000))" -v prof="$prof" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
        END {
            if (f["work_cpu_s"] == "") { print "no result line" > "/dev/stderr"; exit 1 }
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.6f\t%s\n", r, v, c, hz, f["work_cpu_s"],
                f["work_wall_s"], f["total_cpu_s"], ext / 1e6, prof
        }' >>"$work/results.tsv"
}

bench_cpu() {
    local configs=()
    for variant in fp nofp; do
        # bare2: bare again, the A/A control that shows the noise floor.
        # cprof-perf 10000: a rate that lifts the per-sample cost above the noise.
        configs+=("bare 0 $variant" "bare2 0 $variant" "cprof-perf 100 $variant"
            "cprof-perf 1000 $variant" "cprof-perf 10000 $variant"
            "cprof-timer 100 $variant" "cprof-timer 1000 $variant")
        if [ $have_gperf = 1 ]; then
            configs+=("gperf 100 $variant" "gperf 1000 $variant")
        fi
    done
    local nc=${#configs[@]}
    : >"$work/results.tsv"
    log "cpu: $rounds rounds x $nc configurations ($threads threads x $iterations iterations)"
    for ((r = 1; r <= rounds; r++)); do
        # A new order each round (a seeded shuffle: the same on every run of
        # this script), so that neither drift nor a neighbour favours anyone.
        local order
        order=$(awk -v n="$nc" -v seed="$r" 'BEGIN {
            srand(seed); for (i = 0; i < n; i++) a[i] = i
            for (i = n - 1; i > 0; i--) { j = int(rand() * (i + 1)); t = a[i]; a[i] = a[j]; a[j] = t }
            for (i = 0; i < n; i++) printf "%d ", a[i] }')
        for i in $order; do
            local c=${configs[$i]}
            # shellcheck disable=SC2086
            run_one ${c% *} ${c##* } "$r"
        done
        log "cpu: round $r/$rounds done"
    done
    log "cpu: counting samples"
    : >"$work/samples.tsv"
    while IFS=$'\t' read -r _ _ cfg _ _ _ _ _ prof; do
        case $cfg in bare | bare2) continue ;; esac
        printf '%s\t%s\n' "$prof" "$(count_samples "$prof")" >>"$work/samples.tsv"
    done <"$work/results.tsv"

    log "cpu: unwind + record micro-benchmark"
    : >"$work/sample_bench.tsv"
    for ((r = 1; r <= 3; r++)); do
        for variant in fp nofp; do
            "$bin/bench_sample_$variant" "$sample_calls" 10 "$depth" 30 |
                awk -v v="$variant" '
                { delete f; for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
                "depth" in f { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v, f["depth"], f["frames"],
                    f["unwind_ns"], f["add_ns"], f["sample_ns"], f["cold_sample_ns"] }
                "signal_ns" in f { printf "%s\tsignal\t-\t-\t-\t%s\t-\n", v, f["signal_ns"] }' \
                    >>"$work/sample_bench.tsv"
        done
    done

    local c rows=""
    for c in "${configs[@]}"; do
        rows+="${c// /:} "
    done
    report_cpu "$rows"
}

report_cpu() {
    echo "Machine: $(machine)."
    echo
    echo "Workload: \`cpu_workload $threads $iterations $depth\`: $threads threads, a fixed amount" \
        "of work, $((depth + 5))-frame stacks; $rounds rounds, configurations alternated."
    echo "CPU s, wall s: the workload's own, over its work. CPU ratio: median over rounds of" \
        "CPU s / bare CPU s of the same round; ± is the ~95% interval of that median" \
        "(1.58 IQR/√N). End-to-end wall: process start to exit, profile writing included." \
        "Startup CPU: before the work starts (loader, preloaded libraries' constructors)." \
        "Samples: counted with \`go tool pprof -raw\`; expected = rate × process CPU s." \
        "Extra CPU per sample: (CPU s − bare CPU s) / samples, per round, median."
    echo
    awk -F'\t' -v depth="$depth" -v rows="$1" -v calls="$sample_calls" '
    function median(a, n,    i, j, t, b) {
        if (n == 0) return ""
        for (i = 1; i <= n; i++) b[i] = a[i]
        for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
        return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    # Half-width of the ~95% interval of a median (the notch of a box plot):
    # 1.58 x IQR / sqrt(n), quartiles as medians of the lower and upper halves.
    function notch(a, n,    i, j, t, b, lo, hi, h) {
        if (n < 4) return 0
        for (i = 1; i <= n; i++) b[i] = a[i]
        for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
        h = int(n / 2)
        for (i = 1; i <= h; i++) { lo[i] = b[i]; hi[i] = b[n - h + i] }
        return 1.58 * (median(hi, h) - median(lo, h)) / sqrt(n)
    }
    function label(c) {
        return c == "bare" ? "none" : c == "bare2" ? "none, again (A/A)" : c == "gperf" ? "gperftools" : c == "cprof-perf" ? "cprof perf" : "cprof timer"
    }
    FILENAME ~ /samples.tsv$/ { samples[$1] = $2; next }
    FILENAME ~ /sample_bench.tsv$/ {
        if ($2 == "signal") { sig[$1, ++nsig[$1]] = $6; next }
        k = $1 SUBSEP $2
        if (!(k in nmb)) { mbkeys[++nmbk] = k; frames[k] = $3 }
        i = ++nmb[k]; un[k, i] = $4; ad[k, i] = $5; sa[k, i] = $6; co[k, i] = $7
        next
    }
    {
        key = $2 SUBSEP $3 SUBSEP $4
        i = ++n[key]
        round[key, i] = $1; cpu[key, i] = $5; wall[key, i] = $6; tot[key, i] = $7; ext[key, i] = $8
        smp[key, i] = ($3 ~ /^bare/) ? "NA" : samples[$9]
        if ($3 == "bare") { bcpu[$2, $1] = $5; bwall[$2, $1] = $6 }
    }
    END {
        print "| build | profiler | rate Hz | CPU s | CPU ratio | wall s | end-to-end wall s | startup CPU ms | samples / expected | samples per CPU-s | of rate | extra CPU per sample |"
        print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        nkeys = split(rows, order, " ")
        for (k = 1; k <= nkeys; k++) {
            split(order[k], p, ":"); c = p[1]; hz = p[2]; v = p[3]; key = v SUBSEP c SUBSEP hz
            if (!(key in n)) continue
            m = n[key]; nr = 0; ns = 0; nps = 0
            delete rc; delete rw; delete ex; delete cc; delete ww; delete sr; delete ps; delete su
            delete cnt; delete expct
            for (i = 1; i <= m; i++) {
                r = round[key, i]; cc[i] = cpu[key, i]; ww[i] = wall[key, i]; ex[i] = ext[key, i]
                su[i] = (tot[key, i] - cpu[key, i]) * 1000
                if ((v, r) in bcpu) {
                    nr++; rc[nr] = cpu[key, i] / bcpu[v, r]; rw[nr] = wall[key, i] / bwall[v, r]
                }
                if (smp[key, i] != "NA" && smp[key, i] != "") {
                    ns++; sr[ns] = smp[key, i] / tot[key, i]; cnt[ns] = smp[key, i]; expct[ns] = hz * tot[key, i]
                    if ((v, r) in bcpu && smp[key, i] > 0) { nps++; ps[nps] = (cpu[key, i] - bcpu[v, r]) * 1e9 / smp[key, i] }
                }
            }
            med_sr = median(sr, ns); med_ps = median(ps, nps)
            srate = ns ? sprintf("%.0f", med_sr) : "–"
            of = ns && hz > 0 ? sprintf("%.1f%%", 100 * med_sr / hz) : "–"
            per = nps ? sprintf("%.0f ± %.0f ns", med_ps, notch(ps, nps)) : "–"
            if (c == "cprof-timer" && hz > 250) per = "n/a (weighted)"
            if (c == "cprof-perf") { perf_ps[v, hz] = med_ps; perf_ci[v, hz] = notch(ps, nps) }
            ratio = c == "bare" ? "1" : sprintf("%.3f ± %.3f", median(rc, nr), notch(rc, nr))
            count = ns ? sprintf("%.0f / %.0f", median(cnt, ns), median(expct, ns)) : "–"
            printf "| %s | %s | %s | %.3f | %s | %.3f | %.3f | %.1f | %s | %s | %s | %s |\n", v, label(c), c ~ /^bare/ ? "–" : hz, median(cc, m), ratio, median(ww, m), median(ex, m), median(su, m), count, srate, of, per
        }
        print ""
        print "Direct micro-benchmark of the handler'"'"'s user-space work (`bench_sample`, median of 3 runs; warm: " calls " calls in a row, thread CPU time; cold: L1 and L2 evicted before each call, median of 2000 calls):"
        print ""
        print "| build | recursion depth | frames walked | unwind ns | record ns | unwind + record ns, warm | unwind + record ns, cold |"
        print "|---|---:|---:|---:|---:|---:|---:|"
        for (k = 1; k <= nmbk; k++) {
            key = mbkeys[k]; split(key, p, SUBSEP); m = nmb[key]
            delete a1; delete a2; delete a3; delete a4
            for (i = 1; i <= m; i++) { a1[i] = un[key, i]; a2[i] = ad[key, i]; a3[i] = sa[key, i]; a4[i] = co[key, i] }
            printf "| %s | %s%s | %s | %.0f | %.0f | %.0f | %.0f |\n", p[1], p[2], p[2] == depth ? " (as the workload)" : "", frames[key], median(a1, m), median(a2, m), median(a3, m), median(a4, m)
            if (p[2] == depth) { warm[p[1]] = median(a3, m); cold[p[1]] = median(a4, m) }
        }
        print ""
        for (v in nsig) {
            delete a1
            for (i = 1; i <= nsig[v]; i++) a1[i] = sig[v, i]
            sigmed[v] = median(a1, nsig[v])
        }
        printf "Kernel signal round trip, for scale (tgkill to self, empty SA_SIGINFO handler, sigreturn): %.0f ns (fp build), %.0f ns (nofp build).\n", sigmed["fp"], sigmed["nofp"]
        print ""
        print "One sample, whole cost (cprof perf engine) against its user-space part, at the workload'"'"'s depth:"
        print ""
        print "| build | indirect, 1000 Hz | indirect, 10000 Hz | direct, warm | direct, cold | kernel and signal (10000 Hz indirect − warm direct) |"
        print "|---|---:|---:|---:|---:|---:|"
        for (vi = 1; vi <= 2; vi++) {
            v = vi == 1 ? "fp" : "nofp"
            if (!((v, 1000) in perf_ps)) continue
            printf "| %s | %.0f ± %.0f ns | %.0f ± %.0f ns | %.0f ns | %.0f ns | %.0f ns |\n", v, perf_ps[v, 1000], perf_ci[v, 1000], perf_ps[v, 10000], perf_ci[v, 10000], warm[v], cold[v], perf_ps[v, 10000] - warm[v]
        }
    }' "$work/samples.tsv" "$work/sample_bench.tsv" "$work/results.tsv"
    echo
    echo "Measured with \`scripts/bench.sh cpu\` (N=$rounds) on $(date -u +%Y-%m-%d)" \
        "at $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo 'an unknown commit')$(
            [ -n "$(git -C "$here" status --porcelain -- src 2>/dev/null)" ] && echo ' (src/ with local changes)')."
    if [ -n "$out" ]; then
        echo "Raw results: $work/results.tsv, $work/samples.tsv, $work/sample_bench.tsv."
    fi
}

for a in "${areas[@]}"; do
    case $a in
    cpu) echo "## CPU profiling"; echo; bench_cpu ;;
    esac
done
