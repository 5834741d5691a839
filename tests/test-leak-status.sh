#!/bin/bash
# test-leak-status.sh: the leak checker's exit status, its suppressions and
# its interfaces:
#   - exit status 23 when something is definitely lost (heapgt), the
#     program's own (0) when nothing is (heap_leak_roots); the program's
#     stdout is all there either way;
#   - a suppressions file silences leaks by function name: "leak:" prefix
#     or none, fnmatch patterns, # comments; what it silences moves to the
#     "suppressed" line and out of the report; when every definite leak is
#     suppressed the status is the program's again;
#   - a missing suppressions file is a one-line error before the program runs;
#   - the environment interface (CPROF_LEAKCHECK, CPROF_LEAK_SUPPRESSIONS with
#     LD_PRELOAD) works as `cprof run -leakcheck` does;
#   - -leakcheck together with -memprofile finds what -leakcheck alone finds
#     (the leak check records every allocation whatever the profile's rate).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-heap-lib.sh"

gt="$CPROF_TEST_BIN/heapgt"
roots="$CPROF_TEST_BIN/heap_leak_roots"

# Definite leaks: 23, the report, the summary, stdout intact.
run_cprof 23 -leakcheck -- "$gt"
grep -q "heapgt: done" "$T/out" || fail "heapgt's stdout was lost: $(cat "$T/out")"
[ "$(leak_summary "$T/err" "definitely lost")" = "100048 51" ] ||
    fail "heapgt: definitely lost [$(leak_summary "$T/err" "definitely lost")], want [100048 51]"
grep -q "definitely lost: 100000 bytes in 50 blocks allocated at:" "$T/err" ||
    fail "heapgt: leak_direct's leak is not reported: $(cat "$T/err")"

# Nothing lost: the program's status.
run_cprof 0 -leakcheck -- "$roots"
[ "$(leak_summary "$T/err" "definitely lost")" = "0 0" ] || fail "heap_leak_roots: something is lost: $(cat "$T/err")"

# Suppressions: both of heapgt's leak sites, in the file's three forms.
cat >"$T/supp" <<'SUPP'
# heapgt's known leaks
leak:leak_direct

   make_lost_*
SUPP
run_cprof 0 -leakcheck -leaksuppressions="$T/supp" -- "$gt"
[ "$(leak_summary "$T/err" "definitely lost")" = "0 0" ] ||
    fail "suppressed leaks still counted: $(cat "$T/err")"
[ "$(leak_summary "$T/err" "indirectly lost")" = "0 0" ] ||
    fail "suppressed indirect leaks still counted: $(cat "$T/err")"
supp=$(leak_summary "$T/err" "suppressed")
# 100000 + 480 bytes in 60 blocks, plus the exited thread's DTV (suppressed
# by default, see test-leak-valgrind.sh).
awk -v s="$supp" 'BEGIN { split(s, a, " "); exit !(a[1] >= 100480 && a[1] <= 100480 + 1024 && a[2] == 61) }' ||
    fail "suppressed [$supp], want 100480 bytes (+ a DTV) in 61 blocks"
! grep -q "allocated at:" "$T/err" || fail "a suppressed leak is still reported: $(cat "$T/err")"

# One site suppressed, the other still a definite leak.
echo "leak:leak_direct" >"$T/supp1"
run_cprof 23 -leakcheck -leaksuppressions="$T/supp1" -- "$gt"
[ "$(leak_summary "$T/err" "definitely lost")" = "48 1" ] ||
    fail "with leak_direct suppressed: definitely lost [$(leak_summary "$T/err" "definitely lost")], want [48 1]"
! grep -A1 "allocated at:" "$T/err" | grep -q leak_direct || fail "leak_direct is suppressed but reported"

# A suppressions file that is not there: refused before the program runs.
run_cprof 2 -leakcheck -leaksuppressions="$T/no-such-file" -- "$gt"
[ "$(grep -c . "$T/err")" = 1 ] && grep -q "no-such-file" "$T/err" ||
    fail "missing suppressions file: want one line naming it, got: $(cat "$T/err")"
! grep -q "heapgt: done" "$T/out" || fail "the program ran despite the bad flag"

# The environment interface.
# (env after timeout: only the program gets the library, not timeout.)
timeout -k 5 60 env CPROF_LEAKCHECK=1 LD_PRELOAD="$CPROF_LIBRARY" "$gt" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 23 ] || fail "CPROF_LEAKCHECK=1 with LD_PRELOAD: exit status $rc, want 23; $(cat "$T/err")"
timeout -k 5 60 env CPROF_LEAKCHECK=1 CPROF_LEAK_SUPPRESSIONS="$T/supp" LD_PRELOAD="$CPROF_LIBRARY" "$gt" \
    >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 0 ] || fail "CPROF_LEAK_SUPPRESSIONS: exit status $rc, want 0; $(cat "$T/err")"
timeout -k 5 60 env CPROF_LEAKCHECK=0 LD_PRELOAD="$CPROF_LIBRARY" "$gt" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 0 ] && ! grep -q "leak check" "$T/err" || fail "CPROF_LEAKCHECK=0 still checks: status $rc; $(cat "$T/err")"

# -leakcheck and -memprofile together: the same leaks as -leakcheck alone,
# and the heap profile is exact (the leak check's rate 1 wins). On a
# program that allocates little (heap_leak_interior: 1300 bytes), so that a
# countdown drawn at the profile's 512 KiB would hide every allocation.
interior="$CPROF_TEST_BIN/heap_leak_interior"
run_cprof 23 -leakcheck -memprofile="$T/both.pb.gz" -- "$interior"
got=$(leak_summary "$T/err" "definitely lost")
[ "$got" = "300 1" ] || fail "-leakcheck with -memprofile: definitely lost [$got], want [300 1] (as -leakcheck alone)"
check_heap_profile "$T/both.pb.gz" "-leakcheck with -memprofile" 1
expect_site "$T/both.pb.gz" lost_block 1 300 1 300
