#!/bin/sh
# Builds cprof and runs the whole test suite: the normal build (warnings are
# errors), then the tool, format and linked-runtime tests again under
# AddressSanitizer+UBSan and ThreadSanitizer, then a short fuzzing run of
# every file reader. Exits non-zero on the first failure.
#   scripts/test.sh            (from the repository's root; as root on a fresh
#                               machine, run scripts/setup.sh first)
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (warnings are errors)"
cmake -S . -B build -DCPROF_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
ctest --test-dir build -j"$jobs" --output-on-failure

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build-asan -DCPROF_WERROR=ON -DCPROF_SANITIZE=address,undefined \
      -DCPROF_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan -j"$jobs" -L sanitize --output-on-failure

echo "== ThreadSanitizer build"
cmake -S . -B build-tsan -DCPROF_WERROR=ON -DCPROF_SANITIZE=thread \
      -DCPROF_BUILD_BENCH=OFF -DCPROF_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-tsan -j"$jobs"
ctest --test-dir build-tsan -j"$jobs" -L tsan --output-on-failure

echo "== fuzzing the file readers (clang, libFuzzer)"
CC=clang cmake -S . -B build-fuzz -DCPROF_FUZZ=ON -DCPROF_BUILD_BENCH=OFF \
      -DCPROF_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz -j"$jobs" -L fuzz --output-on-failure
