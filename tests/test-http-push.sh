#!/bin/bash
# test-http-push.sh MODE: pushing to a Grafana Pyroscope server, against
# pyroscope_receiver, which checks every request as Pyroscope's ingest API
# reference specifies it (method, path, query, multipart body, the profile).
#
#   ok     CPROF_PUSH_URL with a 1 s interval: at least 2 well-formed CPU and
#          heap pushes with the app name and labels, adjacent intervals, the
#          hot and allocating functions in them; no stderr; prompt exit 0.
#   down   no server: the program runs normally, one line on stderr, memory
#          flat (the queue is bounded); then the server comes up: one line
#          saying pushing works again and how many profiles were dropped.
#   retry  the server answers 500 four times: the retries' gaps grow
#          (exponential back-off), then pushing resumes.
#   run    cprof run -push=... -push-interval -app-name -push-labels; bad
#          values refused by cprof run and (set by hand) by the library; a
#          whole-run -cpuprofile wins over push's CPU profiles.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/http-lib.sh"
MODE=${1:?usage: test-http-push.sh ok|down|retry|run}

# start_receiver [PORT] [ARGS...]: sets RPORT; log in $T/recv.log.
start_receiver() {
    local port=${1:-0}
    shift
    "$RECEIVER" -port "$port" -out "$T/recv.log" -cpu http_hot_spin -heap http_alloc_retained \
        "$@" >"$T/recv.port" 2>"$T/recv.err" &
    RPID=$!
    BG_PIDS="$BG_PIDS $RPID"
    wait_for "$T/recv.port" '^[0-9]' || fail "receiver did not start: $(cat "$T/recv.err")"
    RPORT=$(head -1 "$T/recv.port")
}

# push_target ENV...: http_target without the endpoint, pushing; sets PID.
push_target() {
    rm -f "$T/stop" "$T/target.out" "$T/target.err"
    env "$@" "$TARGET" -stop "$T/stop" -trim "$T/trim" -seconds 100 \
        >"$T/target.out" 2>"$T/target.err" &
    PID=$!
    BG_PIDS="$BG_PIDS $PID"
    wait_for "$T/target.out" '^ready' || fail "http_target did not start: $(cat "$T/target.err")"
}

# count PATTERN: receiver log lines matching PATTERN (extended regexp).
count() {
    grep -cE "$1" "$T/recv.log" 2>/dev/null
}

# wait_count N PATTERN SECONDS: until the receiver logged N matching lines.
wait_count() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(count "$2")" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "receiver logged $(count "$2") lines matching $2 in $3 s, want $1: $(cat "$T/recv.log")"
}

# stop_quickly: the program exits 0 within 5 s of being asked (the push
# thread is stopped with a bounded wait, even with a POST in flight).
stop_quickly() {
    local t0=$SECONDS
    touch "$T/stop"
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$PID" 2>/dev/null && fail "the program did not exit within 5 s (push thread?)"
    wait "$PID"
    local rc=$?
    [ $rc = 0 ] || fail "the program exited with status $rc: $(cat "$T/target.err")"
    note "exited 0 within $((SECONDS - t0)) s"
}

# resting_rss: the lowest trimmed RSS of 5 looks 0.4 s apart. The push
# thread symbolizes a profile every interval, and a look that falls in the
# middle of that sees its few MiB; the lowest look is the program at rest.
resting_rss() {
    local i r min=
    for ((i = 0; i < 5; i++)); do
        trim
        r=$(rss_kb "$PID")
        [ -z "$min" ] || [ "$r" -lt "$min" ] && min=$r
        sleep 0.4
    done
    echo "$min"
}

no_errors() {
    ! grep -q 'result=ERR' "$T/recv.log" 2>/dev/null ||
        fail "receiver saw malformed requests: $(grep 'result=ERR' "$T/recv.log" | head -3)"
}

PUSH_ENV=(CPROF_PUSH_INTERVAL=1s CPROF_APP_NAME=pushtest "CPROF_PUSH_LABELS=env=test,zone=a1")
GOOD='status=200 app=pushtest labels=env=test,zone=a1 .* format=pprof sampleRate=100 spyName=cprof'

case $MODE in
ok)
    start_receiver
    push_target CPROF_PUSH_URL=http://127.0.0.1:$RPORT "${PUSH_ENV[@]}"
    wait_count 3 "$GOOD type=cpu .*result=ok" 20
    wait_count 3 "$GOOD type=heap .*result=ok" 20
    stop_quickly
    no_errors
    [ ! -s "$T/target.err" ] || fail "push printed on stderr: $(cat "$T/target.err")"
    cpu=$(count "type=cpu")
    heap=$(count "type=heap")
    note "$cpu CPU and $heap heap pushes, all well-formed"
    # The profiles hold what the program does.
    [ "$(count 'type=cpu .* fn=1')" -ge 2 ] || fail "http_hot_spin missing from CPU pushes"
    [ "$(count 'type=heap .* fn=1')" -ge 2 ] || fail "http_alloc_retained missing from heap pushes"
    # Each CPU interval starts where the previous one ended, about 1 s long.
    grep 'type=cpu' "$T/recv.log" | sed 's/.* from=\([0-9]*\) until=\([0-9]*\).*/\1 \2/' |
        awk 'NR > 1 && $1 != prev { print "gap: " prev " -> " $1; bad = 1 }
             $2 - $1 < 1 || $2 - $1 > 3 { print "length " $2 - $1; bad = 1 }
             { prev = $2 } END { exit bad }' || fail "CPU intervals are not adjacent 1 s spans"
    echo "PASS: $cpu CPU and $heap heap pushes, well-formed, with app name and labels"
    ;;

down)
    port=$(free_port)
    push_target GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072 \
        CPROF_PUSH_URL=http://127.0.0.1:$port "${PUSH_ENV[@]}"
    # The queue (8 requests) is full after 4 intervals; then 8 more s of drops.
    sleep 4
    rss0=$(resting_rss)
    sleep 8
    rss1=$(resting_rss)
    alive
    note "server down: RSS $rss0 -> $rss1 KiB (trimmed)"
    [ $((rss1 - rss0)) -le 1024 ] || fail "RSS grew by $((rss1 - rss0)) KiB while the server was down"
    lines=$(grep -c . "$T/target.err")
    [ "$lines" = 1 ] && grep -q "^cprof: push to http://127.0.0.1:$port failed" "$T/target.err" ||
        fail "want one line on stderr, got: $(cat "$T/target.err")"
    note "stderr: $(cat "$T/target.err")"
    # The server comes up: pushing resumes, and says so once.
    start_receiver "$port"
    wait_count 2 "$GOOD type=cpu .*result=ok" 40
    wait_for "$T/target.err" 'works again' 5 || fail "no line saying pushing works again"
    grep -q 'works again after [0-9]* failed attempts; [1-9][0-9]* profiles dropped' \
        "$T/target.err" || fail "recovery line: $(cat "$T/target.err")"
    note "stderr: $(tail -1 "$T/target.err")"
    [ "$(grep -c . "$T/target.err")" = 2 ] || fail "stderr: $(cat "$T/target.err")"
    stop_quickly
    no_errors
    # And at exit, once, what was lost.
    [ "$(grep -c . "$T/target.err")" = 3 ] &&
        tail -1 "$T/target.err" | grep -q 'profiles sent, [1-9][0-9]* dropped, 0 CPU intervals skipped' ||
        fail "exit summary: $(cat "$T/target.err")"
    note "stderr: $(tail -1 "$T/target.err")"
    echo "PASS: server down: one line, memory flat, program unaffected; recovery reported"
    ;;

retry)
    start_receiver 0 -fail 4
    push_target CPROF_PUSH_URL=http://127.0.0.1:$RPORT "${PUSH_ENV[@]}"
    wait_count 4 "$GOOD type=.*result=ok" 40
    stop_quickly
    no_errors
    head -4 "$T/recv.log" | grep -c 'status=500' | grep -qx 4 ||
        fail "the first 4 requests were not the failing ones: $(head -5 "$T/recv.log")"
    # The gaps between the 5 first attempts (4 failures, then success):
    # exponential back-off, 0.5 s doubling, plus up to 10%.
    # Between two attempts the thread may also cut an interval's profiles
    # (symbolizing them takes a while on a loaded machine), so gaps are only
    # bounded below: 0.5, 1, 2, 4 s; and the last is several times the first.
    head -5 "$T/recv.log" | sed 's/^t=\([0-9]*\).*/\1/' | awk '
        NR > 1 { gap = $1 - prev; gaps = gaps " " gap
                 if (gap < 0.9 * 500 * 2 ^ (NR - 2)) bad = 1
                 if (NR == 2) first = gap }
        { prev = $1 }
        END { print "# retry gaps (ms):" gaps; exit bad || gap < 3 * first }' ||
        fail "retries are not backing off exponentially"
    grep -q "failed (HTTP 500: injected failure" "$T/target.err" &&
        grep -q 'works again after 4 failed attempts' "$T/target.err" &&
        grep -q 'profiles sent, [1-9][0-9]* dropped' "$T/target.err" &&
        [ "$(grep -c . "$T/target.err")" = 3 ] ||
        fail "stderr: $(cat "$T/target.err")"
    echo "PASS: 500s retried with exponential back-off, then pushing resumed"
    ;;

run)
    # Values cprof run refuses, with one line and status 2.
    for flag in -push=ftp://x -push=127.0.0.1:4040 '-push=http://h/?q=1' -push-interval=10x \
        -push-interval=500ms -push-interval=25h -push-interval=s -app-name='a b' -app-name= \
        -push-labels=novalue -push-labels==v -push-labels=__name__=x '-push-labels=k=v w' \
        -push-labels=k=v, '-push-labels=k={v}' -push-labels=1k=v; do
        run_cprof 2 "$flag" -- true
        [ "$(grep -c . "$T/err")" = 1 ] || fail "cprof run $flag: $(cat "$T/err")"
    done
    note "bad -push values refused: e.g. $(cat "$T/err")"
    # The same mistakes made by hand reach the library: one line, no push,
    # the program runs normally.
    for env in CPROF_PUSH_URL=ftp://x "CPROF_PUSH_LABELS=a b" CPROF_APP_NAME=a/b; do
        env CPROF_PUSH_URL=http://127.0.0.1:9 CPROF_PUSH_INTERVAL=1s "$env" "$TARGET" -seconds 1 \
            >"$T/out" 2>"$T/err" || fail "$env: the program failed: $(cat "$T/err")"
        [ "$(grep -c . "$T/err")" = 1 ] && grep -q 'without pushing' "$T/err" ||
            fail "$env: $(cat "$T/err")"
    done
    env CPROF_PUSH_URL=http://127.0.0.1:9 CPROF_PUSH_INTERVAL=soon "$TARGET" -seconds 1 \
        >"$T/out" 2>"$T/err" || fail "bad interval: the program failed"
    grep -q 'CPROF_PUSH_INTERVAL=soon: not a duration' "$T/err" || fail "bad interval: $(cat "$T/err")"

    start_receiver
    rm -f "$T/stop"
    "$CPROF" run -push=http://127.0.0.1:$RPORT/ -push-interval=1s -app-name=viarun \
        -push-labels=job=t,instance=i-1 -- "$TARGET" -stop "$T/stop" -seconds 100 \
        >"$T/run.out" 2>"$T/run.err" &
    PID=$!
    BG_PIDS="$BG_PIDS $PID"
    wait_count 2 'status=200 app=viarun labels=job=t,instance=i-1 .* type=cpu .*result=ok' 20
    stop_quickly
    no_errors
    [ ! -s "$T/run.err" ] || fail "cprof run -push printed: $(cat "$T/run.err")"
    note "cprof run -push: $(count app=viarun) pushes"

    # A whole-run CPU profile the user asked for wins: push sends heap
    # profiles only, and says once that CPU intervals are skipped.
    : >"$T/recv.log"
    rm -f "$T/stop"
    "$CPROF" run -cpuprofile="$T/cpu.pb.gz" -push=http://127.0.0.1:$RPORT -push-interval=1s \
        -- "$TARGET" -stop "$T/stop" -seconds 100 >"$T/run.out" 2>"$T/run.err" &
    PID=$!
    BG_PIDS="$BG_PIDS $PID"
    wait_count 2 'app=http_target .* type=heap .*result=ok' 20
    stop_quickly
    no_errors
    [ "$(count type=cpu)" = 0 ] || fail "push sent CPU profiles while -cpuprofile ran"
    check_profile "$T/cpu.pb.gz" "-cpuprofile with -push"
    grep -q 'push: no CPU profile for this interval' "$T/run.err" ||
        fail "no word about skipped CPU intervals: $(cat "$T/run.err")"
    [ "$(grep -c 'push:' "$T/run.err")" = 1 ] &&
        grep -q 'profiles sent, 0 dropped, [1-9][0-9]* CPU intervals skipped' "$T/run.err" ||
        fail "stderr: $(cat "$T/run.err")"

    # fork without exec: the push thread is not inherited, the children
    # push nothing and exit normally, and so does the parent.
    : >"$T/recv.log"
    run_cprof 0 -push=http://127.0.0.1:$RPORT -push-interval=1s -- "$CPROF_TEST_BIN/stress" \
        forkwork -children=6
    no_errors
    dup=$(sed -n 's/.* from=\([0-9]*\) .* type=\([a-z]*\) .*/\1 \2/p' "$T/recv.log" | sort | uniq -d)
    [ -z "$dup" ] || fail "two pushes of one interval (a child pushed?): $dup"
    echo "PASS: cprof run -push; bad values refused; -cpuprofile wins over push; fork"
    ;;
*)
    fail "unknown mode $MODE"
    ;;
esac
