#!/bin/bash
# test-flight-demo.sh: the demo of issue 9. The slow filesearch runs under
#   cprof run -flightrecorder=5s,16MiB -flighttrigger='search>300ms'
# (filesearch begins a task "search" per request, a region "file" per file
# searched) and filesearch-load puts it under load (4 connections over
# /usr/include/linux, the pattern of scripts/bench-demo.sh). A slow request
# writes a snapshot by itself: the file exists, is a complete trace, and
# holds the "search" task and "file" regions, in flight_check's count and in
# `cprof trace summary` and `cprof trace export`.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"

if [ -z "${FILESEARCH:-}" ] || [ ! -x "$FILESEARCH" ]; then
    echo "SKIP: the demo (examples/filesearch) is not built"
    exit 77
fi
PATHS=/usr/include/linux
[ -d $PATHS ] || {
    echo "SKIP: $PATHS is missing (linux-libc-dev)"
    exit 77
}

# Not under timeout(1): it signals its whole process group, so the server
# would get SIGINT twice (from timeout and forwarded by cprof run) and the
# second one kills it. ctest's TIMEOUT bounds the test.
(cd "$T" && exec "$CPROF" run -flightrecorder=5s,16MiB -flighttrigger='search>300ms' \
    -flightout="$T/demo-%p-%t.cpt" -- "$FILESEARCH" -port=0) 2>"$T/server.log" &
SERVER=$!
BG_PIDS="$BG_PIDS $SERVER"
for _ in $(seq 100); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T/server.log")
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || fail "filesearch did not start: $(cat "$T/server.log")"
"$FILESEARCH_LOAD" -port="$PORT" -duration=4s -c=4 -pattern='(define|enum) +[A-Z_]+_(MAX|MIN)\b' \
    -paths=$PATHS >"$T/load" 2>&1 || fail "filesearch-load: $(cat "$T/load")"
sed 's/^/# /' "$T/load"
for _ in $(seq 50); do
    [ "$(count_cpt demo-)" -gt 0 ] && break
    sleep 0.1
done
kill -INT "$SERVER"
wait "$SERVER" || fail "filesearch exited with status $?: $(tail -5 "$T/server.log")"
max=$(sed -n 's/.*max \([0-9.]*\) ms.*/\1/p' "$T/load")
files=$(count_cpt demo-)
[ "$files" -ge 1 ] || fail "no snapshot written (slowest request: $max ms): $(cat "$T/server.log")"
set -- "$T"/demo-*.cpt
f=$1
grep -q "flight recorder: wrote $f (search took" "$T/server.log" ||
    fail "the server's stderr does not name $f: $(cat "$T/server.log")"
check_snapshot "$f" "demo snapshot"
note "$files snapshot(s); $(basename "$f"): $(fact file) bytes, $(fact events) events," \
    "$(fact end 3) lost; $(grep '^note' "$T/chk")"
[ "$(task_fact search 3)" -gt 0 ] || fail "the snapshot has no \"search\" task" \
    "($(grep '^\(task\|region\) ' "$T/chk" | tr '\n' ';'))"
[ "$(region_fact file 3)" -gt 0 ] || fail "the snapshot has no \"file\" region"
sed -n '/^Tasks:/,/^$/p' "$T/sum" | grep -q '^  search ' || fail "summary: no search task"
sed -n '/^Regions:/,/^$/p' "$T/sum" | grep -q '^  file ' || fail "summary: no file regions"
"$CPROF" trace export -o "$T/demo.json" "$f" 2>"$T/exp.err" || fail "export: $(cat "$T/exp.err")"
grep -q '"search"' "$T/demo.json" && grep -q '"file"' "$T/demo.json" ||
    fail "export: no search or file slices"
note "summary and export show the search task and its file regions"
