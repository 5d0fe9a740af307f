package core

// The int8 kernels. Where the CPU has AVX-512 VNNI, QDense multiplies with
// gemmS8 (VPDPBUSD: 64 byte products per instruction) on weights packed
// once, and the vector loops here quantize its input and scale the sums
// back (quantizeCodes, dequantRow). Elsewhere it runs the portable kernel
// below.
//
// Pure Go has no SIMD, and a plain loop of int8 multiplies runs at a
// fraction of the speed of the float32 GEMM, so the portable kernel does two
// things a scalar loop cannot:
//
//   - SWAR (SIMD within a register): a uint64 holds three signed 21-bit
//     lanes, the weights of three outputs, so one 64-bit multiply by an input
//     value computes three products and one add accumulates them. A lane
//     holds any sum below 2²⁰ in magnitude; inputs are taken in chunks whose
//     Σ|x|·max|w| stays below that bound (at least 32 inputs, since
//     32·255·128 < 2²⁰), and after each chunk the lanes are split, each
//     lane's sign repaired from the borrow it took from the lane above.
//   - Zero skipping: the caller passes only the inputs that differ from the
//     most frequent input code (ReLU zeros, an image's background), whose
//     contribution it adds back from precomputed weight row sums. This is
//     exact integer arithmetic, not an approximation.
//
// The lanes cost memory: 8 bytes per 3 weights in RAM (a model file stores 1
// byte per weight, or less).

// The AVX-512 loops of quantizeCodes and dequantRow, set by
// quant_kernel_amd64.go; nil elsewhere.
var (
	quantAsm   func(dst []int8, src []float32, inv, off, top float64, lo int32)
	dequantAsm func(y []float32, prod, zoff, wzero []int32, t int32, scale []float64, bias []float32)
)

// quantizeCodes sets dst to the codes of src on g, with codeIn's
// arithmetic, and returns their sum.
func quantizeCodes(g *qgrid, dst []int8, src []float32) int64 {
	dst = dst[:len(src)]
	top := float64(g.hi - g.lo)
	if quantAsm != nil && sumS8Asm != nil {
		quantAsm(dst, src, g.inv, g.off, top, g.lo)
		return int64(sumS8Asm(dst))
	}
	inv, off, lo := g.inv, g.off, g.lo
	var t int64
	for i, v := range src {
		// The conversion rounds the product on its own, as the vector loop
		// does, even where the compiler would fuse a multiply-add.
		f := min(max(float64(float64(v)*inv)+off, 0), top)
		if f != f { // NaN
			f = 0
		}
		c := int32(f) + lo
		dst[i] = int8(c)
		t += int64(c)
	}
	return t
}

// s8Dequant holds what dequantRow needs of a layer, per output j: the
// weight zero point z_j, the zero-point term −z_x·Σ_k (w_jk − z_j), the
// combined scale s_x·s_wj and the bias. The int32 copies serve the vector
// loop, exact while In < 2¹⁵ (fits).
type s8Dequant struct {
	wzero, zoff     []int64
	wzero32, zoff32 []int32
	scale           []float64
	bias            []float32
	fits            bool
}

// dequantRow sets y[j] = float32(float64(prod[j] + zoff_j − z_j·t)·scale_j)
// + bias_j: one sample's outputs from its code products prod and code sum t.
func (d *s8Dequant) dequantRow(y []float32, prod []int32, t int64) {
	if dequantAsm != nil && d.fits {
		dequantAsm(y, prod[:len(y)], d.zoff32[:len(y)], d.wzero32[:len(y)], int32(t), d.scale[:len(y)], d.bias[:len(y)])
		return
	}
	prod, zoff, wzero, scale, bias := prod[:len(y)], d.zoff[:len(y)], d.wzero[:len(y)], d.scale[:len(y)], d.bias[:len(y)]
	for j := range y {
		s := int64(prod[j]) + zoff[j] - wzero[j]*t
		y[j] = float32(float64(s)*scale[j]) + bias[j]
	}
}

const (
	laneBits  = 21
	laneWidth = 3       // lanes per word
	laneLimit = 1 << 20 // bound on the magnitude of a lane's sum
)

// laneWeights lays out int8 codes w ([out, in], row-major) for gemvInt8:
// word g of input k holds the weights of outputs 3g, 3g+1 and 3g+2 from
// input k, as the integer w₀ + w₁·2²¹ + w₂·2⁴²; missing outputs are zero. It
// returns the words, [in][g], and g.
func laneWeights(w []int8, out, in int) ([]uint64, int) {
	g := max((out+laneWidth-1)/laneWidth, narrowGroups)
	lw := make([]uint64, in*g)
	for j := range out {
		shift := laneBits * (j % laneWidth)
		for k, c := range w[j*in : (j+1)*in] {
			lw[k*g+j/laneWidth] += uint64(int64(c) << shift)
		}
	}
	return lw, g
}

// gemvInt8 sets acc[j] = Σ_i xv[i]·w[idx[i]][j], exactly, for the 3g outputs
// of the weights lw laid out by laneWeights, whose magnitudes are at most
// wmax (≤ 128); |xv[i]| must be at most 255. lanes is scratch space of g words.
func gemvInt8(acc []int64, lanes, lw []uint64, g int, wmax int32, idx, xv []int32) {
	acc = acc[:laneWidth*g]
	clear(acc)
	for len(idx) > 0 {
		n, sum := 0, int32(0)
		for n < len(xv) {
			if sum += max(xv[n], -xv[n]); sum*wmax >= laneLimit {
				break
			}
			n++
		}
		ci, cv := idx[:n], xv[:n]
		idx, xv = idx[n:], xv[n:]
		a := lanes[:g]
		clear(a)
		if g == narrowGroups {
			laneNarrow(a, lw, ci, cv)
		} else {
			laneWide(a, lw, g, ci, cv)
		}
		for w, v := range a {
			s := int64(v)
			l0 := s << (64 - laneBits) >> (64 - laneBits) // sign-extend the low lane
			s = (s - l0) >> laneBits
			l1 := s << (64 - laneBits) >> (64 - laneBits)
			o := acc[laneWidth*w:][:laneWidth]
			o[0] += l0
			o[1] += l1
			o[2] += (s - l1) >> laneBits
		}
	}
}

// narrowGroups is the word count of narrow layers (up to 12 outputs, such as
// a classifier's), whose words laneNarrow keeps in registers: for so few
// words, calling laneAxpy4 costs more than its loop.
const narrowGroups = 4

// laneNarrow adds Σ_i cv[i]·(the 4 words of input ci[i]) to a (4 words).
func laneNarrow(a, lw []uint64, ci, cv []int32) {
	a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
	cv = cv[:len(ci)]
	for i, k := range ci {
		x := uint64(int64(cv[i]))
		r := lw[int(k)*narrowGroups:][:narrowGroups]
		a0 += r[0] * x
		a1 += r[1] * x
		a2 += r[2] * x
		a3 += r[3] * x
	}
	a[0], a[1], a[2], a[3] = a0, a1, a2, a3
}

// laneWide adds Σ_i cv[i]·(the g words of input ci[i]) to a, four inputs at
// a time.
func laneWide(a, lw []uint64, g int, ci, cv []int32) {
	cv = cv[:len(ci)]
	i := 0
	for ; i+4 <= len(ci); i += 4 {
		laneAxpy4(a, lw[int(ci[i])*g:], lw[int(ci[i+1])*g:], lw[int(ci[i+2])*g:], lw[int(ci[i+3])*g:],
			uint64(int64(cv[i])), uint64(int64(cv[i+1])), uint64(int64(cv[i+2])), uint64(int64(cv[i+3])))
	}
	for ; i < len(ci); i++ {
		x0 := uint64(int64(cv[i]))
		r0 := lw[int(ci[i])*g:][:len(a)]
		for w := range a {
			a[w] += r0[w] * x0
		}
	}
}

// laneAxpy4 adds r0·x0 + r1·x1 + r2·x2 + r3·x3 to a, word by word. It is a
// function of its own, never inlined, so that its loop keeps every operand in
// a register: inlined into its caller, the loop counter was spilled to the
// stack and reloaded every iteration, which made the kernel a third slower.
//
//go:noinline
func laneAxpy4(a, r0, r1, r2, r3 []uint64, x0, x1, x2, x3 uint64) {
	r0, r1, r2, r3 = r0[:len(a)], r1[:len(a)], r2[:len(a)], r3[:len(a)]
	for w := range a {
		a[w] += r0[w]*x0 + r1[w]*x1 + r2[w]*x2 + r3[w]*x3
	}
}
