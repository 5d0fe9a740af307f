package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestGemvInt8MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		in, out, n int
		extreme    bool // every product at its largest magnitude, where the lanes are fullest
	}{
		{1, 1, 1, false}, {13, 8, 7, false}, {100, 25, 100, false}, {300, 64, 250, false},
		{300, 10, 300, true}, {65, 7, 65, true},
	} {
		w := make([]int8, c.out*c.in)
		for i := range w {
			w[i] = int8(r.IntN(256) - 128)
			if c.extreme {
				w[i] = -128
			}
		}
		lw, g := laneWeights(w, c.out, c.in)
		idx := r.Perm(c.in)[:c.n]
		ii, xv := make([]int32, c.n), make([]int32, c.n)
		for i, k := range idx {
			ii[i], xv[i] = int32(k), int32(r.IntN(511)-255)
			if c.extreme {
				xv[i] = int32(255 * (1 - 2*(i/32%2))) // runs of +255 and -255
			}
		}
		acc := make([]int64, 3*g)
		wmax := int32(1)
		for _, c := range w {
			wmax = max(wmax, int32(c), -int32(c))
		}
		gemvInt8(acc, make([]uint64, g), lw, g, wmax, ii, xv)
		for j := range 3 * g {
			var want int64
			for i, k := range ii {
				if j < c.out {
					want += int64(xv[i]) * int64(w[j*c.in+int(k)])
				}
			}
			if acc[j] != want {
				t.Fatalf("%+v: output %d = %d, want %d", c, j, acc[j], want)
			}
		}
	}
}

// qFakeForward computes what a QDense computes, in float64 from the
// dequantized input and weights: the fake-quantization simulation.
func qFakeForward(q *QDense, x *Tensor) []float64 {
	w := q.w.dequantize()
	y := make([]float64, x.Rows()*q.Out)
	for i := range x.Rows() {
		for j := range q.Out {
			s := float64(q.bias[j])
			for k, v := range x.Row(i) {
				s += float64(q.input.fake(v)) * float64(w[j*q.In+k])
			}
			y[i*q.Out+j] = s
		}
	}
	return y
}

func TestIntegerPathMatchesFakeQuantization(t *testing.T) {
	withS8Paths(t, testIntegerPathMatchesFakeQuantization)
}

func testIntegerPathMatchesFakeQuantization(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, cfg := range []QuantConfig{
		{}, {Granularity: "per-tensor"}, {WeightScheme: "asymmetric"}, {ActScheme: "symmetric"},
		{Bits: 3, ActBits: 5, WeightScheme: "asymmetric", Clip: "mse"}, {Bits: 2, Clip: "percentile", Percentile: 99},
	} {
		cfg, _ := cfg.withDefaults()
		in, out := 37, 21
		d := NewDense(in, out, "he", r)
		for i := range d.Bias.W.Data {
			d.Bias.W.Data[i] = float32(r.NormFloat64())
		}
		x := randTensor(r, gemmS8PackMin+6, in) // as many rows as the many-row kernel takes
		for i := range x.Data[:in] {            // a row of mostly one value, as an image background
			if i%5 != 0 {
				x.Data[i] = -0.4
			}
		}
		for i := in; i < 2*in; i++ { // a row of ReLU outputs
			x.Data[i] = max(x.Data[i], 0)
		}
		wq := cfg.weightQuantizer()
		grids := newRangeRule(d.Weight.W.Data, out, in, wq, cfg.Granularity == "per-channel").grids(d.Weight.W.Data, out, in)
		aq := cfg.actQuantizer()
		q := newQDense(quantizeWeights(d.Weight.W.Data, out, in, cfg.Bits, grids), d.Bias.W.Data, aq.grid(aq.clipRange(x.Data)), cfg.ActBits)
		got, want := q.Forward(x, false).Data, qFakeForward(q, x)
		for i := range got {
			// One step of the output is s_x·s_w; the integer sum is exact, so
			// only float32 rounding of the result separates the two.
			step := float64(q.input.scale) * float64(q.w.grid(i%out).scale)
			if e := math.Abs(float64(got[i]) - want[i]); e > step || e > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("%+v: output %d = %g, fake quantization %g (step %g)", cfg, i, got[i], want[i], step)
			}
		}
	}
}

// TestIntegerPathsAgree checks that the VNNI and the portable paths give
// the same bits: both compute the same exact integer sums and scale them
// back alike.
func TestIntegerPathsAgree(t *testing.T) {
	if len(s8Paths()) < 2 {
		t.Skip("no VNNI on this CPU")
	}
	m, train := qTrained(t)
	x := TensorFrom(train.X[:40*train.Features()], 40, train.Features())
	var outs [][]float32
	for _, path := range s8Paths() {
		restore := useS8Path(path)
		q, _, err := Quantize(m, train, QuantConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var out []float32
		for _, rows := range []int{1, 3, 40} {
			out = append(out, q.Forward(TensorFrom(x.Data[:rows*x.Cols()], rows, x.Cols()), false).Data...)
		}
		outs = append(outs, out)
		restore()
	}
	if !slices.Equal(outs[0], outs[1]) {
		t.Fatalf("the paths disagree:\n %v\n %v", outs[0], outs[1])
	}
}

func TestQuantizedLayersAreInferenceOnly(t *testing.T) {
	m, train := qTrained(t)
	for _, mode := range []string{"ptq", "weight-only"} {
		q, _, err := Quantize(m, train, QuantConfig{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if len(q.Params()) != 0 {
			t.Fatalf("%s model exposes %d trainable parameters", mode, len(q.Params()))
		}
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "core: ") {
					t.Errorf("%s: Backward did not panic with a core: message: %v", mode, p)
				}
			}()
			q.Layers[0].Backward(NewTensor(1, q.Layers[0].OutShape(nil)[0]))
		}()
	}
}

// BenchmarkQuantDenseForward compares the integer kernel with the float
// layer on the same shapes, with dense random inputs (no input repeats, so
// nothing is skipped) and with ReLU-like inputs (half of them zero).
func BenchmarkQuantDenseForward(b *testing.B) {
	for _, s := range []struct{ in, out int }{{784, 256}, {64, 128}} {
		for _, batch := range []int{1, 256} {
			r := rand.New(rand.NewPCG(1, 1))
			d := NewDense(s.in, s.out, "he", r)
			dense := randTensor(r, batch, s.in)
			relu := dense.Clone()
			for i, v := range relu.Data {
				relu.Data[i] = max(v, 0)
			}
			calib := &Dataset{SampleShape: []int{s.in}, Classes: []string{"a", "b"}, X: dense.Data, Y: make([]int, batch)}
			m := &Model{InShape: []int{s.in}, Classes: make([]string, s.out), Layers: []Layer{d}}
			q, _, err := Quantize(m, calib, QuantConfig{})
			if err != nil {
				b.Fatal(err)
			}
			name := fmt.Sprintf("%dx%d/batch=%d", s.in, s.out, batch)
			b.Run(name+"/float", func(b *testing.B) {
				for b.Loop() {
					d.Forward(dense, false)
				}
			})
			b.Run(name+"/int8", func(b *testing.B) {
				for b.Loop() {
					q.Layers[0].Forward(dense, false)
				}
			})
			b.Run(name+"/int8-relu-input", func(b *testing.B) {
				for b.Loop() {
					q.Layers[0].Forward(relu, false)
				}
			})
		}
	}
}

// TestQuantizeCodesMatchesCodeIn checks the input quantization of the VNNI
// path, vector loop and Go loop, against codeIn on every tail length and on
// NaN, infinities and values at the ends of the grid.
func TestQuantizeCodesMatchesCodeIn(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -0.0, 1e30, -1e30}
	for _, g := range []qgrid{gridFor(-1.3, 2.1, 8, false, false), gridFor(-1, 1, 8, true, true), gridFor(0, 5, 3, false, false)} {
		for n := range 40 {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(r.NormFloat64() * 2)
				if r.IntN(4) == 0 {
					src[i] = special[r.IntN(len(special))]
				}
			}
			for _, vec := range []bool{true, false} {
				if vec && quantAsm == nil {
					continue
				}
				func() {
					if !vec {
						defer func(q func([]int8, []float32, float64, float64, float64, int32)) { quantAsm = q }(quantAsm)
						quantAsm = nil
					}
					dst := make([]int8, n+1)
					dst[n] = 99
					sum := quantizeCodes(&g, dst[:n], src)
					var want int64
					for i, v := range src {
						c := g.code(v)
						want += int64(c)
						if int32(dst[i]) != c {
							t.Fatalf("vector %v, n=%d: code of %g = %d, want %d", vec, n, v, dst[i], c)
						}
					}
					if sum != want || dst[n] != 99 {
						t.Fatalf("vector %v, n=%d: sum %d, want %d; guard %d", vec, n, sum, want, dst[n])
					}
				}()
			}
		}
	}
}

// TestDequantRowPaths checks that dequantRow's vector loop and its Go loop
// give the same bits on every tail length.
func TestDequantRowPaths(t *testing.T) {
	if dequantAsm == nil {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(6, 6))
	for n := range 40 {
		d := s8Dequant{wzero: make([]int64, n), zoff: make([]int64, n), wzero32: make([]int32, n), zoff32: make([]int32, n),
			scale: make([]float64, n), bias: make([]float32, n), fits: true}
		prod := make([]int32, n)
		for j := range n {
			d.wzero32[j], d.zoff32[j] = int32(r.IntN(256)-128), int32(r.IntN(1<<24)-1<<23)
			d.wzero[j], d.zoff[j] = int64(d.wzero32[j]), int64(d.zoff32[j])
			d.scale[j], d.bias[j] = r.Float64()*1e-4, float32(r.NormFloat64())
			prod[j] = int32(r.IntN(1<<24) - 1<<23)
		}
		tsum := int64(r.IntN(1<<16) - 1<<15)
		got, want := make([]float32, n+1), make([]float32, n+1)
		got[n], want[n] = 7, 7
		d.dequantRow(got[:n], prod, tsum)
		func() {
			defer func(f func([]float32, []int32, []int32, []int32, int32, []float64, []float32)) { dequantAsm = f }(dequantAsm)
			dequantAsm = nil
			d.dequantRow(want[:n], prod, tsum)
		}()
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: vector %v, Go %v", n, got, want)
		}
	}
}
