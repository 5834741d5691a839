#!/bin/bash
# test-bench-harness.sh: the benchmark harness (cprof/bench.h) against
# benchmarks with known answers (test-bench-harness.c): names and order,
# Go's line format, -benchtime=Nx runs exactly N iterations, the scaling,
# the timer, exact B/op and allocs/op (in other threads too), metrics, the
# profiles, and one line and exit status 2 for every bad flag.
. "$(dirname "$0")/test-bench-lib.sh"
B="$CPROF_TEST_BIN/test-bench-harness"
cd "$T" || exit 1

ncpu=$(nproc)
suffix="-$ncpu"
[ "$ncpu" = 1 ] && suffix=""

# run NAME ARGS...: stdout to NAME.out, stderr (minus the program's own
# "count:" report) to NAME.err, that report to NAME.count, status to $rc.
run() {
    local name=$1
    shift
    "$B" "$@" >"$name.out" 2>"$name.raw"
    rc=$?
    grep -v '^count: ' "$name.raw" >"$name.err"
    grep '^count: ' "$name.raw" >"$name.count"
}

# Without -bench nothing runs and nothing is printed, as with go test.
run none
[ "$rc" = 0 ] || fail "no -bench: exit $rc, want 0"
[ -s none.out ] && fail "no -bench: printed $(cat none.out)"
has none.count '^count: calls=0 iterations=0$' "no -bench"

# All of them, once each, in registration order, Go's format.
run all -bench=. -benchtime=1x
[ "$rc" = 0 ] || fail "-bench=.: exit $rc: $(cat all.err)"
has all.out '^goos: linux$' "header"
has all.out '^goarch: [a-z0-9]+$' "header"
has all.out '^pkg: test-bench-harness$' "header"
names=$(awk '/^Benchmark/ { print $1 }' all.out | tr '\n' ' ')
want="BenchmarkAlloc$suffix BenchmarkCount$suffix BenchmarkEmpty$suffix BenchmarkTimer$suffix BenchmarkSleep$suffix BenchmarkMetric$suffix BenchmarkThreadAlloc$suffix BenchmarkGoStyle_name$suffix "
[ "$names" = "$want" ] || fail "names/order: got '$names', want '$want'"
[ "$(tail -n 1 all.out)" = PASS ] || fail "last line is not PASS"
# name, TAB, N right-aligned in 8, TAB, value ns/op (Go's widths)
tab=$'\t'
has all.out "^BenchmarkCount$suffix *$tab       1$tab +[0-9.]+ ns/op\$" "line format"

# -benchtime=Nx: exactly N iterations per line, in one call each.
run count -bench='^BenchmarkCount$' -benchtime=7x -count=3
[ "$rc" = 0 ] || fail "7x: exit $rc"
[ "$(grep -c "^BenchmarkCount$suffix"$'\t       7\t' count.out)" = 3 ] || fail "7x -count=3: want 3 lines with N=7"
has count.count '^count: calls=3 iterations=21$' "7x -count=3 runs exactly 21 iterations"
run count1 -test.bench=Count -test.benchtime=1x
has count1.count '^count: calls=1 iterations=1$' "-test.benchtime=1x"

# Scaling: n is 1, 2, 3 or 5 x 10^k, and the last run lasts -benchtime.
run sleep -bench=Sleep -benchtime=200ms -count=2
[ "$rc" = 0 ] || fail "sleep: exit $rc"
awk -v s="$suffix" '$1 == "BenchmarkSleep" s {
        n = $2; ns = $3
        if (n !~ /^[1235]0*$/) { print "N=" n " is not 1, 2, 3 or 5 x 10^k"; bad = 1 }
        if (ns < 100000) { print "ns/op " ns " < 100 us per op"; bad = 1 }
        if (n * ns < 2e8 * 0.999) { print "last run lasted " n * ns " ns < 200 ms"; bad = 1 }
        lines++
    } END { if (lines != 2) { print lines " lines"; bad = 1 }; exit bad }' sleep.out >sleep.why ||
    fail "scaling: $(cat sleep.why)"
run counted -bench=Count -benchtime=20ms
awk -v s="$suffix" '$1 == "BenchmarkCount" s && $2 !~ /^[1235]0*$/ { exit 1 }' counted.out ||
    fail "scaling: N of BenchmarkCount not 1, 2, 3 or 5 x 10^k: $(cat counted.out)"

# -benchmem: exact, whatever n is.
for bt in 1x 1000x 100ms; do
    run alloc -bench='^BenchmarkAlloc$' -benchmem -benchtime=$bt -count=3
    [ "$(grep -Ec $'\t     600 B/op\t       3 allocs/op$' alloc.out)" = 3 ] ||
        fail "-benchtime=$bt: want 600 B/op 3 allocs/op on 3 lines: $(cat alloc.out)"
done
run thread -bench=ThreadAlloc -benchmem -benchtime=50ms -count=2
[ "$(grep -Ec $'\t      64 B/op\t       1 allocs/op$' thread.out)" = 2 ] ||
    fail "allocations in another thread: want 64 B/op 1 allocs/op: $(cat thread.out)"
run empty -bench=Empty -benchmem -benchtime=1000x
has empty.out $'\t       0 B/op\t       0 allocs/op$' "no allocations, none counted"

# The timer: setup before the reset and 2 ms per op while stopped are not
# measured, nor the allocations made then.
run timer -bench=Timer -benchmem -benchtime=20x
awk -v s="$suffix" '$1 == "BenchmarkTimer" s { if ($3 >= 1000000) exit 1; found = 1 }
    END { exit !found }' timer.out || fail "timer: ns/op includes stopped time: $(cat timer.out)"
has timer.out $'\t       0 B/op\t       0 allocs/op$' "timer: allocations while stopped"
run emptyns -bench=Empty
awk '/^BenchmarkEmpty/ { exit !($3 < 50) }' emptyns.out || fail "empty loop: $(cat emptyns.out)"

# Metrics: the last value of a unit, sorted by unit, before the memory columns.
run metric -bench=Metric -benchtime=10x -benchmem
has metric.out $'^BenchmarkMetric'"$suffix"$'\t      10\t.*ns/op\t +42.00 gadgets/op\t +2.500 widgets/op\t +0 B/op\t +0 allocs/op$' "metrics"

# Profiles of the runs: readable, and the heap one names the allocator.
run prof -bench='^BenchmarkAlloc$' -benchtime=20000x -cpuprofile=cpu.pb.gz -memprofile=mem.pb.gz -memprofilerate=1
[ "$rc" = 0 ] || fail "profiles: exit $rc: $(cat prof.err)"
"$CPROF" top cpu.pb.gz >cpu.top 2>&1 || fail "cprof top cpu.pb.gz: $(cat cpu.top)"
"$CPROF" top -sample_index=alloc_space mem.pb.gz >mem.top 2>&1 || fail "cprof top mem.pb.gz: $(cat mem.top)"
has mem.top ' bench_alloc$' "memprofile names bench_alloc"
# 20000 ops x 600 B, every allocation recorded: 11.4 MiB allocated in bench_alloc.
awk '$NF == "bench_alloc" { v = $1; sub(/[a-zA-Z]+$/, "", v); u = $1; sub(/^[0-9.]+/, "", u)
        kb = (u == "MB") ? v * 1024 : (u == "kB") ? v : -1
        exit !(kb > 11700 && kb < 11730) }' mem.top || fail "memprofile: bench_alloc should have 12000000 B: $(grep bench_alloc mem.top)"

# cprof benchstat reads what the harness writes.
run stat -bench='Alloc$|Empty' -benchmem -benchtime=100x -count=6
"$CPROF" benchstat stat.out >stat.txt 2>stat.err || fail "benchstat on harness output: $(cat stat.err)"
has stat.txt "^Alloc$suffix +[0-9.]+[nµm]? ± " "benchstat row Alloc"
has stat.txt "^ThreadAlloc$suffix " "benchstat row ThreadAlloc"
has stat.txt '^Alloc.* 600\.0 ± 0%' "benchstat B/op"

# Bad flags: one line on stderr, nothing on stdout, exit 2.
for args in -benchtime=abc -benchtime=0x -benchtime=-1s -benchtime=1q -count=0 -count=x \
    -bogus '-bench=(' foo -benchmem=maybe -memprofilerate=0 -bench; do
    run bad "$args"
    [ "$rc" = 2 ] || fail "bad flag $args: exit $rc, want 2"
    [ "$(lines bad.err)" = 1 ] || fail "bad flag $args: $(lines bad.err) lines on stderr: $(cat bad.err)"
    [ -s bad.out ] && fail "bad flag $args: printed on stdout: $(cat bad.out)"
done
run help -h
[ "$rc" = 0 ] || fail "-h: exit $rc"
has help.out '^usage: ' "-h"

finish
