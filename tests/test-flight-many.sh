#!/bin/bash
# test-flight-many.sh: 20 snapshots in a loop (cprof_flight_write, 20 ms
# apart) while 8 threads write tasks, regions and logs: each is a complete
# trace that decodes to its last byte, every name its events use is defined
# in it, `cprof trace summary` reads it, and the later snapshots hold events
# of all 8 writers.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

timeout -k 5 60 "$GT" many "$T" >"$T/gt" 2>"$T/err" || fail "flight_gt many: $(grep -v 'wrote' "$T/err")"
[ "$(gt "$T/gt" snapshots_ok)" = 20 ] || fail "$(gt "$T/gt" snapshots_ok) of 20 snapshots written"
n=0
for f in "$T"/many-*.cpt; do
    check_snapshot "$f" "$(basename "$f")"
    [ "$(fact events)" -gt 0 ] || fail "$(basename "$f"): no events"
    [ "$(task_fact job 5)" -gt 0 ] && [ "$(region_fact work 5)" -gt 0 ] ||
        fail "$(basename "$f"): no complete job task or work region"
    writers=$(grep -c '^thread ' "$T/chk")
    n=$((n + 1))
    note "$(basename "$f"): $(fact file) bytes, $(fact events) events, $writers threads"
done
[ $n = 20 ] || fail "$n snapshot files, want 20"
# The last one, ~700 ms in: every writer has filled buffers by then.
[ "$writers" -ge 8 ] || fail "the last snapshot has events of $writers threads, want 8"
