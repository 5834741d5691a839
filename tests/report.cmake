# Tests of the reports: cprof list, peek, flame, folded, dot, diff, explain
# (and the filters every report shares). Golden outputs live in
# tests/golden/report/. All of them exercise the tool, so they run again in
# the sanitizer builds (label sanitize).
foreach(t golden flame bad go)
  add_test(NAME report-${t} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-report-${t}.sh)
  set_tests_properties(report-${t} PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 300
                       LABELS "report;sanitize" SKIP_RETURN_CODE 77)
endforeach()

# explain finds the filesearch demo's planted problems, from its live endpoint.
if(TARGET filesearch AND TARGET filesearch-load)
  add_test(NAME report-explain-filesearch
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test-report-explain.sh)
  set_tests_properties(report-explain-filesearch PROPERTIES
    ENVIRONMENT "${CPROF_TEST_ENV};FILESEARCH=$<TARGET_FILE:filesearch>;FILESEARCH_LOAD=$<TARGET_FILE:filesearch-load>"
    TIMEOUT 300 LABELS "report;sanitize" RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endif()
