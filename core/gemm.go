package core

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(X) is X or its transpose. C is m×n and op(A)·op(B) has inner size k;
// lda, ldb, ldc are the row strides of A, B and C as stored. As in BLAS,
// beta == 0 overwrites C without reading it, and alpha == 0 or k == 0 only
// scales C.
//
// It is the single entry point for every matrix product in core, so a faster
// kernel replaces the current one in this one place. The work follows the
// BLIS scheme: op(B) is packed into kc×nc panels, op(A) into mc×kc panels
// (both zero-padded to whole tiles, so transposes are handled there and the
// micro-kernel sees one layout), and a register-blocked micro-kernel
// (gemmImpl) computes each mr×nr tile of C. A product of a few rows by a
// transposed B (a layer's forward pass on a sample or two) is cheaper as
// plain dot products, without packing: see gemmProblem.dotRows.
//
// Products of at least gemmParallelMin multiply-adds are split along their
// larger dimension across up to GOMAXPROCS goroutines (see gemmJob); gemm
// waits for all of them before it returns, so no goroutine outlives the
// call. Smaller products run on the calling goroutine alone. Packing
// buffers are reused: a steady stream of products allocates nothing.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	p := gemmProblem{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}
	kern := gemmImpl
	if transB && m <= gemmDotRowsMax && n >= 4 && kern.dotRows != nil {
		p.dotRows(kern.dotRows)
		return
	}
	threads := gemmThreads(kern, m, n, k)
	if threads == 1 {
		p.runPooled(kern)
		return
	}
	job := gemmJobs.Get().(*gemmJob)
	job.split(p, kern, threads)
	for range threads - 1 {
		job.wg.Add(1)
		go job.help()
	}
	job.work()
	job.wg.Wait()
	job.p = gemmProblem{} // drop references to the caller's slices
	gemmJobs.Put(job)
}

// gemmKernel is a micro-kernel and the blocking that suits it.
type gemmKernel struct {
	name   string
	mr, nr int // the tile of C one call computes
	// Cache blocking: a kc×nr sliver of packed B is reused from L1 across
	// the mc/mr tiles of an mc×kc panel of packed A held in L2; a kc×nc
	// panel of packed B lives in L3.
	kc, mc, nc int
	// micro computes one full mr×nr tile C = alpha·Ap·Bp + beta·C from k
	// steps of packed A (mr values each) and packed B (nr values each);
	// beta == 0 must not read C. Assembly kernels do not check bounds:
	// checkGemm and the loops around them keep them inside the slices.
	micro func(k int, a, b, c []float32, ldc int, alpha, beta float32)
	// dotRows, if not nil, sets c[r] = alpha·x[:k]·b[r*ldb:r*ldb+k] +
	// beta·c[r] for r < len(c), a multiple of 4 (c not read when
	// beta == 0); see gemmProblem.dotRows.
	dotRows func(k int, x, b []float32, ldb int, c []float32, alpha, beta float32)
}

// gemmImpl is the kernel gemm uses: the first (best) this CPU supports.
// Tests set it to each of gemmKernels() in turn.
var gemmImpl = gemmKernels()[0]

// gemmDotRowsMax is the most rows of C that dotRows computes; larger
// products are packed. BenchmarkGemmFewRows compares the two ways.
var gemmDotRowsMax = 4

// gemmMaxThreads caps the goroutines of one product when positive;
// otherwise GOMAXPROCS does. Benchmarks set it to 1 to measure one core.
// It is atomic because MeasureGEMM sets it while other products may run.
var gemmMaxThreads atomic.Int64

// gemmParallelMin is the number of multiply-adds (m·n·k) from which a
// product is split across goroutines. Waking an idle core for the helper
// goroutine took 110-140 µs on the 2-vCPU development VM (median; up to
// 220 µs), so a split pays only once the product takes several times that
// on one core. In BenchmarkGemmThreshold (which lowers this to force
// splits) two goroutines broke even at 256³ = 2^24 (310 µs on one) and
// saved 23% at 320³ and 30% at 384³.
var gemmParallelMin = 1 << 24

// gemmPieceMin is the smallest number of rows or columns of C in one piece
// of a split product: each piece packs all of the other operand again, and
// at 256 that repeated packing stays near 2% of the piece's arithmetic.
const gemmPieceMin = 256

// gemmThreads is the number of goroutines to run an m×n×k product on.
func gemmThreads(kern *gemmKernel, m, n, k int) int {
	if m*n*k < gemmParallelMin {
		return 1
	}
	threads := runtime.GOMAXPROCS(0)
	if limit := int(gemmMaxThreads.Load()); limit > 0 {
		threads = min(threads, limit)
	}
	if m >= n {
		return min(threads, ceilDiv(m, kern.mr))
	}
	return min(threads, ceilDiv(n, kern.nr))
}

// gemmJob is a product split into pieces: bands of rows or of columns of C,
// in whole tiles. The calling goroutine and its helpers claim pieces from a
// counter, so when a helper starts late (an idle core is slow to wake) the
// caller takes over the pieces it has not reached.
type gemmJob struct {
	p                  gemmProblem
	kern               *gemmKernel
	byRows             bool
	size, step, pieces int
	next               atomic.Int64
	wg                 sync.WaitGroup
	help               func() // j.helper, bound once so that `go j.help()` allocates nothing
}

var gemmJobs = sync.Pool{New: func() any {
	j := new(gemmJob)
	j.help = j.helper
	return j
}}

// split prepares j to run p in pieces on threads goroutines. It cuts the
// larger of m and n, so that the operand every piece packs again is the
// smaller one, into at least one piece per goroutine and up to four when
// the pieces stay at least gemmPieceMin wide, which evens out a late start.
func (j *gemmJob) split(p gemmProblem, kern *gemmKernel, threads int) {
	j.p, j.kern, j.byRows = p, kern, p.m >= p.n
	unit := kern.nr
	j.size = p.n
	if j.byRows {
		unit, j.size = kern.mr, p.m
	}
	pieces := min(max(threads, j.size/gemmPieceMin), 4*threads)
	j.step = roundUp(ceilDiv(j.size, pieces), unit)
	j.pieces = ceilDiv(j.size, j.step) // rounding to tiles may leave fewer
	j.next.Store(0)
}

// work claims and runs pieces until none are left.
func (j *gemmJob) work() {
	for {
		i := int(j.next.Add(1)) - 1
		if i >= j.pieces {
			return
		}
		piece := j.p.part(j.byRows, i*j.step, min(j.size, (i+1)*j.step))
		piece.runPooled(j.kern)
	}
}

func (j *gemmJob) helper() {
	j.work()
	j.wg.Done()
}

// gemmProblem holds gemm's arguments.
type gemmProblem struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
}

// part returns the subproblem for rows (byRows) or columns [lo, hi) of C.
func (p gemmProblem) part(byRows bool, lo, hi int) gemmProblem {
	if byRows {
		p.m = hi - lo
		if p.transA {
			p.a = p.a[lo:]
		} else {
			p.a = p.a[lo*p.lda:]
		}
		p.c = p.c[lo*p.ldc:]
		return p
	}
	p.n = hi - lo
	if p.transB {
		p.b = p.b[lo*p.ldb:]
	} else {
		p.b = p.b[lo:]
	}
	p.c = p.c[lo:]
	return p
}

// gemmBuf holds one goroutine's packed panels and an edge tile, and
// gemmS8's packed B, padded rows of A, offset corrections and edge tile.
type gemmBuf struct {
	a, b, tile []float32
	qb         []byte
	qa, qp     []int8
	corr, qt   []int32
}

// gemmBufs keeps released buffers for reuse. Unlike a sync.Pool it is not
// emptied by garbage collection, which would make the next large product
// allocate its panels again.
var gemmBufs struct {
	sync.Mutex
	free []*gemmBuf
}

// gemmBufsKept bounds gemmBufs: one buffer per concurrently running product
// (or piece) is reused, beyond that they are left to the collector.
const gemmBufsKept = 4

func getGemmBuf() *gemmBuf {
	gemmBufs.Lock()
	defer gemmBufs.Unlock()
	n := len(gemmBufs.free)
	if n == 0 {
		return new(gemmBuf)
	}
	buf := gemmBufs.free[n-1]
	gemmBufs.free = gemmBufs.free[:n-1]
	return buf
}

func putGemmBuf(buf *gemmBuf) {
	gemmBufs.Lock()
	defer gemmBufs.Unlock()
	if len(gemmBufs.free) < gemmBufsKept {
		gemmBufs.free = append(gemmBufs.free, buf)
	}
}

// runPooled runs p on the calling goroutine with a reused buffer.
func (p *gemmProblem) runPooled(kern *gemmKernel) {
	buf := getGemmBuf()
	p.run(kern, buf)
	putGemmBuf(buf)
}

// run computes p on the calling goroutine: the three blocking loops around
// the packed macro-kernel.
func (p *gemmProblem) run(kern *gemmKernel, buf *gemmBuf) {
	mr, nr := kern.mr, kern.nr
	kc := blockSize(p.k, kern.kc, 1)
	mc := blockSize(p.m, kern.mc, mr)
	nc := blockSize(p.n, kern.nc, nr)
	buf.a = growTo(buf.a, roundUp(mc, mr)*kc)
	buf.b = growTo(buf.b, roundUp(nc, nr)*kc)
	buf.tile = growTo(buf.tile, mr*nr)
	for jc := 0; jc < p.n; jc += nc {
		ncb := min(nc, p.n-jc)
		for pc := 0; pc < p.k; pc += kc {
			kcb := min(kc, p.k-pc)
			// Later k blocks accumulate onto the first one's result.
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			p.packB(buf.b, nr, pc, kcb, jc, ncb)
			for ic := 0; ic < p.m; ic += mc {
				mcb := min(mc, p.m-ic)
				p.packA(buf.a, mr, ic, mcb, pc, kcb)
				p.macro(kern, buf, ic, mcb, jc, ncb, kcb, beta)
			}
		}
	}
}

// dotRows computes a product with few rows when op(B) = Bᵀ, as in a layer's
// forward pass on one sample: every entry of C is the dot product of a row
// of op(A) with a row of b, both contiguous (rows of a transposed A are
// gathered first), so nothing is packed and b is read once per row of C.
func (p *gemmProblem) dotRows(dot func(k int, x, b []float32, ldb int, c []float32, alpha, beta float32)) {
	k, ldb, n := p.k, p.ldb, p.n
	var x []float32
	if p.transA {
		buf := getGemmBuf()
		defer putGemmBuf(buf)
		buf.a = growTo(buf.a, k)
		x = buf.a
	}
	whole := n &^ 3
	var tbuf *gemmBuf
	var tail []float32
	for i := range p.m {
		if p.transA {
			for q := range x {
				x[q] = p.a[q*p.lda+i]
			}
		} else {
			x = p.a[i*p.lda : i*p.lda+k]
		}
		row := p.c[i*p.ldc : i*p.ldc+n]
		dot(k, x, p.b, ldb, row[:whole], p.alpha, p.beta)
		if whole < n && p.beta == 0 {
			// The last four rows of b again, so the kernel reads no
			// further than b's last row; the outputs before the tail it
			// writes again are the same.
			dot(k, x, p.b[(n-4)*ldb:], ldb, row[n-4:], p.alpha, 0)
		} else if whole < n {
			// The same into a scratch tile, as C is read (a stack array
			// passed to the kernel through a function value would escape).
			if tail == nil {
				tbuf = getGemmBuf()
				defer putGemmBuf(tbuf)
				tbuf.tile = growTo(tbuf.tile, 4)
				tail = tbuf.tile
			}
			dot(k, x, p.b[(n-4)*ldb:], ldb, tail, p.alpha, 0)
			for j := whole; j < n; j++ {
				row[j] = tail[j-(n-4)] + p.beta*row[j]
			}
		}
	}
}

// macro multiplies a packed mcb×kcb panel of A by a packed kcb×ncb panel of
// B into C[ic:ic+mcb, jc:jc+ncb], one mr×nr tile at a time. Partial tiles at
// the bottom and right edges go through buf.tile.
func (p *gemmProblem) macro(kern *gemmKernel, buf *gemmBuf, ic, mcb, jc, ncb, kcb int, beta float32) {
	mr, nr := kern.mr, kern.nr
	for jr := 0; jr < ncb; jr += nr {
		bp := buf.b[jr*kcb : (jr+nr)*kcb]
		nrb := min(nr, ncb-jr)
		for ir := 0; ir < mcb; ir += mr {
			ap := buf.a[ir*kcb : (ir+mr)*kcb]
			mrb := min(mr, mcb-ir)
			off := (ic+ir)*p.ldc + jc + jr
			if mrb == mr && nrb == nr {
				kern.micro(kcb, ap, bp, p.c[off:], p.ldc, p.alpha, beta)
				continue
			}
			kern.micro(kcb, ap, bp, buf.tile, nr, p.alpha, 0)
			for i := range mrb {
				row := p.c[off+i*p.ldc : off+i*p.ldc+nrb]
				t := buf.tile[i*nr : i*nr+nrb]
				if beta == 0 {
					copy(row, t)
					continue
				}
				for j, v := range t {
					row[j] = beta*row[j] + v
				}
			}
		}
	}
}

// packA copies op(A)[ic:ic+mcb, pc:pc+kcb] into dst as micro-panels of mr
// rows, each stored k-major (mr values per k step), padding the last panel
// with zero rows.
func (p *gemmProblem) packA(dst []float32, mr, ic, mcb, pc, kcb int) {
	for ir := 0; ir < mcb; ir += mr {
		panel := dst[ir*kcb : (ir+mr)*kcb]
		rows := min(mr, mcb-ir)
		if p.transA {
			// op(A)[i][q] = a[q*lda+i]: each k step is a contiguous run.
			s := pc*p.lda + ic + ir
			if rows == mr {
				copyRows(panel, mr, p.a[s:], p.lda, kcb)
			} else {
				for q := range kcb {
					copy(panel[q*mr:q*mr+rows], p.a[s+q*p.lda:s+q*p.lda+rows])
				}
			}
		} else {
			// op(A)[i][q] = a[i*lda+q]: transpose, eight rows at a time.
			i := 0
			for ; i+8 <= rows; i += 8 {
				transpose8(panel[i:], mr, p.a[(ic+ir+i)*p.lda+pc:], p.lda, kcb)
			}
			for ; i < rows; i++ {
				s := (ic+ir+i)*p.lda + pc
				for q, v := range p.a[s : s+kcb] {
					panel[q*mr+i] = v
				}
			}
		}
		if rows < mr {
			for q := range kcb {
				clear(panel[q*mr+rows : q*mr+mr])
			}
		}
	}
}

// packB copies op(B)[pc:pc+kcb, jc:jc+ncb] into dst as slivers of nr
// columns, each stored k-major (nr values per k step), padding the last
// sliver with zero columns.
func (p *gemmProblem) packB(dst []float32, nr, pc, kcb, jc, ncb int) {
	for jr := 0; jr < ncb; jr += nr {
		sliver := dst[jr*kcb : (jr+nr)*kcb]
		cols := min(nr, ncb-jr)
		if p.transB {
			// op(B)[q][j] = b[j*ldb+q]: transpose, eight columns at a time.
			j := 0
			for ; j+8 <= cols; j += 8 {
				transpose8(sliver[j:], nr, p.b[(jc+jr+j)*p.ldb+pc:], p.ldb, kcb)
			}
			for ; j < cols; j++ {
				s := (jc+jr+j)*p.ldb + pc
				for q, v := range p.b[s : s+kcb] {
					sliver[q*nr+j] = v
				}
			}
		} else {
			// op(B)[q][j] = b[q*ldb+j]: each k step is a contiguous run.
			s := pc*p.ldb + jc + jr
			if cols == nr {
				copyRows(sliver, nr, p.b[s:], p.ldb, kcb)
			} else {
				for q := range kcb {
					copy(sliver[q*nr:q*nr+cols], p.b[s+q*p.ldb:s+q*p.ldb+cols])
				}
			}
		}
		if cols < nr {
			for q := range kcb {
				clear(sliver[q*nr+cols : q*nr+nr])
			}
		}
	}
}

// Assembly versions of the packing loops, set by gemm_amd64.go where the
// CPU has AVX; nil elsewhere. They do not check bounds: transpose8 and
// copyRows do.
var (
	transpose8Asm func(dst []float32, dstStride int, src []float32, srcStride, k int)
	copyRowsAsm   func(dst []float32, width int, src []float32, srcStride, rows int)
)

// transpose8 writes the transpose of an 8×k strip of src into dst:
// dst[q*dstStride+r] = src[r*srcStride+q] for r < 8, q < k.
func transpose8(dst []float32, dstStride int, src []float32, srcStride, k int) {
	if k == 0 {
		return
	}
	_, _ = src[7*srcStride+k-1], dst[(k-1)*dstStride+7] // bounds, for the assembly
	done := 0
	if transpose8Asm != nil {
		done = k &^ 7
		transpose8Asm(dst, dstStride, src, srcStride, done)
	}
	for r := range 8 {
		for q, v := range src[r*srcStride+done : r*srcStride+k] {
			dst[(done+q)*dstStride+r] = v
		}
	}
}

// copyRows copies rows of width values, srcStride apart in src, to
// consecutive rows of dst.
func copyRows(dst []float32, width int, src []float32, srcStride, rows int) {
	if rows == 0 || width == 0 {
		return
	}
	_, _ = src[(rows-1)*srcStride+width-1], dst[rows*width-1] // bounds, for the assembly
	if copyRowsAsm != nil && width%8 == 0 {
		copyRowsAsm(dst, width, src, srcStride, rows)
		return
	}
	for r := range rows {
		copy(dst[r*width:(r+1)*width], src[r*srcStride:r*srcStride+width])
	}
}

// blockSize splits total into the fewest blocks of at most limit and returns
// their size, rounded up to a multiple of unit, so that the blocks come out
// even (k = 784 with limit 256 gives four blocks of 196, not 256+256+256+16).
func blockSize(total, limit, unit int) int {
	return roundUp(ceilDiv(total, ceilDiv(total, limit)), unit)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// scaleRows sets the m×n matrix C to beta·C (to zero, without reading C,
// when beta == 0).
func scaleRows(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// checkGemm panics unless the strides and slice lengths fit the shapes, so
// the assembly kernels, which do not check bounds, stay inside the slices.
func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("core: gemm with negative size %d×%d×%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, la, lda)
	checkMatrix("B", br, bc, lb, ldb)
	checkMatrix("C", m, n, lc, ldc)
}

func checkMatrix(name string, rows, cols, length, stride int) {
	if stride < max(1, cols) {
		panic(fmt.Sprintf("core: gemm: stride of %s is %d, less than its %d columns", name, stride, cols))
	}
	if rows > 0 && cols > 0 && length < (rows-1)*stride+cols {
		panic(fmt.Sprintf("core: gemm: %s has %d values, too few for %d×%d with stride %d",
			name, length, rows, cols, stride))
	}
}
