package core

import (
	"math"
	"slices"
)

// qgrid is one uniform quantization grid: a real value v is stored as the
// integer code q = clamp(round(v/scale) + zero, lo, hi) and read back as
// scale·(q − zero). Zero is always representable exactly, so ReLU zeros and
// pruned weights stay exactly zero.
type qgrid struct {
	scale  float32
	zero   int32
	lo, hi int32   // code range
	inv    float64 // 1/scale, so that quantizing multiplies instead of divides
	off    float64 // zero − lo + ½: see codeIn
}

// newGrid returns the grid with the given scale, zero point and code range.
func newGrid(scale float32, zero, lo, hi int32) qgrid {
	return qgrid{scale: scale, zero: zero, lo: lo, hi: hi, inv: 1 / float64(scale), off: float64(zero-lo) + 0.5}
}

// codeRange is the code range of a bits-wide signed integer: the full range
// [−2^(b−1), 2^(b−1)−1], or, for symmetric weights, the restricted
// [−(2^(b−1)−1), 2^(b−1)−1], which keeps the grid symmetric about zero (at 2
// bits it is ternary: −1, 0, 1).
func codeRange(bits int, restricted bool) (lo, hi int32) {
	hi = 1<<(bits-1) - 1
	if restricted {
		return -hi, hi
	}
	return -hi - 1, hi
}

// minScale keeps scales of all-tiny ranges away from zero (a float32 can be
// as small as 1e-45); any scale at least range/levels still clips nothing.
const minScale = 1e-30

// gridFor returns the grid that covers [lo, hi] with bits-wide codes.
// Symmetric grids have zero point 0 and cover [−m, m] with m = max(|lo|, |hi|);
// restricted selects the restricted code range (weights). Asymmetric grids
// widen [lo, hi] to include 0 and use the full code range, with the zero
// point rounded to an integer code (which shifts the covered range by at
// most half a step, so the range's ends still round to within half a step).
func gridFor(lo, hi float64, bits int, symmetric, restricted bool) qgrid {
	if symmetric {
		qlo, qhi := codeRange(bits, restricted)
		m := max(math.Abs(lo), math.Abs(hi))
		return newGrid(scaleOf(m/float64(qhi)), 0, qlo, qhi)
	}
	qlo, qhi := codeRange(bits, false)
	lo, hi = min(lo, 0), max(hi, 0)
	s := scaleOf((hi - lo) / float64(qhi-qlo))
	z := int32(min(max(math.Round(float64(qlo)-lo/float64(s)), float64(qlo)), float64(qhi)))
	// Rounding the scale to float32 can leave an end a hair more than half
	// a step outside the grid; widen the step by ulps until it is not.
	for float64(s)*(float64(qlo-z)-0.5) > lo || float64(s)*(float64(qhi-z)+0.5) < hi {
		s = math.Nextafter32(s, float32(math.Inf(1)))
	}
	return newGrid(s, z, qlo, qhi)
}

func scaleOf(s float64) float32 {
	if !(s >= minScale) { // also 0 and NaN
		return minScale
	}
	return float32(s)
}

// code quantizes v. NaN maps to the lowest code.
func (g qgrid) code(v float32) int32 {
	c, _ := g.codeIn(v)
	return c
}

// codeIn quantizes v and reports whether v was inside the grid's range; a
// value outside is clamped to an end (and the straight-through estimator
// passes no gradient to it). round(v/scale) + zero − lo is computed as
// ⌊v/scale + zero − lo + ½⌋, which is non-negative inside the range, where
// converting to an integer truncates to the floor: no call to math.Floor on
// the integer path's hottest loop.
func (g qgrid) codeIn(v float32) (int32, bool) {
	f := float64(v)*g.inv + g.off
	switch {
	case !(f >= 0): // also NaN
		return g.lo, false
	case f >= float64(g.hi-g.lo+1):
		return g.hi, false
	}
	return int32(f) + g.lo, true
}

// codesGather quantizes src into dst with codeIn's arithmetic (the grid's
// constants held in registers: it is the integer path's input loop), and in
// the same pass lists the inputs whose code differs from c, as QDense.gather
// does: their indices in idx, their differences from c in xv. It returns how
// many, and the sum of all differences.
func (g *qgrid) codesGather(dst []int8, idx, xv []int32, src []float32, c int32) (n int, t int64) {
	inv, off, top, lo := g.inv, g.off, float64(g.hi-g.lo+1), g.lo
	dst, idx, xv = dst[:len(src)], idx[:len(src)], xv[:len(src)]
	for i, v := range src {
		f := float64(v)*inv + off
		if !(f >= 0) {
			f = 0
		}
		if f >= top {
			f = top - 1
		}
		code := int32(f) + lo
		dst[i] = int8(code)
		d := code - c
		idx[n], xv[n] = int32(i), d
		n += int(uint32(d|-d) >> 31)
		t += int64(d)
	}
	return n, t
}

// value dequantizes code q.
func (g qgrid) value(q int32) float32 { return float32(float64(g.scale) * float64(q-g.zero)) }

// fake is quantize-then-dequantize: the value the integer model will see.
func (g qgrid) fake(v float32) float32 { return g.value(g.code(v)) }

// sqErr is the summed squared error of quantizing v on g.
func (g qgrid) sqErr(v []float32) float64 {
	var s float64
	for _, x := range v {
		d := float64(x) - float64(g.fake(x))
		s += d * d
	}
	return s
}

// quantizer is how values of one kind (a layer's weights, or its input
// activations) are mapped to grids: bit width, scheme and clipping method.
type quantizer struct {
	bits       int
	symmetric  bool
	restricted bool    // restricted symmetric code range (weights)
	clip       string  // "minmax", "percentile" or "mse"
	percentile float64 // for "percentile", in (50, 100]
}

func (q quantizer) grid(lo, hi float64) qgrid {
	return gridFor(lo, hi, q.bits, q.symmetric, q.restricted)
}

// clipRange returns the range to quantize v over, chosen by q.clip within
// v's min-max range [mn, mx] (v must not be empty):
//   - minmax keeps all of it;
//   - percentile keeps the central q.percentile% (symmetric: of |v|);
//   - mse searches the fraction α of the range whose grid gives the least
//     squared quantization error, over a coarse then a fine grid of α.
func (q quantizer) clipRange(v []float32) (lo, hi float64) {
	mn, mx := minMaxF32(v)
	if q.symmetric {
		m := max(-mn, mx)
		mn, mx = -m, m
	}
	switch q.clip {
	case "percentile":
		p := q.percentile / 100
		if q.symmetric {
			a := make([]float32, len(v))
			for i, x := range v {
				a[i] = float32(math.Abs(float64(x)))
			}
			slices.Sort(a)
			c := float64(quantileSorted(a, p))
			return -c, c
		}
		s := slices.Clone(v)
		slices.Sort(s)
		return float64(quantileSorted(s, 1-p)), float64(quantileSorted(s, p))
	case "mse":
		best, bestErr := 1.0, math.Inf(1)
		try := func(a float64) {
			if e := q.grid(a*mn, a*mx).sqErr(v); e < bestErr {
				best, bestErr = a, e
			}
		}
		for i := 20; i >= 1; i-- {
			try(float64(i) / 20)
		}
		c := best
		for i := -9; i <= 9; i++ {
			if a := c + float64(i)/200; i != 0 && a > 0 && a <= 1 {
				try(a)
			}
		}
		return best * mn, best * mx
	}
	return mn, mx
}

// quantileSorted is the nearest-rank p-quantile of sorted s.
func quantileSorted(s []float32, p float64) float32 {
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func minMaxF32(v []float32) (mn, mx float64) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return float64(lo), float64(hi)
}

// rangeRule fixes how the quantization ranges of a [rows, cols] weight matrix
// follow its values: each row's range (or the tensor's) is a fixed fraction
// of its current min-max range, chosen once by the clipping method. QAT
// re-derives grids from the rule at every step in O(weights), where rerunning
// a percentile sort or an MSE search would cost more than the step itself,
// and conversion derives the integer model's grids from the same rule, so it
// computes exactly what training simulated.
type rangeRule struct {
	q          quantizer
	perChannel bool
	// fracLo and fracHi scale the negative and positive ends of the min-max
	// range; one entry per row (per-channel) or a single one (per-tensor).
	fracLo, fracHi []float64
	// tensor marks rows that use the tensor-wide range (fracLo[rows],
	// fracHi[rows]): per-channel picks it for a row whenever it quantizes
	// that row with less error, so per-channel is never worse than per-tensor.
	tensor []bool
}

// newRangeRule chooses the clipping fractions for weights w of the given shape.
func newRangeRule(w []float32, rows, cols int, q quantizer, perChannel bool) rangeRule {
	r := rangeRule{q: q, perChannel: perChannel}
	tlo, thi := r.fractions(w)
	if !perChannel {
		r.fracLo, r.fracHi = []float64{tlo}, []float64{thi}
		return r
	}
	r.fracLo, r.fracHi = make([]float64, rows+1), make([]float64, rows+1)
	r.fracLo[rows], r.fracHi[rows] = tlo, thi
	r.tensor = make([]bool, rows)
	for j := range rows {
		r.fracLo[j], r.fracHi[j] = r.fractions(w[j*cols : (j+1)*cols])
	}
	// Compare each row's own grid with the tensor's, both as the rule derives them.
	grids := r.grids(w, rows, cols)
	mn, mx := minMaxF32(w)
	tg := r.rangeGrid(mn, mx, tlo, thi)
	for j := range rows {
		row := w[j*cols : (j+1)*cols]
		if tg.sqErr(row) < grids[j].sqErr(row) {
			r.tensor[j] = true
		}
	}
	return r
}

// fractions runs the clipping method on v and expresses the range it picks
// as fractions of v's min-max range.
func (r rangeRule) fractions(v []float32) (lo, hi float64) {
	mn, mx := minMaxF32(v)
	clo, chi := r.q.clipRange(v)
	if r.q.symmetric {
		m := max(-mn, mx)
		return frac(chi, m), frac(chi, m)
	}
	return frac(clo, mn), frac(chi, mx)
}

func frac(c, full float64) float64 {
	if full == 0 {
		return 1
	}
	return min(max(c/full, 0), 1)
}

// rangeGrid is the grid for fractions (flo, fhi) of the min-max range [mn, mx].
func (r rangeRule) rangeGrid(mn, mx, flo, fhi float64) qgrid {
	if r.q.symmetric {
		m := max(-mn, mx)
		return r.q.grid(-fhi*m, fhi*m)
	}
	return r.q.grid(flo*mn, fhi*mx)
}

// grids derives the current grids of w: one per row, or one for the tensor.
func (r rangeRule) grids(w []float32, rows, cols int) []qgrid {
	mn, mx := minMaxF32(w)
	if !r.perChannel {
		return []qgrid{r.rangeGrid(mn, mx, r.fracLo[0], r.fracHi[0])}
	}
	tg := r.rangeGrid(mn, mx, r.fracLo[rows], r.fracHi[rows])
	g := make([]qgrid, rows)
	for j := range rows {
		if r.tensor != nil && r.tensor[j] {
			g[j] = tg
			continue
		}
		rmn, rmx := minMaxF32(w[j*cols : (j+1)*cols])
		g[j] = r.rangeGrid(rmn, rmx, r.fracLo[j], r.fracHi[j])
	}
	return g
}

// sqnrDB is the signal-to-quantization-noise ratio 10·log10(‖x‖²/‖x−x̂‖²) in
// decibels: +Inf when x̂ equals x exactly, −Inf when x is zero and x̂ is not.
func sqnrDB(x, xhat []float32) float64 {
	var sig, noise float64
	for i, v := range x {
		d := float64(v) - float64(xhat[i])
		sig += float64(v) * float64(v)
		noise += d * d
	}
	switch {
	case noise == 0:
		return math.Inf(1)
	case sig == 0:
		return math.Inf(-1)
	}
	return 10 * math.Log10(sig/noise)
}
