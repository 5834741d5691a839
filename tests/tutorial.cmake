# tests/tutorial.cmake: docs/tutorial.md (and its Japanese twin), run command
# by command against the demo server, checking what the text says each step
# shows (test-tutorial.sh). It needs the demo and its benchmark; a build
# without them (the sanitizer builds) has no tutorial to run (bench/ is
# added after tests/: its targets are not known yet, only the option). It runs alone:
# it starts servers and puts load on them, which would slow the others.
if(TARGET filesearch AND CPROF_BUILD_BENCH)
  add_test(NAME tutorial COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test-tutorial.sh)
  set_tests_properties(tutorial PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 600
                       LABELS tutorial RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endif()
