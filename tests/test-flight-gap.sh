#!/bin/bash
# test-flight-gap.sh: a snapshot has no hole before its end. A thread logs
# 0, 1, 2, ... without pause while 10 snapshots are taken with
# cprof_flight_write; in each, the logs it holds must be one unbroken run
# (flight_check's "seq MIN MAX COUNT": COUNT = MAX - MIN + 1), with no event
# lost. Buffers the thread had filled and handed over, but the writer had not
# yet put into the ring, were once missing from snapshots: up to 20 ms of
# the busiest threads' history, just before the moment asked for.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

timeout -k 5 60 "$GT" gap "$T" >"$T/gt" 2>"$T/err" || fail "flight_gt gap: $(grep -v 'wrote' "$T/err")"
[ "$(gt "$T/gt" snapshots_ok)" = 10 ] || fail "$(gt "$T/gt" snapshots_ok) of 10 snapshots written"
n=0
for f in "$T"/gap-*.cpt; do
    check_snapshot "$f" "$(basename "$f")"
    set -- $(sed -n 's/^seq //p' "$T/chk")
    [ $# = 3 ] || fail "$(basename "$f"): no seq logs"
    [ "$(fact end 3)" = 0 ] || fail "$(basename "$f"): $(fact end 3) events were lost"
    want=$(($2 - $1 + 1))
    [ "$3" = "$want" ] ||
        fail "$(basename "$f"): logs $1..$2 should be $want, the snapshot holds $3: a hole of $((want - $3))"
    n=$((n + 1))
done
[ $n = 10 ] || fail "$n snapshot files, want 10"
note "10 snapshots, each an unbroken run of logs to its end"
