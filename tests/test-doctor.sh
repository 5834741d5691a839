#!/bin/bash
# test-doctor.sh: `cprof doctor` on this machine and on one program built
# every way it must tell apart (tests/bench.cmake: doctor-*): with and
# without -g, frame pointers, symbols, a debug-link file, static linking.
# The machine's figures are checked against /proc, the library list against
# ldd's, and the advice against what the table says.
. "$(dirname "$0")/test-bench-lib.sh"
cd "$T" || exit 1

doctor() {
    "$CPROF" doctor "$@" >out.txt 2>err.txt
    rc=$?
}

# row NAME: the table row of the object whose path ends in NAME.
row() {
    awk -v n="$1" '$1 ~ ("/" n "$") { print; exit }' out.txt
}

# ---- The machine -----------------------------------------------------------------------
doctor
[ "$rc" = 0 ] || fail "doctor: exit $rc: $(cat err.txt)"
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
has out.txt "kernel\\.perf_event_paranoid = $paranoid: " "perf_event_paranoid"
has out.txt 'perf_event_open \(task clock\): (works|refused|opens)' "perf_event_open line"
has out.txt "kernel\\.kptr_restrict = $(cat /proc/sys/kernel/kptr_restrict): " "kptr_restrict"
has out.txt 'kernel tick: ' "kernel tick"
hz=""
if [ -r "/boot/config-$(uname -r)" ]; then
    hz=$(sed -n 's/^CONFIG_HZ=//p' "/boot/config-$(uname -r)")
elif [ -r /proc/config.gz ]; then
    hz=$(zcat /proc/config.gz | sed -n 's/^CONFIG_HZ=//p')
fi
[ -n "$hz" ] && has out.txt "kernel tick: CONFIG_HZ=$hz " "CONFIG_HZ"
has out.txt 'measured: [0-9]+ timer signals per CPU-second|about [0-9]+ Hz \(measured' "tick measured"
if command -v dot >/dev/null; then has out.txt '^  ok +dot: ' "dot found"; else has out.txt 'dot: not installed' "dot missing"; fi
if command -v go >/dev/null; then has out.txt '^  ok +go: ' "go found"; else has out.txt 'go: not installed' "go missing"; fi
has out.txt '^How to fix$' "fix section"

# As an unprivileged user, what perf_event_paranoid allows is what doctor says.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$CPROF" 2>/dev/null; then
    setpriv --reuid=65534 --regid=65534 --clear-groups "$CPROF" doctor >user.txt 2>&1 ||
        fail "doctor as nobody: $(cat user.txt)"
    hasnt user.txt 'you are privileged' "nobody is not privileged"
    if [ "$paranoid" -ge 3 ]; then
        has user.txt 'perf_event_open \(task clock\): refused' "paranoid $paranoid: refused"
    elif [ "$paranoid" = 2 ]; then
        has user.txt 'perf_event_open \(task clock\): works, user time only' "paranoid 2: user only"
    elif grep -q 'perf_event_open (task clock): works' user.txt; then
        has user.txt 'works, counting kernel time too' "paranoid $paranoid: kernel too"
    fi
else
    echo "# not checked as an unprivileged user (needs root and setpriv)"
fi

# ---- Programs ------------------------------------------------------------------------------
P="$CPROF_TEST_BIN"
doctor "$P/doctor-g-fp"
[ "$rc" = 0 ] || fail "doctor-g-fp: exit $rc: $(cat err.txt)"
has out.txt 'dynamically linked \(interpreter /' "g-fp: dynamic"
row doctor-g-fp | grep -Eq '  \.symtab +DWARF +yes +yes \([0-9]+/[0-9]+ framed functions, from \.symtab\)$' ||
    fail "g-fp: row is '$(row doctor-g-fp)'"
hasnt out.txt 'doctor-g-fp: (rebuild|do not strip|link it)' "g-fp: nothing to fix in the program"
has out.txt "^  yes +file:line and inlined functions .* in $P/doctor-g-fp\$" "g-fp: file:line"

# The libraries are the ones ldd finds (its paths, resolved).
if command -v ldd >/dev/null; then
    for prog in "$P/doctor-g-fp" "$CPROF"; do
        doctor "$prog"
        awk '/^  object /{ t = 1; next } t && /^$/ { t = 0 } t && $1 ~ /^\// { print $1 }' out.txt |
            tail -n +2 | xargs -r -n1 realpath | sort -u >got.txt
        ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
            xargs -r -n1 realpath | sort -u >want.txt
        diff want.txt got.txt >libs.diff || fail "$prog: libraries differ from ldd's (< ldd, > doctor): $(cat libs.diff)"
    done
fi

# glibc: the advice matches what the table says about it.
doctor "$P/doctor-g-fp"
libc=$(row 'libc\.so\.6')
case "$(echo "$libc" | tr -s ' ')" in
*" debug file debug file "*)
    dbg=$(sed -n 's/^  (.*libc\.so\.6: debug file \(.*\))$/\1/p' out.txt)
    [ -f "$dbg" ] || fail "libc's debug file '$dbg' does not exist"
    hasnt out.txt 'apt install libc6-dbg' "libc has its debug file: no advice" ;;
*" .dynsym only "*)
    has out.txt 'apt install libc6-dbg' "libc without symbols: advice" ;;
*) fail "libc row: '$libc'" ;;
esac

doctor "$P/doctor-nog-nofp"
row doctor-nog-nofp | grep -Eq '  \.symtab +none +yes +no \(0/[0-9]+ framed functions, from \.symtab\)$' ||
    fail "nog-nofp: row is '$(row doctor-nog-nofp)'"
has out.txt "doctor-nog-nofp: rebuild with -g" "nog-nofp: advice -g"
has out.txt "^  no +file:line and inlined functions in $P/doctor-nog-nofp: no DWARF" "nog-nofp: no file:line"

doctor "$P/doctor-stripped"
row doctor-stripped | grep -Eq '  none +none +yes +yes \([0-9]+/[0-9]+ framed functions, from \.eh_frame_hdr\)$' ||
    fail "stripped: row is '$(row doctor-stripped)'"
has out.txt "doctor-stripped: do not strip it" "stripped: advice"
has out.txt "^  no +function names in $P/doctor-stripped: it has no symbols at all" "stripped: no names"

doctor "$P/doctor-debuglink"
row doctor-debuglink | grep -Eq '  debug file +debug file +yes +yes ' ||
    fail "debuglink: row is '$(row doctor-debuglink)'"
has out.txt "^  \\($P/doctor-debuglink: debug file $P/doctor-debuglink\\.debug\\)\$" "debuglink: the file"
hasnt out.txt 'doctor-debuglink: (rebuild|do not strip)' "debuglink: nothing to fix"

if [ "${CPROF_HAVE_STATIC_LIBC:-}" = 1 ]; then
    doctor "$P/doctor-static"
    [ "$rc" = 0 ] || fail "static: exit $rc"
    has out.txt '^  fail +statically linked: cprof run cannot preload' "static"
    has out.txt 'doctor-static: link it dynamically' "static: advice"
    row doctor-static | grep -Eq '  \.symtab +DWARF +yes ' || fail "static: row is '$(row doctor-static)'"
fi

# ---- Bad input: one line, non-zero exit --------------------------------------------------------
bad() {
    local want=$1 what=$2
    shift 2
    doctor "$@"
    [ "$rc" = "$want" ] || fail "$what: exit $rc, want $want"
    [ "$(lines err.txt)" = 1 ] || fail "$what: $(lines err.txt) lines on stderr: $(cat err.txt)"
    [ -s out.txt ] && fail "$what: printed a report: $(head -3 out.txt)"
}
echo 'not a program' >text.txt
printf '#!/bin/sh\necho hi\n' >script.sh
chmod +x script.sh
head -c 4096 /dev/urandom >garbage.bin
printf '\177ELF\2\1\1' >truncated.elf
bad 1 "missing program" ./nonexistent
bad 1 "not in PATH" no-such-program-anywhere
bad 1 "text file" ./text.txt
bad 1 "script" ./script.sh
bad 1 "garbage" ./garbage.bin
bad 1 "truncated ELF" ./truncated.elf
bad 1 "a directory" .
bad 2 "two programs" ./a ./b
bad 2 "unknown flag" -bogus
doctor -h
[ "$rc" = 0 ] || fail "-h: exit $rc"

finish
