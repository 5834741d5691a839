#!/bin/bash
# test-tutorial.sh [--write]: runs docs/tutorial.md, so that it never goes
# stale, and checks what it claims.
#
# The tutorial's commands are the lines starting with "$ " in its ```console
# blocks; the lines after each, up to the next command or the block's end, are
# its output as shown. After a block, HTML comments state what its output must
# show:
#   <!-- expect: REGEX -->      some line of the block's output matches (grep -E)
#   <!-- expect-not: REGEX -->  no line does
# and just before a block, <!-- not run: WHY --> leaves it out (the build:
# the suite has built everything already).
#
# The commands run in order in one shell, from a scratch directory where
# `build` is the build tree, with the port 8080 replaced by a free one. Each
# block's output must meet its expectations, and so must the output the
# tutorial shows, in docs/tutorial.md and in its Japanese twin
# docs/tutorial.ja.md, which must have the same commands in the same blocks.
#
# --write (by hand, from the source tree) runs the tutorial the same way and
# writes each command's real output into both files, in place of the old;
# read the diff before committing it.
. "$(dirname "$0")/lib.sh"

DOC=$CPROF_SOURCE_DIR/docs/tutorial.md
DOC_JA=$CPROF_SOURCE_DIR/docs/tutorial.ja.md
write=0
[ "${1:-}" = --write ] && write=1
[ -r "$DOC" ] || fail "no $DOC"
[ -r "$DOC_JA" ] || fail "no $DOC_JA"
command -v curl >/dev/null || skip "curl is missing (scripts/setup.sh installs it)"
[ -x "$CPROF_BUILD_DIR/bin/filesearch" ] || skip "the demo (examples/filesearch) is not built"

# plan DOC: one record per line: "B n run|skip", "C k command", "O k line"
# (shown output), "E regex", "N regex". Commands are numbered through the
# whole file.
plan() {
    awk '
        function flush_comment(line,   m) {
            if (match(line, /^<!-- expect: .* -->$/)) print "E " substr(line, 14, length(line) - 17)
            else if (match(line, /^<!-- expect-not: .* -->$/)) print "N " substr(line, 18, length(line) - 21)
        }
        /^<!-- not run: / { skip_next = 1; next }
        !inblock && /^```console$/ { inblock = 1; b++; print "B " b " " (skip_next ? "skip" : "run"); skip_next = 0; next }
        inblock && /^```$/ { inblock = 0; next }
        inblock && /^\$ / { c++; print "C " c " " substr($0, 3); next }
        inblock { print "O " c " " $0; next }
        { flush_comment($0) }
    ' "$1"
}

plan "$DOC" >"$T/plan"
plan "$DOC_JA" >"$T/plan.ja"
grep '^[BCEN] ' "$T/plan" >"$T/steps"
grep '^[BCEN] ' "$T/plan.ja" >"$T/steps.ja"
cmp -s "$T/steps" "$T/steps.ja" ||
    fail "docs/tutorial.ja.md does not have tutorial.md's commands and expectations:" \
        "$(diff "$T/steps" "$T/steps.ja" | head -5)"
[ "$(grep -c '^C ' "$T/steps")" -gt 10 ] || fail "the tutorial has hardly any commands"

# check WHAT FILE: the expectations of the current block against FILE.
failures=0
check() {
    local what=$1 file=$2 re
    for re in "${expect[@]}"; do
        grep -Eq -- "$re" "$file" || {
            echo "FAIL: block $block ($what): no line matches /$re/" >&2
            failures=$((failures + 1))
        }
    done
    for re in "${expect_not[@]}"; do
        if grep -Eq -- "$re" "$file"; then
            echo "FAIL: block $block ($what): a line matches /$re/, which it must not" >&2
            failures=$((failures + 1))
        fi
    done
}

# The port: a free one, in place of the tutorial's 8080.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000)))
mkdir -p "$T/run"
ln -s "$CPROF_BUILD_DIR" "$T/run/build"
cd "$T/run" || fail "no scratch directory"

# Whatever the tutorial left running (a server, a load) is stopped at the end.
finish() {
    local pids
    pids=$(jobs -p)
    [ -n "$pids" ] && kill $pids 2>/dev/null
    sleep 0.5
    pids=$(jobs -p)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    cleanup
}
trap finish EXIT

# Runs the blocks, checking each when it is done.
block=0 run=run expect=() expect_not=()
end_block() {
    [ "$block" = 0 ] && return
    if [ "$run" = run ]; then
        cat "$T"/out."$block".* >"$T/block.$block" 2>/dev/null || : >"$T/block.$block"
        check "run" "$T/block.$block"
    fi
    # --write replaces what the docs show: checked by the next plain run.
    [ "$write" = 1 ] && { expect=() expect_not=(); return; }
    for doc in en ja; do
        local plan=$T/plan
        [ $doc = ja ] && plan=$T/plan.ja
        awk -v b="$block" '
            /^B / { inb = ($2 == b) } inb && /^O / { sub(/^O [0-9]+ /, ""); print }
        ' "$plan" >"$T/shown.$doc"
        check "as shown in the $doc tutorial" "$T/shown.$doc"
    done
    expect=() expect_not=()
}
while IFS= read -r line; do
    kind=${line%% *} rest=${line#* }
    case $kind in
    B)
        end_block
        block=${rest%% *} run=${rest#* }
        ;;
    C)
        n=${rest%% *} cmd=${rest#* }
        [ "$run" = run ] || continue
        cmd=${cmd//8080/$PORT}
        note "block $block: \$ $cmd"
        eval "$cmd" >"$T/out.$block.$n" 2>&1 </dev/null
        status=$?
        # A command that fails shows it in its output; one the tutorial
        # means to fail says so with an expectation on its message.
        [ "$status" = 0 ] || echo "[exit status $status]" >>"$T/out.$block.$n"
        sed -i -e "s/$PORT/8080/g" -e "s|$T/run/||g" "$T/out.$block.$n"
        ;;
    E) expect+=("$rest") ;;
    N) expect_not+=("$rest") ;;
    esac
done <"$T/steps"
end_block

if [ "$write" = 1 ]; then
    for doc in "$DOC" "$DOC_JA"; do
        awk -v dir="$T" '
            /^```console$/ && !inb { inb = 1; print; next }
            inb && /^```$/ { inb = 0; print; next }
            inb && /^\$ / {
                c++; print
                f = dir "/out." ; cmd = "cat " dir "/out.*." c " 2>/dev/null"
                while ((cmd | getline l) > 0) print l
                close(cmd)
                next
            }
            inb { next }
            { print }
        ' "$doc" >"$T/new" && cp "$T/new" "$doc"
    done
    note "wrote the outputs into $DOC and $DOC_JA"
fi
[ "$failures" = 0 ] || fail "$failures expectations of the tutorial failed"
note "the tutorial's $(grep -c '^C ' "$T/steps") commands ran and showed what it says"
