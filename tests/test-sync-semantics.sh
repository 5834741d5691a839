#!/bin/bash
# test-sync-semantics.sh: workloads/sync_semantics.c checks the return
# values and errno of every wrapped lock, wait and semaphore call (error-
# checking, recursive, normal and robust mutexes, read-write locks,
# condition variables, semaphores with EINTR/ETIMEDOUT/EINVAL, join,
# barriers) on their uncontended and blocking paths. It must pass bare
# (which checks the checks against glibc), and identically with cprof
# watching the waits: mutex and block profiles on, then the wall-clock
# profiler at 1000 Hz (which turns the wait-state tracking on) too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-sync-lib.sh"

bin="$CPROF_TEST_BIN/sync_semantics"
timeout -k 5 60 "$bin" >"$T/bare.out" 2>"$T/bare.err" ||
    fail "bare: exit status $? (the checks disagree with glibc itself): $(cat "$T/bare.err")"
checks=$(kv "$T/bare.out" checks)
note "bare: $checks checks passed"

why=""
for config in "-mutexprofile=$T/m.pb.gz -blockprofile=$T/b.pb.gz" \
    "-mutexprofile=$T/m.pb.gz -blockprofile=$T/b.pb.gz -wallprofile=$T/w.pb.gz -wallrate=1000"; do
    rm -f "$T"/*.pb.gz
    # shellcheck disable=SC2086
    timeout -k 5 120 "$CPROF" run $config -- "$bin" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "cprof run $config: hung"
    name=$(printf '%s' "$config" | sed 's/=[^ ]*//g')
    if [ $rc -ne 0 ]; then
        why+=" [$name] exit status $rc: $(grep '^FAIL' "$T/err" | tr '\n' ';')"
    else
        note "[$name]: $(kv "$T/out" checks) checks passed"
    fi
    [ "$(kv "$T/out" checks)" = "$checks" ] || why+=" [$name] ran $(kv "$T/out" checks) checks;"
    check_pprof "$T/m.pb.gz" mutex contentions
    check_pprof "$T/b.pb.gz" block contentions
    [ -e "$T/w.pb.gz" ] && check_profile "$T/w.pb.gz" wall
done
[ -z "$why" ] || fail "$why"
exit 0
