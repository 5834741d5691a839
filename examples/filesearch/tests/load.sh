#!/bin/bash
# load.sh: filesearch-load puts load on a server and reports it; it counts
# errors (HTTP errors, nothing listening) and then exits with status 1.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

make_corpus "$TMP/corpus"
start_server fixed -fixed

status=0
"$FILESEARCH_LOAD" -port="$PORT" -duration=1s -c=3 -pattern='foo|bar' -paths="$TMP/corpus" \
    >"$TMP/out" 2>&1 || status=$?
cat "$TMP/out"
[[ $status == 0 ]] || fail "load: exit status $status"
grep -Eq '^requests: +[1-9][0-9]* ok, 0 errors, [0-9.]+ requests/s$' "$TMP/out" ||
    fail "load: no requests/s line"
grep -Eq '^latency: +p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms$' "$TMP/out" ||
    fail "load: no latency line"
want=$(grep_answer 'foo|bar' 100 "$TMP/corpus" | wc -l)
grep -q "^answers: *$want matches each" "$TMP/out" || fail "load: want $want matches per answer"

# HTTP errors are counted, and the first one is shown.
status=0
"$FILESEARCH_LOAD" -url="http://localhost:$PORT/search" -duration=300ms -c=2 -paths=/nonexistent \
    >"$TMP/out" 2>&1 || status=$?
[[ $status == 1 ]] || fail "load on a bad path: exit status $status, want 1"
grep -Eq '^requests: +0 ok, [1-9][0-9]* errors' "$TMP/out" || fail "load on a bad path: no errors"
grep -q '^first error: HTTP 400: .*/nonexistent' "$TMP/out" || fail "load: first error not shown"

# The server went on serving, and hangs up cleanly.
stop_server TERM

# Nothing listening: errors, not a hang.
status=0
timeout 20 "$FILESEARCH_LOAD" -port="$PORT" -duration=300ms -c=2 >"$TMP/out" 2>&1 || status=$?
[[ $status == 1 ]] || fail "load on a closed port: exit status $status, want 1"
grep -q '^first error: connect to .*: Connection refused' "$TMP/out" ||
    fail "load on a closed port: $(cat "$TMP/out")"
echo PASS
