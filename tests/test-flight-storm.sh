#!/bin/bash
# test-flight-storm.sh: a trigger storm. 4 threads end slow regions (2 ms,
# trigger "slow" > 1 ms) back to back for 2.5 s: hundreds a second, with
# min_age 1 s. Exactly one snapshot per min_age window: 1 file by 950 ms
# (the first trigger at ~2 ms), 3 at the end (triggers at ~0, >= 1 s,
# >= 2 s; a fourth would need 3 s). Each file is a complete trace.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

timeout -k 5 60 "$GT" storm "$T" >"$T/gt" 2>"$T/err" || fail "flight_gt storm: $(cat "$T/err")"
early=$(gt "$T/gt" slow_regions_950ms)
[ "$early" -ge 100 ] || fail "only $early slow regions in the first 950 ms: not a storm"
[ "$(gt "$T/gt" files_950ms)" = 1 ] ||
    fail "$(gt "$T/gt" files_950ms) files after 950 ms of the storm, want 1"
[ "$(gt "$T/gt" files_end)" = 3 ] || fail "$(gt "$T/gt" files_end) files after 2.5 s, want 3"
[ "$(grep -c 'flight recorder: wrote' "$T/err")" = 3 ] || fail "stderr: $(cat "$T/err")"
for f in "$T"/storm-*.cpt; do
    check_snapshot "$f" "$(basename "$f")"
    grep -q '^note slow took' "$T/chk" || fail "$(basename "$f"): no NOTE saying why"
done
note "$(gt "$T/gt" slow_regions) slow regions ($early in the first 950 ms) wrote 3 files"
