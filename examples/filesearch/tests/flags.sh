#!/bin/bash
# flags.sh: bad flags of filesearch and filesearch-load get one line on
# stderr naming the problem and exit status 2; -help prints the usage and
# exits 0; flags for profiles that do not exist yet are refused.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

# refused STATUS WHAT PROGRAM ARGS...: the program exits with STATUS after
# exactly one line on stderr, which contains WHAT.
refused() {
    local want=$1 what=$2 status=0
    shift 2
    timeout 10 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || status=$?
    [[ $status == "$want" ]] || fail "$*: exit status $status, want $want ($(cat "$TMP/err"))"
    [[ $(wc -l <"$TMP/err") == 1 ]] || fail "$*: want one line on stderr, got: $(cat "$TMP/err")"
    grep -qF -- "$what" "$TMP/err" || fail "$*: \"$(cat "$TMP/err")\" does not mention \"$what\""
    checked=$((checked + 1))
}
checked=0

S=$FILESEARCH
refused 2 "-bogus" "$S" -bogus
refused 2 "-bogus" "$S" --bogus=1
refused 2 "extra" "$S" extra
refused 2 "-port" "$S" -port=abc
refused 2 "-port" "$S" -port=70000
refused 2 "-port" "$S" -port=-1
refused 2 "-port" "$S" -port
refused 2 "-fixed" "$S" -fixed=maybe
refused 2 "unknown fix \"regexp\"" "$S" -fix=threads,regexp
refused 2 "add threads" "$S" -fix=regex
refused 2 "add threads" "$S" -fix=lines,lock
refused 2 "-fixed already fixes everything" "$S" -fixed -fix=threads
refused 2 "-cpuprofile" "$S" -cpuprofile
refused 2 "-cpuprofile" "$S" -cpuprofile=
refused 2 "-memprofile" "$S" -memprofile=
refused 2 "-trace" "$S" -trace=

"$S" -help >"$TMP/out" 2>&1 || fail "-help: exit status $?"
grep -q -- "-fixed" "$TMP/out" || fail "-help does not list -fixed"

# A port in use: one line, exit status 1.
start_server busy
refused 1 "Address already in use" "$S" -port="$PORT"
refused 1 "Address already in use" "$S" -port "$PORT" -fixed
stop_server TERM

L=$FILESEARCH_LOAD
refused 2 "refusing" "$L" -url=http://10.1.2.3:8080/search
refused 2 "refusing" "$L" -url=http://example.com/search
refused 2 "refusing" "$L" -url=http://0.0.0.0:8080/search
refused 2 "http://" "$L" -url=https://127.0.0.1:8080/search
refused 2 "port" "$L" -url=http://127.0.0.1:99999/search
refused 2 "-c" "$L" -c=0
refused 2 "-c" "$L" -c=100000
refused 2 "-duration" "$L" -duration=10
refused 2 "-duration" "$L" -duration=2h
refused 2 "-duration" "$L" -duration=abc
refused 2 "-url or -port" "$L" -url=http://127.0.0.1:1/search -port=1
refused 2 "unknown flag" "$L" -n=5
"$L" -help >"$TMP/out" 2>&1 || fail "filesearch-load -help: exit status $?"
grep -q -- "-duration" "$TMP/out" || fail "filesearch-load -help does not list -duration"

echo "ok: $checked bad command lines refused"
echo PASS
