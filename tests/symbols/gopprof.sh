#!/bin/sh
# Reads the profile that test-symbols writes with Go's own pprof: the names
# the symbolizer gave must be the ones go tool pprof prints.
# Usage: gopprof.sh TEST-SYMBOLS-BINARY
set -eu
if ! command -v go >/dev/null 2>&1; then
    echo "go not found: skipped"
    exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$1" "$out/symbols.pb.gz" >/dev/null
if ! go tool pprof -symbolize=none -traces "$out/symbols.pb.gz" >"$out/traces.txt" 2>&1; then
    cat "$out/traces.txt"
    exit 1
fi
for name in symtest_inner symtest_outer symlib_call symstrip_call 'ns::Klass::method(int)' \
    'ns::twice<long>(long)'; do
    if ! grep -qF "$name" "$out/traces.txt"; then
        echo "go tool pprof does not show $name:"
        cat "$out/traces.txt"
        exit 1
    fi
done
echo ok
