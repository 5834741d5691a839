# tests/trace.cmake: the execution tracer's readers (label "trace"): the
# trace reader, `cprof trace summary|pprof|export`, against a ground-truth
# program that traces itself. The tool and reader tests also carry the
# label "sanitize" (scripts/test.sh runs them in the ASan build).

pkg_check_modules(JSONC IMPORTED_TARGET json-c)

# The ground truth: linked with libcprof, it traces itself (cprof_trace_*).
add_executable(trace_gt workloads/trace_gt.c)
target_link_libraries(trace_gt PRIVATE cprof Threads::Threads)
target_compile_options(trace_gt PRIVATE -O2)
set_target_properties(trace_gt PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

# The reader against hand-made files (also the fuzzer's seeds).
add_executable(test-trace-read test-trace-read.c)
target_link_libraries(test-trace-read PRIVATE cprof_format_tool)
target_compile_options(test-trace-read PRIVATE ${CPROF_SAN_FLAGS})
set_target_properties(test-trace-read PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
add_test(NAME trace-read COMMAND test-trace-read)
set_tests_properties(trace-read PROPERTIES LABELS "trace;sanitize" TIMEOUT 60)

if(NOT JSONC_FOUND)
  message(WARNING "json-c not found (libjson-c-dev): the trace export tests are not built")
  return()
endif()

# The export's JSON, read by json-c.
add_executable(test-trace-json test-trace-json.c)
target_link_libraries(test-trace-json PRIVATE PkgConfig::JSONC m)
target_compile_options(test-trace-json PRIVATE ${CPROF_SAN_FLAGS})
target_link_options(test-trace-json PRIVATE ${CPROF_SAN_FLAGS})
set_target_properties(test-trace-json PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

function(cprof_trace_test name timeout script)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT ${timeout}
                       LABELS "trace;sanitize")
endfunction()

# summary and export agree with what the program did.
cprof_trace_test(trace-ground-truth 180 test-trace-gt.sh)
# go tool pprof reads the derived profiles and finds the waiters and holder.
cprof_trace_test(trace-pprof-go 300 test-trace-pprof.sh)
# Scheduling latency (schedstat in the trace) against the threads' own.
cprof_trace_test(trace-sched 120 test-trace-sched.sh)
set_tests_properties(trace-sched PROPERTIES SKIP_RETURN_CODE 77)
# Several traces from one process, each complete.
cprof_trace_test(trace-multi 120 test-trace-multi.sh)
# Truncated, corrupt and missing files; bad subcommands and flags.
cprof_trace_test(trace-bad-input 300 test-trace-bad.sh)
