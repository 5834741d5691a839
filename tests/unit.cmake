# Unit tests of runtime parts that can be linked alone (and so can run under
# the sanitizers, unlike the preloaded agent).
add_executable(test-samples test-samples.c ${PROJECT_SOURCE_DIR}/src/runtime/samples.c)
target_include_directories(test-samples PRIVATE ${PROJECT_SOURCE_DIR}/src/runtime ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test-samples PRIVATE Threads::Threads)
target_compile_options(test-samples PRIVATE ${CPROF_SAN_FLAGS})
target_link_options(test-samples PRIVATE ${CPROF_SAN_FLAGS})
set_target_properties(test-samples PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
add_test(NAME unit-samples COMMAND test-samples)
set_tests_properties(unit-samples PROPERTIES LABELS "unit;sanitize;tsan" TIMEOUT 60)

# Profiles written through links and FIFOs, which must stay what they are.
add_test(NAME write-special COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-write-special.sh)
set_tests_properties(write-special PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 60
                     LABELS "runtime")

# The installed layout: tool, libraries, header and pkg-config file work together.
add_test(NAME install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-install.sh)
set_tests_properties(install PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 300
                     LABELS "runtime")
