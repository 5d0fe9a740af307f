package core

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchGemm times gemm on an m×n×k product with fresh random operands and
// reports GFLOP/s (2·m·n·k floating-point operations per product).
func benchGemm(b *testing.B, transA, transB bool, m, n, k int) {
	r := rand.New(rand.NewPCG(1, 1))
	g := newGemmCase(r, transA, transB, m, n, k, 0, 1, 0)
	b.ReportAllocs()
	for b.Loop() {
		gemm(transA, transB, m, n, k, 1, g.a, g.lda, g.b, g.ldb, 0, g.c, g.ldc)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// withThreads runs f with gemm limited to the given number of goroutines.
func withThreads(threads int, f func()) {
	defer gemmMaxThreads.Store(gemmMaxThreads.Swap(int64(threads)))
	f()
}

// BenchmarkGemm512 is the acceptance product of issue 10: 512×512×512 on
// one core and on two.
func BenchmarkGemm512(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			withThreads(threads, func() { benchGemm(b, false, false, 512, 512, 512) })
		})
	}
}

// BenchmarkGemmKernels times each kernel this CPU supports on one core, on
// the square product and on the training shapes of BenchmarkGemm.
func BenchmarkGemmKernels(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"square_512", false, false, 512, 512, 512},
		{"fwd_64x128x784", false, true, 64, 128, 784},
		{"dW_128x784x64", true, false, 128, 784, 64},
		{"dX_64x784x128", false, false, 64, 784, 128},
	}
	for _, kern := range gemmKernels() {
		for _, s := range shapes {
			b.Run(kern.name+"/"+s.name, func(b *testing.B) {
				defer useKernel(kern)()
				withThreads(1, func() { benchGemm(b, s.tA, s.tB, s.m, s.n, s.k) })
			})
		}
	}
}

// BenchmarkGemmThreshold times cubes around gemmParallelMin with the split
// forced (threads=2) or prevented (threads=1), to place the threshold where
// the second core starts to pay.
func BenchmarkGemmThreshold(b *testing.B) {
	for _, size := range []int{128, 160, 192, 224, 256, 320, 384} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%d/threads=%d", size, threads), func(b *testing.B) {
				defer func(old int) { gemmParallelMin = old }(gemmParallelMin)
				gemmParallelMin = 1
				withThreads(threads, func() { benchGemm(b, false, false, size, size, size) })
			})
		}
	}
}

// BenchmarkGemmFewRows times products with few rows and a transposed B, the
// forward pass of a dense layer on a handful of samples, computed by
// dotRows and by the packed path, to place gemmDotRowsMax.
func BenchmarkGemmFewRows(b *testing.B) {
	for _, d := range [][2]int{{128, 64}, {10, 64}, {128, 784}} {
		for _, m := range []int{1, 2, 4, 8} {
			for _, way := range []string{"dot", "packed"} {
				b.Run(fmt.Sprintf("%dx%dx%d/%s", m, d[0], d[1], way), func(b *testing.B) {
					defer func(old int) { gemmDotRowsMax = old }(gemmDotRowsMax)
					gemmDotRowsMax = 0
					if way == "dot" {
						gemmDotRowsMax = m
					}
					benchGemm(b, false, true, m, d[0], d[1])
				})
			}
		}
	}
}
