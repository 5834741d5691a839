# tests/test-heap-lib.sh: shell helpers of the heap profiler's and leak
# checker's tests (test-heap-*.sh, test-leak-*.sh), on top of lib.sh.
# Source it after lib.sh.
#
# lib.sh's check_profile compares `-sample_index=samples`, which heap
# profiles do not have; check_heap_profile is its variant for the four heap
# sample types.

HEAP_TYPES="alloc_objects alloc_space inuse_objects inuse_space"

# heap_rows FILE INDEX: "flat<TAB>cum<TAB>name" rows of Go's -top for sample
# type INDEX in exact units (-unit=B: bytes for the _space types, plain
# counts for the _objects types, whose "B" top_rows strips). Also leaves the
# table in $T/heap.top for the caller's messages.
heap_rows() {
    gopprof -top -nodefraction=0 -unit=B -sample_index="$2" "$1" >"$T/heap.top" 2>"$T/go.err" ||
        fail "go tool pprof -top -sample_index=$2 cannot read $1: $(cat "$T/go.err")"
    top_rows "$T/heap.top"
}

# heap_flat FILE INDEX FUNC: FUNC's exact flat value for INDEX (0 if absent).
heap_flat() {
    heap_rows "$1" "$2" | awk -F'\t' -v n="$3" '$3 == n { v = $1 } END { printf "%.0f\n", v + 0 }'
}

# heap_cum FILE INDEX FUNC: FUNC's exact cumulative value for INDEX.
heap_cum() {
    heap_rows "$1" "$2" | awk -F'\t' -v n="$3" '$3 == n { v = $2 } END { printf "%.0f\n", v + 0 }'
}

# heap_total FILE INDEX: the profile's exact total for INDEX.
heap_total() {
    heap_rows "$1" "$2" >/dev/null
    sed -n 's/.* of \([0-9.]*\)B* total.*/\1/p' "$T/heap.top" | awk 'NR == 1 { printf "%.0f\n", $1 }'
}

# expect_site FILE FUNC ALLOC_OBJECTS ALLOC_SPACE INUSE_OBJECTS INUSE_SPACE [flat|cum]:
# the four values of FUNC (flat: FUNC called malloc itself; cum: through
# callees such as operator new) are exactly these.
expect_site() {
    local f=$1 fn=$2 kind=${7:-flat} want got i=0 bad=""
    local wants=("$3" "$4" "$5" "$6")
    for idx in $HEAP_TYPES; do
        want=${wants[$i]}
        i=$((i + 1))
        if [ "$kind" = cum ]; then got=$(heap_cum "$f" "$idx" "$fn"); else got=$(heap_flat "$f" "$idx" "$fn"); fi
        [ "$got" = "$want" ] || bad+=" $idx=$got(want $want)"
    done
    [ -z "$bad" ] || fail "$f: $fn ($kind):$bad"
}

# check_heap_profile FILE WHAT [RATE]: a heap profile as Go writes one, read
# alike by Go's pprof and `cprof top`:
#   - Go's pprof reads it (-raw); its sample types are exactly Go's heap
#     profile's, in Go's order, inuse_space the default; the period type is
#     space/bytes and the period is RATE when given;
#   - for each of the four sample types, the rows with a non-zero flat value
#     of `go tool pprof -top` and of `cprof top` are the same (name, flat,
#     cum, as printed), and so are the totals.
check_heap_profile() {
    local f=$1 what=${2:-$1} rate=${3:-}
    [ -s "$f" ] || fail "$what: no heap profile written at $f"
    gopprof -raw "$f" >"$T/go.raw" 2>"$T/go.err" ||
        fail "$what: go tool pprof -raw cannot read $f: $(cat "$T/go.err")"
    grep -qx 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes\[dflt\]' \
        "$T/go.raw" || fail "$what: sample types are not Go's heap profile's: $(sed -n '/^Samples:/{n;p}' "$T/go.raw")"
    grep -qx 'PeriodType: space bytes' "$T/go.raw" ||
        fail "$what: period type is not space/bytes: $(grep PeriodType "$T/go.raw")"
    if [ -n "$rate" ]; then
        grep -qx "Period: $rate" "$T/go.raw" || fail "$what: period is not $rate: $(grep '^Period' "$T/go.raw")"
    fi
    local idx
    for idx in $HEAP_TYPES; do
        gopprof -top -nodefraction=0 -sample_index=$idx "$f" >"$T/go.top" 2>"$T/go.err" ||
            fail "$what: go tool pprof -top -sample_index=$idx cannot read $f: $(cat "$T/go.err")"
        "$CPROF" top -nodefraction=0 -sample_index=$idx "$f" >"$T/cprof.top" 2>"$T/cprof.err" ||
            fail "$what: cprof top -sample_index=$idx cannot read $f: $(cat "$T/cprof.err")"
        # Rows as printed (units and all), flat non-zero, in one order.
        local r
        for r in go cprof; do
            awk '/flat%.*sum%.*cum%/ { rows = 1; next }
                 rows && NF >= 6 && $1 != "0" {
                     name = $0; sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", name)
                     print $1 "\t" $4 "\t" name }' "$T/$r.top" | LC_ALL=C sort >"$T/$r.heaprows"
        done
        if ! cmp -s "$T/go.heaprows" "$T/cprof.heaprows" ||
            [ "$(top_total "$T/go.top")" != "$(top_total "$T/cprof.top")" ]; then
            echo "--- go tool pprof -top -sample_index=$idx:"
            cat "$T/go.top"
            echo "--- cprof top -sample_index=$idx:"
            cat "$T/cprof.top"
            fail "$what: go tool pprof and cprof top disagree on $idx"
        fi
    done
}

# leak_summary FILE KIND: "BYTES BLOCKS" from cprof's leak check summary
# line "cprof: KIND: N bytes in M blocks" (KIND: definitely lost, indirectly
# lost, still reachable, suppressed); "0 0" when there is no such line.
leak_summary() {
    awk -v k="cprof: $2:" 'index($0, k) == 1 && / bytes in [0-9]+ blocks$/ {
            b = $(NF - 4); n = $(NF - 1) }
        END { printf "%d %d\n", b + 0, n + 0 }' "$1"
}

# valgrind_summary FILE KIND: "BYTES BLOCKS" from valgrind's LEAK SUMMARY
# line "KIND: N bytes in M blocks" (thousands separators removed).
valgrind_summary() {
    awk -v k="$2:" '/LEAK SUMMARY:/ { on = 1; next }
        on && index($0, k) { line = $0; sub(/.*: +/, "", line); gsub(/,/, "", line)
            split(line, w, " "); b = w[1]; n = w[4] }
        END { printf "%d %d\n", b + 0, n + 0 }' "$1"
}
