#!/bin/sh
# test-top-bad.sh: bad input to `cprof top`. Each case must print exactly one
# line on stderr, starting with "cprof:" and saying what is wrong, and exit
# non-zero without crashing (a sanitizer report or a signal fails the test:
# neither is one "cprof:" line, and a signal gives a status of 128 or more).
. "$(dirname "$0")/test-top-lib.sh"
cd "$tmp" || exit 1

"$WRITE" golden golden.pb.gz || exit 1
"$WRITE" heap heap.pb.gz || exit 1
"$WRITE" dangling dangling.pb || exit 1
"$WRITE" random random.bin || exit 1
: >empty.pb.gz
size=$(wc -c <golden.pb.gz)
head -c $((size / 2)) golden.pb.gz >truncated.pb.gz
head -c 10 golden.pb.gz >header-only.pb.gz
gzip -dc golden.pb.gz >plain.pb
psize=$(wc -c <plain.pb)
head -c $((psize / 2)) plain.pb >truncated.pb
gzip -n -c random.bin >random.gz
mkdir adir

# expect NAME WANT ARGS...: cprof top ARGS fails with one line containing WANT.
expect() {
    name=$1 want=$2
    shift 2
    "$CPROF" top "$@" >out 2>err
    rc=$?
    lines=$(wc -l <err)
    if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
        fail "$name: exit status $rc, want 1 or 2"
    fi
    if [ "$lines" -ne 1 ] || ! grep -q '^cprof: ' err; then
        fail "$name: want one 'cprof:' line on stderr, got:"
        cat err >&2
    elif ! grep -qF -- "$want" err; then
        fail "$name: error does not say \"$want\": $(cat err)"
    fi
    if [ -s out ]; then
        fail "$name: printed a report anyway"
    fi
}

expect missing "missing.pb.gz: no such file" missing.pb.gz
expect empty "empty.pb.gz: empty file" empty.pb.gz
expect truncated-gzip "truncated.pb.gz: truncated gzip data" truncated.pb.gz
expect gzip-header-only "header-only.pb.gz: truncated gzip data" header-only.pb.gz
expect truncated-protobuf "truncated.pb: " truncated.pb
expect random-bytes "random.bin: not a pprof profile" random.bin
expect gzip-of-random "random.gz: not a pprof profile" random.gz
expect dangling "dangling.pb: sample 0 refers to missing location 99" dangling.pb
expect directory "adir: is a directory" adir
expect second-file-bad "missing.pb.gz: no such file" golden.pb.gz missing.pb.gz
expect incompatible "cannot merge" golden.pb.gz heap.pb.gz
expect unknown-flag "unknown flag -bogus" -bogus golden.pb.gz
expect no-file "no profile given"
expect no-file-after-flags "no profile given" -cum -n 3
expect bad-n "-n wants a number" -n abc golden.pb.gz
expect negative-n "-n wants a number" -n=-3 golden.pb.gz
expect n-without-value "needs a value" golden.pb.gz -n
expect bad-bool "takes true or false" -cum=maybe golden.pb.gz
expect bad-nodefraction "-nodefraction wants" -nodefraction=2 golden.pb.gz
expect unknown-sample-index "unknown -sample_index \"bogus\" (the profile has: samples, cpu)" \
    -sample_index=bogus golden.pb.gz
expect sample-index-range "-sample_index=7 is outside the range [0..1]" \
    -sample_index=7 golden.pb.gz

# Not errors: help, and the plain (not gzip'd) protobuf.
if ! "$CPROF" top -h >out 2>err || ! grep -q '^usage: cprof top' out || [ -s err ]; then
    fail "top -h: want usage on stdout and status 0"
fi
if ! "$CPROF" top plain.pb >out 2>err || ! grep -q ' hot$' out; then
    fail "plain protobuf: $(cat err)"
fi

finish
