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

# Bad values: `cprof run` refuses them with one line and status 2, before
# the program starts; set by hand (the CPROF_* variables, no cprof run) the
# library can only say so in one line and run the program without them.
refused() { # EXPECTED_STDERR FLAGS...
    local want=$1 rc
    shift
    "$CPROF" run "$@" -- /bin/true >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q -- "$want" "$T/err" ||
        fail "cprof run $*: status $rc, stderr: $(cat "$T/err"), want status 2 and \"$want\""
}
warned() { # EXPECTED_STDERR VAR=VALUE...
    local want=$1 rc
    shift
    env "$@" LD_PRELOAD="$CPROF_LIBRARY" /bin/true >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc = 0 ] && grep -q -- "$want" "$T/err" ||
        fail "$* /bin/true: status $rc, stderr: $(cat "$T/err"), want status 0 and \"$want\""
}
refused 'want AGE,SIZE' -flightrecorder=0s,1MiB
refused 'want AGE,SIZE' -flightrecorder=5s,0
refused 'want AGE,SIZE' -flightrecorder=junk
refused 'want NAME>DURATION' -flightrecorder=5s,1MiB -flighttrigger=nogt
refused 'want USR1, USR2' -flightrecorder=5s,1MiB -flightsignal=BOGUS
warned 'CPROF_FLIGHTRECORDER=0s,1MiB: want AGE,SIZE' CPROF_FLIGHTRECORDER=0s,1MiB
warned 'CPROF_FLIGHTRECORDER=5s,0: want AGE,SIZE' CPROF_FLIGHTRECORDER=5s,0
warned 'want AGE,SIZE' CPROF_FLIGHTRECORDER=junk
warned '"nogt" is not NAME>DURATION' CPROF_FLIGHTRECORDER=5s,1MiB CPROF_FLIGHT_TRIGGER=nogt
warned 'CPROF_FLIGHT_SIGNAL=BOGUS: not a signal' CPROF_FLIGHTRECORDER=5s,1MiB CPROF_FLIGHT_SIGNAL=BOGUS
# A value of the right form that the library refuses: cprof run passes it on.
run_cprof 0 -flightrecorder=5s,1KiB -- /bin/true
grep -q 'max_bytes must be at least 256 KiB' "$T/err" ||
    fail "cprof run -flightrecorder=5s,1KiB: stderr: $(cat "$T/err")"
note "bad flags: refused by cprof run; set by hand, warned and the program ran"
