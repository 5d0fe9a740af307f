package core

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// qatConvCases are convolutions with and without padding and stride,
// pointwise, and depthwise, each with a bias (as folding leaves them).
var qatConvCases = []struct {
	name  string
	layer func(r *rand.Rand) Layer
}{
	{"conv_s2_p1", func(r *rand.Rand) Layer { return NewConv2D(5, 6, 2, 3, 3, 2, 1, true, "he", r) }},
	{"pointwise", func(r *rand.Rand) Layer { return NewConv2D(3, 4, 5, 4, 1, 1, 0, true, "he", r) }},
	{"dwconv_s1_p1", func(r *rand.Rand) Layer { return NewDepthwiseConv2D(5, 5, 3, 3, 1, 1, true, "he", r) }},
}

// newTestqatConv wraps l, its bias randomized, with cfg's grids.
func newTestqatConv(t *testing.T, r *rand.Rand, l Layer, cfg QuantConfig) *qatConv {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Params()[1].W.Data {
		l.Params()[1].W.Data[i] = float32(r.NormFloat64() * 0.3)
	}
	q, ok := newqatConv(l, cfg)
	if !ok {
		t.Fatalf("%s is not wrapped", l.Spec().Kind)
	}
	return q
}

// TestQATConvStraightThroughGradient checks the straight-through estimator
// of a fake-quantized convolution: the gradients of a qatConv equal those of
// the float convolution evaluated at the fake-quantized weights (the
// quantizer counted as the identity) where the weights lie inside their
// clipping ranges, and are zero where they were clipped. Inputs are not
// quantized, so dx is the surrogate's gradient everywhere.
func TestQATConvStraightThroughGradient(t *testing.T) {
	for _, tc := range qatConvCases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 8))
			l := tc.layer(r)
			// Percentile clipping at 4 bits cuts off the tails of every filter.
			q := newTestqatConv(t, r, l, QuantConfig{Bits: 4, Clip: "percentile", Percentile: 75})
			x := randTensor(r, 3, l.Spec().H*l.Spec().W*l.Spec().C)
			xIn := slices.Clone(x.Data)
			y := q.Forward(x, true) // loss ½‖y‖², so dL/dy = y
			for _, p := range l.Params() {
				clear(p.G.Data)
			}
			dx := slices.Clone(q.Backward(y.Clone()).Data)
			if !slices.Equal(x.Data, xIn) {
				t.Fatal("the forward or backward pass changed its input")
			}

			// The surrogate: a float convolution with the fake-quantized weights.
			f := mustLayer(l.Spec())
			copy(f.Params()[0].W.Data, q.sim.Params()[0].W.Data)
			copy(f.Params()[1].W.Data, l.Params()[1].W.Data)
			numeric := func(vals []float32) []float64 {
				return numericGradient(vals, func() float64 {
					var s float64
					for _, v := range f.Forward(x, false).Data {
						s += float64(v) * float64(v) / 2
					}
					return s
				})
			}
			check := func(what string, analytic []float32, inside func(int) bool, num []float64) (clipped, passed int) {
				for i, n := range num {
					want := n
					if inside(i) {
						passed++
					} else {
						want = 0
						clipped++
					}
					// Tolerance as in checkGrad: float32 values, step 1e-3.
					if a := float64(analytic[i]); math.Abs(a-want) > 2e-3+2e-2*math.Abs(want) {
						t.Errorf("%s[%d] (inside %v): STE gradient %.6g, want %.6g", what, i, inside(i), a, want)
					}
				}
				return clipped, passed
			}
			clipped, passed := check("weight", l.Params()[0].G.Data, func(i int) bool { return q.win[i] }, numeric(f.Params()[0].W.Data))
			if clipped == 0 || passed == 0 {
				t.Errorf("weight: %d clipped, %d passed: the check does not cover both cases", clipped, passed)
			}
			all := func(int) bool { return true }
			check("bias", l.Params()[1].G.Data, all, numeric(f.Params()[1].W.Data))
			check("input", dx, all, numeric(x.Data))
		})
	}
}

// TestQATConvConversionMatchesFakeQuantization trains a qatConv for a few
// steps and checks that the WConv it converts to computes exactly what its
// forward pass simulated.
func TestQATConvConversionMatchesFakeQuantization(t *testing.T) {
	for _, tc := range qatConvCases {
		for _, cfg := range []QuantConfig{
			{Bits: 4}, {Bits: 2, Clip: "mse", Granularity: "per-tensor"}, {Bits: 6, WeightScheme: "asymmetric", Clip: "percentile", Percentile: 90},
		} {
			r := rand.New(rand.NewPCG(9, 9))
			l := tc.layer(r)
			q := newTestqatConv(t, r, l, cfg)
			in := l.Spec().H * l.Spec().W * l.Spec().C
			opt, _ := NewOptimizer(OptimizerConfig{LR: 0.05})
			for range 5 {
				y := q.Forward(randTensor(r, 4, in), true)
				for _, p := range l.Params() {
					clear(p.G.Data)
				}
				q.Backward(y)
				opt.Step(q.Params(), 0.05)
			}
			x := randTensor(r, 3, in)
			want := slices.Clone(q.Forward(x, false).Data)
			wc := q.toWConv()
			if got := wc.Forward(x, false).Data; !slices.Equal(got, want) {
				t.Errorf("%s %+v: the converted layer computes %v, the fake-quantized one %v", tc.name, cfg, got[:4], want[:4])
			}
			if wc.Spec().Kind != "w"+l.Spec().Kind || wc.Bits != cfg.Bits {
				t.Errorf("%s: converted to %+v", tc.name, wc.Spec())
			}
		}
	}
}

// TestQATConvStartsFromPTQGrids checks that before any training a qatConv
// converts to exactly the WConv Quantize builds from the same weights.
func TestQATConvStartsFromPTQGrids(t *testing.T) {
	for _, spec := range []string{"cnn:8,16", "mobile:4,8,16"} {
		m := FoldBatchNorm(convNet(t, spec))
		for _, cfg := range []QuantConfig{{Bits: 4}, {Bits: 3, Clip: "mse"}} {
			p, _, err := Quantize(m, convCalib(32), cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ = cfg.withDefaults()
			for i, l := range m.Layers {
				q, ok := newqatConv(l, cfg)
				if !ok {
					continue
				}
				got, want := layerTensors(i, q.toWConv()), layerTensors(i, p.Layers[i])
				if !slices.EqualFunc(got, want, func(a, b FileTensor) bool { return a.Name == b.Name && bytes.Equal(a.Data, b.Data) }) {
					t.Errorf("%s %+v: layer %d converts differently from Quantize's", spec, cfg, i)
				}
			}
		}
	}
}

// qatBars returns spec trained on the bars images, its training set and a
// test set.
func qatBars(t *testing.T, spec string) (m *Model, train, test *Dataset) {
	t.Helper()
	train, test = bars(400, 1), bars(1000, 2)
	m, err := Build(spec, train.SampleShape, train.Classes, BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = FitStandardizer(train)
	if _, err := Train(context.Background(), m, train, nil, TrainConfig{Epochs: 8, BatchSize: 16,
		Optimizer: OptimizerConfig{LR: 0.01}, Seed: 1}, nil); err != nil {
		t.Fatal(err)
	}
	return m, train, test
}

// TestQATConvRecoversAccuracy compares QAT with PTQ on conv nets trained on
// bars. At 4 bits PTQ already keeps the float accuracy on this set, and QAT
// must not lose any of it; at 2 bits PTQ loses much, and QAT must recover.
func TestQATConvRecoversAccuracy(t *testing.T) {
	for _, spec := range []string{"cnn:4,8", "mobile:4,8"} {
		t.Run(spec, func(t *testing.T) {
			m, train, test := qatBars(t, spec)
			for _, bits := range []int{4, 2} {
				cfg := QuantConfig{Bits: bits}
				p, _, err := Quantize(m, train, cfg)
				if err != nil {
					t.Fatal(err)
				}
				// The lab's QAT defaults (lab.DefaultQATLR), three epochs.
				q, _, _, err := QAT(context.Background(), m, train, nil, cfg,
					TrainConfig{Epochs: 3, BatchSize: 16, Seed: 1, Optimizer: OptimizerConfig{LR: 1e-4}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				f, pe, qe := Evaluate(m, test), Evaluate(p, test), Evaluate(q, test)
				t.Logf("%d bits: float %.3f (loss %.4f), PTQ %.3f (%.4f), QAT %.3f (%.4f)",
					bits, f.Accuracy, f.Loss, pe.Accuracy, pe.Loss, qe.Accuracy, qe.Loss)
				if qe.Accuracy < pe.Accuracy || (bits == 2 && qe.Accuracy < pe.Accuracy+0.03) {
					t.Errorf("%d bits: QAT accuracy %.3f, PTQ %.3f", bits, qe.Accuracy, pe.Accuracy)
				}
			}
		})
	}
}

// TestQATConvNetMatchesPTQLayout checks that QAT of a conv net with
// BatchNorm ends with PTQ's layers and report rows, that it folds
// BatchNorm before fine-tuning (QAT of the folded model is the same bytes),
// and that its model survives a model file round trip.
func TestQATConvNetMatchesPTQLayout(t *testing.T) {
	tcfg := TrainConfig{Epochs: 1, BatchSize: 16, Seed: 2, Optimizer: OptimizerConfig{LR: 1e-3}}
	for _, spec := range []string{"cnn:8,16", "mobile:4,8,16"} {
		t.Run(spec, func(t *testing.T) {
			m, calib := convNet(t, spec), convCalib(64)
			before := qEncode(t, m)
			cfg := QuantConfig{Bits: 4, Calib: 32}
			p, prep, err := Quantize(m, calib, cfg)
			if err != nil {
				t.Fatal(err)
			}
			q, rep, _, err := QAT(context.Background(), m, calib, nil, cfg, tcfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, qEncode(t, m)) {
				t.Fatal("QAT modified its input model")
			}
			if len(q.Layers) != len(p.Layers) {
				t.Fatalf("QAT model has %d layers, PTQ %d", len(q.Layers), len(p.Layers))
			}
			for i, l := range q.Layers {
				if l.Spec() != p.Layers[i].Spec() {
					t.Errorf("layer %d: QAT %+v, PTQ %+v", i, l.Spec(), p.Layers[i].Spec())
				}
			}
			names := func(r QuantReport) (s []string) {
				for _, l := range r.Layers {
					s = append(s, l.Name+"/"+l.Mode)
				}
				return s
			}
			if !slices.Equal(names(rep), names(prep)) || len(rep.Layers) < 3 {
				t.Errorf("QAT report layers %v, PTQ %v", names(rep), names(prep))
			}
			folded, _, _, err := QAT(context.Background(), FoldBatchNorm(m), calib, nil, cfg, tcfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(qEncode(t, folded), qEncode(t, q)) {
				t.Error("QAT of the model and of its folded copy differ: BatchNorm is not folded first")
			}

			x := randTensor(rand.New(rand.NewPCG(1, 1)), 4, 64)
			want := slices.Clone(q.Predict(x.Data).Data)
			path := filepath.Join(t.TempDir(), "qat.safetensors")
			if _, err := SaveModel(path, q, ModelInfo{}); err != nil {
				t.Fatal(err)
			}
			l, _, err := LoadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			for i, ll := range l.Layers {
				if ll.Spec() != q.Layers[i].Spec() {
					t.Errorf("layer %d loaded as %+v, saved as %+v", i, ll.Spec(), q.Layers[i].Spec())
				}
			}
			if got := l.Predict(x.Data).Data; !slices.Equal(got, want) {
				t.Fatalf("loaded predictions %v, want %v", got[:3], want[:3])
			}
		})
	}
}
