#!/bin/bash
# test-run-badinput.sh: `cprof run` refuses bad input before starting
# anything: one line on stderr starting "cprof:", a non-zero exit status,
# and the program never ran (it would have created a file). Unwritable
# paths are ones that fail for root too (tests run as root).
. "$(dirname "$0")/lib.sh"

marker="$T/started"
prog=(sh -c ": >'$marker'")

# refuse WHAT ARGS...: `cprof run ARGS...` must refuse.
refuse() {
    local what=$1 rc
    shift
    rm -f "$marker"
    timeout -k 5 30 "$CPROF" run "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "$what: exit status $rc, want an error"
    [ "$(wc -l <"$T/err")" = 1 ] && grep -q '^cprof: ' "$T/err" ||
        fail "$what: want one line starting 'cprof:' on stderr, got: [$(cat "$T/err")]"
    [ ! -e "$marker" ] || fail "$what: the program was started"
    [ ! -s "$T/out" ] || fail "$what: unexpected stdout: $(cat "$T/out")"
    note "$what: $rc: $(cat "$T/err")"
}

mkdir "$T/dir"
refuse "unknown flag" -bogus=1 -- "${prog[@]}"
refuse "unknown flag, two dashes" --cpuprofil="$T/x.pb.gz" -- "${prog[@]}"
refuse "no program" -cpuprofile="$T/x.pb.gz"
refuse "no program after --" -cpuprofile="$T/x.pb.gz" --
refuse "nothing at all"
refuse "program not found (path)" -- "$T/no-such-program"
refuse "program not found (PATH)" -- cprof-no-such-program-here
refuse "program not executable" -- /etc/passwd
refuse "output directory missing" -cpuprofile="$T/missing/cpu.pb.gz" -- "${prog[@]}"
refuse "output directory is a file" -cpuprofile=/etc/passwd/cpu.pb.gz -- "${prog[@]}"
refuse "output is a directory" -cpuprofile="$T/dir" -- "${prog[@]}"
refuse "rate zero" -cpurate=0 -cpuprofile="$T/x.pb.gz" -- "${prog[@]}"
refuse "rate negative" -cpurate=-5 -cpuprofile="$T/x.pb.gz" -- "${prog[@]}"
refuse "rate too high" -cpurate=10001 -cpuprofile="$T/x.pb.gz" -- "${prog[@]}"
refuse "rate not a number" -cpurate=fast -cpuprofile="$T/x.pb.gz" -- "${prog[@]}"
refuse "rate with junk" -cpurate=100x -cpuprofile="$T/x.pb.gz" -- "${prog[@]}"
refuse "rate empty" -cpurate= -cpuprofile="$T/x.pb.gz" -- "${prog[@]}"
refuse "flight recorder not AGE,SIZE" -flightrecorder=bogus -- "${prog[@]}"
refuse "flight recorder without a size" -flightrecorder=5s, -- "${prog[@]}"
refuse "flight recorder of age 0" -flightrecorder=0s,1MiB -- "${prog[@]}"
refuse "flight recorder size unit" -flightrecorder=5s,16furlongs -- "${prog[@]}"
refuse "flight trigger without >" -flighttrigger=request -- "${prog[@]}"
refuse "flight trigger without a name" '-flighttrigger=>5ms' -- "${prog[@]}"
refuse "flight trigger bad duration" '-flighttrigger=a>1s,b>soon' -- "${prog[@]}"
refuse "flight signal name" -flightsignal=NOPE -- "${prog[@]}"
refuse "flight signal number" -flightsignal=99 -- "${prog[@]}"
refuse "flight out empty" -flightout= -- "${prog[@]}"
[ ! -e "$T/x.pb.gz" ] || fail "a refused run wrote a profile"

# The usage names every flag's value, each with its own placeholder (a table
# indexed by the wrong kind once printed -push=DURATION and -flightrecorder(null)).
"$CPROF" run -h >"$T/usage" 2>&1 || fail "cprof run -h: exit status $?"
grep -q '(null)' "$T/usage" && fail "cprof run -h prints (null): $(grep '(null)' "$T/usage")"
for want in -cpuprofile=FILE -cpurate=HZ -memprofilerate=BYTES -http=HOST:PORT -push=URL \
    -push-interval=DURATION -app-name=NAME -push-labels=k=v -flightrecorder=AGE,SIZE \
    '-flighttrigger=NAME>DURATION' -leaksuppressions=FILE; do
    grep -q -- "^  $want" "$T/usage" || fail "cprof run -h does not show $want"
done

# And the same program with good flags does run (the marker works).
rm -f "$marker"
run_cprof 0 -cpuprofile="$T/x.pb.gz" -- "${prog[@]}"
[ -e "$marker" ] || fail "the program did not run with good flags"
exit 0
