#!/bin/bash
# test-flight-fork.sh: snapshots taken while another thread forks in a loop
# (3 s; each child allocates, begins and ends a region, and exits through
# exit(3) with status 42; every fifth child runs a recorder of its own and
# writes a snapshot), the parent's snapshots back to back so that forks land
# inside them (the last 16 are kept and checked). No hang (the whole run has 40 s), no crash, every
# child exits normally with 42, every snapshot of the parent is complete;
# a child's snapshot is complete and holds the child's own events only:
# the recorder does not survive fork, so nothing of the parent's ring.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

# In a session of its own, so that a child left hanging is found and killed.
setsid "$GT" fork "$T" >"$T/gt" 2>"$T/err" &
pid=$!
trap 'kill -9 -- -$pid 2>/dev/null; flight_cleanup' EXIT
for ((i = 0; i < 400; i++)); do
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
if kill -0 $pid 2>/dev/null; then
    stuck=""
    for p in $(pgrep -s $pid); do
        stuck="$stuck $p($(tr -d '\0' <"/proc/$p/wchan" 2>/dev/null))"
        if [ "$p" != $pid ] && command -v gdb >/dev/null; then
            gdb -p "$p" -batch -ex bt 2>/dev/null | grep '^#' | head -12 | sed 's/^/# child: /'
        fi
    done
    kill -9 -- -$pid
    fail "hung (still running after 40 s; processes and where they wait:$stuck)"
fi
rc=0
wait $pid || rc=$?
[ $rc = 0 ] || fail "flight_gt fork: status $rc: $(cat "$T/gt") $(grep -v wrote "$T/err")"
forks=$(gt "$T/gt" forks)
[ "$forks" -ge 10 ] || fail "only $forks forks"
[ "$(gt "$T/gt" children_ok)" = "$forks" ] || fail "children: $(cat "$T/gt")"
n=0
for f in "$T"/fork-*.cpt; do
    "$CHECK" "$f" >"$T/chk" || fail "$(basename "$f"): $(grep '^error' "$T/chk")"
    n=$((n + 1))
done
snaps=$(gt "$T/gt" snapshots)
[ "$snaps" -ge 10 ] && [ "$n" = $((snaps < 16 ? snaps : 16)) ] ||
    fail "$snaps parent snapshots, $n files (16 names reused in turn)"
summary "$f" "$(basename "$f")"
children=0 with_parent=0 without_own=0 unnamed=0 example=
for f in "$T"/child-*.cpt; do
    [ -e "$f" ] || continue
    "$CHECK" "$f" >"$T/chk" || fail "$(basename "$f"): $(grep '^error' "$T/chk")"
    summary "$f" "$(basename "$f")"
    [ "$(fact unnamed)" = 0 ] || unnamed=$((unnamed + 1))
    pid=${f##*/child-}
    pid=${pid%.cpt}
    others=$(awk -v p="$pid" '$1 == "thread" && $2 != p { printf "%s ", $2 }' "$T/chk")
    if [ -n "$others" ]; then
        with_parent=$((with_parent + 1))
        example="$(basename "$f") holds events of threads $others($(grep '^\(region\|task\) ' "$T/chk" | tr '\n' ';'))"
    fi
    [ "$(region_fact child-work 5)" = 100 ] || without_own=$((without_own + 1))
    children=$((children + 1))
done
[ $with_parent = 0 ] && [ $without_own = 0 ] && [ $unnamed = 0 ] ||
    fail "of $children child snapshots, $with_parent hold events of the parent's threads" \
        "(the parent's ring survived fork), $unnamed have events naming strings they lack," \
        "$without_own lack the child's own 100 regions; for example $example"
[ "$children" = "$(gt "$T/gt" child_recorders)" ] ||
    fail "$children child snapshots, want $(gt "$T/gt" child_recorders)"
note "$forks forks, all exited 42; $snaps parent snapshots, $children child snapshots, all complete"
