# test-top-lib.sh: helpers the test-top-*.sh scripts source. Not a test.
#
# Gives each script a private temporary directory (removed on exit), a
# failure counter, and a sandbox for the Go toolchain: HOME, caches and
# GOPATH in that directory, no module proxy, no toolchain download, so the
# tests never touch the network or the user's files.

: "${CPROF:?CPROF must name the cprof binary (run through ctest)}"
: "${CPROF_TEST_BIN:?CPROF_TEST_BIN must name the test binary directory}"
: "${CPROF_SOURCE_DIR:?CPROF_SOURCE_DIR must name the source tree}"

WRITE="$CPROF_TEST_BIN/test-pprof-write"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures failure(s)" >&2
        exit 1
    fi
    echo "all checks passed"
    exit 0
}

# Exits 77 (ctest's skip) when there is no Go toolchain.
use_go() {
    if ! command -v go >/dev/null 2>&1; then
        echo "SKIP: no 'go' command (Debian package golang-go)"
        exit 77
    fi
    export HOME="$tmp/home" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath"
    export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOSUMDB=off GO111MODULE=on
    export PPROF_TMPDIR="$tmp/pprof" PPROF_BINARY_PATH="$tmp/nobinaries"
    mkdir -p "$HOME" "$GOCACHE" "$GOPATH"
}

# The rows of a -top table (after the column header line).
top_rows() {
    sed -n '/^ *flat  *flat%/,$p' "$1" | sed 1d
}

# "NAME FLAT" of the first row of a -top table.
top_first() {
    top_rows "$1" | head -n 1 | awk '{ print $6, $1 }'
}
