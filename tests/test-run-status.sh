#!/bin/bash
# test-run-status.sh: `cprof run` exits with the program's own status, and
# reports a program killed by a signal as such (exit 128+N, one line saying
# so), with profiling off and on.
. "$(dirname "$0")/lib.sh"

n=0
# status WANT PROGRAM...: cprof run exits WANT. With profiling on, every run
# gets a path of its own, so a file left by an earlier run is never taken
# for this one's.
status() {
    local want=$1
    shift
    [ $# -gt 0 ] || fail "status: no program"
    n=$((n + 1))
    prof="$T/cpu-$n.pb.gz"
    if [ "$profiling" = on ]; then
        run_cprof "$want" -cpuprofile="$prof" -- "$@"
        # A program that exits, whatever its status, leaves a valid profile;
        # not sh, which (dash) leaves by _exit, skipping every exit handler.
        [ "$1" = sh ] || check_profile "$prof" "$*"
    else
        run_cprof "$want" -- "$@"
    fi
}

for profiling in off on; do
    status 0 true
    status 1 false
    status 7 sh -c 'exit 7'
    status 255 sh -c 'exit 255'
    status 137 sh -c 'kill -KILL $$'
    grep -q 'killed by signal 9' "$T/err" ||
        fail "SIGKILL: no line saying the program was killed: $(cat "$T/err")"
    [ "$(grep -c . "$T/err")" = 1 ] || fail "SIGKILL: want one line on stderr: $(cat "$T/err")"
    [ ! -e "$prof" ] || fail "SIGKILL: a profile was written"
    status 134 sh -c 'kill -ABRT $$'
    grep -q 'killed by signal 6' "$T/err" || fail "SIGABRT: no line saying so: $(cat "$T/err")"
    # Arguments reach the program as given, flags after the program included.
    status 0 sh -c 'test "$1" = "a b" && test "$2" = "-cpurate=5"' sh "a b" -cpurate=5
    note "profiling $profiling: statuses passed through"
done
exit 0
