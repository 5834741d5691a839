#!/bin/bash
# test-http-concurrency.sh: one CPU profile at a time, as Go: while one
# profile?seconds=N runs, a second gets 500 and Go's text, and the first
# still completes with a valid profile; meanwhile rounds of parallel requests
# of every other path all succeed; afterwards CPU profiling is free again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/http-lib.sh"

start_target
note "http_target pid $PID on port $PORT"

curl -s -m 60 -o "$T/first.pb.gz" -w '%{http_code}' "$URL/debug/pprof/profile?seconds=4" \
    >"$T/first.code" &
first=$!
sleep 0.7

expect 500 'debug/pprof/profile?seconds=1'
body_has 'Could not enable CPU profiling: cpu profiling already in use'
note "second CPU profile refused: $(cat "$T/body")"

# Rounds of parallel requests of the other paths, below the connection
# limit (32, one of them taken by the running profile).
paths=(debug/pprof/ debug/pprof/heap debug/pprof/allocs 'debug/pprof/goroutine?debug=1'
    'debug/pprof/goroutine?debug=2' debug/pprof/threads debug/pprof/block debug/pprof/mutex
    debug/pprof/threadcreate debug/pprof/cmdline debug/pprof/symbol 'debug/pprof/heap?debug=0')
n=0
for round in 1 2 3; do
    pids=()
    for ((i = 0; i < 24; i++)); do
        path=${paths[$(((i + round) % ${#paths[@]}))]}
        curl -s -m 60 -o "$T/par.$n.body" -w '%{http_code}\n' "$URL/$path" >"$T/par.$n.code" &
        pids+=($!)
        n=$((n + 1))
    done
    wait "${pids[@]}"
done
bad=0
for ((i = 0; i < n; i++)); do
    [ "$(cat "$T/par.$i.code")" = 200 ] && [ -s "$T/par.$i.body" ] || bad=$((bad + 1))
done
[ $bad = 0 ] || fail "$bad of $n parallel requests did not get 200 with a body"
note "$n parallel requests of other paths: all 200"

wait $first
[ "$(cat "$T/first.code")" = 200 ] || fail "the first CPU profile got HTTP $(cat "$T/first.code")"
gopprof -top "$T/first.pb.gz" >"$T/first.top" 2>"$T/go.err" ||
    fail "go tool pprof cannot read the first profile: $(cat "$T/go.err")"
grep -q http_hot_spin "$T/first.top" || fail "first profile lacks http_hot_spin"

# CPU profiling is free again.
expect 200 'debug/pprof/profile?seconds=1'
alive
stop_target
echo "PASS: second CPU profile refused with Go's text; $n parallel requests succeeded"
