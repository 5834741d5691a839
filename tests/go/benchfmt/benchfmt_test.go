// Package benchfmt exists so that Go's own testing package writes a
// benchmark file: tests/test-benchstat-go.sh runs `go test -bench=.` here
// (offline, standard library only) and checks that `cprof benchstat` reads
// what Go wrote. The benchmarks are small and deterministic in what they
// report besides time: an allocation of a known size per op, and a custom
// metric.
package benchfmt

import "testing"

var sink []byte

func BenchmarkAlloc(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sink = make([]byte, 1024)
	}
}

func BenchmarkMetric(b *testing.B) {
	x := 0
	for i := 0; i < b.N; i++ {
		x += i
	}
	b.ReportMetric(2.5, "widgets/op")
	_ = x
}

func BenchmarkSub(b *testing.B) {
	for _, size := range []int{16, 64} {
		b.Run(sizeName(size), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				sink = make([]byte, size)
			}
		})
	}
}

func sizeName(n int) string {
	if n == 16 {
		return "size=16"
	}
	return "size=64"
}
