package core

import "fmt"

// gemmS8 computes C = A·Bᵀ exactly for int8 matrices, into int32:
//
//	C[i][j] = Σ_q a[i*lda+q] · b[j*ldb+q]
//
// A is m×k, row-major with row stride lda. b holds B as n rows of k, row
// stride ldb: a dense layer's [out, in] weight codes as they are stored, so
// every entry of C is a dot product of two contiguous rows. C is m×n with
// row stride ldc and is overwritten. Sums wrap modulo 2³², so every result
// is exact while k ≤ 2¹⁷ (|a·b| ≤ 2¹⁴).
//
// Where the CPU has AVX-512 VNNI it uses VPDPBUSD (64 byte products per
// instruction); elsewhere a portable loop.
func gemmS8(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	gemmS8Pre(m, n, k, a, lda, b, ldb, nil, c, ldc)
}

// gemmS8Pre is gemmS8 for a B that the caller has also packed with packS8
// (pb, or nil to pack it here when needed), as a layer packs its weights
// once rather than on every product.
func gemmS8Pre(m, n, k int, a []int8, lda int, b []int8, ldb int, pb []byte, c []int32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("core: gemmS8 with negative size %d×%d×%d", m, n, k))
	}
	checkMatrix("A", m, k, len(a), lda)
	checkMatrix("B", n, k, len(b), ldb)
	checkMatrix("C", m, n, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	if sumS8Asm == nil || n < 4 {
		gemmS8Go(m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	if pb != nil && len(pb) != s8PackedLen(n, k) {
		panic(fmt.Sprintf("core: gemmS8: packed B has %d bytes, want %d for %d×%d", len(pb), s8PackedLen(n, k), n, k))
	}
	// Given B packed, a few rows go one at a time through it, but for fewer
	// than 32 columns (one partial sliver: two accumulators, bound by
	// VPDPBUSD's latency) the dot-product kernels below are faster.
	few := m < gemvS8RowsMax
	switch {
	case pb != nil && few && n >= 32:
		gemvS8Rows(m, n, k, a, lda, pb, c, ldc)
		return
	case m >= gemmS8PackMin || pb != nil && !few:
		gemmS8Packed(m, n, k, a, lda, b, ldb, pb, c, ldc)
		return
	}
	i := 0
	var corr []int32
	if m >= 4 {
		// In a buffer: a stack array passed to the kernel through a
		// function value would escape, an allocation per call.
		buf := getGemmBuf()
		defer putGemmBuf(buf)
		buf.corr = growTo(buf.corr, 4)
		corr = buf.corr
	}
	for ; i+4 <= m; i += 4 {
		// Four rows of A at a time share each load of b.
		for r := range 4 {
			corr[r] = -128 * sumS8Asm(a[(i+r)*lda:(i+r)*lda+k])
		}
		ai, ci := a[i*lda:], c[i*ldc:]
		whole := n &^ 3
		s8Dot4x4Asm(k, ai, lda, b, ldb, ci, ldc, corr, whole/4)
		if whole < n {
			// The last four rows of b again, into the last four columns,
			// so the kernel reads no further than b's last row; the exact
			// sums it writes again are the same.
			s8Dot4x4Asm(k, ai, lda, b[(n-4)*ldb:], ldb, ci[n-4:], ldc, corr, 1)
		}
	}
	for ; i < m; i++ {
		x := a[i*lda : i*lda+k]
		// The kernel sums (b+128)·a; take the offset out again.
		corr := -128 * sumS8Asm(x)
		row := c[i*ldc : i*ldc+n]
		whole := n &^ 3
		s8DotAsm(k, x, b, ldb, row[:whole], corr)
		if whole < n {
			// As above, for one row.
			s8DotAsm(k, x, b[(n-4)*ldb:], ldb, row[n-4:], corr)
		}
	}
}

// gemvS8Rows is gemmS8 for a few rows against B packed already: each row
// of A runs on its own through the packed slivers (gemvS8KernelVNNI), which
// needs no horizontal sums and no padding to eight rows. Rows whose k is
// not a whole number of dwords are copied with zero padding first.
func gemvS8Rows(m, n, k int, a []int8, lda int, pb []byte, c []int32, ldc int) {
	buf := getGemmBuf()
	defer putGemmBuf(buf)
	kq := ceilDiv(k, 4)
	whole := n / 32
	for i := range m {
		x := a[i*lda : i*lda+k]
		if k%4 != 0 {
			buf.qa = growTo(buf.qa, 4*kq)
			copy(buf.qa, x)
			clear(buf.qa[k:])
			x = buf.qa
		}
		// The kernel sums (b+128)·a; take the offset out again.
		corr := -128 * sumS8Asm(x)
		row := c[i*ldc : i*ldc+n]
		s8GemvAsm(kq, x, pb, row, corr, whole)
		if whole*32 < n {
			buf.qt = growTo(buf.qt, 32)
			s8GemvAsm(kq, x, pb[whole*32*4*kq:], buf.qt, corr, 1)
			copy(row[whole*32:], buf.qt)
		}
	}
}

// gemvS8RowsMax is the fewest rows of A for which gemmS8, given B packed,
// runs the 8×32 kernel rather than gemvS8Rows.
var gemvS8RowsMax = 4

// gemmS8PackMin is the fewest rows of A for which gemmS8 packs B. Packing
// gathers b a dword at a time (about 11 µs for 128×784), which the packed
// kernel's speed repays only over many rows: on the development machine
// the dot-product kernels were faster below about 24 rows at k = 64 and
// about 48 at k = 784.
const gemmS8PackMin = 32

// gemmS8Packed is gemmS8 for many rows: B is packed (by packS8, unless pb
// holds it packed already) into 32-column slivers in VPDPBUSD's layout, and
// an 8×32 kernel broadcasts four bytes of a row of A at a time against
// them, so no horizontal sums are needed. A is read in place when its rows
// hold whole dwords (k%4 == 0) and copied with zero padding otherwise.
func gemmS8Packed(m, n, k int, a []int8, lda int, b []int8, ldb int, pb []byte, c []int32, ldc int) {
	buf := getGemmBuf()
	defer putGemmBuf(buf)
	kq := ceilDiv(k, 4)
	kp := 4 * kq
	if k%4 != 0 {
		buf.qa = growTo(buf.qa, m*kp)
		for i := range m {
			copy(buf.qa[i*kp:i*kp+k], a[i*lda:i*lda+k])
			clear(buf.qa[i*kp+k : (i+1)*kp])
		}
		a, lda = buf.qa, kp
	}
	// The kernel sums (b+128)·a; corr takes the offset out again.
	buf.corr = growTo(buf.corr, roundUp(m, 8))
	for i := range m {
		buf.corr[i] = -128 * sumS8Asm(a[i*lda:i*lda+k])
	}
	if pb == nil {
		buf.qb = packS8(buf.qb, n, k, b, ldb)
		pb = buf.qb
	}
	buf.qt = growTo(buf.qt, 8*32)
	tile := buf.qt
	slivers := ceilDiv(n, 32)
	for i0 := 0; i0 < m; i0 += 8 {
		rows := min(8, m-i0)
		ai, ldai := a[i0*lda:], lda
		if rows < 8 {
			// The last rows, padded with zero rows to a whole block.
			buf.qp = growTo(buf.qp, 8*kp)
			clear(buf.qp)
			for r := range rows {
				copy(buf.qp[r*kp:r*kp+k], a[(i0+r)*lda:(i0+r)*lda+k])
			}
			ai, ldai = buf.qp, kp
		}
		corr := buf.corr[i0 : i0+8]
		for s := range slivers {
			bs := pb[s*32*kp : (s+1)*32*kp]
			cols := min(32, n-s*32)
			if rows == 8 && cols == 32 {
				s8KernelAsm(kq, ai, ldai, bs, c[i0*ldc+s*32:], ldc, corr)
				continue
			}
			s8KernelAsm(kq, ai, ldai, bs, tile, 32, corr)
			for r := range rows {
				copy(c[(i0+r)*ldc+s*32:(i0+r)*ldc+s*32+cols], tile[r*32:r*32+cols])
			}
		}
	}
}

// s8PackedLen is the length of an n×k B packed by packS8: ⌈n/32⌉ slivers
// of ⌈k/4⌉ steps of 128 bytes.
func s8PackedLen(n, k int) int { return ceilDiv(n, 32) * 32 * 4 * ceilDiv(k, 4) }

// packS8 lays out b (n rows of k, row stride ldb) for the many-row kernel
// in dst, grown to s8PackedLen(n, k), and returns it: per sliver of 32
// rows of b and per four k, the rows' four bytes each, flipped to offset
// binary. It needs the VNNI kernels (s8PackAsm).
func packS8(dst []byte, n, k int, b []int8, ldb int) []byte {
	checkMatrix("B", n, k, len(b), ldb)
	kq := ceilDiv(k, 4)
	kp := 4 * kq
	dst = growTo(dst, s8PackedLen(n, k))
	if k == 0 {
		return dst
	}
	for j0 := 0; j0 < n; j0 += 16 {
		// 16 columns of b form one half of a sliver's 128 bytes per step.
		rows := min(16, n-j0)
		half := dst[j0/32*32*kp+j0%32*4:]
		s8PackAsm(half, 128, b[j0*ldb:], ldb, rows, k/4)
		if k%4 != 0 {
			tail := half[(kq-1)*128:]
			for r := range rows {
				for t := range 4 {
					v := byte(0x80) // pads multiply A's zero padding
					if q := 4*(kq-1) + t; q < k {
						v = byte(b[(j0+r)*ldb+q]) ^ 0x80
					}
					tail[r*4+t] = v
				}
			}
		}
	}
	return dst
}

// growTo returns s with length n, reusing its storage when large enough.
func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// The VNNI kernels, set by gemm_amd64.go where the CPU has them; nil
// elsewhere. gemmS8 checks the bounds they rely on.
var (
	s8PackAsm   func(dst []byte, dstStride int, b []int8, ldb, rows, kq int)
	s8KernelAsm func(kq int, a []int8, lda int, b []byte, c []int32, ldc int, corr []int32)
	s8GemvAsm   func(kq int, a []int8, b []byte, c []int32, corr int32, slivers int)
	s8DotAsm    func(k int, a, b []int8, ldb int, c []int32, corr int32)
	s8Dot4x4Asm func(k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int, corr []int32, groups int)
	sumS8Asm    func(x []int8) int32
)

// gemmS8Go is gemmS8's portable loop.
func gemmS8Go(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	for i := range m {
		x := a[i*lda : i*lda+k]
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			w := b[j*ldb : j*ldb+k]
			var s int32
			for q, v := range x {
				s += int32(v) * int32(w[q])
			}
			row[j] = s
		}
	}
}
