# Fuzzing the pprof reader (libFuzzer; clang only). Configure with
# -DCPROF_FUZZ=ON and CC=clang, or run scripts/fuzz.sh.
if(NOT CPROF_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "CPROF_FUZZ needs clang (CC=clang); the fuzz targets are not built")
  return()
endif()

set(CPROF_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)

# The reader compiled here with the fuzzer's instrumentation, whatever
# CPROF_SANITIZE says; profile.pb-c.c is generated in src/format.
set(CPROF_PB_C ${PROJECT_BINARY_DIR}/src/format/profile.pb-c.c)
add_executable(fuzz_pprof_read
  ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_pprof_read.c
  ${PROJECT_SOURCE_DIR}/src/format/pprof_read.c
  ${PROJECT_SOURCE_DIR}/src/format/file_read.c
  ${CPROF_PB_C})
add_dependencies(fuzz_pprof_read cprof_format_tool)
target_include_directories(fuzz_pprof_read PRIVATE ${PROJECT_SOURCE_DIR}/src/format
                           ${PROJECT_BINARY_DIR}/src/format)
target_compile_options(fuzz_pprof_read PRIVATE ${CPROF_FUZZ_FLAGS})
target_link_options(fuzz_pprof_read PRIVATE ${CPROF_FUZZ_FLAGS})
target_link_libraries(fuzz_pprof_read PRIVATE PkgConfig::PROTOBUFC PkgConfig::ZLIB)
set_target_properties(fuzz_pprof_read PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

# A short run on a seed corpus of valid profiles from the builder (gzip'd and
# plain); scripts/fuzz.sh runs longer. CPROF_FUZZ_SECONDS overrides the time.
set(CPROF_FUZZ_CORPUS ${CPROF_TEST_DIR}/fuzz-pprof-corpus)
add_test(NAME fuzz-pprof-read
  COMMAND sh -c "set -e
    mkdir -p '${CPROF_FUZZ_CORPUS}' '${CPROF_TEST_DIR}/fuzz-artifacts'
    for k in golden heap labels; do
      '${CPROF_TEST_DIR}/test-pprof-write' $k '${CPROF_FUZZ_CORPUS}/seed-$k.pb.gz'
      gzip -dc '${CPROF_FUZZ_CORPUS}/seed-$k.pb.gz' >'${CPROF_FUZZ_CORPUS}/seed-$k.pb'
    done
    exec '$<TARGET_FILE:fuzz_pprof_read>' -max_total_time=\${CPROF_FUZZ_SECONDS:-20} \
      -max_len=16384 -timeout=10 -rss_limit_mb=4096 \
      -artifact_prefix='${CPROF_TEST_DIR}/fuzz-artifacts/' '${CPROF_FUZZ_CORPUS}'")
set_tests_properties(fuzz-pprof-read PROPERTIES TIMEOUT 600)

# The trace reader, the same way. Seeds: hand-made files from test-trace-read
# and real traces from the ground-truth program (tests/trace.cmake).
add_executable(fuzz_trace_read
  ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_trace_read.c
  ${PROJECT_SOURCE_DIR}/src/format/trace_read.c
  ${PROJECT_SOURCE_DIR}/src/format/file_read.c)
target_include_directories(fuzz_trace_read PRIVATE ${PROJECT_SOURCE_DIR}/src/format)
target_compile_options(fuzz_trace_read PRIVATE ${CPROF_FUZZ_FLAGS})
target_link_options(fuzz_trace_read PRIVATE ${CPROF_FUZZ_FLAGS})
set_target_properties(fuzz_trace_read PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

set(CPROF_FUZZ_TRACE_CORPUS ${CPROF_TEST_DIR}/fuzz-trace-corpus)
add_test(NAME fuzz-trace-read
  COMMAND sh -c "set -e
    mkdir -p '${CPROF_FUZZ_TRACE_CORPUS}' '${CPROF_TEST_DIR}/fuzz-artifacts'
    '${CPROF_TEST_DIR}/test-trace-read' seeds '${CPROF_FUZZ_TRACE_CORPUS}'
    '${CPROF_TEST_DIR}/trace_gt' multi '${CPROF_FUZZ_TRACE_CORPUS}/seed-multi' 2 >/dev/null
    exec '$<TARGET_FILE:fuzz_trace_read>' -max_total_time=\${CPROF_FUZZ_SECONDS:-20} \
      -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
      -artifact_prefix='${CPROF_TEST_DIR}/fuzz-artifacts/' '${CPROF_FUZZ_TRACE_CORPUS}'")
set_tests_properties(fuzz-trace-read PROPERTIES TIMEOUT 600)
set_property(TEST fuzz-trace-read APPEND PROPERTY LABELS fuzz)
