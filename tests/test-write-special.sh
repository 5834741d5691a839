#!/bin/sh
# test-write-special: profiles written to paths that are not plain files are
# written through them, never replaced: a symbolic link stays a link (its
# target gets the profile), a FIFO stays a FIFO (its reader gets the
# profile). A rename over such a path once turned /dev/null into a file.
. "$CPROF_SOURCE_DIR/tests/lib.sh"

prog=$CPROF_TEST_BIN/cpusplit_fp
[ -x "$prog" ] || prog=/bin/true

ln -s "$T/target.pb.gz" "$T/link.pb.gz"
run_cprof 0 -cpuprofile="$T/link.pb.gz" -memprofile="$T/link.pb.gz" -- /bin/sh -c 'exit 0'
[ -L "$T/link.pb.gz" ] || fail "the symbolic link was replaced by a file"
[ -s "$T/target.pb.gz" ] || fail "the link's target got no profile"
gopprof -raw "$T/target.pb.gz" >/dev/null 2>&1 || fail "the profile written through the link is not readable"

mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
run_cprof 0 -cpuprofile="$T/fifo" -- /bin/sh -c 'exit 0'
wait $reader
[ -p "$T/fifo" ] || fail "the FIFO was replaced by a file"
[ -s "$T/from-fifo" ] || fail "the FIFO's reader got no profile"
gopprof -raw "$T/from-fifo" >/dev/null 2>&1 || fail "the profile read from the FIFO is not readable"
echo "ok: profiles written through a link and a FIFO, both left in place"
