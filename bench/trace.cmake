# The tracer's hot path: ns per event, tracing on against off (bench_trace.c).
add_executable(bench_trace ${CMAKE_CURRENT_LIST_DIR}/bench_trace.c)
target_link_libraries(bench_trace PRIVATE cprof Threads::Threads)
target_compile_options(bench_trace PRIVATE -O2 -g)
