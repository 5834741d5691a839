#!/bin/bash
# test-cpu-split.sh BUILD ENGINE: the CPU profiler against ground truth.
#
# cpusplit_BUILD (fp: frame pointers, nofp: none) spends exactly 3/4 of its
# CPU time in spin_three and 1/4 in spin_one, on 1, 2 and 4 threads. Under
# `cprof run` with CPROF_CPU_ENGINE=ENGINE at 100 Hz and 1000 Hz:
#   - cum share of spin_three 75% and of spin_one 25%, each within 3 points,
#     read by Go's pprof and by `cprof top` alike;
#   - total samples within 10% of CPU seconds x rate (the `samples` value:
#     the timer engine above the kernel tick counts by weight);
#   - spin_three's stacks are whole: worker and start_thread (or main) above
#     it in at least 95% of its samples. Without frame pointers this is what
#     a broken CFI unwinder fails.
# A configuration that misses is run once more with twice the CPU time (as
# Go's own profiler tests do) before the test fails: a loaded machine can
# starve a short run, a real bug fails twice.
. "$(dirname "$0")/lib.sh"

build=${1:?usage: test-cpu-split.sh fp|nofp perf|timer}
engine=${2:?usage: test-cpu-split.sh fp|nofp perf|timer}
prog="$CPROF_TEST_BIN/cpusplit_$build"
[ -x "$prog" ] || fail "no workload $prog"
cpu=${CPROF_SPLIT_CPU:-1.5}

# The length of the split's unit slice (spin_one's; spin_three's is three):
# the workload's 1 ms where samples come every millisecond of CPU (perf at
# 1000 Hz), else 50 ms, several sampling intervals, so that the split's
# error is a sample at each slice's edge rather than a coin toss per sample
# (see workloads/cpusplit.c). 100 Hz against 1 ms slices would also alias:
# 10 ms is 2.5 cycles of 4 ms, and the samples would fall on two phases
# only. The timer engine's signals come at the kernel's tick (250 Hz, and in
# lumps when the CPU is contended), whatever the rate.
unit_ms() {
    if [ "$engine" = perf ] && [ "$1" -ge 1000 ]; then
        echo 1
    else
        echo 50
    fi
}

# one RATE THREADS CPU: runs one configuration; leaves why it misses in
# $T/why (empty: it passed). Failures that no retry can fix (a crash, an
# unreadable profile) end the test at once.
one() {
    local rate=$1 threads=$2 secs=$3 unit out prof
    unit=$(unit_ms "$rate")
    prof="$T/cpu-$rate-$threads.pb.gz"
    CPROF_CPU_ENGINE=$engine run_cprof 0 -cpuprofile="$prof" -cpurate="$rate" -- \
        "$prog" -threads="$threads" -cpu="$secs" -unit_ms="$unit"
    out=$(cat "$T/out")
    local used
    used=$(sed -n 's/^cpu_seconds=\([0-9.]*\).*/\1/p' "$T/out")
    [ -n "$used" ] || fail "$build/$engine ${rate}Hz x$threads: workload printed no cpu_seconds: $out"
    check_profile "$prof" "$build/$engine ${rate}Hz x$threads"
    # The engine asked for is the one that sampled (no silent fallback).
    grep -q "engine=$engine" "$T/go.raw" || fail "$build/$engine: the profile does not say engine=$engine"

    local why="" total want
    total=$(top_total "$T/go.top")
    want=$(awk -v s="$used" -v r="$rate" 'BEGIN { print s * r }')
    within "$total" "$want" "$(awk -v w="$want" 'BEGIN { print w / 10 }')" ||
        why+=" samples=$total want=$want(+-10%)"
    local tool
    for tool in go cprof; do
        local rows="$T/$tool.rows" tot three one
        tot=$(top_total "$T/$tool.top")
        three=$(awk -v c="$(top_cum "$rows" spin_three)" -v t="$tot" 'BEGIN { printf "%.2f", 100 * c / t }')
        one=$(awk -v c="$(top_cum "$rows" spin_one)" -v t="$tot" 'BEGIN { printf "%.2f", 100 * c / t }')
        within "$three" 75 3 || why+=" $tool:spin_three=$three%"
        within "$one" 25 3 || why+=" $tool:spin_one=$one%"
        [ "$tool" = go ] && note "$build/$engine ${rate}Hz x$threads unit=${unit}ms:" \
            "cpu=${used}s samples=$total (want $want) spin_three=$three% spin_one=$one%"
    done
    # Whole stacks: spin_three must have the thread's entry above it.
    local whole
    whole=$(traces "$prof" | awk -F'\t' '
        {
            s = 0
            for (i = 2; i <= NF; i++) if ($i == "spin_three") { s = i; break }
            if (!s) next
            all += $1
            w = 0; e = 0
            for (i = s + 1; i <= NF; i++) {
                if ($i == "worker") w = 1
                if (w && ($i == "start_thread" || $i == "main")) e = 1
            }
            if (e) ok += $1
        }
        END { if (all == 0) print "none"; else printf "%.2f\n", 100 * ok / all }')
    if [ "$whole" = none ] || ! within "$whole" 100 5; then
        why+=" whole-stacks=$whole%"
    fi
    printf '%s' "$why" >"$T/why"
    if [ -n "$why" ]; then
        {
            echo "--- go tool pprof -top ($build/$engine ${rate}Hz x$threads):"
            cat "$T/go.top"
            echo "--- cprof top:"
            cat "$T/cprof.top"
            echo "--- stacks with spin_three but no thread entry above it:"
            traces "$prof" | awk -F'\t' '/\tspin_three\t/ && !/\tworker\t(.*\t)?(start_thread|main)(\t|$)/' |
                head -5
        } >&2
    fi
}

status=0
for rate in 100 1000; do
    for threads in 1 2 4; do
        one "$rate" "$threads" "$cpu"
        why=$(cat "$T/why")
        if [ -n "$why" ]; then
            note "retrying $build/$engine ${rate}Hz x$threads with twice the CPU time:$why"
            one "$rate" "$threads" "$(awk -v c="$cpu" 'BEGIN { print 2 * c }')"
            why=$(cat "$T/why")
            if [ -n "$why" ]; then
                echo "FAIL: $build/$engine ${rate}Hz x$threads:$why" >&2
                status=1
            fi
        fi
    done
done
exit $status
