# tests/test-trace-lib.sh: helpers shared by the trace tests (test-trace-*.sh).
# Source it after tests/lib.sh.

# A ground-truth trace: runs trace_gt main into $T/t.cpt, its own account
# into $T/gt.
make_gt_trace() {
    timeout -k 5 60 "$CPROF_TEST_BIN/trace_gt" main "$T/t.cpt" >"$T/gt" 2>"$T/gt.err" ||
        fail "trace_gt main: status $?: $(cat "$T/gt.err")"
    [ -s "$T/t.cpt" ] || fail "trace_gt wrote no trace"
}

# gt KEY: a value from trace_gt's account.
gt() {
    sed -n "s/^$1=//p" "$T/gt"
}

# to_ns DURATION: "62.1ms" → 62100000 (the summary's units: ns us ms s).
to_ns() {
    awk -v d="$1" 'BEGIN {
        n = d; u = d; sub(/[a-z]+$/, "", n); sub(/^[-0-9.]+/, "", u)
        m = u == "s" ? 1e9 : u == "ms" ? 1e6 : u == "us" ? 1e3 : 1
        printf "%.0f\n", n * m }'
}

# close_to WHAT GOT WANT: GOT within 20% or 2 ms of WANT (both ns).
close_to() {
    awk -v g="$2" -v w="$3" 'BEGIN { d = g - w; if (d < 0) d = -d
        t = w * 0.2; if (t < 2e6) t = 2e6; exit !(d <= t) }' ||
        fail "$1: $2 ns, want $3 ns (within 20% or 2 ms)"
}

# section_row FILE SECTION NAME: the row of NAME in the "Tasks:" or
# "Regions:" (or "Logs by category:") table of a summary.
section_row() {
    awk -v s="$2:" -v n="$3" '
        /^[A-Z]/ { in_s = ($0 == s) ; next }
        in_s && $1 == n { print; exit }' "$1"
}

# section_lines FILE SECTION NAME: the row of NAME and the indented lines
# under it (histogram, notes, log messages).
section_lines() {
    awk -v s="$2:" -v n="$3" '
        /^[A-Z]/ { in_s = ($0 == s); row = 0; next }
        in_s && /^  [^ ]/ { row = ($1 == n) }
        in_s && row' "$1"
}

# thread_row FILE TID: the thread table's row for TID.
thread_row() {
    awk -v t="$2" '/^Threads/ { in_t = 1; next } /^$/ { in_t = 0 }
        in_t && $1 == t { print; exit }' "$1"
}

# one_line_error FILE: FILE is exactly one line starting "cprof: ".
one_line_error() {
    [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^cprof: ' "$1"
}
