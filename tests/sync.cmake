# tests/sync.cmake: the threads, mutex, block and wall-clock profiles (label
# "sync"). Workloads go to ${CPROF_TEST_DIR}, where the scripts find them
# through $CPROF_TEST_BIN; every script sources lib.sh and test-sync-lib.sh.

# Plain programs: cprof is preloaded by `cprof run`.
function(cprof_sync_workload name)
  add_executable(${name} workloads/${name}.c)
  target_link_libraries(${name} PRIVATE Threads::Threads)
  target_compile_options(${name} PRIVATE -O2 -g)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
endfunction()

# Programs that call the linked API (thread dumps, threadcreate). They run
# bare too: what a program linked with libcprof gets without `cprof run`.
function(cprof_sync_linked_workload name)
  cprof_sync_workload(${name})
  target_link_libraries(${name} PRIVATE cprof)
endfunction()

cprof_sync_workload(sync_truth)
cprof_sync_workload(sync_many)
target_link_libraries(sync_many PRIVATE m)
cprof_sync_workload(sync_semantics)
cprof_sync_workload(wall_half)
cprof_sync_linked_workload(threads_dump)
cprof_sync_linked_workload(threads_create)
cprof_sync_linked_workload(threads_churn)
cprof_sync_linked_workload(threads_eintr)

function(cprof_sync_test name timeout script)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${CPROF_TEST_ENV}" TIMEOUT ${timeout}
                       LABELS sync)
endfunction()

# 1. Ground truth: delay charged to the holder (mutex) and the waiters (block).
cprof_sync_test(sync-truth 180 test-sync-truth.sh)
# 2. Sampling: 1 in 10 mutex waits, block rate 1 ms, against the exact run.
cprof_sync_test(sync-sampling 400 test-sync-sampling.sh)
# 3. Wall clock: half running, half sleeping; a thread stuck on a mutex.
cprof_sync_test(wall-half-100 180 test-wall-half.sh 100)
cprof_sync_test(wall-half-1000 180 test-wall-half.sh 1000)
# 4. Thread dumps (debug 0, 1, 2) of named threads in known places, under
#    `cprof run` and in a linked program with no profile on.
cprof_sync_test(threads-dump-run 120 test-threads-dump.sh run)
cprof_sync_test(threads-dump-linked 120 test-threads-dump.sh linked)
# 5. threadcreate: 50 and 3 threads from two functions.
cprof_sync_test(threads-create-run 60 test-threads-create.sh run)
cprof_sync_test(threads-create-linked 60 test-threads-create.sh linked)
# 6. Stress: churn under dumps and the wall profiler at 1000 Hz; no EINTR.
cprof_sync_test(threads-stress-churn 180 test-threads-stress.sh churn)
cprof_sync_test(threads-stress-eintr 180 test-threads-stress.sh eintr)
cprof_sync_test(threads-stress-eintr-slices 180 test-threads-stress.sh eintr-slices)
# 7. Return values and errno of every wrapped call, with cprof watching.
cprof_sync_test(sync-semantics 180 test-sync-semantics.sh)
