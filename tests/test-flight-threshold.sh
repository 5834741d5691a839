#!/bin/bash
# test-flight-threshold.sh: a trigger fires on the duration in real time.
# With "slow" > 100 ms and min_age 100 ms: five regions of 60 ms write no
# file; one of 150 ms writes one, whose NOTE gives its duration (within 20%
# of the program's own clock); a task "slowtask" > 100 ms begun on main and
# ended on another thread 150 ms later writes another.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

timeout -k 5 60 "$GT" threshold "$T" >"$T/gt" 2>"$T/err" || fail "flight_gt threshold: $(cat "$T/err")"
under=$(gt "$T/gt" under_ms)
if ge "$under" 100; then
    note "the machine is too loaded: a 60 ms sleep took $under ms; the under-threshold part is skipped"
else
    [ "$(gt "$T/gt" files_under)" = 0 ] ||
        fail "regions of at most $under ms fired a 100 ms trigger: $(grep wrote "$T/err" | head -2)"
fi
files_over=$(($(gt "$T/gt" files_over) - $(gt "$T/gt" files_under)))
[ "$files_over" = 1 ] || fail "a region of $(gt "$T/gt" over_ms) ms wrote $files_over files, want 1"
[ "$(($(gt "$T/gt" files_task) - $(gt "$T/gt" files_over)))" = 1 ] ||
    fail "a task of $(gt "$T/gt" task_ms) ms ended on another thread wrote no file"
close() { # WHAT SAID_MS MEASURED_MS
    awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= b * 0.2) }' ||
        fail "$1: the NOTE says $2 ms, the program measured $3 ms"
}
said=$(sed -n 's/.*(slow took \([0-9.]*\) ms.*/\1/p' "$T/err" | tail -1)
close "slow region" "$said" "$(gt "$T/gt" over_ms)"
said=$(sed -n 's/.*(slowtask took \([0-9.]*\) ms.*/\1/p' "$T/err" | tail -1)
close "slowtask" "$said" "$(gt "$T/gt" task_ms)"
for f in "$T"/threshold-*.cpt; do
    check_snapshot "$f" "$(basename "$f")"
done
