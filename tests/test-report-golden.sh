#!/bin/sh
# test-report-golden.sh: the text reports on synthetic profiles with known
# numbers (test-pprof-write), compared with golden files in
# tests/golden/report/. The list, peek and filtered top outputs are also
# what `go tool pprof` 1.19 prints for the same files and flags
# (test-report-go.sh checks that where Go is installed).
. "$(dirname "$0")/test-report-lib.sh"
make_profiles
cd "$tmp" || exit 1
SRC="$GOLDEN"

# list: sources found through -trim_path + -source_path, through pprof's
# rule of trimming up to a directory named like a search root, and not at
# all (a one-line error per function, then the lines with values).
golden list-all list -trim_path=/build/project -source_path="$SRC" . listing.pb.gz
mkdir -p project/src && cp "$SRC/src/listing.c" project/src/
golden list-root list -source_path="$tmp/project" 'sum|main' listing.pb.gz
golden list-missing list -source_path=/nonexistent 'sum|nofile' listing.pb.gz
golden list-golden list -source_path=/nonexistent hot golden.pb.gz

golden peek-work peek work golden.pb.gz
golden peek-all peek . golden.pb.gz
golden peek-focus peek main -focus=hot golden.pb.gz

# Filters with pprof's meanings; the total stays that of the whole profile.
golden top-focus top -focus=work golden.pb.gz
golden top-ignore top -ignore=rec golden.pb.gz
golden top-hide top -hide=work golden.pb.gz
golden top-show top -show='hot|main' golden.pb.gz
golden top-tagfocus top -tagfocus=handler=search tagged.pb.gz
# A numeric range in the label's own unit (pprof wants a unit here: 1kb:).
golden top-tagfocus-num top -tagfocus=bytes=1000: tagged.pb.gz
golden top-tagignore top -tagignore=handler=sea tagged.pb.gz

golden folded folded golden.pb.gz
golden folded-samples folded -sample_index=samples golden.pb.gz
golden folded-heap folded heap.pb.gz

golden diff diff -base golden.pb.gz golden-hot2x.pb.gz
golden diff-cum diff -cum -base golden.pb.gz golden-hot2x.pb.gz

golden dot dot golden.pb.gz
golden explain-golden explain golden.pb.gz

# diff reports the known change and nothing else: hot's flat doubled
# (+1.50s), and the cum of its callers work and main grew by as much.
"$CPROF" diff -base golden.pb.gz golden-hot2x.pb.gz >d.txt || fail "diff failed"
sed -n '/function$/,$p' d.txt | sed 1d >rows.txt
[ "$(wc -l <rows.txt)" -eq 3 ] || fail "diff: want 3 changed functions, got: $(cat rows.txt)"
awk 'NR == 1 && !($3 == "+1500ms" && $NF == "hot") { exit 1 }' rows.txt ||
    fail "diff: the first row is not hot +1500ms: $(head -1 rows.txt)"
grep -q '^Change: +1500ms (+60.0%)$' d.txt || fail "diff: total change is not +1500ms (+60.0%)"
for f in work main; do
    awk -v f="$f" '$NF == f && $7 == "+1500ms" { ok = 1 } END { exit !ok }' rows.txt ||
        fail "diff: $f's cum did not grow by 1500ms"
done

# dot: every kept function is a node, every call an edge (helper's marked inlined).
"$CPROF" dot golden.pb.gz >g.dot || fail "dot failed"
for n in main work hot helper rec '\[golden\]'; do
    grep -q "^N[0-9]* \[label=\"$n\\\\n" g.dot || fail "dot: no node for $n"
done
node() { sed -n "s/^\(N[0-9]*\) \[label=\"$1\\\\n.*/\1/p" g.dot; }
for e in "main work" "work hot" "work helper" "main rec"; do
    set -- $e
    grep -q "^$(node "$1") -> $(node "$2") " g.dot || fail "dot: no edge $1 -> $2"
done
grep -q "label=\" 500ms\\\\n (inline)\"" g.dot || fail "dot: the inlined call is not marked"
grep -q 'tiny' g.dot && fail "dot: tiny (under the node fraction) was not dropped"

# folded stacks add up to the profile's total, in the chosen unit.
sum=$("$CPROF" folded -sample_index=samples golden.pb.gz | awk '{ s += $NF } END { print s }')
[ "$sum" = 250 ] || fail "folded: samples add up to $sum, want 250"

finish
