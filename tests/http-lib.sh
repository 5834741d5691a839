# tests/http-lib.sh: helpers of the live-endpoint and push tests
# (test-http-*.sh), on top of tests/lib.sh. Source it after lib.sh.
#
# Every process a test starts in the background is recorded in BG_PIDS and
# killed at exit, so that a failing test never leaves a server behind.

command -v curl >/dev/null 2>&1 || fail "curl is not installed (scripts/setup.sh installs it)"

TARGET=$CPROF_TEST_BIN/http_target
RECEIVER=$CPROF_TEST_BIN/pyroscope_receiver
BG_PIDS=""

http_cleanup() {
    local p
    for p in $BG_PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    cleanup
}
trap http_cleanup EXIT

# wait_for FILE PATTERN [SECONDS]: waits until FILE has a line matching PATTERN.
wait_for() {
    local i
    for ((i = 0; i < ${3:-20} * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# start_target [ENV=VALUE...]: runs http_target with the endpoint on a port
# the kernel picks (linked API); sets PID, PORT and URL. Output in
# $T/target.out and $T/target.err. Stops when $T/stop exists; trims malloc's
# free memory when $T/trim exists.
start_target() {
    rm -f "$T/stop" "$T/target.out" "$T/target.err"
    env "$@" "$TARGET" -listen 127.0.0.1:0 -stop "$T/stop" -trim "$T/trim" -seconds 200 \
        >"$T/target.out" 2>"$T/target.err" &
    PID=$!
    BG_PIDS="$BG_PIDS $PID"
    wait_for "$T/target.out" '^ready' ||
        fail "http_target did not start: $(cat "$T/target.err")"
    PORT=$(sed -n 's/^port //p' "$T/target.out")
    [ -n "$PORT" ] && [ "$PORT" -gt 0 ] || fail "http_target printed no port"
    URL=http://127.0.0.1:$PORT
}

# stop_target: asks the program to end and checks that it exits 0 by itself.
stop_target() {
    local rc i
    touch "$T/stop"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$PID" 2>/dev/null && fail "http_target did not exit within 30 s"
    wait "$PID"
    rc=$?
    [ $rc = 0 ] || fail "http_target exited with status $rc; stderr: $(cat "$T/target.err")"
    grep -q '^exiting' "$T/target.out" || fail "http_target did not run to its end"
}

# alive: the program still runs.
alive() {
    kill -0 "$PID" 2>/dev/null || fail "http_target died; stderr: $(cat "$T/target.err")"
}

# req PATH [CURL ARGS...]: GET (or what the args say) $URL/PATH; the status
# code in $CODE, the body in $T/body, the headers in $T/headers.
req() {
    local path=$1
    shift
    CODE=$(curl -s -m 60 -D "$T/headers" -o "$T/body" -w '%{http_code}' "$@" "$URL/$path")
}

# expect CODE PATH [CURL ARGS...]: req, and the status must be CODE.
expect() {
    local want=$1
    shift
    req "$@"
    [ "$CODE" = "$want" ] || fail "$* -> HTTP $CODE, want $want; body: $(head -c 300 "$T/body" | tr -d '\0')"
}

# body_has TEXT: the last body contains TEXT (fixed string).
body_has() {
    grep -qF -- "$1" "$T/body" || fail "answer lacks \"$1\": $(head -c 600 "$T/body" | tr -d '\0')"
}

# free_port: a loopback TCP port nobody listens on now.
free_port() {
    local p hex
    while :; do
        p=$((20000 + RANDOM % 40000))
        hex=$(printf '%04X' "$p")
        grep -q ":$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null || break
    done
    echo "$p"
}

# fd_count / rss_kb PID: open descriptors; resident memory in KiB.
fd_count() {
    ls "/proc/$1/fd" | wc -l
}
# trim: asks the program to give back to the system what malloc keeps free
# (see http_target's -trim) and waits until it has.
trim() {
    local i
    touch "$T/trim"
    for ((i = 0; i < 100; i++)); do
        [ -e "$T/trim" ] || return 0
        sleep 0.1
    done
    fail "http_target did not trim"
}
rss_kb() {
    local i
    touch "$T/trim"
    for ((i = 0; i < 100; i++)); do
        [ -e "$T/trim" ] || break
        sleep 0.1
    done
    [ -e "$T/trim" ] && fail "http_target did not trim"
    rss_kb "$1"
}
rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
