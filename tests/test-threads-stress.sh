#!/bin/bash
# test-threads-stress.sh churn|eintr|eintr-slices: cprof must neither crash,
# hang nor change what the program sees.
#   churn:  workloads/threads_churn.c, threads created and ended as fast as
#           two creators go (returning, pthread_exit, detached) while a
#           thread writes dumps (debug 0, 1, 2) and the threadcreate profile
#           in a loop, under the wall-clock profiler at 1000 Hz and the
#           mutex and block profiles: exit 0 in time, every profile and
#           dump valid for Go's pprof, the short-lived threads in them, and
#           none of cprof's own waits in the program's mutex/block profiles.
#   eintr:  workloads/threads_eintr.c, threads sitting in poll, epoll_wait,
#           nanosleep and read for the whole run under the same profilers
#           and repeated dumps: none of those calls may return EINTR.
#   eintr-slices: the same with 1 ms timeouts, so that the threads wake
#           and block again all the time, while cprof looks at them: the
#           wall-clock profiler at 1000 Hz asks the running ones for their
#           stacks thousands of times (tgkill instead of stackask.c's perf
#           one-shot gave 91 EINTRs in one such run). The busy thread's
#           stack (spin, running) must be in the wall profile and the last
#           dump.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-sync-lib.sh"

mode=${1:-churn}
why=""

# profiles_valid: the three profiles of `cprof run` are valid.
profiles_valid() {
    check_profile "$T/wall.pb.gz" wall
    check_pprof "$T/mutex.pb.gz" mutex contentions
    check_pprof "$T/block.pb.gz" block contentions
}

run_profiled() {
    run_cprof 0 -wallprofile="$T/wall.pb.gz" -wallrate=1000 -mutexprofile="$T/mutex.pb.gz" \
        -blockprofile="$T/block.pb.gz" -- "$@"
}

case $mode in
churn)
    run_profiled "$CPROF_TEST_BIN/threads_churn" "$T" -seconds=4
    note "$(tr '\n' ' ' <"$T/out")"
    profiles_valid
    [ "$(kv "$T/out" dumps)" -ge 2 ] 2>/dev/null || why+=" fewer than 2 rounds of dumps;"
    [ "$(kv "$T/out" threads)" -ge 100 ] 2>/dev/null || why+=" fewer than 100 threads created;"
    head -1 "$T/churn2.txt" | grep -q '^threads: [0-9][0-9]*$' || why+=" churn2.txt is not a dump;"
    head -1 "$T/churn1.txt" | grep -q '^threads profile: total [0-9]' || why+=" churn1.txt is not a dump;"
    check_pprof "$T/churn.pb.gz" threads threads
    check_pprof "$T/create.pb.gz" threadcreate threadcreate
    has_func "$T/create.pb.gz" creator || why+=" threadcreate lacks creator;"
    has_func "$T/wall.pb.gz" short_life samples || why+=" the wall profile never saw short_life;"
    has_func "$T/block.pb.gz" short_life || why+=" the block profile never saw short_life;"
    why+=$(no_cprof_frames "$T/mutex.pb.gz" mutex)
    why+=$(no_cprof_frames "$T/block.pb.gz" block)
    ;;
eintr | eintr-slices)
    slice=0
    [ "$mode" = eintr-slices ] && slice=1
    run_cprof_status=0
    timeout -k 5 60 "$CPROF" run -wallprofile="$T/wall.pb.gz" -wallrate=1000 \
        -mutexprofile="$T/mutex.pb.gz" -blockprofile="$T/block.pb.gz" -- \
        "$CPROF_TEST_BIN/threads_eintr" "$T" -seconds=4 -slice_ms=$slice >"$T/out" 2>"$T/err" ||
        run_cprof_status=$?
    note "$(tr '\n' ' ' <"$T/out")"
    [ $run_cprof_status -ne 124 ] && [ $run_cprof_status -ne 137 ] || fail "$mode: hung"
    grep -q 'returned EINTR' "$T/err" &&
        why+=" $(grep -c 'returned EINTR' "$T/err") calls returned EINTR ($(grep -o '[a-z_]* returned EINTR' "$T/err" | sort | uniq -c | tr -s ' \n' ' '));"
    [ $run_cprof_status -eq 0 ] || why+=" exit status $run_cprof_status: $(head -5 "$T/err" | tr '\n' ' ');"
    profiles_valid
    [ "$(kv "$T/out" dumps)" -ge 2 ] 2>/dev/null || why+=" fewer than 2 dumps;"
    for f in sit_in_poll sit_in_epoll sit_in_nanosleep sit_in_read; do
        has_func "$T/wall.pb.gz" $f samples || why+=" the wall profile lacks $f;"
        grep -q " $f " "$T/dump.txt" || grep -q "	$f " "$T/dump.txt" ||
            why+=" the last dump lacks $f;"
    done
    check_pprof "$T/dump.pb.gz" threads threads
    if [ "$mode" = eintr-slices ]; then
        has_func "$T/wall.pb.gz" spin samples || why+=" the wall profile lacks the busy thread's spin;"
        grep -q spin "$T/dump.txt" || why+=" the last dump lacks the busy thread's spin;"
    fi
    ;;
*) fail "unknown mode $mode" ;;
esac
[ -z "$why" ] || fail "$mode:$why"
exit 0
