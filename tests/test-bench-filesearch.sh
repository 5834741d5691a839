#!/bin/bash
# test-bench-filesearch.sh BENCH: the demo benchmarks run (one op each),
# in Go's format, and the slow and fixed engines find the same matches.
. "$(dirname "$0")/test-bench-lib.sh"
B=${1:?usage: test-bench-filesearch.sh PATH/TO/bench_filesearch}
cd "$T" || exit 1
TMPDIR="$T" "$B" -bench=. -benchtime=2x -benchmem >out.txt 2>err.txt || fail "bench_filesearch: $(cat err.txt)"
has out.txt '^BenchmarkSearchSlow(-[0-9]+)? *	 +2	.* ns/op	 +[0-9.]+ matches/op	 *[0-9]+ B/op	 *[0-9]+ allocs/op$' "slow line"
has out.txt '^BenchmarkSearchFixed(-[0-9]+)? *	 +2	.* ns/op	 +[0-9.]+ matches/op	 *[0-9]+ B/op	 *[0-9]+ allocs/op$' "fixed line"
slow=$(awk '/^BenchmarkSearchSlow/ { print $5 }' out.txt)
fixed=$(awk '/^BenchmarkSearchFixed/ { print $5 }' out.txt)
[ -n "$slow" ] && [ "$slow" = "$fixed" ] || fail "matches/op: slow $slow, fixed $fixed"
# BenchmarkSearch takes its fixes from FILESEARCH_FIX and finds the same.
FILESEARCH_FIX=threads,regex TMPDIR="$T" "$B" -bench='^BenchmarkSearch$' -benchtime=1x \
    >fix.txt 2>err.txt || fail "FILESEARCH_FIX=threads,regex: $(cat err.txt)"
partial=$(awk '/^BenchmarkSearch(-[0-9]+)?[ \t]/ { print $5 }' fix.txt)
[ "$partial" = "$slow" ] || fail "FILESEARCH_FIX=threads,regex: matches/op $partial, slow $slow"
grep -q "BenchmarkSearchSlow" fix.txt && fail "-bench='^BenchmarkSearch\$' ran BenchmarkSearchSlow"
if FILESEARCH_FIX=regex TMPDIR="$T" "$B" -bench='^BenchmarkSearch$' -benchtime=1x >fix.txt 2>err.txt; then
    fail "FILESEARCH_FIX=regex (without threads) was not refused"
fi
grep -q "add threads" err.txt || fail "FILESEARCH_FIX=regex: the error does not say why: $(cat err.txt)"
# The corpus is removed at exit.
ls "$T"/bench_filesearch.* >/dev/null 2>&1 && fail "corpus left behind in $T"
"$CPROF" benchstat out.txt >stat.txt 2>&1 || fail "benchstat: $(cat stat.txt)"
finish
