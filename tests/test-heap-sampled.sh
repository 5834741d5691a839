#!/bin/bash
# test-heap-sampled.sh THREADS: the heap profile at the default rate (a
# sample every 512 KiB on average) estimates the truth.
#
# Sampling is a Poisson process over allocated bytes, so a block of size S
# is sampled with probability p = 1 - exp(-S/R), R = 524288, independently
# of the others, and the profile counts each sampled block as 1/p blocks.
# For a site of N blocks the estimate's relative standard deviation is
# sqrt((1 - p) / (N p)):
#
#   heapgt's churn, 3200 x 64 KiB (200 MiB): p = 0.1175, sd = 4.8%. A 10%
#   tolerance is 2.1 sd: about 4% of runs would fail, and the total at 5%
#   (1.0 sd) about 30%. So the tight checks run on heap_churn, the same
#   shape at a larger volume:
#   churn_big,   131072 x 64 KiB (8 GiB): sd = sqrt(0.8825/15401) = 0.76%;
#                10% is 13 sd.
#   churn_small, 4194304 x 512 B (2 GiB): p = 0.000976, sd = 1.56%; 10% is
#                6.4 sd (blocks far smaller than the rate: the other regime
#                of the un-sampling formula).
#   the total, 10 GiB: sd = sqrt((8 GiB x 0.76%)^2 + (2 GiB x 1.56%)^2)
#                = 70 MiB = 0.68%; 5% is 7.3 sd.
# A correct profiler fails these less than once in a million runs; a bias
# of a few percent (a wrong un-sampling formula, a countdown that is not
# exponential, a thread's first allocations always sampled) fails them.
#
# heapgt itself runs too, for what holds at any rate: churn is the top
# allocation site and, freed at once, has nothing in use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/test-heap-lib.sh"

threads=${1:?usage: test-heap-sampled.sh THREADS}
rate=524288

big=131072 small=4194304
prof="$T/churn.pb.gz"
run_cprof 0 -memprofile="$prof" -- "$CPROF_TEST_BIN/heap_churn" $big $small "$threads"
check_heap_profile "$prof" "heap_churn x$threads" $rate
truth=$(sed -n 's/^total_bytes=//p' "$T/out")
[ -n "$truth" ] || fail "heap_churn printed no total_bytes: $(cat "$T/out")"

got_big=$(heap_flat "$prof" alloc_space churn_big)
got_small=$(heap_flat "$prof" alloc_space churn_small)
got_total=$(heap_total "$prof" alloc_space)
want_big=$((big * 65536)) want_small=$((small * 512))
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f%%", 100 * (a - b) / b }'; }
note "x$threads: churn_big $got_big ($(pct "$got_big" $want_big))," \
    "churn_small $got_small ($(pct "$got_small" $want_small))," \
    "total $got_total ($(pct "$got_total" "$truth"))"
within "$got_big" $want_big $((want_big / 10)) || fail "churn_big alloc_space $got_big, want $want_big +-10%"
within "$got_small" $want_small $((want_small / 10)) ||
    fail "churn_small alloc_space $got_small, want $want_small +-10%"
within "$got_total" "$truth" $((truth / 20)) || fail "total alloc_space $got_total, want $truth +-5%"
# Object counts are un-sampled alike: the same ratio as the bytes.
got_objs=$(heap_flat "$prof" alloc_objects churn_big)
within "$got_objs" $big $((big / 10)) || fail "churn_big alloc_objects $got_objs, want $big +-10%"
for fn in churn_big churn_small; do
    [ "$(heap_flat "$prof" inuse_space "$fn")" = 0 ] || fail "$fn: every block was freed, inuse_space is not 0"
done

prof="$T/heapgt.pb.gz"
run_cprof 0 -memprofile="$prof" -- "$CPROF_TEST_BIN/heapgt" "$threads"
check_heap_profile "$prof" "heapgt x$threads" $rate
top=$(heap_rows "$prof" alloc_space | head -1 | cut -f3)
[ "$top" = churn ] || fail "heapgt x$threads: top alloc_space site is '$top', not churn"
[ "$(heap_flat "$prof" inuse_space churn)" = 0 ] || fail "heapgt: churn has bytes in use"
