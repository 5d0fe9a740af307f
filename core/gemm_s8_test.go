package core

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// s8Paths names the int8 paths this CPU can run.
func s8Paths() []string {
	if s8DotAsm != nil {
		return []string{"portable", "vnni"}
	}
	return []string{"portable"}
}

// useS8Path forces gemmS8 onto path until the returned function restores
// the kernels.
func useS8Path(path string) (restore func()) {
	dot, dot4x4, sum, pack, kern, gemv := s8DotAsm, s8Dot4x4Asm, sumS8Asm, s8PackAsm, s8KernelAsm, s8GemvAsm
	if path == "portable" {
		s8DotAsm, s8Dot4x4Asm, sumS8Asm, s8PackAsm, s8KernelAsm, s8GemvAsm = nil, nil, nil, nil, nil, nil
	}
	return func() {
		s8DotAsm, s8Dot4x4Asm, sumS8Asm, s8PackAsm, s8KernelAsm, s8GemvAsm = dot, dot4x4, sum, pack, kern, gemv
	}
}

// withS8Paths runs f on every int8 path this CPU can run.
func withS8Paths(t *testing.T, f func(t *testing.T)) {
	for _, path := range s8Paths() {
		t.Run(path, func(t *testing.T) {
			defer useS8Path(path)()
			f(t)
		})
	}
}

// checkGemmS8 runs gemmS8 and compares it with an int64 reference, and
// checks that C's stride padding is untouched. Where the VNNI kernels run,
// it also checks gemmS8Pre with B packed beforehand, into dirty storage.
func checkGemmS8(t *testing.T, m, n, k, pad int, a, b []int8) {
	t.Helper()
	lda, ldb := max(k, 1)+pad, max(k, 1)+pad
	checkGemmS8Result(t, m, n, k, pad, a, b, func(c []int32, ldc int) { gemmS8(m, n, k, a, lda, b, ldb, c, ldc) })
	if s8PackAsm != nil && n > 0 {
		dirty := make([]byte, s8PackedLen(n, k))
		for i := range dirty {
			dirty[i] = 0x5a
		}
		pb := packS8(dirty, n, k, b, ldb)
		checkGemmS8Result(t, m, n, k, pad, a, b, func(c []int32, ldc int) { gemmS8Pre(m, n, k, a, lda, b, ldb, pb, c, ldc) })
	}
}

func checkGemmS8Result(t *testing.T, m, n, k, pad int, a, b []int8, run func(c []int32, ldc int)) {
	t.Helper()
	lda, ldb, ldc := max(k, 1)+pad, max(k, 1)+pad, max(n, 1)+pad
	c := make([]int32, m*ldc)
	for i := range c {
		c[i] = -7 // overwritten inside, kept in the padding
	}
	run(c, ldc)
	for i := range m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= n {
				if got != -7 {
					t.Fatalf("m=%d n=%d k=%d: padding C[%d][%d] changed to %d", m, n, k, i, j, got)
				}
				continue
			}
			var want int64
			for q := range k {
				want += int64(a[i*lda+q]) * int64(b[j*ldb+q])
			}
			if int64(got) != want {
				t.Fatalf("m=%d n=%d k=%d pad=%d: C[%d][%d] = %d, want %d", m, n, k, pad, i, j, got, want)
			}
		}
	}
}

func TestGemmS8MatchesReference(t *testing.T) {
	withS8Paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		sizes := []int{0, 1, 3, 4, 5, 7, 8, 13, 63, 64, 65, 130, 784}
		for trial := range 200 {
			m, n, k := []int{1, 2, 5, 9, 32, 41}[r.IntN(6)], sizes[r.IntN(len(sizes))], sizes[r.IntN(len(sizes))]
			pad := r.IntN(3)
			a := make([]int8, m*(max(k, 1)+pad))
			b := make([]int8, n*(max(k, 1)+pad))
			for i := range a {
				a[i] = int8(r.IntN(256) - 128)
			}
			for i := range b {
				b[i] = int8(r.IntN(256) - 128)
			}
			if trial%10 == 0 { // the extremes
				for i := range a {
					a[i] = -128
				}
				for i := range b {
					b[i] = int8(127 - 255*(i%2))
				}
			}
			checkGemmS8(t, m, n, k, pad, a, b)
		}
	})
}

// TestGemmS8LongSums checks a k large enough that the kernel's offset sums
// (b+128)·a wrap around int32 while the true results still fit.
func TestGemmS8LongSums(t *testing.T) {
	withS8Paths(t, func(t *testing.T) {
		const k = 70000
		b := make([]int8, 5*k)
		for i := range b {
			b[i] = int8([]int{127, -128, 1, 0, -1}[i/k])
		}
		for _, m := range []int{1, 9, gemmS8PackMin + 1} { // every kernel
			a := make([]int8, m*k)
			for i := range a {
				a[i] = -128
			}
			checkGemmS8(t, m, 5, k, 0, a, b)
		}
	})
}

// BenchmarkGemmS8 times the int8 product on a dense layer's shapes for one
// sample and for a batch of 256, on each path, in GOP/s (2·m·n·k).
func BenchmarkGemmS8(b *testing.B) {
	for _, path := range s8Paths() {
		for _, d := range [][3]int{{1, 128, 64}, {1, 128, 784}, {256, 128, 64}, {256, 128, 784}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", path, d[0], d[1], d[2]), func(b *testing.B) {
				defer useS8Path(path)()
				m, n, k := d[0], d[1], d[2]
				r := rand.New(rand.NewPCG(1, 1))
				x, w := make([]int8, m*k), make([]int8, n*k)
				for i := range x {
					x[i] = int8(r.IntN(256) - 128)
				}
				for i := range w {
					w[i] = int8(r.IntN(256) - 128)
				}
				c := make([]int32, m*n)
				b.ReportAllocs()
				for b.Loop() {
					gemmS8(m, n, k, x, k, w, k, c, n)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
			})
		}
	}
}

// BenchmarkGemmS8Prepacked times gemmS8Pre with B packed beforehand, as a
// quantized layer runs it, for growing numbers of rows: it sets
// gemvS8RowsMax, where the 8×32 kernel overtakes one row at a time.
func BenchmarkGemmS8Prepacked(b *testing.B) {
	if s8PackAsm == nil {
		b.Skip("no VNNI")
	}
	for _, d := range [][2]int{{256, 784}, {128, 64}} {
		for _, m := range []int{1, 2, 3, 4, 8, 16, 256} {
			for _, rowsMax := range []int{0, 1 << 30} {
				kernel := map[int]string{0: "8x32", 1 << 30: "gemv"}[rowsMax]
				b.Run(fmt.Sprintf("%dx%dx%d/%s", m, d[0], d[1], kernel), func(b *testing.B) {
					defer func(old int) { gemvS8RowsMax = old }(gemvS8RowsMax)
					gemvS8RowsMax = rowsMax
					n, k := d[0], d[1]
					r := rand.New(rand.NewPCG(1, 1))
					x, w := make([]int8, m*k), make([]int8, n*k)
					for i := range x {
						x[i] = int8(r.IntN(256) - 128)
					}
					for i := range w {
						w[i] = int8(r.IntN(256) - 128)
					}
					pb := packS8(nil, n, k, w, k)
					c := make([]int32, m*n)
					b.ReportAllocs()
					for b.Loop() {
						gemmS8Pre(m, n, k, x, k, w, k, pb, c, n)
					}
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
				})
			}
		}
	}
}
