#!/bin/bash
# test-http-clients.sh: the live endpoint answers what Go's net/http/pprof
# answers, read by the real client (go tool pprof) and by curl:
#   - profile?seconds=2 and heap through `go tool pprof -top URL`: the
#     program's hot function and allocating function are on top;
#   - goroutine?debug=1|2 and the alias threads: the known stacks, and (in
#     debug=2, as in Go) the threads' names;
#   - the index page lists every profile; cmdline; symbol GET and POST in
#     pprof's remote symbolization format; the headers Go sends.
# The program keeps running throughout and exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/http-lib.sh"

start_target
note "http_target pid $PID on port $PORT"
sleep 0.5

# ---- CPU profile through the real client --------------------------------------
gopprof -top -seconds=2 "$URL/debug/pprof/profile" >"$T/cpu.top" 2>"$T/cpu.err" ||
    fail "go tool pprof profile: $(cat "$T/cpu.err")"
grep -q 'Type: cpu' "$T/cpu.top" || fail "go tool pprof: not a CPU profile: $(cat "$T/cpu.top")"
top_rows "$T/cpu.top" >"$T/cpu.rows"
first=$(head -1 "$T/cpu.rows" | cut -f3)
[ "$first" = http_hot_spin ] || {
    cat "$T/cpu.top"
    fail "CPU profile's top function is '$first', want http_hot_spin"
}
note "profile: top function $first"
# -seconds=2 was honoured (the client asks with ?seconds=2).
grep -q 'Duration: [0-9.]*s' "$T/cpu.top" || fail "no duration in the CPU profile"
dur=$(sed -n 's/.*Duration: \([0-9.]*\)s.*/\1/p' "$T/cpu.top" | head -1)
within "$dur" 2 0.5 || fail "CPU profile lasted ${dur}s, asked 2s"

# ---- Heap profile through the real client ---------------------------------------
gopprof -top -sample_index=inuse_space "$URL/debug/pprof/heap" >"$T/heap.top" 2>"$T/heap.err" ||
    fail "go tool pprof heap: $(cat "$T/heap.err")"
top_rows "$T/heap.top" >"$T/heap.rows"
first=$(head -1 "$T/heap.rows" | cut -f3)
[ "$first" = http_alloc_retained ] || {
    cat "$T/heap.top"
    fail "heap profile's top function is '$first', want http_alloc_retained"
}
# 256 x 64 KiB are retained: the un-sampled estimate is of that order.
mb=$(awk -F'\t' 'NR == 1 { print $1 }' "$T/heap.rows")
unit=$(sed -n '1,12s/.*of [0-9.]*\([kKMG]*B\) total.*/\1/p' "$T/heap.top" | head -1)
note "heap: top function $first, $mb $unit in use"
# pprof picks the unit (12527.3kB was seen): compare in MB.
case $unit in
kB) mb=$(awk -v v="$mb" 'BEGIN { printf "%.1f", v / 1024 }') ;;
MB) ;;
GB) mb=$(awk -v v="$mb" 'BEGIN { printf "%.1f", v * 1024 }') ;;
*) fail "heap in use: $mb in unit '$unit'" ;;
esac
within "$mb" 17 9 || fail "heap in use: $mb MB, want about 16.8 MB"
# allocs: the same profile with alloc_space as default; Go's gc=1 is accepted.
gopprof -top "$URL/debug/pprof/allocs?gc=1" >"$T/allocs.top" 2>"$T/allocs.err" ||
    fail "go tool pprof allocs: $(cat "$T/allocs.err")"
grep -q http_alloc_retained "$T/allocs.top" || fail "allocs lacks http_alloc_retained"

# ---- Thread dumps ------------------------------------------------------------------
for path in goroutine threads; do
    expect 200 "debug/pprof/$path?debug=1"
    grep -qi '^content-type: text/plain' "$T/headers" || fail "$path?debug=1 is not text/plain"
    for fn in http_hot_spin http_wait_cond http_sleep_loop http_block_read main; do
        body_has "$fn"
    done
    cp "$T/body" "$T/debug1.$path"
    expect 200 "debug/pprof/$path?debug=2"
    for name in '"burner"' '"waiter"' '"sleeper"' '"reader"' '"http_target"'; do
        body_has "$name"
    done
    for fn in http_hot_spin http_wait_cond http_sleep_loop http_block_read; do
        body_has "$fn"
    done
    # The waiter is shown waiting on its condition variable, the reader in read.
    grep -A3 '"waiter"' "$T/body" | grep -q http_wait_cond || fail "waiter's stack in $path?debug=2"
    grep -A3 '"reader"' "$T/body" | grep -q http_block_read || fail "reader's stack in $path?debug=2"
    # debug=0: a pprof profile Go's pprof reads.
    expect 200 "debug/pprof/$path"
    gopprof -raw "$T/body" >"$T/threads.raw" 2>"$T/threads.err" ||
        fail "go tool pprof cannot read $path: $(cat "$T/threads.err")"
    grep -q http_wait_cond "$T/threads.raw" || fail "$path profile lacks http_wait_cond"
done
note "goroutine/threads: names and stacks present"

# ---- Index, cmdline, symbol, other profiles --------------------------------------
expect 200 debug/pprof/
grep -qi '^content-type: text/html' "$T/headers" || fail "index is not text/html"
for name in allocs block cmdline goroutine heap mutex profile symbol threadcreate; do
    body_has ">$name</a>"
done
body_has 'goroutine?debug=2'
expect 200 debug/pprof # Go redirects; the index answers directly

expect 200 debug/pprof/cmdline
tr '\0' '\n' <"$T/body" >"$T/cmdline"
grep -q 'http_target$' "$T/cmdline" && grep -qx -- -listen "$T/cmdline" &&
    grep -qx 127.0.0.1:0 "$T/cmdline" || fail "cmdline: $(cat "$T/cmdline")"

expect 200 debug/pprof/symbol
body_has 'num_symbols: 1'
# pprof's remote symbolization: POST "0xPC+0xPC"; answer "0xPC NAME" lines.
pc=$(awk '/^[0-9]+ @/ { pcs = $3 } /http_hot_spin/ && pcs { print pcs; exit }' "$T/debug1.goroutine")
[ -n "$pc" ] || fail "no PC of http_hot_spin in goroutine?debug=1"
expect 200 debug/pprof/symbol --data-binary "$pc+0x1"
body_has 'num_symbols: 1'
grep -qx "$pc http_hot_spin" "$T/body" || fail "symbol $pc: $(cat "$T/body")"
note "symbol: $pc -> http_hot_spin"

for path in block mutex threadcreate; do
    expect 200 "debug/pprof/$path"
    gopprof -raw "$T/body" >/dev/null 2>"$T/go.err" ||
        fail "go tool pprof cannot read $path: $(cat "$T/go.err")"
done

# Go's headers: nosniff everywhere, an attachment for profiles.
expect 200 'debug/pprof/profile?seconds=1'
grep -qi '^x-content-type-options: nosniff' "$T/headers" || fail "no nosniff on profile"
grep -qi '^content-disposition: attachment; filename="profile"' "$T/headers" ||
    fail "profile's Content-Disposition: $(cat "$T/headers")"
grep -qi '^content-type: application/octet-stream' "$T/headers" || fail "profile's type"
expect 404 debug/pprof/nothing
grep -qi '^x-content-type-options: nosniff' "$T/headers" || fail "no nosniff on a 404"

alive
stop_target
echo "PASS: go tool pprof reads profile and heap; thread dumps, index, cmdline, symbol as Go's"
