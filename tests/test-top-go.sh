#!/bin/sh
# test-top-go.sh MODE: profiles written by our builder, read by a reader
# nobody here wrote, `go tool pprof` (Debian's golang-go).
#
#   raw  `go tool pprof -raw` shows exactly the known header, samples
#        (values and function names, inlined frames included), labels and
#        mappings that test-pprof-write put in.
#   top  `cprof top` and `go tool pprof -top` agree: the same top function
#        with the same flat value, and the same table rows, for several
#        sample types and flags.
. "$(dirname "$0")/test-top-lib.sh"
use_go
export TZ=UTC
cd "$tmp" || exit 1
for kind in golden heap labels; do
    "$WRITE" $kind $kind.pb.gz || exit 1
done

# Go's -raw output with location ids replaced by the functions they stand
# for (leaf first, inlined first), one line per sample:
#   "VALUES... | FRAMES... | LABELS..."
raw_samples() {
    go tool pprof -raw -symbolize=none "$1" 2>/dev/null | awk '
        /^Samples:/ { mode = "s"; getline; next }
        /^Locations/ { mode = "l"; next }
        /^Mappings/ { mode = "m"; next }
        mode == "s" && /^ *-?[0-9]+( +-?[0-9]+)*:/ {
            n++
            split($0, parts, ":")
            vals[n] = parts[1]; gsub(/^ +| +$/, "", vals[n]); gsub(/ +/, " ", vals[n])
            ids[n] = parts[2]; gsub(/^ +| +$/, "", ids[n])
            next
        }
        mode == "s" && /^ +[^ ]+:\[/ { sub(/^ +/, ""); labels[n] = labels[n] " " $0; next }
        mode == "l" && /^ *[0-9]+: / {
            id = $1; sub(/:$/, "", id)
            name[id] = ($4 != "") ? $4 : $2
            next
        }
        mode == "l" { name[id] = name[id] " " $1 }
        END {
            for (i = 1; i <= n; i++) {
                k = split(ids[i], loc, " ")
                frames = ""
                for (j = 1; j <= k; j++) frames = frames " " name[loc[j]]
                print vals[i] " |" frames " |" labels[i]
            }
        }'
}

# check_raw NAME FILE <<EOF expected lines EOF
check_raw() {
    cat >want
    raw_samples "$2" >got
    if ! diff -u want got >diff; then
        fail "$1: go tool pprof -raw shows other samples than the ones written:"
        cat diff >&2
    fi
}

# grep_raw NAME FILE LINE: go tool pprof -raw prints that exact line.
grep_raw() {
    if ! go tool pprof -raw -symbolize=none "$2" 2>/dev/null | grep -qxF -- "$3"; then
        fail "$1: go tool pprof -raw does not print \"$3\""
    fi
}

mode_raw() {
    check_raw golden golden.pb.gz <<'END'
150 1500000000 | hot work main |
50 500000000 | helper work main |
30 300000000 | rec rec rec main |
15 150000000 | 0x401600 main |
4 40000000 | main |
1 10000000 | tiny work main |
END
    grep_raw golden golden.pb.gz "PeriodType: cpu nanoseconds"
    grep_raw golden golden.pb.gz "Period: 10000000"
    grep_raw golden golden.pb.gz "Time: 2023-11-14 22:13:20 +0000 UTC"
    grep_raw golden golden.pb.gz "Duration: 3s"
    grep_raw golden golden.pb.gz "samples/count cpu/nanoseconds"
    grep_raw golden golden.pb.gz \
        "1: 0x400000/0x500000/0x0 /usr/bin/golden 0123abcd [FN][FL][LN][IN]"

    check_raw heap heap.pb.gz <<'END'
10 10485760 4 4194304 | alloc_big main |
3000 300000 1000 100000 | alloc_small main |
END
    grep_raw heap heap.pb.gz "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"
    grep_raw heap heap.pb.gz "PeriodType: space bytes"

    check_raw labels labels.pb.gz <<'END'
7 70000000 | handler | handler:[search] bytes:[4096 bytes]
END
}

# compare NAME FLAGS... FILE: the same first row, and the same rows.
compare() {
    name=$1
    shift
    if ! "$CPROF" top "$@" >ours 2>err; then
        fail "$name: cprof top $*: $(cat err)"
        return
    fi
    # Go spells -n as -nodecount; the other flags are the same.
    goflags=$(echo "$*" | sed 's/-n /-nodecount=/')
    # shellcheck disable=SC2086
    if ! go tool pprof -top -symbolize=none $goflags >theirs 2>err; then
        fail "$name: go tool pprof -top $goflags: $(cat err)"
        return
    fi
    a=$(top_first ours)
    b=$(top_first theirs)
    if [ -z "$a" ] || [ "$a" != "$b" ]; then
        fail "$name: top function and flat: cprof \"$a\", go \"$b\""
    fi
    top_rows ours >ours.rows
    top_rows theirs >theirs.rows
    if ! diff -u theirs.rows ours.rows >diff; then
        fail "$name: the tables differ (- go, + cprof):"
        cat diff >&2
    fi
}

mode_top() {
    compare golden golden.pb.gz
    compare golden-cum -cum golden.pb.gz
    compare golden-n2 -n 2 golden.pb.gz
    compare golden-samples -sample_index=samples golden.pb.gz
    compare golden-merged golden.pb.gz golden.pb.gz
    compare heap heap.pb.gz
    compare heap-alloc -sample_index=alloc_space heap.pb.gz
    compare heap-objects -sample_index=alloc_objects heap.pb.gz
    compare labels labels.pb.gz
    if [ "$(top_first ours)" = "" ]; then
        fail "no rows compared"
    fi
}

case "$1" in
raw) mode_raw ;;
top) mode_top ;;
*)
    echo "usage: test-top-go.sh raw|top" >&2
    exit 2
    ;;
esac
finish
