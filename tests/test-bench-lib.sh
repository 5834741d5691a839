# shellcheck shell=bash
# test-bench-lib.sh: helpers the test-bench*.sh, test-benchstat*.sh and
# test-doctor.sh scripts source. Not a test. Gives each script a scratch
# directory (removed at exit unless CPROF_TEST_KEEP is set), a failure
# counter, and checks that report what they expected and what they got.

set -u
: "${CPROF:?run this under ctest (CPROF is not set)}"
: "${CPROF_TEST_BIN:?run this under ctest (CPROF_TEST_BIN is not set)}"
: "${CPROF_SOURCE_DIR:?run this under ctest (CPROF_SOURCE_DIR is not set)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-test.XXXXXX") || exit 1
cleanup() {
    if [ -n "${CPROF_TEST_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
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

# has FILE REGEX WHAT: FILE has a line matching the extended REGEX.
has() {
    grep -Eq -- "$2" "$1" || { fail "$3: no line matching /$2/ in:"; sed 's/^/    /' "$1" >&2; }
}

# hasnt FILE REGEX WHAT
hasnt() {
    if grep -Eq -- "$2" "$1"; then
        fail "$3: unexpected line matching /$2/:"
        grep -E -- "$2" "$1" | sed 's/^/    /' >&2
    fi
}

# lines FILE: the number of lines.
lines() {
    wc -l <"$1" | tr -d ' '
}

# Go's toolchain kept off the network and out of the real home directory.
use_go() {
    if ! command -v go >/dev/null 2>&1; then
        echo "SKIP: no 'go' command (Debian package golang-go)"
        exit 77
    fi
    export HOME="$T/home" GOCACHE="$T/gocache" GOPATH="$T/gopath"
    export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOSUMDB=off GO111MODULE=on
    export GOTELEMETRY=off PPROF_TMPDIR="$T/pprof"
    mkdir -p "$HOME" "$GOCACHE" "$GOPATH"
}
