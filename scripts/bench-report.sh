#!/usr/bin/env bash
# scripts/bench-report.sh: `cprof top` against `go tool pprof -top` on one
# large profile; prints Markdown for docs/performance.md ("## cprof top on a
# large profile").
#
#   scripts/bench-report.sh [-n N] [-b BUILD_DIR] [--no-build] [-o OUT_DIR]
#
#   -n N          runs of each tool (default 5; env N); the median is reported
#   -b BUILD_DIR  build directory (default <repo>/build-bench; env BUILD_DIR);
#                 configured if it has no CMakeCache.txt
#   --no-build    use the programs already in BUILD_DIR
#   -o OUT_DIR    keep the profile and both outputs there (default: a temp dir)
#
# The profile is test-pprof-write's "large": 100,000 samples over 10,000
# locations of 2,000 functions, stacks 8 to 40 deep (about 4.6 MB gzip'd).
# Both tools read the same file and print every function (no -n/-nodecount);
# each run is timed from exec to exit, output to a file. go tool pprof runs
# with -symbolize=none, a sandboxed HOME and no network, as in the tests.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-5}
BUILD_DIR=${BUILD_DIR:-$here/build-bench}
build=1
out=
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    -b) BUILD_DIR=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -o) out=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench-report.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v go >/dev/null || { echo "bench-report.sh: needs go (golang-go)" >&2; exit 1; }

if [ "$build" = 1 ]; then
    [ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$here" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD_DIR" --target cprof_tool test-pprof-write -j "$(nproc)" >/dev/null
fi
cprof=$BUILD_DIR/bin/cprof
write=$BUILD_DIR/tests/test-pprof-write

if [ -z "$out" ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/home"
export HOME=$out/home GOCACHE=$out/gocache GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod
export PPROF_TMPDIR=$out/pprof PPROF_BINARY_PATH=$out/nobinaries TZ=UTC
"$write" large "$out/large.pb.gz"

# seconds CMD...: "WALL CPU" of one run (CPU: user + system, children
# included: go tool pprof is a child of go), output to $out/last.txt.
seconds() {
    local TIMEFORMAT='%R %U %S' t
    t=$({ time "$@" >"$out/last.txt" 2>&1; } 2>&1)
    echo "$t" | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
}

# median COLUMN: of that column of the lines read.
median() { awk -v c="$1" '{ print $c }' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

go tool pprof -top -symbolize=none "$out/large.pb.gz" >/dev/null 2>&1 # warm the page cache and go's
: >"$out/cprof.times"
: >"$out/go.times"
for _ in $(seq "$N"); do
    seconds "$cprof" top "$out/large.pb.gz" >>"$out/cprof.times"
    cp "$out/last.txt" "$out/cprof.txt"
    seconds go tool pprof -top -symbolize=none "$out/large.pb.gz" >>"$out/go.times"
    cp "$out/last.txt" "$out/go.txt"
done
c=$(median 1 <"$out/cprof.times")
g=$(median 1 <"$out/go.times")
cc=$(median 2 <"$out/cprof.times")
gc=$(median 2 <"$out/go.times")
rows_c=$(sed -n '/flat%/,$p' "$out/cprof.txt" | sed 1d | wc -l)
rows_g=$(sed -n '/flat%/,$p' "$out/go.txt" | sed 1d | wc -l)
same=no
cmp -s "$out/cprof.txt" "$out/go.txt" && same=yes
size=$(du -k "$out/large.pb.gz" | cut -f1)

walls() { awk '{ printf "%s ", $1 }' "$1"; }
echo "| tool | median wall (s), $N runs | median CPU (s) | wall of each run (s) | rows |"
echo "| --- | ---: | ---: | --- | ---: |"
echo "| \`cprof top\` | $c | $cc | $(walls "$out/cprof.times")| $rows_c |"
echo "| \`go tool pprof -top -symbolize=none\` | $g | $gc | $(walls "$out/go.times")| $rows_g |"
echo
awk -v c="$c" -v g="$g" -v cc="$cc" -v gc="$gc" -v s="$size" -v same="$same" 'BEGIN {
    printf "Ratio go tool pprof / cprof top: %.1f in wall time, %.1f in CPU time (profile: %d KiB gzip'\''d; outputs byte-identical: %s)\n", g / c, gc / cc, s, same }'
