#!/bin/bash
# test-trace-bad.sh: every kind of bad input to `cprof trace`: one "cprof:"
# line on stderr and a non-zero status, never a crash. A trace cut short
# (at many offsets) is read up to the damage: status 0 and a warning line;
# cut inside the 32-byte header it is an error. The export of a cut trace is
# still valid JSON.
. "$CPROF_SOURCE_DIR/tests/lib.sh"
. "$CPROF_SOURCE_DIR/tests/test-trace-lib.sh"

make_gt_trace
size=$(stat -c %s "$T/t.cpt")

# expect STATUS PATTERN ARGS...: cprof ARGS exits STATUS with one stderr
# line matching PATTERN.
expect() {
    local want=$1 pattern=$2 rc
    shift 2
    timeout -k 5 60 "$CPROF" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -lt 124 ] || fail "cprof $*: status $rc (crash or hang): $(cat "$T/err")"
    [ $rc = "$want" ] || fail "cprof $*: status $rc, want $want: $(cat "$T/err")"
    one_line_error "$T/err" || fail "cprof $*: stderr is not one cprof: line: $(cat "$T/err")"
    grep -q -- "$pattern" "$T/err" || fail "cprof $*: \"$(cat "$T/err")\" lacks \"$pattern\""
}

# The three subcommands on a bad file.
each() { # STATUS PATTERN FILE
    expect "$1" "$2" trace summary "$3"
    expect "$1" "$2" trace export -o "$T/o.json" "$3"
    expect "$1" "$2" trace pprof -type=sync -o "$T/o.pb.gz" "$3"
}

each 1 'no such file' "$T/missing.cpt"
: >"$T/empty.cpt"
each 1 'empty file' "$T/empty.cpt"
mkdir "$T/dir.cpt"
each 1 'is a directory' "$T/dir.cpt"
head -c 4096 /dev/urandom >"$T/random.cpt"
each 1 'bad magic' "$T/random.cpt"
printf 'not a trace at all\n' >"$T/text.cpt"
each 1 'bad magic' "$T/text.cpt"
# The header, then garbage.
{ head -c 32 "$T/t.cpt"; head -c 4096 /dev/urandom; } >"$T/garbage.cpt"
each 1 'corrupt' "$T/garbage.cpt"

# patch FILE OFFSET BYTE: one byte overwritten.
patch() {
    printf "\\$(printf %03o "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$T/t.cpt" "$T/reserved.cpt"
patch "$T/reserved.cpt" 33 1
each 1 'corrupt record header at byte 32' "$T/reserved.cpt"
cp "$T/t.cpt" "$T/huge.cpt"
patch "$T/huge.cpt" 39 127
each 1 'claims' "$T/huge.cpt"
cp "$T/t.cpt" "$T/version.cpt"
patch "$T/version.cpt" 8 7
each 1 'version 7' "$T/version.cpt"

# Cut short: inside the header an error, after it a warning and status 0.
for cut in 1 7 8 31; do
    head -c $cut "$T/t.cpt" >"$T/cut.cpt"
    expect 1 'cprof: trace:' trace summary "$T/cut.cpt"
done
cuts="32 33 40 41 $((size - 1)) $((size - 8))"
for k in $(seq 1 19); do cuts="$cuts $((size * k / 20))"; done
for cut in $cuts; do
    head -c "$cut" "$T/t.cpt" >"$T/cut.cpt"
    expect 0 "truncated at byte" trace summary "$T/cut.cpt"
    grep -q '^WARNING: truncated at byte' "$T/out" || fail "cut at $cut: no WARNING in the summary"
    expect 0 "truncated at byte" trace export -o "$T/cut.json" "$T/cut.cpt"
    "$CPROF_TEST_BIN/test-trace-json" "$T/cut.json" >"$T/digest" ||
        fail "cut at $cut: $(tail -1 "$T/digest")"
    expect 0 "truncated at byte" trace pprof -type=sync -o "$T/cut.pb.gz" "$T/cut.cpt"
done
note "cut at ${cuts// /,}: read with a warning"

# Single bytes flipped anywhere: an error or a reading, never a crash.
i=0
for off in $(awk -v n="$size" 'BEGIN { srand(8); for (i = 0; i < 60; i++) print int(rand() * n) }'); do
    cp "$T/t.cpt" "$T/flip.cpt"
    patch "$T/flip.cpt" "$off" $(((i * 37 + 11) % 256))
    i=$((i + 1))
    timeout -k 5 60 "$CPROF" trace summary "$T/flip.cpt" >/dev/null 2>"$T/err"
    rc=$?
    [ $rc -le 1 ] || fail "byte $off flipped: status $rc: $(cat "$T/err")"
    [ "$(wc -l <"$T/err")" -le 1 ] || fail "byte $off flipped: stderr: $(cat "$T/err")"
    # Whatever the export makes of a damaged file is still valid, nested JSON.
    if timeout -k 5 60 "$CPROF" trace export -o "$T/flip.json" "$T/flip.cpt" 2>/dev/null; then
        "$CPROF_TEST_BIN/test-trace-json" "$T/flip.json" >"$T/digest" ||
            fail "byte $off flipped: $(tail -1 "$T/digest")"
    fi
done

# Usage errors: status 2, one line.
expect 2 'unknown subcommand' trace bogus "$T/t.cpt"
expect 2 'unknown flag' trace summary -bogus "$T/t.cpt"
expect 2 'no trace file' trace summary
expect 2 'one trace file at a time' trace summary "$T/t.cpt" "$T/t.cpt"
expect 2 'unknown flag -type' trace summary -type=sync "$T/t.cpt"
expect 2 'unknown -type' trace pprof -type=bogus -o "$T/o.pb.gz" "$T/t.cpt"
expect 2 '-type=sync|syscall|sched is needed' trace pprof -o "$T/o.pb.gz" "$T/t.cpt"
expect 2 '-o OUT.pb.gz' trace pprof -type=sync "$T/t.cpt"
expect 2 'unknown -format' trace export -format=xml -o "$T/o.json" "$T/t.cpt"
expect 2 '-o OUT.json' trace export "$T/t.cpt"
expect 2 'needs a value' trace export "$T/t.cpt" -o
timeout 10 "$CPROF" trace >/dev/null 2>&1
[ $? = 2 ] || fail "cprof trace without a subcommand: not status 2"
# Output that cannot be written.
expect 1 'cannot create' trace export -o "$T/no/such/dir/o.json" "$T/t.cpt"
expect 1 'trace pprof' trace pprof -type=sync -o "$T/no/such/dir/o.pb.gz" "$T/t.cpt"
"$CPROF" trace -h >/dev/null || fail "cprof trace -h fails"
note "bad input: one line each, no crash"
