#!/bin/bash
# test-heap-edge.sh MODE: one corner of the malloc family under the heap
# profiler. The C library's contracts are checked by the programs
# themselves (tests/test-heap-edge.c, workloads/heap_cxx.cpp); this script
# runs them, at rate 1 (where the profile's figures are exact and checked
# here) and at the default rate, and holds every profile to
# check_heap_profile (Go's pprof reads it, and agrees with `cprof top`).
#
#   realloc align calloc freenull reallocarray usable tag xthread api
#   tcmalloc       realloc align freenull reallocarray usable xthread with
#                  tcmalloc as the next allocator (LD_PRELOAD after libcprof)
#                  test-heap-edge MODE, linked with libcprof (its API turns
#                  sampling on and writes the profile)
#   fork           fork while 3 threads allocate, under `cprof run
#                  -memprofile`: every child exits 0, no child writes the
#                  parent's profile (a forked child is not the profiled
#                  process: see CPROF_TARGET_PID in src/runtime/settings.c),
#                  the parent's profile is valid
#   fork-leakcheck the same under -leakcheck: the children's exit status is
#                  still 0, and only the profiled process reports
#   signal         a SIGALRM handler that mallocs every 50 us while main
#                  mallocs (rate 1): no deadlock. The same program with
#                  sampling off runs first, to show the test itself is sound
#                  (glibc alone does not deadlock or corrupt).
#   signal-default the same at the default rate
#   boot           the bootstrap arena (blocks handed out while the next
#                  allocator is being found) forced into use with
#                  CPROF_TEST_HEAP_BOOT=1 (glibc 2.36 does not use it): the
#                  dynamic loader's message kept there is freed later
#                  through free, which must recognise it; then the calloc
#                  cases, exact as in that mode
#   cxx            workloads/heap_cxx.cpp: new/delete, C++ names demangled
#   own            cprof's own allocations (its thread records, ...) are
#                  not in the program's profile
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-heap-lib.sh"

mode=${1:?usage: test-heap-edge.sh MODE}
edge="$CPROF_TEST_BIN/test-heap-edge"
[ -x "$edge" ] || fail "no test program $edge"

# edge MODE RATE [ARGS...]: runs the linked program, status 0, profile written.
edge() {
    local m=$1 rate=$2 rc
    shift 2
    rm -f "$T/edge.pb.gz"
    timeout -k 5 120 "$edge" "$m" -rate="$rate" -out="$T/edge.pb.gz" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$m at rate $rate: hung (timeout)"
    [ $rc = 0 ] || fail "$m at rate $rate: exit status $rc: $(cat "$T/err")"
    grep -q "^$m: ok" "$T/out" || fail "$m at rate $rate: did not finish: $(cat "$T/out")"
    check_heap_profile "$T/edge.pb.gz" "$m at rate $rate" "$rate"
}

# watched SECONDS CMD...: runs CMD (output to $T/out, $T/err); status 124
# if it hangs: no CPU time used for 10 s while asleep (a deadlock: CMD's
# work is CPU-bound), or SECONDS in all. The stacks of a deadlocked
# process go to $T/stacks when gdb is there.
watched() {
    local limit=$1 pid last=-1 still=0 t=0 now
    shift
    "$@" >"$T/out" 2>"$T/err" &
    pid=$!
    while kill -0 $pid 2>/dev/null; do
        sleep 1
        t=$((t + 1))
        now=$(awk '{ print $14 + $15 }' /proc/$pid/stat 2>/dev/null) || break
        if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; fi
        last=$now
        if [ $still -ge 10 ] || [ $t -ge "$limit" ]; then
            command -v gdb >/dev/null 2>&1 &&
                timeout 30 gdb -p $pid -batch -ex "thread apply all bt 12" 2>/dev/null | grep '^#' >"$T/stacks"
            kill -9 $pid 2>/dev/null
            wait $pid 2>/dev/null
            return 124
        fi
    done
    wait $pid
}

case $mode in
realloc)
    edge realloc 1
    expect_site "$T/edge.pb.gz" realloc_grow_shrink 6 1201160 0 0
    expect_site "$T/edge.pb.gz" realloc_keep 2 8000 1 5000
    # The failed realloc left its block allocated and recorded, then freed.
    expect_site "$T/edge.pb.gz" realloc_fail 1 64 0 0
    edge realloc 524288
    ;;
align)
    edge align 1
    # pvalloc's block may be recorded with its requested 100 bytes or its
    # page: 1912 to 1912 + a page.
    [ "$(heap_flat "$T/edge.pb.gz" alloc_objects align_family)" = 6 ] || fail "align_family: not 6 allocations"
    got=$(heap_flat "$T/edge.pb.gz" alloc_space align_family)
    within "$got" $((1912 + 2048)) 2048 || fail "align_family: alloc_space $got, want 1912..5960"
    [ "$(heap_flat "$T/edge.pb.gz" inuse_space align_family)" = 0 ] || fail "align_family: bytes still in use"
    expect_site "$T/edge.pb.gz" align_keep 1 777 1 777
    edge align 524288
    ;;
calloc)
    edge calloc 1
    # Failed callocs are not allocations: 4 blocks (malloc 4096, calloc
    # 4096, calloc(0, 10), calloc(1000, 10)), all freed.
    expect_site "$T/edge.pb.gz" calloc_cases 4 18192 0 0
    edge calloc 524288
    ;;
boot)
    export CPROF_TEST_HEAP_BOOT=1
    for rate in 524288 1; do
        edge boot $rate
        grep -q 'the bootstrap arena is in use' "$T/err" ||
            fail "boot at rate $rate: the bootstrap arena was not used: $(cat "$T/err")"
    done
    expect_site "$T/edge.pb.gz" calloc_cases 4 18192 0 0
    unset CPROF_TEST_HEAP_BOOT
    ;;
freenull)
    edge freenull 1
    edge freenull 524288
    ;;
reallocarray)
    edge reallocarray 1
    expect_site "$T/edge.pb.gz" reallocarray_cases 2 240 0 0
    edge reallocarray 524288
    ;;
usable)
    edge usable 1
    edge usable 524288
    ;;
tcmalloc)
    # Another allocator behind cprof's hooks, as when the program brings its
    # own: sampled blocks' headers and free's look at the word before a
    # block must hold there too, where a block may start a page with nothing
    # mapped below (tcmalloc's spans are pages). google-perftools is one of
    # scripts/setup.sh's packages.
    tc=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
    [ -e "$tc" ] || { echo "tcmalloc: $tc not installed: skipped"; exit 77; }
    # Each run's exit status and last line; one profile read by Go's pprof
    # (that check takes seconds, the runs a fraction of one).
    for m in realloc align freenull reallocarray usable xthread; do
        for rate in 1 524288; do
            LD_PRELOAD="$CPROF_LIBRARY $tc" timeout -k 5 120 "$edge" $m -rate=$rate \
                -out="$T/edge.pb.gz" >"$T/out" 2>"$T/err" ||
                fail "tcmalloc: $m at rate $rate: exit status $?: $(cat "$T/err")"
            grep -q "^$m: ok" "$T/out" || fail "tcmalloc: $m at rate $rate: did not finish"
        done
    done
    check_heap_profile "$T/edge.pb.gz" "tcmalloc: xthread" 524288
    ;;
tag)
    edge tag 1
    grep -q "^tag: by chance checked" "$T/out" || fail "tag: the by-chance case did not run: $(cat "$T/out")"
    ;;
xthread)
    edge xthread 1
    blocks=$(sed -n 's/.*xthread_blocks=\([0-9]*\).*/\1/p' "$T/out")
    bytes=$(sed -n 's/.*xthread_bytes=\([0-9]*\).*/\1/p' "$T/out")
    # Every block freed by another thread than its allocator: nothing of
    # the site in use, and the whole heap back to the C library's few blocks.
    expect_site "$T/edge.pb.gz" xthread_alloc "$blocks" "$bytes" 0 0
    total=$(heap_total "$T/edge.pb.gz" inuse_space)
    [ "$total" -le 65536 ] || fail "xthread: $total bytes still in use after every block was freed"
    edge xthread 524288
    total=$(heap_total "$T/edge.pb.gz" inuse_space)
    # At the default rate the estimate of what is left is noisy, but what
    # was freed is subtracted exactly: xthread_alloc has nothing in use.
    [ "$(heap_flat "$T/edge.pb.gz" inuse_space xthread_alloc)" = 0 ] || fail "xthread: xthread_alloc in use at 512 KiB"
    ;;
api)
    rm -f "$T/api.pb.gz"
    timeout -k 5 60 "$edge" api -out="$T/api.pb.gz" >"$T/out" 2>"$T/err" ||
        fail "api: $(cat "$T/err")"
    check_heap_profile "$T/api.pb.gz" "api" 1
    expect_site "$T/api.pb.gz" api_while_on 1 1234 0 0
    expect_site "$T/api.pb.gz" api_on_again 1 2345 1 2345
    [ "$(heap_flat "$T/api.pb.gz" alloc_objects api_while_off)" = 0 ] ||
        fail "api: an allocation made with the rate at 0 was recorded"
    ;;
fork | fork-leakcheck)
    for rate in 1 524288; do
        prof="$T/fork.pb.gz"
        rm -f "$prof"
        if [ $mode = fork ]; then
            run_cprof 0 -memprofile="$prof" -memprofilerate=$rate -- "$edge" fork -absent="$prof"
            grep -q "fork: ok" "$T/out" || fail "fork: did not finish: $(cat "$T/out" "$T/err")"
            check_heap_profile "$prof" "fork's parent at rate $rate" $rate
            [ $rate != 1 ] || [ "$(heap_cum "$prof" alloc_objects fork_worker_churn)" -gt 0 ] ||
                fail "fork: the parent's profile lacks its threads' allocations"
        else
            [ $rate = 1 ] || continue
            run_cprof 0 -leakcheck -- "$edge" fork
            grep -q "fork: ok" "$T/out" || fail "fork under -leakcheck: did not finish: $(cat "$T/out" "$T/err")"
            n=$(grep -c "cprof: leak check summary" "$T/err")
            [ "$n" = 1 ] || fail "fork under -leakcheck: $n leak reports, want 1 (the profiled process's)"
        fi
    done
    ;;
signal | signal-default)
    rate=1
    [ $mode = signal-default ] && rate=524288
    # The control: sampling off, glibc alone.
    timeout -k 5 120 "$edge" signal -rate=0 -seconds=1 >"$T/out" 2>"$T/err" ||
        fail "signal: the control run without sampling fails ($?): the test is unsound: $(cat "$T/err")"
    watched 150 "$edge" signal -rate=$rate -seconds=2 -out="$T/sig.pb.gz"
    rc=$?
    [ $rc != 124 ] || fail "signal at rate $rate: deadlock (a malloc in a signal handler" \
        "while main is in malloc/free): $(cat "$T/stacks" 2>/dev/null)"
    [ $rc = 0 ] || fail "signal at rate $rate: exit status $rc: $(cat "$T/err")"
    note "$(tr '\n' ' ' <"$T/out")"
    check_heap_profile "$T/sig.pb.gz" "signal at rate $rate" $rate
    ;;
cxx)
    prof="$T/cxx.pb.gz"
    run_cprof 0 -memprofile="$prof" -memprofilerate=1 -- "$CPROF_TEST_BIN/heap_cxx"
    check_heap_profile "$prof" "heap_cxx" 1
    # 1000 Orders of 96 bytes, half deleted; 50 buffers of 4096, all deleted.
    expect_site "$prof" "shop::Ledger::open_orders(int)" 1000 96000 500 48000 cum
    expect_site "$prof" "shop::make_buffers(int)" 50 204800 0 0 cum
    # The allocation's leaf is libstdc++'s operator new, by its C++ name.
    heap_rows "$prof" alloc_objects | cut -f3 >"$T/names"
    grep -q '^operator new' "$T/names" || fail "heap_cxx: no operator new in the profile: $(cat "$T/names")"
    ! grep -q '_Z' "$T/names" || fail "heap_cxx: mangled names in the profile: $(grep _Z "$T/names")"
    ;;
own)
    prof="$T/own.pb.gz"
    run_cprof 0 -memprofile="$prof" -memprofilerate=1 -- "$CPROF_TEST_BIN/heapgt" 4
    check_heap_profile "$prof" "heapgt x4" 1
    # Samples whose leaf (the function that called malloc) is in libcprof.
    own=$(gopprof -raw "$prof" 2>/dev/null | awk '
        /^Samples:/ { s = 1; next } /^Locations/ { s = 0; l = 1; next } /^Mappings/ { l = 0; m = 1; next }
        s && /:/ { split($0, a, ":"); split(a[2], ids, " "); leaf[ids[1]] = 1 }
        l && /^ *[0-9]+: / { id = $1; sub(":", "", id); map[id] = $3; name[id] = $4 }
        m && /libcprof/ { mid = $1; sub(":", "", mid); ours["M=" mid] = 1 }
        END { for (id in leaf) if (map[id] in ours) print name[id] }' | sort -u | tr '\n' ' ')
    [ -z "$own" ] || fail "cprof's own allocations are in the program's heap profile, at: $own"
    ;;
*) fail "unknown mode $mode" ;;
esac
