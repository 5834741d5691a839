#!/bin/bash
# test-flight-signal-http.sh: the recorder started by cprof run
# (-flightrecorder=2s,4MiB) in a program that never calls cprof itself
# (flight_gt serve: 3 threads writing tasks, regions, logs).
# - -flightsignal=USR2: no file before the signal; one kill -USR2 writes
#   exactly one snapshot file (-flightout pattern), complete, with the
#   program's regions and a NOTE saying a signal asked for it; the program
#   goes on and exits 0.
# - GET /debug/pprof/flightrecorder (-http): 200 and a complete trace;
#   404 with a reason when the recorder is off.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-flight-lib.sh"
command -v curl >/dev/null 2>&1 || fail "curl is not installed (scripts/setup.sh installs it)"

# start_serve FLAGS...: cprof run FLAGS -- flight_gt serve; sets RUN, PID, PORT.
start_serve() {
    rm -f "$T/stop" "$T/serve.out"
    timeout -k 5 90 "$CPROF" run "$@" -- "$GT" serve 60 "$T/stop" >"$T/serve.out" 2>"$T/serve.err" &
    RUN=$!
    BG_PIDS="$BG_PIDS $RUN"
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q '^ready' "$T/serve.out" 2>/dev/null && break
        sleep 0.1
    done
    grep -q '^ready' "$T/serve.out" || fail "flight_gt serve did not start: $(cat "$T/serve.err")"
    PID=$(gt "$T/serve.out" pid)
    PORT=$(gt "$T/serve.out" port)
}

stop_serve() {
    touch "$T/stop"
    local rc=0
    wait "$RUN" || rc=$?
    [ $rc = 0 ] || fail "cprof run ... flight_gt serve: status $rc: $(cat "$T/serve.err")"
}

# ---- the signal ----------------------------------------------------------------
start_serve -flightrecorder=2s,4MiB -flightsignal=USR2 -flightout="$T/sig-%p-%t.cpt" \
    -http=127.0.0.1:0
sleep 0.5
[ "$(count_cpt sig-)" = 0 ] || fail "a snapshot file before any signal: $(ls "$T")"
kill -USR2 "$PID"
for ((i = 0; i < 100; i++)); do
    [ "$(count_cpt sig-)" -gt 0 ] && break
    sleep 0.1
done
sleep 0.5
files=$(count_cpt sig-)
[ "$files" = 1 ] || fail "kill -USR2 wrote $files snapshot files, want 1: $(ls "$T")"
set -- "$T"/sig-"$PID"-*.cpt
f=$1
[ -e "$f" ] || fail "the file is not named by -flightout (pid $PID): $(ls "$T")"
check_snapshot "$f" "signal snapshot"
grep -q '^note snapshot asked for by a signal' "$T/chk" || fail "signal snapshot: no NOTE"
[ "$(region_fact work 5)" -gt 0 ] || fail "signal snapshot: no work regions"
grep -q "flight recorder: wrote $f" "$T/serve.err" || fail "stderr does not name $f"
note "kill -USR2: $(basename "$f"), $(fact file) bytes, $(region_fact work 5) regions"

# ---- HTTP, same process --------------------------------------------------------------
[ -n "$PORT" ] || fail "the endpoint's port was not printed"
code=$(curl -s -o "$T/http.cpt" -w '%{http_code}' "http://127.0.0.1:$PORT/debug/pprof/flightrecorder")
[ "$code" = 200 ] || fail "GET /debug/pprof/flightrecorder: HTTP $code: $(head -c 300 "$T/http.cpt")"
check_snapshot "$T/http.cpt" "HTTP snapshot"
grep -q '^note snapshot asked for over HTTP' "$T/chk" || fail "HTTP snapshot: no NOTE"
[ "$(region_fact work 5)" -gt 0 ] || fail "HTTP snapshot: no work regions"
note "GET /debug/pprof/flightrecorder: 200, $(fact file) bytes"
stop_serve
[ "$(count_cpt sig-)" = 1 ] || fail "more snapshot files at exit: $(ls "$T")"

# ---- HTTP, recorder off --------------------------------------------------------------
start_serve -http=127.0.0.1:0
code=$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT/debug/pprof/flightrecorder")
[ "$code" = 404 ] || fail "recorder off: HTTP $code, want 404"
grep -q 'not running' "$T/body" || fail "recorder off: the 404 does not say why: $(cat "$T/body")"
stop_serve
note "recorder off: 404 ($(head -1 "$T/body"))"
