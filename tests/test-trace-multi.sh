#!/bin/bash
# test-trace-multi.sh: tracing started and stopped several times in one
# process: each file complete on its own, with exactly its own regions.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-trace-lib.sh"

timeout -k 5 60 "$CPROF_TEST_BIN/trace_gt" multi "$T/m" 3 >"$T/gt" 2>"$T/err" ||
    fail "trace_gt multi: $(cat "$T/err")"
for pass in 1 2 3; do
    f="$T/m.$pass"
    "$CPROF" trace summary "$f" >"$T/sum" 2>"$T/err" || fail "pass $pass: $(cat "$T/err")"
    [ ! -s "$T/err" ] && ! grep -q WARNING "$T/sum" || fail "pass $pass: warnings: $(cat "$T/err")"
    want=$(gt pass${pass}_regions)
    row=$(section_row "$T/sum" Regions "pass-$pass")
    set -- $row
    [ "${2:-0}" = "$want" ] || fail "pass $pass: ${2:-0} regions, want $want"
    [ "$(grep -c '^  pass-' "$T/sum")" = 1 ] || fail "pass $pass: another pass's regions in it"
    "$CPROF" trace export -o "$T/m.json" "$f" 2>"$T/err" || fail "export pass $pass: $(cat "$T/err")"
    "$CPROF_TEST_BIN/test-trace-json" "$T/m.json" >"$T/digest" || fail "$(tail -1 "$T/digest")"
    grep -q "^count X pass-$pass $want\$" "$T/digest" || fail "export pass $pass: not $want slices"
done
note "3 traces from one process, each complete"
