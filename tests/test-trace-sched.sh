#!/bin/bash
# test-trace-sched.sh: scheduling latency in a trace (TRACE_REC_SCHED, from
# the kernel's schedstat) against ground truth. trace_gt sched traces two
# threads pinned to CPU 0 that each spin 0.3 s of CPU, so each waits for the
# other about as long; each reads its own /proc/thread-self/schedstat as it
# ends. Then:
#   - `cprof trace summary` gives each its run-queue wait (RUNQ) within 5% or
#     5 ms of what it read, and that wait is a real one (>= 25% of its CPU
#     time: a pinned pair shares one CPU);
#   - `cprof trace pprof -type=sched` writes a profile that go tool pprof
#     reads, with each thread's name as its frame and the same delay.
# A kernel without schedstat (CONFIG_SCHED_INFO off) skips the test.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-trace-lib.sh"

timeout -k 5 60 "$CPROF_TEST_BIN/trace_gt" sched "$T/s.cpt" >"$T/gt" 2>"$T/gt.err" ||
    fail "trace_gt sched: status $?: $(cat "$T/gt.err")"
[ "$(gt schedstat)" = none ] && skip "this kernel has no /proc/*/schedstat"

within5() { # WHAT GOT WANT (ns)
    awk -v g="$2" -v w="$3" 'BEGIN { d = g - w; if (d < 0) d = -d
        t = w * 0.05; if (t < 5e6) t = 5e6; exit !(d <= t) }' ||
        fail "$1: $2 ns, want $3 ns (within 5% or 5 ms)"
}

"$CPROF" trace summary "$T/s.cpt" >"$T/sum" 2>"$T/err" || fail "summary: $(cat "$T/err")"
"$CPROF" trace pprof -type=sched -o "$T/sched.pb.gz" "$T/s.cpt" 2>"$T/err" ||
    fail "pprof -type=sched: $(cat "$T/err")"
gopprof -top -nodefraction=0 -unit=ns -sample_index=delay "$T/sched.pb.gz" >"$T/go.top" 2>"$T/go.err" ||
    fail "go tool pprof -top: $(cat "$T/go.err")"
top_rows "$T/go.top" >"$T/go.rows"
for name in spin-a spin-b; do
    tid=$(gt "${name}_tid") wait=$(gt "${name}_wait_ns") run=$(gt "${name}_run_ns")
    awk -v w="$wait" -v r="$run" 'BEGIN { exit !(w >= 0.25 * r) }' ||
        fail "$name waited $wait ns for 0.3 s of CPU pinned beside another spinner: the ground truth itself is off"
    set -- $(thread_row "$T/sum" "$tid")
    [ $# -ge 10 ] || fail "no thread row with RUNQ for $name (tid $tid): $*"
    within5 "$name RUNQ in the summary" "$(to_ns "${10}")" "$wait"
    within5 "$name delay in the sched profile" "$(top_cum "$T/go.rows" "$name")" "$wait"
    note "$name: waited $(awk -v w="$wait" 'BEGIN { printf "%.1f", w / 1e6 }') ms by its own" \
        "schedstat; summary RUNQ ${10}, sched profile $(top_cum "$T/go.rows" "$name") ns"
done
