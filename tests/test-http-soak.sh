#!/bin/bash
# test-http-soak.sh [concurrent-profiles]: several hundred mixed requests
# (every path, good and bad, eight at a time, and a 1 s CPU profile after
# every hundred) while the program runs; afterwards its open file descriptors and resident memory are what
# they were before, within a small margin (fds +-2; RSS within 10% or 2 MiB),
# and the program exits 0. Both raw and "trimmed" RSS are printed; the
# trimmed one is compared. Concurrent symbolizing requests leave tens of MiB
# freed but kept by glibc (the tops of the connection threads' arenas, kept
# because freeing large blocks raises malloc's dynamic trim threshold), a
# figure that goes up and down from one round to the next and would hide a
# real leak or fake one. So the program runs with malloc's thresholds fixed
# (GLIBC_TUNABLES, which turns the dynamic adjustment off) and hands back
# what malloc keeps free (malloc_trim) before each measurement: what remains
# is what is in use, steady to a few KiB across rounds.
#
# With "concurrent-profiles" CPU profiles (every tenth request, so most get
# 500: one at a time) run among the other requests instead of between them:
# connection threads then end while a profile starts, and none may leave its
# perf_event sampler open (cpu.c once leaked one that way).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/http-lib.sh"
MODE=${1:-}

start_target GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072
note "http_target pid $PID on port $PORT"
export URL

paths=(debug/pprof/ debug/pprof/heap debug/pprof/allocs debug/pprof/goroutine
    'debug/pprof/goroutine?debug=1' 'debug/pprof/goroutine?debug=2' 'debug/pprof/threads?debug=1'
    debug/pprof/block debug/pprof/mutex debug/pprof/threadcreate debug/pprof/cmdline
    debug/pprof/symbol debug/pprof/nothing nothing 'debug/pprof/profile?seconds=x'
    'debug/pprof/goroutine?debug=9' 'debug/pprof/heap?gc=1')
PAR=8

# batch FIRST COUNT: COUNT requests, PAR at a time, paths in turn; every 50th
# is a POST to symbol; every 100th a 1 s CPU profile, among the others with
# concurrent-profiles, else alone after them. Codes into $T/codes.
batch() {
    local i path
    for ((i = $1; i < $1 + $2; i++)); do
        if [ "$MODE" = concurrent-profiles ] && ((i % 10 == 9)); then
            echo "GET debug/pprof/profile?seconds=1"
        elif ((i % 100 == 99)); then
            :
        elif ((i % 50 == 49)); then
            echo "POST debug/pprof/symbol"
        else
            path=${paths[$((i % ${#paths[@]}))]}
            echo "GET $path"
        fi
    done | xargs -P $PAR -L 1 sh -c '
        if [ "$1" = POST ]; then
            code=$(curl -s -m 30 -o /dev/null -w "%{http_code}" --data-binary 0x1+0x2 "$URL/$2")
        else
            code=$(curl -s -m 30 -o /dev/null -w "%{http_code}" "$URL/$2")
        fi
        echo "$code $2"' sh >>"$T/codes"
    for ((i = $1; i < $1 + $2; i++)); do
        if ((i % 100 == 99)) && [ "$MODE" != concurrent-profiles ]; then
            echo "$(curl -s -m 30 -o /dev/null -w '%{http_code}' \
                "$URL/debug/pprof/profile?seconds=1") debug/pprof/profile?seconds=1" >>"$T/codes"
        fi
    done
}

# Warm-up: a round of the same mix, so that what is allocated once and kept
# (malloc arenas of the connection threads, tables sized on first use) is in
# the baseline.
batch 0 100
sleep 1
fd0=$(fd_count "$PID")
ls -l "/proc/$PID/fd" | awk 'NR > 1 { print $NF }' | sort >"$T/fds0"
raw0=$(rss_kb "$PID")
trim
rss0=$(rss_kb "$PID")
note "before: $fd0 fds, RSS $raw0 KiB ($rss0 KiB trimmed)"

: >"$T/codes"
N=500
batch 0 $N
sleep 1
alive
fd1=$(fd_count "$PID")
ls -l "/proc/$PID/fd" | awk 'NR > 1 { print $NF }' | sort >"$T/fds1"
raw1=$(rss_kb "$PID")
trim
rss1=$(rss_kb "$PID")
note "after $N requests: $fd1 fds, RSS $raw1 KiB ($rss1 KiB trimmed)"

total=$(wc -l <"$T/codes")
[ "$total" = $N ] || fail "$total answers recorded, want $N"
# Every answer is the one its path deserves; none failed at the transport.
awk -v mode="$MODE" '
    { code = $1; path = $2; want = 200 }
    path ~ /nothing/ { want = 404 }
    path ~ /profile.seconds=1$/ && mode == "concurrent-profiles" && code == 500 { want = 500 }
    path ~ /seconds=x|debug=9/ { want = 400 }
    code != want { bad++; if (bad < 5) print "  " code " for " path " (want " want ")" }
    END { exit bad > 0 }' "$T/codes" || fail "unexpected answers in the soak"
awk '{ n[$1]++ } END { for (c in n) printf "# HTTP %s: %d\n", c, n[c] }' "$T/codes" | sort

# No CPU profile runs now: no sampler may be left open.
perf=$(grep -c perf_event "$T/fds1")
[ "$perf" = 0 ] || fail "$perf perf_event descriptors left open after the CPU profiles ended"
[ $((fd1 - fd0)) -le 2 ] && [ $((fd0 - fd1)) -le 2 ] ||
    fail "open descriptors went from $fd0 to $fd1: $(diff "$T/fds0" "$T/fds1" | tr '\n' ' ')"
growth=$((rss1 - rss0))
limit=$((rss0 / 10 > 2048 ? rss0 / 10 : 2048))
[ $growth -le $limit ] || fail "RSS grew by $growth KiB (from $rss0), limit $limit KiB"
[ "$fd0" = "$fd1" ] || note "descriptors: $(diff "$T/fds0" "$T/fds1" | grep '^[<>]' | tr '\n' ' ')"
note "fds $fd0 -> $fd1; RSS $rss0 -> $rss1 KiB (growth $growth, limit $limit)"

stop_target
echo "PASS: $N mixed requests; fds $fd0 -> $fd1, RSS $rss0 -> $rss1 KiB trimmed ($raw0 -> $raw1 raw)"
