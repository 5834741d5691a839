#!/bin/bash
# test-cpu-stress.sh MODE [ENGINE]: a hostile program (workloads/stress.c)
# under `cprof run` at 1000 Hz with CPROF_CPU_ENGINE=ENGINE (default perf):
# no crash, no hang (60 s timeout), the program's own exit status, and a
# profile Go's pprof reads, holding the functions that ran. Per mode:
#   threads    20000 threads created and joined; no descriptor leaked per
#              thread; churn_thread's samples match the CPU time the threads
#              spent in it (each lives 50 us, a twentieth of a sampling
#              period: only an unbiased first period gives them their share)
#   dlopen     dlopen/call/dlclose in a loop while two threads burn; the
#              library's function is named, with whole stacks under it
#   dlclose    the same without burners, the library closed before exit: its
#              samples (most of them) cannot be named, yet they are counted,
#              and Go's pprof and `cprof top` agree on what is on top
#   forkexec   children exec a profiled program, FILE has %p: one valid file
#              per process; the parent's profile still counts its own CPU
#   forkwork   children work and exit without exec: with a plain FILE the
#              parent's profile is the parent's (not overwritten) and whole;
#              with %p each child writes its own, the one that _exits too
#   exitthread a non-main thread calls exit(3): status 3, profile written
#   sigprof    the program's own SIGPROF handler and ITIMER_PROF (installed
#              with sigaction and with signal): its handler runs, cprof says
#              once that it stops, the exit status (5) is the program's
#   storm      malloc/free and dlopen/dlclose on four threads for 2 s: a
#              sample inside malloc or the loader must not deadlock
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: test-cpu-stress.sh MODE [perf|timer]}
export CPROF_CPU_ENGINE=${2:-perf}
S="$CPROF_TEST_BIN/stress"
SO="$CPROF_TEST_BIN/libcprof_dlwork.so"
what="stress $mode ($CPROF_CPU_ENGINE)"

# need FILE FUNC...: each FUNC is on some stack of FILE.
need() {
    local f=$1 fn
    shift
    for fn in "$@"; do
        profile_has "$f" "$fn" || {
            cat "$T/go.top" >&2
            fail "$what: $fn is not in $f"
        }
    done
}

# counts_cpu FILE: the samples in FILE account for the CPU time the program
# printed (cpu_seconds=, in $T/out) within 10%. This is what shows samplers
# that stopped early. Only for perf: the timer engine's signals come in lumps
# under load (see test-cpu-split.sh), and a thread's last lump is lost.
counts_cpu() {
    [ "$CPROF_CPU_ENGINE" = perf ] || return 0
    local used total want
    # The last line: exec'd children print theirs on the same stdout first.
    used=$(sed -n 's/^cpu_seconds=\([0-9.]*\).*/\1/p' "$T/out" | tail -1)
    gopprof -top -sample_index=samples "$1" >"$T/count.top" 2>/dev/null
    total=$(top_total "$T/count.top")
    want=$(awk -v s="$used" 'BEGIN { print s * 1000 }')
    within "${total:-0}" "$want" "$(awk -v w="$want" 'BEGIN { print w / 10 }')" || {
        cat "$T/count.top" >&2
        fail "$what: $1 has $total samples for ${used}s of CPU at 1000 Hz (want $want +-10%)"
    }
    note "$what: $total samples for ${used}s of CPU"
}

case $mode in
threads)
    run_cprof 0 -cpuprofile="$T/cpu.pb.gz" -cpurate=1000 -- "$S" threads -n=20000
    read -r before after < <(sed -n 's/.*fds_before=\([0-9]*\) fds_after=\([0-9]*\).*/\1 \2/p' "$T/out")
    [ -n "$before" ] && [ "$before" = "$after" ] ||
        fail "$what: descriptors before/after 20000 threads: ${before:-?}/${after:-?}"
    check_profile "$T/cpu.pb.gz" "$what"
    need "$T/cpu.pb.gz" churn_thread
    # Not the process's whole CPU time: cprof's own work at each thread's
    # start and end falls outside the thread's sampling window. The timer
    # engine is checked by the kernel at its tick only, so a 50 us thread is
    # almost never sampled there: a limit of that engine, not checked.
    #
    # Known and not yet explained (docs/cpu.md, "Known issues"): runs give
    # 1.00-1.21 samples per ms of the threads' CPU, never fewer, depending
    # on the run, the machine and its load (above 1.20 twice in 60 runs,
    # once beside the whole suite). The check allows -10% and +25% until that
    # over-count is understood; it still catches lost or doubled samples.
    if [ "$CPROF_CPU_ENGINE" = perf ]; then
        churn=$(sed -n 's/^churn_cpu_seconds=//p' "$T/out")
        got=$(top_cum "$T/go.rows" churn_thread)
        awk -v g="$got" -v c="$churn" 'BEGIN { r = g / (c * 1000); exit !(r >= 0.9 && r <= 1.25) }' ||
            fail "$what: churn_thread has $got samples for ${churn}s of CPU at 1000 Hz (want -10%..+25%)"
        note "$what: churn_thread $got samples for ${churn}s of CPU"
    fi
    ;;
dlopen)
    run_cprof 0 -cpuprofile="$T/cpu.pb.gz" -cpurate=1000 -- "$S" dlopen -so="$SO" -seconds=2
    check_profile "$T/cpu.pb.gz" "$what"
    need "$T/cpu.pb.gz" dl_burner dl_spin
    # Samples in the library unwind through it back to main: the unwinder
    # learnt about an object loaded after profiling started.
    whole=$(traces "$T/cpu.pb.gz" | awk -F'\t' '/\tdl_spin(\t|$)/ { all += $1; if (/\tmain(\t|$)/) ok += $1 }
        END { printf "%.1f\n", all ? 100 * ok / all : 0 }')
    within "$whole" 100 5 || fail "$what: only $whole% of dl_spin's samples unwind to main"
    counts_cpu "$T/cpu.pb.gz"
    ;;
dlclose)
    run_cprof 0 -cpuprofile="$T/cpu.pb.gz" -cpurate=1000 -- "$S" dlopen -so="$SO" -seconds=2 -close -burners=0
    check_profile "$T/cpu.pb.gz" "$what"
    counts_cpu "$T/cpu.pb.gz"
    ;;
forkexec)
    mkdir "$T/p"
    run_cprof 0 -cpuprofile="$T/p/cpu.%p.pb.gz" -cpurate=1000 -- \
        "$S" forkexec -exec="$CPROF_TEST_BIN/cpusplit_fp" -children=8 -- -cpu=0.05
    n=$(ls "$T/p" | wc -l)
    [ "$n" = 9 ] || fail "$what: $n profiles for 9 processes: $(ls "$T/p")"
    parents=0 children=0
    for f in "$T"/p/*; do
        check_profile "$f" "$what: $f"
        if profile_has "$f" parent_work; then
            parents=$((parents + 1))
            parent=$f
        elif profile_has "$f" spin_three; then
            children=$((children + 1))
        fi
    done
    [ $parents = 1 ] && [ $children = 8 ] ||
        fail "$what: $parents profiles hold parent_work and $children spin_three, want 1 and 8"
    counts_cpu "$parent"
    ;;
forkwork)
    run_cprof 0 -cpuprofile="$T/cpu.pb.gz" -cpurate=1000 -- "$S" forkwork -children=3
    check_profile "$T/cpu.pb.gz" "$what"
    need "$T/cpu.pb.gz" parent_work parent_helper
    ! profile_has "$T/cpu.pb.gz" child_work || fail "$what: a child wrote over the parent's profile"
    counts_cpu "$T/cpu.pb.gz"
    # With %p: the parent and every child write a file each, the child that
    # leaves by _exit() too (cprof wraps _exit, as dash and others use it).
    mkdir "$T/p"
    run_cprof 0 -cpuprofile="$T/p/cpu.%p.pb.gz" -cpurate=1000 -- "$S" forkwork -children=3
    n=$(ls "$T/p" | wc -l)
    [ "$n" = 4 ] || fail "$what: $n profiles with %p, want 4 (parent, three children): $(ls "$T/p")"
    parents=0 children=0
    for f in "$T"/p/*; do
        check_profile "$f" "$what: $f"
        profile_has "$f" parent_work && parents=$((parents + 1)) && parent=$f
        profile_has "$f" child_work && children=$((children + 1))
    done
    [ $parents = 1 ] && [ $children = 3 ] ||
        fail "$what: with %p, $parents profiles hold parent_work and $children child_work, want 1 and 3"
    counts_cpu "$parent"
    ;;
exitthread)
    run_cprof 3 -cpuprofile="$T/cpu.pb.gz" -cpurate=1000 -- "$S" exitthread
    check_profile "$T/cpu.pb.gz" "$what"
    need "$T/cpu.pb.gz" exit_burner exit_caller
    ;;
sigprof)
    for api in sigaction signal; do
        run_cprof 5 -cpuprofile="$T/cpu-$api.pb.gz" -cpurate=1000 -- "$S" sigprof -api=$api
        ticks=$(sed -n 's/^sigprof_ticks=//p' "$T/out")
        [ "${ticks:-0}" -gt 0 ] || fail "$what ($api): the program's SIGPROF handler never ran"
        lines=$(grep -c SIGPROF "$T/err")
        [ "$lines" = 1 ] || fail "$what ($api): want one line about SIGPROF on stderr, got: $(cat "$T/err")"
        check_profile "$T/cpu-$api.pb.gz" "$what ($api)"
        need "$T/cpu-$api.pb.gz" sigprof_work
    done
    ;;
storm)
    run_cprof 0 -cpuprofile="$T/cpu.pb.gz" -cpurate=1000 -- "$S" storm -so="$SO" -seconds=2
    check_profile "$T/cpu.pb.gz" "$what"
    need "$T/cpu.pb.gz" storm_malloc storm_dlopen
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
exit 0
