#!/bin/bash
# test-flight-flood.sh: millions of events (tight region loops on 2 threads
# for 4 s) into a recorder of max_bytes = 1 MiB (min_age 60 s, so size is
# what binds). The snapshot, taken while the threads still run, stays within
#
#   max_bytes + 2 x 64 KiB + 64 KiB
#
# max_bytes: the ring's chunks after eviction (flight.c evicts while the ring
# holds more than max_bytes); 2 x 64 KiB: one event buffer per writing thread
# (the issue's "one chunk per thread": a buffer is 64 KiB, trace.c), in case a
# snapshot ever carries the buffers being filled; 64 KiB: the header and the
# closing records (NOTE, strings, clock, thread names, END), themselves
# checked to stay under 64 KiB.
#
# Resident memory (VmRSS, sampled every 50 ms) stays bounded: it stops
# growing once the ring is full (max - value at 1 s <= 2 MiB, where an
# unbounded ring would grow by ~100 MiB a second), and its growth from
# cprof_flight_start to the maximum stays within the event buffer pool
# (flight.c: max_bytes / 4, at least 1 MiB) + 3 x max_bytes (the ring, the
# chunk being assembled, which grows to twice what it holds, the snapshot's
# copy) + 4 MiB for the allocator's slack. The same program without the
# recorder is run for comparison; the recorder's fixed start-up cost
# (rss at start, the tracer's stack table) is reported.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

MIB=1048576
timeout -k 5 60 "$GT" flood "$T/flood.cpt" 1 4 on >"$T/on" 2>"$T/err" ||
    fail "flight_gt flood on: $(cat "$T/err")"
timeout -k 5 60 "$GT" flood "$T/none.cpt" 1 4 off >"$T/off" 2>"$T/err" ||
    fail "flight_gt flood off: $(cat "$T/err")"

iterations=$(gt "$T/on" iterations)
[ "$iterations" -ge 1000000 ] || fail "only $iterations regions: not a flood"
check_snapshot "$T/flood.cpt" "flood snapshot"
size=$(fact file)
closing=$(($(fact head_bytes) + $(fact tail_bytes)))
[ "$closing" -le 65536 ] || fail "header and closing records: $closing bytes, want <= 64 KiB"
bound=$((MIB + 2 * 65536 + 65536))
[ "$size" -le "$bound" ] || fail "snapshot of $size bytes, want <= $bound (max_bytes 1 MiB)"
read -r written lost <<<"$(fact end 2) $(fact end 3)"
note "flood: $iterations regions ($((2 * iterations)) events; $written written, $lost lost" \
    "for want of buffers); snapshot $size bytes <= $bound, $(fact events) events in it"

rss() { gt "$1" "rss_$2_kib"; }
fixed=$(($(rss "$T/on" started) - $(rss "$T/on" start)))
growth=$(($(rss "$T/on" max) - $(rss "$T/on" started)))
late=$(($(rss "$T/on" max) - $(rss "$T/on" 1s)))
against=$(($(rss "$T/on" max) - $(rss "$T/off" max)))
note "VmRSS: recorder start-up +$fixed KiB; then +$growth KiB to the maximum (+$late KiB after 1 s);" \
    "max $(rss "$T/on" max) KiB with the recorder, $(rss "$T/off" max) KiB without (+$against KiB)"
[ "$late" -le 2048 ] || fail "VmRSS grew by $late KiB after the first second: not bounded"
allowed=$((MIB / 1024 + 3 * MIB / 1024 + 4096))
[ "$growth" -le "$allowed" ] ||
    fail "VmRSS grew by $growth KiB while recording, want <= $allowed KiB (pool + 3 x max_bytes + 4 MiB)"
[ "$against" -le $((fixed + allowed)) ] ||
    fail "VmRSS $against KiB over the same program without the recorder, want <= $((fixed + allowed))"
