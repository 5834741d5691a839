# tests/web.cmake: `cprof web` (label "web"). The UI is tested in a real
# headless Chromium (Debian's chromium), driven over the DevTools protocol by
# tests/web/cdp.js under Node (no npm packages); the server's input checks
# with curl. Scripts in tests/web/.

# The small program whose profile and trace the UI shows (tasks, regions,
# a known CPU split), and the generator of a million-event trace.
add_executable(web_prog web/web_prog.c)
target_link_libraries(web_prog PRIVATE cprof)
target_compile_options(web_prog PRIVATE -O1 -g -fno-omit-frame-pointer -fno-inline)
set_target_properties(web_prog PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
add_executable(web_gen web/web_gen.c)
target_include_directories(web_gen PRIVATE ${PROJECT_SOURCE_DIR}/src/format)
set_target_properties(web_gen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

# Bad flags, files and requests: one-line errors, 4xx answers, no crash.
add_test(NAME web-bad-input COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/web/test-web-bad.sh)
set_tests_properties(web-bad-input PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 120
                     LABELS "web;sanitize;tsan")

find_program(CPROF_NODE node)
if(NOT CPROF_NODE)
  message(WARNING "node not found (apt-get install nodejs): the web UI's browser tests are not run")
  return()
endif()
function(cprof_web_test name timeout)
  add_test(NAME web-${name} COMMAND ${CPROF_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/web/web-test.js ${name})
  set_tests_properties(web-${name} PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT ${timeout}
                       SKIP_RETURN_CODE 77 LABELS "web;${ARGN}")
endfunction()
cprof_web_test(profile 300 sanitize)
cprof_web_test(diff 180 sanitize)
cprof_web_test(run 300)
cprof_web_test(trace 300 sanitize)
# Time to first render of a 100,000-sample profile and a million-event trace
# (docs/performance.md, "Web UI"); fails only when a view is not drawn at all.
cprof_web_test(perf 600)
set_tests_properties(web-perf PROPERTIES RUN_SERIAL TRUE)
