#!/bin/bash
# test-threads-create.sh run|linked: the threadcreate profile of
# workloads/threads_create.c, which creates 50 threads in spawn_workers and
# 3 in spawn_other, then writes the profile (cprof_threadcreate_write).
#   run:    under `cprof run -blockprofile=...`;
#   linked: the program alone, linked with libcprof, no profile on.
# Go's pprof reads it: 53 threads in all, 50 on stacks through
# spawn_workers, 3 through spawn_other, each function the leaf (the
# program's frame that called pthread_create), all of them under main.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-sync-lib.sh"

mode=${1:-run}
bin="$CPROF_TEST_BIN/threads_create"
case $mode in
run) run_cprof 0 -blockprofile="$T/block.pb.gz" -- "$bin" "$T/create.pb.gz" ;;
linked)
    timeout -k 5 60 "$bin" "$T/create.pb.gz" >"$T/out" 2>"$T/err" ||
        fail "threads_create: exit status $?: $(cat "$T/err")"
    ;;
*) fail "unknown mode $mode" ;;
esac

check_pprof "$T/create.pb.gz" threadcreate threadcreate
why=""
total=$(go_count "$T/create.pb.gz" threadcreate "")
workers=$(go_count "$T/create.pb.gz" threadcreate spawn_workers)
other=$(go_count "$T/create.pb.gz" threadcreate spawn_other)
workers_flat=$(awk -F'\t' '$3 == "spawn_workers" { print $1 }' "$T/go.rows")
other_flat=$(awk -F'\t' '$3 == "spawn_other" { print $1 }' "$T/go.rows")
main_cum=$(top_cum "$T/go.rows" main)
note "$mode: $total threads; spawn_workers $workers (flat ${workers_flat:-0})," \
    "spawn_other $other (flat ${other_flat:-0}), main $main_cum"
[ "$total" = 53 ] || why+=" $total threads in all, want 53;"
[ "$workers" = 50 ] || why+=" $workers threads created from spawn_workers, want 50;"
[ "$other" = 3 ] || why+=" $other threads created from spawn_other, want 3;"
[ "${workers_flat:-0}" = 50 ] && [ "${other_flat:-0}" = 3 ] ||
    why+=" spawn_workers/spawn_other are not the leaves of their stacks;"
[ "$main_cum" = 53 ] || why+=" main is on $main_cum of the stacks, want 53;"
if [ -n "$why" ]; then
    gopprof -traces "$T/create.pb.gz" >&2
    fail "$mode:$why"
fi
exit 0
