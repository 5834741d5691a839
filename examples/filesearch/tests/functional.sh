#!/bin/bash
# functional.sh: filesearch's answers equal grep -rnE's on a corpus made here,
# for the slow and the fixed search; every bad request gets the right status
# and a JSON error, and the server keeps serving; SIGTERM and SIGINT stop it
# cleanly (exit status 0).
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

make_corpus "$TMP/corpus"

# check_search PATTERN MAX PATH...: the answer equals grep's. MAX "-" leaves
# max_results out of the request (the server then returns at most 100).
check_search() {
    local pattern=$1 max=$2
    shift 2
    post_search "$("$TESTJSON" request "$pattern" "$max" "$@")"
    [[ $(status) == 200 ]] || fail "search /$pattern/ in $*: status $(status): $(cat "$TMP/body")"
    "$TESTJSON" answer <"$TMP/body" >"$TMP/got" || fail "search /$pattern/ in $*: bad answer"
    local limit=$max
    [[ $limit == - || $limit == 0 ]] && limit=100
    grep_answer "$pattern" "$limit" "$@" >"$TMP/want"
    if ! cmp -s "$TMP/want" "$TMP/got"; then
        diff "$TMP/want" "$TMP/got" | head -n 20 >&2
        fail "search /$pattern/ in $* (max_results $max): the answer differs from grep's"
    fi
    checked=$((checked + 1))
    matched=$((matched + $(wc -l <"$TMP/got")))
}

# check_error STATUS WHAT [CURL ARGS...] -- METHOD PATH: the request gets
# STATUS and a JSON {"error": ...} whose message contains WHAT.
check_error() {
    local want=$1 what=$2
    shift 2
    http "$@"
    local got
    got=$(status)
    [[ $got == "$want" ]] || fail "$*: status $got, want $want: $(cat "$TMP/body")"
    grep -qi '^content-type: application/json' "$TMP/headers" || fail "$*: the error is not JSON"
    local msg
    msg=$("$TESTJSON" answer <"$TMP/body") || fail "$*: bad error body: $(cat "$TMP/body")"
    [[ $msg == "error: "* ]] || fail "$*: not an error answer: $msg"
    [[ $msg == *"$what"* ]] || fail "$*: error \"$msg\" does not mention \"$what\""
    errors=$((errors + 1))
}

bad_search() {
    local want=$1 what=$2 body=$3
    check_error "$want" "$what" POST /search -H 'Content-Type: application/json' \
        --data-binary "$body"
}

functional_checks() {
    checked=0 matched=0 errors=0

    # Answers equal grep's.
    local p
    for p in 'int' '^#include' 'struct [a-z_]+ \{' 'foo|bar' '[0-9]{3,}' ';$' \
        '^[[:space:]]+return' '\(void\)' 'x{200}' 'after' 'NO_SUCH_THING_ANYWHERE' '^$' \
        'pthread_[a-z]+_(lock|unlock)' '[Ll]ong'; do
        check_search "$p" 100000 corpus
    done
    check_search 'int' 100000 corpus/src/ corpus/include # a trailing slash, two paths
    check_search 'int' 100000 ./corpus/gen               # ./ is kept, as grep keeps it
    check_search 'int' 100000 "$TMP/corpus/src/net"      # absolute
    check_search 'int' 100000 corpus/src/main.c corpus/src/util.h # files
    check_search 'int' 100000 corpus/README.txt          # a file that is not a source
    check_search 'int' 100000 corpus/empty               # nothing in it
    check_search 'foo' 100000 corpus/src corpus/src      # twice, as grep does
    check_search 'int' 100000 corpus/include/srclink     # a symlink given as the path is followed

    # max_results cuts after sorting; 0 or missing means 100.
    check_search 'int' 5 corpus
    check_search 'int' 1 corpus/gen
    check_search 'int' 0 corpus
    check_search 'int' - corpus
    check_search '^$' - corpus
    [[ $(wc -l <"$TMP/got") == 100 ]] || fail "max_results missing: want 100 matches"

    # Bad requests.
    bad_search 400 "body" ''
    bad_search 400 "body" '   '
    bad_search 400 "body" '{'
    bad_search 400 "body" '{"pattern": "a", "paths": ["corpus"]'
    bad_search 400 "body" '{"pattern": "a", "paths": ["corpus"]} trailing'
    bad_search 400 "body" "{'pattern': 'a'}"
    bad_search 400 "body" '[]'
    bad_search 400 "body" '"corpus"'
    bad_search 400 "body" 'null'
    bad_search 400 "pattern" '{"paths": ["corpus"]}'
    bad_search 400 "pattern" '{"pattern": 1, "paths": ["corpus"]}'
    bad_search 400 "pattern" '{"pattern": null, "paths": ["corpus"]}'
    bad_search 400 "pattern" '{"pattern": ["a"], "paths": ["corpus"]}'
    bad_search 400 "pattern" '{"pattern": "", "paths": ["corpus"]}'
    bad_search 400 "pattern" '{"pattern": "a\u0000b", "paths": ["corpus"]}'
    bad_search 400 "paths" '{"pattern": "a"}'
    bad_search 400 "paths" '{"pattern": "a", "paths": "corpus"}'
    bad_search 400 "paths" '{"pattern": "a", "paths": []}'
    bad_search 400 "paths[0]" '{"pattern": "a", "paths": [1]}'
    bad_search 400 "paths[1]" '{"pattern": "a", "paths": ["corpus", ""]}'
    bad_search 400 "paths[0]" '{"pattern": "a", "paths": [null]}'
    bad_search 400 "max_results" '{"pattern": "a", "paths": ["corpus"], "max_results": "10"}'
    bad_search 400 "max_results" '{"pattern": "a", "paths": ["corpus"], "max_results": -1}'
    bad_search 400 "max_results" '{"pattern": "a", "paths": ["corpus"], "max_results": 1.5}'
    bad_search 400 "max_results" '{"pattern": "a", "paths": ["corpus"], "max_results": 100001}'
    bad_search 400 "max_results" \
        '{"pattern": "a", "paths": ["corpus"], "max_results": 99999999999999999999}'
    bad_search 400 "pattern: invalid regular expression" '{"pattern": "(", "paths": ["corpus"]}'
    bad_search 400 "pattern: invalid regular expression" '{"pattern": "a{2,1}", "paths": ["corpus"]}'
    bad_search 400 "pattern: invalid regular expression" '{"pattern": "[z-a]", "paths": ["corpus"]}'
    bad_search 400 "pattern: invalid regular expression" '{"pattern": "*a)", "paths": ["corpus"]}'
    bad_search 400 "corpus/no/such/dir" '{"pattern": "a", "paths": ["corpus/no/such/dir"]}'
    bad_search 400 "/nonexistent-$$" "{\"pattern\": \"a\", \"paths\": [\"corpus\", \"/nonexistent-$$\"]}"
    bad_search 400 "/dev/null" '{"pattern": "a", "paths": ["/dev/null"]}'
    check_error 405 "GET" GET /search
    grep -qi '^allow: POST' "$TMP/headers" || fail "405 on /search without Allow: POST"
    check_error 405 "PUT" PUT /search --data-binary '{"pattern": "a", "paths": ["corpus"]}'
    check_error 405 "DELETE" DELETE /health
    grep -qi '^allow: GET, HEAD' "$TMP/headers" || fail "405 on /health without Allow: GET, HEAD"
    check_error 405 "POST" POST /health --data-binary 'x'
    check_error 404 "/nope" GET /nope
    check_error 404 "/search/" POST /search/ --data-binary '{}'
    head -c 2000000 /dev/zero | tr '\0' ' ' >"$TMP/big"
    check_error 413 "body" POST /search --data-binary "@$TMP/big"
    check_error 413 "body" POST /search -H 'Transfer-Encoding: chunked' --data-binary "@$TMP/big"

    # Still serving, and still right.
    http GET /health
    [[ $(status) == 200 && $(cat "$TMP/body") == OK ]] || fail "/health after bad requests"
    http HEAD /health -I
    [[ $(status) == 200 ]] || fail "HEAD /health"
    check_search 'foo|bar' 100000 corpus

    echo "ok: $checked searches equal grep's ($matched matches), $errors bad requests answered"
}

start_server slow
functional_checks
stop_server TERM

start_server fixed -fixed
functional_checks
stop_server INT

# One fix at a time, as the tutorial takes them: every step answers alike
# (the checks also read the engine's name from the server's first line).
for fixes in threads threads,regex threads,regex,lines threads,lock threads,lines; do
    start_server "fix-$fixes" -fix="$fixes"
    grep -q "fix=$fixes search, listening" "$TMP/fix-$fixes.log" ||
        fail "-fix=$fixes: the server does not say fix=$fixes: $(head -1 "$TMP/fix-$fixes.log")"
    functional_checks
    stop_server TERM
done

# Both engines give the same answer on a bigger tree, the system's headers.
if [[ -d /usr/include/linux ]]; then
    start_server slow2
    post_search "$("$TESTJSON" request 'define [A-Z_]+_MAX' 100000 /usr/include/linux)"
    "$TESTJSON" answer <"$TMP/body" >"$TMP/slow.txt"
    stop_server TERM
    start_server fixed2 -fixed
    post_search "$("$TESTJSON" request 'define [A-Z_]+_MAX' 100000 /usr/include/linux)"
    "$TESTJSON" answer <"$TMP/body" >"$TMP/fixed.txt"
    stop_server TERM
    start_server partial2 -fix=threads,regex
    post_search "$("$TESTJSON" request 'define [A-Z_]+_MAX' 100000 /usr/include/linux)"
    "$TESTJSON" answer <"$TMP/body" >"$TMP/partial.txt"
    stop_server TERM
    grep_answer 'define [A-Z_]+_MAX' 100000 /usr/include/linux >"$TMP/want"
    cmp -s "$TMP/slow.txt" "$TMP/want" || fail "slow differs from grep on /usr/include/linux"
    cmp -s "$TMP/fixed.txt" "$TMP/want" || fail "fixed differs from grep on /usr/include/linux"
    cmp -s "$TMP/partial.txt" "$TMP/want" ||
        fail "-fix=threads,regex differs from grep on /usr/include/linux"
    echo "ok: slow, fixed and -fix=threads,regex equal grep on /usr/include/linux ($(wc -l <"$TMP/want") matches)"
fi
echo PASS
