#!/bin/bash
# test-benchstat.sh: `cprof benchstat` against statistics known by hand (and
# checked by enumerating every arrangement): the exact Mann-Whitney p-value
# for small samples, with and without ties, the normal approximation for
# large ones, the distribution-free confidence interval of the median, the
# change and "~", the geomean row; and every kind of bad input.
. "$(dirname "$0")/test-bench-lib.sh"
cd "$T" || exit 1

# results FILE NAME UNIT VALUES...: one result line per value.
results() {
    local file=$1 name=$2 unit=$3
    shift 3
    for v in "$@"; do printf 'Benchmark%s-2 \t 1000\t %s %s\n' "$name" "$v" "$unit"; done >>"$file"
}

stat() {
    "$CPROF" benchstat "$@" >out.txt 2>err.txt
    rc=$?
}

# 5 vs 5, fully separated: exact two-sided p = 2/C(10,5) = 2/252 = 0.008.
results a.txt Sep ns/op 10 11 12 13 14
results b.txt Sep ns/op 20 21 22 23 24
stat a.txt b.txt
[ "$rc" = 0 ] || fail "5 vs 5: exit $rc: $(cat err.txt)"
has out.txt '^Sep-2 +12\.00n ± ∞ ¹ +22\.00n ± ∞ ¹ +\+83\.33% \(p=0\.008 n=5\+5\)$' "5 vs 5 separated"
has out.txt '^¹ need >= 6 samples for confidence interval at level 0\.95$' "footnote"
stat b.txt a.txt
has out.txt '^Sep-2 .* -45\.45% \(p=0\.008 n=5\+5\)$' "5 vs 5 separated, the other way"

# Equal samples: ~.
rm -f a.txt b.txt
results a.txt Eq ns/op 7 7 7 7 7
results b.txt Eq ns/op 7 7 7 7 7
stat a.txt b.txt
has out.txt '^Eq-2 .* ~ \(p=1\.000 n=5\+5\)$' "equal samples"

# Ties inside each group, still separated: 0.008; ties across the groups:
# 0.022 by enumeration (462 arrangements of the mid-ranks).
rm -f a.txt b.txt
results a.txt Tie ns/op 1 1 2 2 2
results b.txt Tie ns/op 3 3 4 4 4
results a.txt Mix ns/op 1 2 2 3 3 4
results b.txt Mix ns/op 3 4 4 5 5 6
# Not separated: 4 of 252 arrangements as extreme: 0.016; 3 vs 3 can never
# reach 0.05 (smallest p 0.1).
results a.txt Near ns/op 1 2 3 4 6
results b.txt Near ns/op 5 7 8 9 10
results a.txt Three ns/op 1 2 3
results b.txt Three ns/op 4 5 6
stat a.txt b.txt
has out.txt '^Tie-2 .* \+100\.00% \(p=0\.008 n=5\+5\)$' "ties within groups"
has out.txt '^Mix-2 .* \(p=0\.022 n=6\+6\)$' "ties across groups"
has out.txt '^Near-2 .* \(p=0\.016 n=5\+5\)$' "overlapping samples"
has out.txt '^Three-2 .* ~ \(p=0\.100 n=3\+3\)$' "3 vs 3"
# Four benchmarks in both files: a geomean row.
has out.txt '^geomean ' "geomean row"

# The confidence interval of the median: n=6 -> [x1, x6]; n=10 -> [x2, x9].
rm -f a.txt b.txt
results a.txt Six ns/op 10 11 12 13 14 15
results a.txt Ten ns/op 1 100 100 100 100 100 100 100 110 1000
stat a.txt
[ "$rc" = 0 ] || fail "single file: exit $rc"
has out.txt '^Six-2 +12\.50n ± 20%$' "CI n=6: [10, 15] around 12.5"
has out.txt '^Ten-2 +100\.0n ± 10%$' "CI n=10: [100, 110] around 100"
hasnt out.txt 'vs base' "single file: no comparison"
hasnt out.txt '¹' "n >= 6: no footnote"

# Large samples: the normal approximation with the tie correction.
rm -f a.txt b.txt
results a.txt Big ns/op $(seq 1 60)
results b.txt Big ns/op $(seq 9 68)
results a.txt BigTie ns/op $(for i in $(seq 0 59); do echo $((i / 3)); done)
results b.txt BigTie ns/op $(for i in $(seq 0 59); do echo $((i / 3 + 3)); done)
results a.txt BigSame ns/op $(for i in $(seq 0 59); do echo $((i / 3)); done)
results b.txt BigSame ns/op $(for i in $(seq 0 59); do echo $((i / 3 + 2)); done)
stat a.txt b.txt
has out.txt '^Big-2 .* \(p=0\.019 n=60\+60\)$' "normal approximation"
has out.txt '^BigTie-2 .* \(p=0\.009 n=60\+60\)$' "normal approximation with ties"
has out.txt '^BigSame-2 .* ~ \(p=0\.073 n=60\+60\)$' "normal approximation, not significant"

# Geomean: medians 10 and 1000 -> 100; 20 and 1000 -> 141.4 (+41.42%).
rm -f a.txt b.txt
results a.txt G1 ns/op 10 10 10 10 10 10
results b.txt G1 ns/op 20 20 20 20 20 20
results a.txt G2 ns/op 1000 1000 1000 1000 1000 1000
results b.txt G2 ns/op 1000 1000 1000 1000 1000 1000
stat a.txt b.txt
has out.txt '^geomean +100\.0n +141\.4n +\+41\.42%$' "geomean"
has out.txt '^ +sec/op +sec/op +vs base$' "units row"

# Units: B/op with binary prefixes, MB/s as B/s (binary too), any other unit as is.
rm -f a.txt
printf 'BenchmarkU-2 10 100 ns/op 1536 B/op 3 allocs/op 2.5 MB/s 7 widgets/op\n' >a.txt
stat a.txt
for want in '1\.500Ki' '3\.000' '2\.384Mi' '7\.000' '100\.0n'; do
    has out.txt "^U-2 +$want ± ∞ ¹$" "unit value $want"
done
has out.txt '^ +B/s$' "MB/s shown as B/s"

# Three files: each compared with the first.
rm -f a.txt b.txt c.txt
results a.txt T ns/op 10 11 12 13 14
results b.txt T ns/op 20 21 22 23 24
results c.txt T ns/op 10 11 12 13 14
stat a.txt b.txt c.txt
has out.txt '^T-2 .*\(p=0\.008 n=5\+5\) .* ~ \(p=1\.000 n=5\+5\)$' "three files"

# Config lines shared by all files are shown; pkg groups rows.
printf 'goos: linux\npkg: one\nBenchmarkP 1 5 ns/op\npkg: two\nBenchmarkP 1 6 ns/op\n' >p.txt
stat p.txt
has out.txt '^goos: linux$' "config line"
has out.txt '^pkg: one$' "pkg group one"
has out.txt '^pkg: two$' "pkg group two"

# Bad input: one line on stderr naming the problem, non-zero exit.
bad() {
    local want=$1 what=$2
    shift 2
    stat "$@"
    [ "$rc" = "$want" ] || fail "$what: exit $rc, want $want"
    [ "$(lines err.txt)" = 1 ] || fail "$what: $(lines err.txt) lines on stderr: $(cat err.txt)"
    grep -q '^cprof: benchstat: ' err.txt || fail "$what: message is not 'cprof: benchstat: ...': $(cat err.txt)"
}
: >empty.txt
head -c 65536 /dev/urandom >garbage.bin
printf 'BenchmarkX 10 abc ns/op\nBenchmarkX ten 5 ns/op\nBenchmarkX 10 5\n' >malformed.txt
bad 1 "missing file" nonexistent.txt
bad 1 "empty file" empty.txt
bad 1 "binary garbage" garbage.bin
bad 1 "only malformed lines" malformed.txt
bad 1 "a directory" .
bad 2 "no files"
bad 2 "unknown flag" -bogus p.txt
bad 2 "bad -alpha" -alpha=2 p.txt
bad 2 "same file twice" p.txt p.txt
# Some malformed lines among good ones: skipped, said once, exit 0.
cat p.txt malformed.txt >some.txt
stat some.txt
[ "$rc" = 0 ] || fail "some malformed lines: exit $rc"
[ "$(lines err.txt)" = 1 ] || fail "some malformed lines: want one warning: $(cat err.txt)"
has err.txt 'some\.txt:6: bad value \(3 malformed lines skipped\)' "the warning names the first line"
stat -h
[ "$rc" = 0 ] || fail "-h: exit $rc"

finish
