#!/bin/sh
# fuzz.sh [SECONDS] [BUILD_DIR]: fuzzes the pprof reader with libFuzzer for
# SECONDS (default 60). Configures BUILD_DIR (default build-fuzz) with clang
# and CPROF_FUZZ=ON, builds the fuzzer and the seed writer, and runs the
# fuzz-pprof-read test. Crashes, if any, are saved as
# BUILD_DIR/tests/fuzz-artifacts/crash-*; replay one with
#   BUILD_DIR/tests/fuzz_pprof_read FILE
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$root/build-fuzz}

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -DCPROF_FUZZ=ON \
    -DCPROF_BUILD_EXAMPLES=OFF -DCPROF_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_pprof_read test-pprof-write -j"$(nproc)"
CPROF_FUZZ_SECONDS=$seconds ctest --test-dir "$build" -R '^fuzz-pprof-read$' \
    --output-on-failure --timeout $((seconds + 120))
