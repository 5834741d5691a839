#!/bin/bash
# test-run-signals.sh: SIGINT and SIGTERM reaching a busy profiled program.
#   - No handler of its own: the profile is written, the program still dies
#     of the signal (cprof run exits 128+N and says so on stderr). SIGINT is
#     sent to the program itself (as a terminal's ^C does), SIGTERM to
#     `cprof run`, which passes it on.
#   - Its own handler (sets a flag, exits normally): its handler runs, the
#     exit status is its own (0), and the profile is written at exit.
# The program says when it is busy by writing a file; nothing here waits for
# a fixed time.
. "$(dirname "$0")/lib.sh"

S="$CPROF_TEST_BIN/stress"

# A job started by a non-interactive shell ignores SIGINT; give the program
# the default disposition a terminal would (GNU env's --default-signal).
default_int=()
env --default-signal=INT true 2>/dev/null && default_int=(env --default-signal=INT)

# case SIGNAL TARGET(program|cprof) HANDLER(0|1)
one() {
    local sig=$1 target=$2 handler=$3 name="SIG$1 to $2"
    [ "$handler" = 1 ] && name+=" (own handler)"
    local ready="$T/ready-$sig-$target-$handler" prof="$T/cpu-$sig-$target-$handler.pb.gz"
    local args=(signal -ready="$ready")
    [ "$handler" = 1 ] && args+=(-handler)
    "${default_int[@]}" "$CPROF" run -cpuprofile="$prof" -cpurate=1000 -- "$S" "${args[@]}" \
        >"$T/out" 2>"$T/err" &
    local cp=$!
    # A watchdog, so that a hang fails the test (killed: status 137) rather
    # than ctest's timeout; it kills cprof run and the program, by pid.
    (
        trap 'kill $s 2>/dev/null; exit 0' TERM
        sleep 60 &
        s=$!
        wait $s
        kill -KILL "$(cat "$ready" 2>/dev/null)" $cp
    ) >/dev/null 2>&1 &
    local dog=$!
    local i
    for ((i = 0; i < 600; i++)); do
        [ -s "$ready" ] && break
        kill -0 $cp 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$ready" ] || {
        kill $dog
        fail "$name: the program never got busy: $(cat "$T/err")"
    }
    local pid
    pid=$(cat "$ready")
    if [ "$target" = program ]; then
        kill -s "$sig" "$pid"
    else
        kill -s "$sig" $cp
    fi
    wait $cp
    local rc=$?
    kill $dog 2>/dev/null
    wait $dog 2>/dev/null
    local num
    num=$(kill -l "$sig")
    if [ "$handler" = 1 ]; then
        [ $rc = 0 ] || fail "$name: exit status $rc, want 0; stderr: $(cat "$T/err")"
        grep -q "handler ran: signal $num" "$T/out" ||
            fail "$name: the program's handler did not run: $(cat "$T/out")"
    else
        [ $rc = $((128 + num)) ] ||
            fail "$name: exit status $rc, want $((128 + num)); stderr: $(cat "$T/err")"
        grep -q "killed by signal $num" "$T/err" ||
            fail "$name: cprof run did not say the program was killed: $(cat "$T/err")"
    fi
    check_profile "$prof" "$name"
    profile_has "$prof" sig_burner || fail "$name: sig_burner is not in the profile"
    note "$name: exit $rc, profile written"
}

one INT program 0
one TERM cprof 0
one TERM program 0
one INT program 1
one TERM cprof 1
exit 0
