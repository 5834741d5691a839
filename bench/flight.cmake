# The flight recorder: the time to write a snapshot of a full ring and the
# resident memory against max_bytes (bench_flight.c; scripts/bench-flight.sh).
add_executable(bench_flight ${CMAKE_CURRENT_LIST_DIR}/bench_flight.c)
target_link_libraries(bench_flight PRIVATE cprof Threads::Threads)
target_compile_options(bench_flight PRIVATE -O2 -g)
