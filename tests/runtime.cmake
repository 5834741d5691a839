# tests/runtime.cmake: the CPU profiler runtime's tests (label "runtime").
# Workload programs and test programs go to ${CPROF_TEST_DIR}, where the
# scripts find them through $CPROF_TEST_BIN.

function(cprof_runtime_workload name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
endfunction()

# The ground truth, built twice: the frame-pointer-less copy is what catches
# an unwinder that silently relies on rbp chains.
cprof_runtime_workload(cpusplit_fp workloads/cpusplit.c)
target_compile_options(cpusplit_fp PRIVATE -O2 -fno-omit-frame-pointer)
cprof_runtime_workload(cpusplit_nofp workloads/cpusplit.c)
target_compile_options(cpusplit_nofp PRIVATE -O2 -fomit-frame-pointer)

# The hostile programs (see workloads/stress.c) and the library they load.
cprof_runtime_workload(stress workloads/stress.c)
add_library(cprof_dlwork MODULE workloads/dlwork.c)
set_target_properties(cprof_dlwork PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

# The linked API (labels, start/stop, errors): a program linked with libcprof.
add_executable(test-cpu-api test-cpu-api.c)
target_link_libraries(test-cpu-api PRIVATE cprof Threads::Threads)
set_target_properties(test-cpu-api PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})

# ---- Tests ---------------------------------------------------------------------
# Each script sources tests/lib.sh; CPROF_TEST_ENV tells it where everything is.
function(cprof_runtime_test name timeout script)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT ${timeout}
                       LABELS runtime)
endfunction()

# Ground truth: 3:1 split, sample counts, whole stacks; both builds, both engines.
# The timer engine's signals come at the kernel's tick, and in lumps when the
# CPU is contended (measured: 40 to 106 signals instead of 150 for 1.5 s of
# CPU at 100 Hz beside four busy loops): its tests run alone, so that at
# least this suite's own tests do not contend with them, and report
# themselves skipped when other processes did (see test-cpu-split.sh).
foreach(build fp nofp)
  foreach(engine perf timer)
    cprof_runtime_test(runtime-cpu-split-${build}-${engine} 240 test-cpu-split.sh ${build} ${engine})
  endforeach()
  set_tests_properties(runtime-cpu-split-${build}-timer PROPERTIES RUN_SERIAL TRUE
                       SKIP_RETURN_CODE 77)
endforeach()

cprof_runtime_test(runtime-cpu-labels 120 test-cpu-labels.sh)

# Hostile programs at 1000 Hz. The fork cases concern perf events (shared
# with children through inherited descriptors); the rest run on both engines.
foreach(mode threads dlopen dlclose forkexec forkwork exitthread sigprof storm)
  cprof_runtime_test(runtime-cpu-stress-${mode} 120 test-cpu-stress.sh ${mode} perf)
endforeach()
foreach(mode threads dlopen exitthread storm)
  cprof_runtime_test(runtime-cpu-stress-${mode}-timer 120 test-cpu-stress.sh ${mode} timer)
endforeach()

cprof_runtime_test(runtime-run-signals 120 test-run-signals.sh)
cprof_runtime_test(runtime-run-badinput 60 test-run-badinput.sh)
cprof_runtime_test(runtime-run-status 60 test-run-status.sh)
