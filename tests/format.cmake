# Tests of src/format: the pprof builder and reader.

# A test program linked with the format code (sanitized when CPROF_SANITIZE is set).
function(cprof_format_test_program name)
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c)
  target_link_libraries(${name} PRIVATE cprof_format_tool)
  target_compile_options(${name} PRIVATE ${CPROF_SAN_FLAGS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
endfunction()

# Builder → encoder → reader: every field back, interning, determinism,
# atomic writes, 100k locations, and every malformed input the reader rejects.
cprof_format_test_program(test-pprof-roundtrip)
add_test(NAME pprof-roundtrip COMMAND test-pprof-roundtrip)
set_tests_properties(pprof-roundtrip PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 120)

# Writes the synthetic profiles the shell tests use (tool.cmake, fuzz.cmake).
cprof_format_test_program(test-pprof-write)

# Profiles from our builder read by a reader nobody here wrote: go tool pprof.
add_test(NAME pprof-go-raw
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test-top-go.sh raw)
set_tests_properties(pprof-go-raw PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 300
                     SKIP_RETURN_CODE 77)
