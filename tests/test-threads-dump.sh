#!/bin/bash
# test-threads-dump.sh run|linked: thread dumps of workloads/threads_dump.c,
# whose named threads block in known places (a mutex, a condition variable,
# a semaphore, nanosleep, a read on a pipe, a barrier for a group of 5) or
# spin. It writes the dump itself (cprof_threads_write debug 2, 1 and 0)
# once they all sleep in the kernel.
#   run:    under `cprof run -blockprofile=...` (cprof watching the waits);
#   linked: the program alone, linked with libcprof, no profile on: what a
#           program that only takes dumps gets.
# debug=2: each thread by name with its state and a stack that holds its
#   function; debug=1: the group's 5 threads as one stack with count 5;
#   debug=0: Go's pprof reads it and finds every function, 5 on the
#   group's stack, 12 threads in all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-sync-lib.sh"

mode=${1:-run}
group=5
bin="$CPROF_TEST_BIN/threads_dump"
case $mode in
run)
    run_cprof 0 -blockprofile="$T/block.pb.gz" -- "$bin" "$T" -group=$group
    ;;
linked)
    timeout -k 5 60 "$bin" "$T" -group=$group >"$T/out" 2>"$T/err" ||
        fail "threads_dump: exit status $?: $(cat "$T/err")"
    ;;
*) fail "unknown mode $mode" ;;
esac

why=""
# thread_block NAME: the lines of thread NAME's entry in the debug=2 dump
# (the first thread of that name).
thread_block() {
    awk -v n="\"$1\"" '
        /^thread [0-9]+ / { if (found) exit; if ($3 == n) { found = 1; print; next } }
        found && /^$/ { exit }
        found { print }' "$T/dump2.txt"
}

# check_thread NAME STATE FUNCTION: a thread NAME in state STATE (a regular
# expression matched against the bracket's first word) whose stack shows
# FUNCTION.
check_thread() {
    local block head state
    block=$(thread_block "$1")
    if [ -z "$block" ]; then
        why+=" no thread \"$1\" in the debug=2 dump;"
        return
    fi
    head=$(printf '%s\n' "$block" | head -1)
    state=$(printf '%s\n' "$head" | sed -n 's/.*\[\([^],]*\).*/\1/p')
    printf '%s\n' "$state" | grep -Eqx "$2" ||
        why+=" \"$1\" is [$state], want [$2];"
    printf '%s\n' "$block" | tail -n +2 | grep -Eq "^ +$3( |$)" ||
        why+=" \"$1\"'s stack lacks $3;"
}

[ -s "$T/dump2.txt" ] || fail "no debug=2 dump written"
check_thread t-mutex mutex block_on_mutex
check_thread t-cond cond block_on_cond
check_thread t-sem semaphore block_on_sem
check_thread t-sleep 'clock_nanosleep|nanosleep|sleep' block_in_sleep
check_thread t-read read block_on_read
check_thread t-busy running busy_loop
check_thread t-group barrier group_wait
n_group=$(grep -c '^thread [0-9]* "t-group"' "$T/dump2.txt")
[ "$n_group" = $group ] || why+=" $n_group t-group threads in the debug=2 dump, want $group;"
head -1 "$T/dump2.txt" | grep -qx "threads: $((7 + group))" ||
    why+=" debug=2 header is [$(head -1 "$T/dump2.txt")], want [threads: $((7 + group))];"
grep -q 'did not answer' "$T/dump2.txt" && why+=" a thread did not answer;"

# debug=1: the group's stack once, with its count.
[ -s "$T/dump1.txt" ] || fail "no debug=1 dump written"
head -1 "$T/dump1.txt" | grep -qx "threads profile: total $((7 + group))" ||
    why+=" debug=1 header is [$(head -1 "$T/dump1.txt")];"
awk -v g=$group '
    /^[0-9]+ @/ { count = $1; next }
    /^#/ && /[ \t]group_wait / { if (count == g) ok = 1; seen++ }
    END { exit !(ok && seen == 1) }' "$T/dump1.txt" ||
    why+=" debug=1 does not group the $group t-group threads as one stack of count $group;"

# debug=0: pprof, threads/count.
check_pprof "$T/threads.pb.gz" threads threads
total=$(go_count "$T/threads.pb.gz" threads "")
[ "$total" = $((7 + group)) ] || why+=" debug=0 profile counts $total threads, want $((7 + group));"
for f in block_on_mutex block_on_cond block_on_sem block_in_sleep block_on_read busy_loop main; do
    has_func "$T/threads.pb.gz" "$f" || why+=" debug=0 profile lacks $f;"
done
g=$(go_count "$T/threads.pb.gz" threads group_wait)
[ "$g" = $group ] || why+=" debug=0 profile has $g threads in group_wait, want $group;"

if [ -n "$why" ]; then
    cat "$T/dump2.txt" >&2
    fail "$mode:$why"
fi
exit 0
