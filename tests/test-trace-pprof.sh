#!/bin/bash
# test-trace-pprof.sh: the blocking profiles `cprof trace pprof` derives from
# a trace are read by go tool pprof (a reader nobody here wrote), and show
# the ground truth: the waiters' want_lock with their mutex wait time, the
# holder's hold_lock with its condition wait, the sleeps by call name.
# cprof top agrees with go tool pprof on the same files. (-type=sched has a
# test of its own: test-trace-sched.sh.)
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-trace-lib.sh"

make_gt_trace
rounds=$(gt rounds)

"$CPROF" trace pprof -type=sync -o "$T/sync.pb.gz" "$T/t.cpt" 2>"$T/err" ||
    fail "pprof -type=sync: $(cat "$T/err")"
gopprof -raw "$T/sync.pb.gz" >/dev/null 2>"$T/go.err" || fail "go tool pprof -raw: $(cat "$T/go.err")"
gopprof -top -nodefraction=0 -unit=ns -sample_index=delay "$T/sync.pb.gz" >"$T/go.top" 2>"$T/go.err" ||
    fail "go tool pprof -top: $(cat "$T/go.err")"
top_rows "$T/go.top" >"$T/go.rows"
close_to "want_lock (waiters' mutex waits)" "$(top_cum "$T/go.rows" want_lock)" \
    "$(($(gt wait1_ns) + $(gt wait2_ns)))"
close_to "hold_lock (holder's cond wait)" "$(top_cum "$T/go.rows" hold_lock)" "$(gt hold_ns)"
gopprof -top -nodefraction=0 -sample_index=contentions "$T/sync.pb.gz" >"$T/go.count" 2>/dev/null
top_rows "$T/go.count" >"$T/go.crows"
[ "$(top_cum "$T/go.crows" want_lock)" = $((2 * rounds)) ] ||
    fail "want_lock: $(top_cum "$T/go.crows" want_lock) waits, want $((2 * rounds))"
[ "$(top_cum "$T/go.crows" hold_lock)" = "$rounds" ] || fail "hold_lock: not $rounds waits"
profile_has_delay() { gopprof -traces -sample_index=delay "$1" 2>/dev/null | grep -q "$2"; }
profile_has_delay "$T/sync.pb.gz" pthread_mutex_lock || fail "no pthread_mutex_lock frame"

# cprof top reads what cprof wrote, and agrees with go tool pprof.
"$CPROF" top -nodefraction=0 -sample_index=contentions "$T/sync.pb.gz" >"$T/cprof.top" 2>"$T/err" ||
    fail "cprof top: $(cat "$T/err")"
top_rows "$T/cprof.top" >"$T/cprof.crows"
[ "$(top_cum "$T/cprof.crows" want_lock)" = "$(top_cum "$T/go.crows" want_lock)" ] ||
    fail "cprof top and go tool pprof disagree on want_lock"

"$CPROF" trace pprof -type=syscall -o "$T/sys.pb.gz" "$T/t.cpt" 2>"$T/err" ||
    fail "pprof -type=syscall: $(cat "$T/err")"
gopprof -top -nodefraction=0 -sample_index=contentions "$T/sys.pb.gz" >"$T/sys.top" 2>"$T/go.err" ||
    fail "go tool pprof (syscall): $(cat "$T/go.err")"
top_rows "$T/sys.top" >"$T/sys.rows"
# io's sleeps, and the finisher's.
want=$(($(gt workers) * $(gt requests) + 1))
[ "$(top_cum "$T/sys.rows" clock_nanosleep)" = "$want" ] ||
    fail "syscall profile: $(top_cum "$T/sys.rows" clock_nanosleep) clock_nanosleep calls, want $want"

note "go tool pprof reads the sync and syscall profiles"
