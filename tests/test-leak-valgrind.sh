#!/bin/bash
# test-leak-valgrind.sh PROG: cprof's leak checker and valgrind's memcheck
# (--leak-check=full) agree on PROG (a workload in $CPROF_TEST_BIN):
# definitely lost, indirectly lost and still reachable, bytes and blocks.
#
# Where they legitimately differ, the test holds cprof to its documented
# behaviour (src/runtime/leak.c) and says so:
#
# - Interior pointers. cprof, like LeakSanitizer, counts a pointer into a
#   block (not only to its start) as a reference; valgrind calls a block
#   found only that way "possibly lost". Such blocks are still reachable
#   for cprof: cprof's still reachable = valgrind's still reachable +
#   possibly lost (heap_leak_interior is all about this).
# - The C library's DTV (allocate_dtv, one per thread, the thread's table
#   of TLS blocks): its only pointer, in the thread control block, points
#   one entry past its start, so valgrind calls a live thread's DTV
#   possibly lost, and cprof still reachable (the rule above). Exited
#   threads' DTVs hang from the stacks glibc caches; cprof suppresses them
#   by default (the "suppressed" line). Their sizes differ between the two
#   runs (the DTV grows with the objects loaded), so DTV bytes are taken
#   out of both sides: cprof's from its heap profile of the same run,
#   valgrind's from its loss records.
# - valgrind runs with --run-libc-freeres=no: cprof checks at exit before
#   the C library frees its own buffers (as LeakSanitizer does), so stdio's
#   buffer is still reachable in both.
#
# The expected figures of each workload (from its construction) are
# checked too, so that the two cannot agree on a wrong answer.
#
# heap_leak_churn is a busy heap whose blocks are written only at their ends.
# Their stale contents (old data, glibc's free-list pointers) would hide real
# leaks; valgrind ignores bytes never written, and cprof clears new blocks
# under -leakcheck, so neither counts them. What still points into dropped
# blocks for cprof is glibc's allocator state in libc's data (main_arena's
# bins point at free chunks' headers, inside the block before each): a real
# root that valgrind, whose allocator replaces glibc's, never sees. Those are
# interior pointers: such a block is "possibly lost". So cprof's definitely +
# indirectly + possibly lost must be exactly the dropped blocks and bytes (at
# least 95% of the blocks definitely), valgrind's definitely lost exactly the
# dropped, and still reachable the same for both. Nothing may point at the
# start of a dropped block: when cprof read past the main thread's TLS into
# its own live table (which lists every block), this test failed 1 run in 10
# (7 in 30 with fewer libraries loaded). CPROF_LEAKCHECK_WHY=1 and
# HEAP_LEAK_CHURN_DROPS=FILE (see the workload) say what references a block.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-heap-lib.sh"

name=${1:?usage: test-leak-valgrind.sh PROG}
prog="$CPROF_TEST_BIN/$name"
[ -x "$prog" ] || fail "no workload $prog"
command -v valgrind >/dev/null 2>&1 ||
    fail "valgrind is not installed (scripts/setup.sh installs it): it is the leak checker cprof is held to"

# Expected: "DEF_BYTES DEF_BLOCKS IND_BYTES IND_BLOCKS REACH_BYTES REACH_BLOCKS
# STATUS", cprof's view (REACH: still reachable + possibly lost, without DTVs).
case $name in
heapgt) want="100048 51 432 9 1004096 101 23" ;; # reachable: kept + stdout's buffer
heap_leak_cycle) want="192 3 320 5 128 2 23" ;;
heap_leak_roots) want="0 0 0 0 10500 5 0" ;;
heap_leak_interior) want="300 1 0 0 1000 2 23" ;;
heap_leak_churn) # the program counts what it drops and keeps; + stdout's buffer
    "$prog" >"$T/truth" || fail "$name failed on its own"
    v() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/truth"; }
    want="$(v dropped_bytes) $(v dropped_blocks) 0 0 $(($(v live_bytes) + 4096)) $(($(v live_blocks) + 1)) 23"
    ;;
*) fail "no expected figures for $name" ;;
esac
set -- $want
want_def="$1 $2" want_ind="$3 $4" want_reach="$5 $6" want_status=$7

# cprof: the leak check alone (as a user runs it).
run_cprof "$want_status" -leakcheck -- "$prog"
cp "$T/err" "$T/cprof.log"
grep -q "cprof: leak check summary:" "$T/cprof.log" || fail "$name: no leak check summary: $(cat "$T/cprof.log")"
c_def=$(leak_summary "$T/cprof.log" "definitely lost")
c_ind=$(leak_summary "$T/cprof.log" "indirectly lost")
c_poss=$(leak_summary "$T/cprof.log" "possibly lost")
c_reach=$(leak_summary "$T/cprof.log" "still reachable")
c_supp=$(leak_summary "$T/cprof.log" "suppressed")
# The DTVs' bytes in a cprof run: from a heap profile at rate 1 of another
# run (the same objects are loaded, so the DTVs have the same sizes).
prof="$T/heap.pb.gz"
run_cprof 0 -memprofile="$prof" -memprofilerate=1 -- "$prog"
check_heap_profile "$prof" "$name's heap profile" 1
c_dtv="$(heap_cum "$prof" inuse_space allocate_dtv) $(heap_cum "$prof" inuse_objects allocate_dtv)"

# valgrind. Its client's heap would start just above libc, at ~0x4a00000, where
# counters in real roots look like pointers: the dynamic loader's
# relocate_time (TSC cycles spent relocating, ~60-100 million under valgrind)
# pointed into a dropped block of heap_leak_churn 1 run in 80, and valgrind
# rightly called it possibly lost. --aspace-minaddr moves the client's whole
# address space above 4 GiB, where such a number cannot land, as cprof's heap
# (at 0x55... under ASLR) is; the rules and the comparison are unchanged.
timeout -k 5 240 valgrind --leak-check=full --show-leak-kinds=all --run-libc-freeres=no \
    --aspace-minaddr=0x100000000 --log-file="$T/valgrind.log" "$prog" >"$T/vg.out" 2>&1
rc=$?
[ $rc -ne 124 ] || fail "$name: valgrind timed out"
grep -q "LEAK SUMMARY:" "$T/valgrind.log" || fail "$name: valgrind printed no leak summary: $(tail "$T/valgrind.log")"
v_def=$(valgrind_summary "$T/valgrind.log" "definitely lost")
v_ind=$(valgrind_summary "$T/valgrind.log" "indirectly lost")
v_poss=$(valgrind_summary "$T/valgrind.log" "possibly lost")
v_reach=$(valgrind_summary "$T/valgrind.log" "still reachable")
# valgrind's DTV blocks: the loss records whose stack runs through allocate_dtv.
v_dtv=$(awk '/ in loss record / { r = $0; sub(/^==[0-9]+== +/, "", r); gsub(/,/, "", r)
            split(r, w, " "); b = w[1]; n = (w[2] ~ /^\(/) ? 0 : 0
            for (i = 1; i <= NF; i++) if (w[i] == "blocks") n = w[i - 1]
            inrec = 1; next }
        inrec && /allocate_dtv/ { tb += b; tn += n; inrec = 0 }
        /^==[0-9]+== *$/ { inrec = 0 }
        END { printf "%d %d\n", tb, tn }' "$T/valgrind.log")

note "$name: cprof def=[$c_def] ind=[$c_ind] poss=[$c_poss] reach=[$c_reach] supp=[$c_supp] dtv=[$c_dtv]"
note "$name: valgrind def=[$v_def] ind=[$v_ind] poss=[$v_poss] reach=[$v_reach] dtv=[$v_dtv]"

# sub "A B" "C D": "A-C B-D"; add likewise.
sub() { awk -v x="$1" -v y="$2" 'BEGIN { split(x, a, " "); split(y, b, " "); print a[1] - b[1], a[2] - b[2] }'; }
add() { awk -v x="$1" -v y="$2" 'BEGIN { split(x, a, " "); split(y, b, " "); print a[1] + b[1], a[2] + b[2] }'; }

if [ "$name" = heap_leak_churn ]; then
    # Every dropped block is lost, and nearly all definitely: glibc's bins in
    # libc's data point into the middles of a few (see the top): "possibly
    # lost", as valgrind names blocks found only through interior pointers.
    [ "$v_def" = "$want_def" ] || fail "$name: valgrind's definitely lost [$v_def] is not the truth [$want_def]"
    lost=$(add "$(add "$c_def" "$c_ind")" "$c_poss")
    [ "$lost" = "$want_def" ] ||
        fail "$name: cprof's lost (definitely [$c_def] + indirectly [$c_ind] + possibly [$c_poss]) is [$lost], want the [$want_def] dropped"
    awk -v d="$c_def" -v w="$want_def" 'BEGIN { split(d, a, " "); split(w, b, " ")
        exit !(a[2] >= 0.95 * b[2]) }' ||
        fail "$name: only [$c_def] of the [$want_def] dropped are definitely lost (want 95% of the blocks)"
    [ "$c_reach" = "$v_reach" ] || fail "$name: still reachable: cprof [$c_reach], valgrind [$v_reach]"
    exit 0
fi

# No DTV is ever lost for either: they are reachable, possibly lost, or suppressed.
[ "$c_def" = "$v_def" ] || fail "$name: definitely lost: cprof [$c_def], valgrind [$v_def]"
[ "$c_ind" = "$v_ind" ] || fail "$name: indirectly lost: cprof [$c_ind], valgrind [$v_ind]"
# Possibly lost (only interior pointers), as valgrind means it; the DTVs glibc
# keeps are possibly lost or reachable for valgrind and suppressed for cprof.
c_seen=$(sub "$(add "$(add "$c_reach" "$c_poss")" "$c_supp")" "$c_dtv")
v_seen=$(sub "$(add "$v_reach" "$v_poss")" "$v_dtv")
[ "$c_seen" = "$v_seen" ] ||
    fail "$name: still reachable + possibly lost (+ suppressed - DTVs): cprof [$c_seen], valgrind [$v_seen]"

# And both are right.
[ "$c_def" = "$want_def" ] || fail "$name: definitely lost [$c_def], want [$want_def]"
[ "$c_ind" = "$want_ind" ] || fail "$name: indirectly lost [$c_ind], want [$want_ind]"
[ "$c_seen" = "$want_reach" ] || fail "$name: still reachable without DTVs [$c_seen], want [$want_reach]"
# Only DTVs are suppressed by default.
c_supp_dtv=$(sub "$c_supp" "$(sub "$c_dtv" "$(sub "$(add "$c_reach" "$c_poss")" "$want_reach")")")
[ "$c_supp_dtv" = "0 0" ] || fail "$name: suppressed [$c_supp] is more than the exited threads' DTVs"

# The report names each lost site with its stack.
case $name in
heapgt)
    grep -A1 "definitely lost: 100000 bytes in 50 blocks allocated at:" "$T/cprof.log" | grep -q leak_direct ||
        fail "heapgt: the leak_direct leak is not reported with its stack"
    grep -A1 "indirectly lost: 432 bytes in 9 blocks allocated at:" "$T/cprof.log" | grep -q make_node ||
        fail "heapgt: the indirectly lost list is not reported with its stack"
    ;;
heap_leak_interior)
    grep -A2 "definitely lost: 300 bytes in 1 blocks allocated at:" "$T/cprof.log" | grep -q lost_block ||
        fail "heap_leak_interior: lost_block is not reported"
    ;;
esac
