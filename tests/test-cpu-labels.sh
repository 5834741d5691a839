#!/bin/bash
# test-cpu-labels.sh: the linked API. Runs test-cpu-api (API errors, labels,
# start after stop; see test-cpu-api.c), then reads its profiles with Go's
# pprof: phase=a and phase=b carry 3/4 and 1/4 of the samples within 3
# points (phase=b pushed over phase=a hides it), worker=w1 and w2 half each,
# and the second profile holds the second run's function and no labels.
. "$(dirname "$0")/lib.sh"

# tag_share FILE KEY VALUE: VALUE's share of all samples in FILE, in percent.
tag_share() {
    gopprof -tags -sample_index=samples "$1" 2>/dev/null | awk -v k="$2" -v v="$3" -v tot="$4" '
        /^ *[^ ]+: Total/ { key = $1; sub(/:$/, "", key); next }
        key == k && $NF == v { n = $1 }
        END { printf "%.2f\n", 100 * n / tot }'
}

attempt() {
    local cycles=$1 why=""
    rm -f "$T"/*.pb.gz
    # Failed API checks are reported at the end, after the profiles have
    # been checked too: one broken error path should not hide the rest.
    timeout -k 5 60 env CPROF_API_CYCLES="$cycles" "$CPROF_TEST_BIN/test-cpu-api" "$T" \
        >"$T/api.out" 2>&1
    local rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "test-cpu-api: exit status $rc: $(cat "$T/api.out")"
    [ $rc -eq 0 ] || api_failed=1
    check_profile "$T/labels.pb.gz" labels
    local total
    total=$(top_total "$T/go.top")
    local a b w1 w2
    a=$(tag_share "$T/labels.pb.gz" phase a "$total")
    b=$(tag_share "$T/labels.pb.gz" phase b "$total")
    w1=$(tag_share "$T/labels.pb.gz" worker w1 "$total")
    w2=$(tag_share "$T/labels.pb.gz" worker w2 "$total")
    note "labels: samples=$total phase a=$a% b=$b%, worker w1=$w1% w2=$w2%"
    within "$a" 75 3 || why+=" phase=a:$a%"
    within "$b" 25 3 || why+=" phase=b:$b%"
    within "$w1" 50 3 || why+=" worker=w1:$w1%"
    within "$w2" 50 3 || why+=" worker=w2:$w2%"
    # A sample may carry phase=a or phase=b, never both.
    if gopprof -traces "$T/labels.pb.gz" 2>/dev/null | grep -Eq 'phase: +a +b|phase: +b +a'; then
        why+=" a sample carries both phase=a and phase=b"
    fi
    check_profile "$T/second.pb.gz" second
    profile_has "$T/second.pb.gz" second_run || why+=" second profile lacks second_run"
    if gopprof -tags "$T/second.pb.gz" 2>/dev/null | grep -q 'phase\|worker'; then
        why+=" second profile has labels of the first"
    fi
    printf '%s' "$why" >"$T/why"
    if [ -n "$why" ]; then
        gopprof -tags -sample_index=samples "$T/labels.pb.gz" >&2
    fi
}

api_failed=0
attempt 250
if [ -s "$T/why" ]; then
    note "retrying with twice the CPU time:$(cat "$T/why")"
    attempt 500
    [ -s "$T/why" ] && fail "labels:$(cat "$T/why")"
fi
if [ $api_failed -ne 0 ]; then
    cat "$T/api.out" >&2
    fail "test-cpu-api found API errors (above)"
fi
exit 0
