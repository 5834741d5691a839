#!/bin/bash
# test-http-badinput.sh: bad requests get a clear 4xx and change nothing:
# bad `seconds` (non-numeric, negative, zero, huge, over the cap), `hz` and
# `debug`; unknown paths (404 "Unknown profile" under /debug/pprof/, 404
# elsewhere); wrong methods (405); the token (401 without it or with a wrong
# one, 200 with it); garbage on a raw socket, a huge header, a huge POST
# body; a client that hangs up during profile?seconds=N (the profile stops:
# the next one succeeds at once). Then `cprof run`: -http=0.0.0.0:PORT without
# -http-allow-remote is refused with one line and the program runs on, and
# -http=127.0.0.1:PORT serves go tool pprof. The program runs throughout and
# exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/http-lib.sh"

start_target CPROF_HTTP_MAX_SECONDS=20
note "http_target pid $PID on port $PORT"

# ---- Parameters -----------------------------------------------------------------------
for s in abc 1x -1 0 '' 99999999 99999999999999999999999 21 %201 1.5 0x10; do
    expect 400 "debug/pprof/profile?seconds=$s"
    body_has 'Bad Request'
done
req 'debug/pprof/profile?seconds=21'
body_has 'exceeds the limit of 20'
for h in 0 abc 100000 '%00'; do
    expect 400 "debug/pprof/profile?seconds=1&hz=$h"
done
for d in 3 x -1 '%001'; do
    expect 400 "debug/pprof/goroutine?debug=$d"
    expect 400 "debug/pprof/threads?debug=$d"
done
note "bad seconds/hz/debug: 400 with a message"

# ---- Paths and methods ------------------------------------------------------------------
for p in nothing heapx profile/x 'goroutine/../heap' '%2e%2e/heap' 'heap%20' '%00' 'heap%00'; do
    expect 404 "debug/pprof/$p" --path-as-is
    body_has 'Unknown profile'
done
for p in '' nothing debug debug/ 'debug/pprofx'; do
    expect 404 "$p"
    body_has '404 page not found'
done
for m in POST PUT DELETE PATCH; do
    expect 405 debug/pprof/heap -X "$m"
    grep -qi '^allow:' "$T/headers" || fail "405 without Allow"
done
expect 405 'debug/pprof/profile?seconds=1' -X POST
expect 200 debug/pprof/symbol -X POST --data-binary '0x1'
note "unknown paths 404, wrong methods 405"

# ---- Oversized and malformed requests --------------------------------------------------
# A huge POST body to symbol: 413, and the program is fine.
head -c 2000000 /dev/zero | tr '\0' '+' >"$T/big"
expect 413 debug/pprof/symbol --data-binary "@$T/big"
# A huge header: refused (431) or the connection closed, never served.
{
    printf 'X-Big: '
    head -c 200000 /dev/zero | tr '\0' a
    echo
} >"$T/bighdr"
req debug/pprof/heap -H "@$T/bighdr"
case $CODE in 4*|000) ;; *) fail "a 200 KB header got HTTP $CODE" ;; esac
note "200 KB header: HTTP $CODE"
# Garbage on a raw socket, and request lines that are not HTTP: the
# connection ends, answered with an error or not at all, within the
# endpoint's idle timeout (30 s: binary garbage waits for it, so it runs in
# the background while the rest goes on, which also shows that a stuck
# connection blocks nobody).
raw() {
    (
        # The server may close before all is written: that is an answer too,
        # not a reason for this shell to die of SIGPIPE.
        trap '' PIPE
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
        printf "$1" >&3 2>/dev/null
        timeout 40 cat <&3 >"$2" 2>/dev/null
        echo $? >"$2.rc"
    ) || fail "cannot connect to port $PORT"
}
check_raw() {
    [ "$(cat "$2.rc")" != 124 ] || fail "the server kept a connection open 40 s after: $1"
    if [ -s "$2" ]; then
        head -1 "$2" | grep -q '^HTTP/1.[01] [45][0-9][0-9]' ||
            fail "garbage answered with: $(head -1 "$2")"
    fi
}
binary='\x00\x01\x02\xff\xfe garbage \x80\x81\r\n\r\n'
raw "$binary" "$T/raw.bin" &
raw_pid=$!
i=0
for r in 'GARBAGE\r\n\r\n' 'GET /debug/pprof/heap HTTP/9.9\r\nHost: x\r\n\r\n' \
    'GET /debug/pprof/heap HTTP/1.1\r\nno colon here\r\n\r\n' \
    'POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' \
    'POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n'; do
    raw "$r" "$T/raw.$i"
    check_raw "$r" "$T/raw.$i"
    i=$((i + 1))
done
expect 200 debug/pprof/heap
alive
note "garbage, bad request lines, bad lengths: connection ended, program fine"

# ---- A client that hangs up during a CPU profile ---------------------------------------
curl -s -m 1 -o /dev/null "$URL/debug/pprof/profile?seconds=15"
sleep 0.5
expect 200 'debug/pprof/profile?seconds=1'
note "after a client hung up mid-profile, the next profile succeeded at once"
wait $raw_pid
check_raw "$binary" "$T/raw.bin"
note "binary garbage: connection closed by the server itself"
alive
stop_target

# ---- The token ------------------------------------------------------------------------------
start_target CPROF_HTTP_TOKEN=s3cret-token
expect 401 debug/pprof/
grep -qi '^www-authenticate: Bearer' "$T/headers" || fail "401 without WWW-Authenticate"
expect 401 debug/pprof/heap -H 'Authorization: Bearer wrong'
expect 401 debug/pprof/heap -H 'Authorization: Bearer s3cret-toke'
expect 401 debug/pprof/heap -H 'Authorization: Bearer s3cret-tokenX'
expect 401 debug/pprof/heap -H 'Authorization: Basic czNjcmV0LXRva2Vu'
expect 401 debug/pprof/heap -H 'Authorization: s3cret-token'
expect 401 debug/pprof/symbol -X POST --data-binary 0x1
expect 200 debug/pprof/heap -H 'Authorization: Bearer s3cret-token'
expect 200 debug/pprof/ -H 'Authorization: Bearer s3cret-token'
expect 200 'debug/pprof/profile?seconds=1' -H 'Authorization: Bearer s3cret-token'
note "token: 401 without or with a wrong one, 200 with it"
alive
stop_target

# ---- cprof run: the loopback guard and -http=127.0.0.1:PORT ----------------------------------
port=$(free_port)
run_cprof 0 -http=0.0.0.0:$port -- "$TARGET" -seconds 2
grep -q '^ready' "$T/out" && grep -q '^exiting' "$T/out" ||
    fail "the program did not run normally: $(cat "$T/out")"
lines=$(grep -c . "$T/err")
[ "$lines" = 1 ] && grep -q 'refusing to serve profiles on 0.0.0.0' "$T/err" ||
    fail "-http=0.0.0.0 without -http-allow-remote: want one line, got: $(cat "$T/err")"
note "0.0.0.0 refused: $(cat "$T/err")"

port=$(free_port)
rm -f "$T/stop"
"$CPROF" run -http=127.0.0.1:$port -- "$TARGET" -stop "$T/stop" -seconds 100 \
    >"$T/run.out" 2>"$T/run.err" &
PID=$!
BG_PIDS="$BG_PIDS $PID"
wait_for "$T/run.out" '^ready' || fail "cprof run -http: $(cat "$T/run.err")"
URL=http://127.0.0.1:$port
expect 200 debug/pprof/
gopprof -top -seconds=1 "$URL/debug/pprof/profile" >"$T/run.top" 2>"$T/go.err" ||
    fail "go tool pprof through cprof run -http: $(cat "$T/go.err")"
grep -q http_hot_spin "$T/run.top" || fail "cprof run -http: profile lacks http_hot_spin"
touch "$T/stop"
wait $PID
rc=$?
[ $rc = 0 ] || fail "cprof run -http: exit status $rc; $(cat "$T/run.err")"
note "cprof run -http=127.0.0.1:$port served go tool pprof"

echo "PASS: bad input answered with 4xx, token, loopback guard, hang-up; program unaffected"
