#!/bin/sh
# test-report-bad.sh: bad input to every report: one "cprof:" line on
# stderr saying what is wrong, a non-zero exit below 128 (no crash, no
# sanitizer report), and no report on stdout.
. "$(dirname "$0")/test-report-lib.sh"
make_profiles
cd "$tmp" || exit 1
"$WRITE" random random.bin || exit 1
size=$(wc -c <golden.pb.gz)
head -c $((size / 2)) golden.pb.gz >truncated.pb.gz

# expect NAME WANT ARGS...: cprof ARGS fails with one line containing WANT.
expect() {
    name=$1 want=$2
    shift 2
    "$CPROF" "$@" >out 2>err
    rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
        fail "$name: exit status $rc, want 1 or 2"
    fi
    if [ "$(wc -l <err)" -ne 1 ] || ! grep -q '^cprof: ' err; then
        fail "$name: want one 'cprof:' line on stderr, got:"
        cat err >&2
    elif ! grep -qF -- "$want" err; then
        fail "$name: error does not say \"$want\": $(cat err)"
    fi
    [ -s out ] && fail "$name: printed a report anyway"
}

for cmd in list peek; do
    expect "$cmd-missing" "missing.pb.gz: no such file" $cmd main missing.pb.gz
    expect "$cmd-no-file" "not enough arguments" $cmd main
    expect "$cmd-bad-regex" "invalid regular expression" $cmd '(' golden.pb.gz
    expect "$cmd-no-match" "no matches found for regexp: nomatch" $cmd nomatch golden.pb.gz
done
for cmd in folded flame dot explain top; do
    expect "$cmd-missing" "missing.pb.gz: no such file" $cmd missing.pb.gz
    expect "$cmd-random" "random.bin: not a pprof profile" $cmd random.bin
    expect "$cmd-truncated" "truncated.pb.gz: truncated gzip data" $cmd truncated.pb.gz
    expect "$cmd-no-file" "no profile given" $cmd
    expect "$cmd-unknown-flag" "unknown flag -bogus" $cmd -bogus golden.pb.gz
    expect "$cmd-bad-focus" "-focus=(: invalid regular expression" $cmd -focus='(' golden.pb.gz
    expect "$cmd-bad-nodecount" "-nodecount wants a number" $cmd -nodecount=x golden.pb.gz
    expect "$cmd-bad-index" "unknown -sample_index \"bogus\"" $cmd -sample_index=bogus golden.pb.gz
    [ $cmd = explain ] || expect "$cmd-mixed" "cannot merge" $cmd golden.pb.gz heap.pb.gz
    # Nothing listens on port 1: the URL's error, not a crash or a hang.
    expect "$cmd-url" "http://127.0.0.1:1/debug/pprof/profile?seconds=1: " \
        $cmd "http://127.0.0.1:1/debug/pprof/profile?seconds=1"
done
expect diff-no-base "no -base given" diff golden.pb.gz
expect diff-kinds "cannot compare" diff -base heap.pb.gz golden.pb.gz
expect flame-diff-no-base "-diff needs -base" flame -diff golden.pb.gz
expect flame-bad-output "cannot write /nonexistent/x.svg" flame -o /nonexistent/x.svg golden.pb.gz
expect tagfocus-empty "no value to match" top -tagfocus=handler= golden.pb.gz
expect explain-bad-base "missing.pb.gz: no such file" explain -base missing.pb.gz golden.pb.gz

# Help is not an error.
for cmd in list peek flame folded dot diff explain; do
    if ! "$CPROF" $cmd -h >out 2>err || ! grep -q "^usage: cprof $cmd" out || [ -s err ]; then
        fail "$cmd -h: want usage on stdout and status 0"
    fi
done
finish
