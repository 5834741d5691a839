# tests/bench.cmake: the benchmark harness (cprof/bench.h), `cprof benchstat`
# and `cprof doctor` (label "benchstat"). Programs go to ${CPROF_TEST_DIR},
# where the scripts find them through $CPROF_TEST_BIN. The harness lives in
# the uninstrumented libcprof, so its test program is built without the
# sanitizers; the tool's tests (benchstat, doctor) run again, instrumented,
# in the sanitizer builds (label "sanitize").

# Benchmarks with known answers. -fno-builtin: every malloc/free stays a call.
add_executable(test-bench-harness test-bench-harness.c)
target_link_libraries(test-bench-harness PRIVATE cprof Threads::Threads)
target_compile_options(test-bench-harness PRIVATE -O2 -g -fno-builtin)
set_target_properties(test-bench-harness PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

function(cprof_bench_test name timeout labels script)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT ${timeout}
                       LABELS "${labels}" SKIP_RETURN_CODE 77)
endfunction()

cprof_bench_test(bench-harness 300 "benchstat;sanitize" test-bench-harness.sh)

# cprof doctor: one program, built every way doctor must tell apart.
#   doctor-g-fp      -g, frame pointers            (all there)
#   doctor-nog-nofp  no -g, no frame pointers      (names, but no DWARF, no fp)
#   doctor-stripped  -g and frame pointers, then stripped (nothing but .dynsym)
#   doctor-debuglink stripped, its symbols and DWARF kept in a .debug file
#                    named by .gnu_debuglink
#   doctor-static    -static, when libc.a is installed
function(cprof_doctor_target name)
  add_executable(${name} test-doctor-target.c)
  target_compile_options(${name} PRIVATE -O2 ${ARGN})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
endfunction()
cprof_doctor_target(doctor-g-fp -g -fno-omit-frame-pointer)
cprof_doctor_target(doctor-nog-nofp -g0 -fomit-frame-pointer)
cprof_doctor_target(doctor-stripped -g -fno-omit-frame-pointer)
add_custom_command(TARGET doctor-stripped POST_BUILD
  COMMAND ${CMAKE_STRIP} --strip-all $<TARGET_FILE:doctor-stripped>)
cprof_doctor_target(doctor-debuglink -g -fno-omit-frame-pointer)
add_custom_command(TARGET doctor-debuglink POST_BUILD
  COMMAND ${CMAKE_OBJCOPY} --only-keep-debug $<TARGET_FILE:doctor-debuglink>
          $<TARGET_FILE:doctor-debuglink>.debug
  COMMAND ${CMAKE_STRIP} --strip-all $<TARGET_FILE:doctor-debuglink>
  COMMAND ${CMAKE_OBJCOPY} --add-gnu-debuglink=$<TARGET_FILE:doctor-debuglink>.debug
          $<TARGET_FILE:doctor-debuglink>
  WORKING_DIRECTORY ${CPROF_TEST_DIR})
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_LINK_OPTIONS -static)
check_c_source_compiles("int main(void) { return 0; }" CPROF_HAVE_STATIC_LIBC)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(CPROF_HAVE_STATIC_LIBC)
  cprof_doctor_target(doctor-static -g -fno-omit-frame-pointer)
  target_link_options(doctor-static PRIVATE -static)
endif()

cprof_bench_test(benchstat 120 "benchstat;sanitize" test-benchstat.sh)
cprof_bench_test(benchstat-go 300 "benchstat;sanitize" test-benchstat-go.sh)
cprof_bench_test(doctor 300 "benchstat;sanitize" test-doctor.sh)
set_tests_properties(doctor PROPERTIES ENVIRONMENT
  "${CPROF_TEST_ENV};CPROF_HAVE_STATIC_LIBC=${CPROF_HAVE_STATIC_LIBC}")

# The demo benchmarks run once each, when bench/ is built.
if(CPROF_BUILD_BENCH)
  add_test(NAME bench-filesearch COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test-bench-filesearch.sh
           $<TARGET_FILE:bench_filesearch>)
  set_tests_properties(bench-filesearch PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT 300
                       LABELS benchstat)
endif()
