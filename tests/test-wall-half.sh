#!/bin/bash
# test-wall-half.sh RATE: the wall-clock profile at RATE Hz of
# workloads/wall_half.c, whose thread "halfhalf" computes half the time and
# sleeps the other half (phases of 5-15 ms, 3 s in all) and measures the
# split itself, and whose thread "stuck" waits on a mutex for the whole run.
# - halfhalf's samples with state=running and state=<its sleep call> each
#   within 5 percentage points of the split it measured (about 50/50);
# - at least 80% of halfhalf's running samples carry its on-CPU stack
#   (compute_half): running threads are asked for their stacks (stackask.c).
#   A thread answers when it next runs user code, so one that waits for a
#   CPU at the end of a phase may block before it answers: when halfhalf got
#   less than 90% of a CPU while computing, at least 50%;
# - stuck: >= 98% of its samples say state=mutex, and its stack shows
#   stuck_on_mutex;
# - every thread is sampled about RATE times a second (within 20%).
# Counted with Go's pprof (-tags with -tagfocus=thread=NAME).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-sync-lib.sh"

rate=${1:-100}

attempt() {
    local why=""
    rm -f "$T/wall.pb.gz"
    run_cprof 0 -wallprofile="$T/wall.pb.gz" -wallrate="$rate" -- "$CPROF_TEST_BIN/wall_half"
    check_profile "$T/wall.pb.gz" wall
    local measured run sleep_call sleep total stuck stuck_mutex
    measured=$(kv "$T/out" run_pct)
    total=$(tag_count "$T/wall.pb.gz" thread halfhalf)
    run=$(tag_count "$T/wall.pb.gz" state running -tagfocus=thread=halfhalf)
    # glibc's nanosleep is the clock_nanosleep system call; either name will do.
    sleep_call=clock_nanosleep
    sleep=$(tag_count "$T/wall.pb.gz" state clock_nanosleep -tagfocus=thread=halfhalf)
    if [ "$sleep" = 0 ]; then
        sleep_call=nanosleep
        sleep=$(tag_count "$T/wall.pb.gz" state nanosleep -tagfocus=thread=halfhalf)
    fi
    local computing
    computing=$(tag_count "$T/wall.pb.gz" state running -tagfocus=thread=halfhalf -focus=compute_half)
    stuck=$(tag_count "$T/wall.pb.gz" thread stuck)
    stuck_mutex=$(tag_count "$T/wall.pb.gz" state mutex -tagfocus=thread=stuck)
    local run_pct sleep_pct stuck_pct
    run_pct=$(pct "$run" "$total")
    sleep_pct=$(pct "$sleep" "$total")
    stuck_pct=$(pct "$stuck_mutex" "$stuck")
    note "rate $rate Hz: halfhalf measured running ${measured}%; profile: $total samples," \
        "running ${run_pct}% (with its stack: $(pct "$computing" "$run")%), $sleep_call ${sleep_pct}%; stuck: $stuck samples, mutex ${stuck_pct}%"
    within "$run_pct" "$measured" 5 ||
        why+=" halfhalf running ${run_pct}% of samples, measured ${measured}%;"
    within "$sleep_pct" "$(awk -v m="$measured" 'BEGIN { print 100 - m }')" 5 ||
        why+=" halfhalf sleeping ${sleep_pct}% of samples, measured $(awk -v m="$measured" 'BEGIN { print 100 - m }')%;"
    local cpu_pct
    cpu_pct=$(kv "$T/out" run_cpu_pct)
    local want_stack=80
    if ! at_least "$cpu_pct" 90; then
        want_stack=50
        note "halfhalf got ${cpu_pct}% of a CPU while computing: ${want_stack}% of its running samples must carry its stack"
    fi
    at_least "$(pct "$computing" "$run")" $want_stack ||
        why+=" only $computing of halfhalf's $run running samples show compute_half (want ${want_stack}%);"
    at_least "$stuck_pct" 98 || why+=" stuck says state=mutex in ${stuck_pct}% of its samples;"
    # Samples per thread: 3 s of halfhalf at RATE Hz.
    local want
    want=$(awk -v r="$rate" -v s="$(kv "$T/out" run_ns)" -v z="$(kv "$T/out" sleep_ns)" \
        'BEGIN { print r * (s + z) / 1e9 }')
    ratio_within "$total" "$want" 0.2 || why+=" halfhalf has $total samples, want ~$want;"
    gopprof -traces -tagfocus=thread=stuck "$T/wall.pb.gz" 2>/dev/null | grep -q stuck_on_mutex ||
        why+=" stuck's samples do not show stuck_on_mutex;"
    printf '%s' "$why" >"$T/why"
}

attempt
if [ -s "$T/why" ]; then
    note "retrying:$(cat "$T/why")"
    attempt
    if [ -s "$T/why" ]; then
        gopprof -tags -sample_index=samples -tagfocus=thread=halfhalf "$T/wall.pb.gz" >&2
        fail "$(cat "$T/why")"
    fi
fi
exit 0
