#!/bin/bash
# test-trace-gt.sh: `cprof trace summary` and `cprof trace export` agree with
# what tests/workloads/trace_gt.c did and measured: exact counts of tasks,
# regions and logs; durations within 20% or 2 ms; regions nested as the
# program nested them; the mutex and condition waits as blocked time on the
# threads that waited; a task ended on another thread than began it; threads
# created and ended while tracing.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-trace-lib.sh"

make_gt_trace
n=$(($(gt workers) * $(gt requests)))
rounds=$(gt rounds)

# ---- summary ------------------------------------------------------------------
"$CPROF" trace summary "$T/t.cpt" >"$T/sum" 2>"$T/sum.err" ||
    fail "summary: status $?: $(cat "$T/sum.err")"
[ ! -s "$T/sum.err" ] || fail "summary wrote to stderr: $(cat "$T/sum.err")"
! grep -q WARNING "$T/sum" || fail "a complete trace has warnings: $(grep WARNING "$T/sum")"
read_n=$(sed -n 's/.*events: \([0-9]*\) read, \([0-9]*\) written, \([0-9]*\) lost.*/\1 \2 \3/p' "$T/sum")
set -- $read_n
[ $# -eq 3 ] && [ "$1" = "$2" ] && [ "$3" = 0 ] || fail "events line: $(grep 'events:' "$T/sum")"
note "events: $1 read = written, none lost"

# Tasks and regions: exact counts, totals close to the program's own clock.
check_row() { # SECTION NAME COUNT WANT_TOTAL_NS
    local row
    row=$(section_row "$T/sum" "$1" "$2")
    [ -n "$row" ] || fail "$1: no row for $2"
    set -- "$1" "$2" "$3" "$4" $row
    [ "$6" = "$3" ] || fail "$1 $2: count $6, want $3"
    close_to "$1 $2 total" "$(to_ns "$7")" "$4"
}
check_row Tasks request "$n" "$(gt request_ns)"
check_row Tasks handoff 1 "$(gt handoff_ns)"
check_row Regions handle "$n" "$(gt handle_ns)"
check_row Regions parse "$n" "$(gt parse_ns)"
check_row Regions io "$n" "$(gt io_ns)"
section_row "$T/sum" Regions parked-work | grep -q ' 1 ' || fail "parked-work: not one region"
section_lines "$T/sum" Tasks handoff | grep -q '1 ended on another thread' ||
    fail "handoff: not seen ending on another thread"
section_lines "$T/sum" Regions parse | grep -q '#' || fail "parse: no histogram"

# Threads: the waits on the threads that waited, names where the file has them.
thread_sync() { # TID → "SYNC_NS"
    local row
    row=$(thread_row "$T/sum" "$1")
    [ -n "$row" ] || fail "no thread row for tid $1"
    set -- $row
    to_ns "$6"
}
for w in 1 2; do
    tid=$(gt waiter${w}_tid)
    close_to "waiter-$w blocked (sync)" "$(thread_sync "$tid")" "$(gt wait${w}_ns)"
    grep -A1 "^ *$tid " "$T/sum" | grep -q "sync: mutex .* ($rounds)" ||
        fail "waiter-$w: not $rounds mutex waits: $(grep -A1 "^ *$tid " "$T/sum")"
done
tid=$(gt holder_tid)
close_to "holder blocked (cond)" "$(thread_sync "$tid")" "$(gt hold_ns)"
grep -A1 "^ *$tid " "$T/sum" | grep -q "sync: cond .* ($rounds)" || fail "holder: no cond waits"
thread_row "$T/sum" "$(gt parked_tid)" | awk '$2 == "parked"' | grep -q . ||
    fail "parked: thread alive at the stop is not named"
thread_row "$T/sum" "$(gt main_tid)" | grep -q . || fail "no main thread row"
# Created and ended while tracing: they start after the trace did.
for tid in $(gt waiter1_tid) $(gt finisher_tid); do
    set -- $(thread_row "$T/sum" "$tid")
    [ "$(to_ns "$3")" -gt 0 ] || fail "thread $tid created while tracing starts at $3"
done

# Threads by name: main and parked were there before the trace; the holder,
# the finisher, two waiters and the workers came and went during it.
want_all=$((6 + $(gt workers))) want_new=$((4 + $(gt workers)))
grep -q "^Threads by name: $want_all in the trace, $want_new started and $want_new ended during it" \
    "$T/sum" || fail "threads by name: $(grep '^Threads by name' "$T/sum"), want $want_all, $want_new, $want_new"
set -- $(awk '/^Threads by name/ { f = 1 } f && $1 == "finisher" { print; exit }' "$T/sum")
[ "$2 $3 $4" = "1 1 1" ] || fail "finisher's group: $*"
close_to "finisher's lifetime (P50 LIFE)" "$(to_ns "$5")" "$(gt finisher_ns)"
set -- $(awk '/^Threads by name/ { f = 1 } f && $1 == "parked" { print; exit }' "$T/sum")
[ "$2 $4" = "1 0" ] || fail "parked's group (alive at the stop): $*"

# Logs by category.
section_row "$T/sum" "Logs by category" worker | grep -q " $n\$" || fail "worker logs: not $n"
section_row "$T/sum" "Logs by category" main | grep -q ' 2$' || fail "main logs: not 2"
grep -q 'tracing started' "$T/sum" || fail "first main log message not shown"
note "summary agrees"

# ---- export -----------------------------------------------------------------------
"$CPROF" trace export -format=json -o "$T/t.json" "$T/t.cpt" 2>"$T/exp.err" ||
    fail "export: status $?: $(cat "$T/exp.err")"
"$CPROF_TEST_BIN/test-trace-json" "$T/t.json" >"$T/digest" || fail "$(tail -1 "$T/digest")"
d() { # the count of a digest key (summed over threads with "*" in it)
    awk -v k="$1" '{ key = $0; sub(/ [0-9]+$/, "", key) } key ~ ("^" k "$") { s += $NF }
        END { print s + 0 }' "$T/digest"
}
for r in handle parse io; do
    [ "$(d "count X $r")" = "$n" ] || fail "export: $(d "count X $r") X slices $r, want $n"
done
[ "$(d "count b request")" = "$n" ] && [ "$(d "count e request")" = "$n" ] ||
    fail "export: request tasks are not $n b/e pairs"
[ "$(d "count i worker")" = "$n" ] && [ "$(d "count i main")" = 2 ] || fail "export: logs"
[ "$(d "nest [0-9]* handle parse")" = "$n" ] || fail "export: parse not nested in handle"
[ "$(d "nest [0-9]* handle io")" = "$n" ] || fail "export: io not nested in handle"
[ "$(d "nest [0-9]* io clock_nanosleep")" = "$n" ] || fail "export: the sleeps not inside io"
xsum() { # TID NAME → "COUNT TOTAL_NS"
    awk -v t="$1" -v n="$2" '$1 == "xsum" && $2 == t && $3 == n { print $4, $5 }' "$T/digest"
}
for w in 1 2; do
    set -- $(xsum "$(gt waiter${w}_tid)" mutex)
    [ "${1:-0}" = "$rounds" ] || fail "export: waiter-$w has ${1:-0} mutex slices"
    close_to "export: waiter-$w mutex time" "$2" "$(gt wait${w}_ns)"
done
set -- $(xsum "$(gt holder_tid)" cond)
[ "${1:-0}" = "$rounds" ] || fail "export: holder has ${1:-0} cond slices"
close_to "export: holder cond time" "$2" "$(gt hold_ns)"
for r in handle parse io; do
    total=$(awk -v n="$r" '$1 == "xsum" && $3 == n { s += $5 } END { print s + 0 }' "$T/digest")
    close_to "export: $r total" "$total" "$(gt ${r}_ns)"
done
set -- $(awk '$1 == "task" && $2 == "handoff"' "$T/digest")
[ "$3" = "$(gt main_tid)" ] && [ "$4" = "$(gt finisher_tid)" ] ||
    fail "export: handoff task from $3 to $4, want $(gt main_tid) to $(gt finisher_tid)"
close_to "export: handoff duration" "$5" "$(gt handoff_ns)"
grep -q "^thread $(gt parked_tid) parked\$" "$T/digest" || fail "export: parked not named"
note "export agrees ($(d events) events)"
