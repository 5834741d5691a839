#!/bin/bash
# test-flight-many.sh: 20 snapshots in a loop (cprof_flight_write, 20 ms
# apart) while 8 threads write tasks, regions and logs: each is a complete
# trace that decodes to its last byte, every name its events use is defined
# in it, `cprof trace summary` reads it, and the later snapshots hold events
# of all 8 writers. Symbols: the first snapshot names the pcs of the
# writers' sleeps with a symbolizer, the later ones from the tracer's cache
# (trace.c); every snapshot must name write_snapshots (main waits there for
# the writer), and a pc the same way
# in every snapshot that has it.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

timeout -k 5 60 "$GT" many "$T" >"$T/gt" 2>"$T/err" || fail "flight_gt many: $(grep -v 'wrote' "$T/err")"
[ "$(gt "$T/gt" snapshots_ok)" = 20 ] || fail "$(gt "$T/gt" snapshots_ok) of 20 snapshots written"
n=0
for f in "$T"/many-*.cpt; do
    check_snapshot "$f" "$(basename "$f")"
    [ "$(fact events)" -gt 0 ] || fail "$(basename "$f"): no events"
    [ "$(task_fact job 5)" -gt 0 ] && [ "$(region_fact work 5)" -gt 0 ] ||
        fail "$(basename "$f"): no complete job task or work region"
    writers=$(grep -c '^thread ' "$T/chk")
    grep -q "^symbol .*write_snapshots:" "$T/chk" || fail "$(basename "$f"): no symbol names write_snapshots"
    grep '^symbol ' "$T/chk" | sed "s/^/$(basename "$f") /" >>"$T/symbols"
    n=$((n + 1))
    note "$(basename "$f"): $(fact file) bytes, $(fact events) events, $writers threads"
done
[ $n = 20 ] || fail "$n snapshot files, want 20"
# The last one, ~700 ms in: every writer has filled buffers by then.
[ "$writers" -ge 8 ] || fail "the last snapshot has events of $writers threads, want 8"
# The same pc, named differently by two snapshots: a cached record that is
# not what the symbolizer said.
differ=$(awk '{ key = $3; text = $4 } seen[key] != "" && seen[key] != text { print $1 ": " key " " text " / " seen[key]; exit } { seen[key] = text }' "$T/symbols")
[ -z "$differ" ] || fail "a pc named two ways: $differ"
pcs=$(awk '{ print $3 }' "$T/symbols" | sort -u | wc -l)
note "symbols: $pcs pcs, each named the same in all 20 snapshots"
