package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// gemmCase is one product with stored operand shapes and strides.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	lda, ldb, ldc  int
	a, b, c        []float32
}

// newGemmCase fills A, B and C with values in [-1, 1) from r; pad is added
// to every stride so that rows are not tight.
func newGemmCase(r *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) *gemmCase {
	g := &gemmCase{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = max(ac, 1)+pad, max(bc, 1)+pad, max(n, 1)+pad
	fill := func(rows, stride int) []float32 {
		s := make([]float32, rows*stride)
		for i := range s {
			s[i] = float32(2*r.Float64() - 1)
		}
		return s
	}
	g.a, g.b, g.c = fill(ar, g.lda), fill(br, g.ldb), fill(m, g.ldc)
	return g
}

func (g *gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
}

// operands returns op(A) as m rows of k and op(B)ᵀ as n rows of k, in
// float64, so that every reference entry is a dot product of two rows.
func (g *gemmCase) operands() (a, bt []float64) {
	a, bt = make([]float64, g.m*g.k), make([]float64, g.n*g.k)
	for p := range g.k {
		for i := range g.m {
			if g.transA {
				a[i*g.k+p] = float64(g.a[p*g.lda+i])
			} else {
				a[i*g.k+p] = float64(g.a[i*g.lda+p])
			}
		}
		for j := range g.n {
			if g.transB {
				bt[j*g.k+p] = float64(g.b[j*g.ldb+p])
			} else {
				bt[j*g.k+p] = float64(g.b[p*g.ldb+j])
			}
		}
	}
	return a, bt
}

// check runs gemm on a copy of C and compares every entry with a float64
// reference. Rounding in a float32 sum of k products is bounded by
// k·u·Σ|a||b| (u = 2⁻²⁴, Higham's γ_k); scaling by alpha, adding beta·C and
// adding each k block's partial sum into C round at most 2k+2 more times, so
// the tolerance is 2(k+2)·u times the sum of the absolute terms. It also
// checks that A and B are unchanged and that C outside its m×n part (the
// stride padding) is untouched.
func (g *gemmCase) check(t *testing.T) {
	t.Helper()
	a0, b0 := slices.Clone(g.a), slices.Clone(g.b)
	c := slices.Clone(g.c)
	gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	if !slices.Equal(a0, g.a) || !slices.Equal(b0, g.b) {
		t.Fatalf("%v: gemm modified its inputs", g)
	}
	const u = 1.0 / (1 << 24)
	alpha, beta := float64(g.alpha), float64(g.beta)
	opA, opBT := g.operands()
	for i := range g.m {
		for j := range g.ldc {
			idx := i*g.ldc + j
			if j >= g.n {
				if math.Float32bits(c[idx]) != math.Float32bits(g.c[idx]) {
					t.Fatalf("%v: padding C[%d][%d] changed from %g to %g", g, i, j, g.c[idx], c[idx])
				}
				continue
			}
			var sum, abs float64
			for p, x := range opA[i*g.k : (i+1)*g.k] {
				v := x * opBT[j*g.k+p]
				sum += v
				abs += math.Abs(v)
			}
			want := alpha * sum
			bound := math.Abs(alpha) * abs
			if beta != 0 {
				want += beta * float64(g.c[idx])
				bound += math.Abs(beta * float64(g.c[idx]))
			}
			tol := 2*float64(g.k+2)*u*bound + 1e-30
			if got := float64(c[idx]); math.IsNaN(got) || math.Abs(got-want) > tol {
				t.Fatalf("%v: C[%d][%d] = %g, want %g ± %g", g, i, j, got, want, tol)
			}
		}
	}
}

// useKernel forces gemm onto kern until the returned function restores the
// previous state. The portable kernel also gets the portable packing loops,
// so that forcing it tests the build without assembly.
func useKernel(kern *gemmKernel) (restore func()) {
	oldKern, oldT8, oldCopy := gemmImpl, transpose8Asm, copyRowsAsm
	gemmImpl = kern
	if kern == gemmGeneric {
		transpose8Asm, copyRowsAsm = nil, nil
	}
	return func() { gemmImpl, transpose8Asm, copyRowsAsm = oldKern, oldT8, oldCopy }
}

// withKernel runs f once for every kernel this CPU supports, so the
// AVX-512, AVX2 and portable paths are all tested here.
func withKernel(t *testing.T, f func(t *testing.T)) {
	for _, kern := range gemmKernels() {
		t.Run(kern.name, func(t *testing.T) {
			defer useKernel(kern)()
			f(t)
		})
	}
}

func TestGemmMatchesReference(t *testing.T) {
	// Sizes around the tile edges of every kernel (4, 6, 8, 16, 32) and the
	// k blocking (256), plus 1 and 0.
	sizes := []int{0, 1, 2, 3, 5, 6, 7, 8, 9, 13, 16, 17, 31, 32, 33, 47, 64, 65}
	scalars := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2.5}, {2, -1}, {0, 0.5}}
	withKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for trial := range 200 {
			m, n, k := sizes[r.IntN(len(sizes))], sizes[r.IntN(len(sizes))], sizes[r.IntN(len(sizes))]
			s := scalars[trial%len(scalars)]
			g := newGemmCase(r, trial&1 != 0, trial&2 != 0, m, n, k, r.IntN(3)*r.IntN(4), s[0], s[1])
			g.check(t)
		}
		// Shapes that cross the kc (256), mc (128) and nc (1024) blocks of
		// the packed kernels.
		for _, d := range [][3]int{{140, 40, 300}, {70, 100, 270}, {10, 1100, 3}} {
			for tr := range 4 {
				newGemmCase(r, tr&1 != 0, tr&2 != 0, d[0], d[1], d[2], tr, 1.5, 0.5).check(t)
			}
		}
	})
}

// TestGemmBetaZeroIgnoresC checks that beta == 0 overwrites C without
// reading it: NaNs already in C must not reach the result.
func TestGemmBetaZeroIgnoresC(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for i, d := range [][3]int{{8, 32, 5}, {13, 40, 17}, {1, 1, 1}, {2, 7, 19}, {1, 10, 64}} {
			g := newGemmCase(r, i%2 == 1, i >= 3, d[0], d[1], d[2], 0, 1, 0)
			for i := range g.c {
				g.c[i] = float32(math.NaN())
			}
			g.check(t)
			g.alpha = 0 // the scaling-only path
			g.check(t)
		}
	})
}

// TestGemmThreads splits products across goroutines (the threshold lowered
// to force it) in both directions, into as many pieces as goroutines and
// into more, and with one goroutine allowed.
func TestGemmThreads(t *testing.T) {
	defer func(threads int64, least int) { gemmMaxThreads.Store(threads); gemmParallelMin = least }(gemmMaxThreads.Load(), gemmParallelMin)
	gemmParallelMin = 1
	withKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, threads := range []int{1, 2} {
			gemmMaxThreads.Store(int64(threads))
			// Split by rows and by columns; the last two make three pieces.
			for _, d := range [][3]int{{50, 33, 20}, {20, 70, 15}, {800, 9, 5}, {5, 900, 7}} {
				if got := gemmThreads(gemmImpl, d[0], d[1], d[2]); got != min(threads, runtime.GOMAXPROCS(0)) {
					t.Fatalf("%v with %d threads allowed runs on %d", d, threads, got)
				}
				newGemmCase(r, threads == 2, d[0] < d[1], d[0], d[1], d[2], 1, 1, 0.5).check(t)
			}
		}
	})
}

// TestGemmSteadyStateAllocs checks that repeated products, split across
// goroutines or not, allocate nothing once the pools are warm.
func TestGemmSteadyStateAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, d := range [][3]int{{64, 128, 784}, {256, 256, 256}} {
		g := newGemmCase(r, false, true, d[0], d[1], d[2], 0, 1, 0)
		allocs := testing.AllocsPerRun(20, func() {
			gemm(g.transA, g.transB, g.m, g.n, g.k, 1, g.a, g.lda, g.b, g.ldb, 0, g.c, g.ldc)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per product, want 0", d, allocs)
		}
	}
}

func TestGemmPanicsOnShortSlices(t *testing.T) {
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"short A", func() { gemm(false, false, 2, 2, 3, 1, a[:5], 3, b, 2, 0, c, 2) }},
		{"short C", func() { gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c[:3], 2) }},
		{"small lda", func() { gemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) }},
		{"small ldb", func() { gemm(false, true, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

// FuzzGemm compares every kernel with the reference on fuzzed shapes,
// transposes, strides and scalars; the seeds run in plain `go test`.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint8(0), uint64(1), float32(1), float32(0))
	f.Add(uint8(9), uint8(33), uint8(17), uint8(0b0111), uint64(2), float32(-2), float32(0.5))
	f.Add(uint8(65), uint8(31), uint8(255), uint8(0b1010), uint64(3), float32(0.25), float32(1))
	f.Add(uint8(7), uint8(100), uint8(0), uint8(0b1101), uint64(4), float32(3), float32(-1))
	f.Fuzz(func(t *testing.T, m, n, k, flags uint8, seed uint64, alpha, beta float32) {
		if math.IsNaN(float64(alpha)) || math.IsInf(float64(alpha), 0) || math.Abs(float64(alpha)) > 1e6 ||
			math.IsNaN(float64(beta)) || math.IsInf(float64(beta), 0) || math.Abs(float64(beta)) > 1e6 {
			t.Skip()
		}
		pad := int(flags>>2) & 3
		for _, kern := range gemmKernels() {
			func() {
				defer useKernel(kern)()
				r := rand.New(rand.NewPCG(seed, uint64(flags)))
				newGemmCase(r, flags&1 != 0, flags&2 != 0, int(m), int(n), int(k), pad, alpha, beta).check(t)
			}()
		}
	})
}

// TestGemmFewRowsTail checks what dotRows relies on when it computes the
// last outputs of a row again (beta = 0): an output has the same bits
// whichever group of four rows of B the kernel takes it in, so the outputs
// before the tail do not depend on the width of C.
func TestGemmFewRowsTail(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(4, 9))
		for _, k := range []int{3, 16, 64, 100, 784} {
			x, b := randTensor(r, 1, k).Data, randTensor(r, 10, k).Data
			c10, c8 := make([]float32, 10), make([]float32, 8)
			gemm(false, true, 1, 10, k, 1, x, k, b, k, 0, c10, 10)
			gemm(false, true, 1, 8, k, 1, x, k, b, k, 0, c8, 8)
			if !slices.Equal(c10[:8], c8) {
				t.Fatalf("k=%d: %v with 10 outputs, %v with 8", k, c10[:8], c8)
			}
		}
	})
}
