# shellcheck shell=bash
# tests/test-sync-lib.sh: helpers for the test-sync-*, test-threads-* and
# test-wall-*.sh scripts, on top of lib.sh (source that first). Not a test.

# kv FILE KEY: the value of a "KEY=VALUE" line a workload printed.
kv() {
    sed -n "s/^$2=//p" "$1" | tail -1
}

# go_ms FILE INDEX FUNC: FUNC's cum value in FILE (sample type INDEX) in
# milliseconds, by Go's pprof; FUNC "" gives the profile's total.
go_ms() {
    gopprof -top -nodefraction=0 -unit=ms -sample_index="$2" "$1" >"$T/gms.top" 2>/dev/null ||
        fail "go tool pprof cannot read $1"
    if [ -z "$3" ]; then
        top_total "$T/gms.top"
    else
        top_rows "$T/gms.top" >"$T/gms.rows"
        top_cum "$T/gms.rows" "$3"
    fi
}

# go_count FILE INDEX FUNC: likewise for a count (no unit).
go_count() {
    gopprof -top -nodefraction=0 -sample_index="$2" "$1" >"$T/gcn.top" 2>/dev/null ||
        fail "go tool pprof cannot read $1"
    if [ -z "$3" ]; then
        top_total "$T/gcn.top"
    else
        top_rows "$T/gcn.top" >"$T/gcn.rows"
        top_cum "$T/gcn.rows" "$3"
    fi
}

# cprof_ms FILE INDEX FUNC: FUNC's cum value by `cprof top`, in milliseconds
# whatever unit it chose to print (ns, us/µs, ms, s, mins, hrs).
cprof_ms() {
    "$CPROF" top -nodefraction=0 -sample_index="$2" "$1" >"$T/cms.top" 2>"$T/cms.err" ||
        fail "cprof top cannot read $1: $(cat "$T/cms.err")"
    awk -v f="$3" '
        function ms(v,   n, u) {
            n = v; sub(/[^0-9.].*$/, "", n); u = v; sub(/^[0-9.]+/, "", u)
            if (u == "ns") return n / 1e6
            if (u == "us" || u == "µs") return n / 1e3
            if (u == "ms" || u == "") return n + 0
            if (u == "s") return n * 1e3
            if (u == "min" || u == "mins") return n * 6e4
            if (u == "hr" || u == "hrs") return n * 3.6e6
            return -1
        }
        /flat%.*sum%.*cum%/ { rows = 1; next }
        rows && NF >= 6 {
            name = $0
            sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", name)
            if (name == f) c = ms($4)
        }
        END { printf "%.3f\n", c + 0 }' "$T/cms.top"
}

# tag_count FILE KEY VALUE [PPROF FLAGS...]: the samples carrying KEY=VALUE
# in FILE (Go's pprof -tags), with extra flags such as -tagfocus=...
tag_count() {
    local f=$1 k=$2 v=$3
    shift 3
    gopprof -tags -sample_index=samples "$@" "$f" 2>/dev/null | awk -v k="$k" -v v="$v" '
        /^ *[^ ]+: Total/ { key = $1; sub(/:$/, "", key); next }
        key == k { val = $0; sub(/^[^:]*: /, "", val); if (val == v) n = $1 }
        END { print n + 0 }'
}

# pct A B: 100 * A / B, two decimals (0 when B is 0).
pct() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", b ? 100 * a / b : 0 }'
}

# ratio_within A B FRACTION: |A - B| <= FRACTION * B.
ratio_within() {
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t * b) }'
}

# at_least A B: A >= B (numbers).
at_least() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'
}

# no_cprof_frames FILE WHAT: FILE's stacks show none of cprof's own
# functions: its waits and the threads it runs are not the program's.
no_cprof_frames() {
    local hits
    hits=$(traces "$1" | tr '\t' '\n' |
        grep -E '^(thread_entry|on_thread_exit|ticker_main|tick|sample_all|agent_main|cprof_[a-z_]+|cprof__[a-z_]+)( \(inline\))?$' |
        sort -u | tr '\n' ' ')
    [ -z "$hits" ] || echo "$2: cprof's own functions on the program's stacks: $hits"
}

# check_pprof FILE WHAT INDEX: lib.sh's check_profile for a profile whose
# sample types have no "samples" (mutex, block: contentions, delay;
# threads, threadcreate): Go's pprof reads it (-raw, -top) and its top flat
# function is `cprof top`'s too. Leaves $T/go.top and $T/cprof.top behind.
check_pprof() {
    local f=$1 what=$2 index=$3
    [ -s "$f" ] || fail "$what: no profile written at $f"
    gopprof -raw "$f" >"$T/go.raw" 2>"$T/go.err" ||
        fail "$what: go tool pprof -raw cannot read $f: $(cat "$T/go.err")"
    gopprof -top -nodefraction=0 -sample_index="$index" "$f" >"$T/go.top" 2>"$T/go.err" ||
        fail "$what: go tool pprof -top cannot read $f: $(cat "$T/go.err")"
    "$CPROF" top -nodefraction=0 -sample_index="$index" "$f" >"$T/cprof.top" 2>"$T/cprof.err" ||
        fail "$what: cprof top cannot read $f: $(cat "$T/cprof.err")"
    top_rows "$T/go.top" >"$T/go.rows"
    top_rows "$T/cprof.top" >"$T/cprof.rows"
    local go_first cprof_first cflat gflat
    go_first=$(head -1 "$T/go.rows")
    cprof_first=$(head -1 "$T/cprof.rows")
    [ "$go_first" = "$cprof_first" ] && return 0
    # Equal flat values may be listed in either order.
    cflat=$(printf '%s\n' "$cprof_first" | cut -f1)
    gflat=$(awk -F'\t' -v n="$(printf '%s\n' "$cprof_first" | cut -f3)" '$3 == n { print $1 }' \
        "$T/go.rows")
    if [ -z "$cflat" ] || [ "$cflat" != "$gflat" ] ||
        [ "$cflat" != "$(printf '%s\n' "$go_first" | cut -f1)" ]; then
        cat "$T/go.top" "$T/cprof.top" >&2
        fail "$what: top flat function differs: go [$go_first] cprof [$cprof_first]"
    fi
}

# has_func FILE FUNC [INDEX]: FUNC is on some stack of FILE (exact name),
# for profiles without a "samples" type (lib.sh's profile_has wants one).
has_func() {
    gopprof -traces ${3:+-sample_index=$3} "$1" 2>/dev/null |
        awk -v f="$2" '{ line = $0; sub(/^ *([0-9.]+[a-zµ]*)? +/, "", line); sub(/ \(inline\)$/, "", line)
                         if (line == f) found = 1 }
                       END { exit !found }'
}
