#!/bin/sh
# test-top-gohog.sh: profiles written by Go itself. Builds tests/go/cpuhog
# offline, lets it write a CPU and a heap profile with runtime/pprof, and
# checks that `cprof top` reads both and puts Go's hog function on top, with
# the same flat value as `go tool pprof -top`.
. "$(dirname "$0")/test-top-lib.sh"
use_go
cd "$tmp" || exit 1

src="$CPROF_SOURCE_DIR/tests/go/cpuhog"
if ! (cd "$src" && go build -o "$tmp/cpuhog" .) 2>build.err; then
    fail "go build of tests/go/cpuhog: $(cat build.err)"
    finish
fi
if ! ./cpuhog -cpu cpu.pb.gz -heap heap.pb.gz -d 1s 2>run.err; then
    fail "cpuhog: $(cat run.err)"
    finish
fi

# want_top NAME FUNCTION FLAGS... FILE
want_top() {
    name=$1 fn=$2
    shift 2
    if ! "$CPROF" top "$@" >ours 2>err; then
        fail "$name: cprof top $*: $(cat err)"
        return
    fi
    first=$(top_first ours)
    case "$first" in
    "$fn "*) ;;
    *)
        fail "$name: top function is \"$first\", want $fn:"
        cat ours >&2
        ;;
    esac
    go tool pprof -top -symbolize=none "$@" >theirs 2>/dev/null
    if [ "$first" != "$(top_first theirs)" ]; then
        fail "$name: cprof says \"$first\", go tool pprof \"$(top_first theirs)\""
    fi
}

want_top cpu main.hog cpu.pb.gz
want_top cpu-samples main.hog -sample_index=samples cpu.pb.gz
want_top heap main.allocHog heap.pb.gz
want_top heap-alloc main.allocHog -sample_index=alloc_space heap.pb.gz

# The header says what Go put in: a CPU type, a duration, a sample total.
"$CPROF" top cpu.pb.gz >ours 2>/dev/null
grep -q '^Type: cpu$' ours || fail "cpu: no 'Type: cpu' line"
grep -q '^Duration: .*, Total samples = ' ours || fail "cpu: no Duration line"

# 64 MiB live in allocHog (plus the slice that holds the blocks).
"$CPROF" top heap.pb.gz >ours 2>/dev/null
kb=$(top_first ours | awk '{ v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-zA-Z]+$/, "", v)
    print (u == "MB") ? v * 1024 : (u == "kB") ? v : (u == "B") ? v / 1024 : -1 }')
if ! awk -v kb="$kb" 'BEGIN { exit !(kb >= 65536 && kb < 65536 + 1024) }'; then
    fail "heap: allocHog's flat is $(top_first ours), want 64 MiB"
fi

finish
