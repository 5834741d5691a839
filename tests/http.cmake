# tests/http.cmake: the live endpoint's and push's tests (label "http").
# The programs go to ${CPROF_TEST_DIR}, where the scripts find them through
# $CPROF_TEST_BIN; every script sources tests/lib.sh and reaches the endpoint
# with go tool pprof (the real client) and curl, on 127.0.0.1 only.

# The program under test: known hot function, named blocked threads, known
# allocations; linked with libcprof so that it can start the endpoint on
# port 0 and print the port it got.
add_executable(http_target workloads/http_target.c)
target_link_libraries(http_target PRIVATE cprof Threads::Threads)
target_compile_options(http_target PRIVATE -O1 -g -fno-omit-frame-pointer -fno-builtin)
set_target_properties(http_target PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

# A stand-in Pyroscope server that checks each ingest request against the
# published API reference, reading profiles with src/format's reader.
add_executable(pyroscope_receiver workloads/pyroscope_receiver.c)
target_link_libraries(pyroscope_receiver PRIVATE cprof_format_tool PkgConfig::MHD Threads::Threads)
set_target_properties(pyroscope_receiver PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

function(cprof_http_test name timeout script)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS "http" ENVIRONMENT "${CPROF_TEST_ENV}"
                       TIMEOUT ${timeout})
endfunction()

# The real client and the answers: CPU, heap, threads, index, cmdline, symbol.
cprof_http_test(http-clients 180 test-http-clients.sh)
# One CPU profile at a time; many other requests at once.
cprof_http_test(http-concurrency 180 test-http-concurrency.sh)
# Bad requests, token, loopback guard, cprof run -http; the program unaffected.
cprof_http_test(http-badinput 180 test-http-badinput.sh)
# Hundreds of mixed requests: descriptors and memory of the program unchanged.
cprof_http_test(http-soak 300 test-http-soak.sh)
# The same with the CPU profiles among the other requests (a thread ending as
# a profile starts must not leak its perf_event descriptor).
cprof_http_test(http-soak-concurrent-profiles 300 test-http-soak.sh concurrent-profiles)
# Push to a Pyroscope stand-in: well-formed requests; server down; server failing.
cprof_http_test(http-push 120 test-http-push.sh ok)
cprof_http_test(http-push-down 120 test-http-push.sh down)
cprof_http_test(http-push-retry 120 test-http-push.sh retry)
cprof_http_test(http-push-run 120 test-http-push.sh run)
