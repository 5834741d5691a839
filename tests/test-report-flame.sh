#!/bin/sh
# test-report-flame.sh: `cprof flame` writes a well-formed, self-contained
# SVG (checked with xmllint from libxml2-utils) whose frames carry the
# function names as <title> elements, in flamegraph.pl's order; the same
# input gives the same bytes; -diff colours by change; `cprof dot -o x.svg`
# renders through Graphviz, or writes x.dot without it.
. "$(dirname "$0")/test-report-lib.sh"
make_profiles
cd "$tmp" || exit 1
if ! command -v xmllint >/dev/null 2>&1; then
    echo "SKIP: no xmllint (Debian package libxml2-utils)"
    exit 77
fi

"$CPROF" flame -o f.svg golden.pb.gz || fail "flame failed"
xmllint --noout f.svg || fail "flame: not well-formed XML"
for n in main work hot helper rec '\[golden\]' tiny; do
    grep -q "<title>$n ([0-9.]*m*s, [0-9.]*%)</title>" f.svg || fail "flame: no <title> for $n"
done
grep -q '<title>hot (1.50s, 60.00%)</title>' f.svg || fail "flame: hot's tooltip is not 1.50s, 60%"
# Children left to right in name order, as flamegraph.pl: helper, hot, tiny.
order=$(grep -o '<title>[a-z]* (' f.svg | sed 's/<title>//; s/ (//' | tr '\n' ' ')
case "$order" in
*"helper hot tiny"*) ;;
*) fail "flame: work's children are not in name order: $order" ;;
esac
# Self-contained: inline script and style, no reference to anything outside.
grep -q '<script type="text/ecmascript"><!\[CDATA\[' f.svg || fail "flame: no inline script"
grep -q '<style' f.svg || fail "flame: no inline style"
grep -Eq '(href|src)=' f.svg && fail "flame: refers to an external resource"
grep -q 'function zoom' f.svg || fail "flame: no zoom"
grep -q 'id="search"' f.svg || fail "flame: no search box"
"$CPROF" flame -o f2.svg golden.pb.gz && cmp -s f.svg f2.svg || fail "flame: not deterministic"
"$CPROF" flame golden.pb.gz >f3.svg && cmp -s f.svg f3.svg || fail "flame: stdout differs from -o"

# Differential: hot doubled (red), rec unchanged (neutral).
"$CPROF" flame -diff -base golden.pb.gz -o d.svg golden-hot2x.pb.gz || fail "flame -diff failed"
xmllint --noout d.svg || fail "flame -diff: not well-formed XML"
grep -q '<title>hot (3s, 75.00%; base 1.50s; +1.50s)</title><rect [^>]*fill="rgb(255,' d.svg ||
    fail "flame -diff: hot is not red with its change in the tooltip"
grep -q '<title>rec ([^)]*)</title><rect [^>]*fill="rgb(250,250,250)"' d.svg ||
    fail "flame -diff: unchanged rec is not neutral"
"$CPROF" diff -flame -base golden.pb.gz -o d2.svg golden-hot2x.pb.gz && cmp -s d.svg d2.svg ||
    fail "diff -flame: not the same graph as flame -diff"

# A heap profile: bytes in the tooltips.
"$CPROF" flame -o h.svg heap.pb.gz && xmllint --noout h.svg || fail "flame heap failed"
grep -q '<title>alloc_big (4MB, ' h.svg || fail "flame heap: alloc_big is not 4MB"

# Graphviz when there is one; the .dot text and one line otherwise.
if command -v dot >/dev/null 2>&1; then
    "$CPROF" dot -o g.svg golden.pb.gz || fail "dot -o g.svg failed"
    xmllint --noout g.svg || fail "dot: the SVG is not well-formed"
    grep -q '<title>N[0-9]*&#45;&gt;N[0-9]*</title>' g.svg || fail "dot: no edges in the SVG"
    grep -q '>hot</text>' g.svg || fail "dot: hot is not in the SVG"
fi
mkdir nodot
PATH="$tmp/nodot" "$CPROF" dot -o n.svg golden.pb.gz 2>err || fail "dot without Graphviz failed"
[ -s n.dot ] && [ ! -e n.svg ] || fail "dot without Graphviz: no n.dot instead of n.svg"
[ "$(wc -l <err)" -eq 1 ] && grep -q "^cprof: dot: .*n.dot" err ||
    fail "dot without Graphviz: want one line naming n.dot, got: $(cat err)"
finish
