#!/bin/bash
# test-benchstat-go.sh: a benchmark file written by Go's own testing package
# (tests/go/benchfmt, run offline with the standard library only), read by
# `cprof benchstat`: every benchmark, sub-benchmark and unit Go printed is in
# the table, with the values Go reported.
. "$(dirname "$0")/test-bench-lib.sh"
use_go
cp -r "$CPROF_SOURCE_DIR/tests/go/benchfmt" "$T/src" || exit 1
cd "$T/src" || exit 1
if ! go test -bench=. -count=3 -benchtime=200x -benchmem . >"$T/go.txt" 2>"$T/go.err"; then
    fail "go test -bench: $(cat "$T/go.err" "$T/go.txt")"
    finish
fi
cd "$T" || exit 1
has go.txt '^BenchmarkAlloc(-[0-9]+)? ' "Go wrote results"

"$CPROF" benchstat go.txt >one.txt 2>err.txt || fail "benchstat go.txt: $(cat err.txt)"
[ -s err.txt ] && fail "benchstat go.txt complained: $(cat err.txt)"
has one.txt '^goos: linux$' "Go's config lines"
has one.txt '^pkg: benchfmt$' "Go's pkg line"
for unit in sec/op B/op allocs/op widgets/op; do
    has one.txt "^ +$unit\$" "unit $unit"
done
# Go's figures: 1 KiB and one allocation per op in Alloc, 2.5 widgets/op.
has one.txt '^Alloc(-[0-9]+)? +1\.000Ki ± ∞ ¹$' "Alloc B/op"
has one.txt '^Alloc(-[0-9]+)? +1\.000 ± ∞ ¹$' "Alloc allocs/op"
has one.txt '^Metric(-[0-9]+)? +2\.500 ± ∞ ¹$' "Metric widgets/op"
has one.txt '^Sub/size=16(-[0-9]+)? +16\.00 ± ∞ ¹$' "sub-benchmark B/op"
has one.txt '^Sub/size=64(-[0-9]+)? +64\.00 ± ∞ ¹$' "sub-benchmark B/op"
# Every result line Go wrote is counted: 4 benchmarks x 3 runs.
[ "$(grep -c '^Benchmark' go.txt)" = 12 ] || fail "go.txt has $(grep -c '^Benchmark' go.txt) result lines, want 12"

# Compared with itself: nothing changed, 3 vs 3 cannot be significant anyway.
cp go.txt again.txt
"$CPROF" benchstat go.txt again.txt >two.txt 2>err.txt || fail "benchstat go.txt again.txt: $(cat err.txt)"
has two.txt '^Alloc(-[0-9]+)? .* ~ \(p=1\.000 n=3\+3\)$' "same file: ~"
hasnt two.txt '%  *\(p=' "same file: no significant change"

finish
