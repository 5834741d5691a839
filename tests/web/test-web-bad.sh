#!/bin/sh
# test-web-bad.sh: `cprof web` refuses what it must refuse, in one line and
# with a non-zero status (bad flags, a non-loopback address, missing or
# corrupt files, two traces), and its server answers bad requests with a
# 4xx and a JSON error (not GET, a foreign Host header, unknown paths,
# bad parameters) while going on serving.
. "$CPROF_SOURCE_DIR/tests/lib.sh"

command -v curl >/dev/null 2>&1 || fail "curl is not installed (scripts/setup.sh installs it)"

# expect_error STATUS PATTERN ARGS...: cprof web ARGS exits with STATUS and
# says one line matching PATTERN.
expect_error() {
    want=$1 pattern=$2
    shift 2
    timeout -k 5 60 "$CPROF" web "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" = "$want" ] || fail "cprof web $*: status $rc, want $want ($(cat "$T/err"))"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "cprof web $*: not one line: $(cat "$T/err")"
    grep -q "^cprof: .*$pattern" "$T/err" || fail "cprof web $*: $(cat "$T/err"), want /$pattern/"
    note "cprof web $*: $(cat "$T/err")"
}

"$CPROF_TEST_BIN/test-pprof-write" golden "$T/golden.pb.gz" || fail "test-pprof-write"
"$CPROF_TEST_BIN/web_gen" trace "$T/t.cpt" 2000 2 >/dev/null || fail "web_gen"
cp "$T/t.cpt" "$T/t2.cpt"
printf 'not a profile' >"$T/junk"
head -c 300 "$T/t.cpt" >"$T/cut.cpt"

expect_error 2 "no profile given" 
expect_error 2 "unknown flag" -bogus "$T/golden.pb.gz"
expect_error 2 "not a loopback address" -http=0.0.0.0:8080 "$T/golden.pb.gz"
expect_error 2 "not a loopback address" -http=10.1.2.3:8080 "$T/golden.pb.gz"
expect_error 2 "bad port" -http=127.0.0.1:99999 "$T/golden.pb.gz"
expect_error 2 "HOST:PORT" -http=8080 "$T/golden.pb.gz"
expect_error 2 "one trace at a time" "$T/t.cpt" "$T/t2.cpt"
expect_error 2 "-base compares profiles" -base="$T/golden.pb.gz" "$T/t.cpt"
expect_error 1 "no such file" "$T/missing.pb.gz"
expect_error 1 "" "$T/junk"
expect_error 2 "not a directory" -assets="$T/nowhere" "$T/golden.pb.gz"
"$CPROF" web -h >"$T/help" 2>&1 || fail "cprof web -h: status $?"
grep -q "loopback" "$T/help" || fail "cprof web -h does not say it serves on loopback"

# A port in use: said, not crashed.
"$CPROF" web -http=127.0.0.1:0 "$T/golden.pb.gz" >"$T/s1" 2>&1 &
pid1=$!
i=0
while ! grep -q serving "$T/s1" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
url=$(sed -n 's/.*serving \(http:[^ ]*\).*/\1/p' "$T/s1")
[ -n "$url" ] || fail "cprof web did not start: $(cat "$T/s1")"
port=$(echo "$url" | sed 's/.*:\([0-9]*\)\/$/\1/')
expect_error 1 "cannot listen on" -http=127.0.0.1:"$port" "$T/golden.pb.gz"

# status URL [CURL ARGS...]: the HTTP status of a request.
status() {
    u=$1
    shift
    curl -s -o "$T/body" -w '%{http_code}' "$@" "$u"
}
check() { # WANT_STATUS PATTERN URL [CURL ARGS...]
    want=$1 pattern=$2
    shift 2
    got=$(status "$@")
    [ "$got" = "$want" ] || fail "$*: HTTP $got, want $want: $(cat "$T/body")"
    grep -q -- "$pattern" "$T/body" || fail "$*: body $(head -c 300 "$T/body"), want /$pattern/"
}
check 200 '<title>cprof' "$url"
check 200 'CP.views' "${url}app.js"
check 200 '"profiles"' "${url}api/session"
check 200 '"names"' "${url}api/profile"
check 405 'only GET' "$url" -X POST -d x=1
check 403 'loopback' "${url}api/session" -H 'Host: attacker.example:80'
check 404 'no such page' "${url}nope"
check 404 'no such page' "${url}../../etc/passwd" --path-as-is
check 400 'si' "${url}api/profile?si=abc"
check 400 'si' "${url}api/profile?si=99"
check 400 'f: a function id' "${url}api/peek?f=-3"
check 404 'no such function' "${url}api/peek?f=999999"
check 404 'no such function' "${url}api/flame?root=99999999"
check 400 'root and px' "${url}api/flame?px=0"
check 400 'root and px' "${url}api/flame?px=999999"
check 400 'f: a function id' "${url}api/source?f=99999999999"
check 400 'no trace' "${url}api/trace"
# A sample type the profile has (samples/count) is opened on request.
check 200 '"sampleIndex":0' "${url}api/profile?si=0"
# Still serving after all that.
check 200 '"profiles"' "${url}api/session"
kill "$pid1"
wait "$pid1" 2>/dev/null
rc=$?
[ "$rc" = 0 ] || fail "cprof web did not stop cleanly on SIGTERM: status $rc"

# A trace cut short is shown, with the cut said.
"$CPROF" web -http=127.0.0.1:0 "$T/cut.cpt" >"$T/s2" 2>"$T/s2.err" &
pid2=$!
i=0
while ! grep -q serving "$T/s2" && [ $i -lt 200 ] && kill -0 $pid2 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if grep -q serving "$T/s2"; then
    url=$(sed -n 's/.*serving \(http:[^ ]*\).*/\1/p' "$T/s2")
    check 200 '"truncated":1' "${url}api/trace"
    kill "$pid2"
    wait "$pid2" 2>/dev/null
    note "a trace cut short: served, flagged truncated"
else
    wait "$pid2" 2>/dev/null
    [ "$(wc -l <"$T/s2.err")" = 1 ] && grep -q '^cprof: ' "$T/s2.err" ||
        fail "a trace cut short: neither served nor one error line: $(cat "$T/s2.err")"
    note "a trace cut short: $(cat "$T/s2.err")"
fi
echo "PASS"
