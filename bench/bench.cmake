# bench/bench.cmake: benchmark programs, run by scripts/bench.sh (not by ctest).
# Included by bench/CMakeLists.txt. Each program is built twice: with frame
# pointers (the project default) and without (-fomit-frame-pointer, as
# Debian's own libraries are built), suffixes _fp and _nofp.

# The CPU profiling workload: plain C, no cprof linked (it is preloaded).
foreach(variant fp nofp)
  add_executable(cpu_workload_${variant} ${CMAKE_CURRENT_LIST_DIR}/cpu_workload.c)
  target_link_libraries(cpu_workload_${variant} PRIVATE Threads::Threads)
  target_compile_options(cpu_workload_${variant} PRIVATE -O2 -g)
  if(variant STREQUAL "nofp")
    target_compile_options(cpu_workload_${variant} PRIVATE -fomit-frame-pointer)
  endif()
endforeach()

# The cost of one sample's unwind + record, against the runtime's internals
# (unwind.c, samples.c, threads.c). glibc_private.c: see its header.
foreach(variant fp nofp)
  add_executable(bench_sample_${variant} ${CMAKE_CURRENT_LIST_DIR}/bench_sample.c
                                         ${CMAKE_CURRENT_LIST_DIR}/glibc_private.c)
  target_include_directories(bench_sample_${variant} PRIVATE ${PROJECT_SOURCE_DIR}/src/runtime)
  target_compile_definitions(bench_sample_${variant} PRIVATE _GNU_SOURCE)
  target_link_libraries(bench_sample_${variant} PRIVATE cprof_static)
  target_compile_options(bench_sample_${variant} PRIVATE -O2 -g)
  if(variant STREQUAL "nofp")
    target_compile_options(bench_sample_${variant} PRIVATE -fomit-frame-pointer)
  endif()
endforeach()

add_custom_target(cprof_bench DEPENDS cpu_workload_fp cpu_workload_nofp bench_sample_fp
                                      bench_sample_nofp)

# ---- Heap profiling (scripts/bench-heap.sh) -------------------------------------------------
# bench_heap: the malloc-heavy workload and the malloc/free pair loop. No
# cprof linked (it is preloaded); -fno-builtin keeps every malloc/free a call.
add_executable(bench_heap ${CMAKE_CURRENT_LIST_DIR}/bench_heap.c)
target_link_libraries(bench_heap PRIVATE Threads::Threads)
target_compile_options(bench_heap PRIVATE -O2 -g -fno-builtin)
add_custom_target(cprof_bench_heap DEPENDS bench_heap)

# ---- Benchmark harness demo: filesearch's search, slow and fixed (cprof/bench.h) ------------
# bench_filesearch: BenchmarkSearchSlow and BenchmarkSearchFixed (and
# BenchmarkSearch, with the fixes FILESEARCH_FIX names) over a
# generated corpus, linked with the demo's search sources and libcprof (the
# harness). Run: build/bin/bench_filesearch -bench=. -count=10 -benchmem.
set(CPROF_FILESEARCH_DIR ${PROJECT_SOURCE_DIR}/examples/filesearch)
add_executable(bench_filesearch ${CMAKE_CURRENT_LIST_DIR}/bench_filesearch.c
  ${CPROF_FILESEARCH_DIR}/search_common.c ${CPROF_FILESEARCH_DIR}/search_slow.c
  ${CPROF_FILESEARCH_DIR}/search_planted.c
  ${CPROF_FILESEARCH_DIR}/search_fixed.c ${CPROF_FILESEARCH_DIR}/pool.c)
target_include_directories(bench_filesearch PRIVATE ${CPROF_FILESEARCH_DIR})
target_compile_definitions(bench_filesearch PRIVATE _GNU_SOURCE)
target_compile_options(bench_filesearch PRIVATE -O2 -g)
target_link_libraries(bench_filesearch PRIVATE cprof Threads::Threads)

# ---- Threads, mutex, block and wall-clock profiles (scripts/bench-sync.sh) -------------------
# bench_sync: the uncontended lock/unlock pair, a contended mutex, thread
# dumps of N idle threads, and N idle threads under the wall-clock profiler.
# No cprof linked: it is preloaded (the dump is found with dlsym).
add_executable(bench_sync ${CMAKE_CURRENT_LIST_DIR}/bench_sync.c)
target_link_libraries(bench_sync PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
target_compile_options(bench_sync PRIVATE -O2 -g)
add_custom_target(cprof_bench_sync DEPENDS bench_sync cprof)
