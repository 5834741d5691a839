#!/bin/bash
# test-heap-exact.sh THREADS: the heap profile at -memprofilerate=1 against
# heapgt's ground truth (tests/workloads/heapgt.c), churn on THREADS threads.
# Every allocation is recorded, so every figure is exact:
#
#   site             alloc_objects  alloc_space  inuse_objects  inuse_space
#   keep_live              100        1000000         100         1000000
#   leak_direct             50         100000          50          100000
#   make_node               10            480          10             480
#   churn                 3200      209715200           0               0
#
# Read with Go's pprof (-top -unit=B, exact bytes) and `cprof top` (which
# check_heap_profile holds to Go's output for all four sample types), and
# through the callers: make_lost_list's cum is make_node's, churn_thread's
# is churn's. The whole profile's totals are heapgt's plus what the C
# library allocates for stdio and threads, which is small and bounded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-heap-lib.sh"

threads=${1:?usage: test-heap-exact.sh THREADS}
prog="$CPROF_TEST_BIN/heapgt"
[ -x "$prog" ] || fail "no workload $prog"
prof="$T/heap.pb.gz"

run_cprof 0 -memprofile="$prof" -memprofilerate=1 -- "$prog" "$threads"
grep -q "heapgt: done" "$T/out" || fail "heapgt did not finish: $(cat "$T/out" "$T/err")"
check_heap_profile "$prof" "heapgt x$threads at rate 1" 1

expect_site "$prof" keep_live 100 1000000 100 1000000
expect_site "$prof" leak_direct 50 100000 50 100000
expect_site "$prof" make_node 10 480 10 480
expect_site "$prof" make_lost_list 10 480 10 480 cum
expect_site "$prof" churn 3200 209715200 0 0
expect_site "$prof" churn_thread 3200 209715200 0 0 cum

# cprof top's own figures (counts print exactly in its table): the same.
for idx in alloc_objects inuse_objects; do
    "$CPROF" top -nodefraction=0 -sample_index=$idx "$prof" >"$T/cprof.top" ||
        fail "cprof top -sample_index=$idx failed"
    top_rows "$T/cprof.top" >"$T/cprof.rows"
    case $idx in
    alloc_objects) want="keep_live=100 leak_direct=50 make_node=10 churn=3200" ;;
    inuse_objects) want="keep_live=100 leak_direct=50 make_node=10 churn=0" ;;
    esac
    for kv in $want; do
        fn=${kv%=*}
        got=$(awk -F'\t' -v n="$fn" '$3 == n { v = $1 } END { print v + 0 }' "$T/cprof.rows")
        [ "$got" = "${kv#*=}" ] || fail "cprof top -sample_index=$idx: $fn=$got, want ${kv#*=}"
    done
done
# Its byte figures are rounded to the unit it prints (kB here, as Go's).
got=$("$CPROF" top -nodefraction=0 -sample_index=alloc_space "$prof" | awk '$NF == "churn" { print $1 }')
[ "$got" = "204800kB" ] || fail "cprof top -sample_index=alloc_space: churn=$got, want 204800kB"

# Totals: heapgt's 210815680 allocated bytes and 1100480 in use, plus the C
# library's own (the stdout buffer, each thread's DTV, cprof's 24-byte
# thread start record): at most 64 KiB and 64 blocks more.
heap_sum=210815680
inuse_sum=1100480
total=$(heap_total "$prof" alloc_space)
within "$total" $((heap_sum + 32768)) 32768 || fail "alloc_space total $total, want $heap_sum + at most 64 KiB"
total=$(heap_total "$prof" inuse_space)
within "$total" $((inuse_sum + 32768)) 32768 || fail "inuse_space total $total, want $inuse_sum + at most 64 KiB"
total=$(heap_total "$prof" alloc_objects)
within "$total" $((3360 + 32)) 32 || fail "alloc_objects total $total, want 3360 + at most 64"
note "heapgt x$threads at rate 1: every site exact"
