#!/bin/sh
# test-report-go.sh: the golden outputs of test-report-golden.sh that must
# equal go tool pprof's, produced again by go tool pprof and compared. Skips
# (77) without a Go toolchain.
. "$(dirname "$0")/test-report-lib.sh"
use_go
make_profiles
cd "$tmp" || exit 1
mkdir -p project/src && cp "$GOLDEN/src/listing.c" project/src/

# same NAME PPROF-ARGS...: go tool pprof prints tests/golden/report/NAME.txt.
same() {
    name=$1
    shift
    if ! go tool pprof -symbolize=none "$@" >go.out 2>go.err; then
        fail "$name: go tool pprof $* failed: $(cat go.err)"
    elif ! diff -u "$GOLDEN/$name.txt" go.out >go.diff; then
        fail "$name: go tool pprof $* prints otherwise:"
        cat go.diff >&2
    fi
}

same peek-work -peek=work golden.pb.gz
same peek-all -peek=. golden.pb.gz
same peek-focus -peek=main -focus=hot golden.pb.gz
same top-focus -top -focus=work golden.pb.gz
same top-ignore -top -ignore=rec golden.pb.gz
same top-hide -top -hide=work golden.pb.gz
same top-show -top '-show=hot|main' golden.pb.gz
same top-tagfocus -top -tagfocus=handler=search tagged.pb.gz
same top-tagignore -top -tagignore=handler=sea tagged.pb.gz
same list-all -list=. -trim_path=/build/project "-source_path=$GOLDEN" listing.pb.gz
same list-root '-list=sum|main' "-source_path=$tmp/project" listing.pb.gz

# Profiles Go wrote itself (tests/go/cpuhog): the same text as go tool
# pprof's for peek and list (Go's profiles name the sources by absolute
# path), and folded and flame read them.
if ! (cd "$CPROF_SOURCE_DIR/tests/go/cpuhog" && go build -o "$tmp/cpuhog" .) 2>build.err; then
    fail "go build of tests/go/cpuhog: $(cat build.err)"
    finish
fi
./cpuhog -cpu gocpu.pb.gz -heap goheap.pb.gz -d 1s 2>run.err || fail "cpuhog: $(cat run.err)"
# agree NAME CPROF-ARGS -- PPROF-ARGS: both print the same.
agree() {
    name=$1
    shift
    cargs=
    while [ "$1" != -- ]; do
        cargs="$cargs $1"
        shift
    done
    shift
    # shellcheck disable=SC2086
    "$CPROF" $cargs >ours 2>err || fail "$name: cprof$cargs: $(cat err)"
    go tool pprof -symbolize=none "$@" >theirs 2>/dev/null
    diff -u theirs ours >d || {
        fail "$name: cprof$cargs differs from go tool pprof $*:"
        cat d >&2
    }
}
agree go-peek peek 'main\.' gocpu.pb.gz -- '-peek=main\.' gocpu.pb.gz
agree go-list list 'main\.hog' gocpu.pb.gz -- '-list=main\.hog' gocpu.pb.gz
agree go-heap-peek peek -sample_index=alloc_space 'main\.' goheap.pb.gz -- \
    -sample_index=alloc_space '-peek=main\.' goheap.pb.gz
"$CPROF" folded gocpu.pb.gz | grep -q '^runtime\.main;main\.main;.*main\.hog' ||
    fail "go folded: no runtime.main;main.main;...main.hog stack"
"$CPROF" flame -o go.svg gocpu.pb.gz || fail "go flame failed"
if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout go.svg || fail "go flame: not well-formed"
fi
grep -q '<title>main\.hog (' go.svg || fail "go flame: no main.hog frame"
finish
