# tests/heap.cmake: the heap profiler's and leak checker's tests (label
# "heap"). Workloads and test programs go to ${CPROF_TEST_DIR}, where the
# scripts find them through $CPROF_TEST_BIN. Everything that allocates on
# purpose is built with -fno-builtin, so that the compiler cannot remove a
# malloc/free (or new/delete) pair.

function(cprof_heap_workload name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE Threads::Threads)
  target_compile_options(${name} PRIVATE -O2 -g -fno-builtin)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CPROF_TEST_DIR})
endfunction()

# heapgt: the issue's ground truth (another fragment may build it too).
if(NOT TARGET heapgt)
  cprof_heap_workload(heapgt workloads/heapgt.c)
endif()
cprof_heap_workload(heap_churn workloads/heap_churn.c)
cprof_heap_workload(heap_leak_cycle workloads/heap_leak_cycle.c)
cprof_heap_workload(heap_leak_roots workloads/heap_leak_roots.c)
cprof_heap_workload(heap_leak_interior workloads/heap_leak_interior.c)
cprof_heap_workload(heap_leak_churn workloads/heap_leak_churn.c)
cprof_heap_workload(heap_cxx workloads/heap_cxx.cpp)

# The corners of the malloc family, linked with libcprof for its API.
cprof_heap_workload(test-heap-edge test-heap-edge.c)
target_include_directories(test-heap-edge PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test-heap-edge PRIVATE cprof)

function(cprof_heap_test name timeout script)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS "heap" ENVIRONMENT "${CPROF_TEST_ENV}"
                       TIMEOUT ${timeout} SKIP_RETURN_CODE 77)
endfunction()

# 1. Exact figures at rate 1 (heapgt, churn on 1 and 4 threads).
cprof_heap_test(heap-exact 120 test-heap-exact.sh 1)
cprof_heap_test(heap-exact-4threads 120 test-heap-exact.sh 4)
# 2. Estimates at the default rate.
cprof_heap_test(heap-sampled 180 test-heap-sampled.sh 1)
cprof_heap_test(heap-sampled-4threads 180 test-heap-sampled.sh 4)
# 3. The leak checker against valgrind, and its exit status and suppressions.
foreach(prog heapgt heap_leak_cycle heap_leak_roots heap_leak_interior heap_leak_churn)
  cprof_heap_test(leak-valgrind-${prog} 300 test-leak-valgrind.sh ${prog})
endforeach()
cprof_heap_test(leak-status 180 test-leak-status.sh)
# 4. Corners, each in a test of its own so that a failure names it.
foreach(mode realloc align calloc boot freenull reallocarray usable tag tcmalloc xthread api cxx own)
  cprof_heap_test(heap-edge-${mode} 120 test-heap-edge.sh ${mode})
endforeach()
foreach(mode fork fork-leakcheck signal signal-default)
  cprof_heap_test(heap-edge-${mode} 300 test-heap-edge.sh ${mode})
endforeach()
