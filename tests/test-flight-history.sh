#!/bin/bash
# test-flight-history.sh: a recorder keeping >= 2 s of history (min_age 2 s,
# 64 MiB) while 4 workers write regions and logs for ~3 s; then a slow
# region (100 ms) on main fires a trigger ("slow" > 50 ms). The snapshot is
# a complete trace, holds the slow region that fired it, and >= 2 s of each
# worker's events (the time span of its EVENTS, converted with the CLOCK
# records).
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

timeout -k 5 60 "$GT" history "$T" >"$T/gt" 2>"$T/err" || fail "flight_gt history: $(cat "$T/err")"
[ "$(gt "$T/gt" written)" = 1 ] || fail "the trigger wrote no file"
grep -q "flight recorder: wrote $T/history.cpt (slow took" "$T/err" ||
    fail "stderr does not name the file: $(cat "$T/err")"
check_snapshot "$T/history.cpt" snapshot
grep -q '^note slow took' "$T/chk" || fail "no NOTE saying why: $(grep '^note' "$T/chk")"

# >= 2 s of every worker's events.
for tid in $(awk '$1 == "worker_tid" { print $2 }' "$T/gt"); do
    span=$(thread_fact "$tid" 4)
    [ -n "$span" ] || fail "worker $tid: no events in the snapshot"
    ge "$span" 2000 || fail "worker $tid: $span ms of history, want >= 2000 ms" \
        "(its last event in the file is $(thread_fact "$tid" 6) ms before the snapshot's end)"
    note "worker $tid: $span ms of history, last event $(thread_fact "$tid" 6) ms before the end"
done

# The slow region that fired the trigger, begun and ended, on main.
main=$(gt "$T/gt" main_tid)
pairs=$(region_fact slow 5)
main_events=$(thread_fact "$main" 3)
[ "$pairs" -ge 1 ] || fail "the slow region that fired the trigger is not in the snapshot" \
    "(region slow: $(region_fact slow 3) begins, $(region_fact slow 4) ends;" \
    "main thread $main: ${main_events:-no} events)"
ge "$(region_fact slow 6)" 99 || fail "slow region lasts $(region_fact slow 6) ms, want >= 100"
sed -n '/^Regions:/,/^$/p' "$T/sum" | grep -q '^  slow ' ||
    fail "cprof trace summary does not list the slow region"
note "snapshot: $(fact file) bytes, slow region $(region_fact slow 6) ms"
