# test-report-lib.sh: helpers the test-report-*.sh scripts source. Not a test.
#
# Builds on test-top-lib.sh (a private temporary directory, fail/finish,
# $WRITE for test-pprof-write) and adds the synthetic profiles every report
# test reads, and a golden-file comparison.
. "$(dirname "$0")/test-top-lib.sh"

# The Time: lines are in local time, as pprof prints them.
export TZ=UTC
GOLDEN="$CPROF_SOURCE_DIR/tests/golden/report"

make_profiles() {
    for kind in golden golden-hot2x heap listing tagged; do
        "$WRITE" "$kind" "$tmp/$kind.pb.gz" || exit 1
    done
}

# golden NAME ARGS...: `cprof ARGS` must succeed and print exactly
# tests/golden/report/NAME.txt. CPROF_UPDATE_GOLDEN=1 rewrites the file.
golden() {
    name=$1
    shift
    if ! "$CPROF" "$@" >"$tmp/got" 2>"$tmp/err"; then
        fail "$name: cprof $* failed: $(cat "$tmp/err")"
        return
    fi
    if [ -n "${CPROF_UPDATE_GOLDEN:-}" ]; then
        cp "$tmp/got" "$GOLDEN/$name.txt"
        return
    fi
    if ! diff -u "$GOLDEN/$name.txt" "$tmp/got" >"$tmp/diff"; then
        fail "$name: cprof $* differs from $name.txt:"
        cat "$tmp/diff" >&2
    fi
}
