#!/bin/bash
# test-flight-bad.sh: bad arguments get -1 and a clear error: zero size,
# zero age, no trigger name or pattern, a second start, an unwritable path
# (the error names it), an empty path, a write before start and after stop.
#
# A second snapshot while one is being written is refused with an error.
# That cannot be timed exactly, so the contract is tested: the ring is
# filled (~30 MiB) so that a snapshot takes a while, two threads released
# by a barrier call cprof_flight_write 5 times; each round must give one
# success and one "already being written" error, or two successes (the
# first was done before the second began). The files that were written are
# complete. Then cprof run's flags with bad values: a warning naming the
# problem, and the program still runs.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

rc=0
timeout -k 5 60 "$GT" bad "$T" >"$T/gt" 2>"$T/err" || rc=$?
grep '^check ' "$T/gt" | sed 's/^/# /'
[ $rc = 0 ] || fail "flight_gt bad: status $rc: $(grep -v ' ok' "$T/gt") $(cat "$T/err")"
note "races: $(gt "$T/gt" race_refused) refused, $(gt "$T/gt" race_both) both written in turn"
for f in "$T"/race-*.cpt; do
    [ -e "$f" ] || continue
    check_snapshot "$f" "$(basename "$f")"
done

bad_flag() { # EXPECTED_STDERR FLAGS...
    local want=$1
    shift
    run_cprof 0 "$@" -- /bin/true
    grep -q -- "$want" "$T/err" || fail "cprof run $*: stderr: $(cat "$T/err"), want \"$want\""
}
bad_flag 'CPROF_FLIGHTRECORDER=0s,1MiB: want AGE,SIZE' -flightrecorder=0s,1MiB
bad_flag 'CPROF_FLIGHTRECORDER=5s,0: want AGE,SIZE' -flightrecorder=5s,0
bad_flag 'want AGE,SIZE' -flightrecorder=junk
bad_flag 'max_bytes must be at least 64 KiB' -flightrecorder=5s,1KiB
bad_flag '"nogt" is not NAME>DURATION' -flightrecorder=5s,1MiB -flighttrigger=nogt
bad_flag 'CPROF_FLIGHT_SIGNAL=BOGUS: not a signal' -flightrecorder=5s,1MiB -flightsignal=BOGUS
note "bad flags: warned, the program ran"
