# Tests of the cprof command's reports. The scripts get CPROF (the tool) and
# CPROF_TEST_BIN (where test-pprof-write is) from CPROF_TEST_ENV.

# Known numbers in, the exact text out (columns, percentages, units).
add_test(NAME top-golden COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-top-golden.sh)
set_tests_properties(top-golden PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 120)

# Every kind of bad input: one "cprof:" line on stderr, non-zero exit, no crash.
add_test(NAME top-bad-input COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-top-bad.sh)
set_tests_properties(top-bad-input PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 120)

# cprof top and go tool pprof -top agree on our profiles.
add_test(NAME top-go-agree COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-top-go.sh top)
set_tests_properties(top-go-agree PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 300
                     SKIP_RETURN_CODE 77)

# Profiles written by Go's runtime/pprof, read by cprof top.
add_test(NAME top-go-profiles COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-top-gohog.sh)
set_tests_properties(top-go-profiles PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 300
                     SKIP_RETURN_CODE 77)
