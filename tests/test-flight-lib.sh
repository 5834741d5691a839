# shellcheck shell=bash
# tests/test-flight-lib.sh: helpers of the flight recorder's tests
# (test-flight-*.sh), on top of tests/lib.sh. Source it after lib.sh.
#
# Every snapshot goes through check_snapshot: flight_check (a record walker
# written for these tests, not the tool's reader) must find a valid and
# complete trace, and `cprof trace summary` must read it.

# shellcheck disable=SC2034 # used by the scripts that source this
GT=$CPROF_TEST_BIN/flight_gt
CHECK=$CPROF_TEST_BIN/flight_check
BG_PIDS=""

flight_cleanup() {
    local p
    for p in $BG_PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    cleanup
}
trap flight_cleanup EXIT

# gt FILE KEY: the value of "KEY value" in a flight_gt output file.
gt() {
    awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# check_snapshot FILE [WHAT]: FILE is a valid, complete trace. Leaves
# flight_check's facts in $T/chk (see tests/workloads/flight_check.c) and
# the summary in $T/sum.
check_snapshot() {
    local f=$1 what=${2:-$1}
    [ -s "$f" ] || fail "$what: no snapshot at $f"
    "$CHECK" "$f" >"$T/chk" || fail "$what: $(grep '^error' "$T/chk")"
    [ "$(fact unnamed)" = 0 ] || fail "$what: $(fact unnamed) events name strings the file lacks"
    [ "$(fact duplicates)" = 0 ] ||
        fail "$what: $(fact duplicates) task or region begins appear twice (events copied twice)"
    summary "$f" "$what"
}

# summary FILE WHAT: `cprof trace summary` reads FILE (exit 0); $T/sum.
summary() {
    "$CPROF" trace summary "$1" >"$T/sum" 2>"$T/sum.err" ||
        fail "$2: cprof trace summary: status $?: $(head -3 "$T/sum.err")"
}

# fact KEY [FIELD]: a field (default 2) of the line "KEY ..." in $T/chk.
fact() {
    awk -v k="$1" -v f="${2:-2}" '$1 == k { print $f; exit }' "$T/chk"
}

# region_fact NAME FIELD: 3 begins, 4 ends, 5 pairs, 6 longest ms (0 if none).
region_fact() {
    awk -v n="$1" -v f="$2" '$1 == "region" && $2 == n { v = $f } END { print v + 0 }' "$T/chk"
}
task_fact() {
    awk -v n="$1" -v f="$2" '$1 == "task" && $2 == n { v = $f } END { print v + 0 }' "$T/chk"
}

# thread_fact TID FIELD: 3 events, 4 span ms, 5 first ms, 6 last ms (rel. to
# the last CLOCK); empty if the thread has no events in the file.
thread_fact() {
    awk -v t="$1" -v f="$2" '$1 == "thread" && $2 == t { print $f; exit }' "$T/chk"
}

# ge A B: A >= B (numbers, floating point).
ge() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'
}

# count_cpt PREFIX: how many $T/PREFIX*.cpt files there are.
count_cpt() {
    set -- "$T/$1"*.cpt
    if [ -e "$1" ]; then echo $#; else echo 0; fi
}
