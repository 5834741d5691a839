// go_trace_anchor: the anchor of the tracer's cost target, Go's own tracer,
// measured on the machine that runs bench_trace (scripts/bench-trace.sh runs
// both): ns per trace.StartRegion+End pair and per trace.Logf, with tracing
// off and with runtime/trace writing to /dev/null. Standard library only, so
// Debian's golang-go runs it offline: go run bench/go_trace_anchor/main.go
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"testing"
)

func perOp(r testing.BenchmarkResult) float64 {
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

func main() {
	ctx := context.Background()
	region := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			trace.StartRegion(ctx, "bench").End()
		}
	}
	logf := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			trace.Logf(ctx, "bench", "item %d", i)
		}
	}
	regionOff, logOff := testing.Benchmark(region), testing.Benchmark(logf)
	devnull, err := os.Create(os.DevNull)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_trace_anchor:", err)
		os.Exit(1)
	}
	if err := trace.Start(devnull); err != nil {
		fmt.Fprintln(os.Stderr, "go_trace_anchor:", err)
		os.Exit(1)
	}
	regionOn, logOn := testing.Benchmark(region), testing.Benchmark(logf)
	trace.Stop()
	fmt.Printf("| Go %s runtime/trace | off (ns/op) | on (ns/op) | added per event (ns) |\n",
		runtime.Version())
	fmt.Println("| --- | --- | --- | --- |")
	fmt.Printf("| StartRegion+End | %.1f | %.1f | %.1f |\n", perOp(regionOff), perOp(regionOn),
		(perOp(regionOn)-perOp(regionOff))/2)
	fmt.Printf("| Logf | %.1f | %.1f | %.1f |\n", perOp(logOff), perOp(logOn),
		perOp(logOn)-perOp(logOff))
}
