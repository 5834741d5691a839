#!/bin/bash
# e2e_profile.sh: the workshop's first finding, end to end. Under the same
# load, regcomp takes at least 10% of the slow server's CPU profile
# (-cpuprofile, written at SIGTERM) by cumulative time, under 2% of the fixed
# server's, and the fixed server serves more requests per second. (A share,
# not a rank: the one hot path's own frames, inlined ones included, can fill
# a top 10 on their own.)
#
# Needs cprof's CPU profiler (libcprof) and `cprof top` ($CPROF).
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
: "${CPROF:?path to the cprof command}"

# Many small sources: the work per file is small, so compiling the pattern
# again for every file shows.
corpus=$TMP/corpus
awk -v dir="$corpus" 'BEGIN {
    for (d = 0; d < 20; d++) {
        system("mkdir -p " dir "/mod" d)
        for (f = 0; f < 60; f++) {
            path = sprintf("%s/mod%d/unit%d.%s", dir, d, f, f % 5 ? "c" : "h")
            printf "/* unit %d of module %d */\n#include <stddef.h>\n\n", f, d > path
            printf "struct node_%d { struct node_%d *next; int value; };\n\n", f, f > path
            printf "static struct node_%d *find_%d(struct node_%d *n, int v)\n{\n", f, f, f > path
            printf "    for (; n != NULL; n = n->next)\n        if (n->value == v)\n" > path
            printf "            return n;\n    return NULL;\n}\n\n" > path
            printf "int count_%d(const struct node_%d *n)\n{\n    int c = 0;\n", f, f > path
            printf "    while (n) {\n        c++;\n        n = n->next;\n    }\n    return c;\n}\n" > path
            close(path)
        }
    }
}'
# Functions that return a pointer to a struct: a pattern with some work to compile.
pattern='^(extern |static )?(const )?struct [a-z_][a-z0-9_]{0,31} ?\*+ ?[a-z_][a-z0-9_]{0,31} ?\('
want=$(grep_answer "$pattern" 100 "$corpus" | wc -l)
[[ $want -gt 0 ]] || fail "the pattern finds nothing in the corpus"

# profile NAME [FLAGS...]: serves under load for 3 s with the CPU profile on;
# leaves the profile in $TMP/NAME.pb.gz, cprof top -cum in $TMP/NAME.top and
# the requests/s in $TMP/NAME.rps.
profile() {
    local name=$1
    shift
    start_server "$name" -cpuprofile="$TMP/$name.pb.gz" "$@"
    "$FILESEARCH_LOAD" -port="$PORT" -duration=3s -c=4 -pattern="$pattern" -paths="$corpus" \
        >"$TMP/$name.load" 2>&1 || fail "$name: load failed: $(cat "$TMP/$name.load")"
    sed 's/^/  /' "$TMP/$name.load"
    grep -q "^answers: *$want matches each" "$TMP/$name.load" ||
        fail "$name: answers do not have the $want matches grep finds"
    sed -n 's/^requests: .* \([0-9.]*\) requests\/s$/\1/p' "$TMP/$name.load" >"$TMP/$name.rps"
    stop_server TERM
    [[ -s $TMP/$name.pb.gz ]] || fail "$name: no CPU profile written"
    "$CPROF" top -cum -n 40 "$TMP/$name.pb.gz" >"$TMP/$name.top" 2>&1 ||
        fail "$name: cprof top failed: $(cat "$TMP/$name.top")"
    echo "  cprof top -cum -n 15 ($name):"
    head -n 25 "$TMP/$name.top" | sed 's/^/    /'
}

# regcomp_share NAME: the largest cum% of a regcomp frame in NAME's top (0 if none).
regcomp_share() {
    awk '$6 ~ /regcomp/ { v = $5; sub(/%/, "", v); if (v + 0 > m) m = v + 0 }
         END { print m + 0 }' "$TMP/$1.top"
}

echo "slow:"
profile slow
slow_share=$(regcomp_share slow)
awk -v v="$slow_share" 'BEGIN { exit !(v >= 10) }' ||
    fail "slow: regcomp has $slow_share% of the CPU by cumulative time, want >= 10%"

echo "fixed:"
profile fixed -fixed
grep -Eq 'search_(shard|file)' "$TMP/fixed.top" || fail "fixed: the search is not in the profile"
fixed_share=$(regcomp_share fixed)
awk -v v="$fixed_share" 'BEGIN { exit !(v < 2) }' ||
    fail "fixed: regcomp still has $fixed_share% of the CPU by cumulative time, want < 2%"

slow=$(cat "$TMP/slow.rps") fixed=$(cat "$TMP/fixed.rps")
awk -v s="$slow" -v f="$fixed" 'BEGIN { exit !(f > s) }' ||
    fail "fixed serves $fixed requests/s, not more than slow's $slow"
echo "ok: regcomp $slow_share% of slow's CPU, $fixed_share% of fixed's; $slow → $fixed requests/s"
echo PASS
