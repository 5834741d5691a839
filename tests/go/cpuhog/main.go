// Command cpuhog writes a CPU profile and a heap profile with Go's own
// runtime/pprof, each dominated by one function of its own (main.hog for
// CPU, main.allocHog for live heap), so that cprof's tests can check that
// `cprof top` reads profiles that Go wrote. Standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// kept holds allocHog's memory live until the heap profile is written.
var kept [][]byte

// hog burns CPU for about d of CPU time in arithmetic the compiler cannot
// drop; the clock is read rarely so that the samples land in hog itself.
//
//go:noinline
func hog(d time.Duration) uint64 {
	x := uint64(1)
	for start := time.Now(); time.Since(start) < d; {
		for i := 0; i < 1000000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

// allocHog keeps 64 MiB live in 1 MiB blocks.
//
//go:noinline
func allocHog() {
	for i := 0; i < 64; i++ {
		kept = append(kept, make([]byte, 1<<20))
	}
}

func writeCPU(path string, d time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	x := hog(d)
	pprof.StopCPUProfile()
	fmt.Fprintf(os.Stderr, "cpuhog: %x\n", x&0xf)
	return f.Close()
}

func writeHeap(path string) error {
	allocHog()
	// The heap profile is as of the last GC.
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	runtime.KeepAlive(kept)
	return f.Close()
}

func main() {
	// Every allocation sampled: the test wants exact attribution.
	runtime.MemProfileRate = 1
	cpu := flag.String("cpu", "", "write a CPU profile to `file`")
	heap := flag.String("heap", "", "write a heap profile to `file`")
	d := flag.Duration("d", time.Second, "how long to burn CPU")
	flag.Parse()
	if *cpu != "" {
		if err := writeCPU(*cpu, *d); err != nil {
			fmt.Fprintln(os.Stderr, "cpuhog:", err)
			os.Exit(1)
		}
	}
	if *heap != "" {
		if err := writeHeap(*heap); err != nil {
			fmt.Fprintln(os.Stderr, "cpuhog:", err)
			os.Exit(1)
		}
	}
}
