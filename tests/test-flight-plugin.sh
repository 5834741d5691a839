#!/bin/bash
# test-flight-plugin.sh: a snapshot names the pcs of a library loaded after
# an earlier snapshot, even where an unloaded library's pcs were. flight_gt
# loads libcprof_flight_plugin_a.so, waits in plugin_wait_a, snapshots,
# unloads it, loads libcprof_flight_plugin_b.so (the same code, the function
# named plugin_wait_b; glibc maps it where the first one was, usually) and
# does the same. The tracer keeps the symbols of earlier snapshots (trace.c):
# the second snapshot must name plugin_wait_b, not plugin_wait_a kept from
# the first for the same pc. Where the second library lands elsewhere the
# pcs differ and the check proves nothing: skipped.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

timeout -k 5 60 "$GT" plugin "$T" "$CPROF_TEST_BIN/libcprof_flight_plugin_a.so" \
    "$CPROF_TEST_BIN/libcprof_flight_plugin_b.so" >"$T/gt" 2>"$T/err" ||
    fail "flight_gt plugin: $(grep -v wrote "$T/err")"
check_snapshot "$T/plugin-a.cpt" "first snapshot"
grep -q '^symbol .*plugin_wait_a:' "$T/chk" || fail "first snapshot: no symbol names plugin_wait_a"
check_snapshot "$T/plugin-b.cpt" "second snapshot"
grep -q '^symbol .*plugin_wait_b:' "$T/chk" ||
    fail "second snapshot: no symbol names plugin_wait_b: $(grep '^symbol .*plugin_wait' "$T/chk")"
base_a=$(gt "$T/gt" base_a) base_b=$(gt "$T/gt" base_b)
if [ "$base_a" != "$base_b" ]; then
    note "the second library was loaded at $base_b, the first at $base_a: no pc in common"
    exit 77
fi
note "both libraries at $base_a; the second snapshot names plugin_wait_b"
