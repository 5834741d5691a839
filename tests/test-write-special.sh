#!/bin/sh
# test-write-special: profiles written to paths that are not plain files are
# written through them, never replaced: a symbolic link stays a link (its
# target gets the profile), a FIFO stays a FIFO (its reader gets the
# profile). A rename over such a path once turned /dev/null into a file.
. "$CPROF_SOURCE_DIR/tests/lib.sh"

# A program that exits through exit(3), so that the profiles are written.
prog=$CPROF_BUILD_DIR/bin/cpuhog
[ -x "$prog" ] || fail "$prog is missing"

ln -s "$T/target.pb.gz" "$T/link.pb.gz"
run_cprof 0 -cpuprofile="$T/link.pb.gz" -- "$prog" -threads=1 -seconds=0.1
[ -L "$T/link.pb.gz" ] || fail "the symbolic link was replaced by a file"
[ -s "$T/target.pb.gz" ] || fail "the link's target got no profile"
gopprof -raw "$T/target.pb.gz" >/dev/null 2>&1 || fail "the profile written through the link is not readable"

mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
run_cprof 0 -cpuprofile="$T/fifo" -- "$prog" -threads=1 -seconds=0.1
wait $reader
[ -p "$T/fifo" ] || fail "the FIFO was replaced by a file"
[ -s "$T/from-fifo" ] || fail "the FIFO's reader got no profile"
gopprof -raw "$T/from-fifo" >/dev/null 2>&1 || fail "the profile read from the FIFO is not readable"
echo "ok: profiles written through a link and a FIFO, both left in place"
