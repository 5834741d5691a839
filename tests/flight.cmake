# tests/flight.cmake: the flight recorder's tests (label "flight"): the
# programs in workloads/flight_gt.c drive cprof_flight_* (linked) or run
# under `cprof run -flightrecorder`; every snapshot is checked by
# workloads/flight_check.c, a record walker of its own (not the tool's
# reader), and by `cprof trace summary` where the tool reads it.

add_executable(flight_gt workloads/flight_gt.c)
target_link_libraries(flight_gt PRIVATE cprof Threads::Threads)
target_compile_options(flight_gt PRIVATE -O2)
set_target_properties(flight_gt PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

# Two builds of one library, alike but for its function's name (plugin mode).
foreach(which a b)
  add_library(cprof_flight_plugin_${which} MODULE workloads/flight_plugin.c)
  target_compile_definitions(cprof_flight_plugin_${which} PRIVATE PLUGIN_WAIT=plugin_wait_${which})
  target_compile_options(cprof_flight_plugin_${which} PRIVATE -O2 -g)
  set_target_properties(cprof_flight_plugin_${which} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
endforeach()
target_link_libraries(flight_gt PRIVATE ${CMAKE_DL_LIBS})

add_executable(flight_check workloads/flight_check.c)
target_include_directories(flight_check PRIVATE ${PROJECT_SOURCE_DIR}/src/format)
target_compile_options(flight_check PRIVATE -O2)
set_target_properties(flight_check PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

function(cprof_flight_test name timeout script)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
  set(env ${CPROF_TEST_ENV})
  if(TARGET filesearch)
    list(APPEND env "FILESEARCH=$<TARGET_FILE:filesearch>"
         "FILESEARCH_LOAD=$<TARGET_FILE:filesearch-load>")
  endif()
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}" TIMEOUT ${timeout}
                       LABELS flight SKIP_RETURN_CODE 77)
endfunction()

# >= 2 s of the other threads' history around a slow region's trigger.
cprof_flight_test(flight-history 120 test-flight-history.sh)
# Millions of events into a 1 MiB ring: the snapshot and VmRSS stay bounded.
cprof_flight_test(flight-flood 180 test-flight-flood.sh)
# 20 snapshots while 8 threads write; one snapshot per min_age in a storm.
cprof_flight_test(flight-many 120 test-flight-many.sh)
cprof_flight_test(flight-storm 120 test-flight-storm.sh)
# Triggers fire on the real duration: under the threshold no file, over it one.
cprof_flight_test(flight-threshold 120 test-flight-threshold.sh)
# No hole before a snapshot's end: a counting writer's logs run unbroken.
cprof_flight_test(flight-gap 120 test-flight-gap.sh)
# Symbols kept across snapshots are forgotten when a library is unloaded.
cprof_flight_test(flight-plugin 60 test-flight-plugin.sh)
# Snapshots while another thread forks; bad arguments and racing snapshots.
cprof_flight_test(flight-fork 120 test-flight-fork.sh)
cprof_flight_test(flight-bad 120 test-flight-bad.sh)
# cprof run: -flightsignal=USR2 and /debug/pprof/flightrecorder.
cprof_flight_test(flight-signal-http 120 test-flight-signal-http.sh)
# The demo: the slow filesearch under load writes a snapshot by itself.
cprof_flight_test(flight-demo 300 test-flight-demo.sh)
