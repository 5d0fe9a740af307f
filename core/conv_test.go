package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refConv is a direct convolution by nested loops over NHWC images, with
// weights w[o][ky][kx][c]: the definition im2col must reproduce.
func refConv(x []float32, n, h, w, c int, wt, bias []float32, out, k, stride, pad int) []float32 {
	oh, ow := outSide(h, k, stride, pad), outSide(w, k, stride, pad)
	y := make([]float32, n*oh*ow*out)
	for s := range n {
		for oy := range oh {
			for ox := range ow {
				for o := range out {
					var acc float64
					if bias != nil {
						acc = float64(bias[o])
					}
					for ky := range k {
						for kx := range k {
							iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							for ch := range c {
								acc += float64(x[((s*h+iy)*w+ix)*c+ch]) * float64(wt[((o*k+ky)*k+kx)*c+ch])
							}
						}
					}
					y[((s*oh+oy)*ow+ox)*out+o] = float32(acc)
				}
			}
		}
	}
	return y
}

// refDepthwise is a direct depthwise convolution, weights w[c][ky][kx].
func refDepthwise(x []float32, n, h, w, c int, wt, bias []float32, k, stride, pad int) []float32 {
	oh, ow := outSide(h, k, stride, pad), outSide(w, k, stride, pad)
	y := make([]float32, n*oh*ow*c)
	for s := range n {
		for oy := range oh {
			for ox := range ow {
				for ch := range c {
					var acc float64
					if bias != nil {
						acc = float64(bias[ch])
					}
					for ky := range k {
						for kx := range k {
							iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								acc += float64(x[((s*h+iy)*w+ix)*c+ch]) * float64(wt[(ch*k+ky)*k+kx])
							}
						}
					}
					y[((s*oh+oy)*ow+ox)*c+ch] = float32(acc)
				}
			}
		}
	}
	return y
}

// convCases cover padding, strides, non-square inputs, kernels larger than
// the stride and the pointwise shortcut.
var convCases = []struct{ h, w, c, out, k, stride, pad int }{
	{5, 5, 1, 4, 3, 1, 1},
	{7, 9, 3, 5, 3, 2, 1},
	{6, 6, 2, 3, 2, 2, 0},
	{7, 8, 3, 2, 5, 3, 2},
	{4, 5, 6, 7, 1, 1, 0}, // pointwise: no im2col
	{5, 5, 4, 3, 1, 2, 0}, // strided 1x1: im2col picks pixels
	{3, 3, 2, 2, 3, 1, 0}, // a single output pixel
}

func TestConvMatchesDirectReference(t *testing.T) {
	for _, tc := range convCases {
		for _, bias := range []bool{true, false} {
			t.Run(fmt.Sprintf("%dx%dx%d_to_%d_k%d_s%d_p%d_bias=%v", tc.h, tc.w, tc.c, tc.out, tc.k, tc.stride, tc.pad, bias), func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, 4))
				l := NewConv2D(tc.h, tc.w, tc.c, tc.out, tc.k, tc.stride, tc.pad, bias, "he", r)
				var b []float32
				if bias {
					b = l.Bias.W.Data
					for i := range b {
						b[i] = float32(r.NormFloat64())
					}
				}
				for _, n := range []int{1, 3} { // two batch sizes exercise buffer reuse
					x := randTensor(r, n, tc.h*tc.w*tc.c)
					orig := slices.Clone(x.Data)
					y := l.Forward(x, false)
					want := refConv(x.Data, n, tc.h, tc.w, tc.c, l.Weight.W.Data, b, tc.out, tc.k, tc.stride, tc.pad)
					if !slices.Equal(y.Shape, append([]int{n}, l.OutShape(nil)...)) {
						t.Fatalf("output shape %v, OutShape %v", y.Shape, l.OutShape(nil))
					}
					assertClose(t, "conv output", y.Data, want, 1e-5)
					if !slices.Equal(x.Data, orig) {
						t.Fatal("Forward modified its input")
					}
				}
			})
		}
	}
}

func TestDepthwiseMatchesDirectReference(t *testing.T) {
	for _, tc := range convCases {
		t.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d_p%d", tc.h, tc.w, tc.c, tc.k, tc.stride, tc.pad), func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			l := NewDepthwiseConv2D(tc.h, tc.w, tc.c, tc.k, tc.stride, tc.pad, true, "he", r)
			for i := range l.Bias.W.Data {
				l.Bias.W.Data[i] = float32(r.NormFloat64())
			}
			x := randTensor(r, 2, tc.h*tc.w*tc.c)
			y := l.Forward(x, false)
			want := refDepthwise(x.Data, 2, tc.h, tc.w, tc.c, l.Weight.W.Data, l.Bias.W.Data, tc.k, tc.stride, tc.pad)
			assertClose(t, "depthwise output", y.Data, want, 1e-5)
		})
	}
}

// assertClose fails when any value differs from want by more than tol
// relative to the largest magnitude in want (float32 sums of products of
// O(1) values round at ~1e-7 each).
func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*scale {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// checkModelGrad checks, against finite differences, the gradient of the
// softmax cross-entropy of m on x with respect to every parameter and to
// the input. Training mode: BatchNorm normalizes with batch statistics, so
// its backward pass through those statistics is what gets checked.
func checkModelGrad(t *testing.T, m *Model, x *Tensor, labels []int) {
	t.Helper()
	loss := func() float64 {
		l, _, _ := SoftmaxCrossEntropy(m.Forward(x, true), labels, nil)
		return l
	}
	m.ZeroGrad()
	logits := m.Forward(x, true)
	dl := NewTensor(logits.Shape...)
	SoftmaxCrossEntropy(logits, labels, dl)
	var dx = dl
	for i := len(m.Layers) - 1; i >= 0; i-- {
		dx = m.Layers[i].Backward(dx)
	}
	if dx.Rows() != x.Rows() || dx.Cols() != x.Cols() {
		t.Fatalf("dx has shape %v for input %v", dx.Shape, x.Shape)
	}
	dxCopy := slices.Clone(dx.Data)
	for i, l := range m.Layers {
		for _, p := range l.Params() {
			checkGrad(t, fmt.Sprintf("%d:%s.%s", i, l.Spec().Kind, p.Name), p.W.Data, slices.Clone(p.G.Data), loss)
		}
	}
	checkGrad(t, "input", x.Data, dxCopy, loss)
}

// randomize fills biases and BatchNorm's scale and shift with non-trivial
// values, so their gradients are exercised away from the initialization.
func randomize(m *Model, r *rand.Rand) {
	for _, l := range m.Layers {
		for _, p := range l.Params() {
			if p.Name == "weight" {
				continue
			}
			for i := range p.W.Data {
				p.W.Data[i] = float32(r.NormFloat64() * 0.3)
				if p.Name == "gamma" {
					p.W.Data[i] += 1
				}
			}
		}
	}
}

func TestSpatialGradients(t *testing.T) {
	const classes = 3
	r := rand.New(rand.NewPCG(11, 12))
	dense := func(in int) Layer { return NewDense(in, classes, "xavier", r) }
	cases := []struct {
		name   string
		in     []int
		layers func() []Layer
	}{
		{"conv_s2_p1_bias", []int{5, 6, 2}, func() []Layer {
			c := NewConv2D(5, 6, 2, 3, 3, 2, 1, true, "he", r)
			return []Layer{c, &Flatten{}, dense(numel(c.OutShape(nil)))}
		}},
		{"conv_k2_nobias", []int{4, 4, 3}, func() []Layer {
			return []Layer{NewConv2D(4, 4, 3, 2, 2, 1, 0, false, "he", r), &Flatten{}, dense(3 * 3 * 2)}
		}},
		{"pointwise", []int{3, 4, 5}, func() []Layer {
			return []Layer{NewConv2D(3, 4, 5, 4, 1, 1, 0, true, "he", r), &Flatten{}, dense(3 * 4 * 4)}
		}},
		{"dwconv_s2_p1_bias", []int{5, 5, 3}, func() []Layer {
			return []Layer{NewDepthwiseConv2D(5, 5, 3, 3, 2, 1, true, "he", r), &Flatten{}, dense(3 * 3 * 3)}
		}},
		{"dwconv_s1_nobias", []int{4, 3, 2}, func() []Layer {
			return []Layer{NewDepthwiseConv2D(4, 3, 2, 3, 1, 1, false, "he", r), &Flatten{}, dense(4 * 3 * 2)}
		}},
		{"avgpool_overlapping", []int{5, 5, 2}, func() []Layer {
			return []Layer{newPool2D(false, 5, 5, 2, 3, 2), &Flatten{}, dense(2 * 2 * 2)}
		}},
		{"gap", []int{3, 4, 3}, func() []Layer {
			return []Layer{&GlobalAvgPool{H: 3, W: 4, C: 3}, dense(3)}
		}},
		{"batchnorm_spatial", []int{3, 3, 4}, func() []Layer {
			return []Layer{NewConv2D(3, 3, 4, 4, 3, 1, 1, false, "he", r), NewBatchNorm(3, 3, 4), &Flatten{}, dense(36)}
		}},
		{"batchnorm_features", []int{6}, func() []Layer {
			return []Layer{NewDense(6, 5, "he", r), NewBatchNorm(5), mustLayer(LayerSpec{Kind: "tanh"}), dense(5)}
		}},
		{"conv_bn_relu_dw_pw_gap", []int{6, 6, 2}, func() []Layer {
			relu := func() Layer { return mustLayer(LayerSpec{Kind: "relu"}) }
			return []Layer{
				NewConv2D(6, 6, 2, 3, 3, 1, 1, false, "he", r), NewBatchNorm(6, 6, 3), relu(),
				NewDepthwiseConv2D(6, 6, 3, 3, 2, 1, false, "he", r), NewBatchNorm(3, 3, 3), relu(),
				NewConv2D(3, 3, 3, 4, 1, 1, 0, false, "he", r), NewBatchNorm(3, 3, 4), relu(),
				&GlobalAvgPool{H: 3, W: 3, C: 4}, dense(4),
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{InShape: tc.in, Classes: []string{"a", "b", "c"}, Layers: tc.layers()}
			randomize(m, r)
			x := randTensor(r, 4, numel(tc.in))
			checkModelGrad(t, m, x, []int{0, 2, 1, 2})
		})
	}
}

// TestMaxPoolGradient feeds max pooling distinct inputs spaced far wider
// than the finite-difference step, so no perturbation changes a window's
// winner (where the function is not differentiable).
func TestMaxPoolGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, k := range [][2]int{{2, 2}, {3, 2}, {2, 1}} {
		t.Run(fmt.Sprintf("k%d_s%d", k[0], k[1]), func(t *testing.T) {
			p := newPool2D(true, 5, 6, 2, k[0], k[1])
			out := numel(p.OutShape(nil))
			m := &Model{InShape: []int{5, 6, 2}, Classes: []string{"a", "b", "c"},
				Layers: []Layer{p, &Flatten{}, NewDense(out, 3, "xavier", r)}}
			x := NewTensor(3, 60)
			for i, v := range r.Perm(len(x.Data)) {
				x.Data[i] = float32(v-len(x.Data)/2) * 0.05
			}
			checkModelGrad(t, m, x, []int{1, 0, 2})
		})
	}
}

func TestPoolingValues(t *testing.T) {
	// One 4x4 single-channel image: 2x2 windows.
	x := TensorFrom([]float32{
		1, 2, 5, 0,
		3, 4, 6, 7,
		-1, -2, 0, 0,
		-3, -4, 0, 8,
	}, 1, 16)
	if got := newPool2D(true, 4, 4, 1, 2, 2).Forward(x, false).Data; !slices.Equal(got, []float32{4, 7, -1, 8}) {
		t.Errorf("max pool = %v", got)
	}
	if got := newPool2D(false, 4, 4, 1, 2, 2).Forward(x, false).Data; !slices.Equal(got, []float32{2.5, 4.5, -2.5, 2}) {
		t.Errorf("average pool = %v", got)
	}
	if got := (&GlobalAvgPool{H: 4, W: 4, C: 1}).Forward(x, false).Data; !slices.Equal(got, []float32{26.0 / 16}) {
		t.Errorf("global average pool = %v", got)
	}
}

func TestBatchNormStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 9))
	b := NewBatchNorm(2, 2, 3)
	x := randTensor(r, 5, 12)
	for i := range x.Data {
		x.Data[i] = x.Data[i]*2 + 3
	}
	y := b.Forward(x, true)
	// Every channel of the output has mean 0 and variance 1 over the batch.
	for c := range 3 {
		var s, sq float64
		for i := c; i < len(y.Data); i += 3 {
			s += float64(y.Data[i])
			sq += float64(y.Data[i]) * float64(y.Data[i])
		}
		mean, v := s/20, sq/20-s*s/400
		if math.Abs(mean) > 1e-5 || math.Abs(v-1) > 1e-3 {
			t.Errorf("channel %d: mean %g, variance %g after normalization", c, mean, v)
		}
	}
	// The running statistics moved a tenth of the way towards the batch's.
	for c := range 3 {
		if b.Mean[c] < 0.1 || b.Mean[c] > 0.5 || b.Var[c] < 1.1 || b.Var[c] > 1.7 {
			t.Errorf("channel %d: running mean %g, variance %g", c, b.Mean[c], b.Var[c])
		}
	}
	// Inference uses the running statistics: a sample's output does not
	// depend on the rest of the batch.
	one := TensorFrom(slices.Clone(x.Row(0)), 1, 12)
	alone := slices.Clone(b.Forward(one, false).Data)
	if got := b.Forward(x, false).Row(0); !slices.Equal(got, alone) {
		t.Errorf("inference output depends on the batch: %v vs %v", got, alone)
	}
}

// trainSteps runs a few Adam steps on random data, so that weights, BatchNorm
// scales and running statistics all move away from their initial values.
func trainSteps(m *Model, r *rand.Rand, steps int) {
	opt, _ := NewOptimizer(OptimizerConfig{LR: 0.01})
	params := m.Params()
	for range steps {
		x := randTensor(r, 8, numel(m.InShape))
		labels := make([]int, 8)
		for i := range labels {
			labels[i] = r.IntN(len(m.Classes))
		}
		m.ZeroGrad()
		logits := m.Forward(x, true)
		dl := NewTensor(logits.Shape...)
		SoftmaxCrossEntropy(logits, labels, dl)
		m.Backward(dl)
		opt.Step(params, 0.01)
	}
}

func TestFoldBatchNormKeepsOutputs(t *testing.T) {
	classes := []string{"0", "1", "2", "3"}
	for _, spec := range []string{"cnn:4,6", "mobile:4,8,8@1.5"} {
		t.Run(spec, func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, 2))
			m, err := Build(spec, []int{12, 10, 2}, classes, BuildOptions{Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			trainSteps(m, r, 20)
			randomize(m, r) // scales and shifts far from 1 and 0
			x := randTensor(r, 6, 240)
			want := slices.Clone(m.Predict(x.Data).Data)
			before := m.Summarize()

			f := FoldBatchNorm(m)
			// The original is untouched: it still has its BatchNorms and outputs.
			if got := m.Predict(x.Data).Data; !slices.Equal(got, want) {
				t.Fatal("FoldBatchNorm changed its input model")
			}
			for _, l := range f.Layers {
				if _, ok := l.(*BatchNorm); ok {
					t.Fatal("a BatchNorm was left unfolded")
				}
			}
			// Float rounding differs (the scale is applied to weights rather
			// than outputs), by a few ulps of the logits.
			assertClose(t, "folded logits", f.Predict(x.Data).Data, want, 1e-5)
			after := f.Summarize()
			var bnMACs int64
			for _, l := range m.Layers {
				if bn, ok := l.(*BatchNorm); ok {
					bnMACs += bn.MACs(nil)
				}
			}
			if after.MACs != before.MACs-bnMACs {
				t.Errorf("MACs %d after folding, want %d - %d", after.MACs, before.MACs, bnMACs)
			}
		})
	}
}

func TestCloneCopiesRunningStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	m, _ := Build("cnn:3", []int{6, 6, 1}, []string{"a", "b"}, BuildOptions{Seed: 1})
	trainSteps(m, r, 5)
	c := m.Clone()
	x := randTensor(r, 3, 36)
	if !slices.Equal(m.Predict(x.Data).Data, c.Predict(x.Data).Data) {
		t.Fatal("the clone predicts differently")
	}
	c.Layers[1].(*BatchNorm).Mean[0] += 1
	if m.Layers[1].(*BatchNorm).Mean[0] == c.Layers[1].(*BatchNorm).Mean[0] {
		t.Fatal("the clone shares running statistics with the original")
	}
}

func TestSpatialLayerSpecsRebuild(t *testing.T) {
	specs := []LayerSpec{
		{Kind: "conv", H: 5, W: 4, C: 2, Out: 3, Kernel: 3, Stride: 2, Pad: 1},
		{Kind: "conv", H: 5, W: 4, C: 2, Out: 3, Kernel: 1, Stride: 1, NoBias: true},
		{Kind: "dwconv", H: 5, W: 4, C: 2, Kernel: 3, Stride: 1, Pad: 1, NoBias: true},
		{Kind: "maxpool", H: 4, W: 4, C: 2, Kernel: 2, Stride: 2},
		{Kind: "avgpool", H: 5, W: 5, C: 1, Kernel: 3, Stride: 1},
		{Kind: "gap", H: 3, W: 3, C: 8},
		{Kind: "batchnorm", H: 3, W: 3, C: 8},
		{Kind: "batchnorm", C: 8},
		{Kind: "flatten"},
	}
	for _, s := range specs {
		l, err := NewLayer(s)
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if got := l.Spec(); got != s {
			t.Errorf("spec %+v rebuilt as %+v", s, got)
		}
	}
	// Defaults: stride 1 for convolutions, the kernel for pools.
	if l, _ := NewLayer(LayerSpec{Kind: "maxpool", H: 4, W: 4, C: 1, Kernel: 2}); l.Spec().Stride != 2 {
		t.Errorf("max pool stride defaults to %d", l.Spec().Stride)
	}
	bad := []LayerSpec{
		{Kind: "conv", H: 5, W: 4, C: 2, Kernel: 3},         // no output channels
		{Kind: "conv", H: 5, W: 4, C: 0, Out: 2, Kernel: 3}, // no input channels
		{Kind: "conv", H: 2, W: 2, C: 1, Out: 2, Kernel: 3}, // kernel larger than the input
		{Kind: "conv", H: 5, W: 5, C: 1, Out: 2, Kernel: 3, Pad: 3},
		{Kind: "dwconv", H: 5, W: 5, C: 1, Kernel: 3, Stride: -1},
		{Kind: "maxpool", H: 4, W: 4, C: 1, Kernel: 2, Pad: 1},
		{Kind: "avgpool", H: 4, W: 4, C: 1},
		{Kind: "gap", H: 4, C: 1},
		{Kind: "batchnorm"},
	}
	for _, s := range bad {
		if _, err := NewLayer(s); err == nil {
			t.Errorf("%+v was accepted", s)
		}
	}
}
