#!/usr/bin/env bash
# scripts/bench-trace.sh: the tracer's cost per event against its anchor, Go's
# own tracer, on this machine, in one run; prints Markdown for
# docs/performance.md.
#
#   scripts/bench-trace.sh [-n ROUNDS] [-b BUILD_DIR] [--no-build]
#
#   -n ROUNDS     rounds of bench_trace (default 7; env N)
#   -b BUILD_DIR  build directory (default <repo>/build-bench; env BUILD_DIR);
#                 configured (RelWithDebInfo) if it has no CMakeCache.txt
#   --no-build    use the programs already in BUILD_DIR
#
# 1. bench/bench_trace.c: ns per region begin+end pair and per log, on 1 and
#    2 threads, tracing off and on (rounds alternate; medians), bytes per
#    event on disk, and the cost of one clock read (every event reads one).
# 2. bench/go_trace_anchor: the same two operations with Go's runtime/trace
#    (Debian's golang-go: the Go the machine has), off and on.
set -euo pipefail

. "$(dirname "$0")/bench-lib.sh"
bench_args 17 "$@"
bench_build bench_trace
bench=$build/bin/bench_trace
[ -x "$bench" ] || { log "$bench is missing"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-trace.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "Machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
echo
echo "cprof (\`bench_trace -rounds $rounds\`):"
echo
"$bench" -rounds "$rounds"
echo
if command -v go >/dev/null; then
    # Offline and out of the real home: caches in the scratch directory, no
    # module or toolchain download.
    echo "Go's tracer, the anchor (\`go run bench/go_trace_anchor/main.go\`):"
    echo
    HOME=$tmp GOCACHE=$tmp/cache GOPATH=$tmp/gopath GO111MODULE=off GOTOOLCHAIN=local GOFLAGS= \
        go run "$here/bench/go_trace_anchor/main.go"
else
    echo "(go is missing: scripts/setup.sh installs golang-go; no anchor)"
fi
