package core

import (
	"math/rand/v2"
	"time"
)

// MeasureGEMM times core's float32 matrix product on an n×n×n product of
// random matrices with at most threads goroutines (≤ 0: GOMAXPROCS), for at
// least d after one warm-up product, and returns its speed in GFLOP/s
// (2n³ floating-point operations per product). It is what `optlab bench`
// reports. It sets the thread limit of every product while it runs, so
// run it alone.
func MeasureGEMM(n, threads int, d time.Duration) float64 {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	defer gemmMaxThreads.Store(gemmMaxThreads.Swap(int64(max(threads, 0))))
	gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	var reps int
	start := time.Now()
	for reps == 0 || time.Since(start) < d {
		gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		reps++
	}
	return 2 * float64(n) * float64(n) * float64(n) * float64(reps) / time.Since(start).Seconds() / 1e9
}
