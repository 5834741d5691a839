# shellcheck shell=bash
# tests/lib.sh: shell helpers shared by the runtime tests (test-cpu-*.sh,
# test-run-*.sh). Source it; it expects the environment ctest gives every
# test (tests/CMakeLists.txt: CPROF, CPROF_LIBRARY, CPROF_TEST_BIN, ...).
#
# Every profile a test writes goes through check_profile, which makes Go's
# own pprof read it and compares its top function with `cprof top`'s: the
# profile is then known to be valid for a reader nobody here wrote.

set -u

: "${CPROF:?run this under ctest (CPROF is not set)}"
: "${CPROF_TEST_BIN:?run this under ctest (CPROF_TEST_BIN is not set)}"

# A scratch directory per test, removed at exit unless CPROF_TEST_KEEP is set
# (then its path is printed, for looking at the profiles of a failure).
T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-test.XXXXXX") || exit 1
cleanup() {
    if [ -n "${CPROF_TEST_KEEP:-}" ]; then
        echo "# kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

note() {
    echo "# $*"
}

# skip WHY: the test could not check what it is for here; ctest shows it as
# skipped (SKIP_RETURN_CODE 77), not passed.
skip() {
    echo "SKIP: $*"
    exit 77
}

# Go's pprof, kept off the network and out of the real home directory:
# its caches go to the scratch directory, no toolchain or module download is
# ever attempted. -symbolize=none: pprof reads only what cprof wrote, so a
# missing name is cprof's fault and shows, rather than being patched up by
# pprof running addr2line on the binaries.
command -v go >/dev/null 2>&1 || fail "go is not installed (scripts install golang-go): go tool pprof is the independent reader"
gopprof() {
    mkdir -p "$T/gohome"
    HOME="$T/gohome" GOCACHE="$T/gohome/cache" GOPATH="$T/gohome/gopath" GOTOOLCHAIN=local \
        GOPROXY=off GOFLAGS=-mod=mod GOTELEMETRY=off GOENV=off PPROF_TMPDIR="$T/gohome" \
        go tool pprof -symbolize=none "$@"
}

# top_rows TOOL_OUTPUT_FILE: the rows of a -top table as "flat<TAB>cum<TAB>name",
# the same for `go tool pprof -top` and `cprof top` (one format). Values
# are the numbers without units (use -sample_index=samples for counts).
top_rows() {
    awk '
        /flat%.*sum%.*cum%/ { rows = 1; next }
        rows && NF >= 6 {
            name = $0
            sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", name)
            flat = $1; cum = $4
            gsub(/[^0-9.]/, "", flat); gsub(/[^0-9.]/, "", cum)
            printf "%s\t%s\t%s\n", flat + 0, cum + 0, name
        }' "$1"
}

# top_total TOOL_OUTPUT_FILE: N from "... of N total" (units stripped).
top_total() {
    sed -n 's/.* of \([0-9.]*\)[a-zµ]* total.*/\1/p' "$1" | head -1
}

# top_cum ROWS_FILE NAME: the cum value of function NAME (0 if absent).
top_cum() {
    awk -F'\t' -v n="$2" '$3 == n { c = $2 } END { print c + 0 }' "$1"
}

# check_profile FILE [WHAT]: FILE exists, Go's pprof reads it (-raw and
# -top), and its top flat function is `cprof top`'s too. On failure prints
# both tables. Leaves $T/go.top and $T/cprof.top behind for the caller.
check_profile() {
    local f=$1 what=${2:-$1}
    [ -s "$f" ] || fail "$what: no profile written at $f"
    gopprof -raw "$f" >"$T/go.raw" 2>"$T/go.err" ||
        fail "$what: go tool pprof -raw cannot read $f: $(cat "$T/go.err")"
    gopprof -top -nodefraction=0 -sample_index=samples "$f" >"$T/go.top" 2>"$T/go.err" ||
        fail "$what: go tool pprof -top cannot read $f: $(cat "$T/go.err")"
    "$CPROF" top -nodefraction=0 -sample_index=samples "$f" >"$T/cprof.top" 2>"$T/cprof.err" ||
        fail "$what: cprof top cannot read $f: $(cat "$T/cprof.err")"
    top_rows "$T/go.top" >"$T/go.rows"
    top_rows "$T/cprof.top" >"$T/cprof.rows"
    local go_first cprof_first
    go_first=$(head -1 "$T/go.rows")
    cprof_first=$(head -1 "$T/cprof.rows")
    if [ "$go_first" != "$cprof_first" ]; then
        # Two functions with the same flat value may be listed in either
        # order; anything else is a disagreement about the profile.
        local cname cflat gflat
        cname=$(printf '%s\n' "$cprof_first" | cut -f3)
        cflat=$(printf '%s\n' "$cprof_first" | cut -f1)
        gflat=$(awk -F'\t' -v n="$cname" '$3 == n { print $1 }' "$T/go.rows")
        if [ -z "$cflat" ] || [ "$cflat" != "$gflat" ] ||
            [ "$cflat" != "$(printf '%s\n' "$go_first" | cut -f1)" ]; then
            echo "--- go tool pprof -top:"
            cat "$T/go.top"
            echo "--- cprof top:"
            cat "$T/cprof.top"
            fail "$what: top flat function differs: go [$go_first] cprof [$cprof_first]"
        fi
    fi
}

# traces FILE: one line per sample stack of Go's -traces, as
# "count<TAB>leaf<TAB>caller<TAB>...<TAB>root" (sample counts, not time).
traces() {
    gopprof -traces -sample_index=samples "$1" 2>/dev/null | awk '
        /^-+\+-+$/ { if (line != "") print line; line = ""; next }
        line == "" && /^ *[0-9]+ +[^ ]/ {
            v = $1; name = $0; sub(/^ *[0-9]+ +/, "", name); line = v "\t" name; next
        }
        line != "" && /^  +[^ ]/ { name = $0; sub(/^ +/, "", name); line = line "\t" name }
        END { if (line != "") print line }'
}

# profile_has FILE FUNC: FUNC is on some stack of FILE (exact name).
profile_has() {
    traces "$1" | awk -F'\t' -v f="$2" '{ for (i = 2; i <= NF; i++) if ($i == f) found = 1 }
        END { exit !found }'
}

# run_cprof EXPECTED_STATUS ARGS...: runs `timeout 60 cprof run ARGS...`,
# output to $T/out and $T/err; fails on a hang or an unexpected status.
run_cprof() {
    local want=$1 rc
    shift
    timeout -k 5 60 "$CPROF" run "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc = 124 ] || { [ $rc = 137 ] && [ "$want" != 137 ]; }; then
        fail "cprof run $*: hung (timeout), stderr: $(cat "$T/err")"
    fi
    [ "$rc" = "$want" ] ||
        fail "cprof run $*: exit status $rc, want $want; stderr: $(cat "$T/err")"
}

# Whole-number arithmetic helpers for tolerances, in awk (floating point).
# within A B TOL: |A - B| <= TOL.
within() {
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}
