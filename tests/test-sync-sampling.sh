#!/bin/bash
# test-sync-sampling.sh: the sampled mutex and block profiles (fraction 10,
# rate 1 ms) against the exact ones (fraction 1, rate 1) on a workload of
# many short contended waits (workloads/sync_many.c: 4000 hand-overs of a
# mutex held 100-300 us, each released only once the waiter sleeps on it).
#
# The sampled estimates must stay within 20% of the exact run: the mutex
# delay (hold_briefly, the releasing stack) and contention count, the block
# delay (want_briefly, the waiting stack). Each run's profile is read
# against the waits the program measured in that same run (the exact run
# must match them within 5%), and the runs are compared through those
# ratios: on a loaded machine two runs of the same workload wait different
# totals, which says nothing about sampling.
#
# How honest is 20%? sync_many prints the standard deviations that the
# sampled estimates have for the waits of its run. With N waits of spread
# (coefficient of variation) cv, 1-in-10 sampling has a count sd of
# 3 / sqrt(N) = 4.7% for N = 4000, whatever the waits: 20% is 4 sd. Its
# delay sd is 3 * sqrt(1 + cv^2) / sqrt(N): with the 100-300 us holds of an
# idle machine (cv ~ 0.3) that is 5%, and 20% is 4 sd again. The block
# profile at 1 ms keeps a wait d < 1 ms with probability d / 1 ms: its delay
# sd is sqrt(sum(d (R - d))) / sum(d), about 1.5%. But on a loaded machine
# a few waits stretch by tens of milliseconds (the holder preempted with
# the lock held) and cv explodes (measured: 2 CPUs at load 10 gave a
# predicted mutex delay sd of 20-44%): whether those few waits are among
# the sampled tenth decides the estimate, and no 20% bound on it is honest.
# So the mutex delay is held to 20% or 4 predicted sd, whichever is wider
# (the run prints which); the count and the block delay always to 20%.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-sync-lib.sh"

# run_once NAME FRACTION RATE ROUNDS: profiles $T/NAME.{mutex,block}.pb.gz,
# the program's output in $T/NAME.out.
run_once() {
    run_cprof 0 -mutexprofile="$T/$1.mutex.pb.gz" -mutexprofilefraction="$2" \
        -blockprofile="$T/$1.block.pb.gz" -blockprofilerate="$3" -- \
        "$CPROF_TEST_BIN/sync_many" -rounds="$4"
    cp "$T/out" "$T/$1.out"
    check_pprof "$T/$1.mutex.pb.gz" "$1 mutex" contentions
    check_pprof "$T/$1.block.pb.gz" "$1 block" contentions
}

# ratios NAME: "mutex_delay block_delay mutex_count", each as profile /
# measured (count: profile / the waits the program saw blocked).
ratios() {
    local measured_ms waits md bd mc
    measured_ms=$(awk -v n="$(kv "$T/$1.out" lock_wait_ns)" 'BEGIN { print n / 1e6 }')
    waits=$(kv "$T/$1.out" lock_blocked)
    md=$(go_ms "$T/$1.mutex.pb.gz" delay hold_briefly)
    bd=$(go_ms "$T/$1.block.pb.gz" delay want_briefly)
    mc=$(go_count "$T/$1.mutex.pb.gz" contentions hold_briefly)
    note "$1: measured ${measured_ms} ms in $waits waits; mutex ${md} ms, $mc contentions;" \
        "block ${bd} ms" >&2
    awk -v a="$md" -v b="$bd" -v c="$mc" -v m="$measured_ms" -v w="$waits" \
        'BEGIN { printf "%.4f %.4f %.4f\n", a / m, b / m, c / w }'
}

attempt() {
    local rounds=$1 why=""
    run_once exact 1 1 "$rounds"
    run_once sampled 10 1000000 "$rounds"
    local e s
    read -r -a e <<<"$(ratios exact)"
    read -r -a s <<<"$(ratios sampled)"
    note "profile/measured, exact: mutex ${e[0]} block ${e[1]} count ${e[2]};" \
        "sampled: mutex ${s[0]} block ${s[1]} count ${s[2]}"
    sd_md=$(kv "$T/sampled.out" sd_mutex10_delay_pct)
    note "predicted sd of the sampled run: mutex delay ${sd_md}%," \
        "count $(kv "$T/sampled.out" sd_mutex10_count_pct)%," \
        "block delay $(kv "$T/sampled.out" sd_block1ms_delay_pct)%"
    within "${e[0]}" 1 0.05 || why+=" exact mutex delay is ${e[0]} of the measured waits;"
    within "${e[1]}" 1 0.05 || why+=" exact block delay is ${e[1]} of the measured waits;"
    within "${e[2]}" 1 0.05 || why+=" exact mutex count is ${e[2]} of the waits;"
    local tol
    tol=$(awk -v sd="$sd_md" 'BEGIN { t = 4 * sd / 100; print (t > 0.2 ? t : 0.2) }')
    note "tolerance of the sampled mutex delay: $(pct "$tol" 1)%"
    ratio_within "${s[0]}" "${e[0]}" "$tol" ||
        why+=" sampled mutex delay ${s[0]} is not within $(pct "$tol" 1)% of the exact ${e[0]};"
    ratio_within "${s[1]}" "${e[1]}" 0.20 ||
        why+=" sampled block delay ${s[1]} is not within 20% of the exact ${e[1]};"
    ratio_within "${s[2]}" "${e[2]}" 0.20 ||
        why+=" sampled mutex count ${s[2]} is not within 20% of the exact ${e[2]};"
    printf '%s' "$why" >"$T/why"
}

sd_md=0
attempt 4000
# One retry: the sampled delay on a loaded machine (see above).
if [ -s "$T/why" ]; then
    note "retrying once:$(cat "$T/why")"
    attempt 4000
fi
[ -s "$T/why" ] && fail "$(cat "$T/why")"
exit 0
