#!/bin/bash
# test-flight-flood.sh: millions of events (tight region loops on 2 threads
# for 4 s) into a recorder of max_bytes = 1 MiB, and again of 16 MiB (min_age
# 60 s, so size is what binds). The 1 MiB snapshot, taken while the threads
# still run, stays within
#
#   max_bytes + 2 x 64 KiB + 64 KiB
#
# max_bytes: the ring's pieces (flight.c evicts before it adds, so the ring
# never holds more than max_bytes); 2 x 64 KiB: one event buffer per writing
# thread (the issue's "one chunk per thread": a buffer is 64 KiB, trace.c), in
# case a snapshot ever carries the buffers being filled; 64 KiB: the header
# and the closing records (NOTE, strings, clock, thread names, END),
# themselves checked to stay under 64 KiB.
#
# Resident memory, the bound of docs/performance.md ("Flight recorder",
# "Memory bound"), the issue's: the recorder holds at most max_bytes (the
# ring, max_bytes less an eighth, and event buffers handed to the writer and
# not drained yet, at most that eighth) + one 64 KiB event buffer per thread
# that traces (here 4: the 2 flooding threads, main, and the writer, which
# logs heap figures). The ground truth: 2 threads that only flood, so the
# ring fills (the 16 MiB snapshot must be >= 3/4 of max_bytes) and the
# handed-over budget is used up (events are lost: threads never wait).
# Asserted, for both sizes:
#
# - ring full: the peak VmRSS (VmHWM, reset after cprof_flight_start, read
#   before the snapshot: no transient between two samples is missed) minus
#   VmRSS after start <= max_bytes + 4 x 64 KiB + what the same program grows
#   by without the recorder (its threads) + 512 KiB slack for the tracer's
#   own working memory: the writer's flush buffer (~2 event buffers, it sends
#   one buffer at a time) and malloc arena, the stack table's first pages
#   (~80 KiB in all was measured above the chunks);
# - during the snapshot: the peak VmRSS while cprof_flight_write runs (VmHWM
#   reset just before) minus VmRSS just before it, with a 16 MiB ring, <= the
#   same with a 1 MiB ring + 1 MiB. The snapshot writes the ring's pieces to
#   the file from where they are; its own working memory (mostly the
#   symbolizer's: ~17 MiB, freed after; trace.c) does not depend on
#   max_bytes, so the small ring measures it. A copy of the ring would add
#   16 MiB. The peak during a snapshot is thus <= max_bytes + a chunk per
#   thread + that working memory + 2 MiB.
#
# And VmRSS stops growing once the ring is full (max - value at 1 s <= 2 MiB,
# where an unbounded ring would grow by ~100 MiB a second). Where the kernel
# cannot reset VmHWM (before Linux 4.0), the peak checks are skipped.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

MIB=1048576
for mib in 1 16; do
    timeout -k 5 60 "$GT" flood "$T/flood-$mib.cpt" "$mib" 4 on >"$T/on-$mib" 2>"$T/err" ||
        fail "flight_gt flood $mib on: $(cat "$T/err")"
done
timeout -k 5 60 "$GT" flood "$T/none.cpt" 1 4 off >"$T/off" 2>"$T/err" ||
    fail "flight_gt flood off: $(cat "$T/err")"

iterations=$(gt "$T/on-1" iterations)
[ "$iterations" -ge 1000000 ] || fail "only $iterations regions: not a flood"
check_snapshot "$T/flood-1.cpt" "flood snapshot"
size=$(fact file)
closing=$(($(fact head_bytes) + $(fact tail_bytes)))
[ "$closing" -le 65536 ] || fail "header and closing records: $closing bytes, want <= 64 KiB"
bound=$((MIB + 2 * 65536 + 65536))
[ "$size" -le "$bound" ] || fail "snapshot of $size bytes, want <= $bound (max_bytes 1 MiB)"
read -r written lost <<<"$(fact end 2) $(fact end 3)"
note "flood: $iterations regions ($((2 * iterations)) events; $written written, $lost lost" \
    "while the writer was behind); snapshot $size bytes <= $bound, $(fact events) events in it"
[ "$lost" -gt 0 ] || fail "no event lost: the flood never filled the handed-over budget"
check_snapshot "$T/flood-16.cpt" "flood snapshot, 16 MiB"
size16=$(fact file)
[ "$size16" -ge $((16 * MIB * 3 / 4)) ] || fail "16 MiB ring: snapshot of $size16 bytes, not full"
[ "$size16" -le $((16 * MIB + 3 * 65536)) ] || fail "16 MiB ring: snapshot of $size16 bytes"

kib() { gt "$T/$1" "$2_kib"; }
chunks_kib=$((4 * 64)) # one event buffer per tracing thread
for mib in 1 16; do
    late=$(($(kib "on-$mib" rss_max) - $(kib "on-$mib" rss_1s)))
    [ "$late" -le 2048 ] || fail "$mib MiB: VmRSS grew by $late KiB after the first second: not bounded"
done
if [ "$(kib on-1 peak_recording)" -lt 0 ] || [ "$(kib off peak_recording)" -lt 0 ]; then
    note "VmHWM cannot be reset here (/proc/self/clear_refs): the peak checks are skipped"
    exit 0
fi
off_growth=$(($(kib off peak_recording) - $(kib off rss_started)))
for mib in 1 16; do
    full=$(($(kib "on-$mib" peak_recording) - $(kib "on-$mib" rss_started)))
    allowed=$((mib * 1024 + chunks_kib + off_growth + 512))
    note "$mib MiB ring full: peak VmRSS +$full KiB over the recorder's start, want <= $allowed" \
        "($mib MiB + 4 threads x 64 KiB + the threads' own $off_growth KiB + 512 KiB)"
    [ "$full" -le "$allowed" ] ||
        fail "$mib MiB ring full: VmRSS peaked $full KiB over start, want <= $allowed KiB"
done
write1=$(($(kib on-1 peak_write) - $(kib on-1 rss_full)))
write16=$(($(kib on-16 peak_write) - $(kib on-16 rss_full)))
note "snapshot: peak VmRSS +$write1 KiB over the full ring's (1 MiB), +$write16 KiB (16 MiB);" \
    "after it, +$(($(kib on-16 rss_after_write) - $(kib on-16 rss_full))) KiB (16 MiB)"
[ "$write16" -le $((write1 + 1024)) ] ||
    fail "a 16 MiB ring's snapshot added $write16 KiB to VmRSS, a 1 MiB ring's $write1 KiB:" \
        "the snapshot grows with the ring (a copy of it?), want <= $((write1 + 1024))"
